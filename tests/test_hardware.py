"""Chip backend: profiles, mapping, fixed point, event counts, latency/energy, device, CLI."""

from __future__ import annotations

import json

import brian2
import numpy as np
import pytest

from neurorl import Network, models
from neurorl.ann.qnetwork import QNetwork
from neurorl.hardware.ann import dnn_cost
from neurorl.hardware.estimate import estimate, simulate
from neurorl.hardware.mapping import (
    MappingError,
    graph_from_brian2,
    graph_from_network,
    map_network,
)
from neurorl.hardware.profiles import ProfileError, available_profiles, load_profile
from neurorl.hardware.quantize import quantize, weight_exponent
from neurorl.hardware.report import ChipReport, price

# Round numbers for hand computation: 10 ns per SOP, update, hop; no barrier; 1 pJ per SOP only.
HAND = dict(
    neurons_per_core=2,
    clock_mhz=100.0,
    cycles_per_sop=1.0,
    cycles_per_update=1.0,
    cycles_per_hop=1.0,
    cycles_per_barrier=0.0,
    e_sop_pj=1.0,
    e_update_pj=0.0,
    e_hop_pj=0.0,
    e_message_pj=0.0,
    static_mw=0.0,
)

pytestmark = pytest.mark.usefixtures("numpy_target")


def if_net() -> Network:
    """input(2) -> IF(3) -> IF(2) with fixed weights (hand-computable spike trains)."""
    net = Network(dt=1.0)
    x = net.input(2)
    h = net.layer(3, models.load("if"), name="hidden")
    o = net.layer(2, models.load("if"), name="out")
    net.connect(x, h, w=np.array([[1.0, 0.5, 0.25], [0.0, 0.0, 0.0]]))
    net.connect(h, o, w=np.full((3, 2), 0.6))
    return net


def cartpole_student(seed: int = 0) -> Network:
    net = Network(dt=1.0, seed=seed)
    x = net.input(4)
    h = net.layer(16, models.load("lif"))
    q = net.layer(2, models.load("li_readout"))
    net.connect(x, h, scale=3.0)
    net.connect(h, q)
    return net


# -- profiles ----------------------------------------------------------------------------------
def test_shipped_profiles_carry_sources_and_flag_assumptions():
    assert {"nc64c", "loihi", "truenorth", "cpu_45nm", "gpu_a100"} <= set(available_profiles())
    for name in available_profiles():
        p = load_profile(name)
        assert all(p.sources[k] for k in p.values)
    nc = load_profile("nc64c")
    energy = ["e_sop_pj", "e_update_pj", "e_hop_pj", "static_mw", "clock_mhz", "weight_bits"]
    assert set(energy) <= set(nc.assumed())  # no datasheet: every price is an assumption
    loihi = load_profile("loihi")
    assert loihi.e_sop_pj == 23.6 and not loihi.is_assumed("e_sop_pj")
    assert loihi.seconds("sop") == pytest.approx(3.5e-9)
    assert load_profile("cpu_45nm").e_mac_pj == 4.6
    assert load_profile("gpu_a100").e_flop_pj == pytest.approx(400 / 19.5e12 * 1e12)
    over = load_profile("loihi", e_sop_pj=5.0)
    assert over.e_sop_pj == 5.0 and over.is_assumed("e_sop_pj")


def test_profile_errors_name_file_line_and_key(tmp_path):
    import re

    original = open(load_profile("nc64c").path).read()
    text = re.sub(r"(?m)^e_sop_pj = .*$", "e_sop_pj = { value = 10.0 }", original)
    bad = tmp_path / "chip.toml"
    bad.write_text(text)
    with pytest.raises(ProfileError, match=r"chip\.toml:\d+: values\.e_sop_pj has no source"):
        load_profile(bad)
    bad.write_text(text.replace("e_sop_pj = { value = 10.0 }", "e_sop = { value = 1 }"))
    with pytest.raises(ProfileError, match=r"chip\.toml:\d+: unknown key values\.e_sop "):
        load_profile(bad)
    with pytest.raises(ProfileError, match="unknown key"):
        load_profile("nc64c", e_spo_pj=1.0)
    with pytest.raises(ProfileError, match="unknown profile 'nc65c'"):
        load_profile("nc65c")


# -- fixed point -------------------------------------------------------------------------------
def test_quantize_rounds_to_nearest_and_saturates():
    x = np.array([0.26, -0.26, 0.124, 0.125, 100.0, -100.0])
    q = quantize(x, bits=4, exponent=-2)  # grid 0.25, integers -8..7
    np.testing.assert_array_equal(q, [0.25, -0.25, 0.0, 0.25, 1.75, -2.0])
    assert weight_exponent(np.array([0.8, -0.1]), 8, -8) == -7  # 0.8 <= 127 * 2**-7
    assert weight_exponent(np.array([1e-4]), 8, -8) == -8  # never below the state LSB


def test_quantised_network_with_enough_bits_takes_the_float_actions():
    net = cartpole_student()
    obs = np.random.default_rng(0).normal(size=(32, 4))
    inputs = np.repeat(obs[None], 8, axis=0)
    fine = estimate(net, inputs, "nc64c", weight_bits=16, state_bits=40, state_frac_bits=24)
    assert fine.agreement == 1.0
    coarse = estimate(net, inputs, "nc64c", weight_bits=2, compare_float=False)
    assert max(coarse.quantization["max_weight_error"].values()) > 0.05
    # the float weights of the spec are untouched by quantisation of the Brian2 copy
    assert len(np.unique(net.params["layer1_to_layer2.w"])) > 4


# -- mapping -----------------------------------------------------------------------------------
@pytest.mark.parametrize("build", ["cartpole_student", "grsn_stack"])
def test_graph_from_spec_equals_graph_from_brian2_copies(build):
    from conftest import grsn_stack

    net = cartpole_student() if build == "cartpole_student" else grsn_stack()
    objs = net.to_brian2(copies=3)
    a, b = graph_from_network(net), graph_from_brian2(objs.groups, objs.synapses, copies=3)
    assert a.populations == b.populations
    for pa, pb in zip(a.projections, b.projections, strict=True):
        assert (pa.name, pa.coupling) == (pb.name, pb.coupling)
        assert sorted(zip(pa.i, pa.j, strict=True)) == sorted(zip(pb.i, pb.j, strict=True))


def test_mapping_splits_layers_and_refuses_what_does_not_fit():
    net = Network()
    x = net.input(4)
    big = net.layer(600, models.load("if"), name="big")
    out = net.layer(3, models.load("if"), name="out")
    net.connect(x, big)
    net.connect(big, out)
    m = map_network(net, "nc64c")
    assert m.layer_cores == {"big": [0, 1, 2], "out": [3]}
    assert list(m.neurons) == [256, 256, 88, 3] and m.bound["big"] == "neurons_per_core"
    with pytest.raises(MappingError, match=r"needs 4 cores, the profile has cores = 3 "
                       r"\(over by 1\).*big 3 \(neurons_per_core = 256\)"):
        map_network(net, "nc64c", cores=3)
    with pytest.raises(MappingError, match=r"layer out .* receives 600 presynaptic sources, a "
                       r"core accepts fan_in_per_core = 512 \(over by 88\)"):
        map_network(net, "nc64c", fan_in_per_core=512)
    with pytest.raises(MappingError, match=r"600 synapses, .*synapses_per_core = 500 "
                       r"\(over by 100\)"):
        map_network(net, "nc64c", synapses_per_core=500)
    # synaptic memory binds before the neuron count: two 600-synapse neurons per core
    m = map_network(net, "nc64c", synapses_per_core=1200)  # two 'out' neurons per core
    assert m.layer_cores["out"] == [3, 4] and m.bound["out"] == "synapses_per_core"


# -- counting and pricing ----------------------------------------------------------------------
def test_counts_equal_hand_counts():
    """input x -> IF(3) -> IF(2); neurons_per_core = 2 puts hidden on cores 0 (n0, n1) and 1
    (n2), out on core 2, on one mesh row: hops 2 from core 0, 1 from core 1 and from the host.

    Copy 0, x = (1, 0), currents (1, 0.5, 0.25): hidden n0 spikes at steps 1, 2, 3, n1 at step 2,
    n2 never (T = 4); each out neuron gets 0.6 per hidden spike and spikes once, at step 3.
    Copy 1, x = 0: no spikes. The host computes W·x once per copy (6 MACs, 2 messages, 1 hop).
    """
    net = if_net()
    profile = load_profile("nc64c", **HAND)
    mapping = map_network(net, profile)
    assert mapping.layer_cores == {"hidden": [0, 1], "out": [2]}
    inputs = np.zeros((4, 2, 2))
    inputs[:, 0, 0] = 1.0
    counts, values, _ = simulate(net, inputs, mapping, quantize=True)
    np.testing.assert_array_equal(counts.spikes["hidden"], [[0, 1, 2, 1], [0, 0, 0, 0]])
    np.testing.assert_array_equal(counts.spikes["out"], [[0, 0, 0, 2], [0, 0, 0, 0]])
    np.testing.assert_array_equal(counts.sops[0], [[0, 0, 0], [0, 0, 2], [0, 0, 4], [0, 0, 2]])
    assert counts.sops[1].sum() == 0
    np.testing.assert_array_equal(counts.updates, [2, 1, 2])
    np.testing.assert_array_equal(counts.messages, [[2, 1, 2, 1], [2, 0, 0, 0]])
    np.testing.assert_array_equal(counts.hops, [[1, 2, 4, 2], [1, 0, 0, 0]])
    np.testing.assert_array_equal(counts.max_hops, [[1, 2, 2, 2], [1, 0, 0, 0]])
    np.testing.assert_array_equal(counts.host_macs, [[6, 0, 0, 0], [6, 0, 0, 0]])
    # robust readout: count * v_th + final v = integrated input = 4 spikes x 0.6, where 0.6 is
    # 77/128 on the 8-bit grid of exponent -7
    np.testing.assert_array_equal(values, [[4 * 77 / 128] * 2, [0, 0]])

    p = price(counts, mapping)
    # step cycles: busiest core (SOPs + updates) + farthest hop; copy 0: 3, 6, 8, 6; copy 1: 3,2,2,2
    assert p["latency_decision_s"] == pytest.approx((23 + 9) / 2 * 10e-9)
    assert p["latency_step_s"]["max"] == pytest.approx(80e-9)
    assert p["energy_pj"]["synaptic"] == pytest.approx(8 / 2)
    assert p["energy_pj"]["host_input"] == pytest.approx(6 * 4.6)
    assert p["counts"]["updates"] == 20 and p["counts"]["hops"] == pytest.approx(10 / 2)


def test_energy_scales_linearly_with_activity():
    """k of 8 input channels on: each drives one IF neuron that spikes every step after the
    first; its spikes reach a non-spiking readout on another core. Dynamic energy grows by the
    same amount for each active channel."""
    net = Network(dt=1.0)
    x = net.input(8)
    h = net.layer(8, models.load("if"), name="hidden")
    q = net.layer(3, models.load("li_readout"), name="readout")
    net.connect(x, h, w=np.eye(8))
    net.connect(h, q, w=np.full((8, 3), 0.1))
    energies, sops = [], []
    for k in (0, 1, 2, 5, 8):
        inputs = np.zeros((6, 1, 8))
        inputs[:, 0, :k] = 1.0
        rep = estimate(net, inputs, "loihi", compare_float=False)
        energies.append(rep.dynamic_pj)
        sops.append(rep.counts["sops"])
    np.testing.assert_allclose(sops, np.array([0, 1, 2, 5, 8]) * 5 * 3)
    slope = energies[1] - energies[0]
    assert slope > 0
    np.testing.assert_allclose(np.diff(energies), np.diff([0, 1, 2, 5, 8]) * slope, rtol=1e-12)


def test_summed_couplings_cost_per_step_unless_they_read_only_spikes():
    """encoder (IF, output v) -> grsn is a summed coupling of a dense value: one SOP per synapse
    per step. grsn's recurrent gates and grsn -> gated read o, which holds the step's spikes and
    is zero otherwise: one SOP per grsn spike and synapse, like the event coupling gated ->
    readout."""
    from conftest import grsn_stack

    net = grsn_stack()
    graph = graph_from_network(net)
    kinds = {p.name: p.coupling for p in graph.projections}
    assert kinds["encoder_to_grsn"] == "summed"
    assert {k for n, k in kinds.items() if n.startswith(("grsn_rec", "grsn_to_gated"))} == {
        "spike_summed"}
    assert kinds["gated_to_readout"] == "event"
    inputs = 3 * np.abs(np.random.default_rng(0).normal(size=(20, 2, 3)))
    rep = estimate(net, inputs, "nc64c", steps_per_decision=1, compare_float=False)
    spikes = rep.counts["spikes"]
    assert spikes["grsn"] > 0 and spikes["gated"] > 0
    dense = 8 * 10
    assert rep.counts["sops"] == pytest.approx(dense + (2 * 10 + 2 * 6) * spikes["grsn"]
                                               + 3 * spikes["gated"])
    assert rep.quantization["rounded_state"]["grsn"] == ["c", "o", "v"]


def test_spike_valued_needs_a_cleared_variable_set_by_the_reset():
    from neurorl.hardware.mapping import spike_valued

    eqs = brian2.Equations("""dv/dt = -v/(10*ms) : 1
                              do/dt = -o/dt : 1
                              dq/dt = -q/(2*dt) : 1""")
    assert spike_valued(eqs, "v -= 1\no = 1", "euler", "o")
    assert not spike_valued(eqs, "v -= 1\no = 1", "exact", "o")  # o decays, is not cleared
    assert not spike_valued(eqs, "v -= 1\nq = 1", "euler", "q")  # halved, not cleared
    assert not spike_valued(eqs, "v -= 1", "euler", "o")  # never set: not the spikes
    assert not spike_valued(eqs, "v -= 1\no = 1", "euler", "v")


# -- DNN side ----------------------------------------------------------------------------------
def test_dnn_macs_and_energy_from_layer_shapes():
    from neurorl.ann import nn

    cpu = dnn_cost(nn.mlp(4, [256, 256], 2), "cpu_45nm")
    assert cpu.macs == 4 * 256 + 256 * 256 + 256 * 2 == 67_072
    assert cpu.energy_pj["mac"] == pytest.approx(67_072 * 4.6)
    assert cpu.reads == 67_072 + 514 + (4 + 256 + 256)
    assert dnn_cost([4, 256, 256, 2]).macs == 67_072
    conv = dnn_cost(nn.minatar_cnn(4, 3), "cpu_45nm")
    assert conv.macs == 16 * 8 * 8 * 4 * 3 * 3 + 16 * 8 * 8 * 128 + 128 * 3
    gpu = dnn_cost([4, 256, 256, 2], "gpu_a100")
    assert gpu.latency_batch1_s == pytest.approx(3 * 5e-6 + (2 * 67_072 + 514) / 19.5e12)
    assert gpu.energy_batch1_pj == pytest.approx(400 * gpu.latency_batch1_s * 1e12)
    assert gpu.assumed == ("launch_us",)


def test_report_table_and_json(tmp_path):
    net = cartpole_student()
    inputs = np.repeat(np.random.default_rng(1).normal(size=(8, 4))[None], 8, axis=0)
    rep = estimate(net, inputs, "nc64c", dnn=[4, 256, 256, 2], compare_float=False)
    table = rep.table()
    for text in ("cores used: 2 of 64", "synaptic", "static", "assumed: e_sop_pj",
                 "DNN on cpu_45nm: 67,072 MACs", "DNN/SNN energy per decision"):
        assert text in table
    data = json.loads(rep.save_json(tmp_path / "r.json").read_text())
    assert data["energy_per_decision_pj"]["total"] == pytest.approx(rep.total_pj)
    assert "e_sop_pj" in data["assumptions"]["energy.synaptic"]
    assert data["ratios"]["cpu_45nm"]["dnn_over_snn_total"] == pytest.approx(
        rep.dnn[0].total_pj / rep.total_pj
    )
    assert isinstance(rep, ChipReport)


# -- the Brian2 device -------------------------------------------------------------------------
def test_brian2_device_maps_quantises_and_counts_a_plain_brian2_network():
    from brian2 import NeuronGroup, SpikeGeneratorGroup, Synapses, ms, run

    import neurorl.hardware.device  # noqa: F401  (registers "nc64c")

    brian2.set_device("nc64c", neurons_per_core=2)
    try:
        inp = SpikeGeneratorGroup(2, [0, 1, 0], [0, 0, 2] * ms, dt=1 * ms)
        eqs = "dv/dt = -v/(10*ms) : 1"
        g = NeuronGroup(3, eqs, threshold="v > 0.5", reset="v = 0", dt=1 * ms, method="exact")
        h = NeuronGroup(2, eqs, threshold="v > 0.5", reset="v = 0", dt=1 * ms, method="exact")
        s1 = Synapses(inp, g, "w : 1", on_pre="v_post += w", dt=1 * ms)
        s1.connect()
        s1.w = 0.8
        s2 = Synapses(g, h, "w : 1", on_pre="v_post += w", dt=1 * ms)
        s2.connect()
        s2.w = 0.3
        run(5 * ms)
        rep = brian2.device.report()
        # 3 input spikes x 3 targets + 6 g spikes x 2 targets; g: cores 0 (2) and 1 (1), h: 2
        c = rep.counts
        assert c["spikes"] == {"spikegeneratorgroup": 3, "neurongroup": 6, "neurongroup_1": 4}
        assert (c["sops"], c["updates"], c["messages"], c["hops"]) == (21, 25, 12, 13)
        assert s1.w[0] == 102 / 128  # 0.8 on the 8-bit grid of exponent -7
        small = NeuronGroup(3, eqs, threshold="v > 0.5", reset="v = 0", dt=1 * ms)
        big = NeuronGroup(300, eqs, threshold="v > 0.5", reset="v = 0", dt=1 * ms)
        s3 = Synapses(small, big, "w : 1", on_pre="v_post += w", dt=1 * ms)
        s3.connect()
        with pytest.raises(MappingError, match=r"needs 152 cores, .* \(over by 88\)"):
            brian2.Network(small, big, s3).run(1 * ms)
    finally:
        brian2.set_device("runtime")


def test_device_and_estimate_count_the_same(tmp_path):
    import neurorl.hardware.device  # noqa: F401

    net = if_net()
    inputs = np.zeros((4, 1, 2))
    inputs[:, 0, 0] = 1.0
    rep = estimate(net, inputs, "nc64c", compare_float=False, **HAND)
    brian2.set_device("nc64c", **HAND)
    try:
        objs = net.to_brian2(inputs=inputs)
        objs.network.run(4 * brian2.ms, namespace={})
        dev = brian2.device.report()
    finally:
        brian2.set_device("runtime")
    for key in ("sops", "updates", "messages", "hops", "host_macs"):
        assert dev.counts[key] == rep.counts[key], key
    assert dev.latency_decision_s == pytest.approx(rep.latency_decision_s)


# -- counting on a batch device ----------------------------------------------------------------
@pytest.mark.parametrize("build", ["cartpole_student", "grsn_stack", "recurrent_lif"])
def test_batch_device_counts_equal_the_runtime_counts(build):
    """The float network counted from the kernel's spike rasters gives the runtime run's counts
    (events, spike-valued and dense summed couplings, recurrence), energy and latency."""
    from conftest import grsn_stack, single_layer_net

    net = {"cartpole_student": cartpole_student, "grsn_stack": grsn_stack,
           "recurrent_lif": lambda: single_layer_net("lif", recurrent=True, seed=3)}[build]()
    n_in = net.inputs[0].size
    inputs = 3 * np.abs(np.random.default_rng(2).normal(size=(12, 4, n_in)))
    reports = {device: estimate(net, inputs, "nc64c", quantize=False, device=device)
               for device in ("runtime", "kernel")}
    runtime, kernel = reports["runtime"], reports["kernel"]
    assert runtime.counts["spikes_total"] > 0
    assert kernel.counts["spikes"] == pytest.approx(runtime.counts["spikes"], abs=1e-12)
    for key in ("sops", "updates", "messages", "hops", "host_macs"):
        assert kernel.counts[key] == pytest.approx(runtime.counts[key], abs=1e-9), key
    assert kernel.energy_pj == pytest.approx(runtime.energy_pj, rel=1e-12)
    assert kernel.latency_decision_s == pytest.approx(runtime.latency_decision_s, rel=1e-12)
    assert any("device 'kernel'" in note for note in kernel.notes)
    assert not any("device" in note for note in runtime.notes)


def test_fixed_point_on_a_batch_device_is_one_clear_error():
    from neurorl.sim.devices import DeviceError

    inputs = np.ones((3, 2, 4))
    with pytest.raises(DeviceError, match=r"fixed point runs on the 'runtime' device only.*"
                                          r"'kernel'.*--no-quantize"):
        estimate(cartpole_student(), inputs, "nc64c", device="kernel")


# -- the `neurorl energy` command --------------------------------------------------------------
def test_energy_command_on_a_student_checkpoint(tmp_path, capsys):
    from neurorl import cli
    from neurorl.ann import nn

    rng = np.random.default_rng(0)
    arch = nn.mlp(4, [32], 2)
    teacher = QNetwork(arch, arch.init(rng), meta={"env": "CartPole-v1"})
    teacher_path = teacher.save(tmp_path / "teacher.npz")
    net = cartpole_student()
    student = net.save(tmp_path / "student.npz",
                       meta={"env": "CartPole-v1", "T": 4, "teacher": str(teacher_path)})
    out = tmp_path / "energy.json"
    args = ["energy", str(student), "--profile", "nc64c", "--profile", "loihi",
            "--samples", "8", "--json", str(out), "--set", "e_sop_pj=5.47"]
    assert cli.main(args) == 0
    data = json.loads(out.read_text())
    assert [c["profile"]["name"] for c in data["chips"]] == ["nc64c", "loihi"]
    assert data["chips"][0]["profile"]["values"]["e_sop_pj"]["value"] == 5.47
    assert data["dnn"][0]["macs"] == 4 * 32 + 32 * 2
    assert data["chips"][0]["decisions"] == 8
    assert "teacher observations" in capsys.readouterr().out
    float_args = ["energy", str(student), "--samples", "8", "--no-quantize"]
    assert cli.main([*float_args, "--json", str(out)]) == 0
    assert cli.main([*float_args, "--backend", "kernel", "--json", str(tmp_path / "k.json")]) == 0
    runtime, kernel = (json.loads(p.read_text())["chips"][0] for p in (out, tmp_path / "k.json"))
    assert kernel["counts_per_decision"]["sops"] == pytest.approx(
        runtime["counts_per_decision"]["sops"])
    assert kernel["energy_per_decision_pj"] == pytest.approx(runtime["energy_per_decision_pj"])
    assert "counted on device 'kernel'" in capsys.readouterr().out
