"""The kernel: a network's forward pass in numpy, step for step as Brian2 runs it, and BPTT.

Within one time step Brian2 runs, for every group, the slots ``groups`` (summed variables, then
the state update), ``thresholds``, ``synapses`` (``on_pre`` effects of this step's spikes) and
``resets``. The kernel runs the same sequence with the step functions that
:mod:`neurorl.kernel.codegen` derives from Brian2's own code, so that with the same weights,
inputs and dt (float64) spike trains are identical and state variables agree to ~1e-12. A
network with ``schedule="aligned"`` (the temporal alignment paradigm) runs each layer's whole
step before the next layer's, so an input crosses every layer within one step
(:mod:`neurorl.kernel.loops`); :meth:`Network.to_brian2` gives Brian2 the same schedule.

Layers are processed one after the other in topological order, each over all T steps; weight
products between layers are then single matrix products over (T*B) rows. This is exact because a
layer at step k only reads other layers' spikes of step k (event coupling) or their state at the
end of step k-1 (summed coupling; step k under the aligned schedule). Self-recurrent
connections are applied inside the time loop. Backward is BPTT over the whole sequence in
reverse topological order.

Shapes: inputs (T, B, n_in); outputs, states and spikes (T, B, n); weights (n_pre, n_post).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from neurorl.kernel import compiled
from neurorl.kernel.codegen import CompiledModel, compile_model
from neurorl.kernel.inputs import HasInputs, check_inputs
from neurorl.kernel.loops import LayerPlan, layer_loops
from neurorl.kernel.surrogate import Surrogate, get_surrogate
from neurorl.memory import keep_freed_memory
from neurorl.topology import Connection, Layer, NetworkError

__all__ = ["Kernel", "KernelCache", "KernelNetwork", "LayerTrace"]


class KernelNetwork(HasInputs, Protocol):
    """What the kernel reads of a :class:`~neurorl.network.Network` (which imports the kernel
    for ``Network.kernel()``, so the kernel names the network by what it reads)."""

    layers: dict[str, Layer]
    connections: list[Connection]
    params: dict[str, np.ndarray]
    schedule: str

    @property
    def dt_seconds(self) -> float: ...

    @property
    def output_layer(self) -> Layer: ...

    def initial_state(self, layer: Layer) -> dict[str, float]: ...

    def parameter_values(self, layer: Layer) -> dict[str, np.ndarray | float]: ...

    def topological_order(self) -> list[Layer]: ...


@dataclass
class LayerTrace:
    """Everything one layer did in a forward pass, as per-step lists of (B, n) arrays.

    ``ends[v]`` has T+1 entries: the initial value and the value at the end of each step.
    ``updated[v]`` is the state after the update (what the threshold saw); ``pre_reset[v]`` the
    state after synaptic effects (what the reset saw), kept for event targets only. The lists hold
    the arrays the step functions returned, so recording copies nothing. ``not_refractory``
    (refractory models, for backward): per step, 0/1 at the state update and after the
    threshold.
    """

    ends: dict[str, list[np.ndarray]]
    updated: dict[str, list[np.ndarray]]
    pre_reset: dict[str, list[np.ndarray]]
    summed: dict[str, list[np.ndarray]]
    final: dict[str, np.ndarray]
    spikes: np.ndarray | None = None
    h: np.ndarray | None = None
    not_refractory: tuple[list, list] | None = None
    _stacked: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def end_values(self, variable: str) -> np.ndarray:
        """``ends[variable]`` as one array (T+1, B, n), stacked once."""
        if variable not in self.ends:
            raise KeyError(
                f"{variable} was not recorded: forward(..., for_backward=False) keeps only the "
                "variables other layers read, the output and the final state"
            )
        if variable not in self._stacked:
            ends = self.ends[variable]  # arrays from the compiled loop, lists from the Python one
            self._stacked[variable] = ends if isinstance(ends, np.ndarray) else np.stack(ends)
        return self._stacked[variable]


@dataclass
class KernelCache:
    """A forward pass: per-layer traces, the inputs, and the output (T, B, n_out)."""

    inputs: dict[str, np.ndarray]
    traces: dict[str, LayerTrace]
    output: np.ndarray
    t0: float = 0.0
    extras: dict = field(default_factory=dict)

    def state(self, layer: str, variable: str) -> np.ndarray:
        """Values of ``variable`` of ``layer`` at the end of each step, (T, B, n)."""
        return self.traces[layer].end_values(variable)[1:]

    def spikes(self, layer: str) -> np.ndarray:
        """Spikes of ``layer`` (T, B, n), 1.0 where a neuron fired."""
        return self.traces[layer].spikes

    def final_state(self) -> dict[str, dict[str, np.ndarray]]:
        """State at the end of the last step, to continue a sequence with ``forward(state=...)``."""
        return {name: dict(tr.final) for name, tr in self.traces.items()}


class Kernel:
    """Numpy forward pass and surrogate-gradient BPTT of a :class:`~neurorl.network.Network`.

    Args:
        net: the network; its ``params`` are cast to ``dtype`` and trained in place.
        surrogate: ``atan``, ``sigmoid``, ``fast_sigmoid``, ``rectangular`` or ``triangle``.
        width: the surrogate's width parameter (alpha, slope or half-width); default per surrogate.
        dtype: ``np.float64`` or ``np.float32``.
        detach_reset: do not backpropagate through the reset's dependence on the spike.
        smooth: spike with the surrogate's smooth step instead of the Heaviside (for gradient
            checks: backward is then the exact gradient).
        output: ``(layer, variable)`` read as the output; default: the last layer's ``output``
            variable, or its spikes (``"spike"``) if the model declares none.
        loops: ``"auto"`` (numba-compiled time loops, :mod:`neurorl.kernel.compiled`, where they
            cover the layer, the Python loops otherwise, with the reason in ``fallbacks``),
            ``"compiled"`` (an error where they do not) or ``"python"`` (the reference loops of
            :mod:`neurorl.kernel.loops`); default: the environment variable ``NEURORL_LOOPS``,
            else ``"auto"``.
    """

    def __init__(
        self,
        net: KernelNetwork,
        surrogate: str | Surrogate = "atan",
        width: float | None = None,
        dtype=np.float64,
        detach_reset: bool = False,
        smooth: bool = False,
        output: tuple[str, str] | None = None,
        loops: str | None = None,
    ) -> None:
        keep_freed_memory()
        self.loops = compiled.loops_choice(loops)
        self.fallbacks: dict[str, str] = {}  # layer -> why it runs on the Python loop
        self.net = net
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        for key, value in net.params.items():
            if value.dtype != self.dtype:
                net.params[key] = value.astype(self.dtype)
        self.params = net.params
        self.surrogate = get_surrogate(surrogate, width)
        self.detach_reset = detach_reset
        self.smooth = smooth
        self.order = net.topological_order()
        self.aligned = net.schedule == "aligned"
        self.genn = net.schedule == "genn"  # events arrive one step later (sim.genn)
        if self.aligned:
            for c in net.connections:
                if c.recurrent and c.coupling == "event":
                    raise NetworkError(
                        f"{c.name}: a recurrent event connection has no place in the aligned "
                        "schedule; connect the layer's output to a summed variable instead "
                        "(as GRSN's gates are)"
                    )
        self.compiled: dict[str, CompiledModel] = {
            la.name: compile_model(la.model) for la in self.order
        }
        if output is None:
            last = net.output_layer
            output = (last.name, last.model.output or "spike")
        self.output = output
        layer = net.layers[output[0]]
        if output[1] == "spike" and not layer.model.spiking:
            raise NetworkError(f"output layer {layer.name} does not spike; read a variable instead")
        if output[1] != "spike" and output[1] not in self.compiled[layer.name].state:
            raise NetworkError(f"output {output[1]!r} is not a state variable of {layer.name}")
        self.incoming = {la.name: [c for c in net.connections if c.post is la] for la in self.order}
        self._plans: dict[tuple, LayerPlan] = {}
        self._fast: dict[LayerPlan, tuple] = {}  # compiled (forward, backward) by plan
        self.outgoing = {
            la.name: [c for c in net.connections if c.pre is la] for la in net.layers.values()
        }

    # -- forward -------------------------------------------------------------------------------
    def forward(
        self,
        inputs: np.ndarray | dict[str, np.ndarray],
        state: dict | None = None,
        t0: float = 0.0,
        for_backward: bool = True,
    ) -> tuple[np.ndarray, KernelCache]:
        """Run the network on ``inputs`` (T, B, n_in), or a dict of them by input layer.

        ``state`` (from ``cache.final_state()``) continues from an earlier call; ``t0`` is the
        time in seconds of the first step. Returns the output (T, B, n_out) and the cache that
        :meth:`backward` needs. ``for_backward=False`` (inference) keeps only spikes, the
        variables other layers read, the output and the final state, so long runs fit in memory.
        """
        inputs = self._check_inputs(inputs)
        T, B = next(iter(inputs.values())).shape[:2]
        if self.genn and state is not None:
            raise NetworkError(
                "schedule 'genn' runs each batch from its initial state (spikes of the last step "
                "are still in flight at the end of a run, as in GeNN); continuing with state= "
                "is not supported"
            )
        traces: dict[str, LayerTrace] = {}
        delayed: dict[str, np.ndarray] = {}
        for layer in self.order:
            init = self._initial(layer, B, state)
            pending = self._delay_lines(layer, inputs, traces, delayed, state, T, B)
            event_in, summed_in = self._external_drive(layer, inputs, traces, T, B, delayed)
            traces[layer.name] = self._layer_forward(
                layer, init, event_in, summed_in, T, B, t0, for_backward
            )
            traces[layer.name].final.update(pending)
        name, var = self.output
        trace = traces[name]
        out = trace.spikes if var == "spike" else trace.end_values(var)[1:]
        return out, KernelCache(inputs, traces, out, t0, {"delayed": delayed})

    def _delay_lines(self, layer, inputs, traces, delayed, state, T, B) -> dict:
        """Delayed connections into ``layer``: what arrives at each step of this call (T, B,
        n_pre) into ``delayed``; returns what is still in transit, (B, delay, n_pre) per
        connection, for the next call. A spike of step k arrives at step k + delay (Brian2's
        spike queue), so the lines are ring buffers that the state carries across calls."""
        pending_out = {}
        for conn in self.incoming[layer.name]:
            if not conn.delay:
                continue
            given = (state or {}).get(layer.name, {}).get(conn.pending_key)
            shape = (B, conn.delay, conn.pre.size)
            queue = np.zeros(shape, self.dtype) if given is None else np.asarray(given, self.dtype)
            if queue.shape != shape:
                raise NetworkError(
                    f"state {layer.name}.{conn.pending_key} has shape {queue.shape}, "
                    f"expected {shape}"
                )
            line = np.concatenate([queue.transpose(1, 0, 2), traces[conn.pre.name].spikes])
            delayed[conn.name] = line[:T]
            pending_out[conn.pending_key] = np.ascontiguousarray(line[T:].transpose(1, 0, 2))
        return pending_out

    def _check_inputs(self, inputs) -> dict[str, np.ndarray]:
        return check_inputs(self.net, inputs, self.dtype)

    def _initial(self, layer: Layer, B: int, state: dict | None) -> dict[str, np.ndarray]:
        given = (state or {}).get(layer.name, {})
        init = {}
        for var, value in self.net.initial_state(layer).items():
            # Brian2's refractoriness bookkeeping keeps its own types: times in float64 seconds
            dtype = {"lastspike": np.float64, "not_refractory": bool}.get(var, self.dtype)
            arr = given.get(var)
            init[var] = (
                np.full((B, layer.size), value, dtype) if arr is None else np.array(arr, dtype)
            )
        return init

    def _param_args(self, layer: Layer) -> tuple:
        """Parameters in the step functions' order: arrays (n,), or scalars of ``dtype`` (numpy
        scalars, not 0-d arrays, whose arithmetic is several times slower)."""
        values = self.net.parameter_values(layer)
        args = []
        for p in self.compiled[layer.name].params:
            value = np.asarray(values[p], dtype=self.dtype)
            args.append(value if value.ndim else self.dtype.type(value))
        return tuple(args)

    def _presynaptic(self, conn, inputs, traces, delayed) -> np.ndarray:
        """What ``conn`` transmits per step (T, B, n_pre).

        Event coupling: input values or spikes of this step (of ``delay`` steps ago for a
        delayed connection); summed coupling: the presynaptic output variable at the end of the
        previous step (aligned schedule: of this step; input values: this step's).
        """
        if conn.delay:
            return delayed[conn.name]
        if conn.coupling == "event" and self.genn:  # what arrives at step k was sent at k-1
            sent = inputs[conn.pre.name] if conn.pre.is_input else traces[conn.pre.name].spikes
            return np.concatenate([np.zeros_like(sent[:1]), sent[:-1]])
        if conn.pre.is_input:
            return inputs[conn.pre.name]
        trace = traces[conn.pre.name]
        if conn.coupling == "event":
            return trace.spikes
        ends = trace.end_values(conn.pre.out_variable)
        return ends[1:] if self.aligned else ends[:-1]

    def _external_drive(self, layer, inputs, traces, T, B, delayed):
        event_in: dict[str, np.ndarray] = {}
        summed_in: dict[str, np.ndarray] = {}
        for conn in self.incoming[layer.name]:
            if conn.recurrent:
                continue
            pre = self._presynaptic(conn, inputs, traces, delayed).reshape(T * B, -1)
            weights = conn.dense(self.params[conn.key])
            active = _active_columns(pre, conn)
            if active is None:
                drive = pre @ weights
            else:  # only neurons that spiked in this batch contribute
                drive = pre[:, active] @ weights[active]
            drive = drive.reshape(T, B, layer.size)
            store = event_in if conn.coupling == "event" else summed_in
            store[conn.target] = store[conn.target] + drive if conn.target in store else drive
        return event_in, summed_in

    def _plan(self, layer: Layer, for_backward: bool, g_ends=(), g_spike_ext=False) -> LayerPlan:
        key = (layer.name, for_backward, tuple(g_ends), g_spike_ext)
        if key not in self._plans:
            self._plans[key] = self._make_plan(layer, for_backward, g_ends, g_spike_ext)
        return self._plans[key]

    def _make_plan(self, layer: Layer, for_backward: bool, g_ends, g_spike_ext) -> LayerPlan:
        cm = self.compiled[layer.name]
        incoming = [c for c in self.incoming[layer.name] if c.pre is not layer]
        recurrent = [c for c in self.incoming[layer.name] if c.pre is layer]
        event_vars = tuple(
            v
            for v in cm.state
            if any(c.target == v and c.coupling == "event" for c in self.incoming[layer.name])
        )
        driven = {c.target for c in incoming}
        return LayerPlan(
            model=cm,
            ext_summed=tuple(v for v in cm.summed if v in driven),
            rec_summed=tuple(c.target for c in recurrent if c.coupling == "summed"),
            event_vars=event_vars,
            ext_event=tuple(v for v in event_vars if v in driven),
            rec_event=tuple(c.target for c in recurrent if c.coupling == "event"),
            out_var=layer.model.output,
            kept=cm.state
            if for_backward
            else tuple(v for v in cm.state if v in self._read_by_others(layer)),
            for_backward=for_backward,
            smooth=self.smooth,
            detach_reset=self.detach_reset,
            g_ends=tuple(g_ends),
            g_spike_ext=g_spike_ext,
            aligned=self.aligned,
            genn=self.genn,
        )

    def _recurrent(self, layer: Layer, coupling: str) -> list[np.ndarray]:
        return [
            self.params[c.key]
            for c in self.incoming[layer.name]
            if c.pre is layer and c.coupling == coupling
        ]

    def _layer_forward(
        self, layer, init, event_in, summed_in, T, B, t0, for_backward=True
    ) -> LayerTrace:
        cm = self.compiled[layer.name]
        plan = self._plan(layer, for_backward)
        shape = (B, layer.size)
        dt = self.dtype.type(self.net.dt_seconds)
        fast = self._compiled_loops(layer, plan)
        run = fast and self._attempt(layer, lambda: compiled.run_forward(
            plan, fast[0], T, init, summed_in, event_in, self._recurrent(layer, "summed"),
            self._recurrent(layer, "event"), self._param_args(layer), dt, t0, self.dtype, shape))
        run = run or layer_loops(plan)[0](
            T,
            [init[v] for v in cm.state],
            [summed_in[v] for v in plan.ext_summed],
            [np.full(shape, init[v], self.dtype) for v in cm.summed if v not in plan.ext_summed],
            [event_in[v] for v in plan.ext_event],
            self._recurrent(layer, "summed"),
            self._recurrent(layer, "event"),
            self._param_args(layer),
            dt,
            t0,
            self.dtype.type,
            self.dtype,
            shape,
            self.surrogate.primitive,
            self._refractory_args(layer, init),
        )
        spikes = _steps(run["spikes"]) if cm.spiking else None
        h = _steps(run["hs"]) if cm.spiking and for_backward else None
        final, masks = run["final"], None
        if cm.refractory:
            nrs, nr2s, final["lastspike"], final["not_refractory"] = run["refractory"]
            masks = (nrs, nr2s) if for_backward else None
        return LayerTrace(
            run["ends"], run["updated"], run["pre_reset"], run["summed"], final, spikes, h, masks
        )

    def _refractory_args(self, layer: Layer, init: dict) -> tuple | None:
        """``(lastspike, not_refractory, period in steps, dt in s)`` for a refractory layer:
        Brian2's ``timestep(refractory, dt)``, the steps a spike keeps the neuron refractory."""
        cm = self.compiled[layer.name]
        if not cm.refractory:
            return None
        dt = self.net.dt_seconds
        steps = None
        if cm.refractory == "time":
            values = self.net.parameter_values(layer)
            period = np.asarray(cm.refractory_period(*(values[p] for p in cm.params))[0], float)
            steps = np.floor((period + 1e-3 * dt) / dt)
        return init["lastspike"], init["not_refractory"], steps, dt

    def _read_by_others(self, layer: Layer) -> set[str]:
        """State variables of ``layer`` that another layer or the output reads over time."""
        kept = {
            v
            for c in self.outgoing[layer.name]
            if c.coupling == "summed"
            for v in [layer.model.output]
        }
        if self.output[0] == layer.name and self.output[1] != "spike":
            kept.add(self.output[1])
        return kept

    # -- backward ------------------------------------------------------------------------------
    def backward(
        self, d_output: np.ndarray, cache: KernelCache, d_inputs: dict | None = None
    ) -> dict[str, np.ndarray]:
        """Gradients of a loss with d loss / d output = ``d_output`` (T, B, n_out).

        Returns a dict with one gradient per entry of ``params`` (same keys and shapes). A dict
        passed as ``d_inputs`` receives d loss / d input (T, B, n_in) per input layer (for a
        network that sits behind other trainable layers).
        """
        d_output = np.asarray(d_output, dtype=self.dtype)
        if d_output.shape != cache.output.shape:
            raise ValueError(f"d_output has shape {d_output.shape}, expected {cache.output.shape}")
        T, B = d_output.shape[:2]
        grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        # Gradients arriving from downstream: on spikes (T,B,n) and on end-of-step states (T+1,B,n).
        g_spikes: dict[str, np.ndarray] = {}
        g_ends: dict[str, dict[str, np.ndarray]] = {la.name: {} for la in self.order}
        name, var = self.output
        if var == "spike":
            g_spikes[name] = d_output.copy()
        else:
            g = np.zeros((T + 1, B, self.net.layers[name].size), self.dtype)
            g[1:] = d_output
            g_ends[name][var] = g
        for layer in reversed(self.order):
            g_event, g_summed = self._layer_backward(
                layer, cache, g_spikes.get(layer.name), g_ends[layer.name], grads, T, B
            )
            for conn in self.incoming[layer.name]:
                if conn.recurrent:
                    continue
                g_in = (g_event if conn.coupling == "event" else g_summed)[conn.target]
                pre = self._presynaptic(
                    conn, cache.inputs, cache.traces, cache.extras.get("delayed", {})
                ).reshape(T * B, -1)
                active = _active_columns(pre, conn)
                if active is None:
                    gw = pre.T @ g_in.reshape(T * B, -1)
                else:  # rows of silent neurons are zero
                    gw = np.zeros((pre.shape[1], g_in.shape[-1]), self.dtype)
                    gw[active] = pre[:, active].T @ g_in.reshape(T * B, -1)
                grads[conn.key] += conn.fold(gw)
                if conn.pre.is_input and d_inputs is None:
                    continue
                weights = conn.dense(self.params[conn.key])
                g_pre = (g_in.reshape(T * B, -1) @ weights.T).reshape(T, B, -1)
                if self.genn and conn.coupling == "event":  # back to the step it was sent in
                    g_pre = np.concatenate([g_pre[1:], np.zeros_like(g_pre[:1])])
                if conn.pre.is_input:
                    if conn.pre.name in d_inputs:
                        d_inputs[conn.pre.name] = d_inputs[conn.pre.name] + g_pre
                    else:
                        d_inputs[conn.pre.name] = g_pre
                    continue
                if conn.coupling == "event":
                    acc = g_spikes.setdefault(conn.pre.name, np.zeros_like(g_pre))
                    if conn.delay:  # the spike of step k arrived at k + delay
                        acc[: T - conn.delay] += g_pre[conn.delay :]
                    else:
                        acc += g_pre
                else:
                    acc = g_ends[conn.pre.name].setdefault(
                        conn.pre.out_variable, np.zeros((T + 1, *g_pre.shape[1:]), self.dtype)
                    )
                    # the presynaptic state read: at the end of this step (aligned) or of the
                    # previous one (brian2)
                    acc[slice(1, None) if self.aligned else slice(None, -1)] += g_pre
        return grads

    def _layer_backward(self, layer, cache, g_spike_ext, g_ends_ext, grads, T, B):
        cm = self.compiled[layer.name]
        trace = cache.traces[layer.name]
        plan = self._plan(
            layer, True, tuple(v for v in cm.state if v in g_ends_ext), g_spike_ext is not None
        )
        shape = (B, layer.size)
        rec_event = [
            c for c in self.incoming[layer.name] if c.pre is layer and c.coupling == "event"
        ]
        rec_summed = [
            c for c in self.incoming[layer.name] if c.pre is layer and c.coupling == "summed"
        ]
        g_rec_event = [np.zeros_like(self.params[c.key]) for c in rec_event]
        g_rec_summed = [np.zeros_like(self.params[c.key]) for c in rec_summed]
        g_learn = [np.zeros(shape, self.dtype) for _ in cm.learnable]
        sg = self.surrogate.grad(trace.h) if cm.spiking else None
        dt = self.dtype.type(self.net.dt_seconds)
        fast = self._compiled_loops(layer, plan)
        done = fast and self._attempt(layer, lambda: compiled.run_backward(
            plan, fast[1], T, trace, sg, g_ends_ext, g_spike_ext, self._param_args(layer), dt,
            cache.t0, self.dtype, shape, [self.params[c.key] for c in rec_event],
            [self.params[c.key] for c in rec_summed], g_rec_event, g_rec_summed, g_learn))
        g_event, g_summed = done or layer_loops(plan)[1](
            T,
            trace.ends,
            trace.updated,
            trace.pre_reset,
            trace.summed,
            trace.spikes,
            sg,
            g_ends_ext,
            g_spike_ext,
            self._param_args(layer),
            dt,
            cache.t0,
            self.dtype.type,
            np.zeros(shape, self.dtype),
            [self.params[c.key].T for c in rec_event],
            [self.params[c.key].T for c in rec_summed],
            g_rec_event,
            g_rec_summed,
            g_learn,
            trace.not_refractory,
        )
        for c, g in zip((*rec_event, *rec_summed), (*g_rec_event, *g_rec_summed), strict=True):
            grads[c.key] += g if c.mask is None else g * c.mask
        for pname, g in zip(cm.learnable, g_learn, strict=True):
            key = f"{layer.name}.{pname}"
            grads[key] += g.sum(0) if grads[key].ndim else g.sum()
        return _stack(g_event, shape, self.dtype), _stack(g_summed, shape, self.dtype)

    def _compiled_loops(self, layer: Layer, plan: LayerPlan):
        """The compiled (forward, backward) of ``plan`` when ``loops`` allows, else None."""
        if self.loops == "python" or layer.name in self.fallbacks:
            return None
        if plan not in self._fast:  # decided once per plan: the hot path only looks it up
            reason = compiled.unsupported(plan)
            if reason is not None:
                if self.loops == "compiled":
                    raise NetworkError(f"layer {layer.name}: no compiled loop: {reason}")
                self.fallbacks[layer.name] = reason
                return None
            vector = compiled.vector_params(self._param_args(layer))
            self._fast[plan] = compiled.compiled_loops(plan, vector)
        return self._fast[plan]

    def _attempt(self, layer: Layer, call):
        """``call()``; under ``loops="auto"`` a model numba cannot compile falls back."""
        from numba.core.errors import NumbaError

        try:
            return call()
        except NumbaError as err:
            if self.loops == "compiled":
                raise
            first = str(err).strip().splitlines()[0]
            self.fallbacks[layer.name] = f"numba could not compile its loop: {first}"
            return None


def _steps(values) -> np.ndarray:
    """Per-step values as one array (T, B, n): the compiled loop's as they are."""
    return values if isinstance(values, np.ndarray) else np.stack(values)


def _stack(per_step: dict[str, list], shape, dtype) -> dict[str, np.ndarray]:
    """Per-step gradient lists (None = zero) -> arrays (T, B, n)."""
    out = {}
    for var, steps in per_step.items():
        if isinstance(steps, np.ndarray):  # from the compiled loop
            out[var] = steps
            continue
        zeros = np.zeros(shape, dtype)
        out[var] = np.stack([zeros if g is None else g for g in steps])
    return out


def _active_columns(pre: np.ndarray, conn) -> np.ndarray | None:
    """Presynaptic neurons that spiked at least once in ``pre`` (rows: steps x batch), when
    skipping the silent ones saves work (event coupling from a spiking layer, < half active)."""
    if conn.coupling != "event" or conn.pre.is_input:
        return None
    active = np.flatnonzero(pre.any(axis=0))
    return active if len(active) < pre.shape[1] // 2 else None
