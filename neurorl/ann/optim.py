"""Optimisers over a parameter dict: Adam and global gradient-norm clipping.

Parameters and gradients are ``dict[str, np.ndarray]`` with the same keys and shapes (the kernel's
``params`` and ``backward`` output, or a numpy Q-network's). Updates are in place, so the arrays a
``Network`` or ``Kernel`` holds stay the arrays it uses. The Adam update is one fused loop
(:func:`neurorl.ann.fused.adam_update`): for the 67k float32 parameters of a DQN it takes ~30 µs
where twelve numpy passes take ~130 µs.

Parameters in SI units differ in scale by ten orders of magnitude (synaptic weights of ~1e-10 A
next to readout weights of ~0.2), and Adam's step is ``lr`` in each parameter's own units, so no
single ``lr`` serves them all. ``Adam(params, lr, scales="rms")`` makes the step of each parameter
``lr`` times its typical magnitude (:func:`rms_scales`, or a dict of your own): exactly Adam on
the dimensionless parameters ``p / scale`` (``weight_decay`` aside), so ``lr=1e-2`` means "1 % of
a typical value per step" for every parameter. Pass the same ``scales`` to
:func:`clip_grad_norm` so that the clipping norm is taken over those dimensionless parameters too
(otherwise the gradients of the smallest parameters, ~1e10 for a weight in amperes, dominate it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from neurorl.ann.fused import adam_update, as_scalars

Params = Mapping[str, np.ndarray]


def rms_scales(params: Params) -> dict[str, float]:
    """Typical magnitude of each parameter: the root mean square of its values now (floats).

    An all-zero array (a bias that starts at 0) gets 1.0, the plain learning rate; give such a
    parameter its scale explicitly (``{**rms_scales(p), "layer1.I_b": 1e-10}``).
    """
    out = {}
    for key, value in params.items():
        rms = float(np.sqrt(np.mean(np.square(value, dtype=np.float64)))) if value.size else 0.0
        out[key] = rms if rms > 0 and np.isfinite(rms) else 1.0
    return out


def global_norm(grads: Params, scales: Mapping[str, float] | None = None) -> float:
    """Euclidean norm of all gradients taken together (a float); with ``scales``, the norm of
    the gradients with respect to ``p / scales[k]`` (each gradient times its scale)."""
    s = scales or {}
    return float(
        np.sqrt(sum(float(np.vdot(g, g)) * s.get(k, 1.0) ** 2 for k, g in grads.items()))
    )


def clip_grad_norm(
    grads: dict[str, np.ndarray], max_norm: float, scales: Mapping[str, float] | None = None
) -> float:
    """Scale ``grads`` in place so that their global norm is at most ``max_norm``.

    With ``scales`` (e.g. ``Adam.scales``) the norm is :func:`global_norm` over the
    dimensionless parameters ``p / scale``. Returns the norm before clipping. A non-finite norm
    raises ``FloatingPointError`` naming the offending parameters, so NaN never reaches the
    weights.
    """
    norm = global_norm(grads, scales)
    if not np.isfinite(norm):
        bad = [k for k, g in grads.items() if not np.all(np.isfinite(g))]
        raise FloatingPointError(f"non-finite gradient in {', '.join(bad)} (norm {norm})")
    if norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm


class Adam:
    """Adam (Kingma & Ba 2015) over a dict of numpy arrays, updated in place.

    ``state_dict()`` / ``load_state_dict()`` return and take plain arrays and numbers, so the
    optimiser can be checkpointed without pickle.

    Args:
        lr: step size; with ``scales``, relative to each parameter's scale.
        scales: ``None`` (every parameter steps by ~``lr`` in its own units), ``"rms"`` (each
            parameter's typical magnitude now, :func:`rms_scales`) or a dict name -> positive
            scale (missing names: 1.0). Parameter ``k`` then steps by ~``lr * scales[k]``: Adam
            on ``p / scales[k]``, what SI-valued models need to train with one ``lr`` (see the
            module docs). Kept in :meth:`state_dict`, so a resumed run keeps its scales.
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        scales: Mapping[str, float] | str | None = None,
    ) -> None:
        self.params = params
        self.scales = _check_scales(params, scales)
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.weight_decay = weight_decay
        self.t = 0
        self.m = {k: np.zeros(p.shape, p.dtype) for k, p in params.items()}
        self.v = {k: np.zeros(p.shape, p.dtype) for k, p in params.items()}

    def step(self, grads: Params) -> None:
        """One Adam update with ``grads`` (keys of ``params``; missing keys stay frozen).

        In place and in the parameters' own dtype: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
        p ← p − α_t·m / (√v + ε_t), with the bias corrections folded into α_t and ε_t. Moments
        below the dtype's smallest normal number are flushed to 0: a zero gradient would
        otherwise leave m subnormal for good, and subnormal arithmetic is ~9x slower on Intel
        CPUs (:func:`neurorl.ann.fused.adam_update`). State loaded by :meth:`load_state_dict`
        from before the flush is cleaned by the first step.
        """
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        step_size = float(self.lr * np.sqrt(c2) / c1)
        eps = float(self.eps * np.sqrt(c2))
        for k, g in grads.items():
            p, m, v = self.params[k], self.m[k], self.v[k]
            flat = np.ascontiguousarray(p).reshape(-1)  # a view unless p is strided
            # Adam on p/s: the moments of s*g give the same m/(sqrt(v)) and eps/s, times s
            scale = self.scales.get(k, 1.0)
            scalars = as_scalars(flat.dtype, self.beta1, 1.0 - self.beta1, self.beta2,
                                 1.0 - self.beta2, step_size * scale, eps / scale,
                                 self.weight_decay)
            grad = np.ascontiguousarray(g, dtype=flat.dtype).reshape(-1)
            adam_update(flat, grad, m.reshape(-1), v.reshape(-1), *scalars)
            if not np.shares_memory(flat, p):
                p[...] = flat.reshape(p.shape)

    def state_dict(self) -> dict[str, np.ndarray | float | int]:
        """Moments and step count as arrays/numbers (keys ``m/<name>``, ``v/<name>``, ``t``)."""
        out: dict[str, np.ndarray | float | int] = {"t": self.t}
        out.update({f"scale/{k}": s for k, s in self.scales.items()})
        out.update({f"m/{k}": a for k, a in self.m.items()})
        out.update({f"v/{k}": a for k, a in self.v.items()})
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray | float | int]) -> None:
        """Restore what :meth:`state_dict` returned; shapes must match the current parameters."""
        self.t = int(state["t"])
        saved = {k[len("scale/"):]: float(v) for k, v in state.items() if k.startswith("scale/")}
        if saved:  # state from before scales existed keeps the scales given to __init__
            self.scales = _check_scales(self.params, saved)
        for k in self.params:
            for name, store in (("m", self.m), ("v", self.v)):
                arr = np.asarray(state[f"{name}/{k}"])
                if arr.shape != store[k].shape:
                    raise ValueError(
                        f"optimiser state {name}/{k} has shape {arr.shape}, "
                        f"parameter has {store[k].shape}"
                    )
                store[k][...] = arr



def _check_scales(params: Params, scales: Mapping[str, float] | str | None) -> dict[str, float]:
    """``Adam``'s ``scales`` argument as a dict name -> positive finite float."""
    if scales is None:
        return {}
    if isinstance(scales, str):
        if scales != "rms":
            raise ValueError(f"scales must be 'rms', a dict or None, got {scales!r}")
        return rms_scales(params)
    out = {}
    for key, value in scales.items():
        if key not in params:
            raise ValueError(f"scales names unknown parameter {key!r}; known: {', '.join(params)}")
        value = float(value)
        if not (value > 0 and np.isfinite(value)):
            raise ValueError(f"scale of {key} must be a positive finite number, got {value}")
        out[key] = value
    return out
