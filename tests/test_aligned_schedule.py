"""The aligned schedule (temporal alignment paradigm): an observation crosses every layer within
the step it arrives in, in the kernel and in Brian2 alike, with exact gradients."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import randomise
from test_kernel_gradients import check_gradients

from neurorl import Network, models
from neurorl.network import NetworkError
from neurorl.sim.batch import run_batch

CHAIN_MODELS = ["lif", "if", "lif_soft", "grsn", "grsn_input_gated"]


def chain(model_name: str, schedule: str = "aligned", seed: int = 0) -> Network:
    """input(3) -> model(8) -> model(6) -> li_readout(2): two layers for a spike to cross."""
    net = Network(dt=1.0, seed=seed, schedule=schedule)
    x = net.input(3)
    a = net.layer(8, models.load(model_name), name="a")
    b = net.layer(6, models.load(model_name), name="b")
    q = net.layer(2, models.load("li_readout"), name="q")
    gated = model_name.startswith("grsn")  # gated currents need a stronger drive to spike
    net.connect(x, a, scale=6.0 if gated else 3.0)
    net.connect(a, b, scale=12.0 if gated else 6.0)
    net.connect(b, q)
    randomise(net, seed + 1)
    return net


@pytest.mark.parametrize("model_name", CHAIN_MODELS)
def test_kernel_equals_brian2_under_the_aligned_schedule(model_name, rng):
    net = chain(model_name)
    inputs = rng.uniform(0.0, 1.5, (25, 4, 3))
    brian, kernel = run_batch(net, inputs, device="runtime"), run_batch(net, inputs, "kernel")
    assert brian.spikes["a"].sum() > 0 and brian.spikes["b"].sum() > 0
    for layer in ("a", "b"):
        np.testing.assert_array_equal(kernel.spikes[layer], brian.spikes[layer])
    for layer, variables in brian.states.items():
        for var, values in variables.items():
            np.testing.assert_allclose(kernel.state(layer, var), values, atol=1e-9)


@pytest.mark.parametrize("model_name", CHAIN_MODELS)
def test_the_observation_reaches_the_output_in_its_own_step(model_name, rng):
    """Changing only o_t changes the readout at t under the aligned schedule; under Brian2's
    default schedule it reaches the readout only steps later (one per layer)."""
    inputs = rng.uniform(0.0, 1.5, (12, 16, 3))
    t = 6
    changed = inputs.copy()
    changed[t] = rng.uniform(0.0, 1.5, (16, 3))
    for schedule, moved_at_t in (("aligned", True), ("brian2", False)):
        kernel = chain(model_name, schedule).kernel(dtype=np.float64)
        before, _ = kernel.forward(inputs)
        after, _ = kernel.forward(changed)
        np.testing.assert_array_equal(before[:t], after[:t])
        assert bool(np.any(before[t] != after[t])) == moved_at_t, schedule
        assert np.any(before[t + 3:] != after[t + 3:])


@pytest.mark.parametrize("model_name", ["lif", "grsn", "grsn_input_gated"])
def test_gradients_under_the_aligned_schedule(model_name, rng):
    check_gradients(chain(model_name), rng.uniform(0.0, 1.0, (10, 2, 3)), rng)


def test_schedule_is_kept_and_checked(tmp_path):
    net = chain("grsn")
    loaded, _ = Network.load(net.save(tmp_path / "net.npz"))
    assert loaded.schedule == "aligned" and net.copy().schedule == "aligned"
    with pytest.raises(NetworkError, match="unknown schedule 'fast'"):
        Network(schedule="fast")
    with pytest.raises(NetworkError, match="dt must be a positive"):
        Network(dt=0)
    rec = Network(schedule="aligned")
    h = rec.layer(4, models.load("lif"))
    rec.connect(rec.input(2), h)
    rec.connect(h, h, name="rec")
    with pytest.raises(NetworkError, match="rec: a recurrent event connection"):
        rec.kernel()
