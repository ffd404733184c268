"""The command line's recurrent-agent subcommands: ``train-tap`` (GRSN with TAP: recurrent
SAC-discrete, TD3, SAC), ``train-marl`` (parameter-shared agents with IQL, VDN or QMIX) and
``sweep`` (grids of runs on Dask), and what ``neurorl evaluate`` and ``neurorl energy`` do with
their checkpoints. Each subcommand is ``_args_<name>`` / ``_run_<name>``, listed in
:data:`COMMANDS` and merged into :data:`neurorl.cli.COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from neurorl.cli_common import chip_reports, parse_sets, positive_int, write_energy_json

__all__ = ["COMMANDS", "energy_of_marl_agent", "energy_of_tap_actor", "evaluate_marl"]


def evaluate_marl(args: argparse.Namespace) -> int:
    """``neurorl evaluate`` of a multi-agent checkpoint: greedy team returns."""
    from neurorl.algos import marl

    agent, meta = marl.load_agent(args.checkpoint)
    env_id = args.env or meta.get("env")
    returns = marl.evaluate(agent, env_id, args.episodes, args.seed)
    print(f"{args.checkpoint}: {meta['mixer'].upper()} agents ({agent.encoder_name} encoder)")
    print(f"{env_id}: {args.episodes} episodes, team return {returns.mean():.2f} ± "
          f"{returns.std():.2f} (min {returns.min():.2f}, max {returns.max():.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env_id, "returns": returns.tolist()}))
    return 0


def energy_of_tap_actor(args: argparse.Namespace, overrides: dict[str, float]) -> int:
    """``neurorl energy`` of a recurrent actor (SAC-discrete, TD3, SAC; any encoder): the
    45 nm operation count per decision on the steps of greedy episodes, and for a TAP actor
    its Brian2 network on the chip profiles, one simulation step per decision."""
    from neurorl.algos.checkpoints import load_policy
    from neurorl.hardware.recurrent_ops import decision_ops, visited_inputs
    from neurorl.rl.recurrent_ac import to_network

    loaded = load_policy(args.checkpoint)
    env_id = args.env or loaded.env_id
    episodes = visited_inputs(loaded.policy, env_id, args.samples, args.seed)
    actor = loaded.policy.actor
    ops = decision_ops(actor, episodes)
    print(ops.table())
    print()
    out = {"checkpoint": str(args.checkpoint), "dnn": [], "decision_ops": ops.to_dict(),
           "chips": []}
    encoder = actor.arch.encoder
    if hasattr(actor.encoder, "net") and actor.encoder.carry:
        net, inputs = to_network(actor), np.concatenate(episodes)[:, None]
        label = f"{Path(args.checkpoint).name} on {env_id} ({len(inputs)} greedy steps)"
        out["chips"] = chip_reports(args, net, inputs, label, overrides, steps_per_decision=1,
                                    device=args.backend)
    else:
        print(f"encoder {encoder!r} is not a TAP spiking encoder: no chip report (the count "
              "above is its energy)")
    write_energy_json(args, out)
    return 0


def energy_of_marl_agent(args: argparse.Namespace) -> int:
    """``neurorl energy`` of a multi-agent checkpoint: the 45 nm count per agent decision on
    greedy episodes (``--samples`` episodes)."""
    from neurorl.algos import marl
    from neurorl.hardware.recurrent_ops import marl_decision_ops

    agent, meta = marl.load_agent(args.checkpoint)
    env_id = args.env or meta.get("env")
    ops = marl_decision_ops(agent, marl.visited_inputs(agent, env_id, args.samples, args.seed))
    print(f"{env_id}, one decision = one agent's step:")
    print(ops.table())
    write_energy_json(args, {"checkpoint": str(args.checkpoint), "dnn": [], "chips": [],
                              "decision_ops": ops.to_dict()})
    return 0


# --------------------------------------------------------------------------------------------
# train-marl (cooperative multi-agent Q-learning: IQL, VDN, QMIX)
# --------------------------------------------------------------------------------------------
def _args_train_marl(p: argparse.ArgumentParser) -> None:
    from neurorl.ann.mixers import MIXERS
    from neurorl.rl.encoders import ENCODERS
    from neurorl.rl.marl_envs import MARL_ENVS

    p.add_argument("--env", default=MARL_ENVS[0], help=" or ".join(MARL_ENVS))
    p.add_argument("--mixer", default="qmix", choices=list(MIXERS))
    p.add_argument("--encoder", default="gru", choices=list(ENCODERS))
    p.add_argument("--steps", type=int, default=200_000, help="environment steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/marl", help="output folder")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="any other MARLConfig field, VALUE in JSON (e.g. --set lr=0.001)")
    p.add_argument("--checkpoint-every", type=int, default=10_000,
                   help="steps between resume checkpoints (state.npz); 0: none")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_train_marl(args: argparse.Namespace) -> int:
    from neurorl.algos import marl

    overrides = parse_sets(args.set)
    overrides.update(env_id=args.env, mixer=args.mixer, encoder=args.encoder,
                     total_steps=args.steps, seed=args.seed,
                     checkpoint_every=args.checkpoint_every)
    cfg = marl.MARLConfig.from_dict(overrides)
    res = marl.train(cfg, args.out, progress=not args.no_progress, resume=args.resume)
    best = max((r for _, r in res.evals), default=float("nan"))
    print(f"{cfg.mixer} {cfg.encoder} on {cfg.env_id}: {res.steps} env steps, {res.updates} "
          f"updates in {res.wall_s:.0f} s; greedy evaluations "
          f"{[round(r, 2) for _, r in res.evals]} (best {best:.2f})")
    print(f"wrote {Path(args.out) / marl.AGENT_FILE}, {Path(args.out) / marl.EVALS_FILE}")
    return 0


# --------------------------------------------------------------------------------------------
# train-tap (recurrent SAC-discrete, TD3 or SAC; GRSN with the temporal alignment paradigm)
# --------------------------------------------------------------------------------------------
def _args_train_tap(p: argparse.ArgumentParser) -> None:
    from neurorl.algos import RECURRENT_ALGOS
    from neurorl.rl.encoders import ENCODERS

    p.add_argument("--env", default="CartPole-V", help="CartPole-V, CartPole-P, popgym-..., ...")
    p.add_argument("--encoder", default="grsn", choices=list(ENCODERS))
    p.add_argument("--algo", default="sacd", choices=list(RECURRENT_ALGOS),
                   help="sacd: SAC-discrete (discrete actions); td3, sac: continuous actions "
                   "(e.g. --env Pendulum-V)")
    p.add_argument("--steps", type=int, default=10_000, help="environment steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/tap", help="output folder")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="any other config field of the algorithm (SACDConfig, TD3Config, "
                   "SACConfig), VALUE in JSON (e.g. --set gamma=0.99)")
    p.add_argument("--checkpoint-every", type=int, default=1_000,
                   help="steps between resume checkpoints (state.npz); 0: none")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_train_tap(args: argparse.Namespace) -> int:
    from neurorl.algos import recurrent_algorithm

    module, config = recurrent_algorithm(args.algo)
    overrides = parse_sets(args.set)
    overrides.update(env_id=args.env, encoder=args.encoder, total_steps=args.steps,
                     seed=args.seed, checkpoint_every=args.checkpoint_every)
    cfg = config.from_dict(overrides)
    res = module.train(cfg, args.out, progress=not args.no_progress, resume=args.resume)
    best = max((r for _, r in res.evals), default=float("nan"))
    print(f"{cfg.encoder} on {cfg.env_id}: {res.steps} env steps, {res.updates} updates in "
          f"{res.wall_s:.0f} s; greedy evaluations {[round(r, 1) for _, r in res.evals]} "
          f"(best {best:.1f})")
    print(f"wrote {Path(args.out) / module.ACTOR_FILE}, {Path(args.out) / module.EVALS_FILE}")
    return 0


# --------------------------------------------------------------------------------------------
# sweep (a grid of runs on Dask)
# --------------------------------------------------------------------------------------------
def _args_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="sweep spec (TOML: [sweep], [base], [grid]; see neurorl.sweep)")
    p.add_argument("--out", help="output folder (default: the spec's, or runs/sweeps/NAME)")
    p.add_argument("--workers", type=positive_int, help="LocalCluster worker processes "
                   "(default: the number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask cluster (tcp://HOST:8786) instead of a LocalCluster")
    p.add_argument("--retries", type=int, default=3,
                   help="how often a run whose worker process died is started again")
    p.add_argument("--serial", action="store_true", help="no Dask: one run after another here")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="a config key of every run, over the spec (VALUE in JSON)")
    p.add_argument("--only", metavar="KEY=VALUE[,VALUE...]", action="append", default=[],
                   help="run only the runs with these values of a grid key (repeatable: "
                   "--only env_id=Pendulum-P --only encoder=gru,lstm); the CSVs cover all runs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _parse_only(items: list[str]) -> dict[str, list[str]]:
    """``--only KEY=V1,V2`` strings -> {KEY: [V1, V2]} (repeated keys add values)."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ValueError(f"--only {item!r}: expected KEY=VALUE[,VALUE...]")
        out.setdefault(key.replace("-", "_"), []).extend(v.strip() for v in values.split(","))
    return out


def _run_sweep(args: argparse.Namespace) -> int:
    from neurorl import sweep

    spec = sweep.load_spec(args.spec, out=args.out, overrides=parse_sets(args.set))
    res = sweep.run_sweep(spec, workers=args.workers, scheduler=args.scheduler,
                          retries=args.retries, serial=args.serial, progress=not args.no_progress,
                          only=_parse_only(args.only))
    chosen = f" ({len(res.finished) + len(res.skipped) + len(res.failed)} chosen by --only)" \
        if args.only else ""
    print(f"sweep {spec.name}: {len(spec.runs)} runs{chosen}; {len(res.finished)} finished now, "
          f"{len(res.skipped)} finished before, {len(res.failed)} failed; "
          f"{res.wall_s:.0f} s on {res.where}")
    for run_id, reason in res.failed.items():
        print(f"  failed: {run_id}: {reason} (see {spec.out / 'runs' / run_id / sweep.ERROR_FILE})")
    print(f"wrote {spec.out / sweep.RESULTS_FILE}, {spec.out / sweep.CELLS_FILE}")
    return 1 if res.failed else 0


COMMANDS = {
    "train-tap": ("train a recurrent (GRSN, GRU, ...) SAC-discrete, TD3 or SAC agent on a POMDP",
                  _args_train_tap, _run_train_tap),
    "train-marl": ("train parameter-shared recurrent agents (GRSN, GRU, ...) with IQL, VDN or "
                   "QMIX on MPE or Level-Based Foraging", _args_train_marl, _run_train_marl),
    "sweep": ("a grid of training runs (tasks x encoders x seeds ...) on Dask, resumable",
              _args_sweep, _run_sweep),
}
