"""Double DQN in numpy — the teacher that later issues convert (ANN→SNN) and distil (SDN).

Method (read :func:`train` top to bottom):

* Q-network: an MLP for vector observations, the MinAtar net for (C, 10, 10) frames, the
  Nature-DQN stack for (4, 84, 84) Atari frames (uint8, scaled by 1/255). float32 throughout.
* Acting: ε-greedy with ε linear from ``start_e`` to ``end_e`` over ``exploration_fraction`` of
  the run; uniform random actions before ``learning_starts``.
* Replay: a uniform numpy ring buffer of (s, a, r, s', terminated). A *truncated* episode (time
  limit) stores its real last observation as s' with terminated = 0, so the target bootstraps
  through it; only *terminated* transitions stop bootstrapping.
* Learning: every ``train_freq`` vector steps, ``gradient_steps`` Adam updates on batches of
  ``batch_size``: target y = r + γ(1 − terminated)·Q_target(s', argmax_a Q_online(s', a)) (Double
  DQN; plain DQN takes max_a Q_target), Huber loss on Q_online(s, a) − y, gradient norm clipped to
  ``max_grad_norm``. Target network: Polyak averaging with ``tau`` every
  ``target_update_interval`` environment steps (tau = 1 is a hard copy).
* The teacher: the final weights, or with ``eval_every`` > 0 the weights that scored best (the
  latest of equals) in greedy evaluations of ``eval_episodes`` episodes every ``eval_every``
  steps, as rl-zoo keeps its best model. Those episodes are seeded 20000 + i, apart from the
  10000 + i of :func:`evaluate`, so the reported evaluation is not the one that chose.

Defaults are the rl-zoo CartPole-v1 settings with Double DQN; :data:`PRESETS` holds the tested
settings per environment family (``preset_config``), e.g. plain DQN for classic control.
Everything random flows from ``seed`` through numpy Generators whose states are checkpointed
with the weights, optimiser, replay buffer and the environments, so an interrupted run resumed
from ``state.npz`` ends bit for bit where the uninterrupted run does.

The Q-network itself (``QNetwork``, ``load_teacher``) lives in :mod:`neurorl.ann.qnetwork`;
evaluation in :mod:`neurorl.rl.evaluate`; the resume state in :mod:`neurorl.algos.dqn_resume`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurorl.algos.dqn_resume import load_state, metrics_arrays, save_state
from neurorl.ann import nn
from neurorl.ann.dueling import Dueling
from neurorl.ann.optim import Adam, clip_grad_norm
from neurorl.ann.qnetwork import QNetwork, build_q_network, scale_obs
from neurorl.memory import keep_freed_memory
from neurorl.plots import write_csv
from neurorl.rl.envs import SeededVectorEnv
from neurorl.rl.evaluate import evaluate, selected_evaluation
from neurorl.rl.replay import ReplayBuffer
from neurorl.rl.schedules import linear_schedule

TEACHER_FILE = "teacher.npz"
SELECTION_SEED = 20_000  # first reset seed of the evaluations that pick the teacher
STATE_FILE = "state.npz"
METRICS_FILE = "metrics.csv"
EVALS_FILE = "evals.csv"  # the greedy evaluations that picked the teacher
CURVE_FILE = "learning_curve.png"


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
@dataclass
class DQNConfig:
    """Hyperparameters of one run. Step counts are environment steps summed over all copies."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    total_steps: int = 50_000
    num_envs: int = 1
    net: str = "auto"  # "auto" | "mlp" | "minatar" | "nature"
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden widths
    init: str = "torch"  # weight initialisation, see nn.init_weights
    lr: float = 2.3e-3
    lr_end: float | None = None  # None: constant; else linear decay to lr_end over the run
    adam_eps: float = 1e-8
    gamma: float = 0.99
    buffer_size: int = 100_000
    batch_size: int = 64
    learning_starts: int = 1_000
    train_freq: int = 256  # vector steps between training phases
    gradient_steps: int = 128  # Adam updates per training phase
    target_update_interval: int = 10  # environment steps between target updates
    tau: float = 1.0  # 1 = hard copy, < 1 = Polyak averaging
    start_e: float = 1.0
    end_e: float = 0.04
    exploration_fraction: float = 0.16
    max_grad_norm: float = 10.0
    double_dqn: bool = True
    dueling: bool = False  # MLP only: separate value and advantage streams (neurorl.ann.dueling)
    advantage_learning: float = 0.0  # α of Bellemare et al.'s advantage learning (0: plain TD)
    reward_clip: float = 0.0  # > 0: clip training rewards to ±reward_clip (Atari: 1)
    env_options: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 0  # steps between greedy evaluations that pick the teacher (0: final weights)
    eval_episodes: int = 10  # episodes per such evaluation
    checkpoint_every: int = 0  # environment steps between resume checkpoints (0: none)
    blas_threads: int = 1  # numpy BLAS threads while training (0: leave unchanged)

    # fields that do not change the numbers a run produces
    NON_NUMERIC = ("checkpoint_every", "blas_threads")

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.num_envs < 1 or self.total_steps < 1 or self.batch_size < 1:
            raise ValueError("num_envs, total_steps and batch_size must be positive")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DQNConfig:
        """Config from a (JSON) dict; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown DQN config keys: {', '.join(unknown)}")
        return cls(**d)


PRESETS: dict[str, dict[str, Any]] = {
    # rl-zoo's CartPole-v1 settings (DQNConfig's defaults) with plain DQN targets, the algorithm
    # they were tuned for, the learning rate decayed linearly to 0, and the best of greedy
    # evaluations every 2500 steps kept as the teacher (as rl-zoo keeps its best model). Final
    # weights measured on seeds 0-11 (50k steps, greedy mean ≥ 475): 7/12 solve with the decay,
    # 4/12 with rl-zoo's constant rate
    "classic": {"double_dqn": False, "lr_end": 0.0, "eval_every": 2_500},
    # MinAtar (Young & Tian 2019: batch 32, buffer 100k, target every 1000, ε 1 → 0.1 over the
    # first 100k steps); Adam instead of RMSProp and one update every 4 steps [ours]
    "minatar": dict(
        lr=2.5e-4,
        batch_size=32,
        buffer_size=100_000,
        learning_starts=5_000,
        train_freq=4,
        gradient_steps=1,
        target_update_interval=1_000,
        end_e=0.05,
        exploration_fraction=0.1,
        max_grad_norm=10.0,
    ),
    # Atari (CleanRL's dqn_atari settings; a 50k buffer of two uint8 frame stacks is 2.8 GB)
    "atari": dict(
        lr=1e-4,
        batch_size=32,
        buffer_size=50_000,
        learning_starts=80_000,
        train_freq=4,
        gradient_steps=1,
        target_update_interval=1_000,
        end_e=0.01,
        exploration_fraction=0.1,
        reward_clip=1.0,
        total_steps=10_000_000,
        blas_threads=2,
    ),
}


def env_family(env_id: str) -> str:
    """``"minatar"``, ``"atari"`` or ``"classic"`` (everything else) for an environment id."""
    if env_id.lower().startswith("minatar/"):
        return "minatar"
    if env_id.startswith("ALE/") or env_id.endswith("NoFrameskip-v4"):
        return "atari"
    return "classic"


def preset_config(env_id: str, **overrides: Any) -> DQNConfig:
    """The preset for ``env_id``'s family (:data:`PRESETS`) with ``overrides`` on top."""
    return DQNConfig.from_dict({"env_id": env_id, **PRESETS[env_family(env_id)], **overrides})


# --------------------------------------------------------------------------------------------
# Q-network
# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# one gradient step
# --------------------------------------------------------------------------------------------
def flat_parameters(shapes: dict[str, tuple[int, ...]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One float32 buffer and per-name views into it (so Adam and clipping run on one array)."""
    sizes = [int(np.prod(s)) for s in shapes.values()]
    flat = np.zeros(sum(sizes), np.float32)
    views, offset = {}, 0
    for (name, shape), size in zip(shapes.items(), sizes, strict=True):
        views[name] = flat[offset : offset + size].reshape(shape)
        offset += size
    return flat, views


def td_targets(
    net: nn.Sequential | Dueling,
    params: dict[str, np.ndarray],
    target_params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    gamma: float,
    double_dqn: bool,
    obs_scale: float = 1.0,
    q_next_target: np.ndarray | None = None,
    advantage_learning: float = 0.0,
    q_target: np.ndarray | None = None,
) -> np.ndarray:
    """TD targets (B,) float32: r + γ(1 − terminated)·Q_target(s', a*) − α·gap.

    a* = argmax_a Q_online(s', a) (Double DQN) or argmax_a Q_target(s', a). Truncated transitions
    carry terminated = 0 and so bootstrap from their real last observation s'.
    ``q_next_target`` (B, A): Q_target(s', ·) if already computed (see :func:`learn_phase`).
    ``advantage_learning`` α (Bellemare et al., AAAI 2016, "Increasing the action gap"):
    gap = max_a Q_target(s, a) − Q_target(s, a_t), so the targets of actions worse than the
    greedy one are pushed down; in the tabular case the fixed point keeps V and the greedy
    policy and multiplies every action gap by 1/(1 − α). ``q_target`` (B, A): Q_target(s, ·) if
    already computed.
    """
    rows = np.arange(len(batch["next_obs"]))
    if double_dqn or q_next_target is None:
        nxt = scale_obs(batch["next_obs"], obs_scale)
    if q_next_target is None:
        q_next_target = net(target_params, nxt)
    if double_dqn:
        a_star = np.argmax(net(params, nxt), axis=1)
        q_next = q_next_target[rows, a_star]
    else:
        q_next = q_next_target.max(axis=1)
    y = batch["rewards"] + np.float32(gamma) * (1.0 - batch["terminated"]) * q_next
    if advantage_learning:
        if q_target is None:
            q_target = net(target_params, scale_obs(batch["obs"], obs_scale))
        gap = q_target.max(axis=1) - q_target[rows, batch["actions"]]
        y = y - np.float32(advantage_learning) * gap
    return y


def td_loss_and_grads(
    net: nn.Sequential | Dueling,
    params: dict[str, np.ndarray],
    target_params: dict[str, np.ndarray],
    batch: dict[str, np.ndarray],
    gamma: float,
    double_dqn: bool,
    obs_scale: float = 1.0,
    with_stats: bool = True,
    q_next_target: np.ndarray | None = None,
    out: dict[str, np.ndarray] | None = None,
    advantage_learning: float = 0.0,
    q_target: np.ndarray | None = None,
) -> tuple[float, float, dict[str, np.ndarray]]:
    """Huber TD loss of a batch and its gradient w.r.t. ``params``: ``(loss, mean Q(s,a), grads)``.

    Targets use ``target_params`` (and ``params`` for the Double-DQN action choice); they stop at
    ``terminated`` and nowhere else. ``with_stats=False`` skips computing the loss and mean Q
    (returned as NaN); the gradient is the same. ``q_next_target`` as in :func:`td_targets`;
    ``out`` (optional, keyed like ``params``) receives the gradients in place.
    ``advantage_learning`` and ``q_target`` as in :func:`td_targets`.
    """
    obs = scale_obs(batch["obs"], obs_scale)
    rows = np.arange(len(obs))
    y = td_targets(
        net, params, target_params, batch, gamma, double_dqn, obs_scale, q_next_target,
        advantage_learning, q_target,
    )
    q, cache = net.forward(params, obs)
    a = batch["actions"]
    q_sa = q[rows, a]
    delta = q_sa - y
    loss = mean_q = float("nan")
    if with_stats:
        abs_d = np.abs(delta)
        loss = float(np.mean(np.where(abs_d < 1.0, 0.5 * delta * delta, abs_d - 0.5)))
        mean_q = float(q_sa.mean())
    dq = np.zeros_like(q)
    dq[rows, a] = np.clip(delta, -1.0, 1.0) / np.float32(len(obs))
    _, grads = net.backward(params, cache, dq) if out is None else net.backward(
        params, cache, dq, out=out
    )
    return loss, mean_q, grads


PHASE_CHUNK_ELEMENTS = 1 << 20  # observation elements sampled and prepared at once
TARGET_BATCHES = 16  # batches per target-network product (larger products run faster)


def learn_phase(
    net: nn.Sequential | Dueling,
    params: dict[str, np.ndarray],
    target_params: dict[str, np.ndarray],
    flat_grad: np.ndarray,
    grad_views: dict[str, np.ndarray],
    opt: Adam,
    rb: ReplayBuffer,
    rng: np.random.Generator,
    cfg: DQNConfig,
    obs_scale: float = 1.0,
) -> tuple[float, float]:
    """``cfg.gradient_steps`` Adam updates on uniform batches: ``(loss, mean Q)`` of the last one.

    ``grad_views`` are views into ``flat_grad``, the one array clipped and handed to ``opt``. The
    target network does not change during a phase (it is updated between environment steps), so
    Q_target(s', ·) of the phase's batches is computed ``TARGET_BATCHES`` batches per product.
    (A second thread would not help: numpy's OpenBLAS runs concurrent products one at a time.)
    """
    size, steps = cfg.batch_size, cfg.gradient_steps
    per_pass = max(1, min(steps, PHASE_CHUNK_ELEMENTS // (size * int(np.prod(rb.obs.shape[1:])))))
    loss = mean_q = float("nan")
    for first in range(0, steps, per_pass):
        n = min(per_pass, steps - first)
        batches = rb.sample(rng, size * n)
        nxt = scale_obs(batches["next_obs"], obs_scale)
        now = scale_obs(batches["obs"], obs_scale) if cfg.advantage_learning else None
        q_next_target = q_target = None
        for i in range(n):
            if i % TARGET_BATCHES == 0:
                chunk = slice(i * size, (i + TARGET_BATCHES) * size)
                q_next_target = net(target_params, nxt[chunk])
                q_target = None if now is None else net(target_params, now[chunk])
            rows = slice(i * size, (i + 1) * size)
            j = i % TARGET_BATCHES
            batch = {name: values[rows] for name, values in batches.items()}
            last = first + i == steps - 1
            stats = td_loss_and_grads(
                net, params, target_params, batch, cfg.gamma, cfg.double_dqn, obs_scale,
                with_stats=last, q_next_target=q_next_target[j * size : (j + 1) * size],
                out=grad_views, advantage_learning=cfg.advantage_learning,
                q_target=None if q_target is None else q_target[j * size : (j + 1) * size],
            )
            if last:
                loss, mean_q = stats[0], stats[1]
            clip_grad_norm({"all": flat_grad}, cfg.max_grad_norm)
            opt.step({"all": flat_grad})
    return loss, mean_q


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns: the trained network and per-episode metrics."""

    q: QNetwork
    metrics: dict[str, np.ndarray]  # step, episode_return, episode_length, epsilon (per episode)
    steps: int
    wall_s: float
    steps_per_s: float
    out_dir: Path | None = None
    evals: np.ndarray | None = None  # (k, 2): step, mean greedy return of each selection eval


def train(
    cfg: DQNConfig,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    on_checkpoint: Callable[[int], None] | None = None,
    time_limit_s: float | None = None,
    callback: Callable[[int, QNetwork], bool] | None = None,
    callback_every: int = 0,
) -> TrainResult:
    """Train a DQN teacher with ``cfg``; see the module docstring for the method.

    ``out_dir`` (optional) receives ``teacher.npz``, ``metrics.csv``, ``evals.csv`` (with
    ``cfg.eval_every``) and, every
    ``cfg.checkpoint_every`` steps and at the end, the resume state ``state.npz``.
    ``resume=True`` continues from ``out_dir/state.npz`` when it exists (its config must match
    ``cfg``). ``progress`` shows
    a tqdm bar (step, episode return, ε, steps/s). ``time_limit_s`` stops the run early (at the end
    of a step) once that much wall time has passed; ε still follows ``cfg.total_steps``.
    ``on_checkpoint(step)`` is called after each resume checkpoint is written.
    ``callback(step, q)`` is called every ``callback_every`` environment steps with the live
    Q-network (e.g. an :class:`~neurorl.rl.evaluate.EarlyStop`); returning True ends the run
    there, as a time limit would (the teacher is then the latest or the selected weights).
    """
    keep_freed_memory()
    with nn.blas_threads(cfg.blas_threads):
        return _train(cfg, out_dir, resume, progress, on_checkpoint, time_limit_s, callback,
                      callback_every)


def _train(cfg, out_dir, resume, progress, on_checkpoint, time_limit_s, callback,
           callback_every) -> TrainResult:
    from tqdm.auto import tqdm

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    # -- seeding: one Generator for init, exploration and sampling; the envs have their own
    rng = np.random.default_rng(cfg.seed)
    envs = SeededVectorEnv(cfg.env_id, cfg.num_envs, seed=cfg.seed + 1, **cfg.env_options)
    n_env = cfg.num_envs
    info = {
        "obs_shape": envs.single_observation_space.shape,
        "obs_dtype": np.dtype(envs.single_observation_space.dtype).name,
        "n_actions": int(envs.single_action_space.n),
    }

    # -- Q-network and target in flat float32 buffers; Adam over the flat buffer ("fused")
    net, obs_scale = build_q_network(
        info["obs_shape"], info["obs_dtype"], info["n_actions"], cfg.net, cfg.hidden, cfg.dueling
    )
    shapes = net.param_shapes()
    flat, params = flat_parameters(shapes)
    flat_target, target_params = flat_parameters(shapes)
    flat_grad, grad_views = flat_parameters(shapes)
    for k, v in net.init(rng, cfg.init).items():
        params[k][...] = v
    flat_target[...] = flat
    opt = Adam({"all": flat}, lr=cfg.lr, eps=cfg.adam_eps)
    q = QNetwork(net, params, obs_scale, {"env": cfg.env_id, "config": asdict(cfg)})

    # -- replay buffer
    rb = ReplayBuffer(cfg.buffer_size, info["obs_shape"], info["obs_dtype"], cfg.batch_size)

    # -- loop state (everything a checkpoint must hold)
    iteration, n_iters = 0, -(-cfg.total_steps // n_env)
    episodes: list[tuple[int, float, int, float]] = []  # step, return, length, epsilon
    best_flat, best_params = flat_parameters(shapes)  # the teacher chosen by evaluation
    best_flat[...] = flat
    evals: list[tuple[int, float]] = []  # step, mean greedy return
    obs = envs.reset()
    if resume and out is not None and (out / STATE_FILE).exists():
        iteration, obs = load_state(
            out / STATE_FILE, cfg, rng, envs, flat, flat_target, opt, rb, episodes, best_flat, evals
        )

    target_every = max(cfg.target_update_interval // n_env, 1)
    loss = mean_q = float("nan")
    t0, t_post = time.perf_counter(), 0.0
    start_iter = iteration

    def save_progress() -> None:
        """The resume state and the metrics CSV, as they stand now."""
        save_state(out / STATE_FILE, cfg, iteration, obs, rng, envs, flat, flat_target, opt, rb,
                    episodes, best_flat, evals)
        _write_metrics(out / METRICS_FILE, episodes)

    bar = tqdm(
        total=n_iters * n_env,
        initial=iteration * n_env,
        unit="step",
        disable=not progress,
        desc=cfg.env_id,
        dynamic_ncols=True,
    )
    while iteration < n_iters:
        step = iteration * n_env
        # -- act: ε-greedy (uniform random before learning starts)
        eps = linear_schedule(
            cfg.start_e, cfg.end_e, cfg.exploration_fraction * cfg.total_steps, step
        )
        if step < cfg.learning_starts:
            actions = rng.integers(0, info["n_actions"], size=n_env)
        else:
            explore = rng.random(n_env) < eps
            if explore.all():
                actions = rng.integers(0, info["n_actions"], size=n_env)
            else:
                actions = q.act(obs)
                if explore.any():
                    random_actions = rng.integers(0, info["n_actions"], size=n_env)
                    actions = np.where(explore, random_actions, actions)
        next_obs, rewards, terminated, _truncated, final_obs = envs.step(actions)
        if cfg.reward_clip > 0:
            rewards = np.clip(rewards, -cfg.reward_clip, cfg.reward_clip)
        # truncated transitions keep terminated = 0: the target bootstraps from final_obs
        rb.add(obs, final_obs, actions, rewards, terminated)
        obs = next_obs
        for _env_i, ret, length in envs.finished:
            episodes.append((step + n_env, ret, length, eps))
        envs.finished.clear()
        iteration += 1
        step = iteration * n_env

        # -- learn
        if step > cfg.learning_starts and iteration % cfg.train_freq == 0:
            if cfg.lr_end is not None:
                opt.lr = linear_schedule(cfg.lr, cfg.lr_end, cfg.total_steps, step)
            loss, mean_q = learn_phase(
                net, params, target_params, flat_grad, grad_views, opt, rb, rng, cfg, obs_scale
            )
        if iteration % target_every == 0:
            if cfg.tau >= 1.0:
                flat_target[...] = flat
            else:
                flat_target *= np.float32(1.0 - cfg.tau)
                flat_target += np.float32(cfg.tau) * flat

        # -- pick the teacher: greedy evaluation, the best (latest of equals) kept
        if cfg.eval_every and step // cfg.eval_every > (step - n_env) // cfg.eval_every:
            score = float(evaluate(q, cfg.env_id, cfg.eval_episodes, seed=SELECTION_SEED,
                                   env_options=cfg.env_options).mean())
            evals.append((step, score))
            if selected_evaluation(evals) == len(evals) - 1:
                best_flat[...] = flat

        # -- checkpoint, progress
        if (
            out is not None
            and cfg.checkpoint_every
            and (step // cfg.checkpoint_every > (step - n_env) // cfg.checkpoint_every)
            and iteration < n_iters
        ):
            save_progress()
            if on_checkpoint is not None:
                on_checkpoint(step)
        bar.update(n_env)
        if (
            callback is not None
            and callback_every
            and step // callback_every > (step - n_env) // callback_every
            and callback(step, q)
        ):
            break
        now = time.perf_counter()
        if time_limit_s is not None and now - t0 > time_limit_s:
            break
        if progress and now - t_post > 0.5:
            t_post = now
            sps = (iteration - start_iter) * n_env / max(now - t0, 1e-9)
            ret = episodes[-1][1] if episodes else float("nan")
            bar.set_postfix(
                ret=f"{ret:.1f}",
                eps=f"{eps:.3f}",
                loss=f"{loss:.3g}",
                q=f"{mean_q:.3g}",
                sps=f"{sps:.0f}",
                refresh=False,
            )
    bar.close()
    wall = time.perf_counter() - t0
    metrics = metrics_arrays(episodes)
    q.meta.update(step=iteration * n_env, seed=cfg.seed)
    teacher = q
    if evals:
        best = selected_evaluation(evals)
        teacher = QNetwork(net, best_params, obs_scale, dict(q.meta))
        teacher.meta.update(selected_at_step=evals[best][0], selection_return=evals[best][1])
    if out is not None:
        if cfg.checkpoint_every:  # a resume from here has nothing left to do (or continues
            save_progress()  # after a time limit)
        else:
            _write_metrics(out / METRICS_FILE, episodes)
        teacher.save(out / TEACHER_FILE)
        if evals:
            write_csv(out / EVALS_FILE, [{"step": st, "mean_greedy_return": r} for st, r in evals],
                      float_format=None)
    envs.close()
    done = (iteration - start_iter) * n_env
    return TrainResult(teacher, metrics, iteration * n_env, wall, done / max(wall, 1e-9), out,
                       np.array(evals, np.float64).reshape(-1, 2))


def _write_metrics(path: Path, episodes: list[tuple[int, float, int, float]]) -> None:
    write_csv(path, (
        {"step": s, "episode": i + 1, "episode_return": r, "episode_length": n,
         "epsilon": f"{e:.5f}"}
        for i, (s, r, n, e) in enumerate(episodes)
    ))


__all__ = [
    "DQNConfig",
    "PRESETS",
    "TrainResult",
    "env_family",
    "flat_parameters",
    "learn_phase",
    "preset_config",
    "td_loss_and_grads",
    "td_targets",
    "train",
]
