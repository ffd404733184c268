"""The pieces a :class:`~neurorl.network.Network` is made of: layers, connections and the
geometry of a convolutional connection (which synapse uses which kernel entry)."""

from __future__ import annotations

from dataclasses import dataclass, field

import brian2
import numpy as np

from neurorl import NeurorlError
from neurorl.models import NeuronModel

__all__ = [
    "Connection",
    "Conv",
    "Layer",
    "NetworkError",
    "align_brian2",
    "delay_steps",
    "topological_order",
]


@dataclass(eq=False)
class Layer:
    """A population: ``size`` neurons of ``model``; an input layer has ``model=None``."""

    name: str
    size: int
    model: NeuronModel | None = None
    constants: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def is_input(self) -> bool:
        """True for analog input layers (values fed every step)."""
        return self.model is None

    @property
    def out_variable(self) -> str | None:
        """The variable a summed connection reads from this layer (``x`` for inputs)."""
        return "x" if self.is_input else self.model.output


@dataclass(frozen=True)
class Conv:
    """Geometry of a convolutional connection: valid 2-D cross-correlation, NCHW order.

    The presynaptic layer holds ``in_shape`` = (C, H, W) neurons flattened as c*H*W + h*W + w;
    the postsynaptic layer holds (out_channels, H_out, W_out) flattened the same way. The weights
    are a kernel (out_channels, C, k, k) shared by all positions, as in a conv layer of a DQN.
    """

    in_shape: tuple[int, int, int]
    out_channels: int
    kernel: int
    stride: int = 1

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(out_channels, H_out, W_out)."""
        _, h, w = self.in_shape
        return (
            self.out_channels,
            (h - self.kernel) // self.stride + 1,
            (w - self.kernel) // self.stride + 1,
        )

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """Kernel shape (out_channels, C, k, k)."""
        return (self.out_channels, self.in_shape[0], self.kernel, self.kernel)

    def taps(self) -> np.ndarray:
        """(n_pre, n_post) index of the kernel entry each synapse uses (flat), -1 where none."""
        c_in, h, w = self.in_shape
        o, ho, wo = self.out_shape
        k, s = self.kernel, self.stride
        oo, cc, ki, kj, ii, jj = np.meshgrid(
            np.arange(o),
            np.arange(c_in),
            np.arange(k),
            np.arange(k),
            np.arange(ho),
            np.arange(wo),
            indexing="ij",
        )
        pre = cc * h * w + (ii * s + ki) * w + (jj * s + kj)
        post = oo * ho * wo + ii * wo + jj
        taps = np.full((c_in * h * w, o * ho * wo), -1, dtype=np.int64)
        taps[pre.ravel(), post.ravel()] = (((oo * c_in + cc) * k + ki) * k + kj).ravel()
        return taps


@dataclass(eq=False)
class Connection:
    """Weights from ``pre`` onto variable ``target`` of ``post``; ``coupling`` is event/summed.

    ``mask`` makes the connection sparse; ``conv`` makes it convolutional (tied weights).
    """

    name: str
    pre: Layer
    post: Layer
    target: str
    coupling: str
    mask: np.ndarray | None = None
    conv: Conv | None = None
    delay: int = 0  # homogeneous synaptic delay, in time steps (event coupling)

    @property
    def pending_key(self) -> str:
        """State key of the spikes in transit (B, delay, n_pre), kept with the post layer."""
        return f"{self.name}.pending"

    def __post_init__(self) -> None:
        self.tap_index: np.ndarray | None = None  # conv: kernel entry of each (pre, post)
        if self.conv is not None:
            self.tap_index = self.conv.taps()
            self.mask = self.tap_index >= 0

    @property
    def key(self) -> str:
        """Key of the weights in ``Network.params``: (n_pre, n_post), or the conv kernel."""
        return f"{self.name}.w"

    def dense(self, weights: np.ndarray) -> np.ndarray:
        """The weights as a matrix (n_pre, n_post) (a conv kernel expanded over positions)."""
        if self.conv is None:
            return weights
        flat = np.append(weights.ravel(), 0).astype(weights.dtype)
        return flat[self.tap_index]

    def fold(self, dense_grad: np.ndarray) -> np.ndarray:
        """Gradient of the stored weights from the gradient of :meth:`dense` (masked/tied)."""
        if self.conv is None:
            return dense_grad if self.mask is None else dense_grad * self.mask
        sums = np.bincount(
            self.tap_index[self.mask],
            weights=dense_grad[self.mask],
            minlength=int(np.prod(self.conv.weight_shape)),
        )
        return sums.reshape(self.conv.weight_shape).astype(dense_grad.dtype)

    @property
    def recurrent(self) -> bool:
        """True when the connection maps a layer onto itself."""
        return self.pre is self.post

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Presynaptic and postsynaptic indices of the existing synapses (dense: all pairs)."""
        if self.mask is None:
            i, j = np.meshgrid(np.arange(self.pre.size), np.arange(self.post.size), indexing="ij")
            return i.ravel(), j.ravel()
        return np.nonzero(self.mask)


class NetworkError(NeurorlError, ValueError):
    """A network that neurorl cannot build or compile (the message says what and where)."""


def topological_order(layers: list[Layer], connections: list[Connection]) -> list[Layer]:
    """``layers`` (neuron layers) ordered so that every non-recurrent connection goes forward; a
    cycle between layers is a :class:`NetworkError` (a layer onto itself is allowed)."""
    deps = {
        la.name: {
            c.pre.name
            for c in connections
            if c.post is la and not c.recurrent and not c.pre.is_input
        }
        for la in layers
    }
    order: list[Layer] = []
    done: set[str] = set()
    while len(order) < len(layers):
        ready = [la for la in layers if la.name not in done and deps[la.name] <= done]
        if not ready:
            stuck = sorted(n for n in deps if n not in done)
            raise NetworkError(
                f"connections form a cycle between layers {', '.join(stuck)}; the kernel "
                "supports feed-forward connections and recurrence of a layer onto itself"
            )
        for la in ready:
            order.append(la)
            done.add(la.name)
    return order


def delay_steps(delay, dt: float, pre: Layer, post: Layer) -> int:
    """``delay`` (ms, or a Brian2 time) as a whole number of steps of ``dt`` ms, or a
    :class:`NetworkError` saying why it cannot be one."""
    if isinstance(delay, brian2.Quantity):
        if delay.dim is not brian2.second.dim:
            raise NetworkError(f"delay={delay!r} is not a time")
        delay = float(delay / brian2.ms)
    try:
        steps = float(delay) / dt
    except (TypeError, ValueError):
        raise NetworkError(f"delay={delay!r} is not a number of milliseconds") from None
    if not (np.isfinite(steps) and steps >= 0 and abs(steps - round(steps)) < 1e-9):
        raise NetworkError(
            f"delay={delay!r} ms must be a non-negative multiple of dt={dt} ms"
        )
    if round(steps) and (pre.is_input or pre is post):
        what = "an input layer (its values are read when they arrive)" if pre.is_input \
            else "a recurrent connection"
        raise NetworkError(
            f"{pre.name} -> {post.name}: delay={delay!r} ms on {what} is not supported; "
            "delay connections between spiking layers"
        )
    return round(steps)


def align_brian2(net, groups: dict, synapses: dict) -> None:
    """The aligned schedule in the Brian2 objects of ``net`` (a :class:`~neurorl.network.Network`):
    every code object of a step in the ``groups`` slot, ordered layer by layer (inputs first,
    then ``net.topological_order()``): the summed variables into the layer, its state update, the
    ``on_pre`` pathways into it (its inputs' spikes of this step are in their spike spaces by
    then), its threshold, its reset. Inputs written at ``start`` (batch replay, closed loop)
    come before all."""
    rank = {la.name: 0 for la in net.inputs}
    rank.update({la.name: k + 1 for k, la in enumerate(net.topological_order())})
    for name, group in groups.items():
        base = 10 * rank[name]
        if name in net.layers and not net.layers[name].is_input:
            group.state_updater.when, group.state_updater.order = "groups", base + 2
        for runner, offset in ((group.thresholder, 4), (group.resetter, 5)):
            for obj in runner.values():
                obj.when, obj.order = "groups", base + offset
    for conn in net.connections:
        syn, base = synapses[conn.name], 10 * rank[conn.post.name]
        for updater in syn.summed_updaters.values():
            updater.when, updater.order = "groups", base + 1
        pathway = getattr(syn, "pre", None)  # the on_pre pathway of an event connection
        if pathway is not None:
            pathway.when, pathway.order = "groups", base + 3
