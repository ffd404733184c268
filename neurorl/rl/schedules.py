"""Schedules of a hyperparameter over training (exploration ε, learning rate, DAgger's β)."""

from __future__ import annotations

__all__ = ["linear_schedule"]


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """Value moving linearly from ``start`` (t = 0) to ``end`` (t ≥ ``duration``)."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)
