"""Uniform experience replay: a preallocated numpy ring buffer of transitions (s, a, r, s', term).

Shared by the DQN teacher (:mod:`neurorl.algos.dqn`) and the spiking DQN
(:mod:`neurorl.algos.spiking_dqn`);
its state is plain arrays, so training resumes from a checkpoint without pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ReplayBuffer"]


class ReplayBuffer:
    """Uniform ring buffer of transitions, preallocated numpy arrays.

    ``obs``/``next_obs`` (capacity, *obs_shape) in the observation dtype, ``actions`` int64,
    ``rewards`` and ``terminated`` float32. :meth:`sample` gathers into preallocated batch arrays
    (valid until the next call).
    """

    FIELDS = ("obs", "next_obs", "actions", "rewards", "terminated")

    def __init__(
        self, capacity: int, obs_shape: Sequence[int], obs_dtype: Any, batch_size: int
    ) -> None:
        self.capacity, self.pos, self.size = int(capacity), 0, 0
        self.obs = np.zeros((capacity, *obs_shape), obs_dtype)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self._batch = {
            name: np.zeros((batch_size, *getattr(self, name).shape[1:]), getattr(self, name).dtype)
            for name in self.FIELDS
        }

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Append a batch of n transitions (leading axis n), overwriting the oldest when full."""
        n = len(actions)
        idx = (self.pos + np.arange(n)) % self.capacity if n > 1 else self.pos
        self.obs[idx] = obs
        self.next_obs[idx] = next_obs
        self.actions[idx] = actions
        self.rewards[idx] = rewards
        self.terminated[idx] = terminated
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, rng: np.random.Generator, batch_size: int) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly with replacement: dict of arrays."""
        idx = rng.integers(0, self.size, size=batch_size)
        out = self._batch
        if len(out["actions"]) != batch_size:
            out = {k: np.empty((batch_size, *v.shape[1:]), v.dtype) for k, v in out.items()}
        for name in self.FIELDS:
            np.take(getattr(self, name), idx, axis=0, out=out[name])
        return out

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        """``(arrays, meta)``: the filled part of the buffer and its write position."""
        arrays = {name: getattr(self, name)[: self.size] for name in self.FIELDS}
        return arrays, {"pos": self.pos, "size": self.size, "capacity": self.capacity}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, int]) -> None:
        """Restore what :meth:`state_dict` returned (capacity must match)."""
        if int(meta["capacity"]) != self.capacity:
            raise ValueError(
                f"replay capacity {meta['capacity']} saved, {self.capacity} configured"
            )
        self.pos, self.size = int(meta["pos"]), int(meta["size"])
        for name in self.FIELDS:
            getattr(self, name)[: self.size] = arrays[name]
