"""BPTT gradients equal central finite differences when the threshold is a smooth sigmoid."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grsn_stack, single_layer_net

from neurorl import Network, models
from neurorl.kernel import SURROGATES, get_surrogate

T, B = 12, 2


def loss_and_grads(kernel, inputs, weights):
    out, cache = kernel.forward(inputs)
    return float(np.sum(out * weights)), kernel.backward(weights, cache)


def check_gradients(net: Network, inputs: np.ndarray, rng, eps: float = 1e-6, rtol: float = 1e-5,
                    relative: bool = False):
    """BPTT against central differences for every parameter; ``relative``: the step is ``eps``
    times the parameter's largest magnitude (SI-valued parameters: amperes, siemens, ...)."""
    kernel = net.kernel(surrogate="sigmoid", smooth=True, dtype=np.float64)
    out, _ = kernel.forward(inputs)
    weights = rng.normal(size=out.shape)
    _, grads = loss_and_grads(kernel, inputs, weights)
    for key, param in kernel.params.items():
        numeric = np.zeros_like(param)
        flat, nflat = param.reshape(-1), numeric.reshape(-1)
        size = float(np.abs(param).max())
        step = eps * size if relative and size > 0 else eps
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + step
            up, _ = loss_and_grads(kernel, inputs, weights)
            flat[i] = old - step
            down, _ = loss_and_grads(kernel, inputs, weights)
            flat[i] = old
            nflat[i] = (up - down) / (2 * step)
        sparse = [c.mask for c in net.connections if c.key == key and c.conv is None]
        if sparse and sparse[0] is not None:  # synapses exist only inside the mask
            numeric, grads[key] = numeric * sparse[0], grads[key] * sparse[0]
        scale = max(np.linalg.norm(numeric), 1e-8)
        assert np.linalg.norm(numeric) > 1e-6 or key.endswith(".w"), f"{key}: no gradient signal"
        err = np.linalg.norm(grads[key] - numeric) / scale
        assert err < rtol, f"{key}: relative error {err:.2e} against finite differences"


@pytest.mark.parametrize("model_name", models.available())
def test_gradients_every_model(model_name, rng):
    net = single_layer_net(model_name, hidden=5, n_in=3, recurrent=model_name in ("lif", "if"))
    check_gradients(net, rng.uniform(0.0, 1.0, (T, B, 3)), rng)


def test_gradients_grsn_stack(rng):
    check_gradients(grsn_stack(), rng.uniform(0.0, 1.0, (T, B, 3)), rng)


def test_gradients_shared_learnable_parameter_of_a_user_model(tmp_path, rng):
    """A user's model file with a learnable shared decay: its gradient is right too."""
    text = (models.model_files_dir() / "lif.toml").read_text()
    text = text.replace('decay = { value = "0.2",', 'decay = { value = "0.6", learnable = true,')
    path = tmp_path / "lif_learn_decay.toml"
    path.write_text(text)
    model = models.load(path)
    assert model.parameters["decay"].learnable and not model.parameters["decay"].per_neuron
    net = Network(dt=1.0, seed=3)
    x = net.input(3)
    h = net.layer(5, model)
    q = net.layer(2, models.load("li_readout"))
    net.connect(x, h, scale=3.0)
    net.connect(h, q)
    assert net.params["layer1.decay"].shape == ()
    check_gradients(net, rng.uniform(0.0, 1.0, (T, B, 3)), rng)


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_surrogate_grad_is_derivative_of_primitive(name):
    s = get_surrogate(name)
    h = np.linspace(-2, 2, 4001)
    # away from the kinks of rectangular/triangle (at +-width) and fast_sigmoid's |h| (at 0)
    h = h[(np.abs(np.abs(h) - s.width) > 1e-3) & (np.abs(h) > 1e-3)]
    numeric = (s.primitive(h + 1e-6) - s.primitive(h - 1e-6)) / 2e-6
    np.testing.assert_allclose(s.grad(h), numeric, atol=1e-6)
    assert s.grad(np.array([0.0]))[0] > 0


def test_detach_reset_drops_only_the_reset_path(rng):
    net = single_layer_net("lif", hidden=6)
    inputs = rng.uniform(0.0, 1.0, (T, B, 3))
    kernel = net.kernel(surrogate="atan")
    out, cache = kernel.forward(inputs)
    full = kernel.backward(np.ones_like(out), cache)
    detached = net.kernel(surrogate="atan", detach_reset=True)
    out2, cache2 = detached.forward(inputs)
    np.testing.assert_array_equal(out, out2)
    part = detached.backward(np.ones_like(out), cache2)
    assert not np.allclose(full["input_to_layer1.w"], part["input_to_layer1.w"])
    np.testing.assert_allclose(full["layer2.bias"], part["layer2.bias"])


def test_gradients_convolutional_connection(rng):
    from test_kernel_brian2 import conv_net

    check_gradients(conv_net(), rng.uniform(0.0, 1.0, (T, B, 72)), rng)


def test_gradients_sparse_recurrent_connection_stay_in_the_mask(rng):
    net = single_layer_net("lif_soft", hidden=5)
    mask = rng.uniform(size=(5, 5)) < 0.5
    h = net.layers["layer1"]
    net.connect(h, h, mask=mask, name="sparse_rec")
    check_gradients(net, rng.uniform(0.0, 1.0, (T, B, 3)), rng)
    kernel = net.kernel()
    out, cache = kernel.forward(rng.uniform(0.0, 1.0, (T, B, 3)))
    grads = kernel.backward(np.ones_like(out), cache)
    assert np.all(grads["sparse_rec.w"][~mask] == 0) and np.any(grads["sparse_rec.w"][mask] != 0)
