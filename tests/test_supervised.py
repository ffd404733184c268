"""A spiking classifier trained with the kernel learns, and Brian2 gives the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.algos.supervised import (
    SupervisedConfig,
    build_classifier,
    logits,
    make_moons,
    softmax_cross_entropy,
    train_classifier,
)
from neurorl.ann.optim import Adam, clip_grad_norm
from neurorl.coding import constant_current
from neurorl.sim.batch import run_batch


def test_trained_classifier_reaches_loss_and_matches_brian2():
    cfg = SupervisedConfig(seed=0)
    x, y = make_moons(2000, seed=0)
    x_test, y_test = make_moons(200, seed=99)
    net = build_classifier(2, 2, cfg)
    inputs = constant_current(x_test, cfg.T, cfg.input_scale)
    before, _ = softmax_cross_entropy(logits(net.kernel().forward(inputs)[0]), y_test)
    history = train_classifier(net, x, y, cfg, progress=False)
    out, cache = net.kernel().forward(inputs)
    loss, _ = softmax_cross_entropy(logits(out), y_test)
    assert before > 0.5
    assert loss < 0.1, f"held-out cross-entropy {loss:.3f} (started at {before:.3f})"
    assert np.mean(logits(out).argmax(1) == y_test) >= 0.97
    assert np.mean([h["loss"] for h in history[-50:]]) < 0.1

    result = run_batch(net, inputs)
    np.testing.assert_allclose(result.state("readout", "v"), out, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(result.spikes["hidden"], cache.spikes("hidden"))


def test_training_is_reproducible_with_the_same_seed():
    cfg = SupervisedConfig(seed=3, steps=30)
    x, y = make_moons(500, seed=0)
    nets = [build_classifier(2, 2, cfg) for _ in range(2)]
    runs = [train_classifier(net, x, y, cfg, progress=False) for net in nets]
    assert runs[0] == runs[1]
    for key in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[key], nets[1].params[key])


def test_nan_gradient_is_refused_before_it_reaches_the_weights():
    cfg = SupervisedConfig(seed=0)
    net = build_classifier(2, 2, cfg)
    kernel = net.kernel()
    opt = Adam(kernel.params)
    x, _ = make_moons(8)
    out, cache = kernel.forward(constant_current(x, cfg.T))
    grads = kernel.backward(np.full_like(out, np.nan), cache)
    before = {k: v.copy() for k, v in kernel.params.items()}
    with pytest.raises(FloatingPointError, match="non-finite gradient in"):
        clip_grad_norm(grads, 1.0)
        opt.step(grads)
    for key, value in kernel.params.items():
        np.testing.assert_array_equal(value, before[key])


def test_bad_inputs_are_refused_with_a_clear_message():
    net = build_classifier(2, 2, SupervisedConfig())
    kernel = net.kernel()
    with pytest.raises(ValueError, match=r"expected \(T, B, 2\)"):
        kernel.forward(np.zeros((8, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        kernel.forward(np.full((8, 4, 2), np.nan))
