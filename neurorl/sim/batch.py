"""Batch replay: run a :class:`~neurorl.network.Network` in Brian2 on a batch of input sequences.

The batch is ``B`` copies of the network in one Brian2 network, fed through a ``TimedArray``, so
one build and one ``run()`` serve all of them; this works on the runtime device (numpy or cython
code generation) and on standalone devices (``cpp_standalone``), which cannot call back into
Python during a run.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass

import brian2
import numpy as np

from neurorl.network import Network

__all__ = ["BatchResult", "run_batch"]


@dataclass
class BatchResult:
    """States at the end of each step and spikes, per layer, each (T, B, n)."""

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
) -> BatchResult:
    """Run ``net`` in Brian2 on ``inputs`` (T, B, n_in) and record every state variable.

    Args:
        device: ``"runtime"`` or ``"cpp_standalone"``.
        target: code generation target of the runtime device (``"numpy"`` or ``"cython"``).
        directory: where a standalone device builds (default: a temporary directory).
    """
    if not isinstance(inputs, dict):
        inputs = {net.inputs[0].name: inputs}
    T, B = next(iter(inputs.values())).shape[:2]
    with _brian2_device(device, target, directory) as build:
        objs = net.to_brian2(copies=B, inputs=inputs)
        dt = net.dt * brian2.ms
        monitors = {}
        for layer in net.neuron_layers:
            group = objs.groups[layer.name]
            variables = list(layer.model.state_variables)
            state_mon = brian2.StateMonitor(
                group, variables, record=True, when="end", dt=dt, name=f"{layer.name}_states*"
            )
            spike_mon = (
                brian2.SpikeMonitor(group, name=f"{layer.name}_spikes*")
                if layer.model.spiking
                else None
            )
            monitors[layer.name] = (state_mon, spike_mon, variables)
            objs.network.add(state_mon, *([] if spike_mon is None else [spike_mon]))
        objs.network.run(T * dt)
        build()
        states, spikes = {}, {}
        for layer in net.neuron_layers:
            state_mon, spike_mon, variables = monitors[layer.name]
            states[layer.name] = {
                v: np.asarray(getattr(state_mon, f"{v}_")).T.reshape(T, B, layer.size)
                for v in variables
            }
            if spike_mon is not None:
                s = np.zeros((T, B * layer.size))
                steps = np.rint(np.asarray(spike_mon.t_) / net.dt_seconds).astype(int)
                s[steps, np.asarray(spike_mon.i)] = 1.0
                spikes[layer.name] = s.reshape(T, B, layer.size)
    return BatchResult(states, spikes)


@contextlib.contextmanager
def _brian2_device(device: str, target: str, directory: str | None):
    """Select a Brian2 device for one run, restoring the previous device and target after."""
    old_target = brian2.prefs.codegen.target
    if device == "runtime":
        brian2.prefs.codegen.target = target
        try:
            yield lambda: None
        finally:
            brian2.prefs.codegen.target = old_target
        return
    if device != "cpp_standalone":
        raise ValueError(f"unsupported device {device!r} (runtime or cpp_standalone)")
    tmp = None if directory else tempfile.TemporaryDirectory(prefix="neurorl_standalone_")
    brian2.set_device("cpp_standalone", directory=directory or tmp.name, build_on_run=False)
    try:
        yield lambda: brian2.device.build(directory=directory or tmp.name, compile=True, run=True)
    finally:
        brian2.device.reinit()
        brian2.device.activate()
        brian2.set_device("runtime")
        if tmp is not None:
            tmp.cleanup()
