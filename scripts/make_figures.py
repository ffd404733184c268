"""Regenerate every figure of figures/ from its script (``make figures``), or run every figure
script on a tiny budget into a scratch folder (``make figures-quick``) so that none can rot.

    .venv/bin/python scripts/make_figures.py                 # full run into figures/ (hours)
    .venv/bin/python scripts/make_figures.py --quick         # tiny budget into runs/figures-quick
    .venv/bin/python scripts/make_figures.py --dry-run       # print the commands, run nothing

Each step is a subprocess with this Python, run from the repository root, in this order (a
failing step stops the run, and make_figures exits 1 naming its script). The full run is, with
OUT = figures and RUNS = runs:

    python -m neurorl.cli train-teacher --env CartPole-v1 --seed 0 --out RUNS/teacher
    python -m neurorl.cli train-teacher --env CartPole-v1 --seed 0 --set double_dqn=true \\
        --out RUNS/teacher_double
    python -m neurorl.cli train-teacher --env CartPole-v1 --seed 0 --set dueling=true \\
        --hidden 2048 --set advantage_learning=0.9 --out RUNS/teacher_dueling
    python -m neurorl.cli distill RUNS/teacher/teacher.npz --seed 0 --out RUNS/sdn
    python scripts/train_minatar_teacher.py --steps 1000000 --seed 0 --out OUT --runs RUNS
    python scripts/fig_conversion.py --out OUT --cartpole RUNS/teacher/teacher.npz \\
        RUNS/teacher_double/teacher.npz --variants ours
    python scripts/fig_conversion.py --out OUT --cartpole RUNS/teacher_dueling/teacher.npz \\
        --variants neuron
    python scripts/fig_conversion.py --out OUT --cartpole RUNS/teacher_dueling/teacher.npz \\
        --variants calibrated --T 5 10 20 50 100 200 --percentiles 99.99 100
    python scripts/fig_conversion.py --out OUT --cartpole \\
        --minatar OUT/minatar_breakout_teacher.npz --variants ours
    python scripts/fig_conversion.py --out OUT --runs RUNS --seed-table 0 1 2 3 4
    python scripts/fig_conversion.py --out OUT --runs RUNS --goal-check 0 1 2 3 4
    python scripts/fig_sdn.py --out OUT          # trains its teacher (RUNS/teacher's config)
    python scripts/fig_energy.py --out OUT --teacher RUNS/teacher/teacher.npz \\
        --student RUNS/sdn/student.npz
    python scripts/tap_goal.py --out OUT --runs RUNS
    python scripts/fig_tap.py --run --chips --out OUT --runs RUNS/tap_table
    python scripts/fig_marl.py --run --out OUT --runs RUNS/marl_study

The first four steps train the inputs of the figures (teachers, the SDN student), not figures:
in the full run they are skipped when their checkpoint exists (``--retrain`` trains them again).

``--quick`` runs the same scripts on their tiny budgets (each script's ``--quick``, fig_sdn's
``--tiny``; each script's docstring gives its own) into ``--out`` (default
runs/figures-quick), with RUNS = OUT/runs, so that nothing in figures/ or runs/ is touched:
one 2,000-step CartPole teacher (no double/dueling ones), a 2-epoch student, and the figure
scripts as above (the CartPole sweep with ``--variants ours calibrated``, the MinAtar sweep,
``--seed-table 0``, ``--goal-check 0``). Each writes the same PNG/CSV/JSON files as its full
run; make_figures checks that every promised file exists and is non-empty (``QUICK_OUTPUTS``,
which tests/test_figures.py checks too). It takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLI = ["-m", "neurorl.cli"]
TEACHER = "{runs}/teacher/teacher.npz"
STUDENT = "{runs}/sdn/student.npz"
MINATAR = "{out}/minatar_breakout_teacher.npz"
TINY_TEACHER = ["--steps", "2000", "--eval-episodes", "3", "--checkpoint-every", "0",
                "--no-progress"]
TINY_STUDENT = ["--epochs", "2", "--set", "initial_steps=500", "--set", "steps_per_epoch=250",
                "--set", "eval_episodes=2", "--set", "final_eval_episodes=3", "--no-progress"]


@dataclass(frozen=True)
class Step:
    """One subprocess: ``full`` / ``quick`` are its arguments after the Python executable
    (``{out}``, ``{runs}`` filled in; ``quick=None``: not run by --quick); ``outputs`` the
    files it promises (relative to the repository root after formatting); ``skip_if``: in the
    full run, a file whose existence skips the step (unless --retrain)."""

    name: str
    full: list[str]
    quick: list[str] | None
    outputs: tuple[str, ...] = ()
    skip_if: str | None = None


def train_teacher(out: str, *args: str) -> list[str]:
    return [*CLI, "train-teacher", "--env", "CartPole-v1", "--seed", "0", *args, "--out", out]


CONVERSION = "scripts/fig_conversion.py"
STEPS = [
    Step("CartPole teacher", train_teacher("{runs}/teacher"),
         train_teacher("{runs}/teacher", *TINY_TEACHER), (TEACHER,), skip_if=TEACHER),
    Step("CartPole double-DQN teacher",
         train_teacher("{runs}/teacher_double", "--set", "double_dqn=true"), None,
         ("{runs}/teacher_double/teacher.npz",), skip_if="{runs}/teacher_double/teacher.npz"),
    Step("CartPole conversion teacher (dueling, advantage learning)",
         train_teacher("{runs}/teacher_dueling", "--set", "dueling=true", "--hidden", "2048",
                       "--set", "advantage_learning=0.9"), None,
         ("{runs}/teacher_dueling/teacher.npz",), skip_if="{runs}/teacher_dueling/teacher.npz"),
    Step("SDN student", [*CLI, "distill", TEACHER, "--seed", "0", "--out", "{runs}/sdn"],
         [*CLI, "distill", TEACHER, "--seed", "0", *TINY_STUDENT, "--out", "{runs}/sdn"],
         (STUDENT,), skip_if=STUDENT),
    Step("MinAtar Breakout teacher",
         ["scripts/train_minatar_teacher.py", "--steps", "1000000", "--seed", "0",
          "--out", "{out}", "--runs", "{runs}"],
         ["scripts/train_minatar_teacher.py", "--quick", "--out", "{out}", "--runs", "{runs}"],
         tuple(f"{{out}}/minatar_breakout_{f}" for f in
               ("curve.csv", "curve.png", "summary.json", "teacher.npz"))),
    Step("conversion: CartPole teachers",
         [CONVERSION, "--out", "{out}", "--cartpole", TEACHER,
          "{runs}/teacher_double/teacher.npz", "--variants", "ours"],
         [CONVERSION, "--quick", "--out", "{out}", "--cartpole", TEACHER,
          "--variants", "ours", "calibrated"],
         ("{out}/conversion.csv", "{out}/conversion.png")),
    Step("conversion: dueling teacher, per-neuron scales",
         [CONVERSION, "--out", "{out}", "--cartpole", "{runs}/teacher_dueling/teacher.npz",
          "--variants", "neuron"], None, ("{out}/conversion.csv", "{out}/conversion.png")),
    Step("conversion: dueling teacher, calibrated",
         [CONVERSION, "--out", "{out}", "--cartpole", "{runs}/teacher_dueling/teacher.npz",
          "--variants", "calibrated", "--T", "5", "10", "20", "50", "100", "200",
          "--percentiles", "99.99", "100"], None,
         ("{out}/conversion.csv", "{out}/conversion.png")),
    Step("conversion: MinAtar Breakout",
         [CONVERSION, "--out", "{out}", "--cartpole", "--minatar", MINATAR, "--variants", "ours"],
         [CONVERSION, "--quick", "--out", "{out}", "--cartpole", "--minatar", MINATAR,
          "--variants", "ours"],
         ("{out}/conversion.csv", "{out}/conversion.png")),
    Step("conversion: seed table",
         [CONVERSION, "--out", "{out}", "--runs", "{runs}", "--seed-table", "0", "1", "2", "3",
          "4"],
         [CONVERSION, "--quick", "--out", "{out}", "--runs", "{runs}", "--seed-table", "0"],
         ("{out}/conversion_seeds.csv",)),
    Step("conversion: 99 % goal check",
         [CONVERSION, "--out", "{out}", "--runs", "{runs}", "--goal-check", "0", "1", "2", "3",
          "4"],
         [CONVERSION, "--quick", "--out", "{out}", "--runs", "{runs}", "--goal-check", "0"],
         ("{out}/conversion_goal.csv",)),
    Step("SDN",
         ["scripts/fig_sdn.py", "--out", "{out}"],  # trains its own teacher (as RUNS/teacher)
         ["scripts/fig_sdn.py", "--tiny", "--out", "{out}", "--teacher", TEACHER],
         tuple(f"{{out}}/sdn_{f}" for f in ("convergence.png", "convergence.csv",
                                            "summary.csv", "sweeps.png", "sweeps.csv",
                                            "brian2.json", "note.md"))),
    Step("energy",
         ["scripts/fig_energy.py", "--out", "{out}", "--teacher", TEACHER, "--student", STUDENT],
         ["scripts/fig_energy.py", "--quick", "--out", "{out}", "--teacher", TEACHER,
          "--student", STUDENT],
         tuple(f"{{out}}/energy{f}" for f in (".png", ".csv", ".json", "_note.md"))),
    Step("TAP goal: GRSN / GRU / MLP on CartPole-V and -P (recurrent SAC-discrete)",
         ["scripts/tap_goal.py", "--out", "{out}", "--runs", "{runs}"],
         ["scripts/tap_goal.py", "--quick", "--out", "{out}", "--runs", "{runs}"],
         ("{out}/tap_goal.csv", "{out}/tap_goal.png")),
    Step("TAP study table: every encoder on the POMDP blocks, through neurorl sweep",
         ["scripts/fig_tap.py", "--run", "--chips", "--out", "{out}", "--runs",
          "{runs}/tap_table"],
         ["scripts/fig_tap.py", "--quick", "--chips", "--out", "{out}", "--runs",
          "{runs}/tap_table"],
         tuple(f"{{out}}/tap_{f}" for f in ("table.csv", "curves.csv", "curves.png",
                                            "scores.csv", "scores.png", "random.csv",
                                            "energy.csv", "energy.png", "energy_chips.csv"))),
    Step("MARL study: GRSN and GRU agents with IQL, VDN and QMIX, through neurorl sweep",
         ["scripts/fig_marl.py", "--run", "--out", "{out}", "--runs", "{runs}/marl_study"],
         ["scripts/fig_marl.py", "--quick", "--out", "{out}", "--runs", "{runs}/marl_study"],
         tuple(f"{{out}}/marl_{f}" for f in ("table.csv", "curves.csv", "curves.png",
                                             "energy.csv", "energy.png"))),
]
# the figure files every quick run writes into OUT (tests/test_figures.py checks them too)
QUICK_OUTPUTS = sorted({f.removeprefix("{out}/") for s in STEPS if s.quick for f in s.outputs
                        if f.startswith("{out}/") and not f.endswith(".npz")})


def fill(args: list[str], out: str, runs: str) -> list[str]:
    return [a.format(out=out, runs=runs) for a in args]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="each script on its tiny budget, into --out (default runs/figures-quick)")
    p.add_argument("--out", default=None,
                   help="where the figures go (default: figures; --quick: runs/figures-quick)")
    p.add_argument("--runs", default=None,
                   help="teachers' and student's folder (default: runs; --quick: OUT/runs)")
    p.add_argument("--retrain", action="store_true",
                   help="full run: train the teachers and the student even if they exist")
    p.add_argument("--only", nargs="+", metavar="WORD", default=None,
                   help="only the steps whose name contains one of these words")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = p.parse_args(argv)
    out = args.out or ("runs/figures-quick" if args.quick else "figures")
    runs = args.runs or (str(Path(out) / "runs") if args.quick else "runs")
    steps = [s for s in STEPS if (s.quick if args.quick else s.full) is not None]
    if args.only:
        steps = [s for s in steps if any(w.lower() in s.name.lower() for w in args.only)]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    times: list[tuple[str, float, str]] = []
    t_all = time.perf_counter()
    for i, step in enumerate(steps, 1):
        cmd = [sys.executable, *fill(step.quick if args.quick else step.full, out, runs)]
        script = " ".join(cmd[1:4]) if cmd[1] == "-m" else cmd[1]
        head = f"[{i}/{len(steps)}] {step.name}"
        skip = step.skip_if and not args.quick and not args.retrain \
            and (ROOT / fill([step.skip_if], out, runs)[0]).exists()
        if skip:
            print(f"{head}: {fill([step.skip_if], out, runs)[0]} exists, skipped", flush=True)
            times.append((step.name, 0.0, "skipped"))
            continue
        print(f"{head}: {shlex.join(['python', *cmd[1:]])}", flush=True)
        if args.dry_run:
            continue
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        wall = time.perf_counter() - t0
        missing = [f for f in fill(list(step.outputs), out, runs)
                   if not (ROOT / f).is_file() or (ROOT / f).stat().st_size == 0]
        if rc != 0 or missing:
            why = f"exit status {rc}" if rc else f"missing or empty: {', '.join(missing)}"
            print(f"make_figures: FAILED at step {i}/{len(steps)} ({step.name}): {script} "
                  f"({why}) after {wall:.1f} s", file=sys.stderr, flush=True)
            return 1
        print(f"{head}: done in {wall:.1f} s", flush=True)
        times.append((step.name, wall, "ok"))
    if args.dry_run:
        return 0
    total = time.perf_counter() - t_all
    print(f"\nmake_figures{' --quick' if args.quick else ''}: {len(steps)} steps in {total:.1f} s "
          f"into {out}/")
    for name, wall, state in times:
        print(f"  {wall:8.1f} s  {name}{'' if state == 'ok' else f' ({state})'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
