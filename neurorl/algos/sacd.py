"""Recurrent SAC-discrete with the temporal alignment paradigm (Qin et al., AAAI 2025; the
authors' ``grsn/algorithms/sacd.py`` over pomdp-baselines' separate actor-critic).

Method, read :func:`train` top to bottom:

* Networks (:mod:`neurorl.rl.recurrent_ac`): an actor (logits over the A actions) and a critic
  (Q1 and Q2 over the A actions), each with its own encoder (GRSN, LIF, GRU, LSTM, MLP, ... by
  name, :mod:`neurorl.rl.encoders`) fed the embedded previous action, previous reward and
  observation of every environment step. A spiking encoder runs one simulation step per
  environment step (TAP): its neuron state is the memory. A target critic follows the critic by
  Polyak averaging (τ = 0.005).
* Data: whole episodes in a :class:`~neurorl.rl.sequence_replay.SequenceReplay`; an update
  samples B = 32 sequences of L = 64 steps, prepends the step before each (zero action, reward
  and done, the first observation: the authors' convention), and starts every encoder from its
  zero state at the sequence start. Padding after an episode's end is masked out.
* Critic: y_t = r_t + γ(1 − d_t) Σ_a π(a|h_{t+1}) [min(Q1', Q2')(h_{t+1}, a) − α log π(a|h_{t+1})],
  loss Σ_k Σ_t m_t (Q_k(h_t, a_t) − y_t)² / Σ m, Adam (lr 3e-4).
* Actor: loss Σ_t m_t Σ_a π(a|h_t) [α log π(a|h_t) − min(Q1, Q2)(h_t, a)] / Σ m with the
  updated critic, Adam (lr 3e-4). The gradient on the logits is π_j (f_j − Σ_a π_a f_a) with
  f = α log π − min Q.
* Entropy: log α by Adam on −α (H_target − H(π)), H_target = 0.7 log A (automatic tuning).
* Acting: one step of the actor per environment step with the encoder state carried
  (:class:`SACDPolicy`, a policy of :mod:`neurorl.rl.policy`): sampled during training,
  greedy (argmax) in evaluation. 5 episodes of uniformly random actions come first; after every
  episode, ``updates_per_step`` × its length updates.
* Evaluation: greedy episodes every ``eval_every`` environment steps (:func:`neurorl.rl.evaluate
  .evaluate`, the policy reset at every episode start); ``stop_at_return`` ends the run at the
  first evaluation that reaches it.

Hyperparameters are the authors' ``configs/pomdp/cartpole/*`` (γ 0.9, buffer 1e6, batch 32,
sequence 64, lr 3e-4, τ 0.005, target-entropy ratio 0.7, 1 update per step, 5 random episodes).
Everything random flows from ``seed``; the resume state (:mod:`neurorl.checkpoint`, no pickle)
makes an interrupted run end where the uninterrupted one does. ``shards`` > 1 computes each
update's sequences in that many blocks on as many threads (:mod:`neurorl.ann.shards`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from neurorl import checkpoint
from neurorl.ann import nn
from neurorl.ann.optim import Adam
from neurorl.plots import write_csv
from neurorl.rl.agent_state import (
    RecurrentConfig,
    TrainingClock,
    copy_net,
    load_state,
    polyak,
    save_state,
)
from neurorl.rl.envs import make_env
from neurorl.rl.evaluate import evaluate
from neurorl.rl.policy import StatefulPolicy
from neurorl.rl.recurrent_ac import ArchConfig, RecurrentNet, actor_state, actor_step
from neurorl.rl.sequence_replay import SequenceReplay

__all__ = ["KIND", "SACDAgent", "SACDConfig", "SACDPolicy", "TrainResult", "load_actor", "train"]

KIND = "neurorl.sacd.actor"  # checkpoint kind of a trained actor
STATE_KIND = "neurorl.sacd.state"
ACTOR_FILE, STATE_FILE, EVALS_FILE = "actor.npz", "state.npz", "evals.csv"
DTYPE = np.float32


@dataclass
class SACDConfig(RecurrentConfig):
    """Hyperparameters of one run (the authors' CartPole-P/V settings by default; the shared
    fields are :class:`~neurorl.rl.agent_state.RecurrentConfig`'s)."""

    alpha_lr: float = 3e-4
    target_entropy_ratio: float = 0.7


# --------------------------------------------------------------------------------------------
# the losses (pure functions of arrays)
# --------------------------------------------------------------------------------------------
def log_softmax(z: np.ndarray) -> np.ndarray:
    """log π over the last axis."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def critic_targets(q_next_target: np.ndarray, logits_next: np.ndarray, reward: np.ndarray,
                   done: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    """y (T, B) = r + γ(1 − d) Σ_a π(a) [min_k Q'_k(a) − α log π(a)] at the next steps.

    ``q_next_target`` (T, B, 2, A), ``logits_next`` (T, B, A), ``reward``/``done`` (T, B).
    """
    log_pi = log_softmax(logits_next)
    v = (np.exp(log_pi) * (q_next_target.min(axis=2) - alpha * log_pi)).sum(-1)
    return reward + gamma * (1.0 - done) * v


def critic_loss(q: np.ndarray, action: np.ndarray, y: np.ndarray, mask: np.ndarray
                ) -> tuple[float, np.ndarray]:
    """Σ_k Σ m (Q_k(a) − y)² / Σ m and its gradient on ``q`` (T, B, 2, A)."""
    n = max(float(mask.sum()), 1.0)
    q_a = np.take_along_axis(q, action[:, :, None, None], axis=-1)[..., 0]  # (T, B, 2)
    err = (q_a - y[:, :, None]) * mask[:, :, None]
    d_q = np.zeros_like(q)
    np.put_along_axis(d_q, action[:, :, None, None], (2.0 * err / n)[..., None], axis=-1)
    return float((err ** 2).sum() / n), d_q


def actor_loss(logits: np.ndarray, q: np.ndarray, mask: np.ndarray, alpha: float
               ) -> tuple[float, np.ndarray, float]:
    """Σ m Σ_a π(a) [α log π(a) − min_k Q_k(a)] / Σ m, its gradient on ``logits`` (T, B, A),
    and the masked mean entropy of π."""
    n = max(float(mask.sum()), 1.0)
    log_pi = log_softmax(logits)
    pi = np.exp(log_pi)
    f = alpha * log_pi - q.min(axis=2)
    per_step = (pi * f).sum(-1)
    d_logits = pi * (f - per_step[..., None]) * (mask / n)[..., None]
    entropy = float((-(pi * log_pi).sum(-1) * mask).sum() / n)
    return float((per_step * mask).sum() / n), d_logits.astype(logits.dtype), entropy


# --------------------------------------------------------------------------------------------
# the agent
# --------------------------------------------------------------------------------------------
class SACDAgent:
    """Actor, critic, target critic, optimisers and α; :meth:`update` is one SAC-discrete step."""

    NAME, STATE_KIND = "SAC-discrete", STATE_KIND

    def __init__(self, obs_dim: int, n_actions: int, cfg: SACDConfig) -> None:
        self.cfg, self.obs_dim, self.n_actions = cfg, obs_dim, n_actions
        arch = ArchConfig(encoder=cfg.encoder, hidden=cfg.hidden)
        self.actor = RecurrentNet(obs_dim, n_actions, 1, n_actions, arch, seed=cfg.seed,
                                  shards=cfg.shards)
        self.critic = RecurrentNet(obs_dim, n_actions, 2, n_actions, arch, seed=cfg.seed + 100,
                                   shards=cfg.shards)
        self.target_critic = copy_net(self.critic)
        self.actor_opt = Adam(self.actor.params, lr=cfg.lr)
        self.critic_opt = Adam(self.critic.params, lr=cfg.lr)
        self.log_alpha = np.zeros(1, DTYPE)
        self.alpha_opt = Adam({"log_alpha": self.log_alpha}, lr=cfg.alpha_lr)
        self.target_entropy = cfg.target_entropy_ratio * float(np.log(n_actions))
        self.updates = 0

    def networks(self) -> dict[str, dict[str, np.ndarray]]:
        """Every trained array by network (what the resume state holds)."""
        return {"actor": self.actor.params, "critic": self.critic.params,
                "target": self.target_critic.params, "alpha": {"log_alpha": self.log_alpha}}

    def optimisers(self) -> dict[str, Adam]:
        """The optimisers by name."""
        return {"actor_opt": self.actor_opt, "critic_opt": self.critic_opt,
                "alpha_opt": self.alpha_opt}

    @property
    def alpha(self) -> float:
        """The entropy temperature α = exp(log α)."""
        return float(np.exp(self.log_alpha[0]))

    def sequences(self, batch: dict[str, np.ndarray]) -> tuple:
        """(L+1)-step inputs from sampled sequences (L, B, ·): the step before each sequence has
        a zero action, reward and done and the first observation (the authors' convention)."""
        L, B = batch["obs"].shape[:2]
        eye = np.eye(self.n_actions, dtype=DTYPE)
        onehot = eye[batch["action"]] * batch["mask"][..., None]
        actions = np.concatenate([np.zeros((1, B, self.n_actions), DTYPE), onehot])
        rewards = np.concatenate([np.zeros((1, B), DTYPE), batch["reward"]])
        observs = np.concatenate([batch["obs"][:1], batch["next_obs"]]).astype(DTYPE)
        return actions, rewards, observs

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One update on sampled sequences (SequenceReplay.sample): critic, actor, target, α."""
        cfg = self.cfg
        inputs = self.sequences(batch)
        mask, action = batch["mask"], batch["action"].astype(np.int64)
        alpha = self.alpha
        # -- critic: targets from the actor and the target critic at the next steps
        logits, actor_cache = self.actor.forward(*inputs)
        logits = logits[:, :, 0]
        q_target, _ = self.target_critic.forward(*inputs, keep_cache=False)
        y = critic_targets(q_target[1:], logits[1:], batch["reward"], batch["terminated"],
                           cfg.gamma, alpha)
        q, critic_cache = self.critic.forward(*inputs)
        loss_q, d_q = critic_loss(q[:-1], action, y, mask)
        d_q_full = np.zeros_like(q)
        d_q_full[:-1] = d_q
        self.critic_opt.step(self.critic.backward(critic_cache, d_q_full))
        # -- actor: against the updated critic
        q_new, _ = self.critic.forward(*inputs, keep_cache=False)
        loss_pi, d_logits, entropy = actor_loss(logits[:-1], q_new[:-1], mask, alpha)
        d_out = np.zeros((*logits.shape[:2], 1, self.n_actions), DTYPE)
        d_out[:-1, :, 0] = d_logits
        self.actor_opt.step(self.actor.backward(actor_cache, d_out))
        # -- target critic (Polyak) and α
        polyak(self.target_critic.params, self.critic.params, cfg.tau)
        self.updates += 1
        self.alpha_opt.step({"log_alpha": -alpha * (self.target_entropy - entropy)
                             * np.ones(1, DTYPE)})
        return {"critic_loss": loss_q, "actor_loss": loss_pi, "entropy": entropy, "alpha": alpha}


class SACDPolicy(StatefulPolicy):
    """The actor acting one environment step at a time, its encoder state carried per
    environment (the policy protocol of :mod:`neurorl.rl.policy`); greedy (argmax of the
    logits) unless ``sample`` (then drawn from π with ``rng``). It conditions on the previous
    action and reward, which the evaluation loop reports through :meth:`observe`."""

    def __init__(self, actor: RecurrentNet, sample: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        self.actor, self.sample, self.rng = actor, sample, rng
        self.n_actions = actor.head_out

    def initial_state(self, n: int) -> dict[str, np.ndarray]:
        """Zero encoder state, zero previous action and reward."""
        return actor_state(self.actor, n, self.n_actions)

    def logits(self, obs: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
        """Logits (N, A) of one step and the next encoder state."""
        return actor_step(self.actor, obs, state)

    def step(self, obs, state):
        logits, state = self.logits(obs, state)
        if self.sample:
            pi = np.exp(log_softmax(logits.astype(np.float64)))
            u = self.rng.random((len(pi), 1))
            actions = np.minimum((pi.cumsum(1) < u).sum(1), self.n_actions - 1)
        else:
            actions = logits.argmax(1)
        return actions, state

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        """The actions taken and rewards received at the last step, inputs of the next step."""
        self.state["prev_action"] = np.eye(self.n_actions, dtype=DTYPE)[np.asarray(actions)]
        self.state["prev_reward"] = np.asarray(rewards, DTYPE)


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns: the agent, greedy evaluations (step, mean return) and
    per-episode training returns."""

    agent: SACDAgent
    evals: list[tuple[int, float]]
    episodes: list[tuple[int, float, int]] = field(default_factory=list)
    steps: int = 0
    updates: int = 0
    wall_s: float = 0.0
    out_dir: Path | None = None


def train(cfg: SACDConfig, out_dir: str | Path | None = None, progress: bool = True,
          resume: bool = False) -> TrainResult:
    """Train a recurrent SAC-discrete agent with ``cfg``; see the module doc for the method.

    ``out_dir`` receives ``actor.npz`` (the greedy actor, for ``neurorl evaluate`` and Brian2),
    ``evals.csv`` and, every ``cfg.checkpoint_every`` steps, the resume state ``state.npz``
    (``resume=True`` continues from it).
    """
    with nn.blas_threads(cfg.blas_threads):
        return _train(cfg, out_dir, progress, resume)


def _train(cfg: SACDConfig, out_dir, progress: bool, resume: bool) -> TrainResult:
    from tqdm.auto import tqdm

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    env = make_env(cfg.env_id)
    obs_dim = int(np.prod(env.observation_space.shape))
    n_actions = int(env.action_space.n)
    agent = SACDAgent(obs_dim, n_actions, cfg)
    rb = SequenceReplay(cfg.buffer_size, (obs_dim,), (), cfg.seq_len)
    policy = SACDPolicy(agent.actor, sample=True, rng=rng)
    evals: list[tuple[int, float]] = []
    episodes: list[tuple[int, float, int]] = []
    step = 0
    wall_before = 0.0
    if resume and out is not None and (out / STATE_FILE).exists():
        step, wall_before = load_state(out / STATE_FILE, cfg, agent, rb, rng, evals, episodes)
    clock, first_step = TrainingClock(wall_before), step
    bar = tqdm(total=cfg.total_steps, initial=step, unit="step", disable=not progress,
               desc=f"SAC-D {cfg.encoder} {cfg.env_id}", dynamic_ncols=True)
    stats: dict[str, float] = {}
    reached = False
    while step < cfg.total_steps and not reached:
        # -- one episode: random actions for the first ones, then the actor (sampled)
        episode = len(episodes)
        obs, _ = env.reset(seed=cfg.seed * 100_003 + episode)
        policy.reset(np.ones(1, bool))
        record = {"obs": [], "action": [], "reward": [], "terminated": [], "next_obs": []}
        done = False
        while not done and step < cfg.total_steps:
            if episode < cfg.random_episodes:
                action = int(rng.integers(n_actions))
                policy.act(np.asarray(obs)[None])  # keeps the actor's state in step
            else:
                action = int(policy.act(np.asarray(obs)[None])[0])
            next_obs, reward, terminated, truncated, _ = env.step(action)
            policy.observe(np.array([action]), np.array([reward]))
            for key, value in (("obs", obs), ("action", action), ("reward", reward),
                               ("terminated", terminated), ("next_obs", next_obs)):
                record[key].append(value)
            obs, done, step = next_obs, terminated or truncated, step + 1
            bar.update(1)
            if cfg.eval_every and step % cfg.eval_every == 0:
                score = float(evaluate(SACDPolicy(agent.actor), cfg.env_id, cfg.eval_episodes,
                                       cfg.eval_seed).mean())
                evals.append((step, score))
                if cfg.stop_at_return is not None and score >= cfg.stop_at_return:
                    done = reached = True
        rb.add_episode(*(np.asarray(record[k], np.float32 if k != "action" else np.int64)
                         for k in ("obs", "action", "reward", "terminated", "next_obs")))
        episodes.append((step, float(np.sum(record["reward"])), len(record["reward"])))
        # -- updates: updates_per_step × the episode's length
        if episode + 1 >= cfg.random_episodes and not reached:
            for _ in range(int(round(cfg.updates_per_step * len(record["reward"])))):
                stats = agent.update(rb.sample(rng, cfg.batch_size))
        rate = (step - first_step) / max(clock.attempt_s(), 1e-9)
        bar.set_postfix(ret=f"{episodes[-1][1]:.0f}", eval=f"{evals[-1][1]:.0f}" if evals else "-",
                        q=f"{stats.get('critic_loss', float('nan')):.3g}",
                        alpha=f"{stats.get('alpha', float('nan')):.3g}", sps=f"{rate:.0f}",
                        refresh=False)
        if out is not None and cfg.checkpoint_every and (
            step // cfg.checkpoint_every > (step - len(record["reward"])) // cfg.checkpoint_every
        ):
            save_state(out / STATE_FILE, cfg, agent, rb, rng, evals, episodes, step,
                       clock.total_s())
    bar.close()
    env.close()
    if out is not None:
        save_actor(agent, out / ACTOR_FILE, {"env": cfg.env_id, "config": asdict(cfg)})
        write_csv(out / EVALS_FILE, [{"step": s, "mean_greedy_return": r} for s, r in evals],
                  float_format=None)
        if cfg.checkpoint_every:
            save_state(out / STATE_FILE, cfg, agent, rb, rng, evals, episodes, step,
                       clock.total_s())
    return TrainResult(agent, evals, episodes, step, agent.updates,
                       clock.total_s(), out)


# --------------------------------------------------------------------------------------------
# checkpoints: the actor (a policy); the resume state is neurorl.rl.agent_state's
# --------------------------------------------------------------------------------------------
def save_actor(agent: SACDAgent, path: str | Path, meta: dict | None = None) -> Path:
    """Write the actor (weights, architecture, encoder) as a checkpoint of kind ``KIND``."""
    arch = dataclasses.asdict(agent.actor.arch)
    header = {**(meta or {}), "kind": KIND, "arch": arch, "obs_dim": agent.obs_dim,
              "n_actions": agent.n_actions}
    return checkpoint.save(path, {f"actor/{k}": v for k, v in agent.actor.params.items()}, header)


def load_actor(path: str | Path) -> tuple[SACDPolicy, dict]:
    """A greedy :class:`SACDPolicy` from an ``actor.npz``; ``(policy, meta)``."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != KIND:
        raise ValueError(f"{path}: not a SAC-discrete actor (kind {meta.get('kind')!r})")
    arch = ArchConfig(**{**meta["arch"], "head_hidden": tuple(meta["arch"]["head_hidden"])})
    actor = RecurrentNet(int(meta["obs_dim"]), int(meta["n_actions"]), 1, int(meta["n_actions"]),
                         arch)
    for key, value in actor.params.items():
        stored = arrays.get(f"actor/{key}")
        if stored is None or stored.shape != value.shape:
            raise ValueError(f"{path}: actor/{key} missing or of the wrong shape")
        value[...] = stored
    return SACDPolicy(actor), meta


# --------------------------------------------------------------------------------------------
# the actor in Brian2
# --------------------------------------------------------------------------------------------
def play_brian2(policy: SACDPolicy, env_id: str, episodes: int = 1, seed: int = 10_000,
                target: str = "numpy", device: str = "runtime", max_steps: int | None = None):
    """Greedy episodes of ``env_id`` played by the actor as a Brian2 network
    (:func:`~neurorl.rl.recurrent_ac.to_network`): one simulation step per environment step,
    the neuron state carried from step to step and reset at every episode start, the previous
    action and reward fed back with the observation. Episode ``i`` is reset with ``seed + i``.
    Returns :class:`~neurorl.sim.closed_loop.Episode`\\ s."""
    from neurorl.rl.recurrent_ac import network_inputs, to_network
    from neurorl.sim.closed_loop import closed_loop

    net = to_network(policy.actor)
    eye = np.eye(policy.n_actions)

    def inputs(obs, action, reward):
        prev = np.zeros(policy.n_actions) if action is None else eye[action]
        return network_inputs(prev[None], np.array([reward]), np.asarray(obs)[None])[0]

    def greedy(window) -> int:
        return int(np.argmax(window.state["out"]["y"]))

    env = make_env(env_id)
    try:
        return closed_loop(net, env, 1, greedy, episodes=episodes, seed=seed, preprocess=inputs,
                           reset_state=False, feedback=True, target=target, device=device,
                           max_steps=max_steps)
    finally:
        env.close()
