"""QMIX and VDN mixers: gradients against finite differences, monotonicity, EPyMARL's shapes."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.ann.mixers import VDN, QMixer, make_mixer


def _numeric(fn, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        up = fn()
        arr[idx] = old - eps
        down = fn()
        arr[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


def test_qmix_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    mixer = QMixer(n_agents=3, state_dim=5, embed=4, hypernet=6)
    params = mixer.init(rng, np.float64)
    q = rng.normal(size=(7, 3))
    s = rng.normal(size=(7, 5))
    w = rng.normal(size=7)  # loss = sum(w * Q_tot): any direction

    def loss() -> float:
        return float(w @ mixer.forward(params, q, s)[0])

    total, cache = mixer.forward(params, q, s)
    grads, dq = mixer.backward(params, cache, w)
    assert set(grads) == set(params)
    for key, value in params.items():
        np.testing.assert_allclose(grads[key], _numeric(loss, value), rtol=1e-6, atol=1e-8,
                                   err_msg=key)
    np.testing.assert_allclose(dq, _numeric(loss, q), rtol=1e-6, atol=1e-8)
    _, slope = mixer.backward(params, cache, np.ones(7))
    assert (slope >= 0).all(), "Q_tot must be monotone in every agent's value"


def test_qmix_is_monotone_and_has_epymarls_parameters():
    rng = np.random.default_rng(1)
    mixer = QMixer(n_agents=3, state_dim=54)
    params = mixer.init(rng)
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes["w1.l1.W"] == (64, 3 * 32) and shapes["w2.l1.W"] == (64, 32)
    assert shapes["b1.l0.W"] == (54, 32) and shapes["v.l1.W"] == (32, 1)
    assert params["v.l0.W"].dtype == np.float32
    q = rng.normal(size=(100, 3)).astype(np.float32)
    s = rng.normal(size=(100, 54)).astype(np.float32)
    base = mixer.forward(params, q, s)[0]
    for agent in range(3):
        up = q.copy()
        up[:, agent] += 0.5
        assert (mixer.forward(params, up, s)[0] >= base - 1e-5).all()
    with pytest.raises(ValueError, match=r"q must be \(M, 3\) and state \(M, 54\)"):
        mixer.forward(params, q[:, :2], s)


def test_vdn_sums_and_spreads_the_gradient():
    mixer = VDN(4)
    q = np.arange(8.0).reshape(2, 4)
    total, cache = mixer.forward({}, q)
    np.testing.assert_array_equal(total, [6.0, 22.0])
    grads, dq = mixer.backward({}, cache, np.array([1.0, -2.0]))
    assert grads == {} and dq.tolist() == [[1.0] * 4, [-2.0] * 4]


def test_unknown_mixer_names_the_known_ones():
    assert make_mixer("iql", 2, 4) is None
    with pytest.raises(ValueError, match="unknown mixer 'qmx'; choose one of iql, vdn, qmix"):
        make_mixer("qmx", 2, 4)
