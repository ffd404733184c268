"""The DQN's resume state (``state.npz``): everything a run needs to go on bit for bit.

Weights, target, best (selected) weights, Adam's moments, the replay buffer, the environments'
states, the Generator's state and the metrics so far, in one :mod:`neurorl.checkpoint` of kind
``neurorl.dqn.state``; a resume with a config that differs in a field that changes the numbers
is refused, naming the fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np

from neurorl import checkpoint

__all__ = ["KIND", "load_state", "metrics_arrays", "numeric_config", "save_state"]

KIND = "neurorl.dqn.state"


def numeric_config(cfg) -> dict[str, Any]:
    d = json.loads(json.dumps(asdict(cfg), sort_keys=True))
    for k in type(cfg).NON_NUMERIC:
        d.pop(k, None)
    return d


def save_state(path, cfg, iteration, obs, rng, envs, flat, flat_target, opt, rb, episodes,
                best_flat, evals):
    arrays: dict[str, np.ndarray] = {"flat/q": flat, "flat/target": flat_target, "obs": obs,
                                     "flat/best": best_flat,
                                     "evals": np.array(evals, np.float64).reshape(-1, 2)}
    opt_state = opt.state_dict()
    arrays.update({f"opt/{k}": v for k, v in opt_state.items() if isinstance(v, np.ndarray)})
    rb_arrays, rb_meta = rb.state_dict()
    arrays.update({f"rb/{k}": v for k, v in rb_arrays.items()})
    env_arrays, env_meta = envs.state_dict()
    arrays.update({f"env/{k}": v for k, v in env_arrays.items()})
    arrays.update({f"metrics/{k}": v for k, v in metrics_arrays(episodes).items()})
    meta = {
        "kind": KIND,
        "config": asdict(cfg),
        "iteration": iteration,
        "step": iteration * cfg.num_envs,
        "rng": rng.bit_generator.state,
        "opt_t": opt_state["t"],
        "replay": rb_meta,
        "envs": env_meta,
    }
    checkpoint.save(path, arrays, meta)


def load_state(path, cfg, rng, envs, flat, flat_target, opt, rb, episodes, best_flat, evals):
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != KIND:
        raise ValueError(f"{path}: not a DQN training state (kind {meta.get('kind')!r})")
    saved = type(cfg).from_dict(meta["config"])
    if numeric_config(saved) != numeric_config(cfg):
        diff = sorted(
            k for k, v in numeric_config(cfg).items() if numeric_config(saved).get(k) != v
        )
        raise ValueError(f"{path}: was written with a different config (differs in {diff})")
    if arrays["flat/q"].shape != flat.shape:
        raise ValueError(f"{path}: parameter count {arrays['flat/q'].shape} != {flat.shape}")
    if "flat/best" not in arrays:
        raise ValueError(f"{path}: written by an older neurorl without the teacher-selection "
                         "state; start the run afresh")
    flat[...] = arrays["flat/q"]
    flat_target[...] = arrays["flat/target"]
    best_flat[...] = arrays["flat/best"]
    evals[:] = [(int(st), float(r)) for st, r in arrays["evals"]]
    opt.load_state_dict(
        {"t": meta["opt_t"], **{k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}}
    )
    rb.load_state_dict({k[3:]: v for k, v in arrays.items() if k.startswith("rb/")}, meta["replay"])
    envs.load_state_dict(
        {k[4:]: v for k, v in arrays.items() if k.startswith("env/")}, meta["envs"]
    )
    rng.bit_generator.state = meta["rng"]
    m = arrays
    episodes[:] = [
        (int(s), float(r), int(n), float(e))
        for s, r, n, e in zip(
            m["metrics/step"],
            m["metrics/episode_return"],
            m["metrics/episode_length"],
            m["metrics/epsilon"],
            strict=True,
        )
    ]
    return int(meta["iteration"]), arrays["obs"].copy()


def metrics_arrays(episodes: list[tuple[int, float, int, float]]) -> dict[str, np.ndarray]:
    e = episodes
    return {
        "step": np.array([x[0] for x in e], np.int64),
        "episode_return": np.array([x[1] for x in e], np.float64),
        "episode_length": np.array([x[2] for x in e], np.int64),
        "epsilon": np.array([x[3] for x in e], np.float64),
    }
