"""Surrogate derivatives for the Heaviside step of a spiking threshold.

Each surrogate is a smooth step ``primitive(h)`` (0 far below threshold, 1 far above) and its
derivative ``grad(h)``, where ``h`` is the signed distance to threshold (``v - v_th`` for
``v > v_th``). The forward pass spikes with the exact Heaviside ``h > 0``; the backward pass uses
``grad(h)``. With ``smooth=True`` the kernel spikes with ``primitive(h)`` instead, and the backward
pass is then the exact gradient of that smooth network (what the gradient checks test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SURROGATES", "Surrogate", "get_surrogate"]


@dataclass(frozen=True)
class Surrogate:
    """A smooth step and its derivative, with one width parameter."""

    name: str
    width: float

    def grad(self, h: np.ndarray) -> np.ndarray:
        """d primitive / dh at ``h`` (same shape and dtype as ``h``)."""
        a = self.width
        if self.name == "atan":  # SpikingJelly ATan: alpha/2 / (1 + (pi/2 alpha h)^2)
            x = h * (np.pi / 2 * a)
            np.multiply(x, x, out=x)
            x += 1
            return np.divide(a / 2, x, out=x)
        if self.name == "sigmoid":  # alpha s (1 - s)
            s = 1 / (1 + np.exp(-a * h))
            return a * s * (1 - s)
        if self.name == "fast_sigmoid":  # snnTorch / SuperSpike: 1 / (1 + slope |h|)^2
            return 1 / (1 + a * np.abs(h)) ** 2
        if self.name == "rectangular":  # STBP: 1/(2a) inside |h| < a
            return (np.abs(h) < a).astype(h.dtype) * (1 / (2 * a))
        # triangle: (1 - |h|/a)/a inside |h| < a
        return np.maximum(1 - np.abs(h) / a, 0) / a

    def primitive(self, h: np.ndarray) -> np.ndarray:
        """A smooth monotone step whose derivative is :meth:`grad` (0.5 at threshold)."""
        a = self.width
        if self.name == "atan":
            return np.arctan(np.pi / 2 * a * h) / np.pi + 0.5
        if self.name == "sigmoid":
            return 1 / (1 + np.exp(-a * h))
        if self.name == "fast_sigmoid":
            return h / (1 + a * np.abs(h)) + 0.5  # unnormalised, like snnTorch's gradient
        if self.name == "rectangular":
            return np.clip(h / (2 * a) + 0.5, 0, 1)
        x = np.clip(h / a, -1, 1)
        return 0.5 + x - 0.5 * x * np.abs(x)


#: Surrogate names and their default width parameter (alpha, slope or half-width).
SURROGATES = {
    "atan": 2.0,
    "sigmoid": 4.0,
    "fast_sigmoid": 25.0,
    "rectangular": 0.5,
    "triangle": 1.0,
}


def get_surrogate(name: str | Surrogate, width: float | None = None) -> Surrogate:
    """A :class:`Surrogate` by name (``atan``, ``sigmoid``, ``fast_sigmoid``, ``rectangular``,
    ``triangle``) with its width parameter (default from :data:`SURROGATES`)."""
    if isinstance(name, Surrogate):
        return name
    if name not in SURROGATES:
        raise ValueError(f"unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}")
    width = SURROGATES[name] if width is None else float(width)
    if not width > 0:
        raise ValueError(f"surrogate width must be positive, got {width}")
    return Surrogate(name, width)
