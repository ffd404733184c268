"""The recurrent actor and critic networks of the GRSN study (pomdp-baselines' separate design).

Each network, per environment step t::

    e_a = ReLU(W_a a_{t-1} + b_a)      (8)    previous action (one-hot for discrete actions)
    e_r = ReLU(W_r r_{t-1} + b_r)      (8)    previous reward
    e_o = ReLU(W_o o_t + b_o)          (32)   observation
    h_t = encoder([e_a, e_r, e_o])     (128)  memory: GRSN, LIF, GRU, LSTM, or none (MLP)
    e_s = ReLU(W_s o_t + b_s)          (32)   observation shortcut
    out = head_k([h_t, e_s])                  MLP [128, 128] -> head_out, one per head

An actor has one head (logits, or raw continuous outputs that the algorithm squashes); a discrete
SAC critic two (Q1, Q2 over all actions); actor and critic each have their own encoder. A critic
of continuous actions (``current_action_dim`` > 0) embeds the current action a_t with the
observation in its shortcut, e_s = ReLU(W_s [o_t, a_t] + b_s), and its heads output one Q value
each; :meth:`RecurrentNet.action_grad` gives d out / d a_t (what TD3's and SAC's actors follow).
Weights start as PyTorch's defaults (uniform ±1/sqrt(fan-in)) [the authors' embedders and
heads]; the encoder as its own docs say.

:class:`RecurrentNet` computes a whole sequence (training: (T, B) from a zero state, the
authors' convention) or one step (acting: state carried through the policy protocol), and
backpropagates through the sequence. Parameters are one flat dict of live float32 arrays
(``embed.*``, ``encoder.*``, ``head<k>.*``), the shape Adam and the checkpoints take.
:func:`to_network` writes a trained actor as one Brian2-runnable :class:`Network` (embedders and
heads as non-spiking neurons), which is what is deployed, played in Brian2 and costed on chips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurorl import models
from neurorl.ann import nn, shards
from neurorl.memory import keep_freed_memory
from neurorl.network import Network
from neurorl.rl.encoders import make_encoder

__all__ = ["ArchConfig", "RecurrentNet", "actor_state", "actor_step", "network_inputs",
           "to_network"]

DTYPE = np.float32


@dataclass(frozen=True)
class ArchConfig:
    """Sizes of the actor-critic networks (the authors' ``configs/pomdp/*``)."""

    encoder: str = "grsn"
    hidden: int = 128  # encoder width
    action_embedding: int = 8
    reward_embedding: int = 8
    observation_embedding: int = 32
    shortcut_embedding: int = 32
    head_hidden: tuple[int, ...] = (128, 128)


def _uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    bound = 1.0 / np.sqrt(n_in)
    return rng.uniform(-bound, bound, (n_in, n_out)).astype(DTYPE)


class RecurrentNet:
    """Embedders, an encoder and ``heads`` MLP heads of ``head_out`` outputs (see module doc).

    Args:
        obs_dim: observation size; act_dim: the previous action's size (one-hot width for
        discrete actions); arch: sizes and the encoder's name; seed: initial weights;
        current_action_dim: > 0 for a critic of continuous actions, whose shortcut embeds
        [o_t, a_t] (``forward``/``step`` then take ``current_action``); shards: threads that
        compute a batch's sequences side by side in :meth:`forward` and :meth:`backward`
        (:mod:`neurorl.ann.shards`: outputs unchanged, gradients summed block by block).
    """

    def __init__(self, obs_dim: int, act_dim: int, heads: int, head_out: int,
                 arch: ArchConfig = ArchConfig(), seed: int = 0,
                 current_action_dim: int = 0, shards: int = 1) -> None:
        keep_freed_memory()  # sequence batches: large temporaries every update, whatever encoder
        self.obs_dim, self.act_dim, self.heads, self.head_out = obs_dim, act_dim, heads, head_out
        self.current_action_dim = int(current_action_dim)
        self.shards = int(shards)
        self.arch = arch
        rng = np.random.default_rng(seed)
        sizes = {"a": (act_dim, arch.action_embedding), "r": (1, arch.reward_embedding),
                 "o": (obs_dim, arch.observation_embedding),
                 "s": (obs_dim + self.current_action_dim, arch.shortcut_embedding)}
        self.params: dict[str, np.ndarray] = {}
        for key, (n_in, n_out) in sizes.items():
            self.params[f"embed.{key}.W"] = _uniform(rng, n_in, n_out)
            bound = 1.0 / np.sqrt(n_in)
            self.params[f"embed.{key}.b"] = rng.uniform(-bound, bound, n_out).astype(DTYPE)
        n_enc = arch.action_embedding + arch.reward_embedding + arch.observation_embedding
        self.encoder = make_encoder(arch.encoder, n_enc, arch.hidden, seed=seed + 1)
        self.params.update({f"encoder.{k}": v for k, v in self.encoder.params.items()})
        self.head = nn.mlp(arch.hidden + arch.shortcut_embedding, arch.head_hidden, head_out)
        self._heads: list[dict[str, np.ndarray]] = []
        for k in range(heads):
            self._heads.append(self.head.init(rng))
            for name, value in self._heads[k].items():
                self.params[f"head{k}.{name}"] = value

    # -- pieces -------------------------------------------------------------------------------
    def _embed(self, key: str, x: np.ndarray) -> np.ndarray:
        return np.maximum(x @ self.params[f"embed.{key}.W"] + self.params[f"embed.{key}.b"], 0)

    def head_params(self, k: int) -> dict[str, np.ndarray]:
        """The parameters of head ``k`` (keys ``l0.W``, ``l0.b``, ...; live arrays)."""
        return self._heads[k]

    def initial_state(self, batch: int) -> dict[str, np.ndarray]:
        """The encoder's state at the start of an episode, for ``batch`` environments."""
        return self.encoder.initial_state(batch)

    def encoder_inputs(self, prev_action: np.ndarray, prev_reward: np.ndarray,
                       obs: np.ndarray) -> np.ndarray:
        """The encoder's input (T, B, 8 + 8 + 32): the embedded previous action (T, B, act_dim),
        previous reward (T, B) and observation (T, B, obs_dim), side by side."""
        T, B = np.shape(obs)[:2]
        parts = [self._embed("a", np.asarray(prev_action, DTYPE).reshape(T, B, self.act_dim)),
                 self._embed("r", np.asarray(prev_reward, DTYPE).reshape(T, B, 1)),
                 self._embed("o", np.asarray(obs, DTYPE).reshape(T, B, self.obs_dim))]
        return np.concatenate(parts, axis=-1)

    # -- a sequence ---------------------------------------------------------------------------
    def forward(self, prev_action: np.ndarray, prev_reward: np.ndarray, obs: np.ndarray,
                state: dict | None = None, keep_cache: bool = True,
                current_action: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
        """Outputs (T, B, heads, head_out) for inputs (T, B, ·) from ``state`` (default: zero).

        ``prev_action`` (T, B, act_dim), ``prev_reward`` (T, B), ``obs`` (T, B, obs_dim);
        ``current_action`` (T, B, current_action_dim) for a network built with one. The
        sequences run in ``shards`` blocks side by side.
        """
        if (current_action is None) != (self.current_action_dim == 0):
            raise ValueError(f"this network takes a current action of size "
                             f"{self.current_action_dim} (0: none)")
        return shards.forward(self._forward, self.shards,
                              (prev_action, prev_reward, obs, current_action), state,
                              keep_cache=keep_cache)

    def _forward(self, prev_action, prev_reward, obs, current_action, state, keep_cache):
        """:meth:`forward` of one block of sequences."""
        T, B = obs.shape[:2]
        inputs = {"a": np.asarray(prev_action, DTYPE).reshape(T, B, self.act_dim),
                  "r": np.asarray(prev_reward, DTYPE).reshape(T, B, 1),
                  "o": np.asarray(obs, DTYPE).reshape(T, B, self.obs_dim)}
        embedded = {key: self._embed(key, x) for key, x in inputs.items()}
        enc_in = np.concatenate([embedded["a"], embedded["r"], embedded["o"]], axis=-1)
        state = self.initial_state(B) if state is None else state
        h, enc_cache = self.encoder.forward(enc_in, state, keep_cache)
        if self.current_action_dim:
            inputs["s"] = np.concatenate([inputs["o"], np.asarray(current_action, DTYPE).reshape(
                T, B, self.current_action_dim)], axis=-1)
        shortcut = self._embed("s", inputs.get("s", inputs["o"]))
        joint = np.concatenate([h, shortcut], axis=-1).reshape(T * B, -1)
        outs, head_caches = [], []
        for k in range(self.heads):
            y, cache = self.head.forward(self.head_params(k), joint, keep_cache=keep_cache)
            outs.append(y.reshape(T, B, self.head_out))
            head_caches.append(cache)
        out = np.stack(outs, axis=2)
        if not keep_cache:
            inputs = embedded = shortcut = head_caches = None
        return out, (inputs, embedded, shortcut, enc_cache, head_caches)

    def final_state(self, cache: Any) -> dict[str, np.ndarray]:
        """The encoder's state after a forward pass (to carry on acting)."""
        return shards.final_state(lambda c: self.encoder.final_state(c[3]), cache)

    def _heads_backward(self, cache: Any, d_out: np.ndarray, weights: bool = True
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """d h (T, B, hidden), d e_s before its ReLU (T, B, shortcut) and the heads' grads
        (``weights=False``: none, their products skipped)."""
        head_caches, shortcut = cache[4], cache[2]
        T, B = d_out.shape[:2]
        grads: dict[str, np.ndarray] = {}
        d_joint = np.zeros((T * B, self.arch.hidden + self.arch.shortcut_embedding), DTYPE)
        for k in range(self.heads):
            d_y = np.ascontiguousarray(d_out[:, :, k].reshape(T * B, self.head_out), DTYPE)
            dx, g = self.head.backward(self.head_params(k), head_caches[k], d_y, need_dx=True,
                                       weights=weights)
            d_joint += dx
            grads.update({f"head{k}.{name}": v for name, v in g.items()})
        d_joint = d_joint.reshape(T, B, -1)
        d_h, d_s = d_joint[..., : self.arch.hidden], d_joint[..., self.arch.hidden:]
        return np.ascontiguousarray(d_h), d_s * (shortcut > 0), grads

    def _d_current_action(self, d_s: np.ndarray) -> np.ndarray:
        """d a_t (T, B, current_action_dim) from d e_s before its ReLU."""
        W = self.params["embed.s.W"][self.obs_dim:]
        return d_s @ W.T

    def action_grad(self, cache: Any, d_out: np.ndarray) -> np.ndarray:
        """d loss / d ``current_action`` (T, B, current_action_dim) for ``d_out`` (T, B, heads,
        head_out), through the heads and the shortcut only (the encoder does not see a_t), so no
        backpropagation through time: what the actor's update needs from the critic."""
        if not self.current_action_dim:
            raise ValueError("this network takes no current action")
        return shards.rows_apply(
            lambda c, d: self._d_current_action(self._heads_backward(c, d, weights=False)[1]),
            cache, d_out)

    def backward(self, cache: Any, d_out: np.ndarray, want_action_grad: bool = False):
        """Gradients (keyed like ``params``) for d loss / d outputs ``d_out`` (T, B, heads,
        head_out); with ``want_action_grad``, ``(grads, d current_action)``."""
        if want_action_grad and not self.current_action_dim:
            raise ValueError("this network takes no current action")
        return shards.backward(self._backward, cache, d_out, want_action_grad=want_action_grad)

    def _backward(self, cache: Any, d_out: np.ndarray, want_action_grad: bool):
        """:meth:`backward` of one block of sequences."""
        inputs, embedded, shortcut, enc_cache, head_caches = cache
        T, B = d_out.shape[:2]
        d_h, d_s, grads = self._heads_backward(cache, d_out)
        g_enc, d_enc_in = self.encoder.backward(enc_cache, d_h)
        grads.update({f"encoder.{k}": v for k, v in g_enc.items()})
        splits = np.cumsum([self.arch.action_embedding, self.arch.reward_embedding])
        d_emb = dict(zip("aro", np.split(d_enc_in, splits, axis=-1), strict=True))
        for key, d in d_emb.items():
            d = (d * (embedded[key] > 0)).reshape(T * B, -1)
            grads[f"embed.{key}.W"] = inputs[key].reshape(T * B, -1).T @ d
            grads[f"embed.{key}.b"] = d.sum(0)
        x_s = inputs.get("s", inputs["o"]).reshape(T * B, -1)
        grads["embed.s.W"] = x_s.T @ d_s.reshape(T * B, -1)
        grads["embed.s.b"] = d_s.reshape(T * B, -1).sum(0)
        if want_action_grad:
            return grads, self._d_current_action(d_s)
        return grads

    # -- one step -----------------------------------------------------------------------------
    def step(self, prev_action: np.ndarray, prev_reward: np.ndarray, obs: np.ndarray,
             state: dict, current_action: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """Outputs (B, heads, head_out) of one environment step and the encoder's next state."""
        out, cache = self.forward(prev_action[None], prev_reward[None], obs[None], state,
                                  keep_cache=False,
                                  current_action=None if current_action is None
                                  else current_action[None])
        return out[0], self.final_state(cache)


# --------------------------------------------------------------------------------------------
# the same network as Brian2 neurons
# --------------------------------------------------------------------------------------------
def to_network(net: RecurrentNet) -> Network:
    """``net`` (one head) as a :class:`~neurorl.network.Network` with the aligned schedule, the
    embedders and head layers as non-spiking ``relu``/``linear`` neurons (models/relu.toml,
    models/linear.toml), so that the whole policy runs in Brian2 one step per environment step.

    The input layer ``x`` holds [previous action (act_dim), previous reward, observation] of a
    step; the output layer ``out`` holds the head's outputs (``y``). Spiking encoders and the
    ``mlp`` encoder have this form; a GRU or LSTM has no Brian2 neuron model here (an error).
    """
    if net.heads != 1 or net.current_action_dim:
        raise ValueError(f"to_network builds an actor (one head, no current action); this "
                         f"network has {net.heads} heads, current action size "
                         f"{net.current_action_dim}")
    kind = net.arch.encoder
    encoder = net.encoder
    out = Network(dt=1.0, seed=0, schedule="aligned")
    relu, linear = models.load("relu"), models.load("linear")
    A, O = net.act_dim, net.obs_dim
    x = out.input(A + 1 + O, name="x")
    inputs = {"a": slice(0, A), "r": slice(A, A + 1), "o": slice(A + 1, A + 1 + O)}
    # e_a, e_r, e_o side by side in one layer (Brian2 sums one connection per variable), each
    # unit fed by its own part of x only
    sizes = [net.params[f"embed.{k}.b"].size for k in "aro"]
    cols = dict(zip("aro", np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1]), strict=True))
    embed = out.layer(sum(sizes), relu, name="embed",
                      bias=np.concatenate([net.params[f"embed.{k}.b"] for k in "aro"]))
    weights, mask = np.zeros((x.size, embed.size)), np.zeros((x.size, embed.size), bool)
    for key, part in inputs.items():
        weights[part, cols[key][0]:cols[key][-1] + 1] = net.params[f"embed.{key}.W"]
        mask[part, cols[key][0]:cols[key][-1] + 1] = True
    out.connect(x, embed, mask=mask, w=weights)
    shortcut = out.layer(net.params["embed.s.b"].size, relu, name="shortcut",
                         bias=net.params["embed.s.b"])
    mask = np.zeros((x.size, shortcut.size), bool)
    mask[inputs["o"]] = True
    weights = np.zeros(mask.shape)
    weights[inputs["o"]] = net.params["embed.s.W"]
    out.connect(x, shortcut, mask=mask, w=weights)
    if kind == "mlp":
        enc = out.layer(encoder.hidden, relu, name="enc", bias=encoder.params["b"])
        out.connect(embed, enc, w=encoder.params["W"])
    elif hasattr(encoder, "net"):
        if not encoder.carry:
            raise ValueError(f"encoder {kind!r} runs several simulation steps per environment "
                             "step from a fresh state; to_network builds TAP encoders")
        enc = out.layer(encoder.hidden, encoder.layer.model, name="enc")
        for conn in out.connect(embed, enc, name="embed_to_enc"):
            out.params[conn.key][...] = encoder.params["x_to_enc" + conn.name[len("embed_to_enc"):]
                                                       + ".w"]
        for key, value in encoder.params.items():  # neuron parameters and recurrent gates
            if key in out.params:
                out.params[key][...] = value
    else:
        raise ValueError(f"encoder {kind!r} has no Brian2 neuron model in neurorl; to_network "
                         "builds spiking and mlp encoders")
    head = net.head_params(0)
    n_layers = len(net.arch.head_hidden) + 1
    H = net.arch.hidden
    previous = [(enc, slice(0, H), "I_in"), (shortcut, slice(H, None), "I_side")]
    for i in range(n_layers):
        last = i == n_layers - 1
        W, b = head[f"l{i}.W"], head[f"l{i}.b"]
        layer = out.layer(W.shape[1], linear if last else relu, name="out" if last else f"h{i}",
                          bias=b)
        for pre, part, target in previous:
            out.connect(pre, layer, target=target, w=W[part])
        previous = [(layer, slice(None), "I_in")]
    return out


def network_inputs(prev_action: np.ndarray, prev_reward: np.ndarray,
                   obs: np.ndarray) -> np.ndarray:
    """The input ``x`` of :func:`to_network` for one step of N environments, (N, ...) each."""
    n = len(obs)
    return np.concatenate([np.asarray(prev_action, np.float64).reshape(n, -1),
                           np.asarray(prev_reward, np.float64).reshape(n, 1),
                           np.asarray(obs, np.float64).reshape(n, -1)], axis=1)


def actor_state(actor: RecurrentNet, n: int, action_dim: int) -> dict[str, np.ndarray]:
    """The policy state of ``n`` environments at an episode start: the actor's encoder state
    (keys ``enc.*``), a zero previous action (n, action_dim) and a zero previous reward (n,)."""
    return {**{f"enc.{k}": v for k, v in actor.initial_state(n).items()},
            "prev_action": np.zeros((n, action_dim), DTYPE), "prev_reward": np.zeros(n, DTYPE)}


def actor_step(actor: RecurrentNet, obs: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
    """One environment step of ``actor`` on observations (N, ...) from a state of
    :func:`actor_state`: its outputs (N, head_out) and the state with the next encoder state."""
    enc = {k[4:]: v for k, v in state.items() if k.startswith("enc.")}
    out, enc = actor.step(state["prev_action"], state["prev_reward"],
                          np.asarray(obs, DTYPE).reshape(len(obs), -1), enc)
    return out[:, 0], {**state, **{f"enc.{k}": v for k, v in enc.items()}}
