"""plots.raster and plots.traces: the figures of what a network did, and the CSV they show."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from neurorl import Network, models, plots
from neurorl.network import NetworkError
from neurorl.sim.batch import run_batch

CUBA = """
name = "cuba_lif"
method = "exact"
equations = '''
dv/dt = (E_L - v + R*I_syn)/tau_m : volt
dI_syn/dt = -I_syn/tau_s : amp
'''
threshold = "v > V_th"
reset = "v = E_L"
inputs = ["I_syn"]

[initial]
v = "-70*mV"

[parameters]
E_L = { value = "-70*mV" }
V_th = { value = "-55*mV" }
R = { value = "100*Mohm" }
tau_m = { value = "10*ms" }
tau_s = { value = "5*ms" }
"""

pytestmark = pytest.mark.usefixtures("numpy_target")


def two_layer_net() -> Network:
    """input(3) -> 12 LIF -> 6 LIF -> 2 leaky readouts (two spiking layers)."""
    net = Network(dt=0.5, seed=1)
    x = net.input(3)
    h1 = net.layer(12, models.load("lif"), name="h1")
    h2 = net.layer(6, models.load("lif"), name="h2")
    net.connect(x, h1, scale=8.0)
    net.connect(h1, h2, scale=6.0)
    net.connect(h2, net.layer(2, models.load("li_readout"), name="out"))
    return net


def inputs(T=30, B=3) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (T, B, 3))


def read_csv(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("source", ["run_batch", "kernel"])
def test_raster_has_a_panel_per_spiking_layer_and_a_point_per_spike(tmp_path, source):
    net = two_layer_net()
    x = inputs()
    result = run_batch(net, x) if source == "run_batch" else net.kernel().forward(x)[1]
    spikes = {"h1": run_batch(net, x).spikes["h1"], "h2": run_batch(net, x).spikes["h2"]}
    assert spikes["h1"][:, 1].sum() > 0 and spikes["h2"][:, 1].sum() > 0
    fig = plots.raster(result, net, batch=1, path=tmp_path / "raster.png")
    assert len(fig.axes) == 2  # h1, h2; the readout does not spike
    rows = read_csv(tmp_path / "raster.csv")
    for ax, name in zip(fig.axes, ["h1", "h2"], strict=True):
        steps, neurons = np.nonzero(spikes[name][:, 1])
        points = ax.collections[0].get_offsets()
        np.testing.assert_allclose(points, np.column_stack([0.5 * steps, neurons]))
        mine = [r for r in rows if r["layer"] == name]
        expected = list(zip(steps, neurons, strict=True))
        assert [(int(r["step"]), int(r["neuron"])) for r in mine] == expected
        assert [float(r["time_ms"]) for r in mine] == list(0.5 * steps)
    assert (tmp_path / "raster.png").stat().st_size > 0


def test_raster_without_the_network_counts_steps_and_shows_chosen_layers():
    net = two_layer_net()
    result = run_batch(net, inputs())
    fig = plots.raster(result, layers=["h2"])
    assert len(fig.axes) == 1
    steps, neurons = np.nonzero(result.spikes["h2"][:, 0])
    np.testing.assert_array_equal(fig.axes[0].collections[0].get_offsets(),
                                  np.column_stack([steps, neurons]))
    assert fig.axes[0].get_xlabel() == "time step"


def test_traces_in_the_models_units(tmp_path):
    path = tmp_path / "cuba.toml"
    path.write_text(CUBA)
    net = Network(dt=0.1)
    h = net.layer(8, models.load(path), name="hidden")
    net.connect(net.input(3), h, scale=0.02e-9)
    result = run_batch(net, inputs(T=300, B=2))
    assert result.spikes["hidden"].sum() > 0
    fig = plots.traces(result, "hidden", "v", net, neurons=[0, 3, 5], batch=1,
                       path=tmp_path / "traces.png")
    assert len(fig.axes) == 3
    v = result.state("hidden", "v")
    for ax, i in zip(fig.axes, [0, 3, 5], strict=True):
        t, y = ax.lines[0].get_data()
        np.testing.assert_allclose(t, 0.1 * np.arange(300))
        np.testing.assert_allclose(y, v[:, 1, i] / 1e-3)  # in mV
        assert ax.get_ylabel() == "v (mV)"
    rows = read_csv(tmp_path / "traces.csv")
    assert len(rows) == 3 * 300 and {r["unit"] for r in rows} == {"mV"}
    got = np.array([float(r["value"]) for r in rows if r["neuron"] == "3"])
    np.testing.assert_array_equal(got, v[:, 1, 3] / 1e-3)


def test_traces_of_a_kernel_cache_and_default_neurons():
    net = two_layer_net()
    _, cache = net.kernel().forward(inputs())
    fig = plots.traces(cache, "out", "v", net)
    assert len(fig.axes) == 2  # min(5, n) neurons: the readout has 2
    np.testing.assert_allclose(fig.axes[1].lines[0].get_data()[1], cache.state("out", "v")[:, 0, 1])
    assert fig.axes[0].get_ylabel() == "v"  # dimensionless


def test_what_was_not_recorded_is_refused_clearly():
    net = two_layer_net()
    final = run_batch(net, inputs(), record="final")
    with pytest.raises(NetworkError, match=r"no spike trains.*record='all'"):
        plots.raster(final)
    with pytest.raises(NetworkError, match=r"^h1\.v was not recorded over time"):
        plots.traces(final, "h1", "v")
    result = run_batch(net, inputs())
    with pytest.raises(NetworkError) as err:
        plots.raster(result, batch=3)
    assert str(err.value) == "batch=3 is outside the recorded batch of B = 3 elements"
    with pytest.raises(NetworkError) as err:
        plots.raster(result, layers=["out"])
    assert str(err.value) == "layer 'out' has no recorded spikes; spiking layers: h1, h2"
    with pytest.raises(NetworkError) as err:
        plots.traces(result, "h2", "v", neurons=[2, 6])
    assert str(err.value) == "neurons [6] are not neurons of h2 (0..5)"
