"""GRU and LSTM baselines (neurorl.ann.recurrent): BPTT against finite differences, the sequence
pass against the step loop, PyTorch's gate order from the written-out equations, MAC counts and
the float32 path, each on the numpy loops and on the compiled ones (neurorl.ann.recurrent_compiled;
the two against each other: tests/test_recurrent_compiled.py)."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.ann.recurrent import GRU, LSTM, orthogonal

T, B, N_IN, H = 5, 3, 4, 6


@pytest.fixture(autouse=True, params=["python", "compiled"])
def loops(request, monkeypatch):
    """Every test below runs on both time loops (the cells' default ``loops`` reads this)."""
    monkeypatch.setenv("NEURORL_LOOPS", request.param)
    return request.param


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _setup(cell, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = cell.init(rng, dtype=dtype)
    for v in params.values():  # larger weights than the default: saturating gates get tested too
        v[...] = rng.normal(0.0, 0.7, v.shape)
    x = rng.normal(0.0, 1.0, (T, B, N_IN)).astype(dtype)
    if isinstance(cell, LSTM):
        state0 = tuple(rng.normal(0.0, 0.5, (B, H)).astype(dtype) for _ in range(2))
    else:
        state0 = rng.normal(0.0, 0.5, (B, H)).astype(dtype)
    return rng, params, x, state0


def _rel_err(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


def _numeric_grad(fn, arr, eps=1e-6):
    """Central differences of the scalar ``fn()`` w.r.t. every entry of ``arr`` (in place)."""
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = fn()
        flat[k] = old - eps
        down = fn()
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return grad


def test_gru_gradients_match_finite_differences():
    cell = GRU(N_IN, H)
    rng, params, x, h0 = _setup(cell)
    r_seq, r_last = rng.normal(size=(T, B, H)), rng.normal(size=(B, H))

    def loss():
        h_seq, cache = cell.forward(params, x, h0)
        return float(np.sum(r_seq * h_seq) + np.sum(r_last * cell.last_state(cache)))

    _, cache = cell.forward(params, x, h0)
    grads, dx, dh0 = cell.backward(params, cache, r_seq, r_last)
    assert set(grads) == set(params)
    for key, value in params.items():
        assert grads[key].shape == value.shape
        assert _rel_err(grads[key], _numeric_grad(loss, value)) < 1e-6, key
    assert _rel_err(dx, _numeric_grad(loss, x)) < 1e-6
    assert _rel_err(dh0, _numeric_grad(loss, h0)) < 1e-6


def test_lstm_gradients_match_finite_differences():
    cell = LSTM(N_IN, H)
    rng, params, x, (h0, c0) = _setup(cell)
    r_seq, r_h, r_c = rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H))

    def loss():
        h_seq, cache = cell.forward(params, x, (h0, c0))
        h_last, c_last = cell.last_state(cache)
        return float(np.sum(r_seq * h_seq) + np.sum(r_h * h_last) + np.sum(r_c * c_last))

    _, cache = cell.forward(params, x, (h0, c0))
    grads, dx, (dh0, dc0) = cell.backward(params, cache, r_seq, r_h, r_c)
    assert set(grads) == set(params)
    for key, value in params.items():
        assert grads[key].shape == value.shape
        assert _rel_err(grads[key], _numeric_grad(loss, value)) < 1e-6, key
    assert _rel_err(dx, _numeric_grad(loss, x)) < 1e-6
    assert _rel_err(dh0, _numeric_grad(loss, h0)) < 1e-6
    assert _rel_err(dc0, _numeric_grad(loss, c0)) < 1e-6


def test_backward_without_sequence_gradient():
    """``dh=None`` with only a final-state gradient equals passing zeros."""
    cell = GRU(N_IN, H)
    rng, params, x, h0 = _setup(cell)
    _, cache = cell.forward(params, x, h0)
    r_last = rng.normal(size=(B, H))
    g1, dx1, dh1 = cell.backward(params, cache, None, r_last)
    g2, dx2, dh2 = cell.backward(params, cache, np.zeros((T, B, H)), r_last)
    for key in g1:
        np.testing.assert_allclose(g1[key], g2[key])
    np.testing.assert_allclose(dx1, dx2)
    np.testing.assert_allclose(dh1, dh2)


@pytest.mark.parametrize("cls", [GRU, LSTM])
def test_forward_equals_step_loop(cls):
    cell = cls(N_IN, H)
    _, params, x, state = _setup(cell, seed=3)
    h_seq, cache = cell.forward(params, x, state)
    for t in range(T):
        state = cell.step(params, x[t], state)
        h = state[0] if cls is LSTM else state
        np.testing.assert_allclose(h_seq[t], h, rtol=1e-12, atol=1e-12)
    last = cell.last_state(cache)
    if cls is LSTM:
        np.testing.assert_allclose(last[1], state[1], rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(last, state, rtol=1e-12, atol=1e-12)


def _torch_layout(params, gates):
    """Split into PyTorch's per-gate matrices: weight_ih_l0 is (G·H, n_in), rows gate by gate."""
    w_ih, w_hh = params["W_ih"].T, params["W_hh"].T  # (G·H, n_in), (G·H, H) as torch stores them
    out = {}
    for k, name in enumerate(gates):
        rows = slice(k * H, (k + 1) * H)
        out[f"W_i{name}"], out[f"W_h{name}"] = w_ih[rows], w_hh[rows]
        out[f"b_i{name}"], out[f"b_h{name}"] = params["b_ih"][rows], params["b_hh"][rows]
    return out


def test_gru_gate_order_is_pytorch():
    cell = GRU(N_IN, H)
    _, params, x, h = _setup(cell, seed=5)
    p = _torch_layout(params, "rzn")
    xt = x[0]
    r = _sig(xt @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
    z = _sig(xt @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
    n = np.tanh(xt @ p["W_in"].T + p["b_in"] + r * (h @ p["W_hn"].T + p["b_hn"]))
    expect = (1 - z) * n + z * h
    np.testing.assert_allclose(cell.step(params, xt, h), expect, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cell.forward(params, x[:1], h)[0][0], expect, rtol=1e-12,
                               atol=1e-12)


def test_lstm_gate_order_is_pytorch():
    cell = LSTM(N_IN, H)
    _, params, x, (h, c) = _setup(cell, seed=6)
    p = _torch_layout(params, "ifgo")
    xt = x[0]

    def pre(name):
        return xt @ p[f"W_i{name}"].T + p[f"b_i{name}"] + h @ p[f"W_h{name}"].T + p[f"b_h{name}"]

    i, f, g, o = _sig(pre("i")), _sig(pre("f")), np.tanh(pre("g")), _sig(pre("o"))
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    hs, cs = cell.step(params, xt, (h, c))
    np.testing.assert_allclose(hs, h_new, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cs, c_new, rtol=1e-12, atol=1e-12)
    h_seq, cache = cell.forward(params, x[:1], (h, c))
    np.testing.assert_allclose(h_seq[0], h_new, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cell.last_state(cache)[1], c_new, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,gates", [(GRU, 3), (LSTM, 4)])
def test_shapes_and_macs(cls, gates):
    cell = cls(48, 128)
    assert cell.macs_per_step() == gates * (48 * 128 + 128 * 128)
    shapes = cell.param_shapes()
    assert shapes == {"W_ih": (48, gates * 128), "W_hh": (128, gates * 128),
                      "b_ih": (gates * 128,), "b_hh": (gates * 128,)}
    assert cell.macs_per_step() == shapes["W_ih"][0] * shapes["W_ih"][1] + (
        shapes["W_hh"][0] * shapes["W_hh"][1]
    )
    params = cell.init(np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == shapes
    bound = 1 / np.sqrt(128)
    assert all(np.abs(v).max() <= bound for v in params.values())


@pytest.mark.parametrize("cls,gates", [(GRU, 3), (LSTM, 4)])
def test_orthogonal_init(cls, gates):
    cell = cls(5, 7)
    params = cell.init(np.random.default_rng(1), scheme="orthogonal")
    for k in range(gates):
        block = params["W_hh"][:, k * 7 : (k + 1) * 7].astype(np.float64)
        np.testing.assert_allclose(block.T @ block, np.eye(7), atol=1e-5)
    assert not params["b_ih"].any() and not params["b_hh"].any()
    q = orthogonal(np.random.default_rng(2), 4)
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-12)
    with pytest.raises(ValueError):
        cell.init(np.random.default_rng(0), scheme="nope")


@pytest.mark.parametrize("cls", [GRU, LSTM])
def test_float32_path(cls):
    cell = cls(N_IN, H)
    rng = np.random.default_rng(7)
    params = cell.init(rng)
    assert all(v.dtype == np.float32 for v in params.values())
    x = rng.normal(size=(T, B, N_IN))  # float64 input is cast to the parameters' dtype
    state0 = cell.initial_state(B)
    h_seq, cache = cell.forward(params, x, state0)
    assert h_seq.dtype == np.float32 and h_seq.shape == (T, B, H)
    step = cell.step(params, x[0], state0)
    for s in step if cls is LSTM else (step,):
        assert s.dtype == np.float32 and s.shape == (B, H)
    grads, dx, d0 = cell.backward(params, cache, np.ones((T, B, H)))
    assert all(grads[k].dtype == np.float32 and grads[k].shape == v.shape
               for k, v in params.items())
    assert dx.dtype == np.float32 and dx.shape == (T, B, N_IN)
    for d in d0 if cls is LSTM else (d0,):
        assert d.dtype == np.float32 and d.shape == (B, H)
    # and it agrees with the float64 computation
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    s64 = cell.initial_state(B, np.float64)
    h64, c64 = cell.forward(p64, x, s64)
    np.testing.assert_allclose(h_seq, h64, atol=1e-5)
    g64, dx64, _ = cell.backward(p64, c64, np.ones((T, B, H)))
    for k in grads:
        np.testing.assert_allclose(grads[k], g64[k], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, dx64, rtol=1e-4, atol=1e-4)
