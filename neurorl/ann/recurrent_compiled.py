"""The GRU's and LSTM's time loops compiled with numba: the steps of :mod:`neurorl.ann.recurrent`,
one element at a time.

In numpy every step of a (B, H) recurrent loop costs a dozen calls on small arrays, and the
backward pass first forms its per-gate factors as (T, B, G·H) arrays over all steps; here each
step is one pass over its B·H units between two recurrent products (``np.dot``, SciPy's BLAS on
one thread, as in :mod:`neurorl.kernel.compiled`), and the backward factors are formed where
they are used. The input projections before the loop and the weight gradients after it stay
numpy products (:mod:`neurorl.ann.recurrent`).

Numbers: the arithmetic runs in the arrays' dtype, σ and tanh with
:func:`neurorl.kernel.scalar_math.exp32` (float32) or :func:`~neurorl.kernel.scalar_math.exp`
(float64) in place of numpy's, so results agree with the numpy loops to the dtype's precision,
not bit for bit (float32: ~1e-6; float64: ~1e-15). The same inputs give the same numbers on
every call.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from neurorl.kernel.compiled import single_thread_loop_blas
from neurorl.kernel.scalar_math import exp, exp32

__all__ = ["gru_backward", "gru_forward", "lstm_backward", "lstm_forward"]

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}
_ONE32, _TWO32 = np.float32(1.0), np.float32(2.0)


def _sigmoid(x: float) -> float:
    """σ(x) in the precision of ``x`` (compiled: :func:`exp32` for float32, else :func:`exp`)."""
    return 1.0 / (1.0 + np.exp(-x))


def _tanh(x: float) -> float:
    """tanh(x) = 2 σ(2x) − 1 in the precision of ``x``."""
    return 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0


@overload(_sigmoid)
def _sigmoid_compiled(x):
    if x == types.float32:
        return lambda x: _ONE32 / (_ONE32 + exp32(-x))
    return lambda x: 1.0 / (1.0 + exp(-x))


@overload(_tanh)
def _tanh_compiled(x):
    if x == types.float32:
        return lambda x: _TWO32 / (_ONE32 + exp32(-_TWO32 * x)) - _ONE32
    return lambda x: 2.0 / (1.0 + exp(-2.0 * x)) - 1.0


# Each inner loop below writes one array and reads others, so that LLVM vectorises it.

@njit(**_JIT)
def _gru_forward(gates, hs, ghn, w_hh, b_hh):
    t_len, batch, width = gates.shape
    hid = width // 3
    gh = np.empty((batch, width), dtype=gates.dtype)
    r = np.empty(hid, dtype=gates.dtype)
    for t in range(t_len):
        np.dot(hs[t], w_hh, gh)
        for b in range(batch):
            g, ghb, hn, h, h_next = gates[t, b], gh[b], ghn[t, b], hs[t, b], hs[t + 1, b]
            for j in range(hid):
                r[j] = _sigmoid(g[j] + ghb[j] + b_hh[j])
            for j in range(hid, 2 * hid):
                g[j] = _sigmoid(g[j] + ghb[j] + b_hh[j])
            for j in range(hid):
                hn[j] = ghb[2 * hid + j] + b_hh[2 * hid + j]
            for j in range(hid):
                g[2 * hid + j] = _tanh(g[2 * hid + j] + r[j] * hn[j])
            for j in range(hid):
                g[j] = r[j]
            for j in range(hid):
                n = g[2 * hid + j]
                h_next[j] = n + g[hid + j] * (h[j] - n)


@njit(**_JIT)
def _gru_backward(dh, carry, gates, ghn, hs, w_hh_t, dgi, dgh):
    t_len, batch, width = gates.shape
    hid = width // 3
    dht = np.empty(hid, dtype=carry.dtype)
    through_z = np.empty((batch, hid), dtype=carry.dtype)
    one = carry.dtype.type(1.0)
    for t in range(t_len - 1, -1, -1):
        for b in range(batch):
            g, d, c, hn, h = gates[t, b], dh[t, b], carry[b], ghn[t, b], hs[t, b]
            gi, gg, tz = dgi[t, b], dgh[t, b], through_z[b]
            for j in range(hid):
                dht[j] = d[j] + c[j]
            for j in range(hid):  # n's pre-activation
                z, n = g[hid + j], g[2 * hid + j]
                gi[2 * hid + j] = dht[j] * (one - z) * (one - n * n)
            for j in range(hid):
                gg[2 * hid + j] = gi[2 * hid + j] * g[j]
            for j in range(hid):
                gg[j] = gi[2 * hid + j] * hn[j] * g[j] * (one - g[j])
            for j in range(hid):
                z = g[hid + j]
                gg[hid + j] = dht[j] * (h[j] - g[2 * hid + j]) * z * (one - z)
            for j in range(2 * hid):
                gi[j] = gg[j]
            for j in range(hid):
                tz[j] = dht[j] * g[hid + j]
        np.dot(dgh[t], w_hh_t, carry)
        carry += through_z


@njit(**_JIT)
def _lstm_forward(gates, hs, cs, tc, w_hh):
    t_len, batch, width = gates.shape
    hid = width // 4
    gh = np.empty((batch, width), dtype=gates.dtype)
    for t in range(t_len):
        np.dot(hs[t], w_hh, gh)
        for b in range(batch):
            a, ghb, c0, c1, th, h_next = gates[t, b], gh[b], cs[t, b], cs[t + 1, b], tc[t, b], \
                hs[t + 1, b]
            for j in range(2 * hid):
                a[j] = _sigmoid(a[j] + ghb[j])
            for j in range(2 * hid, 3 * hid):
                a[j] = _tanh(a[j] + ghb[j])
            for j in range(3 * hid, 4 * hid):
                a[j] = _sigmoid(a[j] + ghb[j])
            for j in range(hid):
                c1[j] = a[hid + j] * c0[j] + a[j] * a[2 * hid + j]
            for j in range(hid):
                th[j] = _tanh(c1[j])
            for j in range(hid):
                h_next[j] = a[3 * hid + j] * th[j]


@njit(**_JIT)
def _lstm_backward(dh, carry_h, carry_c, gates, cs, tc, w_hh_t, da):
    t_len, batch, width = gates.shape
    hid = width // 4
    dht = np.empty(hid, dtype=carry_h.dtype)
    dct = np.empty(hid, dtype=carry_h.dtype)
    one = carry_h.dtype.type(1.0)
    for t in range(t_len - 1, -1, -1):
        for b in range(batch):
            a, d, ch, cc, th, c0, dab = gates[t, b], dh[t, b], carry_h[b], carry_c[b], \
                tc[t, b], cs[t, b], da[t, b]
            for j in range(hid):
                dht[j] = d[j] + ch[j]
            for j in range(hid):
                dct[j] = dht[j] * a[3 * hid + j] * (one - th[j] * th[j]) + cc[j]
            for j in range(hid):
                i = a[j]
                dab[j] = dct[j] * a[2 * hid + j] * i * (one - i)
            for j in range(hid):
                f = a[hid + j]
                dab[hid + j] = dct[j] * c0[j] * f * (one - f)
            for j in range(hid):
                gg = a[2 * hid + j]
                dab[2 * hid + j] = dct[j] * a[j] * (one - gg * gg)
            for j in range(hid):
                o = a[3 * hid + j]
                dab[3 * hid + j] = dht[j] * th[j] * o * (one - o)
            for j in range(hid):
                cc[j] = dct[j] * a[hid + j]
        np.dot(da[t], w_hh_t, carry_h)


def gru_forward(gates: np.ndarray, hs: np.ndarray, ghn: np.ndarray, w_hh: np.ndarray,
                b_hh: np.ndarray) -> None:
    """The GRU's time loop, in place. ``gates`` (T, B, 3H): the input projections x W_ih + b_ih,
    replaced by r, z, n; ``hs`` (T+1, B, H) with h_0 in ``hs[0]``, filled with h_1 … h_T;
    ``ghn`` (T, B, H) receives h W_hn + b_hn of each step. All C-contiguous, one dtype."""
    single_thread_loop_blas()
    _gru_forward(gates, hs, ghn, np.ascontiguousarray(w_hh), np.ascontiguousarray(b_hh))


def gru_backward(dh: np.ndarray, carry: np.ndarray, gates: np.ndarray, ghn: np.ndarray,
                 hs: np.ndarray, w_hh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BPTT through the GRU's loop: ``dh`` (T, B, H) the gradients on h_1 … h_T, ``carry``
    (B, H) the one arriving at h_T from later (overwritten with d h_0); ``gates``, ``ghn``,
    ``hs`` as :func:`gru_forward` left them. Returns the gradients of the input and recurrent
    projections (with their biases), ``(dgi, dgh)``, each (T, B, 3H)."""
    single_thread_loop_blas()
    dgi, dgh = np.empty_like(gates), np.empty_like(gates)
    _gru_backward(np.ascontiguousarray(dh), carry, gates, ghn, hs,
                  np.ascontiguousarray(w_hh.T), dgi, dgh)
    return dgi, dgh


def lstm_forward(gates: np.ndarray, hs: np.ndarray, cs: np.ndarray, tc: np.ndarray,
                 w_hh: np.ndarray) -> None:
    """The LSTM's time loop, in place. ``gates`` (T, B, 4H): x W_ih + b_ih + b_hh, replaced by
    i, f, g, o; ``hs``, ``cs`` (T+1, B, H) with h_0, c_0 at index 0, filled with the later
    steps; ``tc`` (T, B, H) receives tanh(c_t)."""
    single_thread_loop_blas()
    _lstm_forward(gates, hs, cs, tc, np.ascontiguousarray(w_hh))


def lstm_backward(dh: np.ndarray, carry_h: np.ndarray, carry_c: np.ndarray, gates: np.ndarray,
                  cs: np.ndarray, tc: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
    """BPTT through the LSTM's loop: ``dh`` (T, B, H) on h_1 … h_T; ``carry_h``, ``carry_c``
    (B, H) the gradients arriving at h_T, c_T (overwritten with those of h_0, c_0). Returns the
    pre-activation gradients (T, B, 4H)."""
    single_thread_loop_blas()
    da = np.empty_like(gates)
    _lstm_backward(np.ascontiguousarray(dh), carry_h, carry_c, gates, cs, tc,
                   np.ascontiguousarray(w_hh.T), da)
    return da
