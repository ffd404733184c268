"""Environment factory: gymnasium classic control, MinAtar and Atari behind one ``make_env``.

* ``make_env("CartPole-v1")`` (also Acrobot-v1, MountainCar-v0, LunarLander-v3 with box2d, and
  any other registered gymnasium id) — vector observations, float32.
* ``make_env("MinAtar/Breakout")`` (Asterix, Breakout, Freeway, Seaquest, SpaceInvaders; an
  optional ``-v1`` suffix is accepted) — (C, 10, 10) channels-first float32 in {0, 1}, minimal
  action set, sticky actions p = 0.1 and difficulty ramping as in Young & Tian (2019).
* ``make_env("ALE/Breakout-v5")`` or ``"BreakoutNoFrameskip-v4"`` — Atari through ale-py with the
  standard DQN preprocessing (no-op starts ≤ 30, frame skip 4 with max-pooling, 84×84 grey,
  4-frame stack): (4, 84, 84) uint8 observations.
* ``make_env("CartPole-P")`` (also CartPole-V, Pendulum-P/V, LunarLander-P/V with box2d; the
  GRSN authors' ``"CartPole-P-v0"`` spelling is accepted) — the POMDP tasks of pomdp-baselines
  with positions or velocities only (:mod:`neurorl.rl.pomdp`, registered with gymnasium on
  import of this module).
* ``make_env("popgym-RepeatPreviousEasy-v0")`` (any ``popgym-`` id, with popgym installed) —
  observations flattened to a float32 Box (Discrete, MultiDiscrete and Tuple ones one-hot);
  ids with a MultiDiscrete action space (Battleship, MineSweeper) are refused.

:class:`SeededVectorEnv` steps ``n`` copies in lockstep with same-step autoreset. Every episode is
reset with a seed drawn from the vector env's own numpy Generator, so the whole state of the
environments is (generator state, episode seeds, actions since the last reset): that is what
:meth:`SeededVectorEnv.state_dict` saves, and how a resumed run reproduces an uninterrupted one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from neurorl import optional
from neurorl.optional import OptionalDependencyError
from neurorl.rl import pomdp

pomdp.register_envs()

MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
INSTALL_HINT = "pip install 'neurorl[envs]'"


def require(module: str, what: str, hint: str = INSTALL_HINT) -> Any:
    """Import ``module`` for an environment, or raise
    :class:`~neurorl.optional.OptionalDependencyError` naming ``what`` and ``hint``."""
    return optional.require(module, what, hint)


# --------------------------------------------------------------------------------------------
# MinAtar
# --------------------------------------------------------------------------------------------
class MinAtarEnv(gym.Env):
    """A MinAtar game as a gymnasium Env with (C, 10, 10) float32 observations.

    ``reset(seed=s)`` reseeds the game's random state (spawns and sticky actions). Episodes end
    with ``terminated``; ``max_episode_steps`` (None: no limit) adds ``truncated``.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        game: str,
        sticky_action_prob: float = 0.1,
        difficulty_ramping: bool = True,
        max_episode_steps: int | None = None,
    ) -> None:
        minatar = require("minatar", f"MinAtar game {game!r}")
        if game not in MINATAR_GAMES:
            raise ValueError(f"unknown MinAtar game {game!r}; choose one of {MINATAR_GAMES}")
        self.game = minatar.Environment(
            game, sticky_action_prob=sticky_action_prob, difficulty_ramping=difficulty_ramping
        )
        self.action_set = list(self.game.minimal_action_set())
        h, w, c = self.game.state_shape()
        self.observation_space = spaces.Box(0.0, 1.0, shape=(c, h, w), dtype=np.float32)
        self.action_space = spaces.Discrete(len(self.action_set))
        self.max_episode_steps = max_episode_steps
        self._t = 0

    def _obs(self) -> np.ndarray:
        return np.ascontiguousarray(self.game.state().transpose(2, 0, 1), dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        """Start an episode (reseeding the game if ``seed`` is given); returns ``(obs, {})``."""
        super().reset(seed=seed)
        if seed is not None:
            self.game.seed(int(seed))
        self.game.reset()
        self._t = 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Act with an index into the minimal action set; the gymnasium 5-tuple."""
        reward, done = self.game.act(self.action_set[int(action)])
        self._t += 1
        truncated = self.max_episode_steps is not None and self._t >= self.max_episode_steps
        return self._obs(), float(reward), bool(done), bool(truncated and not done), {}


def _minatar_game(name: str) -> str:
    """``"MinAtar/SpaceInvaders-v1"`` → ``"space_invaders"``."""
    base = re.sub(r"-v\d+$", "", name.split("/", 1)[1])
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


# --------------------------------------------------------------------------------------------
# Atari
# --------------------------------------------------------------------------------------------
def _is_atari(name: str) -> bool:
    return name.startswith("ALE/") or name.endswith("NoFrameskip-v4")


def make_atari(name: str, frame_stack: int = 4, **options: Any) -> gym.Env:
    """Atari game ``name`` with DQN preprocessing; observations (frame_stack, 84, 84) uint8.

    ``options`` go to ``AtariPreprocessing`` when they are its arguments (``noop_max``,
    ``frame_skip``, ``screen_size``, ``terminal_on_life_loss``, ``grayscale_obs``, ``scale_obs``)
    and to ``gym.make`` otherwise (e.g. ``repeat_action_probability``, ``max_episode_steps``).
    """
    ale_py = require("ale_py", f"Atari game {name!r}")
    require("cv2", f"Atari preprocessing for {name!r}", "pip install opencv-python-headless")
    gym.register_envs(ale_py)
    pre_keys = ("noop_max", "frame_skip", "screen_size", "terminal_on_life_loss",
                "grayscale_obs", "scale_obs")
    pre = {"noop_max": 30, "frame_skip": 4, "screen_size": 84, "terminal_on_life_loss": False}
    pre.update({k: v for k, v in options.items() if k in pre_keys})
    make_kwargs = {k: v for k, v in options.items() if k not in pre_keys}
    make_kwargs.setdefault("max_episode_steps", 108_000 // pre["frame_skip"])  # 30 min of play
    env = gym.make(name, frameskip=1, **make_kwargs)
    env = gym.wrappers.AtariPreprocessing(env, **pre)
    return gym.wrappers.FrameStackObservation(env, frame_stack)


# --------------------------------------------------------------------------------------------
# popgym
# --------------------------------------------------------------------------------------------
def make_popgym(name: str, **options: Any) -> gym.Env:
    """popgym environment ``name`` (``"popgym-...-v0"``) with a flat float32 Box observation.

    Discrete observations become one-hot vectors, MultiDiscrete and Tuple ones concatenated
    one-hots, Box ones stay as they are (float32). Raises ``ValueError`` for a MultiDiscrete
    action space, which the agents here cannot act in.
    """
    require("popgym", f"popgym environment {name!r}", "pip install popgym")  # registers its ids
    try:
        env = gym.make(name, **options)
    except gym.error.Error as err:
        raise ValueError(f"unknown environment {name!r}: {err}") from err
    if isinstance(env.action_space, spaces.MultiDiscrete):
        env.close()
        raise ValueError(f"popgym environment {name!r} has a {env.action_space} action space; "
                         "neurorl's agents need a Discrete (or Box) one")
    env = gym.wrappers.FlattenObservation(env)
    return gym.wrappers.DtypeObservation(env, np.float32)


# --------------------------------------------------------------------------------------------
# the factory
# --------------------------------------------------------------------------------------------
def make_env(name: str, **options: Any) -> gym.Env:
    """Build environment ``name`` (see the module docstring for the families and options).

    Raises :class:`OptionalDependencyError` when the family's package is missing and
    ``ValueError`` for an unknown name.
    """
    if name.lower().startswith("minatar/"):
        return MinAtarEnv(_minatar_game(name), **options)
    if _is_atari(name):
        return make_atari(name, **options)
    if name.startswith("popgym-"):
        return make_popgym(name, **options)
    pomdp.register_envs()  # idempotent; in case the registry was reset
    name = pomdp.AUTHOR_IDS.get(name, name)
    try:
        return gym.make(name, **options)
    except gym.error.DependencyNotInstalled as err:
        hint = "pip install 'gymnasium[box2d]'" if "box2d" in str(err).lower() else INSTALL_HINT
        raise OptionalDependencyError(
            f"environment {name!r} needs a package that is not installed; install it with: {hint}"
        ) from err
    except gym.error.Error as err:
        raise ValueError(f"unknown environment {name!r}: {err}") from err


def env_info(name: str, **options: Any) -> dict[str, Any]:
    """Observation shape and dtype and the number of actions of ``name`` (builds one copy)."""
    env = make_env(name, **options)
    try:
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"environment {name!r} has a {env.action_space} action space; "
                             "DQN needs a discrete one")
        return {
            "obs_shape": tuple(int(v) for v in env.observation_space.shape),
            "obs_dtype": np.dtype(env.observation_space.dtype).name,
            "n_actions": int(env.action_space.n),
        }
    finally:
        env.close()


# --------------------------------------------------------------------------------------------
# vector env with reproducible, resumable state
# --------------------------------------------------------------------------------------------
class SeededVectorEnv:
    """``n`` environments stepped in lockstep; each episode reset with a seed from a Generator.

    ``step(actions)`` returns ``(obs, rewards, terminated, truncated, final_obs)``: ``obs`` is the
    observation to act on next (already reset where an episode ended), ``final_obs`` the true next
    observation of this transition (the last one of the episode where it ended). Finished
    episodes' returns and lengths are appended to :attr:`finished` as ``(env, return, length)``.
    """

    def __init__(
        self, name: str, n: int, seed: int, make: Callable[[], gym.Env] | None = None,
        **options: Any,
    ) -> None:
        if n < 1:
            raise ValueError(f"number of environments must be ≥ 1, got {n}")
        self.name, self.num_envs = name, n
        self.envs = [make() if make else make_env(name, **options) for _ in range(n)]
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.rng = np.random.default_rng(seed)
        self.episode_seed = np.zeros(n, np.int64)
        self.actions: list[list[int]] = [[] for _ in range(n)]
        self.ep_return = np.zeros(n, np.float64)
        self.ep_length = np.zeros(n, np.int64)
        self.finished: list[tuple[int, float, int]] = []
        shape = self.single_observation_space.shape
        self.obs = np.zeros((n, *shape), self.single_observation_space.dtype)

    def _reset_one(self, i: int) -> None:
        self.episode_seed[i] = int(self.rng.integers(2**31 - 1))
        self.obs[i] = self.envs[i].reset(seed=int(self.episode_seed[i]))[0]
        self.actions[i].clear()
        self.ep_return[i], self.ep_length[i] = 0.0, 0

    def reset(self) -> np.ndarray:
        """Start a fresh episode in every copy; returns observations (n, *obs_shape)."""
        for i in range(self.num_envs):
            self._reset_one(i)
        return self.obs.copy()

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every copy with ``actions`` (n,) ints; see the class docstring for the outputs."""
        n = self.num_envs
        rewards = np.zeros(n, np.float32)
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        final = np.empty_like(self.obs)
        for i in range(n):
            a = int(actions[i])
            o, r, te, tr, _ = self.envs[i].step(a)
            self.actions[i].append(a)
            final[i] = o
            rewards[i], term[i], trunc[i] = r, te, tr
            self.ep_return[i] += r
            self.ep_length[i] += 1
            if te or tr:
                self.finished.append((i, float(self.ep_return[i]), int(self.ep_length[i])))
                self._reset_one(i)
            else:
                self.obs[i] = o
        return self.obs.copy(), rewards, term, trunc, final

    def close(self) -> None:
        """Close every copy."""
        for env in self.envs:
            env.close()

    # ---- checkpointing -------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: everything needed to put the environments back where they are.

        Arrays: episode seeds, actions since each reset (concatenated, with lengths), running
        returns/lengths, current observations. Meta: the Generator's bit-generator state.
        """
        lengths = np.array([len(a) for a in self.actions], np.int64)
        flat = np.array([x for a in self.actions for x in a], np.int64)
        arrays = {
            "episode_seed": self.episode_seed.copy(),
            "action_log": flat,
            "action_log_len": lengths,
            "ep_return": self.ep_return.copy(),
            "ep_length": self.ep_length.copy(),
            "obs": self.obs.copy(),
        }
        return arrays, {"rng": self.rng.bit_generator.state, "num_envs": self.num_envs}

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output: reseed each episode and replay its actions.

        Raises ``RuntimeError`` if the replayed observations differ from the saved ones (an
        environment whose randomness does not come only from its reset seed).
        """
        if int(meta["num_envs"]) != self.num_envs:
            raise ValueError(f"saved state has {meta['num_envs']} environments, "
                             f"this vector env has {self.num_envs}")
        self.rng.bit_generator.state = meta["rng"]
        offsets = np.concatenate([[0], np.cumsum(arrays["action_log_len"])])
        for i, env in enumerate(self.envs):
            self.episode_seed[i] = arrays["episode_seed"][i]
            obs = env.reset(seed=int(self.episode_seed[i]))[0]
            acts = arrays["action_log"][offsets[i] : offsets[i + 1]]
            for a in acts:
                obs = env.step(int(a))[0]
            self.actions[i] = [int(a) for a in acts]
            if not np.array_equal(obs, arrays["obs"][i]):
                raise RuntimeError(
                    f"{self.name}: replaying environment {i} did not reproduce its saved "
                    "observation; the environment is not deterministic given its reset seed"
                )
            self.obs[i] = obs
        self.ep_return[:] = arrays["ep_return"]
        self.ep_length[:] = arrays["ep_length"]


def make_vector_env(name: str, n: int, seed: int, **options: Any) -> SeededVectorEnv:
    """``n`` copies of ``make_env(name, **options)`` in one :class:`SeededVectorEnv`."""
    return SeededVectorEnv(name, n, seed, **options)
