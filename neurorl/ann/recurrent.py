"""Numpy recurrent baselines: GRU and LSTM cells with PyTorch's gate equations, and BPTT.

The non-spiking references for the GRSN study. Each cell is a frozen dataclass holding only its
sizes; parameters are a ``dict[str, np.ndarray]`` passed in (Norse style), and every method is a
pure function of parameters and state:

* ``step(params, x, state) -> state'`` — one time step, no cache (for acting);
* ``forward(params, x, state0) -> (h_seq, cache)`` — a whole sequence ``x`` (T, B, n_in) from the
  initial state ``state0``; ``h_seq`` (T, B, H) holds h_1 … h_T (PyTorch's ``output``);
* ``backward(params, cache, dh, ...) -> (grads, dx, dstate0)`` — backpropagation through time.

Layouts (``x @ W``, as in :mod:`neurorl.ann.nn`)
-----------------------------------------------
* ``W_ih`` (n_in, G·H), ``W_hh`` (H, G·H), ``b_ih``, ``b_hh`` (G·H,), with G gate blocks of H
  columns each, in PyTorch's order: GRU ``r, z, n`` (G = 3), LSTM ``i, f, g, o`` (G = 4). So
  ``W_ih = weight_ih_l0.T``, ``W_hh = weight_hh_l0.T``, ``b_ih = bias_ih_l0``, ``b_hh = bias_hh_l0``
  of a one-layer ``torch.nn.GRU`` / ``torch.nn.LSTM``.
* States are (B, H); the LSTM state is the tuple ``(h, c)``.

Equations (σ the logistic function, ⊙ elementwise)::

    GRU   r = σ(x W_ir + b_ir + h W_hr + b_hr)        LSTM  i = σ(x W_ii + b_ii + h W_hi + b_hi)
          z = σ(x W_iz + b_iz + h W_hz + b_hz)              f = σ(x W_if + b_if + h W_hf + b_hf)
          n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn))     g = tanh(x W_ig + b_ig + h W_hg + b_hg)
          h' = (1 − z) ⊙ n + z ⊙ h                          o = σ(x W_io + b_io + h W_ho + b_ho)
                                                            c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')

Arithmetic runs in the parameters' dtype (float32 by default; float64 works, e.g. for gradient
checks); inputs and states are cast to it. The input projection of all T steps is one matmul up
front, so the recurrent loop does only ``h @ W_hh`` per step; the backward pass keeps the gate
gradients of every step and forms ``dW_ih``, ``dW_hh``, the biases and ``dx`` with one matmul or
sum each after the loop. All values are dimensionless (no time constants: one step per frame).

The time loops themselves run compiled (:mod:`neurorl.ann.recurrent_compiled`, numba) where numba
and SciPy are installed, else as numpy calls per step; a cell's ``loops`` (``"auto"``,
``"compiled"``, ``"python"``; default: the environment variable ``NEURORL_LOOPS``, else
``"auto"``, as for the spiking kernel) chooses. Both give the same numbers to the dtype's
precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GRU", "INITS", "LSTM", "orthogonal", "sigmoid"]

Params = dict[str, np.ndarray]
INITS = ("torch", "orthogonal")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` computed as ``(1 + tanh(x/2)) / 2``.

    No overflow for large |x| in float32, same dtype as ``x``; ``out`` (optional) receives it.
    """
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random (n, n) orthogonal matrix, Haar-distributed (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _init(
    rng: np.random.Generator, n_in: int, hidden: int, gates: int, dtype: Any, scheme: str
) -> Params:
    """Parameters of a cell with ``gates`` blocks (see :meth:`GRU.init`)."""
    bound = 1.0 / np.sqrt(hidden)
    width = gates * hidden
    if scheme == "torch":
        params = {
            "W_ih": rng.uniform(-bound, bound, (n_in, width)),
            "W_hh": rng.uniform(-bound, bound, (hidden, width)),
            "b_ih": rng.uniform(-bound, bound, width),
            "b_hh": rng.uniform(-bound, bound, width),
        }
    elif scheme == "orthogonal":
        params = {
            "W_ih": rng.uniform(-bound, bound, (n_in, width)),
            "W_hh": np.concatenate([orthogonal(rng, hidden) for _ in range(gates)], axis=1),
            "b_ih": np.zeros(width),
            "b_hh": np.zeros(width),
        }
    else:
        raise ValueError(f"unknown initialisation {scheme!r}; choose one of {', '.join(INITS)}")
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}


def _inputs(params: Params, x: np.ndarray, n_in: int) -> tuple[np.ndarray, Any]:
    """``x`` (T, B, n_in) cast to the parameters' dtype, and that dtype."""
    dtype = params["W_hh"].dtype
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 3 or x.shape[2] != n_in:
        raise ValueError(f"x must be (T, B, {n_in}), got {x.shape}")
    return x, dtype


def _compiled(loops: str | None) -> bool:
    """Whether the compiled time loops run for a cell's ``loops`` (see the module docstring)."""
    from neurorl.kernel.compiled import loops_choice, missing_numba

    choice = loops_choice(loops)
    if choice == "python":
        return False
    reason = missing_numba()
    if reason and choice == "compiled":
        raise ValueError(f"loops='compiled': {reason}")
    return reason is None


def _state(h: np.ndarray, batch: int, hidden: int, dtype: Any) -> np.ndarray:
    """A (B, H) state array in ``dtype`` (a fresh copy), checking its shape."""
    h = np.array(h, dtype=dtype)
    if h.shape != (batch, hidden):
        raise ValueError(f"state must be ({batch}, {hidden}), got {h.shape}")
    return h


def _weight_grads(
    params: Params, x: np.ndarray, h_prev: np.ndarray, dgi: np.ndarray, dgh: np.ndarray
) -> tuple[Params, np.ndarray]:
    """Parameter gradients and ``dx`` from the pre-activation gradients of all steps.

    ``x`` (T, B, n_in), ``h_prev`` (T, B, H) the state entering each step, ``dgi``/``dgh``
    (T, B, G·H) the gradients of the input and recurrent projections (with biases).
    """
    t, b, n_in = x.shape
    hidden = h_prev.shape[2]
    gi2 = dgi.reshape(t * b, -1)
    gh2 = dgh.reshape(t * b, -1)
    grads = {
        "W_ih": x.reshape(t * b, n_in).T @ gi2,
        "W_hh": h_prev.reshape(t * b, hidden).T @ gh2,
        "b_ih": gi2.sum(axis=0),
        "b_hh": gh2.sum(axis=0),
    }
    dx = (gi2 @ params["W_ih"].T).reshape(t, b, n_in)
    return grads, dx


# --------------------------------------------------------------------------------------------
# GRU
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GRU:
    """Gated recurrent unit (Cho et al. 2014) with PyTorch's equations (``torch.nn.GRU``).

    ``n_in`` inputs, ``hidden`` units H; state h (B, H). Gate blocks r, z, n (see the module
    docstring for layouts and equations); ``loops`` chooses the time loops (module docstring).
    """

    n_in: int
    hidden: int
    loops: str | None = None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"W_ih": (n_in, 3H), "W_hh": (H, 3H), "b_ih": (3H,), "b_hh": (3H,)}``."""
        h3 = 3 * self.hidden
        return {"W_ih": (self.n_in, h3), "W_hh": (self.hidden, h3), "b_ih": (h3,), "b_hh": (h3,)}

    def init(
        self, rng: np.random.Generator, dtype: Any = np.float32, scheme: str = "torch"
    ) -> Params:
        """Fresh parameters in ``dtype``.

        ``scheme="torch"``: PyTorch's default, every weight and bias U(−1/√H, 1/√H).
        ``scheme="orthogonal"``: each gate's (H, H) block of ``W_hh`` a random orthogonal matrix,
        zero biases, ``W_ih`` as for ``"torch"``.
        """
        return _init(rng, self.n_in, self.hidden, 3, dtype, scheme)

    def initial_state(self, batch: int, dtype: Any = np.float32) -> np.ndarray:
        """Zero state h (B, H)."""
        return np.zeros((batch, self.hidden), dtype=dtype)

    def macs_per_step(self) -> int:
        """Multiply-accumulates of one step for one sample: ``3·(n_in·H + H·H)``."""
        return 3 * (self.n_in * self.hidden + self.hidden * self.hidden)

    def step(self, params: Params, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One step: ``x`` (B, n_in), ``h`` (B, H) → h' (B, H). No cache."""
        hid = self.hidden
        dtype = params["W_hh"].dtype
        h = np.asarray(h, dtype=dtype)
        gi = np.asarray(x, dtype=dtype) @ params["W_ih"]
        gi += params["b_ih"]
        gh = h @ params["W_hh"]
        gh += params["b_hh"]
        rz = gi[:, : 2 * hid]
        rz += gh[:, : 2 * hid]
        sigmoid(rz, out=rz)
        n = gi[:, 2 * hid :]
        n += rz[:, :hid] * gh[:, 2 * hid :]
        np.tanh(n, out=n)
        return n + rz[:, hid:] * (h - n)

    def forward(
        self, params: Params, x: np.ndarray, h0: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run the sequence ``x`` (T, B, n_in) from ``h0`` (B, H).

        Returns ``(h_seq (T, B, H), cache)``: h_seq[t] is the state after step t (h_1 … h_T). The
        cache (for :meth:`backward` and :meth:`last_state`) holds ``"x"``, ``"h"`` (T+1, B, H),
        h_0 … h_T, ``"gates"`` (T, B, 3H) r, z, n after their nonlinearities, ``"ghn"`` (T, B, H)
        ``h W_hn + b_hn``.
        """
        x, dtype = _inputs(params, x, self.n_in)
        t_len, batch, _ = x.shape
        hid = self.hidden
        w_hh, b_hh = params["W_hh"], params["b_hh"]
        gates = (x.reshape(t_len * batch, self.n_in) @ params["W_ih"]).reshape(t_len, batch, -1)
        gates += params["b_ih"]  # input projections; turned into r, z, n in place below
        hs = np.empty((t_len + 1, batch, hid), dtype=dtype)
        hs[0] = _state(h0, batch, hid, dtype)
        ghn = np.empty((t_len, batch, hid), dtype=dtype)
        if _compiled(self.loops):
            from neurorl.ann.recurrent_compiled import gru_forward

            gru_forward(gates, hs, ghn, w_hh, b_hh)
            return hs[1:], {"x": x, "h": hs, "gates": gates, "ghn": ghn}
        gh = np.empty((batch, 3 * hid), dtype=dtype)
        for t in range(t_len):
            h = hs[t]
            np.matmul(h, w_hh, out=gh)
            gh += b_hh
            g = gates[t]
            rz = g[:, : 2 * hid]
            rz += gh[:, : 2 * hid]
            sigmoid(rz, out=rz)
            ghn[t] = gh[:, 2 * hid :]
            n = g[:, 2 * hid :]
            n += rz[:, :hid] * ghn[t]
            np.tanh(n, out=n)
            hn = hs[t + 1]
            np.subtract(h, n, out=hn)
            hn *= rz[:, hid:]
            hn += n
        return hs[1:], {"x": x, "h": hs, "gates": gates, "ghn": ghn}

    def last_state(self, cache: dict[str, np.ndarray]) -> np.ndarray:
        """The final state h_T (B, H) of a :meth:`forward` pass (to carry into the next one)."""
        return cache["h"][-1]

    def backward(
        self,
        params: Params,
        cache: dict[str, np.ndarray],
        dh: np.ndarray | None,
        dh_last: np.ndarray | None = None,
    ) -> tuple[Params, np.ndarray, np.ndarray]:
        """BPTT through a :meth:`forward` pass.

        ``dh`` (T, B, H): gradient of the loss w.r.t. ``h_seq`` (None: zeros); ``dh_last``
        (B, H, optional): gradient w.r.t. the final state arriving from later (added to dh[T−1]).
        Returns ``(grads (keyed like params), dx (T, B, n_in), dh0 (B, H))``.
        """
        x, hs, gates, ghn = cache["x"], cache["h"], cache["gates"], cache["ghn"]
        dtype = hs.dtype
        t_len, batch, hid = ghn.shape
        if _compiled(self.loops):
            from neurorl.ann.recurrent_compiled import gru_backward

            carry = np.zeros((batch, hid), dtype) if dh_last is None else (
                np.array(dh_last, dtype=dtype))
            dh_all = np.zeros((t_len, batch, hid), dtype) if dh is None else dh
            dgi, dgh = gru_backward(np.asarray(dh_all, dtype), carry, gates, ghn, hs,
                                    params["W_hh"])
            grads, dx = _weight_grads(params, x, hs[:-1], dgi, dgh)
            return grads, dx, carry
        g4 = gates.reshape(t_len, batch, 3, hid)
        r, z, n = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2]
        h_prev = hs[:-1]
        # d(pre-activation)/dh' for each gate, for all steps at once
        k_n = (1 - z) * (1 - n * n)  # n's pre-activation
        fac = np.empty((t_len, batch, 3, hid), dtype=dtype)  # recurrent-projection factors
        fac[:, :, 0] = k_n * ghn * r * (1 - r)
        fac[:, :, 1] = (h_prev - n) * z * (1 - z)
        fac[:, :, 2] = k_n * r
        dh_all = np.zeros((t_len, batch, hid), dtype=dtype) if dh is None else (
            np.asarray(dh, dtype=dtype)
        )
        dgh = np.empty((t_len, batch, 3, hid), dtype=dtype)
        dht = np.empty((batch, hid), dtype=dtype)  # total gradient reaching h_{t+1}
        carry = np.zeros((batch, hid), dtype=dtype) if dh_last is None else (
            np.array(dh_last, dtype=dtype)
        )
        dhs = np.empty((t_len, batch, hid), dtype=dtype)
        w_hh_t = params["W_hh"].T
        for t in range(t_len - 1, -1, -1):
            np.add(dh_all[t], carry, out=dht)
            dhs[t] = dht
            np.multiply(dht[:, None, :], fac[t], out=dgh[t])
            carry = dgh[t].reshape(batch, 3 * hid) @ w_hh_t
            carry += dht * z[t]
        dgi = dgh.copy()
        dgi[:, :, 2] = dhs * k_n
        grads, dx = _weight_grads(params, x, h_prev, dgi, dgh)
        return grads, dx, carry


# --------------------------------------------------------------------------------------------
# LSTM
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LSTM:
    """Long short-term memory (Hochreiter & Schmidhuber 1997) as ``torch.nn.LSTM``.

    ``n_in`` inputs, ``hidden`` units H; state ``(h, c)``, two (B, H) arrays. Gate blocks
    i, f, g, o (see the module docstring for layouts and equations); ``loops`` chooses the time
    loops (module docstring).
    """

    n_in: int
    hidden: int
    loops: str | None = None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"W_ih": (n_in, 4H), "W_hh": (H, 4H), "b_ih": (4H,), "b_hh": (4H,)}``."""
        h4 = 4 * self.hidden
        return {"W_ih": (self.n_in, h4), "W_hh": (self.hidden, h4), "b_ih": (h4,), "b_hh": (h4,)}

    def init(
        self, rng: np.random.Generator, dtype: Any = np.float32, scheme: str = "torch"
    ) -> Params:
        """Fresh parameters in ``dtype``; ``scheme`` as in :meth:`GRU.init`."""
        return _init(rng, self.n_in, self.hidden, 4, dtype, scheme)

    def initial_state(
        self, batch: int, dtype: Any = np.float32
    ) -> tuple[np.ndarray, np.ndarray]:
        """Zero state ``(h, c)``, each (B, H)."""
        return (np.zeros((batch, self.hidden), dtype=dtype),
                np.zeros((batch, self.hidden), dtype=dtype))

    def macs_per_step(self) -> int:
        """Multiply-accumulates of one step for one sample: ``4·(n_in·H + H·H)``."""
        return 4 * (self.n_in * self.hidden + self.hidden * self.hidden)

    def step(
        self, params: Params, x: np.ndarray, state: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One step: ``x`` (B, n_in), ``state = (h, c)`` (B, H) each → ``(h', c')``. No cache."""
        hid = self.hidden
        dtype = params["W_hh"].dtype
        h, c = (np.asarray(s, dtype=dtype) for s in state)
        a = np.asarray(x, dtype=dtype) @ params["W_ih"]
        a += h @ params["W_hh"]
        a += params["b_ih"]
        a += params["b_hh"]
        sigmoid(a[:, : 2 * hid], out=a[:, : 2 * hid])
        np.tanh(a[:, 2 * hid : 3 * hid], out=a[:, 2 * hid : 3 * hid])
        sigmoid(a[:, 3 * hid :], out=a[:, 3 * hid :])
        c_new = a[:, hid : 2 * hid] * c
        c_new += a[:, :hid] * a[:, 2 * hid : 3 * hid]
        return a[:, 3 * hid :] * np.tanh(c_new), c_new

    def forward(
        self, params: Params, x: np.ndarray, state0: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run the sequence ``x`` (T, B, n_in) from ``state0 = (h0, c0)`` (B, H) each.

        Returns ``(h_seq (T, B, H), cache)``, h_seq[t] = h_{t+1}. The cache (for :meth:`backward`
        and :meth:`last_state`) holds ``"x"``, ``"h"`` and ``"c"`` (T+1, B, H) from step 0,
        ``"gates"`` (T, B, 4H) i, f, g, o after their nonlinearities, ``"tc"`` (T, B, H) tanh(c_t).
        """
        x, dtype = _inputs(params, x, self.n_in)
        t_len, batch, _ = x.shape
        hid = self.hidden
        w_hh = params["W_hh"]
        gates = (x.reshape(t_len * batch, self.n_in) @ params["W_ih"]).reshape(t_len, batch, -1)
        gates += params["b_ih"] + params["b_hh"]
        hs = np.empty((t_len + 1, batch, hid), dtype=dtype)
        cs = np.empty((t_len + 1, batch, hid), dtype=dtype)
        hs[0] = _state(state0[0], batch, hid, dtype)
        cs[0] = _state(state0[1], batch, hid, dtype)
        tc = np.empty((t_len, batch, hid), dtype=dtype)
        if _compiled(self.loops):
            from neurorl.ann.recurrent_compiled import lstm_forward

            lstm_forward(gates, hs, cs, tc, w_hh)
            return hs[1:], {"x": x, "h": hs, "c": cs, "gates": gates, "tc": tc}
        gh = np.empty((batch, 4 * hid), dtype=dtype)
        ig = np.empty((batch, hid), dtype=dtype)
        for t in range(t_len):
            a = gates[t]
            np.matmul(hs[t], w_hh, out=gh)
            a += gh
            sigmoid(a[:, : 2 * hid], out=a[:, : 2 * hid])
            np.tanh(a[:, 2 * hid : 3 * hid], out=a[:, 2 * hid : 3 * hid])
            sigmoid(a[:, 3 * hid :], out=a[:, 3 * hid :])
            c = cs[t + 1]
            np.multiply(a[:, hid : 2 * hid], cs[t], out=c)
            np.multiply(a[:, :hid], a[:, 2 * hid : 3 * hid], out=ig)
            c += ig
            np.tanh(c, out=tc[t])
            np.multiply(a[:, 3 * hid :], tc[t], out=hs[t + 1])
        return hs[1:], {"x": x, "h": hs, "c": cs, "gates": gates, "tc": tc}

    def last_state(self, cache: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The final state ``(h_T, c_T)`` of a :meth:`forward` pass."""
        return cache["h"][-1], cache["c"][-1]

    def backward(
        self,
        params: Params,
        cache: dict[str, np.ndarray],
        dh: np.ndarray | None,
        dh_last: np.ndarray | None = None,
        dc_last: np.ndarray | None = None,
    ) -> tuple[Params, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """BPTT through a :meth:`forward` pass.

        ``dh`` (T, B, H): gradient w.r.t. ``h_seq`` (None: zeros); ``dh_last``, ``dc_last``
        (B, H, optional): gradients w.r.t. the final h_T and c_T arriving from later.
        Returns ``(grads (keyed like params), dx (T, B, n_in), (dh0, dc0) (B, H) each)``.
        """
        x, hs, cs, gates, tc = cache["x"], cache["h"], cache["c"], cache["gates"], cache["tc"]
        dtype = hs.dtype
        t_len, batch, hid = tc.shape
        if _compiled(self.loops):
            from neurorl.ann.recurrent_compiled import lstm_backward

            carry_h, carry_c = (np.zeros((batch, hid), dtype) if d is None else
                                np.array(d, dtype=dtype) for d in (dh_last, dc_last))
            dh_all = np.zeros((t_len, batch, hid), dtype) if dh is None else dh
            da = lstm_backward(np.asarray(dh_all, dtype), carry_h, carry_c, gates, cs, tc,
                               params["W_hh"])
            grads, dx = _weight_grads(params, x, hs[:-1], da, da)
            return grads, dx, (carry_h, carry_c)
        g4 = gates.reshape(t_len, batch, 4, hid)
        i, f, g, o = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2], g4[:, :, 3]
        # pre-activation gradient per unit of dc_t (i, f, g) and of dh_t (o), all steps at once
        fac = np.empty((t_len, batch, 3, hid), dtype=dtype)
        fac[:, :, 0] = g * i * (1 - i)
        fac[:, :, 1] = cs[:-1] * f * (1 - f)
        fac[:, :, 2] = i * (1 - g * g)
        k_o = tc * o * (1 - o)
        k_c = o * (1 - tc * tc)  # dc_t from dh_t
        dh_all = np.zeros((t_len, batch, hid), dtype=dtype) if dh is None else (
            np.asarray(dh, dtype=dtype)
        )
        da = np.empty((t_len, batch, 4, hid), dtype=dtype)
        dht = np.empty((batch, hid), dtype=dtype)
        dct = np.empty((batch, hid), dtype=dtype)
        carry_h = np.zeros((batch, hid), dtype=dtype) if dh_last is None else (
            np.array(dh_last, dtype=dtype)
        )
        carry_c = np.zeros((batch, hid), dtype=dtype) if dc_last is None else (
            np.array(dc_last, dtype=dtype)
        )
        w_hh_t = params["W_hh"].T
        for t in range(t_len - 1, -1, -1):
            np.add(dh_all[t], carry_h, out=dht)
            np.multiply(dht, k_c[t], out=dct)
            dct += carry_c
            np.multiply(dct[:, None, :], fac[t], out=da[t, :, :3])
            np.multiply(dht, k_o[t], out=da[t, :, 3])
            carry_c = dct * f[t]
            carry_h = da[t].reshape(batch, 4 * hid) @ w_hh_t
        grads, dx = _weight_grads(params, x, hs[:-1], da, da)
        return grads, dx, (carry_h, carry_c)
