"""Network specification: layers of neuron models, connections, weights; to and from Brian2.

The pieces a network is made of (:class:`~neurorl.topology.Layer`,
:class:`~neurorl.topology.Connection`, :class:`~neurorl.topology.Conv`) are in
:mod:`neurorl.topology`.

A :class:`Network` is a plain description (layer sizes, :class:`~neurorl.models.NeuronModel`
per layer, connections) plus one dict of parameter arrays, ``Network.params``. The same dict is
trained by the kernel (:meth:`Network.kernel`) and written into Brian2 objects
(:meth:`Network.to_brian2`), so trained weights reach Brian2 unchanged.

Parameter keys: ``"<connection>.w"`` for weights of shape (n_pre, n_post) and
``"<layer>.<parameter>"`` for a model's learnable parameters, shape (n,) per neuron or () shared.

Coupling follows the target variable (see :mod:`neurorl.models`): a differential state variable
receives ``target_post += w`` on each presynaptic spike (an analog input "spikes" every step and
adds ``w * x_pre``); a plain variable receives ``target_post = w * out_pre`` summed every step,
where ``out`` is the presynaptic model's ``output`` variable (``x`` for an input). In the Brian2
objects of :meth:`Network.to_brian2` the weight variable is called ``w_syn``
(:data:`neurorl.models.SYNAPSE_WEIGHT`), so that a model may call a variable ``w``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import brian2
import numpy as np

from neurorl.models import SYNAPSE_WEIGHT, ModelError, NeuronModel, unit_string
from neurorl.topology import (
    Connection,
    Conv,
    Layer,
    NetworkError,
    align_brian2,
    delay_steps,
    topological_order,
)

__all__ = ["Brian2Network", "Network", "NetworkError"]
NetworkError.__module__ = __name__  # defined with the pieces (topology), raised as the network's

_ON_PRE = re.compile(r"^\s*([A-Za-z_]\w*)_post\s*\+=\s*w\s*$")


class Network:
    """Layers of Brian2 neuron models, their connections and one dict of parameters.

    Args:
        dt: simulation time step in milliseconds.
        seed: seed of the generator that initialises weights.
        schedule: the order of work within a time step, the same in the kernel and in Brian2:
            ``"brian2"`` (Brian2's default slots: every group's summed variables and state
            update, then every threshold, every ``on_pre`` effect, every reset; a spike reaches
            the next layer's threshold one step later and a summed variable reads the previous
            step) or ``"aligned"`` (the temporal alignment paradigm of GRSN: layer after layer
            in topological order, each doing summed variables, state update, the ``on_pre``
            effects of its inputs' spikes of this step, threshold and reset, so an observation
            crosses the whole network within the step it arrives in; in Brian2 this is one slot
            with an explicit ``order`` per object, see :meth:`to_brian2`) or ``"genn"`` (GeNN's
            fixed order, the only one Brian2GeNN runs, :mod:`neurorl.sim.genn`: the ``on_pre``
            effects of the previous step's spikes arrive first, then summed variables, state
            update, threshold, reset; in Brian2 the ``on_pre`` pathways run in
            ``before_groups``). Spike timing is Brian2's, but an input arriving in the step a
            neuron fires survives a hard reset, and the state at the end of a step does not yet
            hold that step's spikes.
    """

    SCHEDULES = ("brian2", "aligned", "genn")

    def __init__(self, dt: float = 1.0, seed: int = 0, schedule: str = "brian2") -> None:
        if isinstance(dt, brian2.Quantity) and dt.dim is brian2.second.dim:
            dt = float(dt / brian2.ms)  # a Brian2 time (0.1*ms) is welcome too
        number = isinstance(dt, int | float | np.integer | np.floating) and not isinstance(dt, bool)
        if not (number and 0 < dt < np.inf):
            raise NetworkError(f"dt must be a positive, finite number of milliseconds, got {dt!r}")
        if schedule not in self.SCHEDULES:
            choices = " or ".join(self.SCHEDULES)
            raise NetworkError(f"unknown schedule {schedule!r}; choose {choices}")
        self.dt = float(dt)
        self.schedule = schedule
        self.rng = np.random.default_rng(seed)
        self.layers: dict[str, Layer] = {}
        self.connections: list[Connection] = []
        self.params: dict[str, np.ndarray] = {}

    @property
    def dt_seconds(self) -> float:
        """The time step in seconds (the unit of ``dt`` in Brian2's abstract code)."""
        return self.dt * 1e-3

    # -- building ------------------------------------------------------------------------------
    def input(self, size: int, name: str | None = None) -> Layer:
        """Add an analog input layer of ``size`` channels, fed a value every step."""
        name = name or ("input" if "input" not in self.layers else f"input{len(self.layers)}")
        return self._add(Layer(name, int(size)))

    def layer(self, size: int, model: NeuronModel, name: str | None = None, **values) -> Layer:
        """Add ``size`` neurons of ``model``.

        ``values`` set parameters: a number, quantity or Brian2 string for any parameter, or an
        array of shape (size,) for a per-neuron one. Recurrent inputs the model declares (GRSN
        gates) get their dense self-connections here.
        """
        if not isinstance(model, NeuronModel):
            raise NetworkError(
                f"layer model must be a NeuronModel (models.load(...)), got {model!r}"
            )
        name = name or f"layer{sum(not la.is_input for la in self.layers.values()) + 1}"
        arrays = {k: v for k, v in values.items() if isinstance(v, np.ndarray)}
        model = model.with_parameters(**{k: v for k, v in values.items() if k not in arrays})
        layer = self._add(Layer(name, int(size), model))
        for pname, p in model.parameters.items():
            if not (p.per_neuron or p.learnable):
                continue
            value = arrays.pop(pname, None)
            shape = (layer.size,) if p.per_neuron else ()
            arr = np.full(shape, p.si) if value is None else np.asarray(value, dtype=float)
            if arr.shape != shape:
                raise NetworkError(f"layer {name}: {pname} has shape {arr.shape}, expected {shape}")
            if p.learnable:
                self.params[f"{name}.{pname}"] = arr.copy()
            else:
                layer.constants[pname] = arr.copy()
        if arrays:
            raise NetworkError(f"layer {name}: {', '.join(arrays)} are not per-neuron parameters")
        for var in model.recurrent:
            self.connect(layer, layer, target=var, name=f"{name}_rec_{var}")
        return layer

    def connect(
        self,
        pre: Layer,
        post: Layer,
        target: str | list[str] | None = None,
        on_pre: str | None = None,
        mask: np.ndarray | None = None,
        w: np.ndarray | None = None,
        scale: float = 1.0,
        name: str | None = None,
        conv: Conv | None = None,
        delay: float | brian2.Quantity = 0.0,
    ) -> list[Connection]:
        """Connect ``pre`` to ``post``; one weight matrix (n_pre, n_post) per target variable.

        Args:
            target: variable(s) of ``post`` to drive; default: the model's ``inputs``.
            on_pre: alternatively a Brian2 statement ``"<var>_post += w"``.
            mask: boolean (n_pre, n_post); synapses exist only where True (sparse).
            w: initial weights; default uniform in +-scale/sqrt(fan-in).
            name: base name; weights are ``params[name + ".w"]``.
            conv: a :class:`Conv` geometry; the weights are then a shared kernel
                (out_channels, C, k, k) and ``pre``/``post`` sizes must match its shapes.
            delay: homogeneous synaptic delay in ms (or a Brian2 time, ``3*ms``), a multiple
                of ``dt``: a spike of step k acts at step k + delay/dt (event coupling from a
                spiking layer into another layer).
        """
        steps = delay_steps(delay, self.dt, pre, post)
        if conv is not None:
            if mask is not None:
                raise NetworkError("give either mask or conv, not both")
            if pre.size != int(np.prod(conv.in_shape)) or post.size != int(np.prod(conv.out_shape)):
                raise NetworkError(
                    f"conv {conv.in_shape} -> {conv.out_shape} needs {int(np.prod(conv.in_shape))} "
                    f"-> {int(np.prod(conv.out_shape))} neurons, got {pre.size} -> {post.size}"
                )
            if pre is post:
                raise NetworkError("a convolutional connection cannot be recurrent")
        if post.is_input:
            raise NetworkError(f"cannot connect into input layer {post.name}")
        if on_pre is not None:
            match = _ON_PRE.match(on_pre)
            if match is None:
                raise NetworkError(
                    f"unsupported synapse statement {on_pre!r}: neurorl supports "
                    "on_pre = '<var>_post += w' and summed variables"
                )
            target = match.group(1)
            if post.model.coupling(target) != "event":
                raise NetworkError(
                    f"on_pre {on_pre!r}: {target} is not a state variable of {post.name}"
                )
        targets = [target] if isinstance(target, str) else list(target or post.model.inputs)
        if not targets:
            raise NetworkError(f"model {post.model.name!r} declares no inputs; give target=")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (pre.size, post.size):
                raise NetworkError(f"mask has shape {mask.shape}, expected {(pre.size, post.size)}")
        made = []
        for var in targets:
            try:
                coupling = post.model.coupling(var)
            except ModelError as err:
                raise NetworkError(str(err)) from None
            if coupling == "event" and not pre.is_input and not pre.model.spiking:
                raise NetworkError(
                    f"{pre.name} -> {post.name}.{var}: event coupling needs spikes, and model "
                    f"{pre.model.name!r} has no threshold; drive a summed variable instead"
                )
            if coupling == "summed":
                if pre.out_variable is None:
                    raise NetworkError(
                        f"{pre.name} -> {post.name}.{var}: summed coupling reads the presynaptic "
                        f"'output' variable, and model {pre.model.name!r} declares none"
                    )
                for c in self.connections:
                    if c.post is post and c.target == var:
                        raise NetworkError(
                            f"{post.name}.{var} is already the summed target of {c.name} "
                            "(Brian2 allows one summed connection per variable)"
                        )
            base = name or f"{pre.name}_to_{post.name}"
            cname = base if len(targets) == 1 else f"{base}_{var}"
            if any(c.name == cname for c in self.connections):
                cname = (
                    f"{cname}_{var}"
                    if not cname.endswith(var)
                    else f"{cname}{len(self.connections)}"
                )
            if steps and coupling != "event":
                raise NetworkError(
                    f"{pre.name} -> {post.name}.{var}: delay={delay!r} on a summed connection; "
                    "Brian2 has delays for on_pre effects only (drive a state variable)"
                )
            conn = Connection(cname, pre, post, var, coupling, mask, conv, steps)
            shape = conv.weight_shape if conv else (pre.size, post.size)
            fan_in = pre.size if conn.mask is None else max(int(conn.mask.sum(0).max()), 1)
            if w is None:
                bound = scale / np.sqrt(fan_in)
                weights = self.rng.uniform(-bound, bound, shape)
            else:
                weights = np.array(w, dtype=float)
                if weights.shape != shape:
                    raise NetworkError(f"w has shape {weights.shape}, expected {shape}")
            if mask is not None:
                weights = weights * mask
            self.params[conn.key] = weights
            self.connections.append(conn)
            made.append(conn)
        return made

    def _add(self, layer: Layer) -> Layer:
        if layer.name in self.layers:
            raise NetworkError(f"a layer named {layer.name!r} exists already")
        if not re.fullmatch(r"[A-Za-z]\w*", layer.name):
            raise NetworkError(f"layer name {layer.name!r} must be an identifier")
        if layer.size < 1:
            raise NetworkError(f"layer {layer.name} must have at least one neuron")
        self.layers[layer.name] = layer
        return layer

    # -- views ---------------------------------------------------------------------------------
    @property
    def inputs(self) -> list[Layer]:
        """Input layers in creation order."""
        return [la for la in self.layers.values() if la.is_input]

    @property
    def neuron_layers(self) -> list[Layer]:
        """Layers of neurons in creation order."""
        return [la for la in self.layers.values() if not la.is_input]

    @property
    def output_layer(self) -> Layer:
        """The last layer added (the readout)."""
        return self.neuron_layers[-1]

    def parameter_values(self, layer: Layer) -> dict[str, np.ndarray | float]:
        """Every model parameter of ``layer`` in SI units: arrays (size,) or floats."""
        out: dict[str, np.ndarray | float] = {}
        for pname, p in layer.model.parameters.items():
            key = f"{layer.name}.{pname}"
            if key in self.params:
                out[pname] = self.params[key]
            elif pname in layer.constants:
                out[pname] = layer.constants[pname]
            else:
                out[pname] = p.si
        return out

    def initial_state(self, layer: Layer) -> dict[str, float]:
        """Initial value (SI) of each state and summed variable of ``layer``."""
        init = {v: 0.0 for v in (*layer.model.state_variables, *layer.model.summed_variables)}
        init.update({k: float(brian2.asarray(v)) for k, v in layer.model.initial.items()})
        if layer.model.refractory is not None:  # as Brian2 initialises them
            init.update(lastspike=-1e4, not_refractory=1.0)
        return init

    def copy(self) -> Network:
        """A network with this one's structure and a copy of every parameter array.

        Layers, models and connections are shared (they describe structure and are not changed
        by training); ``params`` are new arrays, so training or refitting the copy leaves this
        network as it is. The copy's weight generator continues from this one's state.
        """
        new = Network.__new__(Network)
        new.dt, new.schedule = self.dt, self.schedule
        new.rng = np.random.Generator(type(self.rng.bit_generator)())
        new.rng.bit_generator.state = self.rng.bit_generator.state
        new.layers = dict(self.layers)
        new.connections = list(self.connections)
        new.params = {key: value.copy() for key, value in self.params.items()}
        return new

    def with_schedule(self, schedule: str) -> Network:
        """A :meth:`copy` of this network that runs under ``schedule`` (one of ``SCHEDULES``)."""
        if schedule not in self.SCHEDULES:
            choices = " or ".join(self.SCHEDULES)
            raise NetworkError(f"unknown schedule {schedule!r}; choose {choices}")
        new = self.copy()
        new.schedule = schedule
        return new

    def set_params(self, values: dict[str, np.ndarray]) -> None:
        """Copy ``values`` into ``params`` (same keys and shapes), e.g. from a checkpoint."""
        for key, value in values.items():
            if key not in self.params:
                raise NetworkError(f"unknown parameter {key!r}; known: {', '.join(self.params)}")
            value = np.asarray(value)
            if value.shape != self.params[key].shape:
                raise NetworkError(
                    f"parameter {key} has shape {value.shape}, expected {self.params[key].shape}"
                )
            self.params[key][...] = value

    def save(self, path, meta: dict | None = None):
        """Write the network (models as model-file text, structure, parameters) to ``path``.

        The file is a :mod:`neurorl.checkpoint` (npz without pickle, JSON header, checksums);
        ``meta`` is stored alongside (env, T, teacher, ...). Returns the path written.
        """
        from neurorl import checkpoint

        arrays = {f"param/{k}": v for k, v in self.params.items()}
        layers = []
        for layer in self.layers.values():
            entry: dict = {"name": layer.name, "size": layer.size}
            if not layer.is_input:
                entry["model"] = layer.model.to_toml()
                for pname, value in layer.constants.items():
                    arrays[f"const/{layer.name}.{pname}"] = value
            layers.append(entry)
        connections = []
        for c in self.connections:
            entry = {"name": c.name, "pre": c.pre.name, "post": c.post.name, "target": c.target}
            if c.delay:
                entry["delay_ms"] = c.delay * self.dt
            if c.conv is not None:
                entry["conv"] = [
                    list(c.conv.in_shape),
                    c.conv.out_channels,
                    c.conv.kernel,
                    c.conv.stride,
                ]
            elif c.mask is not None:
                arrays[f"mask/{c.name}"] = c.mask
            connections.append(entry)
        spec = {"dt": self.dt, "layers": layers, "connections": connections}
        if self.schedule != "brian2":  # files without the key are Brian2's schedule
            spec["schedule"] = self.schedule
        return checkpoint.save(
            path, arrays, {**(meta or {}), "kind": "neurorl.Network", "network": spec}
        )

    @classmethod
    def load(cls, path) -> tuple[Network, dict]:
        """Read a network written by :meth:`save`; returns ``(network, meta)``.

        A corrupt or tampered file is refused by :mod:`neurorl.checkpoint`; a file that holds
        no network raises ``ValueError`` naming it.
        """
        from neurorl import checkpoint
        from neurorl.models import loads

        arrays, meta = checkpoint.load(path)
        spec = meta.get("network")
        if meta.get("kind") != "neurorl.Network" or spec is None:
            raise ValueError(f"{path}: holds no neurorl Network (kind {meta.get('kind')!r})")
        net = cls(dt=float(spec["dt"]), schedule=spec.get("schedule", "brian2"))
        for entry in spec["layers"]:
            if "model" not in entry:
                net.input(int(entry["size"]), name=entry["name"])
                continue
            prefix = f"const/{entry['name']}."
            constants = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            model = loads(entry["model"], source=f"{path}:{entry['name']}")
            net.layer(int(entry["size"]), model, name=entry["name"], **constants)
        for c in spec["connections"]:
            if any(existing.name == c["name"] for existing in net.connections):
                continue  # a model's recurrent gates, made by layer()
            conv = Conv(tuple(c["conv"][0]), *c["conv"][1:]) if "conv" in c else None
            net.connect(
                net.layers[c["pre"]],
                net.layers[c["post"]],
                target=c["target"],
                mask=arrays.get(f"mask/{c['name']}"),
                conv=conv,
                name=c["name"],
                delay=float(c.get("delay_ms", 0.0)),
            )
        params = {k[len("param/") :]: v for k, v in arrays.items() if k.startswith("param/")}
        if set(params) != set(net.params):
            raise ValueError(
                f"{path}: parameters {sorted(set(params) ^ set(net.params))} do not match the "
                "network it describes"
            )
        for key, value in params.items():
            net.params[key] = np.array(value)
        user_meta = {k: v for k, v in meta.items() if k not in ("kind", "network")}
        return net, user_meta

    def kernel(self, surrogate: str = "atan", dtype=np.float64, **options):
        """Compile the numpy forward/backward kernel of this network (see :mod:`neurorl.kernel`).

        The kernel trains ``self.params`` in place (cast to ``dtype``).
        """
        from neurorl.kernel.bptt import Kernel

        return Kernel(self, surrogate=surrogate, dtype=dtype, **options)

    # -- Brian2 --------------------------------------------------------------------------------
    def to_brian2(self, copies: int = 1, inputs: np.ndarray | dict | None = None) -> Brian2Network:
        """Build this network as Brian2 objects with the current parameters.

        Args:
            copies: independent copies of the network (a batch), neuron k of copy c at index
                c*size + k of each group.
            inputs: (T, copies, n_in) values for the (single) input layer, or a dict by input
                name, fed through a TimedArray; without it, inputs have a settable variable ``x``
                (closed loop: a ``network_operation`` writes it).
        """
        if isinstance(inputs, np.ndarray):
            if len(self.inputs) != 1:
                raise NetworkError("several input layers: give inputs as a dict by layer name")
            inputs = {self.inputs[0].name: inputs}
        dt = self.dt * brian2.ms
        genn = self.schedule == "genn"
        odt = dt  # each object's clock; Brian2GeNN runs the single default clock only
        if type(brian2.get_device()).__name__ == "GeNNDevice":
            brian2.defaultclock.dt, odt = dt, None
        groups: dict[str, brian2.NeuronGroup] = {}
        for layer in self.layers.values():
            n = layer.size * copies
            if layer.is_input:
                values = None if inputs is None else inputs.get(layer.name)
                if values is None:
                    group = brian2.NeuronGroup(
                        n, "x : 1", threshold="True", reset="", dt=odt, name=f"{layer.name}*"
                    )
                else:
                    values = np.asarray(values, dtype=float)
                    if values.ndim != 3 or values.shape[1:] != (copies, layer.size):
                        raise NetworkError(
                            f"inputs for {layer.name} have shape {values.shape}, "
                            f"expected (T, {copies}, {layer.size})"
                        )
                    stimulus = brian2.TimedArray(values.reshape(len(values), n), dt=dt)
                    group = brian2.NeuronGroup(
                        n,
                        "x : 1",
                        threshold="True",
                        reset="",
                        dt=odt,
                        namespace={"stimulus": stimulus},
                        name=f"{layer.name}*",
                    )
                    group.run_regularly(
                        "x = stimulus(t, i)",
                        when="start",
                        name=f"{layer.name}_run_regularly_feed*",  # Brian2GeNN knows this name
                    )
            else:
                m = layer.model
                group = brian2.NeuronGroup(
                    n,
                    m.brian2_equations,
                    threshold=m.threshold,
                    reset=m.reset,
                    refractory=False if m.refractory is None else m.refractory,
                    method=m.method,
                    dt=odt,
                    namespace={},
                    name=f"{layer.name}*",
                )
                for pname, value in self.parameter_values(layer).items():
                    value = np.asarray(value, dtype=float)
                    setattr(group, f"{pname}_", np.tile(value, copies) if value.ndim else value)
                for var, value in self.initial_state(layer).items():
                    setattr(group, f"{var}_", value)
            groups[layer.name] = group
        synapses: dict[str, brian2.Synapses] = {}
        wn = SYNAPSE_WEIGHT  # the weight's Brian2 name: a model's own 'w' must not collide
        for conn in self.connections:
            eqs = brian2.Equations(conn.post.model.brian2_equations)
            unit = unit_string(eqs[conn.target].dim)
            if conn.coupling == "event":
                # genn: Brian2GeNN's on_pre cannot read x_pre; each synapse keeps the value the
                # input had when it sent (the step before it arrives)
                x_pre = " * x_sent" if genn else " * x_pre"
                effect = f"{conn.target}_post += {wn}" + (x_pre if conn.pre.is_input else "")
                syn = brian2.Synapses(
                    groups[conn.pre.name],
                    groups[conn.post.name],
                    f"{wn} : {unit}" + ("\nx_sent : 1" if genn and conn.pre.is_input else ""),
                    on_pre=effect,
                    delay=conn.delay * dt,
                    dt=odt,
                    namespace={},
                    name=f"{conn.name}*",
                )
            else:
                out = conn.pre.out_variable
                summed = f"{conn.target}_post = {wn} * {out}_pre : {unit} (summed)"
                model = f"{wn} : {unit}\n{summed}"
                syn = brian2.Synapses(
                    groups[conn.pre.name],
                    groups[conn.post.name],
                    model,
                    dt=odt,
                    namespace={},
                    name=f"{conn.name}*",
                )
            i, j = conn.pairs()
            offsets = np.arange(copies)
            syn.connect(
                i=(i[None, :] + offsets[:, None] * conn.pre.size).ravel(),
                j=(j[None, :] + offsets[:, None] * conn.post.size).ravel(),
            )
            weights = conn.dense(np.asarray(self.params[conn.key], dtype=float))
            setattr(syn, f"{wn}_", np.tile(weights[i, j], copies))
            if genn and conn.coupling == "event" and conn.pre.is_input:
                feed = groups[conn.pre.name].namespace.get("stimulus")
                name = f"{conn.name}_run_regularly_sent*"
                if feed is None:  # closed loop: the value x had at the end of the step
                    syn.run_regularly("x_sent = x_pre", when="end", name=name)
                else:  # the feed one step late (Brian2GeNN: run_regularly in 'start' only)
                    late = np.vstack([np.zeros_like(feed.values[:1]), feed.values[:-1]])
                    syn.namespace["sent"] = brian2.TimedArray(late, dt=dt)
                    syn.run_regularly("x_sent = sent(t, i)", when="start", name=name)
            synapses[conn.name] = syn
        if self.schedule == "aligned":
            align_brian2(self, groups, synapses)
        if genn and type(brian2.get_device()).__name__ != "GeNNDevice":
            for syn in synapses.values():  # GeNN's synapse update, before its neuron update:
                for updater in syn.summed_updaters.values():  # summed reads first, then
                    updater.when, updater.order = "before_groups", -1
                if getattr(syn, "pre", None) is not None:  # the previous step's spikes
                    syn.pre.when, syn.pre.order = "before_groups", 0
        net = brian2.Network(*groups.values(), *synapses.values())
        return Brian2Network(self, groups, synapses, net, copies)

    def topological_order(self) -> list[Layer]:
        """Neuron layers so that every non-recurrent connection goes forward; a cycle between
        layers is a :class:`NetworkError` (recurrence of a layer onto itself is allowed)."""
        return topological_order(self.neuron_layers, self.connections)

    def read_brian2(self, objs: Brian2Network) -> None:
        """Copy weights and learnable parameters of copy 0 of ``objs`` back into ``params``."""
        for conn in self.connections:
            i, j = conn.pairs()
            values = np.asarray(getattr(objs.synapses[conn.name], f"{SYNAPSE_WEIGHT}_"))[: len(i)]
            if conn.conv is None:
                self.params[conn.key][i, j] = values
            else:  # every synapse of a tap holds the same weight: average them
                taps = conn.tap_index[i, j]
                sums = np.bincount(taps, weights=values, minlength=self.params[conn.key].size)
                counts = np.bincount(taps, minlength=self.params[conn.key].size)
                kernel = self.params[conn.key]
                kernel[...] = (sums / np.maximum(counts, 1)).reshape(kernel.shape)
        for layer in self.neuron_layers:
            group = objs.groups[layer.name]
            for pname, p in layer.model.parameters.items():
                if p.learnable:
                    value = np.asarray(getattr(group, f"{pname}_"))
                    self.params[f"{layer.name}.{pname}"][...] = (
                        value[: layer.size] if p.per_neuron else value
                    )

    def __repr__(self) -> str:
        rows = [f"Network(dt={self.dt} ms)"]
        for layer in self.layers.values():
            kind = "input" if layer.is_input else layer.model.name
            rows.append(f"  {layer.name}: {layer.size} x {kind}")
        for c in self.connections:
            rows.append(f"  {c.name}: {c.pre.name} -> {c.post.name}.{c.target} ({c.coupling})")
        return "\n".join(rows)


@dataclass
class Brian2Network:
    """Brian2 objects of a :class:`Network`: groups and synapses by name, a ``brian2.Network``."""

    spec: Network
    groups: dict[str, brian2.NeuronGroup]
    synapses: dict[str, brian2.Synapses]
    network: brian2.Network
    copies: int = 1
