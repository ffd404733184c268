"""The GRSN study side by side with the authors' code: their ``RecurrentLIF`` and GRU agents
trained by their own ``experiments/train.py`` against neurorl's ``grsn_input_gated`` and ``gru``
encoders on the same tasks, seeds and budgets (issue [grsn-study] item 4).

What runs
---------
* the authors' side: ``experiments/train.py --env CartPole-V-v0 --model_type snn --snn_type
  RecurrentLIF --algo sacd --seed S --cuda -1`` (and ``--model_type rnn --encoder gru``), with
  their ``configs/pomdp/<task>/v/rnn.yml`` but ``num_iters`` set for the budget (their run is
  200 × (5 initial + num_iters) environment steps: 45 iterations for 10k steps on CartPole-V,
  245 for 50k on Pendulum-V, whose config trains SAC); torch CPU with ``OMP_NUM_THREADS`` =
  ``--peer-threads`` (1: the faster count for their update on this machine, see bench_tap.py).
  Their greedy evaluation (10 episodes) runs every 5 iterations, about every 1,000 steps;
* neurorl's side: the same cells of ``scripts/sweeps/tap_{cartpole,pendulum}.toml`` (the
  study's table runs, evaluation every 500 / 1,000 steps), read from ``--neurorl-runs`` (default
  results/tap_table) and run there first with ``--run-neurorl`` (through ``neurorl sweep``).

Per task and encoder: seeds finished, the final return (mean of the last 5 evaluations; mean
and spread over seeds), the first evaluated step at ≥ 195 on CartPole-V, the training wall
time and the ratio of wall times. Writes ``OUT/tap_peer.csv`` and ``OUT/tap_peer.png`` (learning
curves of both sides); every peer run keeps its stdout in ``RUNS/<task>_<encoder>_s<seed>/``
and a finished one (``result.json``) is not run again.

Changed in the peer's scratch copy, nothing else: the Python < 3.10 import in
``grsn/utils/logger.py`` (as bench_tap.py) and, in the copied config, ``num_iters`` and, for
SAC (Pendulum), ``sac.target_entropy: null``. Their Pendulum yaml gives ``target_entropy: 0.7``
(the SAC-discrete ratio of their CartPole yaml), which their continuous SAC takes literally as
H_target = +0.7 nats; a tanh-squashed action on [-1, 1] has at most log 2 = 0.69 nats, so α
grows without bound and the policy stays near uniform (their GRU with the yaml as shipped:
-1,132 after 29k of 50k steps, ``results/tap_peer/shipped_config/``). ``null`` gives their
SAC's own default, H_target = -(action size), the value neurorl's SAC uses. ``--shipped-config``
runs the yaml as shipped, into ``RUNS/shipped_config/``.

    .venv/bin/python benchmarks/bench_tap_peer.py --tasks CartPole-V --seeds 0 1 2
    .venv/bin/python benchmarks/bench_tap_peer.py --quick        # 1 seed, 1,200 steps, CartPole-V
    .venv/bin/python benchmarks/bench_tap_peer.py --finished-only  # redraw, start nothing
    .venv/bin/python benchmarks/bench_tap_peer.py --tasks Pendulum-V --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_tap import PEER_PYTHON, prepare_peer_src  # noqa: E402

from neurorl import sweep  # noqa: E402
from neurorl.plots import pyplot, save, write_csv  # noqa: E402

TASKS = {  # neurorl id: (their env id, their config, neurorl sweep block, budget)
    "CartPole-V": ("CartPole-V-v0", "configs/pomdp/cartpole/v/rnn.yml", "cartpole", 10_000),
    "Pendulum-V": ("Pendulum-V-v0", "configs/pomdp/pendulum/v/rnn.yml", "pendulum", 50_000),
}
PAIRS = {"grsn_input_gated": ["--model_type", "snn", "--snn_type", "RecurrentLIF"],
         "gru": ["--model_type", "rnn", "--encoder", "gru"]}
PEER_NAMES = {"grsn_input_gated": "RecurrentLIF", "gru": "GRU"}
STEP_LINE = re.compile(r"^Step (\d+): Average return = (-?[\d.]+(?:e[-+]?\d+)?)")
TIME_LINE = re.compile(r"^Training completed! Total time: ([\d.]+)s")
SOLVED = 195.0


def peer_config(text: str, iters: int, algo: str, shipped: bool, source: str = "config") -> str:
    """The authors' yaml ``text`` (read from ``source``) with ``num_iters`` set to ``iters`` and,
    for ``algo`` "sac" unless ``shipped``, ``sac.target_entropy`` set to null (see the module's
    docstring)."""
    text, found = re.subn(r"num_iters: *\d+", f"num_iters: {iters}", text, count=1)
    if not found:
        raise ValueError(f"{source} has no 'num_iters:' line to set")
    if algo == "sac" and not shipped:
        text, found = re.subn(r"(\n  sac:\n(?:    .*\n)*?    target_entropy:)[^\n]*",
                              r"\1 null", text, count=1)
        if not found:
            raise ValueError(f"{source} has no 'target_entropy:' line in its 'sac:' block")
    return text


def peer_run(src: Path, task: str, encoder: str, seed: int, steps: int, threads: int,
             run_dir: Path, shipped: bool = False) -> dict:
    """One run of the authors' train.py (or its earlier result); returns evals, wall time and
    the CPU model it ran on (``sweep.cpu_model``; runs made before it was recorded lack it)."""
    result = run_dir / "result.json"
    if result.exists():
        return json.loads(result.read_text())
    env_id, config, _, _ = TASKS[task]
    run_dir.mkdir(parents=True, exist_ok=True)
    iters = max(1, steps // 200 - 5)
    algo = "sacd" if task.startswith("CartPole") else "sac"
    cfg = run_dir / "config.yml"
    cfg.write_text(peer_config((src / config).read_text(), iters, algo, shipped,
                               str(src / config)))
    cmd = [str(PEER_PYTHON), "experiments/train.py", "--env", env_id, *PAIRS[encoder],
           "--algo", algo, "--seed", str(seed), "--cuda", "-1", "--config", str(cfg)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    with open(run_dir / "stdout.txt", "w") as log:
        proc = subprocess.run(cmd, cwd=src, stdout=log, stderr=subprocess.STDOUT, env=env,
                              check=False)
    wall = time.perf_counter() - t0
    lines = (run_dir / "stdout.txt").read_text().splitlines()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {proc.returncode}):\n"
                           + "\n".join(lines[-20:]))
    evals = [(int(m[1]), float(m[2])) for m in map(STEP_LINE.match, lines) if m]
    train_s = next((float(m[1]) for m in map(TIME_LINE.match, lines) if m), wall)
    out = {"task": task, "encoder": encoder, "seed": seed, "steps": steps, "iters": iters,
           "evals": evals, "train_s": train_s, "process_s": wall, "threads": threads,
           "cpu": sweep.cpu_model(), "command": " ".join(cmd)}
    result.write_text(json.dumps(out, indent=1))
    return out


def neurorl_runs(runs: Path, task: str, encoder: str, seeds: list[int], run: bool,
                 quick: bool) -> list[dict]:
    """neurorl's runs of the same cell, from the study's sweep folders (run them first with
    ``run``)."""
    _, _, block, steps = TASKS[task]
    overrides = {"total_steps": 1_200} if quick else None
    spec = sweep.load_spec(ROOT / "scripts" / "sweeps" / f"tap_{block}.toml",
                           out=runs / block, overrides=overrides)
    spec.runs = [r for r in spec.runs if r.config["env_id"] == task
                 and r.config["encoder"] == encoder and r.config["seed"] in seeds]
    if run:
        sweep.run_sweep(spec, progress=False)
    out = []
    for r in spec.runs:
        summary_path = spec.run_dir(r) / sweep.SUMMARY_FILE
        if not summary_path.exists():
            continue
        summary = json.loads(summary_path.read_text())
        lines = (spec.run_dir(r) / "evals.csv").read_text().splitlines()[1:]
        evals = [(int(s), float(v)) for s, v in (line.split(",") for line in lines)]
        out.append({"seed": r.config["seed"], "evals": evals, "train_s": summary["wall_s"]})
    return out


def summarise(side: str, task: str, encoder: str, runs: list[dict]) -> dict:
    finals = [sweep.final_return([v for _, v in r["evals"]]) for r in runs if r["evals"]]
    solved = [next((s for s, v in r["evals"] if v >= SOLVED), None) for r in runs]
    solved = [s for s in solved if s is not None]
    return {"task": task, "encoder": encoder, "side": side,
            "name": PEER_NAMES[encoder] if side == "authors" else encoder, "seeds": len(runs),
            "final_return_mean": float(np.mean(finals)) if finals else float("nan"),
            "final_return_std": float(np.std(finals)) if finals else float("nan"),
            "first_step_at_195_mean": float(np.mean(solved)) if solved else float("nan"),
            "seeds_at_195": len(solved),
            "train_s_mean": float(np.mean([r["train_s"] for r in runs])) if runs
            else float("nan")}


def draw(curves: dict, path: Path) -> None:
    plt = pyplot()
    keys = sorted({(t, e) for t, e, _ in curves})
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 3.6), squeeze=False)
    for ax, (task, enc) in zip(axes[0], keys, strict=True):
        for side, color in (("authors", "tab:red"), ("neurorl", "tab:blue")):
            for k, run in enumerate(curves.get((task, enc, side), [])):
                if run["evals"]:
                    x, y = zip(*run["evals"], strict=True)
                    ax.plot(x, y, color=color, alpha=0.8, lw=1.2, marker="o", ms=2.5,
                            label=(PEER_NAMES[enc] + " (authors)" if side == "authors"
                                   else enc + " (neurorl)") if k == 0 else None)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("greedy return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("the authors' train.py against neurorl on the same budget (one line per seed)")
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    p.add_argument("--encoders", nargs="+", choices=list(PAIRS), default=list(PAIRS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--peer-threads", type=int, default=1)
    p.add_argument("--peer-src", default=None, help="the authors' folder (default: unpack the "
                   "snapshot ../shared/peers/grsn-snn-ce7ecdd.tar.gz)")
    p.add_argument("--runs", default=None, help="peer run folders (default results/tap_peer)")
    p.add_argument("--neurorl-runs", default=None, help="default results/tap_table")
    p.add_argument("--run-neurorl", action="store_true", help="run neurorl's cells first")
    p.add_argument("--out", default=None, help="default figures")
    p.add_argument("--quick", action="store_true", help="1 seed, 1,200 steps, CartPole-V")
    p.add_argument("--shipped-config", action="store_true", help="the authors' yaml as "
                   "shipped (SAC's target entropy +0.7), runs in RUNS/shipped_config")
    p.add_argument("--finished-only", action="store_true",
                   help="start no run: the table and figure from the runs that have finished")
    args = p.parse_args(argv)
    if args.quick:
        args.tasks, args.seeds, args.run_neurorl = ["CartPole-V"], args.seeds[:1], True
    out = Path(args.out or (ROOT / "runs" / "tap_peer_quick" if args.quick else ROOT / "figures"))
    runs = Path(args.runs or (out / "runs" if args.quick else ROOT / "results" / "tap_peer"))
    if args.shipped_config:
        runs = runs / "shipped_config"
    nrl_runs = Path(args.neurorl_runs or (out / "nrl" if args.quick else ROOT / "results" /
                                          "tap_table"))
    rows, curves = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        src = prepare_peer_src(args.peer_src, Path(scratch))
        for task in args.tasks:
            steps = 1_200 if args.quick else TASKS[task][3]
            for enc in args.encoders:
                theirs = []
                for seed in args.seeds:
                    run_dir = runs / f"{task}_{enc}_s{seed}"
                    if args.finished_only and not (run_dir / "result.json").exists():
                        continue
                    print(f"authors' {PEER_NAMES[enc]} on {task}, seed {seed}, {steps} steps")
                    theirs.append(peer_run(src, task, enc, seed, steps, args.peer_threads,
                                           run_dir, args.shipped_config))
                ours = neurorl_runs(nrl_runs, task, enc, args.seeds, args.run_neurorl,
                                    args.quick)
                curves[(task, enc, "authors")], curves[(task, enc, "neurorl")] = theirs, ours
                a, b = summarise("authors", task, enc, theirs), summarise("neurorl", task, enc,
                                                                          ours)
                both = {r["seed"] for r in theirs} & {r["seed"] for r in ours}
                b["wall_ratio_authors_over_neurorl"] = (  # on the seeds both sides have
                    float(np.mean([r["train_s"] for r in theirs if r["seed"] in both])
                          / np.mean([r["train_s"] for r in ours if r["seed"] in both]))
                    if both else float("nan"))
                b["ratio_seeds"] = len(both)
                rows += [a, b]
                print(f"  authors {a['final_return_mean']:.1f} ± {a['final_return_std']:.1f} in "
                      f"{a['train_s_mean']:.0f} s; neurorl ({b['seeds']} seeds) "
                      f"{b['final_return_mean']:.1f} ± {b['final_return_std']:.1f} in "
                      f"{b['train_s_mean']:.0f} s: {b['wall_ratio_authors_over_neurorl']:.2f}x")
    write_csv(out / "tap_peer.csv", rows)
    draw(curves, out / "tap_peer.png")
    print(f"wrote {out / 'tap_peer.csv'}, {out / 'tap_peer.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
