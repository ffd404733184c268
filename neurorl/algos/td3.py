"""Recurrent TD3 for continuous actions (Fujimoto et al., ICML 2018) in the GRSN authors' form
(``grsn/algorithms/td3.py`` over pomdp-baselines' separate actor-critic).

Method, read :func:`train` top to bottom:

* Networks (:mod:`neurorl.rl.recurrent_ac`): an actor whose head outputs the raw action u_t, the
  action being a_t = tanh(u_t) in [-1, 1]^d; a critic with two heads (Q1, Q2, one value each)
  whose shortcut embeds the observation with the current action, ReLU(W [o_t, a_t] + b) (the
  authors' width: action + reward + observation embeddings, 48); each with its own encoder
  (GRSN, LIF, GRU, LSTM, MLP, ... by name, :mod:`neurorl.rl.encoders`) fed the embedded
  previous action, previous reward and observation of every environment step. Target actor and
  target critic follow by Polyak averaging (τ = 0.005). The heads' last layers start uniform in
  ±1e-3 (actor) and ±3e-3 (critic), as the authors' ``Mlp(init_w=...)``.
* Actions: a in [-1, 1]^d is what the networks see and the replay stores; the environment gets
  low + (a + 1)(high − low)/2 of its Box bounds (the authors' wrapper), which is what
  :class:`TD3Policy` returns and what ``observe`` maps back.
* Data: whole episodes in a :class:`~neurorl.rl.sequence_replay.SequenceReplay`; an update
  samples B = 32 sequences of L = 64 steps, prepends the step before each (zero action, reward
  and done, the first observation: the authors' convention), and starts every encoder from its
  zero state at the sequence start. Padding after an episode's end is masked out.
* Critic (target policy smoothing, clipped double Q): a'_{t+1} = clip(μ'(h'_{t+1}) + clip(ε,
  −c, c), −1, 1) with ε ~ N(0, 0.2²) from the training generator, c = 0.5;
  y_t = r_t + γ(1 − d_t) min(Q1', Q2')(h_{t+1}, a'_{t+1}); loss Σ_k Σ_t m_t (Q_k(h_t, a_t) −
  y_t)² / Σ m, Adam (lr 3e-4).
* Actor: loss −Σ_t m_t min(Q1, Q2)(h_t, tanh(u_t)) / Σ m with the updated critic (the authors
  take the min of both heads where Fujimoto et al. take Q1); the gradient on u is
  d Q / d a (the critic's heads and shortcut, :meth:`RecurrentNet.action_grad`) × (1 − a²).
  The authors update the actor and both targets at every update (no delay);
  ``policy_delay`` > 1 gives Fujimoto et al.'s delayed update (actor and targets every
  ``policy_delay`` critic updates).
* Acting: one step of the actor per environment step with the encoder state carried
  (:class:`TD3Policy`): tanh(u) + N(0, 0.1²) clipped to [-1, 1] during training, tanh(u) in
  evaluation. 5 episodes of uniformly random actions in [-1, 1] come first (the authors sample
  their env's Box, [-2, 2] for Pendulum, which their wrapper then clips); after every episode,
  ``updates_per_step`` × its length updates.
* Evaluation: deterministic episodes every ``eval_every`` environment steps
  (:func:`neurorl.rl.evaluate.evaluate`); ``stop_at_return`` ends the run at the first evaluation
  that reaches it.

Hyperparameters are the authors' ``configs/pomdp/pendulum/*/rnn.yml`` (γ 0.9, buffer 1e6, batch
32, sequence 64, lr 3e-4, τ 0.005, exploration noise 0.1, target noise 0.2 clipped at 0.5, 1
update per step, 5 random episodes, 250 episodes of 200 steps, 20 evaluation episodes every 5
episodes). Everything random flows from ``seed``; the resume state (:mod:`neurorl.checkpoint`,
no pickle) makes an interrupted run end where the uninterrupted one does.

The training loop, the policy's action scaling and the checkpoints are shared with recurrent SAC
(:mod:`neurorl.algos.sac`), which imports them from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

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

__all__ = ["KIND", "ContinuousConfig", "ContinuousPolicy", "TD3Agent", "TD3Config", "TD3Policy",
           "TrainResult", "load_actor", "save_actor", "train"]

KIND = "neurorl.td3.actor"  # checkpoint kind of a trained actor
STATE_KIND = "neurorl.td3.state"
ACTOR_FILE, STATE_FILE, EVALS_FILE = "actor.npz", "state.npz", "evals.csv"
DTYPE = np.float32
ACTOR_INIT_W, CRITIC_INIT_W = 1e-3, 3e-3  # the authors' last-layer init (Mlp init_w)


@dataclass
class ContinuousConfig(RecurrentConfig):
    """What recurrent TD3 and SAC share (the authors' Pendulum-V settings by default)."""

    env_id: str = "Pendulum-V"
    total_steps: int = 50_000
    eval_every: int = 1_000
    eval_episodes: int = 20


@dataclass
class TD3Config(ContinuousConfig):
    """Hyperparameters of one TD3 run (the authors' ``td3`` section)."""

    exploration_noise: float = 0.1  # std of the acting noise, actions in [-1, 1]
    target_noise: float = 0.2  # std of the target policy smoothing noise
    target_noise_clip: float = 0.5
    policy_delay: int = 1  # critic updates per actor and target update (authors 1, Fujimoto 2)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.policy_delay < 1:
            raise ValueError("policy_delay must be ≥ 1")


# --------------------------------------------------------------------------------------------
# the losses (pure functions of arrays)
# --------------------------------------------------------------------------------------------
def target_actions(mu: np.ndarray, noise: np.ndarray, noise_clip: float) -> np.ndarray:
    """Target policy smoothing: clip(μ + clip(noise, −c, c), −1, 1) (``noise`` already scaled)."""
    return np.clip(mu + np.clip(noise, -noise_clip, noise_clip), -1.0, 1.0)


def critic_targets(q_next_target: np.ndarray, reward: np.ndarray, done: np.ndarray,
                   gamma: float) -> np.ndarray:
    """y (T, B) = r + γ(1 − d) min_k Q'_k (clipped double Q); ``q_next_target`` (T, B, 2)."""
    return reward + gamma * (1.0 - done) * q_next_target.min(axis=2)


def critic_loss(q: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Σ_k Σ m (Q_k − y)² / Σ m and its gradient on ``q`` (T, B, 2)."""
    n = max(float(mask.sum()), 1.0)
    err = (q - y[:, :, None]) * mask[:, :, None]
    return float((err ** 2).sum() / n), (2.0 * err / n).astype(q.dtype)


def min_q_grad(q: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The gradient on ``q`` (T, B, 2) of Σ weight · min_k Q_k: ``weight`` on the smaller head."""
    d_q = np.zeros_like(q)
    np.put_along_axis(d_q, q.argmin(axis=2)[..., None], weight[..., None], axis=2)
    return d_q


def actor_loss(q: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """−Σ m min_k Q_k / Σ m and its gradient on ``q`` (T, B, 2)."""
    n = max(float(mask.sum()), 1.0)
    return float(-(q.min(axis=2) * mask).sum() / n), min_q_grad(q, -mask / n)


def policy_loss(critic: RecurrentNet, inputs: tuple, raw: np.ndarray, mask: np.ndarray
                ) -> tuple[float, np.ndarray]:
    """The actor's loss at raw outputs ``raw`` (T, B, d) (actions tanh(raw)) and its gradient on
    ``raw``: through d Q / d a of ``critic`` (run on ``inputs`` = (previous actions, rewards,
    observations), each (T, B, ·)) and d tanh."""
    a = np.tanh(raw)
    q, cache = critic.forward(*inputs, current_action=a)
    loss, d_q = actor_loss(q[..., 0], mask)
    d_a = critic.action_grad(cache, d_q[..., None])
    return loss, (d_a * (1.0 - a * a)).astype(DTYPE)


# --------------------------------------------------------------------------------------------
# pieces of both agents
# --------------------------------------------------------------------------------------------
def sequences(batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L+1)-step inputs from sampled sequences (L, B, ·): the step before each sequence has a
    zero action, reward and done and the first observation (the authors' convention)."""
    B = batch["obs"].shape[1]
    action = batch["action"].astype(DTYPE)
    actions = np.concatenate([np.zeros((1, B, action.shape[-1]), DTYPE), action])
    rewards = np.concatenate([np.zeros((1, B), DTYPE), batch["reward"]])
    observs = np.concatenate([batch["obs"][:1], batch["next_obs"]]).astype(DTYPE)
    return actions, rewards, observs


def build_nets(obs_dim: int, act_dim: int, actor_out: int, cfg: ContinuousConfig
               ) -> tuple[RecurrentNet, RecurrentNet, RecurrentNet]:
    """Actor (``actor_out`` raw outputs), critic (Q1, Q2 of (h_t, o_t, a_t)) and target critic,
    the heads' last layers initialised as the authors'."""
    arch = ArchConfig(encoder=cfg.encoder, hidden=cfg.hidden)
    critic_arch = dataclasses.replace(arch, shortcut_embedding=arch.action_embedding
                                      + arch.reward_embedding + arch.observation_embedding)
    actor = RecurrentNet(obs_dim, act_dim, 1, actor_out, arch, seed=cfg.seed, shards=cfg.shards)
    critic = RecurrentNet(obs_dim, act_dim, 2, 1, critic_arch, seed=cfg.seed + 100,
                          current_action_dim=act_dim, shards=cfg.shards)
    rng = np.random.default_rng(cfg.seed + 200)
    last = len(arch.head_hidden)
    for net, bound in ((actor, ACTOR_INIT_W), (critic, CRITIC_INIT_W)):
        for k in range(net.heads):
            for name in ("W", "b"):
                value = net.params[f"head{k}.l{last}.{name}"]
                value[...] = rng.uniform(-bound, bound, value.shape)
    target = copy_net(critic)
    return actor, critic, target


# --------------------------------------------------------------------------------------------
# the agent
# --------------------------------------------------------------------------------------------
class TD3Agent:
    """Actor, critic, their targets and optimisers; :meth:`update` is one TD3 step."""

    NAME, KIND, STATE_KIND = "TD3", KIND, STATE_KIND

    def __init__(self, obs_dim: int, act_dim: int, cfg: TD3Config) -> None:
        self.cfg, self.obs_dim, self.act_dim = cfg, obs_dim, act_dim
        self.actor, self.critic, self.target_critic = build_nets(obs_dim, act_dim, act_dim, cfg)
        self.target_actor = copy_net(self.actor)
        self.actor_opt = Adam(self.actor.params, lr=cfg.lr)
        self.critic_opt = Adam(self.critic.params, lr=cfg.lr)
        self.updates = 0

    def networks(self) -> dict[str, dict[str, np.ndarray]]:
        """Every trained array, by name (the resume state)."""
        return {"actor": self.actor.params, "critic": self.critic.params,
                "target": self.target_critic.params, "target_actor": self.target_actor.params}

    def optimisers(self) -> dict[str, Adam]:
        """Every optimiser, by name (the resume state)."""
        return {"actor_opt": self.actor_opt, "critic_opt": self.critic_opt}

    def policy(self, low, high, rng: np.random.Generator | None = None) -> TD3Policy:
        """The actor acting on the Box [low, high]: with exploration noise from ``rng``, or
        deterministic (``rng=None``)."""
        noise = self.cfg.exploration_noise if rng is not None else 0.0
        return TD3Policy(self.actor, low, high, noise=noise, rng=rng)

    def update(self, batch: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, float]:
        """One update on sampled sequences (SequenceReplay.sample): critic, then (every
        ``policy_delay``) actor and targets; the smoothing noise is drawn from ``rng``."""
        cfg = self.cfg
        inputs = sequences(batch)
        now = tuple(x[:-1] for x in inputs)  # the L steps whose actions were taken
        mask, action = batch["mask"], batch["action"].astype(DTYPE)
        # -- critic: targets from the target actor (smoothed) and the target critic
        mu, _ = self.target_actor.forward(*inputs, keep_cache=False)
        mu = np.tanh(mu[:, :, 0])
        noise = cfg.target_noise * rng.standard_normal(mu.shape)
        a_next = target_actions(mu, noise, cfg.target_noise_clip).astype(DTYPE)
        q_next, _ = self.target_critic.forward(*inputs, keep_cache=False, current_action=a_next)
        y = critic_targets(q_next[1:, :, :, 0], batch["reward"], batch["terminated"], cfg.gamma)
        q, cache = self.critic.forward(*now, current_action=action)
        loss_q, d_q = critic_loss(q[..., 0], y, mask)
        self.critic_opt.step(self.critic.backward(cache, d_q[..., None]))
        self.updates += 1
        stats = {"critic_loss": loss_q, "q": float((q[..., 0].mean(2) * mask).sum()
                                                   / max(mask.sum(), 1.0))}
        if self.updates % cfg.policy_delay:
            return stats
        # -- actor: against the updated critic; then both targets
        raw, actor_cache = self.actor.forward(*now)
        loss_pi, d_raw = policy_loss(self.critic, now, raw[:, :, 0], mask)
        self.actor_opt.step(self.actor.backward(actor_cache, d_raw[:, :, None]))
        polyak(self.target_critic.params, self.critic.params, cfg.tau)
        polyak(self.target_actor.params, self.actor.params, cfg.tau)
        return {**stats, "actor_loss": loss_pi}


class ContinuousPolicy(StatefulPolicy):
    """A continuous actor acting one environment step at a time, its encoder state carried per
    environment (the policy protocol of :mod:`neurorl.rl.policy`). :meth:`act` returns actions
    (N, d) in the environment's Box [low, high]: the subclass's action in [-1, 1] (from the
    actor's raw outputs) rescaled. It conditions on the previous action (in [-1, 1]) and reward,
    which the evaluation loop reports through :meth:`observe`. ``n_actions`` is the action's
    size d (the protocol's attribute)."""

    def __init__(self, actor: RecurrentNet, low, high) -> None:
        self.actor = actor
        self.action_dim = self.n_actions = actor.act_dim
        self.low = np.broadcast_to(np.asarray(low, np.float64), (self.action_dim,)).copy()
        self.high = np.broadcast_to(np.asarray(high, np.float64), (self.action_dim,)).copy()
        if not (np.isfinite(self.low).all() and np.isfinite(self.high).all()
                and (self.high > self.low).all()):
            raise ValueError(f"a continuous policy needs finite bounds low < high, got "
                             f"{self.low} and {self.high}")

    def unit_action(self, raw: np.ndarray) -> np.ndarray:
        """Actions (N, d) in [-1, 1] from the actor's raw outputs (N, head_out)."""
        raise NotImplementedError

    def to_env(self, unit: np.ndarray) -> np.ndarray:
        """[-1, 1] → the Box: low + (a + 1)(high − low)/2 (the authors' wrapper)."""
        a = self.low + (np.clip(unit, -1.0, 1.0) + 1.0) * 0.5 * (self.high - self.low)
        return np.clip(a, self.low, self.high).astype(DTYPE)

    def to_unit(self, action: np.ndarray) -> np.ndarray:
        """The Box → [-1, 1], the inverse of :meth:`to_env`."""
        unit = 2.0 * (np.asarray(action, np.float64) - self.low) / (self.high - self.low) - 1.0
        return np.clip(unit, -1.0, 1.0).astype(DTYPE).reshape(-1, self.action_dim)

    def initial_state(self, n: int) -> dict[str, np.ndarray]:
        """Zero encoder state, zero previous action and reward."""
        return actor_state(self.actor, n, self.action_dim)

    def raw(self, obs: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
        """The actor's raw outputs (N, head_out) of one step and the next encoder state."""
        return actor_step(self.actor, obs, state)

    def step(self, obs, state):
        raw, state = self.raw(obs, state)
        return self.to_env(self.unit_action(raw)), state

    def observe(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        """The actions taken (in the Box) and rewards received at the last step, inputs of the
        next step."""
        self.state["prev_action"] = self.to_unit(actions)
        self.state["prev_reward"] = np.asarray(rewards, DTYPE)


class TD3Policy(ContinuousPolicy):
    """TD3's actor: a = tanh(u), plus N(0, ``noise``²) from ``rng`` clipped to [-1, 1] when
    ``noise`` > 0 (exploration)."""

    def __init__(self, actor: RecurrentNet, low, high, noise: float = 0.0,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(actor, low, high)
        self.noise, self.rng = noise, rng

    def unit_action(self, raw: np.ndarray) -> np.ndarray:
        a = np.tanh(raw.astype(np.float64))
        if self.noise > 0:
            a = np.clip(a + self.noise * self.rng.standard_normal(a.shape), -1.0, 1.0)
        return a


# --------------------------------------------------------------------------------------------
# training (both agents)
# --------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns: the agent, deterministic evaluations (step, mean return) and
    per-episode training returns (step, return, length)."""

    agent: Any
    evals: list[tuple[int, float]]
    episodes: list[tuple[int, float, int]] = field(default_factory=list)
    steps: int = 0
    updates: int = 0
    wall_s: float = 0.0
    out_dir: Path | None = None
    interrupted: bool = False


def train(cfg: TD3Config, out_dir: str | Path | None = None, progress: bool = True,
          resume: bool = False, stop_after: int | None = None) -> TrainResult:
    """Train a recurrent TD3 agent with ``cfg``; see the module doc for the method.

    ``out_dir`` receives ``actor.npz`` (the deterministic actor, for ``neurorl evaluate``),
    ``evals.csv`` and, every ``cfg.checkpoint_every`` steps, the resume state ``state.npz``
    (``resume=True`` continues from it). ``stop_after`` interrupts the run at the end of the first
    episode that reaches that many environment steps (its updates done) and writes the resume
    state: a later ``resume=True`` call with the same config ends where an uninterrupted run does.
    """
    return run(cfg, TD3Agent, out_dir, progress, resume, stop_after)


def run(cfg: ContinuousConfig, agent_cls, out_dir, progress: bool, resume: bool,
        stop_after: int | None = None) -> TrainResult:
    """The training loop of :func:`train` for an agent class (TD3's or SAC's)."""
    with nn.blas_threads(cfg.blas_threads):
        return _train(cfg, agent_cls, out_dir, progress, resume, stop_after)


def _train(cfg, agent_cls, out_dir, progress, resume, stop_after) -> TrainResult:
    from tqdm.auto import tqdm

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    if stop_after is not None and out is None:
        raise ValueError("stop_after writes the resume state: give an out_dir")
    rng = np.random.default_rng(cfg.seed)
    env = make_env(cfg.env_id)
    space = env.action_space
    if not isinstance(space, spaces.Box):
        env.close()
        raise ValueError(f"{agent_cls.NAME} needs a continuous (Box) action space; {cfg.env_id} "
                         f"has {space} (use sacd)")
    obs_dim, act_dim = int(np.prod(env.observation_space.shape)), int(np.prod(space.shape))
    agent = agent_cls(obs_dim, act_dim, cfg)
    rb = SequenceReplay(cfg.buffer_size, (obs_dim,), (act_dim,), cfg.seq_len)
    policy = agent.policy(space.low, space.high, rng)
    evals: list[tuple[int, float]] = []
    episodes: list[tuple[int, float, int]] = []
    step = 0
    wall_before = 0.0
    if resume and out is not None and (out / STATE_FILE).exists():
        step, wall_before = load_state(out / STATE_FILE, cfg, agent, rb, rng, evals, episodes)
    clock, first_step = TrainingClock(wall_before), step
    bar = tqdm(total=cfg.total_steps, initial=step, unit="step", disable=not progress,
               desc=f"{agent_cls.NAME} {cfg.encoder} {cfg.env_id}", dynamic_ncols=True)
    stats: dict[str, float] = {}
    reached = interrupted = False
    while step < cfg.total_steps and not reached and not interrupted:
        # -- one episode: random actions for the first ones, then the actor (exploring)
        episode = len(episodes)
        obs, _ = env.reset(seed=cfg.seed * 100_003 + episode)
        policy.reset(np.ones(1, bool))
        record = {"obs": [], "action": [], "reward": [], "terminated": [], "next_obs": []}
        done = False
        while not done and step < cfg.total_steps:
            if episode < cfg.random_episodes:
                action = policy.to_env(rng.uniform(-1.0, 1.0, (1, act_dim)))
            else:
                action = policy.act(np.asarray(obs)[None])
            next_obs, reward, terminated, truncated, _ = env.step(action[0])
            policy.observe(action, np.array([reward]))
            for key, value in (("obs", obs), ("action", policy.to_unit(action)[0]),
                               ("reward", reward), ("terminated", terminated),
                               ("next_obs", next_obs)):
                record[key].append(value)
            obs, done, step = next_obs, terminated or truncated, step + 1
            bar.update(1)
            if cfg.eval_every and step % cfg.eval_every == 0:
                score = float(evaluate(agent.policy(space.low, space.high), cfg.env_id,
                                       cfg.eval_episodes, cfg.eval_seed).mean())
                evals.append((step, score))
                if cfg.stop_at_return is not None and score >= cfg.stop_at_return:
                    done = reached = True
        rb.add_episode(*(np.asarray(record[k], np.float32)
                         for k in ("obs", "action", "reward", "terminated", "next_obs")))
        episodes.append((step, float(np.sum(record["reward"])), len(record["reward"])))
        # -- updates: updates_per_step × the episode's length
        if episode + 1 >= cfg.random_episodes and not reached:
            for _ in range(int(round(cfg.updates_per_step * len(record["reward"])))):
                stats = agent.update(rb.sample(rng, cfg.batch_size), rng)
        rate = (step - first_step) / max(clock.attempt_s(), 1e-9)
        bar.set_postfix(ret=f"{episodes[-1][1]:.0f}", eval=f"{evals[-1][1]:.0f}" if evals else "-",
                        q=f"{stats.get('critic_loss', float('nan')):.3g}", sps=f"{rate:.0f}",
                        refresh=False)
        interrupted = stop_after is not None and step >= stop_after and step < cfg.total_steps
        if out is not None and (interrupted or cfg.checkpoint_every and (
            step // cfg.checkpoint_every > (step - len(record["reward"])) // cfg.checkpoint_every
        )):
            save_state(out / STATE_FILE, cfg, agent, rb, rng, evals, episodes, step,
                       clock.total_s())
    bar.close()
    env.close()
    if out is not None:
        save_actor(agent, out / ACTOR_FILE, space.low, space.high,
                   {"env": cfg.env_id, "config": asdict(cfg)})
        write_csv(out / EVALS_FILE, [{"step": s, "mean_greedy_return": r} for s, r in evals],
                  float_format=None)
        if cfg.checkpoint_every and not interrupted:
            save_state(out / STATE_FILE, cfg, agent, rb, rng, evals, episodes, step,
                       clock.total_s())
    return TrainResult(agent, evals, episodes, step, agent.updates,
                       clock.total_s(), out,
                       interrupted)


# --------------------------------------------------------------------------------------------
# checkpoints: the actor (a policy) and the resume state
# --------------------------------------------------------------------------------------------
def save_actor(agent, path: str | Path, low, high, meta: dict | None = None) -> Path:
    """Write the actor (weights, architecture, encoder, action bounds) as a checkpoint of the
    agent's kind (``neurorl.td3.actor`` or ``neurorl.sac.actor``)."""
    arch = dataclasses.asdict(agent.actor.arch)
    header = {**(meta or {}), "kind": agent.KIND, "arch": arch, "obs_dim": agent.obs_dim,
              "act_dim": agent.act_dim, "head_out": agent.actor.head_out,
              "low": np.asarray(low, np.float64).reshape(-1).tolist(),
              "high": np.asarray(high, np.float64).reshape(-1).tolist()}
    return checkpoint.save(path, {f"actor/{k}": v for k, v in agent.actor.params.items()}, header)


def load_actor_net(path: str | Path, kind: str) -> tuple[RecurrentNet, dict]:
    """The actor network stored in ``path`` (a checkpoint of ``kind``) and the header."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != kind:
        raise ValueError(f"{path}: not a checkpoint of kind {kind!r} (kind {meta.get('kind')!r})")
    arch = ArchConfig(**{**meta["arch"], "head_hidden": tuple(meta["arch"]["head_hidden"])})
    actor = RecurrentNet(int(meta["obs_dim"]), int(meta["act_dim"]), 1, int(meta["head_out"]),
                         arch)
    for key, value in actor.params.items():
        stored = arrays.get(f"actor/{key}")
        if stored is None or stored.shape != value.shape:
            raise ValueError(f"{path}: actor/{key} missing or of the wrong shape")
        value[...] = stored
    return actor, meta


def load_actor(path: str | Path) -> tuple[TD3Policy, dict]:
    """A deterministic :class:`TD3Policy` from an ``actor.npz``; ``(policy, meta)``."""
    actor, meta = load_actor_net(path, KIND)
    return TD3Policy(actor, meta["low"], meta["high"]), meta
