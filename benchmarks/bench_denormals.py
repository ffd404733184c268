"""Subnormal (denormal) numbers: what they cost on this CPU, and where neurorl meets them.

Units whose gradient is exactly zero (dead ReLUs) decay Adam's first moment m by β₁ per step, so
after ~800 zero-gradient steps m is subnormal (float32 below ``np.finfo(np.float32).tiny`` ≈
1.18e-38) for ~150 steps before it underflows to 0. On Intel CPUs (Sapphire Rapids) arithmetic on
subnormals is ~9x slower: a DQN teacher spent 5.9 s of 11 s in ``fused.adam_update`` with 53 % of
m subnormal. ``fused.adam_update`` now flushes m, v and the step to 0 below ``tiny``.

Prints, in µs per call (median of consecutive calls, 67,842 float32 parameters, a CartPole DQN):

1. a numpy float32 multiply on normal vs subnormal operands (the CPU's own penalty);
2. Adam without the flush (the loop as it was, copied below) and ``fused.adam_update``, on a state
   with all m normal and on one with 50 % of m subnormal (their gradients zero, as for dead
   units); the ratio subnormal / normal, and how many m entries are subnormal after the calls;
3. for each shipped model (models/*.toml, dt = 1 ms, default parameters, no input, state
   starting at 0.4), the first step at which a decaying state variable enters the subnormal
   range in float32 / float64 in the kernel. The shipped configurations run T = 8 steps per
   decision from the initial state (DQN students, distillation, the supervised example) or
   T ≤ 200 with non-decaying IF neurons (conversion).

    .venv/bin/python benchmarks/bench_denormals.py [--calls 200] [--no-kernel]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np

from neurorl.ann.fused import adam_update, as_scalars
from neurorl.sweep import cpu_model

ROOT = Path(__file__).resolve().parents[1]
N_PARAMS = 4 * 256 + 256 + 256 * 256 + 256 + 256 * 2 + 2  # MLP 4-256-256-2
TINY32 = np.finfo(np.float32).tiny


@numba.njit(nogil=True, boundscheck=False, error_model="numpy")
def adam_no_flush(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, eps,
                  weight_decay):  # pragma: no cover - compiled
    """``fused.adam_update`` before the flush (verbatim)."""
    decay = weight_decay != 0
    for i in range(p.shape[0]):
        gi = g[i] + weight_decay * p[i] if decay else g[i]
        mi = m[i] * beta1 + gi * one_minus_beta1
        vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
        m[i] = mi
        v[i] = vi
        p[i] -= (mi / (np.sqrt(vi) + eps)) * step_size


def subnormal_count(a: np.ndarray) -> int:
    x = np.abs(a)
    return int(np.count_nonzero((x > 0) & (x < np.finfo(a.dtype).tiny)))


def median_us(times: list[float]) -> float:
    return float(np.median(times)) * 1e6


def bench_multiply(calls: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    normal = rng.uniform(1e-3, 1.0, N_PARAMS).astype(np.float32)
    sub = (normal * np.float32(1e-39)).astype(np.float32)  # all subnormal
    out = np.empty_like(normal)
    res = []
    for a in (normal, sub):
        ts = []
        for _ in range(calls):
            t0 = time.perf_counter()
            np.multiply(a, np.float32(0.9), out=out)
            ts.append(time.perf_counter() - t0)
        res.append(median_us(ts))
    return res[0], res[1]


def adam_state(subnormal_fraction: float, seed: int = 0):
    """p, g, m, v of a DQN-sized Adam in mid-training; a fraction of units dead (g = 0) whose m
    is subnormal, spread over [2e-39, 1.1e-38] so it stays subnormal for >100 more steps."""
    rng = np.random.default_rng(seed)
    n = N_PARAMS
    p = rng.normal(0, 0.05, n).astype(np.float32)
    g = rng.normal(0, 1e-3, n).astype(np.float32)
    m = rng.normal(0, 1e-3, n).astype(np.float32)
    v = rng.uniform(1e-7, 1e-6, n).astype(np.float32)
    dead = rng.random(n) < subnormal_fraction
    g[dead] = 0
    m[dead] = (rng.uniform(2e-39, 1.1e-38, dead.sum()) * rng.choice([-1, 1], dead.sum())).astype(
        np.float32
    )
    return p, g, m, v


def bench_adam(fn, subnormal_fraction: float, calls: int) -> tuple[float, int, int]:
    p, g, m, v = adam_state(subnormal_fraction)
    before = subnormal_count(m)
    t = 1000
    lr, b1, b2, eps = 2.3e-3, 0.9, 0.999, 1e-8
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t
    scalars = as_scalars(np.float32, b1, 1 - b1, b2, 1 - b2, lr * np.sqrt(c2) / c1,
                         eps * np.sqrt(c2), 0.0)
    fn(p.copy(), g, m.copy(), v.copy(), *scalars)  # compile outside the timing
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn(p, g, m, v, *scalars)
        ts.append(time.perf_counter() - t0)
    return median_us(ts), before, subnormal_count(m)


def kernel_steps(T32: int = 2_000, T64: int = 5_000, start: float = 0.4) -> list[tuple]:
    """(model, variable, decay factor per step, first subnormal step in float32, in float64) per
    state variable of each shipped model; factor None: the variable does not decay (constant,
    growing, or exactly 0 after a step)."""
    from neurorl import models
    from neurorl.kernel import Kernel
    from neurorl.network import Network

    rows = []
    for path in sorted((ROOT / "models").glob("*.toml")):
        model = models.load(path.stem)
        found: dict[str, dict] = {v: {} for v in model.state_variables}
        for dtype, T in ((np.float32, T32), (np.float64, T64)):
            net = Network(dt=1.0)
            layer = net.layer(1, model, name="L")
            net.connect(net.input(1, name="x"), layer)
            for k in net.params:
                net.params[k][...] = 0  # no drive, biases 0: free decay
            kern = Kernel(net, dtype=dtype, output=("L", model.state_variables[0]))
            state = {"L": {v: np.full((1, 1), start) for v in model.state_variables}}
            _, cache = kern.forward(np.zeros((T, 1, 1)), state=state)
            for var in model.state_variables:
                x = np.abs(cache.state("L", var)[:, 0, 0])
                hit = np.nonzero((x > 0) & (x < np.finfo(dtype).tiny))[0]
                found[var][dtype] = int(hit[0]) + 1 if hit.size else None
                if dtype is np.float64:
                    ratio = x[11] / x[10] if x[10] > 0 else 0.0
                    found[var]["factor"] = ratio if 0 < ratio < 1 else None
        rows += [(path.stem, v, d["factor"], d[np.float32], d[np.float64])
                 for v, d in found.items()]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--no-kernel", action="store_true", help="skip the kernel's step counts")
    a = ap.parse_args()
    print(f"CPU: {cpu_model()}; numpy {np.__version__}, numba {numba.__version__}; "
          f"{N_PARAMS} float32 parameters; median of {a.calls} consecutive calls")

    normal, sub = bench_multiply(a.calls)
    print(f"numpy multiply x*0.9: normal {normal:.1f} µs, subnormal {sub:.1f} µs, "
          f"ratio {sub / normal:.2f}")

    print(f"{'adam':<24} {'normal µs':>10} {'50% sub µs':>11} {'ratio':>6} "
          f"{'subnormal m before -> after':>28}")
    for name, fn in (("without flush (before)", adam_no_flush), ("fused.adam_update", adam_update)):
        t_n, _, _ = bench_adam(fn, 0.0, a.calls)
        t_s, before, after = bench_adam(fn, 0.5, a.calls)
        print(f"{name:<24} {t_n:>10.1f} {t_s:>11.1f} {t_s / t_n:>6.2f} "
              f"{f'{before} -> {after}':>28}")

    if a.no_kernel:
        return
    print("kernel, free decay from 0.4 (dt 1 ms, default parameters): first step in the "
          "subnormal range")
    print(f"{'model':<18} {'var':<4} {'factor/step':>11} {'float32':>8} {'float64':>8}")
    for model, var, factor, s32, s64 in kernel_steps():
        f = "no decay" if factor is None else f"{factor:.4f}"
        print(f"{model:<18} {var:<4} {f:>11} {s32 if s32 else 'never':>8} "
              f"{s64 if s64 else 'never':>8}")


if __name__ == "__main__":
    main()
