"""The fused (numba) Adam: the same IEEE operations as a numpy reference, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.ann.optim import Adam


def numpy_adam(p, m, v, g, t, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    """Adam as numpy ufuncs in the parameters' dtype, in the order the fused loop uses."""
    dt = p.dtype.type
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t
    step, eps_t = dt(lr * np.sqrt(c2) / c1), dt(eps * np.sqrt(c2))
    if wd:
        g = g + dt(wd) * p
    m[...] = m * dt(b1) + g * dt(1.0 - b1)
    v[...] = v * dt(b2) + (g * g) * dt(1.0 - b2)
    p -= (m / (np.sqrt(v) + eps_t)) * step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wd", [0.0, 1e-3])
def test_fused_adam_equals_numpy_bit_for_bit(dtype, wd):
    rng = np.random.default_rng(3)
    params = {"a": rng.normal(size=(7, 5)).astype(dtype), "b": rng.normal(size=11).astype(dtype)}
    ref = {k: p.copy() for k, p in params.items()}
    moments = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in params.items()}
    opt = Adam(params, lr=1e-2, weight_decay=wd)
    for t in range(1, 25):
        grads = {k: rng.normal(size=p.shape).astype(dtype) for k, p in params.items()}
        opt.step(grads)
        for k in params:
            numpy_adam(ref[k], *moments[k], grads[k], t, wd=wd)
    for k in params:
        assert params[k].dtype == dtype
        np.testing.assert_array_equal(params[k], ref[k])
        np.testing.assert_array_equal(opt.m[k], moments[k][0])


def test_strided_parameters_are_updated_in_place_and_missing_keys_stay_frozen():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(6, 8)).astype(np.float32)
    params = {"strided": base[:, ::2], "frozen": np.ones(3, np.float32)}
    before = base.copy()
    opt = Adam(params, lr=0.1)
    opt.step({"strided": np.ones((6, 4), np.float32)})
    assert np.all(base[:, ::2] < before[:, ::2])  # the caller's array moved against the gradient
    np.testing.assert_array_equal(base[:, 1::2], before[:, 1::2])  # its neighbours did not
    np.testing.assert_array_equal(params["frozen"], 1.0)


def test_moments_of_zero_gradients_are_flushed_before_they_turn_subnormal():
    # a dead unit's m decays by β₁ per step and, unflushed, stays subnormal for good (k·0.9
    # rounds back to k for the smallest subnormals), where arithmetic is ~9x slower on Intel CPUs
    rng = np.random.default_rng(5)
    tiny = np.finfo(np.float32).tiny
    params = {"w": rng.normal(size=(8, 16)).astype(np.float32)}
    ref = params["w"].copy()
    moments = (np.zeros_like(ref), np.zeros_like(ref))
    opt = Adam(params, lr=1e-2)
    dead = rng.random(ref.shape) < 0.5
    for t in range(1, 1101):
        g = rng.normal(size=ref.shape).astype(np.float32)
        if t > 30:
            g[dead] = 0
        opt.step({"w": g})
        numpy_adam(ref, *moments, g, t)

    def subnormal(a):
        return int(np.count_nonzero((np.abs(a) > 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))

    assert subnormal(moments[0]) > 0.9 * dead.sum()  # unflushed: the dead units' m
    assert subnormal(opt.m["w"]) == 0 and subnormal(opt.v["w"]) == 0
    np.testing.assert_array_equal(opt.m["w"][dead], 0)
    np.testing.assert_array_equal(opt.m["w"][~dead], moments[0][~dead])
    np.testing.assert_allclose(params["w"], ref, rtol=np.finfo(np.float32).eps, atol=0)
    assert np.abs(params["w"] - ref).max() < tiny

    # moments loaded subnormal (a checkpoint from before the flush) are cleaned by the first step;
    # NaN is not flushed
    for dtype in (np.float32, np.float64):
        sub = np.finfo(dtype).tiny / 4
        p = {"w": np.ones(4, dtype)}
        opt = Adam(p)
        opt.load_state_dict({"t": 5, "m/w": np.full(4, sub, dtype), "v/w": np.full(4, sub, dtype)})
        opt.step({"w": np.array([0, 0, 0, np.nan], dtype)})
        np.testing.assert_array_equal(opt.m["w"][:3], 0)
        np.testing.assert_array_equal(opt.v["w"][:3], 0)
        np.testing.assert_array_equal(p["w"][:3], 1)
        assert np.isnan(opt.m["w"][3]) and np.isnan(p["w"][3])
