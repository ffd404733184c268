"""Cooperative multi-agent environments behind one interface, and a vector of them.

Two families, EPyMARL's cooperative benchmarks that install from the registry (optional extra
``marl``: ``pip install 'neurorl[marl]'``):

* PettingZoo parallel environments of ``mpe2`` (``mpe2/simple_spread_v3``: N = 3 agents,
  discrete actions, 25 steps, made with ``N=3, max_cycles=25, continuous_actions=False``; any
  other ``mpe2/<name>`` with its defaults and discrete actions);
* ``lbforaging``'s gymnasium environments (``lbforaging/Foraging-8x8-2p-2f-coop-v3``: 2 agents,
  2 food, cooperative, 50 steps).

SMAC (StarCraft II), the GRSN paper's multi-agent benchmark, needs the StarCraft II game, which
cannot be installed here (the registry's ``smac`` is an unrelated package); these two tasks are
the cooperative ones EPyMARL benchmarks (Papoudakis et al. 2021) that can.

:class:`MultiAgentEnv` gives, for every step: per-agent observations (N, obs_dim) (zero-padded to
the longest agent's), the global state (the concatenated observations: neither family has one
of its own, as in EPyMARL's wrappers), available-action masks (N, n_actions) (lbforaging's
valid moves; every action for MPE), the team reward (the sum of the agents' rewards, EPyMARL's
``reward_scalarisation: sum``) and whether the episode terminated or was truncated.
:class:`VectorMultiAgentEnv` steps E of them together and reports (E, ...) arrays; an
environment whose episode ended is not stepped again until :meth:`VectorMultiAgentEnv.reset`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurorl.optional import require

__all__ = ["MARL_ENVS", "MultiAgentEnv", "Step", "VectorMultiAgentEnv", "make_marl_env"]

MARL_ENVS = ("mpe2/simple_spread_v3", "lbforaging/Foraging-8x8-2p-2f-coop-v3")
INSTALL = "pip install 'neurorl[marl]'"
MPE_DEFAULTS = {"simple_spread_v3": {"N": 3, "max_cycles": 25}}


@dataclass
class Step:
    """One step (or a reset) of a :class:`MultiAgentEnv`: ``obs`` (N, obs_dim), ``state``
    (state_dim,), ``avail`` (N, n_actions) of 0/1, ``reward`` (team), ``terminated`` and
    ``truncated``."""

    obs: np.ndarray
    state: np.ndarray
    avail: np.ndarray
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False

    @property
    def done(self) -> bool:
        """The episode ended (terminated or truncated)."""
        return self.terminated or self.truncated


class MultiAgentEnv:
    """A cooperative N-agent environment with discrete actions (see the module doc).

    Attributes: ``id``, ``n_agents``, ``obs_dim``, ``state_dim``, ``n_actions``,
    ``episode_limit`` (steps).
    """

    def __init__(self, env_id: str, **kwargs: Any) -> None:
        family, sep, name = env_id.partition("/")
        if not sep or family not in ("mpe2", "lbforaging"):
            raise ValueError(f"unknown multi-agent environment {env_id!r}; give mpe2/<name> or "
                             f"lbforaging/<gymnasium id>, e.g. {' or '.join(MARL_ENVS)}")
        self.id, self.family = env_id, family
        if family == "mpe2":
            require("mpe2", f"environment {env_id}", INSTALL)
            try:
                module = importlib.import_module(f"mpe2.{name}")
            except ImportError:
                raise ValueError(f"mpe2 has no environment {name!r} ({env_id})") from None
            options = {**MPE_DEFAULTS.get(name, {}), **kwargs, "continuous_actions": False}
            self._env = module.parallel_env(**options)
            self.agents = list(self._env.possible_agents)
            spaces = [self._env.action_space(a) for a in self.agents]
            obs_sizes = [int(np.prod(self._env.observation_space(a).shape)) for a in self.agents]
            self.episode_limit = int(options.get("max_cycles", 25))
        else:
            require("lbforaging", f"environment {env_id}", INSTALL)
            import gymnasium as gym
            import lbforaging  # noqa: F401  (registers the Foraging ids)

            try:
                self._env = gym.make(name, **kwargs)
            except gym.error.Error as err:
                raise ValueError(f"{env_id}: {err}") from None
            spaces = list(self._env.action_space)
            obs_sizes = [int(np.prod(s.shape)) for s in self._env.observation_space]
            self.agents = list(range(len(spaces)))
            self.episode_limit = int(self._env.unwrapped._max_episode_steps)
        if any(not hasattr(s, "n") for s in spaces):
            raise ValueError(f"{env_id}: every agent needs a discrete action space")
        self.n_agents = len(self.agents)
        self.n_actions = max(int(s.n) for s in spaces)
        self._own_actions = [int(s.n) for s in spaces]
        self.obs_dim = max(obs_sizes)
        self.state_dim = self.n_agents * self.obs_dim

    # -- the interface -------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> Step:
        """Start an episode (``seed`` seeds the environment's generator)."""
        obs, _ = self._env.reset(seed=seed)
        return self._step(self._obs_array(obs))

    def step(self, actions: np.ndarray) -> Step:
        """Apply one action per agent (N,) and return the next :class:`Step`."""
        actions = np.asarray(actions).reshape(self.n_agents)
        if self.family == "mpe2":
            obs, rewards, term, trunc, _ = self._env.step(
                {a: int(u) for a, u in zip(self.agents, actions, strict=True)})
            reward = float(sum(rewards.get(a, 0.0) for a in self.agents))
            terminated = any(term.get(a, False) for a in self.agents)
            truncated = not terminated and any(trunc.get(a, False) for a in self.agents)
            return self._step(self._obs_array(obs), reward, terminated, truncated)
        obs, rewards, done, truncated, _ = self._env.step(tuple(int(u) for u in actions))
        # lbforaging ends an episode when the food is gone or at its step limit, reporting both
        # as done; the limit is a truncation (nothing to bootstrap past it is lost)
        cleared = bool(np.sum(self._env.unwrapped.field) == 0)
        terminated = bool(done) and cleared
        truncated = bool(truncated) or (bool(done) and not cleared)
        return self._step(self._obs_array(obs), float(np.sum(rewards)), terminated, truncated)

    def close(self) -> None:
        """Release the environment."""
        self._env.close()

    # -- helpers -------------------------------------------------------------------------------
    def _obs_array(self, obs: Any) -> np.ndarray:
        out = np.zeros((self.n_agents, self.obs_dim), np.float32)
        items = [obs.get(a) for a in self.agents] if isinstance(obs, dict) else list(obs)
        for k, o in enumerate(items):
            if o is not None:
                o = np.asarray(o, np.float32).ravel()
                out[k, :o.size] = o
        return out

    def available_actions(self) -> np.ndarray:
        """(N, n_actions) 0/1: lbforaging's valid moves, every own action for MPE."""
        avail = np.zeros((self.n_agents, self.n_actions), np.float32)
        for k, n in enumerate(self._own_actions):
            avail[k, :n] = 1.0
        if self.family == "lbforaging":
            valid = self._env.unwrapped._valid_actions
            players = self._env.unwrapped.players
            for k, player in enumerate(players):
                moves = valid.get(player) if valid else None
                if moves:
                    avail[k] = 0.0
                    avail[k, [int(getattr(m, "value", m)) for m in moves]] = 1.0
        return avail

    def _step(self, obs: np.ndarray, reward: float = 0.0, terminated: bool = False,
              truncated: bool = False) -> Step:
        return Step(obs, obs.reshape(-1).copy(), self.available_actions(), reward, terminated,
                    truncated)


def make_marl_env(env_id: str, **kwargs: Any) -> MultiAgentEnv:
    """The :class:`MultiAgentEnv` ``env_id`` (``mpe2/<name>`` or ``lbforaging/<id>``)."""
    return MultiAgentEnv(env_id, **kwargs)


class VectorMultiAgentEnv:
    """E copies of one :class:`MultiAgentEnv`, stepped together.

    :meth:`reset` starts every copy (copy e seeded ``seed + e``); :meth:`step` takes actions
    (E, N) and steps the copies whose episode is still running; the others keep their last
    step (``done`` stays True) until the next :meth:`reset`. Arrays are (E, ...).
    """

    def __init__(self, env_id: str, n_envs: int, **kwargs: Any) -> None:
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.envs = [make_marl_env(env_id, **kwargs) for _ in range(n_envs)]
        first = self.envs[0]
        self.n_envs, self.n_agents, self.n_actions = n_envs, first.n_agents, first.n_actions
        self.obs_dim, self.state_dim = first.obs_dim, first.state_dim
        self.episode_limit = first.episode_limit
        self.last: list[Step] = []

    def _stack(self) -> dict[str, np.ndarray]:
        return {"obs": np.stack([s.obs for s in self.last]),
                "state": np.stack([s.state for s in self.last]),
                "avail": np.stack([s.avail for s in self.last]),
                "reward": np.array([s.reward for s in self.last], np.float32),
                "terminated": np.array([s.terminated for s in self.last]),
                "truncated": np.array([s.truncated for s in self.last]),
                "done": np.array([s.done for s in self.last])}

    def reset(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Start an episode in every copy; returns the stacked first steps."""
        self.last = [env.reset(None if seed is None else seed + e)
                     for e, env in enumerate(self.envs)]
        return self._stack()

    def step(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """Step the running copies with ``actions`` (E, N); the rewards of finished ones are 0."""
        actions = np.asarray(actions).reshape(self.n_envs, self.n_agents)
        for e, env in enumerate(self.envs):
            if self.last[e].done:
                self.last[e] = Step(self.last[e].obs, self.last[e].state, self.last[e].avail,
                                    0.0, self.last[e].terminated, self.last[e].truncated)
            else:
                self.last[e] = env.step(actions[e])
        return self._stack()

    def close(self) -> None:
        """Release every copy."""
        for env in self.envs:
            env.close()
