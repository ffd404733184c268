"""Train the MinAtar conv DQN teacher (default: Breakout) and draw its learning curve.

    .venv/bin/python scripts/train_minatar_teacher.py --steps 1000000 --seed 0  # full (~30 min)
    .venv/bin/python scripts/train_minatar_teacher.py --quick --out runs/figures-quick
                        # tiny budget (2,000 steps, 3 evaluation episodes; seconds): the same files

``--out`` is ``--figures`` (where the files below go); with ``--quick`` the run folder defaults
to ``OUT/runs`` so that a tiny run never lands in ``runs/``.

Settings: ``neurorl.algos.dqn.PRESETS["minatar"]`` (Young & Tian 2019's batch 32, buffer 100k,
target
every 1000 steps; Adam 2.5e-4, one update every 4 steps, ε 1 → 0.05 over the first 10% of the
run), the MinAtar net (C×10×10 → 16c3s1 → 128 → A), sticky actions 0.1, difficulty ramping.
Episodes are cut at 10,000 steps. Writes into ``figures/``:

* ``minatar_<game>_curve.csv`` — per-episode step, return, length, ε (what the PNG is drawn from)
* ``minatar_<game>_curve.png`` — episode return vs step with a 100-episode running mean
* ``minatar_<game>_summary.json`` — steps, wall time, steps/s, final returns, greedy evaluation
* ``minatar_<game>_teacher.npz`` — the trained Q-network (``neurorl.ann.qnetwork.load_teacher``),
  for the
  conversion and distillation experiments

Resumable: the run checkpoints to ``runs/minatar_<game>/state.npz`` every 50k steps; run the same
command with ``--resume`` to continue an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from neurorl.algos import dqn
from neurorl.plots import plot_learning_curve
from neurorl.rl.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
QUICK = dict(steps=2_000, learning_starts=500, eval_episodes=3)  # --quick: the tiny budget


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--game", default="Breakout", help="Asterix, Breakout, Freeway, Seaquest, …")
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--time-limit-min", type=float, default=None,
                    help="stop training after this many minutes (ε still follows --steps)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-episodes", type=int, default=100)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--figures", "--out", dest="figures", default=str(ROOT / "figures"))
    ap.add_argument("--runs", default=None, help="run folder (default: runs/; --quick: OUT/runs)")
    ap.add_argument("--quick", action="store_true",
                    help=f"tiny budget ({QUICK['steps']:,} steps, learning from step "
                    f"{QUICK['learning_starts']:,}, {QUICK['eval_episodes']} evaluation episodes)")
    a = ap.parse_args()
    if a.runs is None:
        a.runs = str(Path(a.figures) / "runs") if a.quick else str(ROOT / "runs")
    quick = {}
    if a.quick:
        a.steps, a.eval_episodes = QUICK["steps"], QUICK["eval_episodes"]
        quick = dict(learning_starts=QUICK["learning_starts"])

    env_id = f"MinAtar/{a.game}"
    tag = f"minatar_{a.game.lower()}"
    cfg = dqn.preset_config(env_id, total_steps=a.steps, seed=a.seed, checkpoint_every=50_000,
                            env_options={"max_episode_steps": 10_000}, **quick)
    run_dir = Path(a.runs) / tag
    fig_dir = Path(a.figures)
    fig_dir.mkdir(parents=True, exist_ok=True)

    limit = a.time_limit_min * 60 if a.time_limit_min else None
    res = dqn.train(cfg, run_dir, resume=a.resume, time_limit_s=limit)
    shutil.copyfile(run_dir / dqn.METRICS_FILE, fig_dir / f"{tag}_curve.csv")
    plot_learning_curve(res.metrics, fig_dir / f"{tag}_curve.png", window=100,
                            title=f"numpy {'Double ' if cfg.double_dqn else ''}DQN on {env_id} "
                            f"(seed {a.seed}, {res.steps:,} steps)")
    res.q.save(fig_dir / f"{tag}_teacher.npz")
    (run_dir / dqn.STATE_FILE).unlink(missing_ok=True)  # the run is complete

    rets = res.metrics["episode_return"]
    summary = {
        "env": env_id, "seed": a.seed, "steps": res.steps, "wall_s": round(res.wall_s, 1),
        "steps_per_s": round(res.steps_per_s, 1), "episodes": int(len(rets)),
        "mean_return_last_100_episodes": float(np.mean(rets[-100:])) if len(rets) else None,
        "total_steps_planned": a.steps, "config": cfg.__dict__,
    }
    if a.eval_episodes:
        ev = evaluate(res.q, env_id, episodes=a.eval_episodes, env_options=cfg.env_options,
                          progress=True)
        summary.update(eval_episodes=a.eval_episodes, eval_mean=float(ev.mean()),
                       eval_std=float(ev.std()))
    (fig_dir / f"{tag}_summary.json").write_text(json.dumps(summary, indent=1, default=list))
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=1))


if __name__ == "__main__":
    main()
