"""The ``neurorl`` command (also ``python -m neurorl.cli``).

Each subcommand is two small functions — ``_args_<name>(parser)`` adds its arguments,
``_run_<name>(args)`` does the work (importing what it needs inside) — and one entry in
:data:`COMMANDS`. To add a subcommand, write those two functions and add the entry.

    neurorl train-teacher --env CartPole-v1 --steps 50000 --seed 0 --out runs/teacher
    neurorl evaluate runs/teacher/teacher.npz --episodes 100     # any checkpoint kind
    neurorl convert runs/teacher/teacher.npz --T 50 --out runs/snn --backend runtime
    neurorl convert runs/teacher/teacher.npz --paper --T 100      # Tan et al.'s variant
    neurorl distill runs/teacher/teacher.npz --tau 5 --hidden 16 --T 8 --out runs/sdn
    neurorl energy runs/sdn/student.npz --profile nc64c --profile loihi
    neurorl demo

Errors a user can cause (a bad file, an unknown key or device, a missing optional package) end
in one line naming what is at fault; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neurorl import NeurorlError
from neurorl.cli_common import chip_reports, parse_sets, positive_int, write_energy_json
from neurorl.cli_recurrent import COMMANDS as RECURRENT_COMMANDS
from neurorl.cli_recurrent import energy_of_marl_agent, energy_of_tap_actor, evaluate_marl


# --------------------------------------------------------------------------------------------
# train-teacher
# --------------------------------------------------------------------------------------------
def _args_train_teacher(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--env",
        default="CartPole-v1",
        help="environment id: CartPole-v1, MinAtar/Breakout, ALE/Pong-v5, …",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="environment steps (default: the preset's, 50000 for classic control)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/teacher", help="output folder")
    p.add_argument("--num-envs", type=int, default=None, help="environment copies stepped together")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="MLP hidden widths")
    p.add_argument("--vanilla", action="store_true", help="plain DQN targets instead of Double DQN")
    p.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="any other DQNConfig field, VALUE in JSON (e.g. --set gamma=0.98)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=5000,
        help="steps between resume checkpoints (state.npz); 0: none",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.npz if present")
    p.add_argument(
        "--eval-episodes",
        type=int,
        default=100,
        help="greedy evaluation episodes after training (0: skip)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_train_teacher(args: argparse.Namespace) -> int:
    from neurorl import plots
    from neurorl.algos import dqn

    overrides = parse_sets(args.set)
    for key, value in (
        ("total_steps", args.steps),
        ("num_envs", args.num_envs),
        ("lr", args.lr),
        ("hidden", args.hidden),
    ):
        if value is not None:
            overrides[key] = value
    if args.vanilla:
        overrides["double_dqn"] = False
    overrides.update(seed=args.seed, checkpoint_every=args.checkpoint_every)
    cfg = dqn.preset_config(args.env, **overrides)
    out = Path(args.out)
    res = dqn.train(cfg, out, resume=args.resume, progress=not args.no_progress)
    curve = plots.plot_learning_curve(
        res.metrics, out / dqn.CURVE_FILE, title=f"DQN on {cfg.env_id}, seed {cfg.seed}",
        evals=res.evals,
    )
    print(f"trained {res.steps} steps in {res.wall_s:.1f} s ({res.steps_per_s:.0f} steps/s)")
    print(f"wrote {out / dqn.TEACHER_FILE}, {out / dqn.METRICS_FILE}, {curve}")
    if args.eval_episodes > 0:
        _report_eval(
            res.q, cfg.env_id, args.eval_episodes, 10_000, 0.0, cfg.env_options, out / "eval.json"
        )
    return 0


# --------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------
def _args_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="any checkpoint neurorl writes: teacher.npz, student.npz, "
                   "snn.npz (neurorl convert --out), spiking_dqn.npz")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=10_000, help="episode i is reset with seed + i")
    p.add_argument("--epsilon", type=float, default=0.0, help="ε-greedy evaluation (0: greedy)")
    p.add_argument("--env", default=None, help="override the environment stored in the file")
    p.add_argument("--json", default=None, help="also write the returns to this JSON file")


def _run_evaluate(args: argparse.Namespace) -> int:
    from neurorl import checkpoint
    from neurorl.algos.checkpoints import load_policy

    if checkpoint.read_header(args.checkpoint)["meta"].get("kind") == "neurorl.marl.agent":
        return evaluate_marl(args)
    loaded = load_policy(args.checkpoint)
    env_id = args.env or loaded.env_id
    if not env_id:
        raise ValueError(f"{args.checkpoint}: no environment stored; pass --env")
    options = loaded.meta.get("config", {}).get("env_options", {}) if not args.env else {}
    print(f"{args.checkpoint}: {loaded.kind}")
    _report_eval(loaded.policy, env_id, args.episodes, args.seed, args.epsilon, options,
                 args.json)
    return 0


def load_teacher_and_env(path: str, env: str | None) -> tuple[Any, str]:
    """A teacher checkpoint and its environment (``env`` overrides the one stored in it)."""
    from neurorl.ann.qnetwork import load_teacher

    q = load_teacher(path)
    env_id = env or q.meta.get("env")
    if not env_id:
        raise ValueError(f"{path}: no environment stored; pass --env")
    return q, env_id


def _report_eval(
    policy: Any,
    env_id: str,
    episodes: int,
    seed: int,
    epsilon: float,
    options: dict[str, Any],
    json_path: str | Path | None,
) -> None:
    from neurorl.rl.evaluate import evaluate

    returns = evaluate(
        policy, env_id, episodes=episodes, seed=seed, epsilon=epsilon, env_options=options,
        progress=True,
    )
    print(
        f"{env_id}: {episodes} episodes (ε = {epsilon}), return mean {returns.mean():.2f} "
        f"± {returns.std():.2f} (min {returns.min():.1f}, max {returns.max():.1f})"
    )
    if json_path:
        Path(json_path).write_text(
            json.dumps(
                {
                    "env": env_id,
                    "episodes": episodes,
                    "seed": seed,
                    "epsilon": epsilon,
                    "mean": float(returns.mean()),
                    "std": float(returns.std()),
                    "returns": returns.tolist(),
                },
                indent=1,
            )
        )


# --------------------------------------------------------------------------------------------
# convert
# --------------------------------------------------------------------------------------------
def _args_convert(p: argparse.ArgumentParser) -> None:
    from neurorl.algos.convert import PAPER, RECIPE
    from neurorl.sim.devices import names

    p.add_argument("checkpoint", help="a teacher.npz written by train-teacher")
    p.add_argument("--T", type=int, default=50,
                   help="simulation steps per decision (the output layer is calibrated for it)")
    p.add_argument(
        "--paper", action="store_true",
        help=f"Tan et al.'s variant ({', '.join(f'{k}={v}' for k, v in PAPER.items())}); "
        "the flags below override it",
    )
    p.add_argument(
        "--percentile", type=float, default=None,
        help="normalisation percentile of each layer's pre-activations (100: max-norm; "
        f"default {RECIPE['percentile']})",
    )
    p.add_argument(
        "--model", default=None,
        help="IF model: if_onset (bias starts when a layer's input arrives; default) or if "
        "(the paper's)",
    )
    p.add_argument(
        "--v-init", type=float, default=None,
        help="initial membrane of the hidden layers, as a fraction of the threshold (default "
        f"{RECIPE['v_init']}; paper: 0)",
    )
    p.add_argument(
        "--per", choices=("layer", "neuron"), default=None,
        help="one normalisation scale per layer (the paper) or per hidden unit/channel "
        f"(default {RECIPE['per']})",
    )
    p.add_argument(
        "--calibrate", action=argparse.BooleanOptionalAction, default=None,
        help="refit the output layer for --T on the normalisation states (least squares on "
        "the hidden layer's spike counts; default on, off with --paper)",
    )
    p.add_argument(
        "--backend", choices=names(), default="kernel",
        help="where the converted network runs (neurorl.sim.devices): kernel (numpy), runtime "
        "(Brian2: batch replay and closed-loop episodes), cpp_standalone (batch replay; returns "
        "from the kernel), ...",
    )
    p.add_argument("--states", type=int, default=15_000, help="states for normalisation")
    p.add_argument(
        "--eval-states", type=int, default=1_000, help="held-out states for the conversion rate"
    )
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", default=None, help="override the environment stored in the file")
    p.add_argument("--out", default=None,
                   help="write the converted network (OUT/snn.npz) and the report "
                   "(OUT/report.json)")
    p.add_argument("--json", default=None, help="also write the report to this JSON file")


def _run_convert(args: argparse.Namespace) -> int:
    from neurorl.algos import convert

    teacher, env_id = load_teacher_and_env(args.checkpoint, args.env)
    recipe = dict(convert.PAPER if args.paper else convert.RECIPE)
    for key, value in (("percentile", args.percentile), ("model", args.model),
                       ("v_init", args.v_init), ("per", args.per), ("calibrated", args.calibrate)):
        if value is not None:
            recipe[key] = value
    report = convert.report(
        teacher,
        env_id,
        T=args.T,
        backend=args.backend,
        n_states=args.states,
        n_eval=args.eval_states,
        episodes=args.episodes,
        seed=args.seed,
        out=args.out,
        meta={"teacher": str(Path(args.checkpoint).resolve())},
        **recipe,
    )
    for key, value in report.items():
        print(f"{key:28s} {value}")
    if args.out:
        print(f"wrote {Path(args.out) / convert.SNN_FILE}, {Path(args.out) / 'report.json'}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------
def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", default="CartPole-v1")


def _run_demo(args: argparse.Namespace) -> int:
    from neurorl import demo

    demo.main(["--out", args.out, "--seed", str(args.seed), "--env", args.env])
    return 0


# --------------------------------------------------------------------------------------------
# distill
# --------------------------------------------------------------------------------------------
def _args_distill(p: argparse.ArgumentParser) -> None:
    """Arguments of ``neurorl distill TEACHER_CHECKPOINT ...``."""
    p.add_argument("teacher", help="a teacher.npz written by `neurorl train-teacher`")
    p.add_argument("--env", default=None, help="environment (default: the teacher's)")
    p.add_argument("--tau", type=float, default=5.0, help="distillation temperature")
    p.add_argument("--hidden", type=int, nargs="+", default=[16], help="LIF hidden widths")
    p.add_argument("--T", type=int, default=8, help="simulation steps per decision")
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    p.add_argument(
        "--target",
        type=float,
        default=None,
        help="early-stop return (default 475; CartPole-v1's solved level)",
    )
    p.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="any other DistillConfig field, VALUE in JSON (e.g. --set batch_size=64)",
    )
    p.add_argument("--out", default="runs/sdn", help="output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_distill(args: argparse.Namespace) -> int:
    """Run ``neurorl distill``: distil, save OUT/student.npz, print the summary."""
    from neurorl.algos.distill import METRICS_FILE, STUDENT_FILE, DistillConfig, distill

    teacher, env_id = load_teacher_and_env(args.teacher, args.env)

    overrides: dict[str, Any] = parse_sets(args.set)
    overrides.update(
        env_id=env_id,
        tau=args.tau,
        hidden=tuple(args.hidden),
        T=args.T,
        max_epochs=args.epochs,
        seed=args.seed,
    )
    if args.lr is not None:
        overrides["lr"] = args.lr
    if args.target is not None:
        overrides["target_return"] = args.target
    cfg = DistillConfig.from_dict(overrides)
    res = distill(teacher, cfg, args.out, progress=not args.no_progress)
    last = res.metrics[-1] if res.metrics else {}
    print(
        f"student {'-'.join(str(h) for h in (res.policy.net.inputs[0].size, *cfg.hidden))}"
        f"-{res.policy.n_actions} LIF, T = {cfg.T}, τ = {cfg.tau}: {res.n_params} parameters "
        f"(teacher {res.teacher_params}, {res.teacher_params / res.n_params:.0f}x fewer)"
    )
    print(
        f"{res.epochs} epochs, {res.env_steps} env steps, {res.wall_s:.1f} s; "
        f"agreement with teacher {last.get('agreement', float('nan')):.3f}; "
        f"greedy return {res.final_return:.1f} over {len(res.final_returns)} episodes; "
        f"reached {cfg.target_return:g} at epoch {res.epochs_to_target}"
    )
    print(f"wrote {Path(args.out) / STUDENT_FILE}, {Path(args.out) / METRICS_FILE}")
    return 0


# --------------------------------------------------------------------------------------------
# energy (`neurorl energy CHECKPOINT --profile nc64c`)
# --------------------------------------------------------------------------------------------
def _args_energy(p: argparse.ArgumentParser) -> None:
    """Arguments of ``neurorl energy`` (argparse parser ``p``); imports nothing heavy."""
    from neurorl.sim.devices import names

    p.add_argument("checkpoint", help="a spiking network checkpoint, or a DQN teacher.npz")
    p.add_argument("--profile", action="append", default=None,
                   help="chip profile name or .toml path (repeatable; default nc64c)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="override a chip profile number, e.g. --set e_sop_pj=5.47")
    p.add_argument("--teacher", default=None,
                   help="the DNN to compare with (default: the checkpoint's 'teacher' entry)")
    p.add_argument("--dnn-profile", action="append", default=None,
                   help="CPU/GPU profile(s) for the DNN (default: cpu_45nm and gpu_a100)")
    p.add_argument("--env", default=None, help="environment of the observations (default: stored)")
    p.add_argument("--samples", type=positive_int, default=64, help="observations (decisions)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="time steps per decision (default: the checkpoint's 'T', else 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-quantize", action="store_true", help="run the float network")
    p.add_argument(
        "--backend", default="runtime", choices=names(),
        help="what runs the network to count its spikes (neurorl.sim.devices): runtime (Brian2, "
        "fixed point or float), or batch work in float (--no-quantize): kernel, "
        "cpp_standalone, genn (counts it under schedule genn), cuda",
    )
    p.add_argument("--json", default=None, help="write the report(s) to this JSON file")


def _run_energy(args: argparse.Namespace) -> int:
    """Run ``neurorl energy``: chip report(s) of a checkpoint's network, next to its DNN."""
    from neurorl import checkpoint, coding
    from neurorl.ann.qnetwork import KIND as TEACHER_KIND
    from neurorl.ann.qnetwork import load_teacher
    from neurorl.hardware.ann import dnn_cost
    from neurorl.hardware.estimate import observations
    from neurorl.network import Network

    meta = checkpoint.read_header(args.checkpoint)["meta"]
    overrides = {key: float(value) for key, value in parse_sets(args.set).items()}
    if meta.get("kind") in ("neurorl.sacd.actor", "neurorl.td3.actor", "neurorl.sac.actor"):
        return energy_of_tap_actor(args, overrides)
    if meta.get("kind") == "neurorl.marl.agent":
        return energy_of_marl_agent(args)
    dnn_profiles = args.dnn_profile or ["cpu_45nm", "gpu_a100"]
    teacher_path = args.teacher or meta.get("teacher")
    teacher = None
    if meta.get("kind") == TEACHER_KIND:
        teacher_path = teacher_path or args.checkpoint
    if teacher_path:
        teacher = load_teacher(teacher_path)
    dnn = [dnn_cost(teacher, p) for p in dnn_profiles] if teacher is not None else []
    out = {"checkpoint": str(args.checkpoint), "dnn": [d.to_dict() for d in dnn], "chips": []}
    if meta.get("kind") != "neurorl.Network":
        if not dnn:
            raise ValueError(
                f"{args.checkpoint}: holds neither a spiking network (Network.save) nor a DQN "
                "teacher"
            )
        for d in dnn:
            print(f"DNN on {d.profile}: {d.macs:,} MACs, {d.total_pj * 1e-6:.4g} µJ per decision")
        print("the checkpoint is a DNN teacher: give a spiking network checkpoint for a chip "
              "report (--teacher names its DNN)")
    else:
        net, meta = Network.load(args.checkpoint)
        env_id = args.env or meta.get("env") or (teacher.meta.get("env") if teacher else None)
        if not env_id:
            raise ValueError(f"{args.checkpoint}: no environment stored; pass --env")
        T = int(args.steps or meta.get("T", 8))
        obs, source = observations(env_id, args.samples, args.seed, teacher)
        inputs = coding.constant_current(obs, T, meta.get("obs_scale"))
        label = f"{Path(args.checkpoint).name} on {env_id} ({source} observations)"
        out["chips"] = chip_reports(args, net, inputs, label, overrides, dnn=dnn,
                                    device=args.backend)
    write_energy_json(args, out)
    return 0


# --------------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------------
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: dict[str, Command] = {
    "train-teacher": ("train a numpy DQN teacher", _args_train_teacher, _run_train_teacher),
    "evaluate": ("evaluate any checkpoint neurorl writes (teacher, student, converted SNN, ...)",
                 _args_evaluate, _run_evaluate),
    "convert": (
        "convert a DQN teacher into a spiking network (Tan et al. 2021)",
        _args_convert,
        _run_convert,
    ),
    "distill": ("distil a spiking student from a DQN teacher (SDN)", _args_distill,
                _run_distill),
    "energy": ("chip latency and energy per decision, next to the DNN", _args_energy, _run_energy),
    "demo": ("the whole pipeline on CartPole in a few minutes", _args_demo, _run_demo),
    **RECURRENT_COMMANDS,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="neurorl", description="spiking RL on Brian2")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_args, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the subcommand; user errors exit 2 with one line."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (NeurorlError, ValueError, FileNotFoundError) as err:  # neurorl's errors (ModelError,
        # CheckpointError, OptionalDependencyError, ...); any other error is a bug and keeps its
        # traceback
        print(f"neurorl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
