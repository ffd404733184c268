"""Partially observed classic-control tasks: the POMDP benchmarks of the GRSN paper.

Qin et al. (AAAI 2025) evaluate on the "-P" (positions only) and "-V" (velocities only)
versions of classic-control tasks defined by pomdp-baselines (Ni et al., 2022) and kept in the
authors' ``grsn/envs/pomdp``: the full task's dynamics and rewards, with the observation cut to
some of its dimensions. Importing this module (``neurorl.rl.envs`` does) registers them with
gymnasium, so ``gymnasium.make("CartPole-P")`` and ``neurorl.rl.envs.make_env("CartPole-P")``
both work:

==================  ==============  =============  =====  ===================================
id                  dynamics        kept dims      steps  what is observed
==================  ==============  =============  =====  ===================================
``CartPole-P``      CartPole-v1     0, 2           200    cart position, pole angle
``CartPole-V``      CartPole-v1     1, 3           200    cart velocity, pole angular velocity
``Pendulum-P``      Pendulum-v1     0, 1           200    cos and sin of the angle
``Pendulum-V``      Pendulum-v1     2              200    angular velocity
``LunarLander-P``   LunarLander-v3  0, 1, 4, 6, 7  1000   x, y, angle, leg contacts (l, r)
``LunarLander-V``   LunarLander-v3  2, 3, 5, 6, 7  1000   x/y and angular velocity, contacts
==================  ==============  =============  =====  ===================================

The authors' ids carry a version, ``"CartPole-P-v0"`` and so on; gymnasium cannot register an
unversioned and a versioned id of the same name, so these are registered unversioned and
``make_env`` also accepts the authors' spelling (:data:`AUTHOR_IDS`). The step cap is the only
time limit (the base task's own, e.g. CartPole-v1's 500, is removed) and can be changed with
``max_episode_steps``; other keyword arguments go to the base task. Differences from the
authors' code: actions are the base task's own (their wrapper rescales continuous actions from
[-1, 1] to the task's bounds, Pendulum's [-2, 2]); LunarLander-v3 stands in for gym's
LunarLander-v2, which gymnasium 1.x no longer provides; the full-observation "-F" ids are not
registered (they are the base tasks with the step cap above).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from neurorl.optional import require

__all__ = ["AUTHOR_IDS", "POMDP_ENVS", "PartialObservation", "make_partial", "register_envs"]

BOX2D_HINT = 'pip install "gymnasium[box2d]"'


@dataclasses.dataclass(frozen=True)
class PomdpSpec:
    """One partially observed task: base gymnasium id, kept observation dims, step cap."""

    base: str
    dims: tuple[int, ...]
    max_episode_steps: int
    observed: str
    needs: tuple[str, str] | None = None  # (module, install hint) the base task needs


POMDP_ENVS: dict[str, PomdpSpec] = {
    "CartPole-P": PomdpSpec("CartPole-v1", (0, 2), 200, "cart position, pole angle"),
    "CartPole-V": PomdpSpec("CartPole-v1", (1, 3), 200,
                            "cart velocity, pole angular velocity"),
    "Pendulum-P": PomdpSpec("Pendulum-v1", (0, 1), 200, "cos and sin of the pendulum angle"),
    "Pendulum-V": PomdpSpec("Pendulum-v1", (2,), 200, "pendulum angular velocity"),
    "LunarLander-P": PomdpSpec("LunarLander-v3", (0, 1, 4, 6, 7), 1000,
                               "x, y, angle, left and right leg contact",
                               ("Box2D", BOX2D_HINT)),
    "LunarLander-V": PomdpSpec("LunarLander-v3", (2, 3, 5, 6, 7), 1000,
                               "x and y velocity, angular velocity, left and right leg contact",
                               ("Box2D", BOX2D_HINT)),
}
"""Registered id → what it is (see the module docstring's table)."""

AUTHOR_IDS: dict[str, str] = {f"{name}-v0": name for name in POMDP_ENVS}
"""The GRSN authors' / pomdp-baselines' ids (``"CartPole-P-v0"``) → the registered ids."""


class PartialObservation(gym.ObservationWrapper):
    """Observe only dimensions ``dims`` of a Box observation, as float32.

    The observation space is a Box with the base space's bounds at the kept dims.
    """

    def __init__(self, env: gym.Env, dims: Sequence[int]) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"PartialObservation needs a 1-D Box observation space, got {space}")
        self.dims = np.asarray(dims, dtype=np.intp)
        if self.dims.size == 0 or self.dims.min() < 0 or self.dims.max() >= space.shape[0]:
            raise ValueError(f"dims {list(dims)} do not index an observation of shape "
                             f"{space.shape}")
        self.observation_space = spaces.Box(
            low=space.low[self.dims].astype(np.float32),
            high=space.high[self.dims].astype(np.float32),
            dtype=np.float32,
        )

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """The kept dims of the base observation, float32."""
        return np.asarray(observation, dtype=np.float32)[self.dims]


def make_partial(base: str, dims: Sequence[int], needs: tuple[str, str] | None = None,
                 name: str | None = None, **kwargs: Any) -> gym.Env:
    """Base task ``base`` (built with ``kwargs``, without its own time limit) observing ``dims``.

    This is the entry point of the registered ids (``name``: the id, for messages); the
    registration adds their step cap. Raises :class:`~neurorl.optional.OptionalDependencyError`
    when ``needs``' module (e.g. Box2D for LunarLander) is not installed.
    """
    if needs is not None:
        require(needs[0], f"environment {name or base!r} (dynamics of {base})", needs[1])
    spec = dataclasses.replace(gym.spec(base), max_episode_steps=None)
    return PartialObservation(gym.make(spec, **kwargs), dims)


def register_envs() -> None:
    """Register the ids of :data:`POMDP_ENVS` with gymnasium (ids already there are kept)."""
    for name, pomdp in POMDP_ENVS.items():
        if name in gym.registry:
            continue
        gym.register(
            name,
            entry_point=f"{__name__}:make_partial",
            max_episode_steps=pomdp.max_episode_steps,
            kwargs={"base": pomdp.base, "dims": pomdp.dims, "needs": pomdp.needs, "name": name},
        )


register_envs()
