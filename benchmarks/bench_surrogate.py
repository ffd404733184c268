"""Surrogate-gradient training speed: neurorl's kernel against SpikingJelly, snnTorch and Norse.

One and the same spiking network (:mod:`surrogate_sides`: 4-128-128-2 LIF with a leaky
readout, feed-forward or with a recurrent second layer; T = 8, B = 64 by default) is trained on
every side, float32, on the CPU, and the wall-clock time of a full training step (forward over T,
MSE loss, BPTT backward, Adam update) is reported as ms/step with the ratio peer / neurorl.
``bench_scaling.py`` runs the same measurement over hidden widths, batch sizes and sequence
lengths.

Dynamics check (always run first, cheap): on the same weights and input, every side's spikes in
both hidden layers over all T steps are compared with a plain numpy evaluation of its formulas
(:func:`surrogate_sides.reference_forward`; neurorl's under Brian2's schedule,
:func:`surrogate_sides.reference_forward_brian2`), and its readout with the reference readout.
``--check`` adds the gradients of SpikingJelly (with ``detach_reset=True``) and snnTorch on one
batch (they compute the same gradient) and the dynamics check again after two Adam steps on each
peer.

Timing (:func:`measure`): every side is first timed with 1 and with 2 threads (2 cores here) and
the faster count is used for the timing proper; for the peers that is torch's intra-op thread
count, for neurorl numpy's OpenBLAS threads (set through the library's
``openblas_set_num_threads``, found the way threadpoolctl finds it; where that fails, numpy's
default is used and said so). Each configuration gets warm-up steps, then its timed steps split
into rounds that cycle through all sides (so a busy moment on the shared machine hits every side
alike); ms/step is the median over the timed steps.

How to run (the peers live in their own environment, neurorl never imports them)::

    make bench-env        # builds .venv-bench: torch (CPU), the peers and neurorl (editable)
    .venv-bench/bin/python benchmarks/bench_surrogate.py [--arch rec] [--steps N] [--check]

A side whose package is not installed (or, for neurorl, whose kernel does not import) is skipped
with a note. Nothing is asserted about the timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from surrogate_sides import (
    ARCHS,
    MODULES,
    POOL,
    SIDES,
    Size,
    SpikingJellySide,
    check_dynamics,
    check_training,
    make_data,
    make_weights,
)


def time_steps(step: Callable[[int], float], n: int, start: int = 0) -> list[float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        step((start + i) % POOL)
        times.append(time.perf_counter() - t0)
    return times


def _openblas_setters() -> list[Callable[[int], None]]:
    """``set_num_threads`` of every OpenBLAS loaded in this process (numpy's), as threadpoolctl
    finds them: by the library's path in /proc/self/maps. Empty where that is not possible."""
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return []
    names = (
        "scipy_openblas_set_num_threads64_",
        "scipy_openblas_set_num_threads",
        "openblas_set_num_threads64_",
        "openblas_set_num_threads",
    )
    setters = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            if hasattr(lib, name):
                setters.append(getattr(lib, name))
                break
    return setters


def set_threads(kind: str | None, n: int | None) -> None:
    """Set torch's intra-op threads (kind "torch") or numpy's OpenBLAS threads (kind "blas")."""
    if kind == "torch":
        import torch

        torch.set_num_threads(n)
    elif kind == "blas":
        for setter in _openblas_setters():
            setter(n)


def time_interleaved(configs, steps: int, warmup: int, rounds: int) -> dict[str, list[float]]:
    """Step times (s) per configuration, the timed steps split into ``rounds`` blocks that cycle
    through the configurations, so that slow phases of a shared machine hit all of them alike.

    ``configs`` maps a label to (side, thread kind, thread count); see :func:`set_threads`.
    """
    for side, kind, n in configs.values():
        set_threads(kind, n)
        time_steps(side.step, warmup)
    per_round = max(1, steps // rounds)
    times: dict[str, list[float]] = {label: [] for label in configs}
    for r in range(rounds):
        for label, (side, kind, n) in configs.items():
            set_threads(kind, n)
            times[label] += time_steps(side.step, per_round, start=r * per_round)
    return times


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def measure(sides, steps: int, warmup: int, rounds: int, calib_steps: int | None = None):
    """Each side's faster thread count (1 or 2) and its median ms per training step.

    Returns ``(best, ms, calib_ms)``: the chosen thread count per side name (None where it cannot
    be set), ms/step per side name at that count, and ms/step per (name, threads) tried.
    """
    blas = bool(_openblas_setters())
    configs = {}
    for side in sides:
        kind = "torch" if side.name != "neurorl" else ("blas" if blas else None)
        for n in (1, 2) if kind else (None,):
            configs[(side.name, n)] = (side, kind, n)
    n_calib = calib_steps or max(10, steps // 4)
    calib = time_interleaved(configs, n_calib, warmup, max(1, rounds // 2))
    calib_ms = {label: 1e3 * statistics.median(t) for label, t in calib.items()}
    best = {}
    for side in sides:
        options = {n: v for (name, n), v in calib_ms.items() if name == side.name}
        best[side.name] = min(options, key=options.get)
    chosen = {side.name: configs[(side.name, best[side.name])] for side in sides}
    times = time_interleaved(chosen, steps, min(5, warmup), rounds)
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    return best, ms, calib_ms


def build_sides(xs, ys, weights, names=tuple(SIDES), report=print) -> list:
    """The sides that can be built here (a missing package or a failing build is reported)."""
    sides = []
    for name in names:
        if name != "neurorl" and not have("torch"):
            report(f"{name}: torch is not installed, skipped (use .venv-bench, `make bench-env`)")
            continue
        if not have(MODULES[name]):
            report(f"{name}: not installed, skipped")
            continue
        try:
            sides.append(SIDES[name](xs, ys, weights))
        except Exception as exc:  # a side that cannot be built is reported, not fatal
            report(f"{name}: could not be set up ({type(exc).__name__}: {exc}), skipped")
    return sides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=ARCHS, default="ff",
                        help="ff: feed-forward; rec: recurrent second hidden layer")
    parser.add_argument("--steps", type=int, default=400, help="timed training steps per side")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps per side first")
    parser.add_argument("--rounds", type=int, default=10, help="alternate sides this many times")
    parser.add_argument(
        "--check", action="store_true", help="also compare the peers' gradients and 2 steps"
    )
    args = parser.parse_args(argv)

    size = Size()
    xs, ys = make_data(size)
    weights = make_weights(size, args.arch)
    if have("torch"):
        import torch

        print(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    sides = build_sides(xs, ys, weights)

    print("dynamics check (same weights and input, reference: the formulas of surrogate_sides):")
    for side in sides:
        print("  " + check_dynamics(side, xs[0], weights))
    if args.check and have("spikingjelly") and have("snntorch"):
        peers = [SpikingJellySide(xs, ys, weights, detach_reset=True),
                 SIDES["snntorch"](xs, ys, weights)]
        if args.arch == "ff":
            print("  gradients (SpikingJelly with detach_reset=True, like snnTorch):")
            print("    " + check_training(peers))
        else:  # RLeaky clears the input of the step after a spike: another function
            print("  gradients: not compared (snnTorch's RLeaky computes a different function)")
        print("  after 2 training steps, each peer against the formulas on its own weights:")
        for side in [*peers, *build_sides(xs, ys, weights, ("norse",))]:
            for k in range(2):
                side.step(k)
            print("    " + check_dynamics(side, xs[2], side.weights()))
    if not sides:
        print("nothing to time")
        return 1

    best, ms, calib_ms = measure(sides, args.steps, args.warmup, args.rounds)
    print("thread counts (median ms; the faster is used):")
    for side in sides:
        tried = ", ".join(f"{n} thread{'s' * (n > 1)} {v:.3f} ms"
                          for (name, n), v in calib_ms.items() if name == side.name and n)
        what = "torch" if side.name != "neurorl" else "numpy/OpenBLAS"
        print(f"  {side.name} ({what}): {tried or 'not settable here'} -> {best[side.name]}")
    print(f"\nmedian of the timed steps, arch {args.arch}, T={size.t}, batch {size.batch}, "
          f"hidden {size.hidden}, float32")
    base = ms.get("neurorl")
    print(f"{'framework':<14}{'ms/step':>10}  ratio(peer/neurorl)")
    for side in sides:
        n = best[side.name]
        ratio = f"{ms[side.name] / base:.2f}x" if base else "-"
        what = "torch threads" if side.name != "neurorl" else "BLAS threads"
        extra = f"{what}: {n}" if n else f"{what}: numpy's default"
        print(f"{side.name:<14}{ms[side.name]:>10.3f}  {ratio:<8} [{extra}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
