"""The kernel equals Brian2: identical spike trains, state variables equal to 1e-9 (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grsn_stack, single_layer_net

from neurorl import models
from neurorl.sim.batch import run_batch

T, B = 60, 3


def assert_same_as_brian2(net, inputs, **run_options) -> int:
    """Run ``net`` in the kernel and in Brian2; compare every state and spike; return #spikes."""
    _, cache = net.kernel(dtype=np.float64).forward(inputs)
    result = run_batch(net, inputs, **run_options)
    total = 0
    for layer in net.neuron_layers:
        for var, values in result.states[layer.name].items():
            np.testing.assert_allclose(
                cache.state(layer.name, var),
                values,
                rtol=0,
                atol=1e-9,
                err_msg=f"{layer.name}.{var} differs from Brian2",
            )
        if layer.model.spiking:
            np.testing.assert_array_equal(
                cache.spikes(layer.name),
                result.spikes[layer.name],
                err_msg=f"{layer.name} spikes differ from Brian2",
            )
            total += int(result.spikes[layer.name].sum())
    return total


@pytest.mark.parametrize("model_name", models.available())
def test_every_model_equals_brian2_numpy(model_name, rng):
    net = single_layer_net(model_name)
    inputs = rng.uniform(0.0, 1.0, (T, B, 3))
    spikes = assert_same_as_brian2(net, inputs, target="numpy")
    if models.load(model_name).spiking:
        assert spikes > 20, "the comparison must involve spikes"


@pytest.mark.parametrize("model_name", ["lif", "lif_soft", "if"])
def test_recurrent_layer_equals_brian2(model_name, rng):
    net = single_layer_net(model_name, recurrent=True)
    assert_same_as_brian2(net, rng.uniform(0.0, 1.0, (T, B, 3)), target="numpy")


def test_grsn_inside_three_layer_network_equals_brian2(rng):
    net = grsn_stack()
    spikes = assert_same_as_brian2(net, rng.uniform(0.0, 1.0, (T, B, 3)), target="numpy")
    assert spikes > 50


def test_sparse_mask_equals_brian2(rng):
    net = single_layer_net("lif", hidden=12)
    mask = rng.uniform(size=(12, 12)) < 0.3
    h = net.layers["layer1"]
    net.connect(h, h, mask=mask, name="sparse_rec")
    assert np.all(net.params["sparse_rec.w"][~mask] == 0)
    assert_same_as_brian2(net, rng.uniform(0.0, 1.0, (T, B, 3)), target="numpy")


def test_lif_equals_brian2_cython(rng):
    net = single_layer_net("lif", recurrent=True)
    assert_same_as_brian2(net, rng.uniform(0.0, 1.0, (T, B, 3)), target="cython")


def test_grsn_stack_equals_brian2_cpp_standalone(rng, tmp_path):
    net = grsn_stack()
    assert_same_as_brian2(
        net,
        rng.uniform(0.0, 1.0, (T, B, 3)),
        device="cpp_standalone",
        directory=str(tmp_path / "standalone"),
    )


def assert_state_carries(net, inputs: np.ndarray, split: int) -> dict:
    """Two forward calls chained through final_state equal one call over the whole sequence;
    returns the state handed over."""
    kernel = net.kernel()
    whole, _ = kernel.forward(inputs)
    first, cache = kernel.forward(inputs[:split])
    state = cache.final_state()
    second, _ = kernel.forward(inputs[split:], state=state, t0=split * net.dt_seconds)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)
    return state


def test_state_carries_across_calls(rng):
    assert_state_carries(grsn_stack(), rng.uniform(0.0, 1.0, (40, 2, 3)), 25)


def test_float32_kernel_tracks_float64(rng):
    net = single_layer_net("lif_soft")
    inputs = rng.uniform(0.0, 1.0, (T, B, 3))
    out64, _ = net.kernel(dtype=np.float64).forward(inputs)
    out32, cache = net.kernel(dtype=np.float32).forward(inputs)
    assert out32.dtype == np.float32 and cache.spikes("layer1").dtype == np.float32
    # a float32 run may flip a spike that sits within rounding of threshold; outputs stay close
    assert np.mean(np.abs(out32 - out64)) < 1e-2


def conv_net(seed: int = 0):
    from neurorl import Network
    from neurorl.topology import Conv

    net = Network(dt=1.0, seed=seed)
    x = net.input(2 * 6 * 6)
    conv = Conv(in_shape=(2, 6, 6), out_channels=3, kernel=3, stride=2)
    h = net.layer(int(np.prod(conv.out_shape)), models.load("if"))
    q = net.layer(2, models.load("li_readout"))
    net.connect(x, h, conv=conv, scale=3.0)
    net.connect(h, q)
    return net


def test_convolutional_connection_equals_brian2(rng):
    net = conv_net()
    assert net.params["input_to_layer1.w"].shape == (3, 2, 3, 3)
    spikes = assert_same_as_brian2(net, rng.uniform(0.0, 1.0, (T, B, 72)), target="numpy")
    assert spikes > 20


def test_convolutional_drive_equals_numpy_conv2d(rng):
    """The expanded kernel computes the same cross-correlation as neurorl.ann.nn's conv layer."""
    from neurorl.ann import nn

    net = conv_net()
    conn = net.connections[0]
    x = rng.normal(size=(5, 2, 6, 6)).astype(np.float32)
    w = net.params[conn.key].astype(np.float32)
    expected, _ = nn.conv2d_forward(w, np.zeros(3, np.float32), x, stride=2)
    drive = x.reshape(5, -1) @ conn.dense(w)
    np.testing.assert_allclose(drive, expected.reshape(5, -1), rtol=1e-5, atol=1e-5)


def test_inference_mode_keeps_outputs_spikes_and_final_state(rng):
    net = grsn_stack()
    kernel = net.kernel()
    inputs = rng.uniform(0.0, 1.0, (30, 2, 3))
    out, cache = kernel.forward(inputs)
    out2, lean = kernel.forward(inputs, for_backward=False)
    np.testing.assert_array_equal(out, out2)
    for layer in net.neuron_layers:
        if layer.model.spiking:
            np.testing.assert_array_equal(cache.spikes(layer.name), lean.spikes(layer.name))
        for var, value in cache.final_state()[layer.name].items():
            np.testing.assert_array_equal(value, lean.final_state()[layer.name][var])
    with pytest.raises(KeyError, match="was not recorded"):
        lean.state("grsn", "c")
