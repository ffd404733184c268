"""Episode replay for multi-agent Q-learning: whole episodes, padded to the episode limit.

EPyMARL's ``ReplayBuffer`` of ``EpisodeBatch``\\ es, in numpy: a ring of ``capacity`` episodes,
each stored as arrays of the episode limit T (steps) plus one (the observation, state and
available actions after the last step), and a ``filled`` mask for the steps that happened. A
sample of B episodes is cut to the longest filled length among them. ``state_dict`` /
``load_state_dict`` make it part of a resume state (no pickle).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EpisodeReplay"]


class EpisodeReplay:
    """Up to ``capacity`` episodes of at most ``limit`` steps of ``n_agents`` agents.

    Stored per episode: ``obs`` (T+1, N, obs_dim), ``state`` (T+1, state_dim), ``avail``
    (T+1, N, n_actions), ``actions`` (T, N), ``reward`` (T,), ``terminated`` (T,), ``filled``
    (T,) — float32, actions int64, masks bool.
    """

    def __init__(self, capacity: int, limit: int, n_agents: int, obs_dim: int, state_dim: int,
                 n_actions: int) -> None:
        if capacity < 1 or limit < 1:
            raise ValueError(f"capacity and limit must be >= 1, got {capacity} and {limit}")
        self.capacity, self.limit = int(capacity), int(limit)
        C, T, N = self.capacity, self.limit, int(n_agents)
        self.data = {
            "obs": np.zeros((C, T + 1, N, obs_dim), np.float32),
            "state": np.zeros((C, T + 1, state_dim), np.float32),
            "avail": np.zeros((C, T + 1, N, n_actions), np.float32),
            "actions": np.zeros((C, T, N), np.int64),
            "reward": np.zeros((C, T), np.float32),
            "terminated": np.zeros((C, T), bool),
            "filled": np.zeros((C, T), bool),
        }
        self.size, self.next = 0, 0

    def add(self, episode: dict[str, np.ndarray]) -> None:
        """Store one episode: ``obs``/``state``/``avail`` of L+1 steps, the rest of L ≤ T."""
        L = len(episode["actions"])
        if not 1 <= L <= self.limit:
            raise ValueError(f"an episode of {L} steps does not fit the limit {self.limit}")
        k = self.next
        for key, arr in self.data.items():
            arr[k] = 0
            if key == "filled":
                arr[k, :L] = True
            else:
                value = np.asarray(episode[key])
                arr[k, :len(value)] = value
        self.next = (k + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, batch: int) -> dict[str, np.ndarray]:
        """``batch`` episodes drawn uniformly without replacement, cut to the longest filled
        length L among them: arrays (B, L(+1), ...)."""
        if batch > self.size:
            raise ValueError(f"cannot sample {batch} episodes from {self.size}")
        idx = np.sort(rng.choice(self.size, size=batch, replace=False))
        L = int(self.data["filled"][idx].sum(1).max())
        return {key: arr[idx, :L + 1] if key in ("obs", "state", "avail") else arr[idx, :L]
                for key, arr in self.data.items()}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays (the filled part) and metadata for a checkpoint."""
        return ({k: v[:self.size] for k, v in self.data.items()},
                {"size": self.size, "next": self.next, "capacity": self.capacity,
                 "limit": self.limit})

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (same capacity and shapes)."""
        if meta["capacity"] != self.capacity or meta["limit"] != self.limit:
            raise ValueError(f"replay state of capacity {meta['capacity']} and limit "
                             f"{meta['limit']} does not fit {self.capacity} and {self.limit}")
        self.size, self.next = int(meta["size"]), int(meta["next"])
        for k, v in self.data.items():
            v[:] = 0
            v[:self.size] = arrays[k]
