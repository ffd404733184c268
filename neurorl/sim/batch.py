"""Batch replay: run a :class:`~neurorl.network.Network` in Brian2 on a batch of input sequences.

The batch is ``B`` copies of the network in one Brian2 network, fed through a ``TimedArray``, so
one build and one ``run()`` serve all of them; this works on the runtime device (numpy or cython
code generation) and on standalone devices (``cpp_standalone``), which cannot call back into
Python during a run. The device is a name of the registry (:mod:`neurorl.sim.devices`);
``device="kernel"`` runs the same batch in neurorl's numpy kernel and returns the same record.
"""

from __future__ import annotations

from dataclasses import dataclass

import brian2
import numpy as np

from neurorl.kernel.inputs import check_inputs
from neurorl.network import Network, NetworkError
from neurorl.sim import devices

__all__ = ["BatchResult", "run_batch"]


@dataclass
class BatchResult:
    """What a batch run recorded, per layer.

    ``final[layer][var]`` and ``spike_counts[layer]`` (B, n) are always there; ``states`` (every
    state variable at the end of each step) and ``spikes`` (T, B, n) only with ``record="all"``.
    """

    final: dict[str, dict[str, np.ndarray]]
    spike_counts: dict[str, np.ndarray]
    states: dict[str, dict[str, np.ndarray]]
    spikes: dict[str, np.ndarray]

    def state(self, layer: str, variable: str) -> np.ndarray:
        """``variable`` of ``layer`` at the end of each step, (T, B, n)."""
        return self.states[layer][variable]


def run_batch(
    net: Network,
    inputs: np.ndarray | dict[str, np.ndarray],
    device: str = "runtime",
    target: str = "numpy",
    directory: str | None = None,
    record: str = "all",
) -> BatchResult:
    """Run ``net`` in Brian2 on ``inputs`` (T, B, n_in), B copies of the network in one run.

    Args:
        device: a name of :mod:`neurorl.sim.devices` (``"runtime"``, ``"cpp_standalone"``,
            ``"kernel"``, ``"genn"`` for a network with ``schedule="genn"``, ...).
        target: code generation target of the runtime device (``"numpy"`` or ``"cython"``).
        directory: where a standalone device builds (default: a temporary directory).
        record: ``"all"`` (every state variable at every step, and spike trains) or ``"final"``
            (final state and spike counts only: what a readout needs, for large batches).

    Inputs are checked by :func:`~neurorl.kernel.inputs.check_inputs` (a ``NetworkError`` naming
    the layer and value: wrong shape, T = 0 or B = 0, NaN or inf, ...).
    """
    if record not in ("all", "final"):
        raise NetworkError(f"record must be 'all' or 'final', got {record!r}")
    inputs = check_inputs(net, inputs)  # shapes, T and B >= 1, finite: one clear message
    T, B = next(iter(inputs.values())).shape[:2]
    every_step = record == "all"
    if devices.get(device).brian2_name is None:
        return _kernel_batch(net, inputs, every_step)
    if devices.get(device).schedule == "genn":  # GeNN's fixed order: schedule "genn" only
        from neurorl.sim.genn import check_network

        check_network(net)
    with devices.use(device, target=target, directory=directory) as build:
        objs = net.to_brian2(copies=B, inputs=inputs)
        dt = net.dt * brian2.ms
        monitors = {}
        for layer in net.neuron_layers:
            group = objs.groups[layer.name]
            variables = list(layer.model.state_variables)
            state_mon = spike_mon = None
            if every_step:
                state_mon = brian2.StateMonitor(
                    group, variables, record=True, when="end", dt=dt, name=f"{layer.name}_states*"
                )
                objs.network.add(state_mon)
            if layer.model.spiking:
                spike_mon = brian2.SpikeMonitor(
                    group, record=every_step, name=f"{layer.name}_spikes*"
                )
                objs.network.add(spike_mon)
            monitors[layer.name] = (state_mon, spike_mon, variables)
        objs.network.run(T * dt)
        build()
        final, counts, states, spikes = {}, {}, {}, {}
        for layer in net.neuron_layers:
            state_mon, spike_mon, variables = monitors[layer.name]
            group = objs.groups[layer.name]
            shape = (B, layer.size)
            final[layer.name] = {
                v: np.asarray(getattr(group, f"{v}_")).reshape(shape) for v in variables
            }
            if spike_mon is not None:
                counts[layer.name] = np.asarray(spike_mon.count).reshape(shape).astype(float)
            if not every_step:
                continue
            states[layer.name] = {
                v: np.asarray(getattr(state_mon, f"{v}_")).T.reshape(T, *shape) for v in variables
            }
            if spike_mon is not None:
                s = np.zeros((T, B * layer.size))
                steps = np.rint(np.asarray(spike_mon.t_) / net.dt_seconds).astype(int)
                s[steps, np.asarray(spike_mon.i)] = 1.0
                spikes[layer.name] = s.reshape(T, *shape)
    return BatchResult(final, counts, states, spikes)


def _kernel_batch(net: Network, inputs: dict[str, np.ndarray], every_step: bool) -> BatchResult:
    """The batch in the numpy kernel (float64), recorded as Brian2's batch replay records it."""
    _, cache = net.kernel(dtype=np.float64).forward(inputs, for_backward=every_step)
    end = cache.final_state()
    final, counts, states, spikes = {}, {}, {}, {}
    for layer in net.neuron_layers:
        variables = list(layer.model.state_variables)
        final[layer.name] = {v: np.asarray(end[layer.name][v]) for v in variables}
        if layer.model.spiking:
            counts[layer.name] = cache.spikes(layer.name).sum(0)
            if every_step:
                spikes[layer.name] = np.asarray(cache.spikes(layer.name))
        if every_step:
            states[layer.name] = {v: cache.state(layer.name, v) for v in variables}
    return BatchResult(final, counts, states, spikes)
