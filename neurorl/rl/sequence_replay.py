"""Sequence replay for recurrent off-policy RL: whole episodes in, (L, B, ...) windows out.

The design follows pomdp-baselines' ``SeqReplayBuffer`` as used by the GRSN authors: episodes
are stored back to back in a ring of ``capacity`` transitions and :meth:`SequenceReplay.sample`
draws ``B`` windows of ``L = seq_len`` consecutive steps, each inside one episode, stacked
time-major as ``(L, B, ...)``.

Valid starts (as the authors'): an episode of length ``T`` may be sampled from each of its first
``n = max(1, T - L + 1)`` steps, so a window from a start stays inside the episode; an episode
shorter than ``L`` has only its first step as a start and the window's tail is padding
(``mask`` 0, every field 0). Each start of an episode has weight
``(sample_weight_baseline + n) / n``: with baseline 0 every start is equally likely, and a positive
baseline favours short episodes (whose few starts share the extra weight).

Differences from theirs, all deliberate: episodes are evicted whole, oldest first, when a new
one does not fit (theirs overwrites transitions, so an old episode's surviving remainder could be
sampled); an episode may have a single step (theirs needs ``T >= 2`` because it finds episode
ends from the valid-start pattern; here episode bounds are stored); padded steps hold zeros
(theirs holds whatever follows, masked out); sampling takes an explicit
``numpy.random.Generator``.

``prev_action``/``prev_reward`` are the action and reward *before* each step (pomdp-baselines'
convention ``a[-1] = r[-1] = 0``). By default they follow the authors exactly: the agent prepends
a zero action, zero reward and zero done at the start of each *sampled* window (and starts the
recurrent state from zero there), so ``prev_action[0] = prev_reward[0] = 0`` even for a window
starting mid-episode, and ``prev_action[t] = action[t-1]`` for ``t >= 1``. With
``prev_from_episode=True`` step 0 instead takes the real previous action/reward of the episode
(zero only at the episode's first step). The recurrent state at a window's start is the
consumer's to choose (the authors' is zero); this buffer stores no hidden states. The authors'
observation sequence ``cat(obs[[0]], next_obs)`` of length ``L + 1`` is built from ``obs`` and
``next_obs`` by the consumer.

Resume: :meth:`~SequenceReplay.state_dict` gives plain arrays and JSON-able meta for
:mod:`neurorl.checkpoint`; loading them restores the buffer bit for bit, so the same generator
state gives the same future samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SequenceReplay"]


def _as_steps(name: str, value: Any, T: int, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as (T, *shape); a trailing singleton axis is accepted for scalar fields."""
    a = np.asarray(value)
    want = (T, *shape)
    if a.shape != want:
        if a.shape[:1] == (T,) and a.size == int(np.prod(want)) and not shape:
            a = a.reshape(want)
        else:
            raise ValueError(f"{name} has shape {a.shape}, expected {want}")
    return a


class SequenceReplay:
    """Episode ring buffer sampling time-major sequences ``(seq_len, batch, ...)``.

    ``action_shape=()`` stores a discrete action (int64), ``(k,)`` a continuous one (float32).
    Observations are stored in ``obs_dtype``; rewards and termination flags as float32.
    ``prev_from_episode`` sets how :meth:`sample` fills ``prev_action``/``prev_reward`` at a
    window's first step (see the module docstring); :meth:`sample` may override it per call.
    """

    FIELDS = ("obs", "next_obs", "actions", "rewards", "terminated")

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...] = (),
        seq_len: int = 64,
        obs_dtype: Any = np.float32,
        sample_weight_baseline: float = 0.0,
        prev_from_episode: bool = False,
    ) -> None:
        if int(capacity) < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if int(seq_len) < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        if not sample_weight_baseline >= 0.0:
            raise ValueError(f"sample_weight_baseline must be >= 0, got {sample_weight_baseline}")
        self.capacity = int(capacity)
        self.seq_len = int(seq_len)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.action_shape = tuple(int(d) for d in action_shape)
        self.obs_dtype = np.dtype(obs_dtype)
        self.action_dtype = np.dtype(np.int64 if not self.action_shape else np.float32)
        self.sample_weight_baseline = float(sample_weight_baseline)
        self.prev_from_episode = bool(prev_from_episode)

        self.obs = np.zeros((self.capacity, *self.obs_shape), self.obs_dtype)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((self.capacity, *self.action_shape), self.action_dtype)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        # episode records, a ring of at most `capacity` (every episode holds >= 1 transition):
        # physical slot of the first step and length, oldest at _ep_head
        self._ep_start = np.zeros(self.capacity, np.int64)
        self._ep_len = np.zeros(self.capacity, np.int64)
        self._ep_head = 0
        self._ep_count = 0
        self._pos = 0  # slot where the next episode starts
        self._size = 0  # transitions stored
        self.total_episodes = 0  # episodes ever added (evicted ones included)
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ contents
    @property
    def size(self) -> int:
        """Transitions stored (at most ``capacity``; less once whole episodes were evicted)."""
        return self._size

    @property
    def episodes(self) -> int:
        """Episodes stored."""
        return self._ep_count

    def __len__(self) -> int:
        return self._size

    def add_episode(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        """Store one whole episode of ``T >= 1`` steps, evicting the oldest whole episodes.

        ``obs``/``next_obs`` (T, *obs_shape), ``actions`` (T, *action_shape), ``rewards`` and
        ``terminated`` (T,) (``(T, 1)`` accepted). A truncated (timed-out) episode simply has
        ``terminated`` all zero. Raises ``ValueError`` for ``T > capacity`` or mismatched shapes.
        """
        obs = np.asarray(obs)
        T = int(obs.shape[0]) if obs.ndim else 0
        if T < 1:
            raise ValueError("an episode needs at least one step")
        if T > self.capacity:
            raise ValueError(f"episode of {T} steps exceeds the replay capacity {self.capacity}")
        obs = _as_steps("obs", obs, T, self.obs_shape)
        next_obs = _as_steps("next_obs", next_obs, T, self.obs_shape)
        actions = _as_steps("actions", actions, T, self.action_shape)
        rewards = _as_steps("rewards", rewards, T, ())
        terminated = _as_steps("terminated", terminated, T, ())

        while self._size + T > self.capacity:  # evict whole episodes, oldest first
            self._size -= int(self._ep_len[self._ep_head])
            self._ep_head = (self._ep_head + 1) % self.capacity
            self._ep_count -= 1
        # the free slots are [pos, pos + capacity - size) (mod capacity): the episode fits there
        idx = (self._pos + np.arange(T)) % self.capacity
        self.obs[idx] = obs
        self.next_obs[idx] = next_obs
        self.actions[idx] = actions
        self.rewards[idx] = rewards
        self.terminated[idx] = terminated
        rec = (self._ep_head + self._ep_count) % self.capacity
        self._ep_start[rec] = self._pos
        self._ep_len[rec] = T
        self._ep_count += 1
        self._pos = (self._pos + T) % self.capacity
        self._size += T
        self.total_episodes += 1
        self._cache = None

    def _episode_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Stored episodes oldest first: (start slot, length, valid starts, cumulative weight)."""
        if self._cache is None:
            rec = (self._ep_head + np.arange(self._ep_count)) % self.capacity
            start, length = self._ep_start[rec], self._ep_len[rec]
            n_valid = np.maximum(1, length - self.seq_len + 1)
            cum = np.cumsum(self.sample_weight_baseline + n_valid.astype(np.float64))
            self._cache = (start, length, n_valid, cum)
        return self._cache

    # ------------------------------------------------------------------ sampling
    def sample(
        self, rng: np.random.Generator, batch: int, prev_from_episode: bool | None = None
    ) -> dict[str, np.ndarray]:
        """``batch`` windows of ``seq_len`` steps, each inside one episode, time-major.

        Starts are drawn with replacement by the authors' weights (module docstring). Returns
        fresh arrays, each ``(L, B, ...)``: ``obs``/``next_obs`` (obs dtype), ``action`` and
        ``prev_action`` (int64 discrete, float32 continuous), ``reward``, ``prev_reward``,
        ``terminated`` and ``mask`` (float32). ``mask`` is 1 inside the episode and 0 on the
        padding after its end, where every field is 0. ``prev_from_episode`` (default: the
        constructor's) chooses zeros (False, the authors') or the episode's real previous
        action/reward (True) at each window's first step.
        """
        if self._ep_count == 0:
            raise ValueError("cannot sample from an empty SequenceReplay")
        if prev_from_episode is None:
            prev_from_episode = self.prev_from_episode
        B, L = int(batch), self.seq_len
        start, length, n_valid, cum = self._episode_table()
        u = rng.random(B) * cum[-1]
        ep = np.minimum(np.searchsorted(cum, u, side="right"), self._ep_count - 1)
        offset = rng.integers(0, n_valid[ep])  # step of the episode where each window starts

        t = np.arange(L)[:, None]  # (L, 1)
        slots = (start[ep][None, :] + offset[None, :] + t) % self.capacity  # (L, B)
        inside = t < (length[ep] - offset)[None, :]  # (L, B)
        pad = ~inside
        first = offset[None, :] > 0 if prev_from_episode else np.zeros((1, B), bool)
        has_prev = inside & ((t > 0) | first)
        prev_slots = (slots - 1) % self.capacity

        out = {
            "obs": self.obs[slots],
            "action": self.actions[slots],
            "reward": self.rewards[slots],
            "terminated": self.terminated[slots],
            "next_obs": self.next_obs[slots],
        }
        for value in out.values():
            value[pad] = 0
        out["mask"] = inside.astype(np.float32)
        prev_action = self.actions[prev_slots]
        prev_action[~has_prev] = 0
        out["prev_action"] = prev_action
        out["prev_reward"] = np.where(has_prev, self.rewards[prev_slots], np.float32(0))
        return out

    # ------------------------------------------------------------------ checkpoints
    def _config(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "seq_len": self.seq_len,
            "obs_shape": list(self.obs_shape),
            "action_shape": list(self.action_shape),
            "obs_dtype": self.obs_dtype.str,
            "sample_weight_baseline": self.sample_weight_baseline,
        }

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: stored transitions oldest first, episode bounds and positions."""
        first = int(self._ep_start[self._ep_head]) if self._ep_count else self._pos
        idx = (first + np.arange(self._size)) % self.capacity
        arrays = {name: getattr(self, name)[idx] for name in self.FIELDS}
        start, length, _, _ = self._episode_table()
        arrays["episode_start"] = start.copy()
        arrays["episode_len"] = length.copy()
        meta = dict(
            self._config(),
            pos=self._pos,
            size=self._size,
            episodes=self._ep_count,
            total_episodes=self.total_episodes,
            prev_from_episode=self.prev_from_episode,
        )
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; the configuration must match.

        ``prev_from_episode`` stays as configured here (it changes no stored state).
        """
        mine = self._config()
        wrong = {k: (meta.get(k), v) for k, v in mine.items() if meta.get(k) != v}
        if wrong:
            raise ValueError(
                "sequence replay saved with a different configuration (saved, configured): "
                + ", ".join(f"{k}={s!r} vs {c!r}" for k, (s, c) in wrong.items())
            )
        size, count = int(meta["size"]), int(meta["episodes"])
        start = np.asarray(arrays["episode_start"], np.int64)
        length = np.asarray(arrays["episode_len"], np.int64)
        if start.shape != (count,) or length.shape != (count,) or int(length.sum()) != size:
            raise ValueError("sequence replay state is inconsistent (episode table vs size)")
        first = int(start[0]) if count else int(meta["pos"])
        idx = (first + np.arange(size)) % self.capacity
        for name in self.FIELDS:
            getattr(self, name)[idx] = arrays[name]
        self._ep_head, self._ep_count = 0, count
        self._ep_start[:count] = start
        self._ep_len[:count] = length
        self._pos, self._size = int(meta["pos"]), size
        self.total_episodes = int(meta["total_episodes"])
        self._cache = None
