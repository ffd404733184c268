"""Scaling study of surrogate-gradient training: neurorl against SpikingJelly, snnTorch and Norse
over hidden width, batch size and sequence length (issue [kernel-speed] item 3).

The network, the sides and the dynamics check are those of ``bench_surrogate.py``
(:mod:`surrogate_sides`): 4-H-H-2 LIF with a leaky readout, ``ff`` (feed-forward) and ``rec``
(recurrent second hidden layer, each peer's own recurrent layer), MSE loss, Adam, float32, CPU;
one training step = forward over T, loss, BPTT backward, Adam update. Sizes:

* hidden H in 128 / 512 / 2048, batch B in 16 / 64 / 256, time steps T in 8 / 64 / 256;
* by default one axis at a time from the base cell (H 128, B 64, T 8): 7 cells per architecture;
  ``--full`` times the whole 27-cell grid.

Per cell every side is timed at 1 and at 2 threads and then at the faster count
(:func:`bench_surrogate.measure`: interleaved rounds, median ms/step); the number of timed steps
adapts to the cell (about ``--budget`` seconds per side and configuration, at least 5 steps). The
dynamics check runs once per architecture at the base cell. Results are written after every
cell to ``OUT/bench_scaling.json`` (machine, versions, per cell and side: thread count, ms/step,
ratio peer / neurorl, the load average around the cell) and ``OUT/bench_scaling.csv``; a rerun
skips the cells already there (``--fresh`` starts over). ``OUT/bench_scaling.png`` draws ms/step
against each size (the one-axis cells through the base), one panel per architecture and axis.

    .venv-bench/bin/python benchmarks/bench_scaling.py [--arch ff rec] [--full] [--out figures]
    .venv-bench/bin/python benchmarks/bench_scaling.py --plot-only

Run it on a quiet machine: every side is timed in the same process, interleaved, but a busy
neighbour still inflates all of them. Nothing is asserted about the timings.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from bench_surrogate import build_sides, have, measure, time_steps
from surrogate_sides import ARCHS, SIDES, Size, check_dynamics, make_data, make_weights
from tqdm import tqdm

from neurorl.sweep import cpu_model

AXES = {"hidden": (128, 512, 2048), "batch": (16, 64, 256), "t": (8, 64, 256)}
BASE = Size()
ROOT = Path(__file__).resolve().parents[1]


def cells(full: bool) -> list[Size]:
    """The grid (``full``) or the base cell and the one-axis variations from it."""
    if full:
        return [Size(t, b, h) for h, b, t in itertools.product(AXES["hidden"], AXES["batch"],
                                                                AXES["t"])]
    out = [BASE]
    for axis, values in AXES.items():
        out += [BASE._replace(**{axis: v}) for v in values if v != getattr(BASE, axis)]
    return out


def cell_key(arch: str, size: Size) -> str:
    return f"{arch}/H{size.hidden}/B{size.batch}/T{size.t}"


def load_results(path: Path) -> dict:
    if path.exists():
        with open(path) as fh:
            return json.load(fh)
    return {"cells": {}}


def machine() -> dict:
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__,
            "peers": {name: _version(name) for name in SIDES if name != "neurorl"}}


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def time_cell(arch: str, size: Size, names, budget: float, max_steps: int, rounds: int,
              check: bool) -> dict:
    """Build every side for one cell and time it; the per-side figures of the cell."""
    xs, ys = make_data(size)
    weights = make_weights(size, arch)
    notes: list[str] = []
    sides = build_sides(xs, ys, weights, names, report=notes.append)
    checks = [check_dynamics(side, xs[0], weights) for side in sides] if check else []
    per_step = max(np.median(time_steps(side.step, 2)) for side in sides)  # also warms up
    steps = int(np.clip(budget / per_step, 5, max_steps))
    load = os.getloadavg()[0]
    best, ms, calib = measure(sides, steps, warmup=2, rounds=min(rounds, steps),
                              calib_steps=max(3, steps // 3))
    kernel = sides[0].kernel if sides and sides[0].name == "neurorl" else None
    return {
        "arch": arch, **size._asdict(), "steps": steps, "load_before": load,
        "load_after": os.getloadavg()[0], "notes": notes, "checks": checks,
        "neurorl_fallbacks": dict(kernel.fallbacks) if kernel is not None else None,
        "sides": {name: {"threads": best[name], "ms": ms[name],
                         "ms_by_threads": {str(n): v for (s, n), v in calib.items() if s == name},
                         "ratio": ms[name] / ms["neurorl"] if "neurorl" in ms else None}
                  for name in ms},
    }


def write_csv(results: dict, path: Path) -> None:
    fields = ["arch", "hidden", "batch", "t", "side", "threads", "ms_per_step",
              "ratio_to_neurorl", "steps", "load_before", "load_after"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for cell in results["cells"].values():
            for name, r in cell["sides"].items():
                w.writerow([cell["arch"], cell["hidden"], cell["batch"], cell["t"], name,
                            r["threads"], f"{r['ms']:.4f}",
                            "" if r["ratio"] is None else f"{r['ratio']:.3f}", cell["steps"],
                            f"{cell['load_before']:.2f}", f"{cell['load_after']:.2f}"])


def draw(results: dict, path: Path) -> None:
    from neurorl.plots import pyplot, save

    plt = pyplot()
    archs = [a for a in ARCHS if any(c["arch"] == a for c in results["cells"].values())]
    fig, axes = plt.subplots(len(archs), 3, figsize=(13, 3.6 * len(archs)), squeeze=False)
    colours = dict(zip(SIDES, ("C3", "C0", "C1", "C2"), strict=True))
    for row, arch in zip(axes, archs, strict=True):
        for ax, (axis, values) in zip(row, AXES.items(), strict=True):
            for name in SIDES:
                pts = []
                for v in values:
                    cell = results["cells"].get(cell_key(arch, BASE._replace(**{axis: v})))
                    if cell and name in cell["sides"]:
                        pts.append((v, cell["sides"][name]["ms"]))
                if pts:
                    ax.plot(*zip(*pts, strict=True), "o-", color=colours[name], label=name)
            others = {k: v for k, v in BASE._asdict().items() if k != axis}
            ax.set(xscale="log", yscale="log", xlabel={"t": "time steps T"}.get(axis, axis),
                   ylabel="ms per training step",
                   title=f"{arch}: " + ", ".join(f"{k} {v}" for k, v in others.items()))
            ax.set_xticks(values, [str(v) for v in values])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=8)
    m = results.get("machine", {})
    fig.suptitle("Surrogate-gradient training step (forward, BPTT, Adam), float32, "
                 f"{m.get('cpu', 'CPU')}, each side at its faster thread count (1 or 2)",
                 fontsize=10)
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", nargs="+", choices=ARCHS, default=list(ARCHS))
    parser.add_argument("--sides", nargs="+", choices=list(SIDES), default=list(SIDES))
    parser.add_argument("--full", action="store_true", help="the whole 27-cell grid")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="seconds of timed steps per side and configuration (about)")
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "figures")
    parser.add_argument("--fresh", action="store_true", help="discard cells already measured")
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args(argv)
    if not have("torch"):
        print("torch is not installed: run this in .venv-bench (`make bench-env`)")
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "bench_scaling.json"
    results = {"cells": {}} if args.fresh else load_results(json_path)
    todo = [(a, s) for a in args.arch for s in cells(args.full)
            if cell_key(a, s) not in results["cells"]]
    if not args.plot_only:
        results["machine"] = machine()
        bar = tqdm(todo, desc="cells", unit="cell")
        for arch, size in bar:
            bar.set_postfix_str(cell_key(arch, size))
            t0 = time.perf_counter()
            cell = time_cell(arch, size, args.sides, args.budget, args.max_steps, args.rounds,
                             check=size == BASE)
            cell["wall_s"] = time.perf_counter() - t0
            results["cells"][cell_key(arch, size)] = cell
            with open(json_path, "w") as fh:
                json.dump(results, fh, indent=1)
            ratios = ", ".join(f"{n} {r['ratio']:.2f}x" for n, r in cell["sides"].items()
                               if n != "neurorl" and r["ratio"] is not None)
            nr = cell["sides"].get("neurorl", {}).get("ms")
            tqdm.write(f"{cell_key(arch, size)}: neurorl {nr:.2f} ms/step; {ratios}"
                       if nr else f"{cell_key(arch, size)}: {cell['sides']}")
            for line in cell["notes"] + cell["checks"]:
                tqdm.write("  " + line)
    write_csv(results, args.out / "bench_scaling.csv")
    draw(results, args.out / "bench_scaling.png")
    print(f"wrote {json_path}, bench_scaling.csv and bench_scaling.png in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
