"""Dueling Q-network (Wang et al., ICML 2016) with separate value and advantage streams.

Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a'), where V and A are two :class:`nn.Sequential`
networks reading the same input (no shared torso [ours]: each stream's hidden units then carry
one quantity, which is what lets ANN→SNN conversion normalise the advantage stream on its own
scale, see :mod:`neurorl.algos.convert`). The greedy action is argmax_a A(s, a): equal to argmax_a Q
and computed without adding V, whose size (≈ 1/(1-γ)) would round away small action gaps in
float32.

The class has :class:`nn.Sequential`'s interface (``__call__``, ``forward``, ``backward``,
``param_shapes``, ``init``, ``to_dict``), so :mod:`neurorl.algos.dqn` trains it unchanged.
Parameters
are one dict keyed ``"value.l<i>.W"``, ``"advantage.l<i>.b"``, ….
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neurorl.ann import nn
from neurorl.ann.nn import Params

__all__ = ["STREAMS", "Dueling", "dueling_mlp"]

STREAMS = ("value", "advantage")


class Dueling:
    """Value stream (→ 1 output) and advantage stream (→ A outputs) combined into Q (N, A)."""

    def __init__(self, value: nn.Sequential, advantage: nn.Sequential) -> None:
        if value.in_shape != advantage.in_shape:
            raise ValueError(
                f"dueling streams read different inputs: {value.in_shape} vs {advantage.in_shape}"
            )
        if value.out_size != 1:
            raise ValueError(f"the value stream must have one output, got {value.out_size}")
        self.value, self.advantage = value, advantage

    # ---- structure -----------------------------------------------------------------------
    @property
    def streams(self) -> dict[str, nn.Sequential]:
        """``{"value": V network, "advantage": A network}``."""
        return {"value": self.value, "advantage": self.advantage}

    @property
    def layers(self) -> tuple[nn.LayerSpec, ...]:
        """Every layer spec, value stream first (for operation counts: they do not chain)."""
        return self.value.layers + self.advantage.layers

    @property
    def in_shape(self) -> tuple[int, ...]:
        """Input shape without the batch axis."""
        return self.value.in_shape

    @property
    def out_size(self) -> int:
        """Number of actions."""
        return self.advantage.out_size

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Both streams' shapes, keys prefixed ``"value."`` / ``"advantage."``."""
        return {
            f"{name}.{k}": shape
            for name, net in self.streams.items()
            for k, shape in net.param_shapes().items()
        }

    @staticmethod
    def stream_params(params: Params, name: str) -> Params:
        """The parameters (views, not copies) of stream ``name`` keyed as its Sequential's."""
        prefix = f"{name}."
        return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}

    def init(self, rng: np.random.Generator, scheme: str = "torch") -> Params:
        """Fresh float32 parameters of both streams (value first)."""
        return {
            f"{name}.{k}": v
            for name, net in self.streams.items()
            for k, v in net.init(rng, scheme).items()
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready architecture: ``{"dueling": {"value": ..., "advantage": ...}}``."""
        return {"dueling": {name: net.to_dict() for name, net in self.streams.items()}}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Dueling:
        """Inverse of :meth:`to_dict`."""
        streams = d["dueling"]
        return Dueling(*(nn.Sequential.from_dict(streams[name]) for name in STREAMS))

    # ---- computation ---------------------------------------------------------------------
    @staticmethod
    def combine(v: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Q (N, A) from V (N, 1) and A (N, A)."""
        return v + (a - a.mean(axis=1, keepdims=True))

    def advantages(self, params: Params, x: np.ndarray) -> np.ndarray:
        """A(s, ·) (N, A) float32: the advantage stream alone (its argmax is the greedy action)."""
        return self.advantage(self.stream_params(params, "advantage"), x)

    def __call__(self, params: Params, x: np.ndarray) -> np.ndarray:
        """Q-values (N, A) float32, no cache."""
        return self.combine(
            self.value(self.stream_params(params, "value"), x), self.advantages(params, x)
        )

    def forward(
        self, params: Params, x: np.ndarray, keep_cache: bool = True, preactivations: bool = False
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Q (N, A) and a cache for :meth:`backward` (``cache["pre"]``: the advantage stream's
        pre-activations, the layers a conversion normalises)."""
        v, cache_v = self.value.forward(self.stream_params(params, "value"), x, keep_cache)
        a, cache_a = self.advantage.forward(
            self.stream_params(params, "advantage"), x, keep_cache, preactivations
        )
        cache = {"value": cache_v, "advantage": cache_a}
        if preactivations:
            cache["pre"] = cache_a["pre"]
        return self.combine(v, a), cache

    def backward(
        self,
        params: Params,
        cache: dict[str, Any],
        dy: np.ndarray,
        need_dx: bool = False,
        out: Params | None = None,
    ) -> tuple[np.ndarray | None, Params]:
        """Backpropagate dL/dQ (N, A): dL/dV = Σ_a dL/dQ, dL/dA = dL/dQ − mean_a dL/dQ.

        Returns ``(dx or None, grads)`` like :meth:`nn.Sequential.backward`.
        """
        dy = np.asarray(dy, dtype=nn.DTYPE)
        d_streams = {
            "value": dy.sum(axis=1, keepdims=True),
            "advantage": dy - dy.mean(axis=1, keepdims=True),
        }
        grads: Params = {} if out is None else out
        dx = None
        for name, net in self.streams.items():
            sub_out = None if out is None else self.stream_params(out, name)
            d, g = net.backward(
                self.stream_params(params, name), cache[name], d_streams[name], need_dx, sub_out
            )
            if out is None:
                grads.update({f"{name}.{k}": v for k, v in g.items()})
            if need_dx:
                dx = d if dx is None else dx + d
        return dx, grads


def dueling_mlp(n_in: int, hidden: Sequence[int], n_actions: int) -> Dueling:
    """Two MLPs ``n_in → hidden… → 1`` (value) and ``n_in → hidden… → n_actions`` (advantage)."""
    return Dueling(nn.mlp(n_in, hidden, 1), nn.mlp(n_in, hidden, n_actions))
