"""Recurrent SAC for continuous actions (Haarnoja et al., 2018) in the GRSN authors' form
(``grsn/algorithms/sac.py`` and ``grsn/policies/actor.py`` over pomdp-baselines' separate
actor-critic).

Method, read :func:`train` top to bottom (the networks, data, acting and checkpoints are
recurrent TD3's, :mod:`neurorl.algos.td3`, whose training loop this module runs):

* Actor: a tanh-Gaussian. Its head outputs the mean μ_t and log σ_t of a Gaussian (log σ clipped
  to [−20, 2], the authors' ``LOG_SIG_MIN``/``LOG_SIG_MAX``); an action is a_t = tanh(μ_t + σ_t
  ε_t), ε_t ~ N(0, I) drawn from the training generator (reparameterised), with log π(a_t|h_t) =
  Σ_i [log N(z_i; μ_i, σ_i) − log(1 − a_i² + 10⁻⁶)] (the tanh correction, the authors'
  ``TanhNormal`` with its ε = 10⁻⁶). The heads' last layer starts uniform in ±1e-3.
* Critic (clipped double Q, soft): a'_{t+1} ~ π(·|h_{t+1}) from the current actor,
  y_t = r_t + γ(1 − d_t) [min(Q1', Q2')(h_{t+1}, a'_{t+1}) − α log π(a'_{t+1}|h_{t+1})];
  loss Σ_k Σ_t m_t (Q_k(h_t, a_t) − y_t)² / Σ m, Adam (lr 3e-4). Target critic by Polyak
  averaging (τ = 0.005); SAC has no target actor.
* Actor loss: Σ_t m_t [α log π(a_t|h_t) − min(Q1, Q2)(h_t, a_t)] / Σ m with a fresh sample a_t
  and the updated critic; its gradient on (μ, log σ) goes through d Q / d a of the critic
  (:meth:`~neurorl.rl.recurrent_ac.RecurrentNet.action_grad`), the tanh and the sample.
* Entropy: automatic tuning of log α by Adam (lr 3e-4) on −α (log π + H_target), log π the
  masked mean of the actor loss's sample, H_target = −d (``target_entropy=None``; the authors'
  Pendulum yaml passes 0.7, which their SAC would take literally as +0.7). α starts at
  ``init_alpha`` = 1 (the authors' log α = 0; their yaml's ``entropy_alpha`` 0.2 only applies
  without automatic tuning).
* Acting: :class:`SACPolicy`, a sample of π during training, tanh(μ) in evaluation.

Hyperparameters are the authors' ``configs/pomdp/pendulum/*/rnn.yml`` (see
:mod:`neurorl.algos.td3`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurorl.algos.td3 import (
    ACTOR_FILE,
    EVALS_FILE,
    STATE_FILE,
    ContinuousConfig,
    ContinuousPolicy,
    TrainResult,
    build_nets,
    critic_loss,
    load_actor_net,
    min_q_grad,
    run,
    save_actor,
    sequences,
)
from neurorl.ann.optim import Adam
from neurorl.rl.agent_state import polyak
from neurorl.rl.recurrent_ac import RecurrentNet

__all__ = ["ACTOR_FILE", "EVALS_FILE", "KIND", "STATE_FILE", "SACAgent", "SACConfig",
           "SACPolicy", "load_actor", "save_actor", "train"]

KIND = "neurorl.sac.actor"  # checkpoint kind of a trained actor
STATE_KIND = "neurorl.sac.state"
DTYPE = np.float32
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # the authors' LOG_SIG_MIN, LOG_SIG_MAX
TANH_EPS = 1e-6  # the authors' TanhNormal epsilon in log(1 − tanh² + ε)


@dataclass
class SACConfig(ContinuousConfig):
    """Hyperparameters of one SAC run (the authors' ``sac`` section)."""

    alpha_lr: float = 3e-4
    init_alpha: float = 1.0  # the authors start at log α = 0
    target_entropy: float | None = None  # None: −(action size)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.init_alpha > 0:
            raise ValueError("init_alpha must be > 0")


# --------------------------------------------------------------------------------------------
# the losses (pure functions of arrays)
# --------------------------------------------------------------------------------------------
def tanh_gaussian(raw: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Reparameterised sample of the tanh-Gaussian of raw outputs ``raw`` (..., 2d) = [μ,
    log σ] with standard normal ``noise`` (..., d): actions (..., d), log π (...) and the cache
    of :func:`tanh_gaussian_backward`. Computed in float64."""
    raw = np.asarray(raw, np.float64)
    d = raw.shape[-1] // 2
    mean, log_std_raw = raw[..., :d], raw[..., d:]
    log_std = np.clip(log_std_raw, LOG_STD_MIN, LOG_STD_MAX)
    std = np.exp(log_std)
    a = np.tanh(mean + std * noise)
    log_prob = (-0.5 * noise ** 2 - log_std - 0.5 * np.log(2 * np.pi)
                - np.log(1.0 - a * a + TANH_EPS)).sum(-1)
    inside = (log_std_raw >= LOG_STD_MIN) & (log_std_raw <= LOG_STD_MAX)
    return a, log_prob, (a, std, noise, inside)


def tanh_gaussian_backward(cache: tuple, d_action: np.ndarray, d_log_prob: np.ndarray
                           ) -> np.ndarray:
    """The gradient on ``raw`` (..., 2d) from those on the actions (..., d) and on log π (...)
    (``noise`` fixed; none on log σ where it is clipped)."""
    a, std, noise, inside = cache
    one_minus = 1.0 - a * a
    d_lp = np.asarray(d_log_prob, np.float64)[..., None]
    d_z = d_action * one_minus + d_lp * 2.0 * a * one_minus / (one_minus + TANH_EPS)
    d_log_std = (d_z * std * noise - d_lp) * inside
    return np.concatenate([d_z, d_log_std], axis=-1)


def critic_targets(q_next_target: np.ndarray, log_prob_next: np.ndarray, reward: np.ndarray,
                   done: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    """y (T, B) = r + γ(1 − d) [min_k Q'_k − α log π] at the next steps; ``q_next_target``
    (T, B, 2), ``log_prob_next`` (T, B)."""
    return reward + gamma * (1.0 - done) * (q_next_target.min(axis=2) - alpha * log_prob_next)


def actor_loss(q: np.ndarray, log_prob: np.ndarray, mask: np.ndarray, alpha: float
               ) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Σ m (α log π − min_k Q_k) / Σ m, its gradients on ``q`` (T, B, 2) and ``log_prob``
    (T, B), and the masked mean log π."""
    n = max(float(mask.sum()), 1.0)
    loss = float(((alpha * log_prob - q.min(axis=2)) * mask).sum() / n)
    return loss, min_q_grad(q, -mask / n), alpha * mask / n, float((log_prob * mask).sum() / n)


def policy_loss(critic: RecurrentNet, inputs: tuple, raw: np.ndarray, noise: np.ndarray,
                mask: np.ndarray, alpha: float) -> tuple[float, np.ndarray, float]:
    """The actor's loss at raw outputs ``raw`` (T, B, 2d) with the sample's ``noise`` (T, B, d),
    its gradient on ``raw`` (through d Q / d a of ``critic`` run on ``inputs``, the tanh and the
    sample) and the masked mean log π."""
    a, log_prob, cache = tanh_gaussian(raw, noise)
    q, q_cache = critic.forward(*inputs, current_action=a.astype(DTYPE))
    loss, d_q, d_log_prob, mean_log_prob = actor_loss(q[..., 0], log_prob, mask, alpha)
    d_a = critic.action_grad(q_cache, d_q[..., None])
    return loss, tanh_gaussian_backward(cache, d_a, d_log_prob).astype(DTYPE), mean_log_prob


# --------------------------------------------------------------------------------------------
# the agent
# --------------------------------------------------------------------------------------------
class SACAgent:
    """Actor, critic, target critic, optimisers and α; :meth:`update` is one SAC step."""

    NAME, KIND, STATE_KIND = "SAC", KIND, STATE_KIND

    def __init__(self, obs_dim: int, act_dim: int, cfg: SACConfig) -> None:
        self.cfg, self.obs_dim, self.act_dim = cfg, obs_dim, act_dim
        self.actor, self.critic, self.target_critic = build_nets(obs_dim, act_dim, 2 * act_dim,
                                                                 cfg)
        self.actor_opt = Adam(self.actor.params, lr=cfg.lr)
        self.critic_opt = Adam(self.critic.params, lr=cfg.lr)
        self.log_alpha = np.full(1, np.log(cfg.init_alpha), DTYPE)
        self.alpha_opt = Adam({"log_alpha": self.log_alpha}, lr=cfg.alpha_lr)
        self.target_entropy = (-float(act_dim) if cfg.target_entropy is None
                               else float(cfg.target_entropy))
        self.updates = 0

    @property
    def alpha(self) -> float:
        """The entropy temperature α = exp(log α)."""
        return float(np.exp(self.log_alpha[0]))

    def networks(self) -> dict[str, dict[str, np.ndarray]]:
        """Every trained array, by name (the resume state)."""
        return {"actor": self.actor.params, "critic": self.critic.params,
                "target": self.target_critic.params, "alpha": {"log_alpha": self.log_alpha}}

    def optimisers(self) -> dict[str, Adam]:
        """Every optimiser, by name (the resume state)."""
        return {"actor_opt": self.actor_opt, "critic_opt": self.critic_opt,
                "alpha_opt": self.alpha_opt}

    def policy(self, low, high, rng: np.random.Generator | None = None) -> SACPolicy:
        """The actor acting on the Box [low, high]: sampling with ``rng``, or tanh(μ)
        (``rng=None``)."""
        return SACPolicy(self.actor, low, high, sample=rng is not None, rng=rng)

    def update(self, batch: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, float]:
        """One update on sampled sequences (SequenceReplay.sample): critic, actor, target, α;
        the samples' noise is drawn from ``rng``."""
        cfg = self.cfg
        inputs = sequences(batch)
        now = tuple(x[:-1] for x in inputs)  # the L steps whose actions were taken
        mask, action = batch["mask"], batch["action"].astype(DTYPE)
        alpha = self.alpha
        # -- critic: targets from actions sampled by the actor at the next steps
        raw, actor_cache = self.actor.forward(*inputs)
        raw = raw[:, :, 0]
        a_next, log_prob_next, _ = tanh_gaussian(raw, rng.standard_normal((*raw.shape[:2],
                                                                           self.act_dim)))
        q_next, _ = self.target_critic.forward(*inputs, keep_cache=False,
                                               current_action=a_next.astype(DTYPE))
        y = critic_targets(q_next[1:, :, :, 0], log_prob_next[1:], batch["reward"],
                           batch["terminated"], cfg.gamma, alpha)
        q, cache = self.critic.forward(*now, current_action=action)
        loss_q, d_q = critic_loss(q[..., 0], y, mask)
        self.critic_opt.step(self.critic.backward(cache, d_q[..., None]))
        # -- actor: a fresh sample against the updated critic
        noise = rng.standard_normal((*now[2].shape[:2], self.act_dim))
        loss_pi, d_raw, log_prob = policy_loss(self.critic, now, raw[:-1], noise, mask, alpha)
        d_out = np.zeros((*raw.shape[:2], 1, raw.shape[-1]), DTYPE)
        d_out[:-1, :, 0] = d_raw
        self.actor_opt.step(self.actor.backward(actor_cache, d_out))
        # -- target critic (Polyak) and α
        polyak(self.target_critic.params, self.critic.params, cfg.tau)
        self.alpha_opt.step({"log_alpha": -alpha * (log_prob + self.target_entropy)
                             * np.ones(1, DTYPE)})
        self.updates += 1
        return {"critic_loss": loss_q, "actor_loss": loss_pi, "entropy": -log_prob,
                "alpha": alpha}


class SACPolicy(ContinuousPolicy):
    """SAC's actor: tanh(μ), or (``sample``) tanh(μ + σ ε) with ε from ``rng``."""

    def __init__(self, actor: RecurrentNet, low, high, sample: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(actor, low, high)
        self.sample, self.rng = sample, rng

    def unit_action(self, raw: np.ndarray) -> np.ndarray:
        if not self.sample:
            return np.tanh(raw[:, : self.action_dim].astype(np.float64))
        return tanh_gaussian(raw, self.rng.standard_normal((len(raw), self.action_dim)))[0]


# --------------------------------------------------------------------------------------------
# training and the actor's checkpoint
# --------------------------------------------------------------------------------------------
def train(cfg: SACConfig, out_dir: str | Path | None = None, progress: bool = True,
          resume: bool = False, stop_after: int | None = None) -> TrainResult:
    """Train a recurrent SAC agent with ``cfg``; see the module doc for the method, and
    :func:`neurorl.algos.td3.train` for ``out_dir``, ``resume`` and ``stop_after``."""
    return run(cfg, SACAgent, out_dir, progress, resume, stop_after)


def load_actor(path: str | Path) -> tuple[SACPolicy, dict]:
    """A deterministic (tanh(μ)) :class:`SACPolicy` from an ``actor.npz``; ``(policy, meta)``."""
    actor, meta = load_actor_net(path, KIND)
    return SACPolicy(actor, meta["low"], meta["high"]), meta
