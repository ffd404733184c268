"""The TAP issue's goal on CartPole-V and CartPole-P: GRSN and GRU reach a greedy return >= 195
(of 200) within 5,000 environment steps on 3 seeds; the memoryless MLP encoder is run on both
(CartPole-V turns out to be solvable without memory at the 200-step cap: the linear rule
a = [pole angular velocity + 0.1 x cart velocity > 0] scores 200 on 20 of 20 episodes).

    .venv/bin/python scripts/tap_goal.py                       # 3 seeds x {V, P} x
                                                               # {grsn, gru, mlp} (~1 h, 2 cores)
    .venv/bin/python scripts/tap_goal.py --quick --out DIR     # 3 tiny runs of 300 steps

Each run is ``neurorl train-tap`` (recurrent SAC-discrete, the authors' CartPole settings, a
greedy evaluation of 10 episodes every 250 steps; GRSN and GRU runs stop at their first
evaluation >= 195, the MLP runs the whole budget) in a subprocess, ``--jobs`` at a time, into
``RUNS/tap_goal/<env>_<encoder>_s<seed>``; a run that finished before is read back, not
repeated. Writes ``OUT/tap_goal.csv`` (every greedy evaluation:
env, encoder, seed, step, return) and ``OUT/tap_goal.png`` (return against steps, one line per
seed), and prints per env and encoder the steps to the first evaluation >= 195 per seed.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurorl.plots import pyplot, save, write_csv  # noqa: E402

GOAL = 195.0


QUICK = ["--set", "hidden=32", "--set", "batch_size=8", "--set", "seq_len=16"]


def runs(quick: bool) -> list[tuple[str, str, int]]:
    if quick:
        return [("CartPole-V", "grsn", 0), ("CartPole-P", "gru", 0), ("CartPole-V", "mlp", 0)]
    seeds = [0, 1, 2]
    grid = [(env, enc, s) for env in ("CartPole-V", "CartPole-P") for enc in ("grsn", "gru")
            for s in seeds]
    return grid + [(env, "mlp", s) for env in ("CartPole-V", "CartPole-P") for s in seeds]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5_000)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=str(ROOT / "figures"))
    p.add_argument("--runs", default=None, help="run folders (default: runs/, or OUT/runs)")
    a = p.parse_args()
    steps = 300 if a.quick else a.steps
    eval_every = 150 if a.quick else a.eval_every
    out = Path(a.out)
    base = Path(a.runs) if a.runs else (out / "runs" if a.quick else ROOT / "runs")
    todo, running = [], []
    for env, enc, seed in runs(a.quick):
        folder = base / "tap_goal" / f"{env}_{enc}_s{seed}"
        if not (folder / "evals.csv").exists():
            todo.append((folder, [sys.executable, "-m", "neurorl.cli", "train-tap", "--env", env,
                                  "--encoder", enc, "--steps", str(steps), "--seed", str(seed),
                                  "--out", str(folder), "--checkpoint-every", "1000",
                                  "--resume", "--no-progress", "--set",
                                  f"eval_every={eval_every}",
                                  *([] if enc == "mlp" else ["--set", f"stop_at_return={GOAL}"]),
                                  *(QUICK if a.quick else [])]))
    started = time.perf_counter()
    while todo or running:
        while todo and len(running) < a.jobs:
            folder, cmd = todo.pop(0)
            folder.mkdir(parents=True, exist_ok=True)
            print(f"start {folder.name}", flush=True)
            log = open(folder / "log.txt", "w")
            running.append((folder, subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)))
        for folder, proc in list(running):
            if proc.poll() is not None:
                running.remove((folder, proc))
                status = "done" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
                print(f"{status} {folder.name} at {time.perf_counter() - started:.0f} s",
                      flush=True)
        time.sleep(1)
    rows = []
    for env, enc, seed in runs(a.quick):
        with open(base / "tap_goal" / f"{env}_{enc}_s{seed}" / "evals.csv") as fh:
            for r in csv.DictReader(fh):
                rows.append({"env": env, "encoder": enc, "seed": seed, "step": int(r["step"]),
                             "greedy_return": float(r["mean_greedy_return"])})
    write_csv(out / "tap_goal.csv", rows, float_format=None)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    colours = {"grsn": "tab:red", "gru": "tab:blue", "mlp": "tab:gray"}
    for ax, env in zip(axes, ("CartPole-V", "CartPole-P"), strict=True):
        for (e, enc, seed) in runs(a.quick):
            if e != env:
                continue
            mine = [r for r in rows if (r["env"], r["encoder"], r["seed"]) == (env, enc, seed)]
            ax.plot([r["step"] for r in mine], [r["greedy_return"] for r in mine], "o-", ms=3,
                    color=colours[enc], alpha=0.8, label=f"{enc}" if seed == 0 else None)
        ax.axhline(GOAL, color="k", lw=0.8, ls=":")
        ax.set(title=env, xlabel="environment steps", ylabel="greedy return (10 episodes)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out / "tap_goal.png")
    for env, enc in sorted({(e, n) for e, n, _ in runs(a.quick)}):
        first = []
        for seed in sorted({s for e, n, s in runs(a.quick) if (e, n) == (env, enc)}):
            hit = [r["step"] for r in rows if (r["env"], r["encoder"], r["seed"]) ==
                   (env, enc, seed) and r["greedy_return"] >= GOAL]
            best = max(r["greedy_return"] for r in rows
                       if (r["env"], r["encoder"], r["seed"]) == (env, enc, seed))
            first.append(f"seed {seed}: {hit[0] if hit else 'never'} (best {best:.1f})")
        print(f"{env} {enc}: first greedy evaluation >= {GOAL:g} at " + "; ".join(first))
    print(f"wrote {out / 'tap_goal.csv'}, {out / 'tap_goal.png'}")


if __name__ == "__main__":
    main()
