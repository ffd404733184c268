"""The one check of a network's inputs, shared by the kernel and Brian2's batch replay."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from neurorl.topology import Layer, NetworkError


class HasInputs(Protocol):
    """What the check reads of a :class:`~neurorl.network.Network`: its input layers."""

    inputs: list[Layer]

__all__ = ["HasInputs", "check_inputs"]


def check_inputs(
    net: HasInputs, inputs: np.ndarray | dict[str, np.ndarray], dtype=np.float64
) -> dict[str, np.ndarray]:
    """``inputs`` as arrays (T, B, n_in) of ``dtype`` by input layer, or a clear error.

    ``inputs``: one array-like (T, B, n_in) for a network with one input layer, or a dict by
    input layer name. Refused with a :class:`~neurorl.network.NetworkError` naming the layer and
    the value at fault: a missing or unknown input layer, values that are not numbers, a shape
    other than (T, B, n_in), T = 0 or B = 0, inputs that disagree on T and B, NaN or inf.
    The one check of :meth:`Kernel.forward` and of :func:`~neurorl.sim.batch.run_batch`.
    """
    if not isinstance(inputs, dict):
        if len(net.inputs) != 1:
            names = ", ".join(la.name for la in net.inputs)
            raise NetworkError(f"the network has several inputs ({names}): pass a dict by name")
        inputs = {net.inputs[0].name: inputs}
    unknown = sorted(set(inputs) - {la.name for la in net.inputs})
    if unknown:
        names = ", ".join(la.name for la in net.inputs)
        raise NetworkError(f"inputs given for {', '.join(map(repr, unknown))}: the network's "
                           f"input layers are {names}")
    out: dict[str, np.ndarray] = {}
    for layer in net.inputs:
        if layer.name not in inputs:
            raise NetworkError(f"missing inputs for input layer {layer.name}")
        try:
            x = np.asarray(inputs[layer.name], dtype=dtype)
        except (TypeError, ValueError):
            raise NetworkError(
                f"inputs for {layer.name} are not numbers: {inputs[layer.name]!r:.80}"
            ) from None
        if x.ndim != 3 or x.shape[2] != layer.size:
            raise NetworkError(
                f"inputs for {layer.name} have shape {x.shape}, expected (T, B, {layer.size})"
            )
        for axis, what in ((0, "T (time steps, axis 0)"), (1, "B (batch, axis 1)")):
            if x.shape[axis] == 0:
                raise NetworkError(
                    f"inputs for {layer.name} have shape {x.shape}: {what} is 0; give at least one"
                )
        first = next(iter(out.items()), None)
        if first is not None and x.shape[:2] != first[1].shape[:2]:
            raise NetworkError(
                f"inputs for {layer.name} have (T, B) = {x.shape[:2]} and inputs for {first[0]} "
                f"{first[1].shape[:2]}: all inputs must share T and B"
            )
        # a NaN or inf makes the sum one (one pass, no temporary); finite values whose sum
        # overflows are told apart by the exact search
        bad = np.argwhere(~np.isfinite(x)) if not np.isfinite(x.sum()) else ()
        if len(bad):
            t, b, i = (int(k) for k in bad[0])
            raise NetworkError(
                f"inputs for {layer.name} contain NaN or inf ({len(bad)} values; the first, "
                f"{x[t, b, i]}, at step {t}, batch element {b}, channel {i})"
            )
        out[layer.name] = x
    return out
