"""The ``neurorl`` command (also ``python -m neurorl.cli``).

Each subcommand is two small functions — ``_args_<name>(parser)`` adds its arguments,
``_run_<name>(args)`` does the work (importing what it needs inside) — and one entry in
:data:`COMMANDS`. To add a subcommand, write those two functions and add the entry.

    neurorl train-teacher --env CartPole-v1 --steps 50000 --seed 0 --out runs/teacher
    neurorl evaluate runs/teacher/teacher.npz --episodes 100
    neurorl convert runs/teacher/teacher.npz --percentile 99.9 --T 100 --backend brian2
    neurorl distill runs/teacher/teacher.npz --tau 5 --hidden 16 --T 8 --out runs/sdn
    neurorl energy runs/sdn/student.npz --profile nc64c --profile loihi
    neurorl demo
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


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


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (VALUE in JSON, or a bare string) -> dict; used by every ``--set``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value  # a bare string
    return out


def _run_train_teacher(args: argparse.Namespace) -> int:
    from neurorl import dqn

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
    curve = dqn.plot_learning_curve(
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
    p.add_argument("checkpoint", help="a teacher.npz written by train-teacher")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=10_000, help="episode i is reset with seed + i")
    p.add_argument("--epsilon", type=float, default=0.0, help="ε-greedy evaluation (0: greedy)")
    p.add_argument("--env", default=None, help="override the environment stored in the file")
    p.add_argument("--json", default=None, help="also write the returns to this JSON file")


def _run_evaluate(args: argparse.Namespace) -> int:
    q, env_id = load_teacher_and_env(args.checkpoint, args.env)
    options = q.meta.get("config", {}).get("env_options", {}) if not args.env else {}
    _report_eval(q, env_id, args.episodes, args.seed, args.epsilon, options, args.json)
    return 0


def load_teacher_and_env(path: str, env: str | None) -> tuple[Any, str]:
    """A teacher checkpoint and its environment (``env`` overrides the one stored in it)."""
    from neurorl import dqn

    q = dqn.load_teacher(path)
    env_id = env or q.meta.get("env")
    if not env_id:
        raise ValueError(f"{path}: no environment stored; pass --env")
    return q, env_id


def _report_eval(
    q: Any,
    env_id: str,
    episodes: int,
    seed: int,
    epsilon: float,
    options: dict[str, Any],
    json_path: str | Path | None,
) -> None:
    from neurorl import dqn

    returns = dqn.evaluate(
        q, env_id, episodes=episodes, seed=seed, epsilon=epsilon, env_options=options, progress=True
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
    p.add_argument("checkpoint", help="a teacher.npz written by train-teacher")
    p.add_argument(
        "--percentile",
        type=float,
        default=99.9,
        help="normalisation percentile of each layer's pre-activations (100: max-norm)",
    )
    p.add_argument("--T", type=int, default=100, help="simulation steps per decision")
    p.add_argument(
        "--model",
        default="if_onset",
        help="IF model: if_onset (bias starts when a layer's input arrives) or if (the paper's)",
    )
    p.add_argument(
        "--v-init",
        type=float,
        default=0.5,
        help="initial membrane of the hidden layers, as a fraction of the threshold (paper: 0)",
    )
    p.add_argument(
        "--per",
        choices=("layer", "neuron"),
        default="layer",
        help="one normalisation scale per layer (the paper) or per hidden unit/channel",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="refit the output layer for --T on the normalisation states (least squares on "
        "the hidden layer's spike counts)",
    )
    p.add_argument(
        "--backend",
        choices=("kernel", "brian2", "standalone"),
        default="kernel",
        help="kernel: numpy; brian2: Brian2 runtime (batch replay and closed-loop "
        "episodes); standalone: Brian2 cpp_standalone batch replay",
    )
    p.add_argument("--states", type=int, default=15_000, help="states for normalisation")
    p.add_argument(
        "--eval-states", type=int, default=1_000, help="held-out states for the conversion rate"
    )
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", default=None, help="override the environment stored in the file")
    p.add_argument("--json", default=None, help="also write the report to this JSON file")


def _run_convert(args: argparse.Namespace) -> int:
    from neurorl import convert

    teacher, env_id = load_teacher_and_env(args.checkpoint, args.env)
    report = convert.report(
        teacher,
        env_id,
        percentile=args.percentile,
        T=args.T,
        backend=args.backend,
        n_states=args.states,
        n_eval=args.eval_states,
        episodes=args.episodes,
        seed=args.seed,
        model=args.model,
        v_init=args.v_init,
        per=args.per,
        calibrated=args.calibrate,
    )
    for key, value in report.items():
        print(f"{key:28s} {value}")
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
    from neurorl.distill import add_distill_arguments

    add_distill_arguments(p)


def _run_distill(args: argparse.Namespace) -> int:
    from neurorl.distill import distill_command

    return distill_command(args)

# --------------------------------------------------------------------------------------------
# energy
# --------------------------------------------------------------------------------------------
def _args_energy(p: argparse.ArgumentParser) -> None:
    from neurorl.hardware.report import add_energy_arguments

    add_energy_arguments(p)


def _run_energy(args: argparse.Namespace) -> int:
    from neurorl.hardware.report import energy_command

    return energy_command(args)


# --------------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------------
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: dict[str, Command] = {
    "train-teacher": ("train a numpy DQN teacher", _args_train_teacher, _run_train_teacher),
    "evaluate": ("evaluate a trained teacher", _args_evaluate, _run_evaluate),
    "convert": (
        "convert a DQN teacher into a spiking network (Tan et al. 2021)",
        _args_convert,
        _run_convert,
    ),
    "distill": ("distil a spiking student from a DQN teacher (SDN)", _args_distill,
                _run_distill),
    "energy": ("chip latency and energy per decision, next to the DNN", _args_energy, _run_energy),
    "demo": ("the whole pipeline on CartPole in a few minutes", _args_demo, _run_demo),
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
    except (ValueError, ImportError, FileNotFoundError) as err:  # CheckpointError is a ValueError
        print(f"neurorl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
