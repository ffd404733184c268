"""The pieces a :class:`~neurorl.network.Network` is made of: layers, connections and the
geometry of a convolutional connection (which synapse uses which kernel entry)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurorl.models import NeuronModel

__all__ = ["Connection", "Conv", "Layer"]


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
