"""The GRU's and LSTM's compiled time loops (neurorl.ann.recurrent_compiled) against their numpy
loops, and the choice between them."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.ann.recurrent import GRU, LSTM


@pytest.mark.parametrize("cls", [GRU, LSTM])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_compiled_loops_equal_numpy_loops(cls, dtype, tol):
    T, B, N_IN, H = 12, 8, 5, 16
    ref, fast = cls(N_IN, H, loops="python"), cls(N_IN, H, loops="compiled")
    rng = np.random.default_rng(11)
    params = {k: rng.normal(0.0, 0.8, v.shape).astype(dtype) for k, v in ref.init(rng).items()}
    x = rng.normal(0.0, 2.0, (T, B, N_IN))  # large enough to saturate some gates
    state = ref.initial_state(B, dtype)
    state = (tuple(rng.normal(0.0, 1.0, s.shape).astype(dtype) for s in state)
             if cls is LSTM else rng.normal(0.0, 1.0, state.shape).astype(dtype))
    dh = rng.normal(size=(T, B, H))
    last = [rng.normal(size=(B, H)) for _ in range(2 if cls is LSTM else 1)]
    outs = []
    for cell in (ref, fast):
        h_seq, cache = cell.forward(params, x, state)
        grads, dx, d0 = cell.backward(params, cache, dh, *last)
        d0 = list(d0) if cls is LSTM else [d0]
        outs.append([h_seq, cell.last_state(cache)[0] if cls is LSTM else cell.last_state(cache),
                     dx, *d0, *grads.values()])
        assert all(a.dtype == dtype for a in outs[-1])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol * float(np.abs(a).max()))


def test_compiled_loops_are_deterministic():
    cell = GRU(5, 16, loops="compiled")
    rng = np.random.default_rng(2)
    params = cell.init(rng)
    x = rng.normal(size=(9, 4, 5))
    runs = [cell.forward(params, x, cell.initial_state(4))[0] for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_unknown_loops_value_is_named(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 4))
    cell = GRU(4, 6, loops="fast")
    with pytest.raises(ValueError, match="'fast'"):
        cell.forward(cell.init(rng), x, cell.initial_state(2))
    monkeypatch.setenv("NEURORL_LOOPS", "vectorised")
    lstm = LSTM(4, 6)
    with pytest.raises(ValueError, match="NEURORL_LOOPS.*'vectorised'"):
        lstm.forward(lstm.init(rng), x, lstm.initial_state(2))
