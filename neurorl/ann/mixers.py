"""Value-decomposition mixers for cooperative multi-agent Q-learning: IQL, VDN and QMIX.

A mixer turns the chosen actions' values of the N agents, ``q`` (M, N), and the global state
``s`` (M, S) into the team's value Q_tot (M,), M = any number of (time, episode) rows:

* ``iql``: no mixing; every agent learns its own Q against the team reward (Q_tot is not
  formed; :func:`mix` returns ``q`` itself, shape (M, N));
* ``vdn`` (Sunehag et al. 2018): Q_tot = Σ_i q_i;
* ``qmix`` (Rashid et al. 2018), EPyMARL's ``QMixer`` with ``hypernet_layers: 2``::

      W1 = |hyper_w1(s)|          (N × E)    hyper_w1: Linear(S, H) - ReLU - Linear(H, N·E)
      b1 = hyper_b1(s)            (E)        hyper_b1: Linear(S, E)
      h  = ELU(q W1 + b1)         (E)
      W2 = |hyper_w2(s)|          (E)        hyper_w2: Linear(S, H) - ReLU - Linear(H, E)
      V  = v(s)                   (1)        v: Linear(S, E) - ReLU - Linear(E, 1)
      Q_tot = h · W2 + V

  with E = ``embed`` (32) and H = ``hypernet`` (64); the absolute values make Q_tot monotone in
  every q_i, so each agent's greedy action is the team's.

Parameters are a flat dict of arrays (``w1.l0.W``, ``w1.l0.b``, ``w1.l1.W``, ...); weights are
``x @ W`` (n_in, n_out) and start as PyTorch's ``Linear`` default (uniform ±1/√n_in). Arithmetic
in the parameters' dtype (float32 by default; float64 for gradient checks). ``forward`` returns
``(Q_tot, cache)``, ``backward(params, cache, dQ_tot)`` the parameter gradients and dq (M, N).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MIXERS", "QMixer", "VDN", "make_mixer"]

Params = dict[str, np.ndarray]
MIXERS = ("iql", "vdn", "qmix")


def _linear_init(rng: np.random.Generator, n_in: int, n_out: int, dtype: Any) -> Params:
    bound = 1.0 / np.sqrt(n_in)
    return {"W": rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype),
            "b": rng.uniform(-bound, bound, n_out).astype(dtype)}


def _mlp_forward(params: Params, prefix: str, x: np.ndarray, layers: int
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Linear layers with ReLU between them; returns the output and each layer's input."""
    inputs = []
    for i in range(layers):
        inputs.append(x)
        x = x @ params[f"{prefix}.l{i}.W"] + params[f"{prefix}.l{i}.b"]
        if i < layers - 1:
            x = np.maximum(x, 0)
    return x, inputs


def _mlp_backward(params: Params, prefix: str, inputs: list[np.ndarray], d: np.ndarray,
                  grads: Params) -> None:
    """Gradients of the layers of :func:`_mlp_forward` for d(output) ``d``, into ``grads``."""
    for i in range(len(inputs) - 1, -1, -1):
        grads[f"{prefix}.l{i}.W"] = inputs[i].T @ d
        grads[f"{prefix}.l{i}.b"] = d.sum(0)
        if i > 0:
            d = (d @ params[f"{prefix}.l{i}.W"].T) * (inputs[i] > 0)


@dataclass(frozen=True)
class VDN:
    """Q_tot = Σ_i q_i; no parameters."""

    n_agents: int

    def init(self, rng: np.random.Generator, dtype: Any = np.float32) -> Params:
        """No parameters: an empty dict."""
        return {}

    def forward(self, params: Params, q: np.ndarray, state: np.ndarray | None = None
                ) -> tuple[np.ndarray, Any]:
        """Q_tot (M,) for q (M, N); the state is not used."""
        return np.asarray(q).sum(-1), np.shape(q)

    def backward(self, params: Params, cache: Any, d_total: np.ndarray
                 ) -> tuple[Params, np.ndarray]:
        """No gradients; dq = dQ_tot broadcast to every agent (M, N)."""
        return {}, np.broadcast_to(np.asarray(d_total)[:, None], cache).copy()


@dataclass(frozen=True)
class QMixer:
    """The QMIX hypernetwork mixer (see the module doc) for ``n_agents`` agents and a global
    state of ``state_dim`` values; ``embed`` E = 32 and ``hypernet`` H = 64 (EPyMARL's)."""

    n_agents: int
    state_dim: int
    embed: int = 32
    hypernet: int = 64

    def init(self, rng: np.random.Generator, dtype: Any = np.float32) -> Params:
        """Fresh parameters (PyTorch's Linear default) in ``dtype``."""
        S, N, E, H = self.state_dim, self.n_agents, self.embed, self.hypernet
        shapes = {"w1": [(S, H), (H, N * E)], "b1": [(S, E)], "w2": [(S, H), (H, E)],
                  "v": [(S, E), (E, 1)]}
        params: Params = {}
        for net, layers in shapes.items():
            for i, (n_in, n_out) in enumerate(layers):
                for k, v in _linear_init(rng, n_in, n_out, dtype).items():
                    params[f"{net}.l{i}.{k}"] = v
        return params

    def forward(self, params: Params, q: np.ndarray, state: np.ndarray
                ) -> tuple[np.ndarray, Any]:
        """Q_tot (M,) for the agents' values ``q`` (M, N) and the state ``state`` (M, S)."""
        dtype = params["v.l0.W"].dtype
        q = np.asarray(q, dtype)
        s = np.asarray(state, dtype)
        M, N, E = len(q), self.n_agents, self.embed
        if q.shape != (M, N) or s.shape != (M, self.state_dim):
            raise ValueError(f"q must be (M, {N}) and state (M, {self.state_dim}); got "
                             f"{q.shape} and {s.shape}")
        a1, in_w1 = _mlp_forward(params, "w1", s, 2)
        b1, in_b1 = _mlp_forward(params, "b1", s, 1)
        a2, in_w2 = _mlp_forward(params, "w2", s, 2)
        v, in_v = _mlp_forward(params, "v", s, 2)
        w1 = np.abs(a1).reshape(M, N, E)
        z = np.einsum("mn,mne->me", q, w1) + b1
        h = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))  # ELU (alpha 1)
        w2 = np.abs(a2)
        total = np.einsum("me,me->m", h, w2) + v[:, 0]
        cache = (q, a1, a2, w1, w2, z, h, in_w1, in_b1, in_w2, in_v)
        return total, cache

    def backward(self, params: Params, cache: Any, d_total: np.ndarray
                 ) -> tuple[Params, np.ndarray]:
        """Parameter gradients and dq (M, N) for dL/dQ_tot ``d_total`` (M,)."""
        q, a1, a2, w1, w2, z, h, in_w1, in_b1, in_w2, in_v = cache
        M, N, E = len(q), self.n_agents, self.embed
        d = np.asarray(d_total, q.dtype)[:, None]
        grads: Params = {}
        d_w2 = d * h
        d_h = d * w2
        d_z = d_h * np.where(z > 0, 1.0, h + 1.0)  # ELU' = exp(z) = h + 1 below 0
        d_q = np.einsum("me,mne->mn", d_z, w1)
        d_w1 = q[:, :, None] * d_z[:, None, :]
        _mlp_backward(params, "w1", in_w1, (d_w1 * np.sign(a1.reshape(M, N, E))).reshape(M, -1),
                      grads)
        _mlp_backward(params, "b1", in_b1, d_z, grads)
        _mlp_backward(params, "w2", in_w2, d_w2 * np.sign(a2), grads)
        _mlp_backward(params, "v", in_v, d, grads)
        return grads, d_q


def make_mixer(name: str, n_agents: int, state_dim: int, embed: int = 32, hypernet: int = 64):
    """The mixer ``name`` (``vdn`` or ``qmix``; ``iql`` has none: None)."""
    if name not in MIXERS:
        raise ValueError(f"unknown mixer {name!r}; choose one of {', '.join(MIXERS)}")
    if name == "iql":
        return None
    if name == "vdn":
        return VDN(n_agents)
    return QMixer(n_agents, state_dim, embed, hypernet)
