"""A Brian2 device for neuromorphic chips: ``set_device("nc64c")``.

::

    from brian2 import *
    import neurorl.hardware                      # registers the devices "nc64c" and "chip"
    set_device("nc64c")                          # or set_device("chip", profile="loihi")
    ...                                          # build groups and synapses as usual
    run(100*ms)
    print(device.report().table())

On every ``run`` the device (a :class:`brian2.devices.device.RuntimeDevice`: code runs through
runtime code generation, numpy or cython) takes the network's groups and synapses, maps them onto
the chip's cores (:func:`~neurorl.hardware.mapping.map_network`; a network that does not fit
raises :class:`~neurorl.hardware.mapping.MappingError` before anything runs), quantises weights,
per-neuron constants and state to the profile's fixed point **in place**
(:func:`~neurorl.hardware.quantize.quantize_brian2`; the float weights are kept in
``device.float_weights``), adds spike monitors, runs, and counts events per step and core
(:mod:`~neurorl.hardware.counting`). :meth:`ChipDevice.report` prices everything counted since
the device was activated (or :meth:`ChipDevice.reset_counts`).

Options of ``set_device`` (passed to :meth:`ChipDevice.activate`): ``profile`` (name, path or
:class:`~neurorl.hardware.profiles.Profile`), ``quantize`` (default True), ``copies`` (the groups
hold that many copies of one network, neuron k of copy c at c*size + k), ``analog_inputs`` (names
of groups that are analog host inputs), ``steps_per_decision``, and any profile number as an
override (``set_device("nc64c", e_sop_pj=5.0)``).

The device shares the runtime device's array storage, so objects created before
``set_device("nc64c")`` run on it, and objects created under it run on the runtime device after
``set_device("runtime")``.
"""

from __future__ import annotations

import brian2
from brian2.devices.device import RuntimeDevice, all_devices, runtime_device

from neurorl.hardware.counting import Probe, Traffic
from neurorl.hardware.mapping import graph_from_brian2, map_network
from neurorl.hardware.profiles import load_profile
from neurorl.hardware.quantize import quantize_brian2, weight_variable
from neurorl.hardware.report import ChipReport, price

__all__ = ["ChipDevice"]


class ChipDevice(RuntimeDevice):
    """Runtime-codegen Brian2 device that maps, quantises, runs and counts on a chip profile."""

    def __init__(self, default_profile: str = "nc64c") -> None:
        super().__init__()
        self.arrays = runtime_device.arrays  # one storage: objects move freely between devices
        self.default_profile = default_profile
        self.profile = None
        self.options: dict = {}
        self.reset_counts()

    def activate(
        self,
        build_on_run: bool = True,
        profile=None,
        quantize: bool = True,
        copies: int = 1,
        analog_inputs: tuple[str, ...] = (),
        steps_per_decision: int | None = None,
        **overrides: float,
    ) -> None:
        """Select the chip profile and options (called by ``set_device``)."""
        super().activate(build_on_run=build_on_run)
        self.profile = load_profile(profile or self.default_profile, **overrides)
        self.options = {
            "quantize": quantize,
            "copies": int(copies),
            "analog_inputs": tuple(analog_inputs),
            "steps_per_decision": steps_per_decision,
        }
        self.reset_counts()

    def reset_counts(self) -> None:
        """Forget the counts of earlier runs."""
        self.counts = None
        self.mapping = None
        self.quantization = None
        self.float_weights: dict = {}

    def network_run(
        self,
        net,
        duration,
        report=None,
        report_period=10 * brian2.second,
        namespace=None,
        profile=None,
        level=0,
    ):
        """Map, quantise, instrument and run ``net`` for ``duration`` (Brian2's run, overridden)."""
        groups, synapses = _collect(net)
        copies = self.options.get("copies", 1)
        graph = graph_from_brian2(
            groups, synapses, copies=copies, analog_inputs=self.options.get("analog_inputs", ())
        )
        mapping = map_network(graph, self.profile)
        added = []
        if self.options.get("quantize", True):
            for name, syn in synapses.items():
                wname = weight_variable(syn)
                if name not in self.float_weights and wname is not None:
                    self.float_weights[name] = getattr(syn, f"{wname}_")[:].copy()
            self.quantization = quantize_brian2(groups, synapses, graph, self.profile)
            added += self.quantization.runners
        probe = Probe(mapping, groups, copies=copies)
        added += probe.objects
        brian2.Network.add(net, *added)  # also on the MagicNetwork of run()
        dt = min(float(g.clock.dt_) for g in groups.values())
        t0 = float(net.t_)
        try:
            brian2.Network.run.original_function(
                net,
                duration,
                report=report,
                report_period=report_period,
                namespace=namespace,
                profile=profile,
                level=level + 1,
            )
        finally:
            for obj in added:
                net.objects.discard(obj)
        steps = int(round((float(net.t_) - t0) / dt))
        counts = probe.counts(t0, steps, Traffic.of(mapping))
        same = self.mapping is not None and self.mapping.summary() == mapping.summary()
        self.counts = counts if self.counts is None or not same else self.counts.concat(counts)
        self.mapping = mapping

    def report(self, steps_per_decision: int | None = None) -> ChipReport:
        """Latency and energy of everything run since activation (see :func:`price`)."""
        if self.counts is None:
            raise RuntimeError("nothing has run on the chip device yet")
        spd = steps_per_decision or self.options.get("steps_per_decision")
        return ChipReport(
            **price(self.counts, self.mapping, spd),
            quantization=None if self.quantization is None else self.quantization.to_dict(),
            network={
                name: f"{p.size} {p.kind}" for name, p in self.mapping.graph.populations.items()
            },
            label="Brian2 device",
        )


def _collect(net) -> tuple[dict, dict]:
    """Groups (NeuronGroup, SpikeGeneratorGroup, PoissonGroup) and Synapses of ``net`` by name."""
    from brian2.core.network import _get_all_objects

    groups, synapses = {}, {}
    for obj in sorted(_get_all_objects(net.objects), key=lambda o: o.name):
        if isinstance(obj, brian2.Synapses):
            synapses[obj.name] = obj
        elif isinstance(obj, brian2.NeuronGroup | brian2.SpikeGeneratorGroup | brian2.PoissonGroup):
            groups[obj.name] = obj
    return {n: groups[n] for n in _feedforward_order(groups, synapses)}, synapses


def _feedforward_order(groups: dict, synapses: dict) -> list[str]:
    """Group names by distance from the groups nothing projects into (inputs), then by name."""
    ids = {id(g): n for n, g in groups.items()}
    edges = []
    for syn in synapses.values():
        pre = ids.get(id(syn.source), ids.get(id(getattr(syn.source, "source", None))))
        post = ids.get(id(syn.target), ids.get(id(getattr(syn.target, "source", None))))
        if pre is not None and post is not None and pre != post:
            edges.append((pre, post))
    targets = {b for _, b in edges}
    depth = {n: 0 for n in groups if n not in targets}
    frontier = list(depth) or sorted(groups)[:1]
    depth.update({n: 0 for n in frontier})
    while frontier:
        nxt = []
        for a, b in edges:
            if a in frontier and b not in depth:
                depth[b] = depth[a] + 1
                nxt.append(b)
        frontier = nxt
    return sorted(groups, key=lambda n: (depth.get(n, len(groups)), n))


all_devices["nc64c"] = ChipDevice("nc64c")
all_devices["chip"] = ChipDevice("nc64c")
