"""Fused loops compiled by numba for the element-wise parts of a training step.

Numpy runs ``z += b; relu; which units fired`` or an Adam update as several passes over memory,
each with its own call overhead; at DQN sizes (batch 64, 256 units, 67k parameters) those passes
cost more than the matrix products. Each function here is one pass that performs the same IEEE
operations in the same order as the numpy expression it replaces (no fast-math), so results do
not depend on which path ran; :func:`adam_update` also flushes subnormal results to zero, which
the others need not: they mask, copy and add values without decaying them, so subnormals reach
them only from subnormal inputs. Matrix products stay with numpy's BLAS.

Arrays are C-contiguous; scalars have the arrays' dtype. Compiled code is cached on disk.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "adam_update",
    "as_scalars",
    "bias_relu",
    "put_block",
    "relu_grad",
    "relu_grad_columns",
]

_jit = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")


@_jit
def adam_update(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, eps,
                weight_decay):  # pragma: no cover - compiled
    """Adam over 1-D arrays in place: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    p ← p − (m / (√v + ε))·α, with g ← g + λp first when ``weight_decay`` λ ≠ 0.

    m and v are flushed to 0 where their magnitude is below the dtype's smallest normal number
    (``np.finfo(dtype).tiny``; NaN passes). A zero gradient (a dead ReLU) decays m by β₁ per step
    into the subnormal range and, as k·β₁ rounds back to k for the smallest subnormals, m then
    stays there; arithmetic on subnormals is ~9x slower on Intel CPUs (a DQN update took 840 µs
    instead of ~100 µs with 53 % of m subnormal). A flush changes that step of p by at most
    ``tiny``·α/ε (~3e-33 for float32 at DQN's α, ε), below the dtype's resolution for any |p|
    above ~1e-25. The step itself is left unflushed: it is subnormal only for the few steps in
    which a decaying m passes just above ``tiny``. The flush costs no measurable time
    (benchmarks/bench_denormals.py).
    """
    decay = weight_decay != 0
    zero = p.dtype.type(0)
    tiny = p.dtype.type(np.finfo(p.dtype).tiny)
    for i in range(p.shape[0]):
        gi = g[i] + weight_decay * p[i] if decay else g[i]
        mi = m[i] * beta1 + gi * one_minus_beta1
        vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
        if abs(mi) < tiny:
            mi = zero
        if vi < tiny:
            vi = zero
        m[i] = mi
        v[i] = vi
        p[i] -= (mi / (np.sqrt(vi) + eps)) * step_size


@_jit
def bias_relu(z, b, alive):  # pragma: no cover - compiled
    """``z`` (N, M) ← max(z + b, 0) in place (NaN stays NaN, as with ``np.maximum``);
    ``alive`` (M,) ← whether unit j is positive for some row. Returns the number alive."""
    n, m = z.shape
    zero = z.dtype.type(0)
    alive[:] = False
    for i in range(n):
        for j in range(m):
            x = z[i, j] + b[j]
            if x < zero:
                x = zero
            z[i, j] = x
            alive[j] |= x > 0
    return alive.sum()


@_jit
def relu_grad(d, h, db):  # pragma: no cover - compiled
    """Through a ReLU output ``h``: ``d`` (N, M) ← d·[h > 0] in place; ``db`` (M,) ← Σ_rows d."""
    n, m = d.shape
    zero = d.dtype.type(0)
    db[:] = zero
    for i in range(n):
        for j in range(m):
            x = d[i, j] if h[i, j] > zero else zero
            d[i, j] = x
            db[j] += x


@_jit
def relu_grad_columns(d, h, cols, out, db):  # pragma: no cover - compiled
    """As :func:`relu_grad` for the units ``cols`` only (the others never fired):
    ``out`` (N, K)[:, k] ← d[:, cols[k]]·[h[:, cols[k]] > 0]; ``db`` (M,) ← its column sums at
    ``cols``, 0 elsewhere."""
    n = d.shape[0]
    zero = d.dtype.type(0)
    db[:] = zero
    for i in range(n):
        for k in range(cols.shape[0]):
            j = cols[k]
            x = d[i, j] if h[i, j] > zero else zero
            out[i, k] = x
            db[j] += x


@_jit
def put_block(dW, rows, cols, block):  # pragma: no cover - compiled
    """``dW`` (R, C) ← 0, then dW[rows[i], cols[k]] ← block[i, k]."""
    dW[:] = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        for k in range(cols.shape[0]):
            dW[r, cols[k]] = block[i, k]


def as_scalars(dtype: np.dtype, *values: float) -> tuple:
    """``values`` as numpy scalars of ``dtype`` (what the compiled loops take)."""
    t = np.dtype(dtype).type
    return tuple(t(v) for v in values)
