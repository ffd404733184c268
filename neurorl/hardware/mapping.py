"""Placing a spiking network onto the cores of a chip.

A network is first reduced to a :class:`Graph` — populations (sizes, spiking or not, host inputs)
and projections (presynaptic and postsynaptic indices of every synapse, and the coupling) —
either from a :class:`~neurorl.network.Network` spec (:func:`graph_from_network`) or from Brian2
objects (:func:`graph_from_brian2`, what the ``nc64c`` device sees). :func:`map_network` then
places it greedily:

* populations are placed in order, each on its own run of consecutive cores (a core holds
  neurons of one population only, like nengo-loihi's one ensemble per core — our choice);
* a core takes consecutive neurons of its population until one more would exceed
  ``neurons_per_core``, ``fan_in_per_core`` (distinct presynaptic neurons whose spikes or values
  reach the core) or ``synapses_per_core`` (synaptic memory entries);
* cores sit on the mesh in row-major order, ``cores_per_router`` to a router; the host (analog
  and spike inputs) attaches at router (0, 0) — our choice.

A network that does not fit raises :class:`MappingError` naming the limit and by how much it is
exceeded. Analog inputs (neurorl ``input`` layers) are computed on the host and injected as
currents: they occupy no neurons, axons or synaptic memory on the chip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field

import brian2
import numpy as np

from neurorl import NeurorlError
from neurorl.hardware.profiles import Profile, load_profile

__all__ = [
    "Graph",
    "Mapping",
    "MappingError",
    "Population",
    "Projection",
    "graph_from_brian2",
    "graph_from_network",
    "map_network",
    "spike_valued",
]


class MappingError(NeurorlError, ValueError):
    """A network that does not fit the chip; the message names the limit and the excess."""


@dataclass(frozen=True)
class Population:
    """``size`` neurons; ``kind`` is ``"neurons"`` (on chip), ``"analog_input"`` or
    ``"spike_input"`` (both on the host)."""

    name: str
    size: int
    kind: str = "neurons"
    spiking: bool = True


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses ``i[k] -> j[k]`` (int arrays, same length) from ``pre`` to ``post``.

    ``coupling``: ``"event"`` (one synaptic operation per presynaptic spike and synapse),
    ``"spike_summed"`` (a summed coupling that reads the presynaptic spikes of the step, zero
    between spikes — see :func:`spike_valued` — priced like ``"event"``), ``"summed"`` (a
    continuous coupling: one MAC-equivalent operation per synapse per step) or ``"analog"``
    (from an analog host input; priced per the profile's ``analog_input`` setting).
    """

    name: str
    pre: str
    post: str
    i: np.ndarray
    j: np.ndarray
    coupling: str = "event"


@dataclass
class Graph:
    """Populations by name (in placement order) and the projections between them."""

    populations: dict[str, Population]
    projections: list[Projection]

    @property
    def neuron_populations(self) -> list[Population]:
        """Populations that live on the chip."""
        return [p for p in self.populations.values() if p.kind == "neurons"]

    def incoming(self, name: str) -> list[Projection]:
        """Projections into population ``name``."""
        return [p for p in self.projections if p.post == name]

    def outgoing(self, name: str) -> list[Projection]:
        """Projections out of population ``name``."""
        return [p for p in self.projections if p.pre == name]


def graph_from_network(net) -> Graph:
    """The :class:`Graph` of a :class:`~neurorl.network.Network` spec (no Brian2 build)."""
    pops = {}
    for layer in net.layers.values():
        if layer.is_input:
            pops[layer.name] = Population(layer.name, layer.size, "analog_input", False)
        else:
            pops[layer.name] = Population(layer.name, layer.size, "neurons", layer.model.spiking)
    projs = []
    for conn in net.connections:
        i, j = conn.pairs()
        coupling = "analog" if conn.pre.is_input else conn.coupling
        if coupling == "summed":
            m = conn.pre.model
            if m.spiking and spike_valued(brian2.Equations(m.brian2_equations), m.reset,
                                          m.method, conn.pre.out_variable):
                coupling = "spike_summed"
        projs.append(Projection(conn.name, conn.pre.name, conn.post.name, i, j, coupling))
    return Graph(pops, projs)


def graph_from_brian2(
    groups: MappingType[str, object],
    synapses: MappingType[str, object],
    copies: int = 1,
    analog_inputs: tuple[str, ...] | list[str] = (),
) -> Graph:
    """The :class:`Graph` of Brian2 groups and synapses (dicts by the names to use).

    Args:
        copies: the groups hold ``copies`` identical copies of the network, neuron k of copy c
            at index ``c*size + k`` (as :meth:`Network.to_brian2` builds them); the graph is that
            of copy 0.
        analog_inputs: names of groups that are analog host inputs. A ``NeuronGroup`` whose only
            variable is ``x`` and whose threshold is ``True`` (a neurorl input layer) is one
            anyway. ``SpikeGeneratorGroup`` and ``PoissonGroup`` are spike inputs from the host.
    """
    import brian2

    key_of = {}
    pops: dict[str, Population] = {}
    for name, g in groups.items():
        n = len(g)
        if n % copies:
            raise MappingError(f"group {name} has {n} neurons, not a multiple of copies={copies}")
        size = n // copies
        key_of[id(g)] = name
        if isinstance(g, brian2.SpikeGeneratorGroup | brian2.PoissonGroup):
            pops[name] = Population(name, size, "spike_input", True)
            continue
        events = getattr(g, "events", {})
        own = set(g.equations.names) if hasattr(g, "equations") else set()
        neurorl_input = own == {"x"} and str(events.get("spike", "")).strip() == "True"
        if name in analog_inputs or neurorl_input:
            pops[name] = Population(name, size, "analog_input", False)
        else:
            pops[name] = Population(name, size, "neurons", "spike" in events)
    projs = []
    for name, syn in synapses.items():
        pre, pre_off = _owner(syn.source, key_of)
        post, post_off = _owner(syn.target, key_of)
        if pre is None or post is None:
            raise MappingError(f"synapses {name} connect groups that are not part of the network")
        i = np.asarray(syn.i[:], dtype=np.int64) + pre_off
        j = np.asarray(syn.j[:], dtype=np.int64) + post_off
        keep = (i < pops[pre].size) & (j < pops[post].size)
        if pops[pre].kind == "analog_input":
            coupling = "analog"
        elif getattr(syn, "summed_updaters", None):
            coupling = "spike_summed" if _reads_spikes(syn) else "summed"
        else:
            coupling = "event"
        projs.append(Projection(name, pre, post, i[keep], j[keep], coupling))
    return Graph(pops, projs)


def spike_valued(equations, reset: str | None, method: str, variable: str | None) -> bool:
    """Whether ``variable`` of a neuron model holds the spikes of the step: the reset sets it to
    a constant, and every update clears it (``d{variable}/dt = -{variable}/dt`` under Euler), as
    GRSN's output ``o`` does. A summed coupling that reads only such variables, and is zero when
    they are, carries nothing between spikes: a chip sends it as events.

    Args:
        equations: the model's ``brian2.Equations``; reset: its reset code; method: its
            integration method.
    """
    from brian2.equations.equations import DIFFERENTIAL_EQUATION
    from brian2.parsing.sympytools import str_to_sympy

    if variable is None or variable not in equations.names or method != "euler":
        return False
    eq = equations[variable]
    if eq.type != DIFFERENTIAL_EQUATION:
        return False
    if (str_to_sympy(eq.expr.code) - str_to_sympy(f"-{variable}/dt")).simplify() != 0:
        return False
    assigns = re.compile(rf"\s*{re.escape(variable)}\s*=\s*[-+]?[\d.]+(e[-+]?\d+)?\s*")
    return any(assigns.fullmatch(line) for line in (reset or "").splitlines())


def _reads_spikes(syn) -> bool:
    """Whether every summed variable of Brian2 synapses ``syn`` reads only spike-valued
    presynaptic variables (:func:`spike_valued`) and is zero when they are."""
    from brian2.parsing.sympytools import str_to_sympy

    source = syn.source.source if hasattr(syn.source, "source") else syn.source
    eqs = getattr(source, "equations", None)
    reset = getattr(source, "event_codes", {}).get("spike")
    if eqs is None or reset is None:
        return False
    method = getattr(source, "method_choice", None)
    for updater in syn.summed_updaters.values():
        expr = str_to_sympy(updater.expression.code)
        pre = {sym for sym in expr.free_symbols if sym.name.endswith("_pre")}
        if not pre or not all(spike_valued(eqs, reset, method, sym.name[:-4]) for sym in pre):
            return False
        if expr.subs({sym: 0 for sym in pre}) != 0:
            return False
    return True


def _owner(group, key_of: dict[int, str]) -> tuple[str | None, int]:
    """(population name, index offset) of a group or subgroup."""
    if id(group) in key_of:
        return key_of[id(group)], 0
    parent = getattr(group, "source", None)
    if parent is not None and id(parent) in key_of:
        return key_of[id(parent)], int(group.start)
    return None, 0


@dataclass
class Mapping:
    """Where every neuron sits: ``core_of[population]`` (size,) core index per neuron.

    ``layer_cores[population]`` lists its cores; ``bound[population]`` the limit that ended
    its cores (``"neurons_per_core"``, ``"fan_in_per_core"``, ``"synapses_per_core"`` or
    ``"population end"``). ``axons`` and ``synapses`` are per core.
    """

    profile: Profile
    graph: Graph
    core_of: dict[str, np.ndarray]
    layer_cores: dict[str, list[int]]
    bound: dict[str, str]
    neurons: np.ndarray
    axons: np.ndarray
    synapses: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def n_cores(self) -> int:
        """Cores used."""
        return len(self.neurons)

    def router_xy(self, cores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mesh coordinates (x, y) of the routers of ``cores`` (row-major placement)."""
        per = int(self.profile.get("cores_per_router", 1))
        r = np.asarray(cores) // per
        mx = int(self.profile.mesh_x)
        return r % mx, r // mx

    def distances(self) -> tuple[np.ndarray, np.ndarray]:
        """Router hops between used cores (n_cores, n_cores) and from the host (n_cores,)."""
        x, y = self.router_xy(np.arange(self.n_cores))
        d = np.abs(x[:, None] - x[None, :]) + np.abs(y[:, None] - y[None, :])
        return d, x + y

    def summary(self) -> dict:
        """JSON-ready: cores used, cores per population, binding limit, per-core loads."""
        return {
            "cores_used": self.n_cores,
            "cores_available": int(self.profile.cores),
            "layers": {
                name: {
                    "neurons": int(len(self.core_of[name])),
                    "cores": len(cores),
                    "bound_by": self.bound[name],
                }
                for name, cores in self.layer_cores.items()
            },
            "max_neurons_per_core": int(self.neurons.max(initial=0)),
            "max_axons_per_core": int(self.axons.max(initial=0)),
            "max_synapses_per_core": int(self.synapses.max(initial=0)),
        }


def map_network(net_or_graph, profile: Profile | str = "nc64c", **overrides: float) -> Mapping:
    """Place a :class:`Network` or :class:`Graph` on the chip of ``profile`` (greedy).

    Raises :class:`MappingError` when one neuron needs more input axons or synapses than a core
    has, or when the network needs more cores than the chip has; the message gives the limit,
    the need, and the excess.
    """
    profile = load_profile(profile, **overrides)
    if profile.kind != "neuromorphic":
        raise MappingError(f"profile {profile.name!r} is a {profile.kind} profile, not a chip")
    graph = net_or_graph if isinstance(net_or_graph, Graph) else graph_from_network(net_or_graph)
    npc = int(profile.neurons_per_core)
    fan_max = int(profile.fan_in_per_core)
    syn_max = int(profile.get("synapses_per_core", 0)) or None

    offsets, total = {}, 0
    for pop in graph.populations.values():
        offsets[pop.name] = total
        total += pop.size

    core_of: dict[str, np.ndarray] = {}
    layer_cores: dict[str, list[int]] = {}
    bound: dict[str, str] = {}
    neurons, axons, synapses = [], [], []
    for pop in graph.neuron_populations:
        incoming = [p for p in graph.incoming(pop.name) if p.coupling != "analog"]
        if incoming:
            J = np.concatenate([p.j for p in incoming])
            I = np.concatenate([p.i + offsets[p.pre] for p in incoming])
        else:
            J = I = np.zeros(0, dtype=np.int64)
        order = np.lexsort((I, J))
        J, I = J[order], I[order]
        _check_single_neuron(pop, J, I, fan_max, syn_max, profile)

        def load(a: int, b: int, J=J, I=I) -> tuple[int, int]:
            lo, hi = np.searchsorted(J, a), np.searchsorted(J, b)
            return len(np.unique(I[lo:hi])), int(hi - lo)

        def fits(a: int, b: int) -> bool:
            ax, sy = load(a, b)
            return ax <= fan_max and (syn_max is None or sy <= syn_max)

        cores_here = np.empty(pop.size, dtype=np.int64)
        reasons = []
        a = 0
        while a < pop.size:
            hi = min(npc, pop.size - a)
            lo = 1
            while lo < hi:  # largest k in [1, hi] with fits(a, a + k)
                mid = (lo + hi + 1) // 2
                if fits(a, a + mid):
                    lo = mid
                else:
                    hi = mid - 1
            k = lo
            if a + k == pop.size:
                reasons.append("neurons_per_core" if k == npc else "population end")
            elif k == npc:
                reasons.append("neurons_per_core")
            else:
                ax, sy = load(a, a + k + 1)
                reasons.append("fan_in_per_core" if ax > fan_max else "synapses_per_core")
            ax, sy = load(a, a + k)
            cores_here[a : a + k] = len(neurons)
            neurons.append(k)
            axons.append(ax)
            synapses.append(sy)
            a += k
        core_of[pop.name] = cores_here
        layer_cores[pop.name] = sorted(set(cores_here.tolist()))
        limits = [r for r in reasons if r != "population end"]
        bound[pop.name] = max(set(limits), key=limits.count) if limits else "population end"

    mapping = Mapping(
        profile,
        graph,
        core_of,
        layer_cores,
        bound,
        np.asarray(neurons, dtype=np.int64),
        np.asarray(axons, dtype=np.int64),
        np.asarray(synapses, dtype=np.int64),
    )
    if mapping.n_cores > profile.cores:
        per_layer = ", ".join(
            f"{name} {len(c)} ({bound[name]} = {int(profile.get(bound[name], 0))})"
            if bound[name] != "population end"
            else f"{name} {len(c)}"
            for name, c in layer_cores.items()
        )
        raise MappingError(
            f"network does not fit on {profile.name}: it needs {mapping.n_cores} cores, the "
            f"profile has cores = {profile.cores} (over by {mapping.n_cores - profile.cores}). "
            f"Cores per layer: {per_layer}"
        )
    return mapping


def _check_single_neuron(pop, J, I, fan_max, syn_max, profile) -> None:
    """Refuse a population whose single neuron exceeds a core's fan-in or synaptic memory."""
    if len(J) == 0:
        return
    per_neuron_syn = np.bincount(J, minlength=pop.size)
    distinct = np.ones(len(J), dtype=bool)
    distinct[1:] = (J[1:] != J[:-1]) | (I[1:] != I[:-1])
    per_neuron_axons = np.bincount(J[distinct], minlength=pop.size)
    worst = int(per_neuron_axons.max())
    if worst > fan_max:
        raise MappingError(
            f"layer {pop.name} does not fit on {profile.name}: one of its neurons receives "
            f"{worst} presynaptic sources, a core accepts fan_in_per_core = {fan_max} "
            f"(over by {worst - fan_max})"
        )
    worst = int(per_neuron_syn.max())
    if syn_max is not None and worst > syn_max:
        raise MappingError(
            f"layer {pop.name} does not fit on {profile.name}: one of its neurons has {worst} "
            f"synapses, a core stores synapses_per_core = {syn_max} (over by {worst - syn_max})"
        )
