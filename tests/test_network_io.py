"""Networks saved and loaded: same structure, models, parameters and outputs; bad files refused."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import grsn_stack, single_layer_net
from test_kernel_brian2 import conv_net

from neurorl import Network, models
from neurorl.checkpoint import CheckpointError


def roundtrip(net: Network, tmp_path, rng, n_in: int) -> Network:
    path = net.save(tmp_path / "net.npz", meta={"env": "CartPole-v1", "T": 8})
    loaded, meta = Network.load(path)
    assert meta == {"env": "CartPole-v1", "T": 8}
    assert list(loaded.layers) == list(net.layers)
    assert [c.name for c in loaded.connections] == [c.name for c in net.connections]
    inputs = rng.uniform(0, 1, (20, 3, n_in))
    np.testing.assert_array_equal(
        loaded.kernel().forward(inputs)[0], net.kernel().forward(inputs)[0]
    )
    return loaded


def test_grsn_stack_roundtrip(tmp_path, rng):
    roundtrip(grsn_stack(), tmp_path, rng, 3)


def test_conv_and_sparse_connections_roundtrip(tmp_path, rng):
    net = conv_net()
    h = net.layers["layer1"]
    net.connect(h, h, mask=rng.uniform(size=(h.size, h.size)) < 0.2, name="sparse_rec")
    loaded = roundtrip(net, tmp_path, rng, 72)
    assert loaded.connections[0].conv == net.connections[0].conv
    np.testing.assert_array_equal(loaded.connections[-1].mask, net.connections[-1].mask)


def test_model_parameters_survive_as_model_text(tmp_path, rng):
    net = Network(seed=1)
    x = net.input(3)
    h = net.layer(6, models.load("lif_soft"), tau="7*ms", v_th=0.8)
    net.connect(x, h)
    loaded = roundtrip(net, tmp_path, rng, 3)
    params = loaded.layers["layer1"].model.parameters
    assert params["tau"].si == pytest.approx(0.007) and params["v_th"].si == pytest.approx(0.8)
    text = models.load("grsn").to_toml()
    assert models.loads(text).brian2_equations == models.load("grsn").brian2_equations


def test_tampered_or_foreign_files_are_refused(tmp_path, rng):
    from neurorl import checkpoint

    path = single_layer_net("lif").save(tmp_path / "net.npz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        Network.load(tmp_path / "bad.npz")
    checkpoint.save(tmp_path / "other.npz", {"a": np.zeros(2)}, {"kind": "something else"})
    with pytest.raises(ValueError, match="holds no neurorl Network"):
        Network.load(tmp_path / "other.npz")
