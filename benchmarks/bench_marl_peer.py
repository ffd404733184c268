"""The multi-agent study side by side with EPyMARL: its QMIX and VDN with GRU agents against
neurorl's on the same tasks, seeds and environment steps (issue [marl] item 7).

What runs
---------
* EPyMARL (``../shared/peers/epymarl-cbc38c0.tar.gz``, unpacked into a scratch folder) in
  ``.venv-bench`` (torch CPU, ``OMP_NUM_THREADS`` = ``--peer-threads``; it also needs
  ``sacred``, ``pyyaml``, ``lbforaging`` and ``setuptools<81`` for sacred's ``pkg_resources``)::

      python src/main.py --config=qmix --env-config=gymma with env_args.key=pz-mpe-simple-spread-v3
          env_args.time_limit=25 t_max=T seed=S use_rnn=True obs_last_action=True
          test_interval=10000 test_nepisode=20 log_interval=10000 use_cuda=False

  (``--config=vdn`` for VDN; ``lbforaging:Foraging-8x8-2p-2f-coop-v3`` with ``time_limit=50``
  for LBF). ``use_rnn=True`` gives its agents a GRU cell (qmix.yaml's default is a plain
  layer) and ``obs_last_action=True`` the one-hot last action, as neurorl's agents have; every
  other setting is its qmix.yaml / vdn.yaml over default.yaml. The greedy test returns come from
  its sacred ``info.json`` (``test_return_mean``), the wall time from the subprocess.
* neurorl: the ``gru`` × {``qmix``, ``vdn``} cells of ``scripts/sweeps/marl.toml`` (the study's
  runs), read from ``--neurorl-runs`` (default results/marl_study), run first with
  ``--run-neurorl``.
* neurorl with ``time_limit_terminal`` (``scripts/sweeps/marl_time_limit.toml``, read from
  ``--time-limit-runs``, default results/marl_time_limit, where finished): the same GRU cells
  with an episode cut by the time limit stored as terminated, as EPyMARL stores it on these
  tasks (its gymma wrapper reports no ``episode_limit``, so ``terminated != episode_limit`` is
  true at the cut and its targets do not bootstrap there). The study's runs bootstrap.

Changed in EPyMARL's scratch copy, nothing else: PettingZoo's MPE environments moved to the
package ``mpe2``, so ``src/envs/pz_wrapper.py`` imports ``mpe2.<name>`` for ``lib_name == "mpe"``
and registers mpe2's environments under EPyMARL's keys (``pz-mpe-simple-spread-v3``); and
``src/envs/__init__.py`` imports its smaclite wrapper only if ``smaclite`` is installed (it is
not on the registry, and SMAC is not used here).

Writes ``OUT/marl_peer.csv`` (per task and mixer: seeds, final greedy return = the mean of the
last 5 evaluations, its spread, wall time, the wall-time ratio) and ``OUT/marl_peer.png``; each
EPyMARL run keeps its log in ``RUNS/<task>_<mixer>_s<seed>/`` (default results/marl_peer,
committed as runs finish) and is not run again once its ``result.json`` is there.

    .venv/bin/python benchmarks/bench_marl_peer.py --seeds 0 1 2
    .venv/bin/python benchmarks/bench_marl_peer.py --quick          # 3,000 steps, 1 seed, Spread
    .venv/bin/python benchmarks/bench_marl_peer.py --finished-only  # redraw, start nothing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurorl import sweep  # noqa: E402
from neurorl.plots import pyplot, save, write_csv  # noqa: E402
from neurorl.seeds import compare_seeds  # noqa: E402

PEER_TARBALL = ROOT.parent / "shared" / "peers" / "epymarl-cbc38c0.tar.gz"
PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
TASKS = {  # neurorl id: (EPyMARL key, time limit)
    "mpe2/simple_spread_v3": ("pz-mpe-simple-spread-v3", 25),
    "lbforaging/Foraging-8x8-2p-2f-coop-v3": ("lbforaging:Foraging-8x8-2p-2f-coop-v3", 50),
}
MIXERS = ("qmix", "vdn")
TIME_LIMIT_SIDE = "neurorl, time limit terminal"
IMPORT_OLD = 'env = importlib.import_module(f"pettingzoo.{lib_name}.{env_name}")'
IMPORT_NEW = ('env = importlib.import_module(f"mpe2.{env_name}" if lib_name == "mpe" '
              'else f"pettingzoo.{lib_name}.{env_name}")  # bench_marl_peer: MPE is in mpe2')
SMACLITE_OLD = "from .smaclite_wrapper import SMACliteWrapper\n"
SMACLITE_NEW = ("try:  # bench_marl_peer: smaclite is not on the registry, and SMAC is not used\n"
                "    from .smaclite_wrapper import SMACliteWrapper\n"
                "except ImportError:\n"
                "    SMACliteWrapper = None\n")
REGISTER_MPE2 = '''

# bench_marl_peer: PettingZoo's MPE environments live in the package mpe2 now
import mpe2  # noqa: E402

for e in Path(mpe2.__path__[0]).glob("*_v?.py"):
    gym.register(f"pz-mpe-{e.stem.replace('_', '-')}",
                 entry_point="envs.pz_wrapper:PettingZooWrapper",
                 kwargs={"lib_name": "mpe", "env_name": e.stem})
'''


def prepare_peer(scratch: Path) -> Path:
    """EPyMARL unpacked into ``scratch`` with its PettingZoo wrapper pointed at mpe2."""
    with tarfile.open(PEER_TARBALL) as tf:
        tf.extractall(scratch, filter="data")
    src = scratch / "epymarl"
    wrapper = src / "src" / "envs" / "pz_wrapper.py"
    text = wrapper.read_text()
    if IMPORT_OLD not in text:
        raise SystemExit(f"{wrapper}: the PettingZoo import to patch is not there")
    wrapper.write_text(text.replace(IMPORT_OLD, IMPORT_NEW) + REGISTER_MPE2)
    init = src / "src" / "envs" / "__init__.py"
    text = init.read_text()
    if SMACLITE_OLD not in text:
        raise SystemExit(f"{init}: the smaclite import to patch is not there")
    init.write_text(text.replace(SMACLITE_OLD, SMACLITE_NEW))
    return src


def peer_run(src: Path | None, task: str, mixer: str, seed: int, steps: int, threads: int,
             run_dir: Path) -> dict | None:
    """One EPyMARL run (or its earlier result): evaluations (step, greedy return), wall time.
    With ``src`` None nothing is started: an unfinished run gives None."""
    result = run_dir / "result.json"
    if result.exists():
        return json.loads(result.read_text())
    if src is None:
        return None
    key, limit = TASKS[task]
    run_dir.mkdir(parents=True, exist_ok=True)
    interval = max(min(10_000, steps // 5), 1)
    cmd = [str(PEER_PYTHON), "src/main.py", f"--config={mixer}", "--env-config=gymma", "with",
           f"env_args.key={key}", f"env_args.time_limit={limit}", f"t_max={steps}",
           f"seed={seed}", "use_rnn=True", "obs_last_action=True", f"test_interval={interval}",
           "test_nepisode=20", f"log_interval={interval}", "use_cuda=False", "save_model=False",
           f"local_results_path={run_dir / 'results'}"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    before = set((src / "results").rglob("info.json")) if (src / "results").exists() else set()
    t0 = time.perf_counter()
    with open(run_dir / "log.txt", "w") as log:
        proc = subprocess.run(cmd, cwd=src, stdout=log, stderr=subprocess.STDOUT, env=env,
                              check=False)
    wall = time.perf_counter() - t0
    infos = sorted(set((src / "results").rglob("info.json")) - before)
    if proc.returncode != 0 or not infos:
        tail = (run_dir / "log.txt").read_text().splitlines()[-25:]
        raise RuntimeError(f"EPyMARL failed (rc {proc.returncode}): {' '.join(cmd)}\n"
                           + "\n".join(tail))
    info = json.loads(infos[-1].read_text())
    values = [v["value"] if isinstance(v, dict) else v for v in info["test_return_mean"]]
    evals = list(zip(info["test_return_mean_T"], map(float, values), strict=True))
    out = {"task": task, "mixer": mixer, "seed": seed, "steps": steps, "evals": evals,
           "wall_s": wall, "threads": threads, "command": " ".join(cmd)}
    result.write_text(json.dumps(out, indent=1))
    return out


def neurorl_runs(spec_path: Path, runs: Path, task: str, mixer: str, seeds: list[int],
                 steps: int, run: bool, quick: bool) -> list[dict]:
    """The finished GRU runs of one task and mixer in the sweep ``spec_path`` (run first with
    ``run``): each seed's evaluations and wall time."""
    overrides = {"total_steps": steps, "eval_every": max(min(10_000, steps // 5), 1)} \
        if quick else None
    spec = sweep.load_spec(spec_path, out=runs, overrides=overrides)
    spec.runs = [r for r in spec.runs if r.config["env_id"] == task
                 and r.config["mixer"] == mixer and r.config["encoder"] == "gru"
                 and r.config["seed"] in seeds]
    if run:
        sweep.run_sweep(spec, progress=False)
    out = []
    for r in spec.runs:
        folder = spec.run_dir(r)
        if not (folder / sweep.SUMMARY_FILE).exists():
            continue
        lines = (folder / "evals.csv").read_text().splitlines()[1:]
        evals = [(int(s), float(v)) for s, v in (line.split(",") for line in lines)]
        summary = json.loads((folder / sweep.SUMMARY_FILE).read_text())
        out.append({"seed": r.config["seed"], "evals": evals, "wall_s": summary["wall_s"]})
    return out


def finals(runs: list[dict]) -> list[float]:
    """Each run's final greedy return (:func:`neurorl.sweep.final_return` of its evaluations)."""
    return [sweep.final_return([v for _, v in r["evals"]]) for r in runs if r["evals"]]


def summarise(side: str, task: str, mixer: str, runs: list[dict]) -> dict:
    f, walls = finals(runs), [r["wall_s"] for r in runs]
    return {"task": task, "mixer": mixer, "side": side, "seeds": len(runs),
            "final_return_mean": float(np.mean(f)) if f else float("nan"),
            "final_return_std": float(np.std(f)) if f else float("nan"),
            "final_return_min": float(np.min(f)) if f else float("nan"),
            "final_return_max": float(np.max(f)) if f else float("nan"),
            "wall_s_mean": float(np.mean(walls)) if walls else float("nan")}


def goals(theirs: list[dict], ours: list[dict], a: dict, b: dict) -> dict:
    """The issue's goal for one task and mixer: neurorl's mean final return within EPyMARL's
    seed spread (at or above its lowest seed) and ≥ 3× less wall time; with Welch's
    difference (neurorl − EPyMARL) for the record."""
    out = {"wall_ratio_epymarl_over_neurorl": a["wall_s_mean"] / b["wall_s_mean"]}
    out["wall_goal_3x"] = "yes" if out["wall_ratio_epymarl_over_neurorl"] >= 3 else "no"
    if theirs and ours:
        c = compare_seeds(finals(ours), finals(theirs))
        out.update(difference=c.difference, difference_se=c.se, welch_p=c.p,
                   within_seed_spread="yes" if b["final_return_mean"] >= a["final_return_min"]
                   else "no")
    return out


def draw(curves: dict, path: Path) -> None:
    plt = pyplot()
    keys = sorted({(t, m) for t, m, _ in curves})
    cols = min(len(keys), 2)
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    for ax, (task, mixer) in zip(axes.flat, keys, strict=False):
        for side, color in (("EPyMARL", "tab:red"), ("neurorl", "tab:blue"),
                            (TIME_LIMIT_SIDE, "tab:green")):
            for k, run in enumerate(curves.get((task, mixer, side), [])):
                if run["evals"]:
                    x, y = zip(*run["evals"], strict=True)
                    ax.plot(x, y, color=color, lw=1.2, alpha=0.8,
                            label=f"{side} {mixer.upper()}-GRU" if k == 0 else None)
        ax.set(title=f"{task.split('/')[-1]}, {mixer.upper()}", xlabel="environment steps",
               ylabel="greedy team return")
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:.0f}k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("EPyMARL against neurorl, GRU agents, same budget (a line per seed)", fontsize=9)
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    p.add_argument("--mixers", nargs="+", choices=MIXERS, default=list(MIXERS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--peer-threads", type=int, default=1)
    p.add_argument("--runs", default=None, help="EPyMARL run folders (default results/marl_peer)")
    p.add_argument("--neurorl-runs", default=None, help="default results/marl_study")
    p.add_argument("--time-limit-runs", default=None,
                   help="neurorl's runs with time_limit_terminal (scripts/sweeps/"
                        "marl_time_limit.toml), shown where finished; default "
                        "results/marl_time_limit")
    p.add_argument("--run-neurorl", action="store_true")
    p.add_argument("--out", default=None, help="default figures")
    p.add_argument("--quick", action="store_true", help="3,000 steps, seed 0, Spread, QMIX")
    p.add_argument("--finished-only", action="store_true",
                   help="start nothing: the table and figure from finished runs")
    args = p.parse_args(argv)
    if args.quick:
        args.tasks, args.mixers, args.seeds = [next(iter(TASKS))], ["qmix"], args.seeds[:1]
        args.steps, args.run_neurorl = 3_000, True
    out = Path(args.out or (ROOT / "runs" / "marl_peer_quick" if args.quick else
                            ROOT / "figures"))
    runs = Path(args.runs or (out / "runs" if args.quick else ROOT / "results" / "marl_peer"))
    nrl = Path(args.neurorl_runs or (out / "nrl" if args.quick else ROOT / "results" /
                                     "marl_study"))
    sides = {"neurorl": (ROOT / "scripts" / "sweeps" / "marl.toml", nrl)}
    if not args.quick:
        sides[TIME_LIMIT_SIDE] = (ROOT / "scripts" / "sweeps" / "marl_time_limit.toml",
                                  Path(args.time_limit_runs or ROOT / "results" /
                                       "marl_time_limit"))
    rows, curves = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        src = None if args.finished_only else prepare_peer(Path(scratch))
        for task in args.tasks:
            for mixer in args.mixers:
                theirs = []
                for seed in args.seeds:
                    if src is not None:
                        print(f"EPyMARL {mixer} on {task}, seed {seed}, {args.steps} steps",
                              flush=True)
                    run = peer_run(src, task, mixer, seed, args.steps, args.peer_threads,
                                   runs / f"{task.replace('/', '-')}_{mixer}_s{seed}")
                    if run is not None:
                        theirs.append(run)
                if not theirs:
                    continue
                seeds = [r["seed"] for r in theirs]
                a = summarise("EPyMARL", task, mixer, theirs)
                curves[(task, mixer, "EPyMARL")] = theirs
                rows.append(a)
                for side, (spec_path, folder) in sides.items():
                    ours = neurorl_runs(spec_path, folder, task, mixer, seeds, args.steps,
                                        args.run_neurorl and side == "neurorl", args.quick)
                    if not ours:
                        continue
                    curves[(task, mixer, side)] = ours
                    b = summarise(side, task, mixer, ours)
                    b.update(goals(theirs, ours, a, b))
                    rows.append(b)
                    print(f"{task} {mixer.upper()}: EPyMARL ({a['seeds']} seeds) "
                          f"{a['final_return_mean']:.2f} ± {a['final_return_std']:.2f} in "
                          f"{a['wall_s_mean']:.0f} s; {side} ({b['seeds']} seeds) "
                          f"{b['final_return_mean']:.2f} ± {b['final_return_std']:.2f} in "
                          f"{b['wall_s_mean']:.0f} s: {b['wall_ratio_epymarl_over_neurorl']:.2f}x;"
                          f" within EPyMARL's seed spread: {b.get('within_seed_spread', 'n/a')}",
                          flush=True)
    if not rows:
        raise SystemExit(f"no finished EPyMARL run in {runs}")
    write_csv(out / "marl_peer.csv", rows)
    draw(curves, out / "marl_peer.png")
    print(f"wrote {out / 'marl_peer.csv'}, {out / 'marl_peer.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
