"""``estimate(net, inputs, profile)``: map, quantise, run in Brian2, count, price — one call.

The same steps as the ``nc64c`` Brian2 device (:mod:`neurorl.hardware.device`), for a neurorl
:class:`~neurorl.network.Network` and a batch of input sequences: the batch runs as B copies of
the network in one Brian2 run (as :func:`neurorl.sim.batch.run_batch`), each copy one decision
window. With ``quantize=True`` the float network runs too, and the report gives the fraction of
decisions on which both take the same action (argmax of the readout).

``device`` picks what runs the network (a name of :mod:`neurorl.sim.devices`). ``"runtime"``
(the default) runs the mapped Brian2 objects with monitors, in the chip's fixed point or in
float. Any other device (``"kernel"``, ``"cpp_standalone"``, ``"genn"``, ``"cuda"``) runs the
float network as batch work (:func:`~neurorl.sim.batch.run_batch`) and counts the spike rasters
it records, the same counts the runtime run gives for the same spikes. There is no fixed point
on those devices: it is Brian2 code run after the state update and after the synaptic input
each step, slots that a standalone run of GeNN's fixed schedule does not have. GeNN runs
schedule ``"genn"`` only, so ``device="genn"`` counts ``net.with_schedule("genn")`` (on_pre
effects land one step later there), and says so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurorl import coding
from neurorl.hardware.ann import dnn_cost
from neurorl.hardware.counting import Probe, Traffic, count
from neurorl.hardware.mapping import graph_from_brian2, map_network
from neurorl.hardware.profiles import Profile, load_profile
from neurorl.hardware.quantize import quantize_brian2
from neurorl.hardware.report import ChipReport, price
from neurorl.sim import devices

__all__ = [
    "estimate",
    "observations",
    "readout_values",
    "simulate",
]

Readout = Callable[[dict, np.ndarray | None], np.ndarray]


def readout_values(net, states: dict[str, np.ndarray], spikes: np.ndarray | None) -> np.ndarray:
    """Default readout (B, n_out) of the output layer from its states (T, B, n) and spikes.

    Spiking output: :func:`neurorl.coding.robust` (Tan et al.'s robust readout, exact for IF
    with reset by subtraction); non-spiking output: the output variable averaged over the
    window (:func:`neurorl.coding.window_mean`, SDN's readout).
    """
    layer = net.output_layer
    model = layer.model
    if model.spiking and spikes is not None:
        v_th = net.parameter_values(layer).get("v_th", 1.0)
        var = model.inputs[0] if model.inputs else model.state_variables[0]
        v_init = net.initial_state(layer)[var]
        return coding.robust(coding.spike_count(spikes), coding.last_step(states[var]), v_th,
                             v_init)
    var = model.output or model.state_variables[0]
    return coding.window_mean(states[var])


def simulate(
    net,
    inputs: np.ndarray | dict,
    mapping,
    quantize: bool = True,
    readout: Readout | None = None,
    device: str = "runtime",
):
    """Run ``net`` on ``inputs`` (T, B, n_in) as B copies, mapped on ``mapping``, on ``device``.

    Returns ``(counts, readout (B, n_out), quantization info or None)``. On a batch device (any
    but ``"runtime"``, see the module doc) the network runs in float (``quantize=True`` is a
    :class:`~neurorl.sim.devices.DeviceError`), and the readout is None when that device does
    not record the output layer's readout variable (a subexpression such as ``y`` of
    models/linear.toml).
    """
    if not isinstance(inputs, dict):
        inputs = {net.inputs[0].name: np.asarray(inputs, dtype=float)}
    T, B = next(iter(inputs.values())).shape[:2]
    if device != "runtime":
        if quantize:
            raise devices.DeviceError(
                f"the chip's fixed point runs on the 'runtime' device only (Brian2 code after "
                f"the state update and after the synaptic input each step, which device "
                f"{device!r} cannot run); count the float network there (quantize=False, "
                f"--no-quantize) or use device 'runtime'"
            )
        return _simulate_batch(net, inputs, mapping, readout, device)
    with devices.use("runtime"):
        return _simulate(net, inputs, mapping, quantize, readout, T, B)


def _simulate_batch(net, inputs, mapping, readout, device):
    """The float network as batch work on ``device``, counted from the rasters it records."""
    from neurorl.sim.batch import run_batch

    if devices.get(device).schedule == "genn" and net.schedule != "genn":
        print(f"{device}: counting the network under schedule 'genn' (GeNN's fixed order: "
              f"on_pre effects land at the start of the next step), not {net.schedule!r}")
        net = net.with_schedule("genn")
    result = run_batch(net, inputs, device, record="all")
    spikes, analog = {}, {}
    for pop in mapping.graph.populations.values():
        if pop.kind == "analog_input":
            analog[pop.name] = np.asarray(inputs[pop.name], dtype=float).transpose(1, 0, 2)
        elif pop.spiking:
            spikes[pop.name] = result.spikes[pop.name].transpose(1, 0, 2)
    counts = count(mapping, spikes, analog, Traffic.of(mapping))
    out = net.output_layer
    states = result.states[out.name]
    var = out.model.output or out.model.state_variables[0]
    if readout is None and not (out.model.spiking and out.name in result.spikes) \
            and var not in states:
        return counts, None, None
    values = (readout or (lambda s, k: readout_values(net, s, k)))(
        states, result.spikes.get(out.name))
    return counts, np.asarray(values), None


def _simulate(net, inputs, mapping, quantize, readout, T, B):
    import brian2

    objs = net.to_brian2(copies=B, inputs=inputs)
    graph = graph_from_brian2(objs.groups, objs.synapses, copies=B)
    info = None
    if quantize:
        info = quantize_brian2(objs.groups, objs.synapses, graph, mapping.profile)
        objs.network.add(*info.runners)
    probe = Probe(mapping, objs.groups, copies=B)
    out = net.output_layer
    group = objs.groups[out.name]
    variables = list(out.model.state_variables)
    if out.model.output and out.model.output not in variables:
        variables.append(out.model.output)
    state_mon = brian2.StateMonitor(group, variables, record=True, when="end", name="readout*")
    objs.network.add(*probe.objects, state_mon)
    t0 = float(objs.network.t_)
    objs.network.run(T * net.dt * brian2.ms, namespace={})
    counts = probe.counts(t0, T, Traffic.of(mapping))
    states = {
        v: np.asarray(getattr(state_mon, f"{v}_")).T.reshape(T, B, out.size) for v in variables
    }
    spikes = None
    if out.name in probe.spike_monitors:
        spikes = counts_raster(probe, out.name, t0, T, B, out.size)
    values = (readout or (lambda s, k: readout_values(net, s, k)))(states, spikes)
    return counts, np.asarray(values), info


def counts_raster(probe: Probe, name: str, t0: float, T: int, B: int, size: int) -> np.ndarray:
    """Spike raster (T, B, size) of population ``name`` recorded by ``probe``."""
    mon = probe.spike_monitors[name]
    dt = float(probe.groups[name].clock.dt_)
    step = np.rint((np.asarray(mon.t_[:]) - t0) / dt).astype(np.int64)
    i = np.asarray(mon.i[:])
    raster = np.zeros((T, B, size))
    np.add.at(raster, (step, i // size, i % size), 1.0)
    return raster


def estimate(
    net,
    inputs: np.ndarray | dict,
    profile: Profile | str = "nc64c",
    *,
    quantize: bool = True,
    compare_float: bool = True,
    readout: Readout | None = None,
    steps_per_decision: int | None = None,
    dnn=None,
    dnn_profiles: tuple[str, ...] = ("cpu_45nm", "gpu_a100"),
    label: str = "",
    device: str = "runtime",
    **overrides: float,
) -> ChipReport:
    """Latency and energy per decision of ``net`` on the chip of ``profile``.

    Args:
        net: a :class:`~neurorl.network.Network`.
        inputs: (T, B, n_in) analog input values (or a dict by input layer): B decisions of T
            steps each (``steps_per_decision`` changes what one decision is).
        profile: a chip profile (name, path or :class:`Profile`); ``overrides`` replace numbers.
        quantize: run in the profile's fixed point; with ``compare_float`` also run the float
            network and report the action agreement.
        readout: ``f(states, spikes) -> (B, n_out)``, states by variable (T, B, n_out) and
            spikes (T, B, n_out) or None; default :func:`readout_values`.
        dnn: the DNN counterpart (anything :func:`~neurorl.hardware.ann.dnn_cost` takes), priced
            on ``dnn_profiles`` and attached to the report.
        device: what runs the network (see the module doc): ``"runtime"``, or a batch device
            for the float network (``quantize=False``).

    Raises :class:`~neurorl.hardware.mapping.MappingError` when the network does not fit.
    """
    profile = load_profile(profile, **overrides)
    mapping = map_network(net, profile)
    counts, values, info = simulate(net, inputs, mapping, quantize, readout, device)
    agreement = None
    if quantize and compare_float:
        _, float_values, _ = simulate(net, inputs, mapping, False, readout, device)
        agreement = float(np.mean(values.argmax(-1) == float_values.argmax(-1)))
    report = ChipReport(
        **price(counts, mapping, steps_per_decision),
        quantization=info.to_dict() if info is not None else None,
        agreement=agreement,
        agreement_n=len(values) if agreement is not None else 0,
        network={
            layer.name: f"{layer.size} {'analog input' if layer.is_input else layer.model.name}"
            for layer in net.layers.values()
        },
        label=label,
    )
    if device != "runtime":
        schedule = "genn" if devices.get(device).schedule == "genn" else net.schedule
        report.notes.append(f"counted on device {device!r} from the float network's spikes "
                            f"(no fixed point), schedule {schedule!r}")
    if dnn is not None:
        report.add_dnn([dnn_cost(dnn, p) for p in dnn_profiles])
    return report


# --------------------------------------------------------------------------------------------
# checkpoints and observations for `neurorl energy`
# --------------------------------------------------------------------------------------------
def observations(env_id: str, n: int, seed: int = 0, teacher=None) -> tuple[np.ndarray, str]:
    """``n`` observations (n, *obs_shape) of ``env_id`` visited by the teacher's greedy policy
    if given, else by a uniformly random one; returns (observations, "teacher" or
    "random-policy")."""
    from neurorl.rl.evaluate import collect_states

    states = collect_states(teacher, env_id, n, epsilon=0.0, seed=seed).astype(np.float32)
    return states, ("teacher" if teacher is not None else "random-policy")
