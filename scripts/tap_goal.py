"""The TAP issue's goal on CartPole-V and CartPole-P: GRSN and GRU reach a greedy return >= 195
(of 200) within 5,000 environment steps on 3 seeds; the memoryless MLP encoder is run on both
(CartPole-V turns out to be solvable without memory at the 200-step cap: the linear rule
a = [pole angular velocity + 0.1 x cart velocity > 0] scores 200 on 20 of 20 episodes).

    .venv/bin/python scripts/tap_goal.py                       # 3 seeds x {V, P} x
                                                               # {grsn, gru, mlp} (~1 h, 2 cores)
    .venv/bin/python scripts/tap_goal.py --quick --out DIR     # 3 tiny runs of 300 steps

Each run is a ``neurorl train-tap`` run (recurrent SAC-discrete, the authors' CartPole settings, a
greedy evaluation of 10 episodes every 250 steps; GRSN and GRU runs stop at their first
evaluation >= 195, the MLP runs the whole budget), all of them one ``neurorl sweep``
(:func:`neurorl.sweep.build`; Dask workers, ``--workers``) into ``RUNS/tap_goal/runs/<id>``; a
run that finished before is read back, not repeated, and an interrupted one resumes. Writes
``OUT/tap_goal.csv`` (every greedy evaluation: env, encoder, seed, step, return) and
``OUT/tap_goal.png`` (return against steps, one line per seed), and prints per env and encoder
the steps to the first evaluation >= 195 per seed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurorl import sweep  # noqa: E402
from neurorl.plots import pyplot, save, write_csv  # noqa: E402

GOAL = 195.0


QUICK = {"hidden": 32, "batch_size": 8, "seq_len": 16}
ENVS = ["CartPole-V", "CartPole-P"]


def goal_sweep(steps: int, eval_every: int, quick: bool, out: Path) -> sweep.Sweep:
    """GRSN and GRU stop at the goal; the MLP runs the whole budget. Quick: 3 tiny runs."""
    base = {"total_steps": steps, "eval_every": eval_every, "checkpoint_every": 1000,
            **(QUICK if quick else {})}
    seeds = [0] if quick else [0, 1, 2]
    if quick:
        grid = [{"env_id": "CartPole-V", "encoder": "grsn", "seed": 0, "stop_at_return": GOAL},
                {"env_id": "CartPole-P", "encoder": "gru", "seed": 0, "stop_at_return": GOAL},
                {"env_id": "CartPole-V", "encoder": "mlp", "seed": 0}]
    else:
        grid = [{"env_id": ENVS, "encoder": ["grsn", "gru"], "seed": seeds,
                 "stop_at_return": GOAL},
                {"env_id": ENVS, "encoder": "mlp", "seed": seeds}]
    return sweep.build("tap_goal", grid, base=base, out=out, source="tap_goal.py")


def runs(spec: sweep.Sweep) -> list[tuple[str, str, int, Path]]:
    return [(r.config["env_id"], r.config["encoder"], r.config["seed"], spec.run_dir(r))
            for r in spec.runs]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5_000)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=str(ROOT / "figures"))
    p.add_argument("--runs", default=None, help="run folders (default: runs/, or OUT/runs)")
    a = p.parse_args()
    steps = 300 if a.quick else a.steps
    eval_every = 150 if a.quick else a.eval_every
    out = Path(a.out)
    base = Path(a.runs) if a.runs else (out / "runs" if a.quick else ROOT / "runs")
    spec = goal_sweep(steps, eval_every, a.quick, base / "tap_goal")
    res = sweep.run_sweep(spec, workers=a.workers)
    print(f"{len(res.finished)} runs finished now, {len(res.skipped)} before ({res.where})")
    if res.failed:
        raise SystemExit(f"failed runs: {res.failed}")
    done = runs(spec)
    rows = []
    for env, enc, seed, folder in done:
        with open(folder / "evals.csv") as fh:
            for r in csv.DictReader(fh):
                rows.append({"env": env, "encoder": enc, "seed": seed, "step": int(r["step"]),
                             "greedy_return": float(r["mean_greedy_return"])})
    write_csv(out / "tap_goal.csv", rows, float_format=None)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    colours = {"grsn": "tab:red", "gru": "tab:blue", "mlp": "tab:gray"}
    for ax, env in zip(axes, ("CartPole-V", "CartPole-P"), strict=True):
        for (e, enc, seed, _) in done:
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
    for env, enc in sorted({(e, n) for e, n, _, _ in done}):
        first = []
        for seed in sorted({s for e, n, s, _ in done if (e, n) == (env, enc)}):
            hit = [r["step"] for r in rows if (r["env"], r["encoder"], r["seed"]) ==
                   (env, enc, seed) and r["greedy_return"] >= GOAL]
            best = max(r["greedy_return"] for r in rows
                       if (r["env"], r["encoder"], r["seed"]) == (env, enc, seed))
            first.append(f"seed {seed}: {hit[0] if hit else 'never'} (best {best:.1f})")
        print(f"{env} {enc}: first greedy evaluation >= {GOAL:g} at " + "; ".join(first))
    print(f"wrote {out / 'tap_goal.csv'}, {out / 'tap_goal.png'}")


if __name__ == "__main__":
    main()
