"""Cooperative multi-agent Q-learning: one recurrent (spiking or not) agent network shared by all
agents, mixed by IQL, VDN or QMIX — EPyMARL's ``q_learner`` with its ``qmix.yaml`` over
``default.yaml`` (Papoudakis et al. 2021), in numpy.

Method, read :func:`train` top to bottom:

* Networks: the shared :class:`~neurorl.rl.marl_agent.AgentNet` (observation, one-hot agent
  id and one-hot last action → embedding 64 → encoder 64 → Q per action; the encoder by name:
  ``grsn``, ``grsn_input_gated``, ``lif`` with TAP, ``gru``, ...), the mixer of
  :mod:`neurorl.ann.mixers` (none for IQL, the sum for VDN, QMIX's hypernetworks over the global
  state), and target copies of both, replaced by the online ones every 200 episodes.
* Acting (EPyMARL's episode runner, one environment): one step of the agent network per
  environment step for every agent, its encoder state carried per agent and zeroed at the
  episode start; ε-greedy over each agent's available actions, ε linear from 1.0 to 0.05 over
  50,000 environment steps. Episode k is seeded ``seed · 100,003 + k``.
* Data: whole episodes in an :class:`~neurorl.rl.episode_replay.EpisodeReplay` of 5,000; after
  every episode, once 32 are stored, one update on 32 sampled episodes.
* Update: rewards standardised by their running mean and variance (``standardise_rewards``);
  the agent network runs every sampled episode from the zero state; double Q: the next action
  is the online network's argmax over the available actions, valued by the target network;
  y_t = r_t + γ (1 − terminated_t) Q_tot'(s_{t+1}, a*_{t+1}) with γ = 0.99 (an episode cut by
  the time limit counts as terminated with ``time_limit_terminal``, as EPyMARL's runs); loss
  Σ_t m_t (Q_tot(s_t, a_t) − y_t)² / Σ_t m_t over the steps that happened (IQL: per agent, the
  mean over agents); Adam (lr 5e-4) on agent and mixer together after clipping the global
  gradient norm at 10.
* Evaluation: every ``eval_every`` environment steps, ``eval_episodes`` (20) greedy episodes
  (ε = 0) on their own seeds; the mean team return.

The resume state (:mod:`neurorl.checkpoint`, no pickle) holds the networks, Adam, the replay,
the generator and the reward statistics, so a run killed and resumed ends where the
uninterrupted one does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurorl import checkpoint
from neurorl.ann import nn, shards
from neurorl.ann.mixers import MIXERS, make_mixer
from neurorl.ann.optim import Adam, clip_grad_norm
from neurorl.plots import write_csv
from neurorl.rl.agent_state import TrainingClock
from neurorl.rl.episode_replay import EpisodeReplay
from neurorl.rl.marl_agent import AgentNet, agent_inputs
from neurorl.rl.marl_envs import make_marl_env
from neurorl.rl.schedules import linear_schedule

__all__ = ["KIND", "MARLConfig", "MARLLearner", "MARLResult", "evaluate", "load_agent", "train",
           "visited_inputs"]

KIND, STATE_KIND = "neurorl.marl.agent", "neurorl.marl.state"
AGENT_FILE, STATE_FILE, EVALS_FILE = "agent.npz", "state.npz", "evals.csv"
FREE_FIELDS = ("total_steps", "checkpoint_every", "blas_threads")  # may change on resume


@dataclass
class MARLConfig:
    """EPyMARL's ``qmix.yaml`` over ``default.yaml`` (with the issue's one-hot last action)."""

    env_id: str = "mpe2/simple_spread_v3"
    mixer: str = "qmix"
    encoder: str = "gru"
    seed: int = 0
    total_steps: int = 200_000
    embed: int = 64
    hidden: int = 64
    mixing_embed: int = 32
    hypernet_embed: int = 64
    gamma: float = 0.99
    lr: float = 5e-4
    batch_size: int = 32  # episodes per update
    buffer_size: int = 5_000  # episodes
    epsilon_start: float = 1.0
    epsilon_finish: float = 0.05
    epsilon_anneal: int = 50_000  # environment steps
    target_update_episodes: int = 200
    double_q: bool = True
    standardise_rewards: bool = True
    # EPyMARL stores an episode cut by the time limit as terminated on its gymma tasks (MPE,
    # LBF: the wrapper reports no "episode_limit"), so its targets do not bootstrap there; False
    # bootstraps from the last state, as a truncation is not a terminal state
    time_limit_terminal: bool = False
    max_grad_norm: float = 10.0
    eval_every: int = 10_000  # environment steps between greedy evaluations
    eval_episodes: int = 20
    eval_seed: int = 10_000
    checkpoint_every: int = 0  # environment steps between resume checkpoints (0: none)
    blas_threads: int = 1
    shards: int = 1  # threads that compute a batch's rows side by side (neurorl.ann.shards)

    def __post_init__(self) -> None:
        shards.check_config(self.shards, self.blas_threads)
        if self.mixer not in MIXERS:
            raise ValueError(f"unknown mixer {self.mixer!r}; choose one of {', '.join(MIXERS)}")
        if self.total_steps < 1 or self.batch_size < 1 or self.buffer_size < self.batch_size:
            raise ValueError("total_steps and batch_size must be >= 1, buffer_size >= batch_size")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MARLConfig:
        """Config from a (JSON) dict; unknown keys are an error naming them."""
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown MARLConfig keys: {', '.join(unknown)}")
        return cls(**d)


class RunningMeanStd:
    """Running mean and variance of a stream of values (Chan et al.'s parallel update, as
    EPyMARL's ``RunningMeanStd`` with its initial count of 1e-4)."""

    def __init__(self) -> None:
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, x: np.ndarray) -> None:
        """Fold the values ``x`` in."""
        x = np.asarray(x, np.float64)
        if x.size == 0:
            return
        b_mean, b_var, n = float(x.mean()), float(x.var()), x.size
        delta, total = b_mean - self.mean, self.count + n
        m2 = self.var * self.count + b_var * n + delta ** 2 * self.count * n / total
        self.mean, self.var, self.count = self.mean + delta * n / total, m2 / total, total


# --------------------------------------------------------------------------------------------
# the learner: networks, the update
# --------------------------------------------------------------------------------------------
class MARLLearner:
    """Agent network, mixer, their targets and Adam (see the module doc)."""

    def __init__(self, n_agents: int, obs_dim: int, state_dim: int, n_actions: int,
                 cfg: MARLConfig) -> None:
        self.cfg, self.n_agents, self.n_actions = cfg, n_agents, n_actions
        self.agent = AgentNet(obs_dim, n_agents, n_actions, cfg.encoder, cfg.embed, cfg.hidden,
                              seed=cfg.seed, shards=cfg.shards)
        self.target = AgentNet(obs_dim, n_agents, n_actions, cfg.encoder, cfg.embed, cfg.hidden,
                               seed=cfg.seed, shards=cfg.shards)
        self.mixer = make_mixer(cfg.mixer, n_agents, state_dim, cfg.mixing_embed,
                                cfg.hypernet_embed)
        rng = np.random.default_rng(cfg.seed + 7)
        self.mixer_params = self.mixer.init(rng) if self.mixer is not None else {}
        self.target_mixer_params = {k: v.copy() for k, v in self.mixer_params.items()}
        self.update_targets()
        self.opt = Adam({**{f"agent.{k}": v for k, v in self.agent.params.items()},
                         **{f"mixer.{k}": v for k, v in self.mixer_params.items()}}, lr=cfg.lr)
        self.reward_stats = RunningMeanStd()
        self.updates = 0

    def update_targets(self) -> None:
        """Copy the online agent network and mixer into their targets."""
        for k, v in self.target.params.items():
            v[...] = self.agent.params[k]
        for k, v in self.target_mixer_params.items():
            v[...] = self.mixer_params[k]

    def networks(self) -> dict[str, dict[str, np.ndarray]]:
        """Every parameter dict by name (what the resume state holds)."""
        return {"agent": self.agent.params, "target": self.target.params,
                "mixer": self.mixer_params, "target_mixer": self.target_mixer_params}

    def _mix(self, params: dict, q: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, Any]:
        """Q_tot (T, B) for q (T, B, N) and state (T, B, S); IQL: q itself (T, B, N)."""
        if self.mixer is None:
            return q, None
        T, B = q.shape[:2]
        total, cache = self.mixer.forward(params, q.reshape(T * B, -1),
                                          state.reshape(T * B, -1))
        return total.reshape(T, B), cache

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One Q-learning update on a batch of episodes from the replay (arrays (B, L(+1), ...))."""
        cfg = self.cfg
        B, L, N = batch["actions"].shape
        A = self.n_actions
        reward = batch["reward"]
        if cfg.standardise_rewards:
            self.reward_stats.update(reward[batch["filled"]])
            reward = (reward - self.reward_stats.mean) / np.sqrt(self.reward_stats.var)
        last = np.concatenate([np.full((B, 1, N), -1), batch["actions"]], axis=1)  # (B, L+1, N)
        x = agent_inputs(batch["obs"], last, A)  # (B, L+1, N, in)
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3).reshape(L + 1, B * N, -1))
        q_all, cache = self.agent.forward(x)
        q_all = q_all.reshape(L + 1, B, N, A)
        q_next_target = self.target.forward(x, keep_cache=False)[0].reshape(L + 1, B, N, A)[1:]
        avail = batch["avail"].transpose(1, 0, 2, 3)  # (L+1, B, N, A)
        actions = batch["actions"].transpose(1, 0, 2)  # (L, B, N)
        chosen = np.take_along_axis(q_all[:-1], actions[..., None], axis=-1)[..., 0]
        chooser = q_all[1:] if cfg.double_q else q_next_target
        best = np.where(avail[1:] > 0, chooser, -np.inf).argmax(-1)[..., None]
        q_next = np.take_along_axis(q_next_target, best, axis=-1)[..., 0]  # (L, B, N)
        state = batch["state"].transpose(1, 0, 2)
        total, mix_cache = self._mix(self.mixer_params, chosen, state[:-1])
        total_next, _ = self._mix(self.target_mixer_params, q_next, state[1:])
        r, term = reward.T, batch["terminated"].T.astype(np.float32)  # (L, B)
        if self.mixer is None:
            r, term = r[..., None], term[..., None]
        y = r + cfg.gamma * (1.0 - term) * total_next
        mask = batch["filled"].T.astype(np.float32)
        if self.mixer is None:
            mask = np.broadcast_to(mask[..., None], total.shape)
        td = (total - y) * mask
        loss = float((td ** 2).sum() / mask.sum())
        d_total = (2.0 * td / mask.sum()).astype(np.float32)
        grads: dict[str, np.ndarray] = {}
        if self.mixer is None:
            d_chosen = d_total
        else:
            g_mix, d_chosen = self.mixer.backward(self.mixer_params, mix_cache,
                                                  d_total.reshape(-1))
            d_chosen = d_chosen.reshape(L, B, N)
            grads.update({f"mixer.{k}": v for k, v in g_mix.items()})
        d_q = np.zeros((L + 1, B, N, A), np.float32)
        np.put_along_axis(d_q[:-1], actions[..., None], d_chosen[..., None], axis=-1)
        g_agent = self.agent.backward(cache, d_q.reshape(L + 1, B * N, A))
        grads.update({f"agent.{k}": v for k, v in g_agent.items()})
        norm = clip_grad_norm(grads, cfg.max_grad_norm)
        self.opt.step(grads)
        self.updates += 1
        return {"loss": loss, "grad_norm": norm,
                "q_taken": float((chosen * batch["filled"].T[..., None]).sum()
                                 / max(batch["filled"].sum() * N, 1))}


# --------------------------------------------------------------------------------------------
# acting
# --------------------------------------------------------------------------------------------
def run_episode(env, agent: AgentNet, epsilon: float, rng: np.random.Generator, seed: int,
                time_limit_terminal: bool = False) -> tuple[dict[str, np.ndarray], float]:
    """One episode of ε-greedy acting; returns the episode's arrays and its team return.
    ``terminated`` marks the end of a truncated episode too with ``time_limit_terminal``."""
    N, A = env.n_agents, env.n_actions
    step = env.reset(seed=seed)
    state = agent.initial_state(N)
    last = np.full(N, -1)
    rec: dict[str, list] = {"obs": [step.obs], "state": [step.state], "avail": [step.avail],
                            "actions": [], "reward": [], "terminated": []}
    total = 0.0
    while not step.done:
        q, state = agent.step(agent_inputs(step.obs, last, A), state)
        greedy = np.where(step.avail > 0, q, -np.inf).argmax(-1)
        explore = rng.random(N) < epsilon
        random = np.array([rng.choice(np.flatnonzero(a)) for a in step.avail])
        actions = np.where(explore, random, greedy)
        step = env.step(actions)
        for key, value in (("obs", step.obs), ("state", step.state), ("avail", step.avail),
                           ("actions", actions), ("reward", step.reward),
                           ("terminated", step.terminated
                                          or (time_limit_terminal and step.truncated))):
            rec[key].append(value)
        last, total = actions, total + step.reward
    return {k: np.asarray(v) for k, v in rec.items()}, total


def evaluate(agent: AgentNet, env_id: str, episodes: int = 20, seed: int = 10_000
             ) -> np.ndarray:
    """Team returns of ``episodes`` greedy episodes (ε = 0), episode k seeded ``seed + k``."""
    env = make_marl_env(env_id)
    rng = np.random.default_rng(seed)
    returns = np.array([run_episode(env, agent, 0.0, rng, seed + k)[1] for k in range(episodes)])
    env.close()
    return returns


def visited_inputs(agent: AgentNet, env_id: str, episodes: int, seed: int = 10_000
                   ) -> list[np.ndarray]:
    """The agent network's inputs (T, N, in_dim) on each of ``episodes`` greedy episodes."""
    env = make_marl_env(env_id)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(episodes):
        ep, _ = run_episode(env, agent, 0.0, rng, seed + k)
        N = ep["actions"].shape[1]
        last = np.concatenate([np.full((1, N), -1), ep["actions"][:-1]])
        out.append(agent_inputs(ep["obs"][:-1], last, agent.n_actions))
    env.close()
    return out


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
@dataclass
class MARLResult:
    """What :func:`train` returns: the learner, greedy evaluations (step, mean team return) and
    the training episodes (step, team return, length)."""

    learner: MARLLearner
    evals: list[tuple[int, float]]
    episodes: list[tuple[int, float, int]] = field(default_factory=list)
    steps: int = 0
    updates: int = 0
    wall_s: float = 0.0


def train(cfg: MARLConfig, out_dir: str | Path | None = None, progress: bool = True,
          resume: bool = False) -> MARLResult:
    """Train with ``cfg``; ``out_dir`` receives ``agent.npz``, ``evals.csv`` and, every
    ``cfg.checkpoint_every`` steps, the resume state ``state.npz`` (``resume=True`` continues
    from it)."""
    with nn.blas_threads(cfg.blas_threads):
        return _train(cfg, out_dir, progress, resume)


def _train(cfg: MARLConfig, out_dir, progress: bool, resume: bool) -> MARLResult:
    from tqdm.auto import tqdm

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    env = make_marl_env(cfg.env_id)
    learner = MARLLearner(env.n_agents, env.obs_dim, env.state_dim, env.n_actions, cfg)
    rb = EpisodeReplay(cfg.buffer_size, env.episode_limit, env.n_agents, env.obs_dim,
                       env.state_dim, env.n_actions)
    evals: list[tuple[int, float]] = []
    episodes: list[tuple[int, float, int]] = []
    step = 0
    wall_before = 0.0
    if resume and out is not None and (out / STATE_FILE).exists():
        step, wall_before = load_state(out / STATE_FILE, cfg, learner, rb, rng, evals, episodes)
    clock, first = TrainingClock(wall_before), step
    bar = tqdm(total=cfg.total_steps, initial=step, unit="step", disable=not progress,
               desc=f"{cfg.mixer.upper()} {cfg.encoder} {cfg.env_id}", dynamic_ncols=True)
    stats: dict[str, float] = {}
    while step < cfg.total_steps:
        epsilon = linear_schedule(cfg.epsilon_start, cfg.epsilon_finish, cfg.epsilon_anneal,
                                  step)
        episode, ret = run_episode(env, learner.agent, epsilon, rng,
                                   cfg.seed * 100_003 + len(episodes), cfg.time_limit_terminal)
        length = len(episode["actions"])
        rb.add(episode)
        previous, step = step, step + length
        episodes.append((step, ret, length))
        bar.update(length)
        if rb.size >= cfg.batch_size:
            stats = learner.update(rb.sample(rng, cfg.batch_size))
        if len(episodes) % cfg.target_update_episodes == 0:
            learner.update_targets()
        if cfg.eval_every and step // cfg.eval_every > previous // cfg.eval_every:
            evals.append((step, float(evaluate(learner.agent, cfg.env_id, cfg.eval_episodes,
                                               cfg.eval_seed).mean())))
        rate = (step - first) / max(clock.attempt_s(), 1e-9)
        bar.set_postfix(ret=f"{ret:.1f}", eval=f"{evals[-1][1]:.1f}" if evals else "-",
                        loss=f"{stats.get('loss', float('nan')):.3g}", eps=f"{epsilon:.2f}",
                        sps=f"{rate:.0f}", refresh=False)
        if out is not None and cfg.checkpoint_every and (
                step // cfg.checkpoint_every > previous // cfg.checkpoint_every):
            save_state(out / STATE_FILE, cfg, learner, rb, rng, evals, episodes, step,
                       clock.total_s())
    bar.close()
    env.close()
    if out is not None:
        save_agent(learner, out / AGENT_FILE, {"env": cfg.env_id, "config": asdict(cfg)})
        write_csv(out / EVALS_FILE, [{"step": s, "mean_team_return": r} for s, r in evals],
                  float_format=None)
        if cfg.checkpoint_every:
            save_state(out / STATE_FILE, cfg, learner, rb, rng, evals, episodes, step,
                       clock.total_s())
    return MARLResult(learner, evals, episodes, step, learner.updates,
                      clock.total_s())


# --------------------------------------------------------------------------------------------
# checkpoints: the agent network (and mixer); the resume state
# --------------------------------------------------------------------------------------------
def save_agent(learner: MARLLearner, path: str | Path, meta: dict | None = None) -> Path:
    """Write the shared agent network and the mixer as a checkpoint of kind ``KIND``."""
    arrays = {f"agent/{k}": v for k, v in learner.agent.params.items()}
    arrays.update({f"mixer/{k}": v for k, v in learner.mixer_params.items()})
    return checkpoint.save(path, arrays, {"kind": KIND, "agent": learner.agent.spec(),
                                          "mixer": learner.cfg.mixer, **(meta or {})})


def load_agent(path: str | Path) -> tuple[AgentNet, dict]:
    """The agent network of an ``agent.npz`` and its header."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != KIND:
        raise ValueError(f"{path}: not a multi-agent checkpoint (kind {meta.get('kind')!r})")
    agent = AgentNet(**meta["agent"])
    for k, v in agent.params.items():
        stored = arrays.get(f"agent/{k}")
        if stored is None or stored.shape != v.shape:
            raise ValueError(f"{path}: agent/{k} missing or of the wrong shape")
        v[...] = stored
    return agent, meta


def save_state(path, cfg, learner, rb, rng, evals, episodes, step, wall_s: float = 0.0) -> None:
    """Write the resume state at environment step ``step``, ``wall_s`` seconds of training in."""
    arrays: dict[str, np.ndarray] = {}
    for name, params in learner.networks().items():
        arrays.update({f"{name}/{k}": v for k, v in params.items()})
    opt = learner.opt.state_dict()
    arrays.update({f"opt/{k}": v for k, v in opt.items() if isinstance(v, np.ndarray)})
    rb_arrays, rb_meta = rb.state_dict()
    arrays.update({f"rb/{k}": v for k, v in rb_arrays.items()})
    rs = learner.reward_stats
    meta = {"kind": STATE_KIND, "config": asdict(cfg), "step": step, "updates": learner.updates,
            "opt_t": opt["t"], "rng": rng.bit_generator.state, "replay": rb_meta,
            "reward_stats": [rs.mean, rs.var, rs.count], "evals": evals, "episodes": episodes,
            "wall_s": wall_s}
    checkpoint.save(path, arrays, meta)


def load_state(path, cfg, learner, rb, rng, evals, episodes) -> tuple[int, float]:
    """Restore a resume state; returns the environment step to continue from and the seconds
    of training behind it."""
    arrays, meta = checkpoint.load(path)
    if meta.get("kind") != STATE_KIND:
        raise ValueError(f"{path}: not a multi-agent training state")
    diff = sorted(k for k, v in asdict(cfg).items()
                  if k not in FREE_FIELDS and meta["config"].get(k) != v)
    if diff:
        raise ValueError(f"{path}: was written with a different config (differs in {diff})")
    for name, params in learner.networks().items():
        for k, v in params.items():
            v[...] = arrays[f"{name}/{k}"]
    learner.opt.load_state_dict({"t": meta["opt_t"], **{k[4:]: v for k, v in arrays.items()
                                                        if k.startswith("opt/")}})
    rb.load_state_dict({k[3:]: v for k, v in arrays.items() if k.startswith("rb/")},
                       meta["replay"])
    rng.bit_generator.state = meta["rng"]
    learner.updates = int(meta["updates"])
    rs = learner.reward_stats
    rs.mean, rs.var, rs.count = (float(x) for x in meta["reward_stats"])
    evals[:] = [(int(s), float(r)) for s, r in meta["evals"]]
    episodes[:] = [(int(s), float(r), int(n)) for s, r, n in meta["episodes"]]
    return int(meta["step"]), float(meta.get("wall_s", 0.0))
