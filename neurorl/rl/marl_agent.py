"""The agent network of cooperative multi-agent Q-learning, one network shared by all agents.

Per agent i and environment step t (EPyMARL's ``RNNAgent`` with ``obs_agent_id`` and
``obs_last_action``)::

    x   = [o_t^i, onehot(i) (N), onehot(a_{t-1}^i) (A)]
    e   = ReLU(W_e x + b_e)               (64)
    h_t = encoder(e)                      (64)   grsn, grsn_input_gated, lif (TAP), gru, lstm, mlp
    Q^i = W_q h_t + b_q                   (A)

The encoder is one of :mod:`neurorl.rl.encoders` by name; a spiking encoder is a kernel-run
:class:`~neurorl.network.Network` whose neuron state is the memory, carried from step to step
for every agent of every environment (rows = environments × agents). Training runs whole
episodes from the zero state, as EPyMARL's learner does. Parameters are one flat dict of live
float32 arrays (``embed.*``, ``encoder.*``, ``q.*``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurorl import models
from neurorl.ann import shards
from neurorl.network import Network
from neurorl.rl.encoders import make_encoder

__all__ = ["AgentNet", "agent_inputs", "to_network"]

DTYPE = np.float32


def agent_inputs(obs: np.ndarray, last_action: np.ndarray, n_actions: int) -> np.ndarray:
    """Rows [observation, one-hot agent id, one-hot last action] for ``obs`` (..., N, obs_dim)
    and ``last_action`` (..., N) integers (-1: none, the first step); (..., N, in_dim)."""
    obs = np.asarray(obs, DTYPE)
    n_agents = obs.shape[-2]
    ids = np.broadcast_to(np.eye(n_agents, dtype=DTYPE), (*obs.shape[:-2], n_agents, n_agents))
    last = np.asarray(last_action)
    onehot = (last[..., None] == np.arange(n_actions)).astype(DTYPE)
    return np.concatenate([obs, ids, onehot], axis=-1)


class AgentNet:
    """The shared agent network (see the module doc) for ``obs_dim`` observations, ``n_agents``
    agents and ``n_actions`` actions; ``encoder`` by name, ``embed`` and ``hidden`` sizes."""

    def __init__(self, obs_dim: int, n_agents: int, n_actions: int, encoder: str = "gru",
                 embed: int = 64, hidden: int = 64, seed: int = 0, shards: int = 1) -> None:
        self.obs_dim, self.n_agents, self.n_actions = int(obs_dim), int(n_agents), int(n_actions)
        self.shards = int(shards)  # threads computing a batch's rows side by side (ann.shards)
        self.encoder_name, self.embed, self.hidden = encoder, int(embed), int(hidden)
        self.in_dim = self.obs_dim + self.n_agents + self.n_actions
        rng = np.random.default_rng(seed)
        self.encoder = make_encoder(encoder, self.embed, self.hidden, seed=seed + 1)
        self.params: dict[str, np.ndarray] = {}
        for name, (n_in, n_out) in {"embed": (self.in_dim, self.embed),
                                    "q": (self.hidden, self.n_actions)}.items():
            bound = 1.0 / np.sqrt(n_in)
            self.params[f"{name}.W"] = rng.uniform(-bound, bound, (n_in, n_out)).astype(DTYPE)
            self.params[f"{name}.b"] = rng.uniform(-bound, bound, n_out).astype(DTYPE)
        self.params.update({f"encoder.{k}": v for k, v in self.encoder.params.items()})

    def spec(self) -> dict[str, Any]:
        """The constructor's arguments (what a checkpoint stores to rebuild the network)."""
        return {"obs_dim": self.obs_dim, "n_agents": self.n_agents, "n_actions": self.n_actions,
                "encoder": self.encoder_name, "embed": self.embed, "hidden": self.hidden}

    def initial_state(self, rows: int) -> dict[str, np.ndarray]:
        """The encoder's zero state for ``rows`` = environments × agents."""
        return self.encoder.initial_state(rows)

    def forward(self, x: np.ndarray, state: dict | None = None, keep_cache: bool = True
                ) -> tuple[np.ndarray, Any]:
        """Q values (T, R, n_actions) for inputs ``x`` (T, R, in_dim), R rows (environments ×
        agents), from ``state`` (default: zero); the rows run in ``shards`` blocks side by side."""
        return shards.forward(self._forward, self.shards, (np.asarray(x, DTYPE),), state,
                              keep_cache=keep_cache)

    def _forward(self, x: np.ndarray, state: dict | None, keep_cache: bool):
        """:meth:`forward` of one block of rows."""
        T, R = x.shape[:2]
        e = np.maximum(x.reshape(T * R, -1) @ self.params["embed.W"] + self.params["embed.b"],
                       0).reshape(T, R, self.embed)
        state = self.initial_state(R) if state is None else state
        h, enc_cache = self.encoder.forward(e, state, keep_cache)
        q = h.reshape(T * R, -1) @ self.params["q.W"] + self.params["q.b"]
        cache = (x, e, h, enc_cache) if keep_cache else (None, None, None, enc_cache)
        return q.reshape(T, R, self.n_actions), cache

    def final_state(self, cache: Any) -> dict[str, np.ndarray]:
        """The encoder state after a forward pass (to carry on acting)."""
        return shards.final_state(lambda c: self.encoder.final_state(c[3]), cache)

    def backward(self, cache: Any, d_q: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients (keyed like ``params``) for dL/dQ ``d_q`` (T, R, n_actions)."""
        return shards.backward(self._backward, cache, d_q)

    def _backward(self, cache: Any, d_q: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`backward` of one block of rows."""
        x, e, h, enc_cache = cache
        T, R = d_q.shape[:2]
        dq = np.ascontiguousarray(d_q, DTYPE).reshape(T * R, -1)
        grads = {"q.W": h.reshape(T * R, -1).T @ dq, "q.b": dq.sum(0)}
        d_h = (dq @ self.params["q.W"].T).reshape(T, R, self.hidden)
        g_enc, d_e = self.encoder.backward(enc_cache, np.ascontiguousarray(d_h))
        grads.update({f"encoder.{k}": v for k, v in g_enc.items()})
        d_e = (d_e * (e > 0)).reshape(T * R, -1)
        grads["embed.W"] = x.reshape(T * R, -1).T @ d_e
        grads["embed.b"] = d_e.sum(0)
        return grads

    def step(self, x: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
        """Q values (R, n_actions) of one environment step and the next encoder state."""
        q, cache = self.forward(np.asarray(x)[None], state, keep_cache=False)
        return q[0], self.final_state(cache)


def to_network(agent: AgentNet) -> Network:
    """``agent`` as a :class:`~neurorl.network.Network` with the aligned schedule: input ``x``
    (in_dim: observation, one-hot id, one-hot last action) → ``embed`` (ReLU neurons) → ``enc``
    (the encoder's neuron model, its weights and parameters) → ``out`` (linear neurons, the Q
    values in ``y``), so that the deployed agent runs in Brian2, one copy per agent. Spiking
    TAP encoders and ``mlp``; a GRU or LSTM has no Brian2 neuron model here (an error)."""
    kind, encoder = agent.encoder_name, agent.encoder
    net = Network(dt=1.0, seed=0, schedule="aligned")
    relu, linear = models.load("relu"), models.load("linear")
    x = net.input(agent.in_dim, name="x")
    embed = net.layer(agent.embed, relu, name="embed", bias=agent.params["embed.b"])
    net.connect(x, embed, w=agent.params["embed.W"])
    if kind == "mlp":
        enc = net.layer(agent.hidden, relu, name="enc", bias=encoder.params["b"])
        net.connect(embed, enc, w=encoder.params["W"])
    elif hasattr(encoder, "net") and encoder.carry:
        enc = net.layer(agent.hidden, encoder.layer.model, name="enc")
        for conn in net.connect(embed, enc, name="embed_to_enc"):
            net.params[conn.key][...] = encoder.params[
                "x_to_enc" + conn.name[len("embed_to_enc"):] + ".w"]
        for key, value in encoder.params.items():  # neuron parameters and recurrent gates
            if key in net.params:
                net.params[key][...] = value
    else:
        raise ValueError(f"encoder {kind!r} has no Brian2 form here (spiking TAP encoders and "
                         "mlp have one)")
    q = net.layer(agent.n_actions, linear, name="out", bias=agent.params["q.b"])
    net.connect(enc, q, w=agent.params["q.W"])
    return net
