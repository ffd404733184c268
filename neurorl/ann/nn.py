"""Numpy neural-network layers: dense, conv2d (im2col, NCHW), ReLU, and nets built from them.

Everything is a pure function of parameters and inputs (Norse style): parameters live in a
``dict[str, np.ndarray]``, ``forward(params, x) -> (y, cache)`` and
``backward(params, cache, dy) -> (dx, grads)``. Arithmetic is float32 throughout.

Layouts
-------
* dense:  ``x`` (N, n_in), ``W`` (n_in, n_out), ``b`` (n_out,), ``y = x @ W + b``. ``W[i, j]`` is
  the weight from input unit ``i`` to output unit ``j`` (the pre→post order of a Brian2 synapse).
* conv2d: ``x`` (N, C, H, W) channels first, ``W`` (C_out, C_in, k, k), ``b`` (C_out,), stride
  ``s``, no padding ("valid"), so H_out = (H - k) // s + 1.
* A dense layer that follows a conv layer flattens its input in (C, H, W) order.

:class:`Sequential` strings layers together and names their parameters ``"l<i>.W"`` and
``"l<i>.b"``; :func:`mlp`, :func:`nature_cnn` and :func:`minatar_cnn` build the standard
Q-network bodies.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neurorl.ann import fused

Params = dict[str, np.ndarray]
DTYPE = np.float32
INITS = ("torch", "he", "glorot")


# --------------------------------------------------------------------------------------------
# BLAS threads
# --------------------------------------------------------------------------------------------
_BLAS: list = []  # [(get_fn, set_fn)] once looked up; [None] when not found


def _openblas() -> tuple | None:
    if not _BLAS:
        found = None
        try:
            with open("/proc/self/maps") as fh:
                paths = {ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln}
        except OSError:
            paths = set()
        for path in sorted(paths):
            lib = ctypes.CDLL(path)
            for get, put in (("scipy_openblas_get_num_threads64_",
                              "scipy_openblas_set_num_threads64_"),
                             ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                             ("openblas_get_num_threads", "openblas_set_num_threads")):
                if hasattr(lib, get) and hasattr(lib, put):
                    found = (getattr(lib, get), getattr(lib, put))
                    found[0].restype = ctypes.c_int
                    break
            if found:
                break
        _BLAS.append(found)
    return _BLAS[0]


def set_blas_threads(n: int) -> int | None:
    """Set numpy's OpenBLAS thread count to ``n``; returns the previous count (None: unknown BLAS).

    Small matrices (batch 32–64, widths ≤ 512) run fastest on one thread, and a busy machine
    makes multi-threaded BLAS spin; the DQN trainer uses this to pick its thread count.
    """
    fns = _openblas() if sys.platform.startswith("linux") else None
    if fns is None:
        return None
    previous = int(fns[0]())
    fns[1](int(n))
    return previous


@contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Context manager running its body with ``n`` BLAS threads (``None`` or 0: unchanged)."""
    previous = set_blas_threads(n) if n else None
    try:
        yield
    finally:
        if previous is not None:
            set_blas_threads(previous)


# --------------------------------------------------------------------------------------------
# initialisation
# --------------------------------------------------------------------------------------------
def init_weights(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int, scheme: str
) -> np.ndarray:
    """Random float32 weights of ``shape`` for a layer with ``fan_in`` inputs, ``fan_out`` outputs.

    ``scheme``: ``"torch"`` (PyTorch's default for Linear/Conv, U(±1/√fan_in)), ``"he"``
    (N(0, 2/fan_in), Kaiming), ``"glorot"`` (U(±√(6/(fan_in+fan_out))), Xavier).
    """
    if scheme == "torch":
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=shape)
    elif scheme == "he":
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    elif scheme == "glorot":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-bound, bound, size=shape)
    else:
        raise ValueError(f"unknown initialisation {scheme!r}; choose one of {', '.join(INITS)}")
    return w.astype(DTYPE)


def init_bias(rng: np.random.Generator, n: int, fan_in: int, scheme: str) -> np.ndarray:
    """Float32 biases of length ``n``: U(±1/√fan_in) for ``"torch"``, zeros otherwise."""
    if scheme == "torch":
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=n).astype(DTYPE)
    return np.zeros(n, DTYPE)


# --------------------------------------------------------------------------------------------
# primitive layers
# --------------------------------------------------------------------------------------------
SPARSE_MIN_ROWS = 16  # batches smaller than this always use the dense product
SPARSE_MAX_FRACTION = 0.75  # skip silent units only when at most this fraction is active
SPARSE_MIN_OUT = 16  # a dense layer narrower than this takes all its inputs (gathers cost more)


def active_units(h: np.ndarray) -> np.ndarray | None:
    """Indices of the units of a ReLU output ``h`` (N, ...) that are positive for some sample.

    ``None`` when skipping the others would not pay (small batch, or most units active); the
    dense layers then use full products.
    """
    alive = h.reshape(len(h), -1).max(axis=0) > 0
    return _worth_skipping(alive, int(alive.sum()), len(h))


def _worth_skipping(alive: np.ndarray, count: int, rows: int) -> np.ndarray | None:
    """Indices where ``alive`` (M,) is True, or None when skipping the rest would not pay."""
    if rows < SPARSE_MIN_ROWS or count > SPARSE_MAX_FRACTION * len(alive):
        return None
    return np.flatnonzero(alive)


def dense_forward(
    W: np.ndarray, b: np.ndarray | None, x: np.ndarray, active: np.ndarray | None = None
) -> tuple[np.ndarray, Any]:
    """``y = x @ W + b`` for ``x`` (N, ...) flattened to (N, n_in) (``b = None``: no bias yet).

    ``active`` (optional, from :func:`active_units`): the input units that are nonzero somewhere
    in the batch; the product then skips the others (same result, fewer operations).
    Returns ``(y (N, n_out), cache)``.
    """
    x2 = x.reshape(x.shape[0], -1)
    if active is None:
        y = x2 @ W
        cache = (x2, x.shape, None, None)
    else:
        x_act, W_act = np.take(x2, active, axis=1), np.take(W, active, axis=0)
        y = x_act @ W_act
        cache = (x_act, x.shape, active, W_act)
    if b is not None:
        y += b
    return y, cache


def dense_backward(
    W: np.ndarray,
    cache: Any,
    dy: np.ndarray,
    need_dx: bool = True,
    out_active: np.ndarray | None = None,
    dW: np.ndarray | None = None,
    db: np.ndarray | None = None,
    need_dW: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """Gradients of a dense layer: ``(dx (input shape) or None, dW (n_in, n_out) or None, db
    (n_out,))``; ``need_dW=False`` skips the weight gradient's product (``dW`` is then None).

    ``out_active`` (optional): the only output units whose gradient may be nonzero (those active
    after this layer's ReLU); ``dy`` then holds just their columns, (N, len(out_active)). With
    it, and with the forward pass's ``active`` inputs, the products run on the nonzero block
    only. ``dW`` (optional, C-contiguous) receives the weight gradient in place; ``db``
    (optional) is the bias gradient when the caller has it already (else ``dy``'s column sums).
    """
    x2, shape, active, W_act = cache  # x2 holds only the active columns when active is given
    if db is None:
        db = dy.sum(axis=0)
        if out_active is not None:
            db_all = np.zeros(W.shape[1], db.dtype)
            db_all[out_active] = db
            db = db_all
    if active is None and out_active is None:
        dW = np.matmul(x2.T, dy, out=dW) if need_dW else None
        return ((dy @ W.T).reshape(shape) if need_dx else None), dW, db
    W_in = W if active is None else W_act  # rows of the active inputs
    if out_active is not None:
        W_in = np.take(W_in, out_active, axis=1)
    if need_dW:
        dW = np.empty_like(W) if dW is None else dW
        block = x2.T @ dy  # (active inputs, active outputs)
        if out_active is None:
            dW.fill(0)
            dW[active] = block
        else:
            rows = np.arange(W.shape[0]) if active is None else active
            fused.put_block(dW, rows, out_active, block)
    else:
        dW = None
    if not need_dx:
        return None, dW, db
    dx_act = dy @ W_in.T
    if active is None:
        return dx_act.reshape(shape), dW, db
    dx = np.zeros((len(dy), W.shape[0]), dtype=dy.dtype)
    dx[:, active] = dx_act
    return dx.reshape(shape), dW, db


def conv_out_size(size: int, kernel: int, stride: int) -> int:
    """Output length of a valid (unpadded) convolution along one axis."""
    return (size - kernel) // stride + 1


def im2col(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Patches of ``x`` (N, C, H, W) as a matrix (C·k·k, N·H_out·W_out).

    Rows are in (c, i, j) order (matching ``W.reshape(C_out, -1)``), columns in (n, h, w) order.
    Built from a strided view (``sliding_window_view``) and one contiguous copy, so no Python
    loop runs over samples or positions; this layout copies about twice as fast as the
    patch-per-row one.
    """
    win = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, ho, wo = win.shape[:4]
    cols = np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3))
    return cols.reshape(c * kernel * kernel, n * ho * wo)


def col2im(
    dcols: np.ndarray, x_shape: tuple[int, ...], kernel: int, stride: int
) -> np.ndarray:
    """Adjoint of :func:`im2col`: sum patch gradients (C·k·k, N·H_out·W_out) into (N, C, H, W).

    Loops over the k² kernel offsets only (each a vectorised strided add over all samples).
    """
    n, c, h, w = x_shape
    ho, wo = conv_out_size(h, kernel, stride), conv_out_size(w, kernel, stride)
    d6 = dcols.reshape(c, kernel, kernel, n, ho, wo)
    dx = np.zeros((c, n, h, w), dtype=dcols.dtype)
    he, we = stride * (ho - 1) + 1, stride * (wo - 1) + 1
    for i in range(kernel):
        for j in range(kernel):
            dx[:, :, i : i + he : stride, j : j + we : stride] += d6[:, i, j]
    return dx.transpose(1, 0, 2, 3)


def conv2d_forward(
    W: np.ndarray, b: np.ndarray, x: np.ndarray, stride: int
) -> tuple[np.ndarray, Any]:
    """Valid 2-D cross-correlation of ``x`` (N, C, H, W) with ``W`` (O, C, k, k) plus ``b`` (O,).

    Returns ``(y (N, O, H_out, W_out), cache)``; ``y`` may be a non-contiguous view.
    """
    o, _, k, _ = W.shape
    n, _, h, w = x.shape
    ho, wo = conv_out_size(h, k, stride), conv_out_size(w, k, stride)
    cols = im2col(x, k, stride)
    y = W.reshape(o, -1) @ cols
    y += b[:, None]
    return y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3), (cols, x.shape)


def conv2d_backward(
    W: np.ndarray, cache: Any, dy: np.ndarray, stride: int, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv2d_forward`.

    Returns ``(dx (N, C, H, W) or None, dW (O, C, k, k), db (O,))``.
    """
    cols, x_shape = cache
    o = W.shape[0]
    dy_mat = np.ascontiguousarray(dy.transpose(1, 0, 2, 3)).reshape(o, -1)
    dW = (dy_mat @ cols.T).reshape(W.shape)
    db = dy_mat.sum(axis=1)
    dx = col2im(W.reshape(o, -1).T @ dy_mat, x_shape, W.shape[2], stride) if need_dx else None
    return dx, dW, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``max(x, 0)``; the cache is the output itself (its positive entries pass gradient)."""
    y = np.maximum(x, 0)
    return y, y


def relu_backward(cache: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient of ReLU: ``dy`` where the output was positive, 0 elsewhere."""
    return dy * (cache > 0)


# --------------------------------------------------------------------------------------------
# nets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    """One layer of a :class:`Sequential`: ``kind`` is ``"dense"`` or ``"conv2d"``.

    ``in_shape``/``out_shape`` exclude the batch axis ((n,) for dense, (C, H, W) for conv2d);
    ``kernel``/``stride`` apply to conv2d; ``relu`` says whether a ReLU follows the affine map.
    """

    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: int = 0
    stride: int = 1
    relu: bool = True

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """Shape of this layer's ``W``."""
        if self.kind == "dense":
            return (int(np.prod(self.in_shape)), self.out_shape[0])
        return (self.out_shape[0], self.in_shape[0], self.kernel, self.kernel)

    @property
    def fan_in(self) -> int:
        """Inputs feeding one output unit."""
        if self.kind == "dense":
            return int(np.prod(self.in_shape))
        return self.in_shape[0] * self.kernel * self.kernel

    @property
    def fan_out(self) -> int:
        """Outputs one input unit feeds (per position, for conv)."""
        if self.kind == "dense":
            return self.out_shape[0]
        return self.out_shape[0] * self.kernel * self.kernel

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for checkpoint headers)."""
        return {
            "kind": self.kind,
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "kernel": self.kernel,
            "stride": self.stride,
            "relu": self.relu,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> LayerSpec:
        """Inverse of :meth:`to_dict`."""
        return LayerSpec(
            kind=str(d["kind"]),
            in_shape=tuple(int(v) for v in d["in_shape"]),
            out_shape=tuple(int(v) for v in d["out_shape"]),
            kernel=int(d.get("kernel", 0)),
            stride=int(d.get("stride", 1)),
            relu=bool(d.get("relu", True)),
        )


class Sequential:
    """A feed-forward stack of dense/conv2d layers, each optionally followed by ReLU.

    Holds only the architecture; parameters are passed in (``dict`` with keys ``"l<i>.W"``,
    ``"l<i>.b"``). Build one with :meth:`Sequential.build` or :func:`mlp` / :func:`nature_cnn` /
    :func:`minatar_cnn`.
    """

    def __init__(self, layers: Sequence[LayerSpec]) -> None:
        self.layers: tuple[LayerSpec, ...] = tuple(layers)
        self._keys = [(f"l{i}.W", f"l{i}.b") for i in range(len(self.layers))]
        for prev, nxt in zip(self.layers, self.layers[1:], strict=False):
            if int(np.prod(prev.out_shape)) != int(np.prod(nxt.in_shape)):
                raise ValueError(f"layer shapes do not chain: {prev.out_shape} -> {nxt.in_shape}")

    # ---- construction --------------------------------------------------------------------
    @staticmethod
    def build(in_shape: Sequence[int], spec: Sequence[tuple]) -> Sequential:
        """Chain layers from ``in_shape`` following ``spec``.

        ``spec`` items: ``("conv", channels, kernel, stride)`` or ``("dense", units)``. Every layer
        but the last is followed by ReLU.
        """
        shape = tuple(int(v) for v in in_shape)
        layers = []
        for i, item in enumerate(spec):
            relu = i < len(spec) - 1
            if item[0] == "conv":
                _, ch, k, s = item
                if len(shape) != 3:
                    raise ValueError(f"conv layer {i} needs a (C, H, W) input, got {shape}")
                out = (int(ch), conv_out_size(shape[1], k, s), conv_out_size(shape[2], k, s))
                if out[1] < 1 or out[2] < 1:
                    raise ValueError(f"conv layer {i}: kernel {k} does not fit input {shape}")
                layers.append(LayerSpec("conv2d", shape, out, int(k), int(s), relu))
            elif item[0] == "dense":
                out = (int(item[1]),)
                layers.append(LayerSpec("dense", shape, out, relu=relu))
            else:
                raise ValueError(f"unknown layer kind {item[0]!r} (use 'conv' or 'dense')")
            shape = out
        return Sequential(layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready architecture (list of layer dicts)."""
        return {"layers": [spec.to_dict() for spec in self.layers]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Sequential:
        """Inverse of :meth:`to_dict`."""
        return Sequential([LayerSpec.from_dict(x) for x in d["layers"]])

    @property
    def in_shape(self) -> tuple[int, ...]:
        """Input shape without the batch axis."""
        return self.layers[0].in_shape

    @property
    def out_size(self) -> int:
        """Number of outputs (e.g. actions)."""
        return int(np.prod(self.layers[-1].out_shape))

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"l<i>.W": shape, "l<i>.b": shape}`` for every layer, in order."""
        out: dict[str, tuple[int, ...]] = {}
        for i, spec in enumerate(self.layers):
            out[f"l{i}.W"] = spec.weight_shape
            out[f"l{i}.b"] = (spec.out_shape[0],)
        return out

    def init(self, rng: np.random.Generator, scheme: str = "torch") -> Params:
        """Fresh float32 parameters (see :func:`init_weights` for ``scheme``)."""
        params: Params = {}
        for i, spec in enumerate(self.layers):
            params[f"l{i}.W"] = init_weights(
                rng, spec.weight_shape, spec.fan_in, spec.fan_out, scheme
            )
            params[f"l{i}.b"] = init_bias(rng, spec.out_shape[0], spec.fan_in, scheme)
        return params

    # ---- computation ---------------------------------------------------------------------
    def forward(
        self, params: Params, x: np.ndarray, keep_cache: bool = True, preactivations: bool = False
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Run the net on a batch ``x`` (N, *in_shape) (cast to float32).

        Returns ``(y (N, out_size), cache)``. ``cache["layers"]`` (if ``keep_cache``) feeds
        :meth:`backward`; ``cache["pre"]`` (if ``preactivations``) lists each layer's output before
        its ReLU, shapes (N, *out_shape) — what ANN→SNN conversion normalises.
        """
        h = np.asarray(x, dtype=DTYPE)
        caches: list[Any] = []
        pre: list[np.ndarray] = []
        alive = None  # units of the previous layer's output that are positive somewhere
        last = len(self.layers) - 1
        for i, (spec, (kw, kb)) in enumerate(zip(self.layers, self._keys, strict=True)):
            nxt = self.layers[i + 1] if i < last else None
            # the silent units serve this layer's backward and the next layer's inputs
            want_alive = nxt is not None and nxt.kind == "dense" and (
                keep_cache or nxt.out_shape[0] >= SPARSE_MIN_OUT
            )
            fuse = spec.kind == "dense" and spec.relu and not preactivations
            if spec.kind == "dense":
                skip = alive if spec.out_shape[0] >= SPARSE_MIN_OUT else None
                z, c = dense_forward(params[kw], None if fuse else params[kb], h, skip)
            else:
                z, c = conv2d_forward(params[kw], params[kb], h, spec.stride)
            if preactivations:
                pre.append(z.copy())
            alive = None
            if fuse:  # bias, ReLU and "which units fired" in one pass
                mask = np.empty(z.shape[1], bool)
                count = fused.bias_relu(z, params[kb], mask)
                h = rc = z
                if want_alive:
                    alive = _worth_skipping(mask, int(count), len(z))
            elif spec.relu:
                h = np.maximum(z, 0, out=z)  # z is a fresh array: ReLU in place
                rc = h
                if want_alive:
                    alive = active_units(h)
            else:
                h, rc = z, None
            if keep_cache:
                caches.append((c, rc, alive))
        cache: dict[str, Any] = {}
        if keep_cache:
            cache["layers"] = caches
        if preactivations:
            cache["pre"] = pre
        return h, cache

    def backward(
        self,
        params: Params,
        cache: dict[str, Any],
        dy: np.ndarray,
        need_dx: bool = False,
        out: Params | None = None,
        weights: bool = True,
    ) -> tuple[np.ndarray | None, Params]:
        """Backpropagate ``dy`` (N, out_size) through the cached forward pass.

        Returns ``(dx or None, grads)`` with ``grads`` keyed like ``params``. ``need_dx`` asks for
        the input gradient (skipped by default: the first layer's input needs none in RL).
        ``out`` (optional, keyed like ``params``) receives the gradients in place and is returned.
        ``weights=False`` computes ``dx`` only (``grads`` stays empty): the dense layers' weight
        products are skipped (a conv layer's are computed and dropped), for a gradient that flows
        through the net to its input and no further.
        """
        grads: Params = {} if out is None else out
        d = np.asarray(dy, dtype=DTYPE)
        top = len(self.layers) - 1
        for i in range(top, -1, -1):
            spec = self.layers[i]
            c, rc, out_active = cache["layers"][i]
            want_dx = need_dx or i > 0
            kw, kb = self._keys[i]
            if spec.kind == "dense":
                db = None
                if rc is not None:  # through the ReLU, on the units that fired only
                    d = np.ascontiguousarray(d.reshape(rc.shape))
                    db = np.empty(rc.shape[1], d.dtype)
                    if out_active is None:
                        d = d.copy() if i == top else d  # do not write into the caller's dy
                        fused.relu_grad(d, rc, db)
                    else:
                        d_act = np.empty((len(d), len(out_active)), d.dtype)
                        fused.relu_grad_columns(d, rc, out_active, d_act, db)
                        d = d_act
                d, dW, db = dense_backward(
                    params[kw], c, d, want_dx, out_active,
                    None if out is None or not weights else out[kw], db, need_dW=weights
                )
            else:
                if rc is not None:
                    d = relu_backward(rc, d)
                d, dW, db = conv2d_backward(params[kw], c, d, spec.stride, want_dx)
            if not weights:
                continue
            if out is None:
                grads[kw], grads[kb] = dW, db
            else:
                if dW is not out[kw]:
                    out[kw][...] = dW
                out[kb][...] = db
        return d, grads

    def __call__(self, params: Params, x: np.ndarray) -> np.ndarray:
        """Outputs only (no cache): ``(N, out_size)`` float32.

        Batches too small to skip silent units (acting on one observation) take a plain loop.
        """
        h = np.asarray(x, dtype=DTYPE)
        if len(h) >= SPARSE_MIN_ROWS:
            return self.forward(params, h, keep_cache=False)[0]
        for spec, (kw, kb) in zip(self.layers, self._keys, strict=True):
            if spec.kind == "dense":
                h = h.reshape(len(h), -1) @ params[kw]
                h += params[kb]
            else:
                h = conv2d_forward(params[kw], params[kb], h, spec.stride)[0]
            if spec.relu:
                h = np.maximum(h, 0, out=h)  # h is a fresh array (or a view of one)
        return h


# --------------------------------------------------------------------------------------------
# standard bodies
# --------------------------------------------------------------------------------------------
def mlp(n_in: int, hidden: Sequence[int], n_out: int) -> Sequential:
    """Multi-layer perceptron ``n_in → hidden… → n_out`` with ReLU between layers."""
    return Sequential.build((n_in,), [("dense", h) for h in hidden] + [("dense", n_out)])


def nature_cnn(n_actions: int, in_shape: Sequence[int] = (4, 84, 84)) -> Sequential:
    """Nature-DQN (Mnih et al. 2015): 32c8s4 → 64c4s2 → 64c3s1 → 512 → ``n_actions``."""
    return Sequential.build(
        in_shape,
        [("conv", 32, 8, 4), ("conv", 64, 4, 2), ("conv", 64, 3, 1), ("dense", 512),
         ("dense", n_actions)],
    )


def minatar_cnn(in_channels: int, n_actions: int, size: int = 10) -> Sequential:
    """MinAtar DQN (Young & Tian 2019): (C, 10, 10) → 16c3s1 → 128 → ``n_actions``."""
    return Sequential.build(
        (in_channels, size, size), [("conv", 16, 3, 1), ("dense", 128), ("dense", n_actions)]
    )
