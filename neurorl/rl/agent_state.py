"""What the recurrent actor-critics (SAC-discrete, TD3, SAC) share besides their losses: the
configuration fields (:class:`RecurrentConfig`), target networks (a copy, Polyak averaging) and
the resume state.

An agent exposes ``networks()`` (name -> parameter dict, live arrays), ``optimisers()`` (name ->
Adam), ``updates`` and its ``STATE_KIND``/``NAME``; :func:`save_state` writes all of it with the
sequence replay, the Generator's state, the evaluations and the episodes so far into one
:mod:`neurorl.checkpoint` (no pickle), and :func:`load_state` puts it back, so a resumed run ends
bit for bit where the uninterrupted one does. A resume whose config differs in a field that
changes the numbers is refused, naming the fields.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from neurorl import checkpoint
from neurorl.ann import shards
from neurorl.rl.recurrent_ac import RecurrentNet

__all__ = ["RecurrentConfig", "TrainingClock", "copy_net", "load_state", "polyak", "save_state"]


class TrainingClock:
    """Seconds of training of a run: this attempt's, and in total with the attempts before a
    resume (``before_s``, from the resume state)."""

    def __init__(self, before_s: float = 0.0) -> None:
        self.before_s, self.start = before_s, time.perf_counter()

    def attempt_s(self) -> float:
        """Seconds since this attempt started."""
        return time.perf_counter() - self.start

    def total_s(self) -> float:
        """Seconds of training in all attempts."""
        return self.before_s + self.attempt_s()

FREE_FIELDS = ("checkpoint_every", "blas_threads")  # config fields that do not change numbers


@dataclass
class RecurrentConfig:
    """The fields every recurrent actor-critic run has (the authors' ``configs/pomdp/*``:
    γ 0.9, lr 3e-4, τ 0.005, batch 32 sequences of 64 steps, buffer 1e6, 1 update per step,
    5 random initial episodes); each algorithm's config adds its own and its defaults."""

    env_id: str = "CartPole-V"
    encoder: str = "grsn"
    seed: int = 0
    total_steps: int = 10_000
    hidden: int = 128
    gamma: float = 0.9
    lr: float = 3e-4
    tau: float = 0.005
    batch_size: int = 32
    seq_len: int = 64
    buffer_size: int = 1_000_000
    updates_per_step: float = 1.0
    random_episodes: int = 5
    eval_every: int = 500  # environment steps between greedy (deterministic) evaluations
    eval_episodes: int = 10
    eval_seed: int = 10_000
    stop_at_return: float | None = None  # end the run at the first evaluation reaching it
    checkpoint_every: int = 0  # environment steps between resume checkpoints (0: none)
    blas_threads: int = 1  # numpy BLAS threads while training (0: leave unchanged)
    # threads that compute an update's sequences side by side, one BLAS thread each
    # (neurorl.ann.shards); the gradients are summed block by block, so the numbers depend on it
    shards: int = 1

    def __post_init__(self) -> None:
        if self.total_steps < 1 or self.batch_size < 1 or self.seq_len < 2:
            raise ValueError("total_steps and batch_size must be ≥ 1, seq_len ≥ 2")
        shards.check_config(self.shards, self.blas_threads)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Config from a (JSON) dict; unknown keys are an error naming them."""
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
        return cls(**d)


def polyak(target: dict[str, np.ndarray], source: dict[str, np.ndarray], tau: float) -> None:
    """target ← (1 − τ) target + τ source, in place."""
    for k, v in target.items():
        v *= 1.0 - tau
        v += tau * source[k]


def copy_net(net: RecurrentNet) -> RecurrentNet:
    """A network of ``net``'s shape holding a copy of its parameters (a target network)."""
    out = RecurrentNet(net.obs_dim, net.act_dim, net.heads, net.head_out, net.arch,
                       current_action_dim=net.current_action_dim, shards=net.shards)
    for k, v in out.params.items():
        v[...] = net.params[k]
    return out


def save_state(path, cfg, agent, rb, rng, evals, episodes, step, wall_s: float = 0.0) -> None:
    """Write the resume state of ``agent`` at environment step ``step`` to ``path``; ``wall_s``:
    the seconds of training that led to it (over every attempt)."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"kind": agent.STATE_KIND, "config": asdict(cfg), "step": step,
                            "wall_s": wall_s,
                            "updates": agent.updates, "rng": rng.bit_generator.state,
                            "evals": evals, "episodes": episodes}
    for name, params in agent.networks().items():
        arrays.update({f"{name}/{k}": v for k, v in params.items()})
    for name, opt in agent.optimisers().items():
        state = opt.state_dict()
        arrays.update({f"{name}/{k}": v for k, v in state.items() if isinstance(v, np.ndarray)})
        meta[f"{name}_t"] = state["t"]
    rb_arrays, meta["replay"] = rb.state_dict()
    arrays.update({f"rb/{k}": v for k, v in rb_arrays.items()})
    checkpoint.save(path, arrays, meta)


def load_state(path, cfg, agent, rb, rng, evals, episodes) -> tuple[int, float]:
    """Restore a resume state into ``agent``, ``rb``, ``rng``, ``evals`` and ``episodes``;
    returns the environment step to continue from and the seconds of training behind it."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != agent.STATE_KIND:
        raise ValueError(f"{path}: not a {agent.NAME} training state")
    diff = sorted(k for k, v in asdict(cfg).items()
                  if k not in FREE_FIELDS and meta["config"].get(k) != v)
    if diff:
        raise ValueError(f"{path}: was written with a different config (differs in {diff})")
    for name, params in agent.networks().items():
        for k, v in params.items():
            v[...] = arrays[f"{name}/{k}"]
    for name, opt in agent.optimisers().items():
        prefix = f"{name}/"
        opt.load_state_dict({"t": meta[f"{name}_t"],
                             **{k[len(prefix):]: v for k, v in arrays.items()
                                if k.startswith(prefix)}})
    rb.load_state_dict({k[3:]: v for k, v in arrays.items() if k.startswith("rb/")},
                       meta["replay"])
    rng.bit_generator.state = meta["rng"]
    agent.updates = int(meta["updates"])
    evals[:] = [(int(s), float(r)) for s, r in meta["evals"]]
    episodes[:] = [(int(s), float(r), int(n)) for s, r, n in meta["episodes"]]
    return int(meta["step"]), float(meta.get("wall_s", 0.0))
