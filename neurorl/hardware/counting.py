"""Counting what a mapped network does on the chip, per copy, per time step and per core.

Counted from the Brian2 run (SpikeMonitors on spiking groups, a StateMonitor on analog inputs):

* **spikes** per population and step;
* **synaptic operations (SOPs)** on the core holding the target: each spike of neuron i costs one
  SOP per outgoing event-driven synapse, and so per synapse of a summed coupling that reads only
  the spikes of the step (GRSN's output ``o``; :func:`~neurorl.hardware.mapping.spike_valued`);
  any other continuous (summed) coupling costs one MAC-equivalent SOP per synapse per step,
  whatever the activity;
* **neuron updates**: every chip neuron, every step;
* **spike messages and router hops**: routing is unicast (the profile's ``routing``) — a spike
  sends one message to each destination core holding at least one of its targets, travelling the
  Manhattan distance between their routers (0 hops on the same router). A summed coupling sends
  every presynaptic value every step the same way;
* **host MACs** of analog inputs (``analog_input = "host"``): the host computes W·x whenever the
  input vector of a copy changes (first step included) and sends each destination core one
  message from router (0, 0); a constant input is computed once and held as a current. With
  ``analog_input = "sop"`` every input value is instead a graded event every step: one SOP per
  synapse per step, messages and hops from router (0, 0) like spikes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurorl.hardware.mapping import Mapping

__all__ = ["Counts", "Probe", "Traffic", "count"]


@dataclass
class _Source:
    """Per-neuron traffic of one source population: SOPs per destination core and routing."""

    sops: np.ndarray  # (n, cores) synapses of neuron i on each core
    messages: np.ndarray  # (n,) destination cores
    hops: np.ndarray  # (n,) total router hops of one spike
    max_hops: np.ndarray  # (n,) farthest destination


@dataclass
class Traffic:
    """Static traffic tables of a :class:`Mapping` (what one spike of each neuron costs)."""

    event: dict[str, _Source]
    summed_sops: np.ndarray  # (cores,) per step
    summed_messages: int
    summed_hops: int
    summed_max_hops: int
    analog: dict[str, _Source]
    updates: np.ndarray  # (cores,) neuron updates per step

    @classmethod
    def of(cls, mapping: Mapping) -> Traffic:
        """Build the tables: for every presynaptic neuron, its synapses per destination core."""
        graph = mapping.graph
        n_cores = mapping.n_cores
        dist, dist_host = mapping.distances()
        tables: dict[tuple[str, str], np.ndarray] = {}
        for proj in graph.projections:
            kind = "event" if proj.coupling == "spike_summed" else proj.coupling
            key = (proj.pre, kind)
            if key not in tables:
                tables[key] = np.zeros((graph.populations[proj.pre].size, n_cores), np.int64)
            np.add.at(tables[key], (proj.i, mapping.core_of[proj.post][proj.j]), 1)

        def source(pre: str, table: np.ndarray) -> _Source:
            reach = table > 0
            if pre in mapping.core_of:
                d = dist[mapping.core_of[pre]]  # (n, cores)
            else:  # host input: from router (0, 0)
                d = np.broadcast_to(dist_host, table.shape)
            hops = np.where(reach, d, 0)
            return _Source(table, reach.sum(1), hops.sum(1), hops.max(1, initial=0))

        event, analog = {}, {}
        summed_sops = np.zeros(n_cores, np.int64)
        s_msg = s_hops = s_max = 0
        for (pre, kind), table in tables.items():
            src = source(pre, table)
            if kind == "event":
                event[pre] = src
            elif kind == "analog":
                analog[pre] = src
            else:
                summed_sops += table.sum(0)
                s_msg += int(src.messages.sum())
                s_hops += int(src.hops.sum())
                s_max = max(s_max, int(src.max_hops.max(initial=0)))
        return cls(event, summed_sops, s_msg, s_hops, s_max, analog, mapping.neurons.copy())


@dataclass
class Counts:
    """Counts of a run, per copy (B) and step (T); per core (C) where the latency needs it.

    ``sops`` (B, T, C) includes summed couplings (and analog inputs when priced as SOPs);
    ``updates`` (C,) per step; ``messages``, ``hops``, ``max_hops``, ``host_macs`` (B, T);
    ``spikes[population]`` (B, T) spike counts.
    """

    sops: np.ndarray
    updates: np.ndarray
    messages: np.ndarray
    hops: np.ndarray
    max_hops: np.ndarray
    host_macs: np.ndarray
    spikes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def copies(self) -> int:
        """B."""
        return self.sops.shape[0]

    @property
    def steps(self) -> int:
        """T."""
        return self.sops.shape[1]

    def concat(self, other: Counts) -> Counts:
        """These counts followed in time by ``other`` (a second run of the same network)."""
        spikes = {k: np.concatenate([v, other.spikes[k]], 1) for k, v in self.spikes.items()}
        return Counts(
            np.concatenate([self.sops, other.sops], 1),
            self.updates,
            np.concatenate([self.messages, other.messages], 1),
            np.concatenate([self.hops, other.hops], 1),
            np.concatenate([self.max_hops, other.max_hops], 1),
            np.concatenate([self.host_macs, other.host_macs], 1),
            spikes,
        )


def count(
    mapping: Mapping,
    spikes: dict[str, np.ndarray],
    analog: dict[str, np.ndarray] | None = None,
    traffic: Traffic | None = None,
) -> Counts:
    """Counts from spike rasters ``spikes[pop]`` (B, T, n) and analog inputs ``analog[pop]``
    (B, T, n) of a mapped network (every spiking population needs its raster)."""
    traffic = traffic or Traffic.of(mapping)
    analog = analog or {}
    shapes = [s.shape[:2] for s in (*spikes.values(), *analog.values())]
    if not shapes:
        raise ValueError("count needs at least one spike raster or analog input")
    B, T = shapes[0]
    C = mapping.n_cores
    sops = np.zeros((B, T, C))
    messages = np.zeros((B, T))
    hops = np.zeros((B, T))
    max_hops = np.zeros((B, T))
    host_macs = np.zeros((B, T))
    spike_counts = {}
    for pop, raster in spikes.items():
        raster = np.asarray(raster, dtype=float)
        spike_counts[pop] = raster.sum(-1)
        src = traffic.event.get(pop)
        if src is None:
            continue
        flat = raster.reshape(B * T, -1)
        sops += (flat @ src.sops).reshape(B, T, C)
        messages += (flat @ src.messages).reshape(B, T)
        hops += (flat @ src.hops).reshape(B, T)
        max_hops = np.maximum(max_hops, (raster * src.max_hops).max(-1, initial=0))
    sops += traffic.summed_sops
    messages += traffic.summed_messages
    hops += traffic.summed_hops
    max_hops = np.maximum(max_hops, traffic.summed_max_hops)
    for pop, src in traffic.analog.items():
        if pop not in analog:
            raise ValueError(f"count needs the values of analog input {pop}")
        x = np.asarray(analog[pop], dtype=float)
        if mapping.profile.analog_input == "sop":
            sops += src.sops.sum(0)
            messages += src.messages.sum()
            hops += src.hops.sum()
            max_hops = np.maximum(max_hops, src.max_hops.max(initial=0))
        else:
            changed = np.ones((B, T), dtype=bool)
            changed[:, 1:] = np.any(x[:, 1:] != x[:, :-1], axis=-1)
            reach = src.sops.sum(0) > 0
            dist_host = mapping.distances()[1]
            host_macs += changed * src.sops.sum()
            messages += changed * reach.sum()
            hops += changed * dist_host[reach].sum()
            max_hops = np.maximum(max_hops, changed * dist_host[reach].max(initial=0))
    return Counts(sops, traffic.updates, messages, hops, max_hops, host_macs, spike_counts)


class Probe:
    """Monitors added to a Brian2 network to count a run of a mapped network.

    ``Probe(mapping, groups, copies)`` makes a SpikeMonitor per spiking chip population and spike
    input and a StateMonitor of ``x`` per analog input (``objects`` to add to the network);
    after the run, :meth:`counts` turns their records into :class:`Counts`.
    """

    def __init__(self, mapping: Mapping, groups: dict, copies: int = 1) -> None:
        import brian2

        self.mapping = mapping
        self.copies = copies
        self.spike_monitors = {}
        self.input_monitors = {}
        for pop in mapping.graph.populations.values():
            g = groups[pop.name]
            if pop.kind == "analog_input":
                self.input_monitors[pop.name] = brian2.StateMonitor(
                    g, "x", record=True, when="before_groups", name=f"{g.name}_chipx*"
                )
            elif pop.spiking:
                self.spike_monitors[pop.name] = brian2.SpikeMonitor(g, name=f"{g.name}_chip*")
        self.groups = groups

    @property
    def objects(self) -> list:
        """The monitors, to add to (and later remove from) the Brian2 network."""
        return [*self.spike_monitors.values(), *self.input_monitors.values()]

    def counts(self, t_start: float, steps: int, traffic: Traffic | None = None) -> Counts:
        """Counts of the ``steps`` steps from time ``t_start`` (seconds)."""
        B = self.copies
        spikes = {}
        for name, mon in self.spike_monitors.items():
            size = self.mapping.graph.populations[name].size
            dt = float(self.groups[name].clock.dt_)
            t = np.asarray(mon.t_[:])
            i = np.asarray(mon.i[:])
            step = np.rint((t - t_start) / dt).astype(np.int64)
            keep = (step >= 0) & (step < steps)
            raster = np.zeros((B, steps, size))
            np.add.at(raster, (i[keep] // size, step[keep], i[keep] % size), 1.0)
            spikes[name] = raster
        analog = {}
        for name, mon in self.input_monitors.items():
            size = self.mapping.graph.populations[name].size
            x = np.asarray(mon.x_[:])  # (N, recorded steps)
            t = np.asarray(mon.t_[:])
            dt = float(self.groups[name].clock.dt_)
            step = np.rint((t - t_start) / dt).astype(np.int64)
            keep = (step >= 0) & (step < steps)
            x = x[:, keep].T  # (T, N)
            analog[name] = x.reshape(steps, B, size).transpose(1, 0, 2)
        return count(self.mapping, spikes, analog, traffic)
