"""Refractoriness and synaptic delays: the kernel equals Brian2 (its not_refractory / lastspike
mechanics and its spike queue), gradients equal finite differences, networks with them learn,
and what cannot work is refused with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from test_kernel_brian2 import assert_same_as_brian2, assert_state_carries
from test_kernel_gradients import check_gradients

from neurorl import models
from neurorl.algos.supervised import SupervisedConfig, logits, make_moons, train_classifier
from neurorl.coding import constant_current
from neurorl.models import ModelError
from neurorl.network import Network, NetworkError

CUBA = '''
name = "cuba_lif"
method = "exact"
equations = """
dv/dt = (El - v + R*I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_s : amp
"""
threshold = "v > v_th"
reset = "v = v_r"
refractory = "2*ms"
inputs = ["I_syn"]
output = "v"
[parameters]
El = { value = "-65*mV" }
v_th = { value = "-50*mV" }
v_r = { value = "-70*mV" }
R = { value = "100*Mohm" }
tau_m = { value = "10*ms" }
tau_s = { value = "5*ms" }
'''

# refractory while an after-spike trace is high: the condition form of Brian2's keyword
CONDITION = '''
name = "lif_trace_refractory"
method = "euler"
equations = """
dv/dt = -v/tau : 1 (unless refractory)
dz/dt = -z/tau_z : 1
"""
threshold = "v > 1"
reset = """
v = 0
z += 1
"""
refractory = "z > 0.4"
inputs = ["v"]
[parameters]
tau = { value = "10*ms" }
tau_z = { value = "2*ms" }
'''


def cuba(text: str = CUBA) -> models.NeuronModel:
    return models.loads(text, "cuba.toml")


def cuba_net(schedule: str = "brian2", model=None, seed: int = 0) -> Network:
    """input(3) -> 12 CUBA LIF (refractory 2 ms) -> 3 LIF (refractory condition)."""
    net = Network(dt=0.5, seed=seed, schedule=schedule)
    x = net.input(3)
    h = net.layer(12, model or cuba(), name="h")
    rng = np.random.default_rng(seed)
    net.connect(x, h, w=rng.uniform(0, 3e-10, (3, 12)))  # amperes per step of input
    o = net.layer(3, models.loads(CONDITION, "cond.toml"), name="o")
    net.connect(h, o, scale=4.0)
    return net


@pytest.mark.parametrize("schedule", ["brian2", "aligned"])
def test_refractory_equals_brian2_and_holds_the_neuron(schedule, rng):
    net = cuba_net(schedule)
    inputs = rng.uniform(0.0, 1.0, (120, 2, 3))
    spikes = assert_same_as_brian2(net, inputs, target="numpy")
    assert spikes > 40, "the comparison must involve spikes"
    _, cache = net.kernel().forward(inputs)
    h = cache.spikes("h")
    gaps = [np.diff(np.flatnonzero(h[:, b, n])) for b in range(2) for n in range(12)]
    gaps = np.concatenate([g for g in gaps if len(g)])
    assert gaps.min() >= 4, "2 ms at dt = 0.5 ms: no spike within 4 steps of the last"
    # the period matters: without it the same inputs give other spikes
    free = cuba(CUBA.replace('refractory = "2*ms"', "").replace(" (unless refractory)", ""))
    _, free_cache = cuba_net(schedule, free).kernel().forward(inputs)
    assert not np.array_equal(free_cache.spikes("h"), h)
    assert np.diff(np.flatnonzero(free_cache.spikes("h").any(axis=(1, 2)))).min() < 4
    assert np.count_nonzero(1 - np.stack(cache.traces["o"].not_refractory[0])) > 0


def test_refractory_state_carries_across_calls(rng):
    state = assert_state_carries(cuba_net(), rng.uniform(0.0, 1.0, (80, 2, 3)), 37)
    assert state["h"]["lastspike"].dtype == np.float64 and state["h"]["lastspike"].max() > 0


@pytest.mark.parametrize("schedule", ["brian2", "aligned"])
def test_refractory_gradients_equal_finite_differences(schedule, rng):
    net = Network(dt=0.5, seed=2, schedule=schedule)
    x = net.input(3)
    h = net.layer(5, models.loads(CONDITION, "cond.toml"), name="h")
    net.connect(x, h, scale=20.0)
    g = net.layer(4, models.load("lif").with_parameters(), name="g")
    net.connect(h, g, scale=3.0)
    q = net.layer(2, models.load("li_readout"), name="q")
    net.connect(g, q)
    inputs = rng.uniform(0.0, 1.0, (20, 2, 3))
    _, cache = net.kernel(smooth=True, surrogate="sigmoid").forward(inputs)
    held = sum(float((1 - m).sum()) for m in cache.traces["h"].not_refractory[0])
    assert held > 5, "some neurons must be refractory during the check"
    check_gradients(net, inputs, rng)


def test_cuba_refractory_gradients_equal_finite_differences(rng):
    net = Network(dt=0.5, seed=3)
    x = net.input(3)
    h = net.layer(5, cuba(), name="h")
    net.connect(x, h, w=rng.uniform(0, 3e-10, (3, 5)))
    q = net.layer(2, models.load("li_readout"), name="q")
    net.connect(h, q)
    check_gradients(net, rng.uniform(0.0, 1.0, (24, 2, 3)), rng, relative=True, rtol=1e-4)


def delay_net(schedule: str = "brian2", delay: float = 3.0, seed: int = 1) -> Network:
    """input(3) -> 10 LIF -(delay)-> 4 LIF -> readout; dt = 1 ms."""
    net = Network(dt=1.0, seed=seed, schedule=schedule)
    x = net.input(3)
    h = net.layer(10, models.load("lif"), name="h")
    net.connect(x, h, scale=3.0)
    o = net.layer(4, models.load("lif"), name="o")
    net.connect(h, o, scale=4.0, delay=delay)
    return net


@pytest.mark.parametrize("schedule", ["brian2", "aligned"])
def test_delay_equals_brian2_and_shifts_the_effect(schedule, rng):
    net = delay_net(schedule)
    inputs = rng.uniform(0.0, 1.0, (60, 2, 3))
    assert assert_same_as_brian2(net, inputs, target="numpy") > 30
    _, cache = net.kernel().forward(inputs)
    first_in = np.flatnonzero(cache.spikes("h").any(axis=(1, 2)))[0]
    v = cache.state("o", "v")
    assert np.all(v[: first_in + 3] == 0), "nothing arrives before the 3 ms delay"
    assert np.any(v[first_in + 3] != 0)


def test_delay_lines_carry_across_calls_and_files(rng, tmp_path):
    net = delay_net()
    inputs = rng.uniform(0.0, 1.0, (40, 2, 3))
    state = assert_state_carries(net, inputs, 21)
    assert state["o"]["h_to_o.pending"].shape == (2, 3, 10)
    assert state["o"]["h_to_o.pending"].any(), "spikes in transit at the split"
    loaded, _ = Network.load(net.save(tmp_path / "delay.npz"))
    assert loaded.connections[-1].delay == 3
    again = loaded.kernel().forward(inputs)[0]
    np.testing.assert_array_equal(again, net.kernel().forward(inputs)[0])


def test_delay_gradients_equal_finite_differences(rng):
    net = Network(dt=1.0, seed=4, schedule="aligned")
    x = net.input(3)
    h = net.layer(5, models.load("lif"), name="h")
    net.connect(x, h, scale=3.0)
    g = net.layer(4, models.load("lif"), name="g")
    net.connect(h, g, scale=3.0, delay=2.0)
    q = net.layer(2, models.load("li_readout"), name="q")
    net.connect(g, q, delay=3.0)
    check_gradients(net, rng.uniform(0.0, 1.0, (14, 2, 3)), rng)


def test_networks_with_refractoriness_and_delays_learn_a_task():
    """Half moons through a refractory hidden layer and a 3 ms delayed one: 300 Adam steps."""
    x, labels = make_moons(400, seed=0)
    cfg = SupervisedConfig(steps=300, T=20, batch=64, lr=0.01, seed=0)
    net = Network(dt=1.0, seed=0)
    inp = net.input(2)
    h = net.layer(32, models.loads(CONDITION.replace("tau_z = { value = \"2*ms\" }",
                                                     "tau_z = { value = \"1*ms\" }"), "c.toml"))
    net.connect(inp, h, scale=6.0)
    g = net.layer(32, models.load("lif"), name="g")
    net.connect(h, g, scale=3.0, delay=3.0)
    q = net.layer(2, models.load("li_readout"), name="q")
    net.connect(g, q)
    def accuracy() -> float:
        out, _ = net.kernel().forward(constant_current(x, cfg.T, cfg.input_scale))
        return float(np.mean(logits(out).argmax(1) == labels))

    before = accuracy()
    history = train_classifier(net, x, labels, cfg, progress=False)
    after = accuracy()
    print(f"accuracy {before:.3f} -> {after:.3f}, loss {history[0]['loss']:.3f} -> "
          f"{np.mean([h['loss'] for h in history[-20:]]):.3f}")
    assert after > 0.85 and after > before + 0.1, f"accuracy {before:.2f} -> {after:.2f}"


# -- refused with a clear message ------------------------------------------------------------
def test_unless_refractory_without_a_period_is_refused():
    text = CUBA.replace('refractory = "2*ms"\n', "")
    with pytest.raises(ModelError, match=r"cuba.toml:5: v is flagged \(unless refractory\)"):
        cuba(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"2*mV"', "must be a duration"),
        ('"v + 1*mV"', "must be a duration"),
        ('"tau_x"', "unknown identifier 'tau_x'"),
    ],
)
def test_bad_refractory_values_name_the_line(value, message):
    with pytest.raises(ModelError, match=rf"cuba.toml:10: .*{message}"):
        cuba(CUBA.replace('"2*ms"', value))


def test_refractory_without_threshold_is_refused():
    text = 'equations = "dv/dt = -v/(5*ms) : 1"\nrefractory = "2*ms"\n'
    with pytest.raises(ModelError, match="m.toml:2: a refractory period without a threshold"):
        models.loads(text, "m.toml")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delay": 1.5}, r"delay=1.5 ms must be a non-negative multiple of dt=1.0 ms"),
        ({"delay": -1.0}, r"non-negative multiple"),
        ({"delay": "soon"}, r"delay='soon' is not a number of milliseconds"),
    ],
)
def test_bad_delays_are_refused(kwargs, message):
    net = delay_net(delay=0.0)
    with pytest.raises(NetworkError, match=message):
        net.connect(net.layers["h"], net.layers["o"], **kwargs)


def test_delays_that_brian2_cannot_mean_are_refused():
    net = Network(dt=1.0)
    x = net.input(2)
    h = net.layer(3, models.load("lif"), name="h")
    with pytest.raises(NetworkError, match="on an input layer"):
        net.connect(x, h, delay=2.0)
    with pytest.raises(NetworkError, match="on a recurrent connection"):
        net.connect(h, h, delay=2.0)
    grsn = net.layer(3, models.load("grsn"), name="grsn")
    gated = net.layer(3, models.load("grsn_input_gated"), name="gated")
    with pytest.raises(NetworkError, match="on a summed connection"):
        net.connect(grsn, gated, delay=2.0)


def test_cuba_lif_with_a_refractory_period_learns_in_si_units():
    """The CUBA LIF in volts and amperes (2 ms refractory) on half moons, one learning rate."""
    from test_units_models import train_moons

    net = Network(dt=0.5, seed=0)
    x = net.input(2)
    h = net.layer(24, cuba(), name="h")
    net.connect(x, h, w=np.random.default_rng(0).normal(1e-10, 2e-10, (2, 24)))
    q = net.layer(2, models.load("li_readout"), name="q")
    net.connect(h, q)
    before, after, growth, moved = train_moons(net, lr=1e-2, scales="rms")
    print(f"CUBA: accuracy {before:.3f} -> {after:.3f}, growth {growth:.2f}, moved {moved:.3f}")
    assert after >= 0.85 and after > before + 0.05, f"accuracy {before:.3f} -> {after:.3f}"
    assert growth < 10
