"""Batch replay of the converted CartPole SNN (4-256-256-2, T = 50) on every backend.

    OPENBLAS_NUM_THREADS=1 .venv-genn/bin/python benchmarks/bench_backends.py [--sizes 1000 ...]

Backends: the numpy kernel, Brian2's runtime device (cython), C++ standalone and GeNN
(CPU-only; its CUDA backend, and Brian2CUDA, where a GPU and CUDA are found). Each replays B
observations of the teacher as B copies of the network (``neurorl.sim.batch.run_batch``, via
``convert.brian2_readouts`` / ``convert.kernel_readouts``), in chunks of ``--chunk`` copies
(B copies hold B x 66,560 synapses; one chunk is one build and one run). Reported per backend and
B: wall time, the build time measured apart (the same network with one copy and one step, so
code generation and compilation with almost no simulation), observations/s and synaptic
events/s (spikes x fan-out) over the time left after the builds, and the agreement of the
robust readout's actions with the kernel's. Brian2GeNN needs brian2 < 2.6, so the script runs
in ``.venv-genn`` (``make genn-env``); there every backend uses brian2 2.5.4. Writes
``OUT/bench_backends.csv`` and ``.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from neurorl.algos import convert as C
from neurorl.algos import dqn
from neurorl.ann.qnetwork import load_teacher
from neurorl.optional import OptionalDependencyError
from neurorl.sim import genn
from neurorl.sweep import cpu_model


def backends(gpu: bool) -> list[str]:
    """The backends to measure here: registry names (plus ``genn_cuda`` with a GPU)."""
    names = ["kernel", "runtime", "cpp_standalone", "genn"]
    if gpu:
        names += ["genn_cuda", "cuda"]
    return names


def replay(snn, obs: np.ndarray, T: int, backend: str, chunk: int) -> C.Readouts:
    """Readouts of ``obs`` (B, 4) on ``backend``, ``chunk`` copies per Brian2 run."""
    if backend == "kernel":
        return C.kernel_readouts(snn, obs, T, batch=chunk)
    device, options = backend, {}
    if backend == "runtime":
        options["target"] = "cython"
    if backend == "genn_cuda":
        device = "genn"
    parts = []
    for start in range(0, len(obs), chunk):
        if backend.startswith("genn"):  # the registry's genn entry reads this
            os.environ["NEURORL_GENN_GPU"] = "1" if backend == "genn_cuda" else "0"
        parts.append(C.brian2_readouts(snn, obs[start:start + chunk], T, device=device,
                                       **options))
    return C.Readouts(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in ("count", "robust", "spikes", "synaptic_ops")))


def write_rows(out: Path, rows: list[dict], gpu: bool) -> dict:
    """``OUT/bench_backends.csv`` and ``.json`` (rows in backend order, the machine); returns
    the machine's description."""
    machine = {
        "cpu": cpu_model(), "cores": os.cpu_count(),
        "load_average": os.getloadavg(), "gpu": gpu,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    order = {name: i for i, name in enumerate(backends(True))}
    rows = sorted(rows, key=lambda r: (order.get(r["backend"], len(order)), r["B"]))
    with open(out / "bench_backends.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "bench_backends.json").write_text(json.dumps({"machine": machine, "rows": rows},
                                                        indent=1))
    return machine


def draw(out: Path) -> Path:
    """``OUT/bench_backends.png``: observations/s (simulation time, builds apart; dashed: the
    whole wall time) and synaptic events/s against B per backend, from
    ``OUT/bench_backends.json``."""
    from neurorl.plots import pyplot, save

    data = json.loads((out / "bench_backends.json").read_text())
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    names = dict.fromkeys(r["backend"] for r in data["rows"])
    for name in names:
        rows = sorted((r for r in data["rows"] if r["backend"] == name), key=lambda r: r["B"])
        B = [r["B"] for r in rows]
        line, = axes[0].plot(B, [r["obs_per_s"] for r in rows], "o-", label=name)
        if any(r["builds"] for r in rows):  # the whole wall time, builds included
            axes[0].plot(B, [r["B"] / r["wall_s"] for r in rows], "x--", color=line.get_color(),
                         lw=1, label=f"{name}, builds included")
        axes[1].plot(B, [r["syn_events_per_s"] for r in rows], "o-", label=name)
    for ax, what in zip(axes, ("observations / s", "synaptic events / s"), strict=True):
        ax.set(xscale="log", yscale="log", xlabel="B (observations replayed)", ylabel=what)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    m = data["machine"]
    fig.suptitle(f"converted CartPole SNN 4-256-256-2, T = {data['rows'][0]['T']}: batch replay "
                 f"per backend ({m['cores']}-core {m['cpu']}, GPU: {m['gpu']}; builds apart)",
                 fontsize=9)
    fig.tight_layout()
    return save(fig, out / "bench_backends.png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--teacher", default=None, help="teacher.npz (default: train one, seed 0)")
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    p.add_argument("--brian2-sizes", type=int, nargs="+", default=None,
                   help="sizes for the Brian2 backends (default: --sizes)")
    p.add_argument("--T", type=int, default=50)
    p.add_argument("--chunk", type=int, default=1_000, help="copies per Brian2 run")
    p.add_argument("--backends", nargs="+", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench_backends")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already in OUT/bench_backends.json and run the others "
                        "(the kernel's rows always run: they are the actions compared with)")
    p.add_argument("--draw-only", action="store_true",
                   help="draw OUT/bench_backends.png from OUT/bench_backends.json and stop")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.draw_only:
        print(f"wrote {draw(out)}")
        return

    if args.teacher is None:
        tmp = Path(tempfile.mkdtemp(prefix="neurorl_bench_teacher_"))
        dqn.train(dqn.preset_config("CartPole-v1", seed=args.seed), tmp, progress=False)
        args.teacher = tmp / dqn.TEACHER_FILE
    teacher = load_teacher(args.teacher)
    states = C.collect_states(teacher, "CartPole-v1", n=5_000, seed=args.seed)
    snn = C.calibrate(C.convert(teacher, states), states, args.T)
    obs_all = C.collect_states(teacher, "CartPole-v1", n=max(args.sizes), seed=args.seed + 1)
    gpu = genn.cuda_available()
    names = args.backends or backends(gpu)
    brian2_sizes = args.brian2_sizes or args.sizes
    rows, reference = [], {}
    done = out / "bench_backends.json"
    if args.resume and done.exists():
        rows = [r for r in json.loads(done.read_text())["rows"] if r["backend"] != "kernel"]
    jobs = [(b, n) for b in names for n in (args.sizes if b == "kernel" else brian2_sizes)
            if not any(r["backend"] == b and r["B"] == n for r in rows)]
    for backend, n in tqdm(jobs, desc="backend x B"):
        obs = obs_all[:n]
        build = 0.0
        if backend != "kernel":  # one copy, one step: the cost of a build without simulating
            t0 = time.perf_counter()
            try:
                replay(snn, obs[:1], 1, backend, 1)
            except OptionalDependencyError as err:  # e.g. Brian2CUDA lives in its own venv
                print(f"{backend}: not run ({err})")
                continue
            build = time.perf_counter() - t0
        builds = 0 if backend in ("kernel", "runtime") else int(np.ceil(n / args.chunk))
        t0 = time.perf_counter()
        readouts = replay(snn, obs, args.T, backend, args.chunk)
        wall = time.perf_counter() - t0
        sim = max(wall - builds * build, 1e-9)
        if backend == "kernel":
            reference[n] = readouts.actions("robust")
        ref = reference.get(n)
        agree = float(np.mean(readouts.actions("robust") == ref)) if ref is not None else None
        events = float(readouts.synaptic_ops.sum())
        rows.append({
            "backend": backend, "B": n, "T": args.T, "wall_s": round(wall, 2),
            "build_s": round(build, 2), "builds": builds, "sim_s": round(sim, 2),
            "obs_per_s": round(n / sim, 1), "syn_events_per_s": round(events / sim, 1),
            "syn_events": events, "agree_with_kernel": agree,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        })
        machine = write_rows(out, rows, gpu)  # after every row: a long run keeps what it did
    print(f"\nconverted CartPole SNN 4-256-256-2, T = {args.T}; {machine}")
    head = ("backend", "B", "build s", "builds", "sim s", "obs/s", "syn events/s", "agree")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in json.loads((out / "bench_backends.json").read_text())["rows"]:
        agree = "" if r["agree_with_kernel"] is None else f"{r['agree_with_kernel']:.4f}"
        print(f"| {r['backend']} | {r['B']:,} | {r['build_s']:.1f} | {r['builds']} | "
              f"{r['sim_s']:.1f} | {r['obs_per_s']:,.0f} | {r['syn_events_per_s']:.3g} | "
              f"{agree} |")
    print(f"wrote {out / 'bench_backends.csv'}, .json and {draw(out)}")


if __name__ == "__main__":
    main()
