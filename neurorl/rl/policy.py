"""The policy protocol: what every evaluation, collection and closed loop calls.

After Norse's ``forward(input, state)`` and Tianshou's collector, a policy acts on a batch of N
environments side by side and carries whatever state it needs between calls:

* ``reset(done)``: ``done`` is a bool mask (N,) of the environments whose episode ended (their
  next observation starts a new episode); the policy clears their state and keeps the others'.
  A mask of a different length than the batch the policy holds state for starts a new batch of
  ``len(done)`` environments, all fresh. Callers reset every environment before its first
  observation.
* ``act(obs)``: observations (N, *obs_shape) -> actions (N,) int64; the state moves one
  decision on.
* ``observe(actions, rewards)`` (optional): the actions taken (ε-exploration may have replaced
  the policy's) and the rewards received at the last step, for policies whose next decision
  depends on them (recurrent actor-critics embed the previous action and reward).

A DQN, an SDN student and a converted SNN reset their network before every decision (rate
coding: T simulation steps per decision) and so keep nothing: they implement ``reset`` as a
no-op. A recurrent policy (GRSN with the temporal alignment paradigm: one simulation step per
environment step) is the neuron state itself; :class:`StatefulPolicy` does the bookkeeping.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Policy", "StatefulPolicy", "as_mask"]


@runtime_checkable
class Policy(Protocol):
    """Anything with ``n_actions``, ``reset(done)`` and ``act(obs)`` (see the module doc)."""

    n_actions: int

    def reset(self, done: np.ndarray | None = None) -> None:
        """Clear the state of the environments flagged in ``done`` (N,) (None: all)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions (N,) for observations (N, *obs_shape)."""


def as_mask(done: np.ndarray | None, n: int | None) -> np.ndarray:
    """``done`` as a bool array; None means every one of the ``n`` environments held."""
    if done is None:
        if n is None:
            raise ValueError("reset(None) before any batch: pass a done mask (N,)")
        return np.ones(n, bool)
    mask = np.asarray(done, bool)
    if mask.ndim != 1:
        raise ValueError(f"done must be a mask of shape (N,), got shape {mask.shape}")
    return mask


class StatefulPolicy:
    """Base of policies that carry state across decisions, one row per environment.

    Subclasses implement :meth:`initial_state` (the fresh state of ``n`` environments, a dict of
    arrays whose first axis is the environment) and :meth:`step` (``(obs, state) -> (actions,
    new state)``, a pure function); this class holds ``state`` and applies ``reset`` masks.
    """

    n_actions: int
    state: dict[str, Any] | None = None

    def initial_state(self, n: int) -> dict[str, np.ndarray]:
        """The state of ``n`` environments at the start of an episode."""
        raise NotImplementedError

    def step(
        self, obs: np.ndarray, state: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One decision: actions (N,) and the next state."""
        raise NotImplementedError

    @property
    def batch_size(self) -> int | None:
        """Environments the state is held for (None before the first reset)."""
        if not self.state:
            return None
        return len(next(iter(self.state.values())))

    def reset(self, done: np.ndarray | None = None) -> None:
        """Clear the state of the environments flagged in ``done``; a new length starts anew."""
        mask = as_mask(done, self.batch_size)
        if self.batch_size != len(mask):
            self.state = self.initial_state(len(mask))
            return
        if mask.any():
            fresh = self.initial_state(int(mask.sum()))
            for key, value in fresh.items():
                self.state[key][mask] = value

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions (N,) for observations (N, *obs_shape); the state moves one decision on."""
        obs = np.asarray(obs)
        if self.state is None or self.batch_size != len(obs):
            raise ValueError(
                f"act() on {len(obs)} observations, but the state is held for "
                f"{self.batch_size} environments: call reset(done) with a mask of length "
                f"{len(obs)} first"
            )
        actions, self.state = self.step(obs, self.state)
        return actions
