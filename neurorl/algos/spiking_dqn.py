"""Baselines for SDN: a spiking DQN trained from scratch by RL; the DNN DQN, evaluated greedily.

Spiking DQN, method (read :func:`train_spiking_dqn` top to bottom):

* Q-network: the SDN student's architecture (:func:`neurorl.algos.distill.build_student`: LIF
  hidden layer(s) of widths ``hidden``, non-spiking leaky readout, T simulation steps per
  decision, analog input); Q(s, ·) = ``q_scale`` × the readout membrane averaged over T
  (:class:`neurorl.algos.distill.StudentPolicy`). Inputs are divided by the per-dimension std of
  the first ``learning_starts`` (random-play) states [ours, mirrors SDN's normalisation by the
  teacher's states].
* RL: :mod:`neurorl.algos.dqn`'s machinery, not a copy of it. :class:`SpikingDQNConfig` *is* a
  :class:`~neurorl.algos.dqn.DQNConfig` (same fields, same defaults: rl-zoo's CartPole-v1
  settings with Double DQN targets, constant learning rate) plus the spiking fields; its ε
  schedule, :class:`~neurorl.rl.replay.ReplayBuffer` and
  :func:`~neurorl.algos.dqn.td_loss_and_grads` (targets from a target copy of the student,
  Huber loss) call the student through :class:`KernelQ`, an adapter with the ``nn.Sequential``
  interface whose backward is the kernel's BPTT with a surrogate gradient.
* Epoch [ours]: ``eval_every`` environment steps (the SDN epoch's data size), after which the
  network plays ``eval_episodes`` greedy episodes; the early stop is SDN's
  (:class:`~neurorl.rl.evaluate.EarlyStop`).

:func:`train_dqn_curve` runs :func:`neurorl.algos.dqn.train` unchanged and evaluates the DNN
greedily every ``eval_every`` steps through its callback.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurorl.algos import dqn
from neurorl.algos.distill import StudentPolicy, build_student, count_parameters, hidden_widths
from neurorl.ann.optim import Adam, clip_grad_norm
from neurorl.ann.qnetwork import QNetwork
from neurorl.rl.envs import SeededVectorEnv
from neurorl.rl.evaluate import EarlyStop
from neurorl.rl.replay import ReplayBuffer
from neurorl.rl.schedules import linear_schedule

__all__ = [
    "KIND",
    "CurveResult",
    "KernelQ",
    "SpikingDQNConfig",
    "train_dqn_curve",
    "train_spiking_dqn",
]

KIND = "neurorl.spiking_dqn"  # Network.save header's kind_detail
NETWORK_FILE = "spiking_dqn.npz"


@dataclass
class SpikingDQNConfig(dqn.DQNConfig):
    """The DQN's hyperparameters (:class:`~neurorl.algos.dqn.DQNConfig`) for a spiking student.

    Every DQN field keeps its meaning and default, except ``hidden`` (the LIF layer widths,
    default one layer of 16) and ``eval_every`` (steps per epoch: a greedy evaluation and the
    early stop, default 1,000; no teacher selection). Not supported (an error): ``num_envs`` > 1,
    ``dueling``, ``advantage_learning``, conv ``net`` kinds, ``checkpoint_every``.
    """

    hidden: tuple[int, ...] = (16,)
    eval_every: int = 1_000
    T: int = 8
    dt: float = 1.0
    readout_tau_ms: float = 5.0
    input_scale: float = 1.0
    q_scale: float = 1.0  # Q = q_scale · (readout averaged over T) [ours]
    surrogate: str = "rectangular"
    final_eval_episodes: int = 100
    eval_seed: int = 10_000
    target_return: float = 475.0
    early_stop: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hidden = hidden_widths(self.hidden)
        if self.eval_every < 1 or self.T < 1:
            raise ValueError("eval_every and T must be ≥ 1")
        unsupported = {
            "num_envs": self.num_envs != 1,
            "dueling": self.dueling,
            "advantage_learning": self.advantage_learning != 0,
            "net": self.net not in ("auto", "mlp"),
            "checkpoint_every": self.checkpoint_every != 0,
        }
        bad = [k for k, v in unsupported.items() if v]
        if bad:
            raise ValueError(f"the spiking DQN does not support {', '.join(bad)} (see its docs)")


class KernelQ:
    """A spiking Q-network seen through ``nn.Sequential``'s interface, for :mod:`neurorl.algos.dqn`.

    ``online`` and ``target`` are two students of the same architecture; a call picks the one
    whose ``net.params`` dict is the ``params`` passed. ``__call__(params, obs)`` → Q (N, A)
    without gradient; ``forward(params, obs)`` → (Q, cache); ``backward(params, cache, dq)`` →
    (None, grads) by BPTT, d loss / d v_readout(t) = q_scale · dq / T. Q = ``q_scale`` times
    the readout averaged over T (a fixed output gain, so that Q-values of size 1/(1 − γ) do not
    need huge readout weights).
    """

    def __init__(self, online: StudentPolicy, target: StudentPolicy, q_scale: float = 1.0) -> None:
        self.online, self.target, self.q_scale = online, target, float(q_scale)

    def _pick(self, params: dict[str, np.ndarray]) -> StudentPolicy:
        return self.online if params is self.online.net.params else self.target

    def __call__(self, params: dict[str, np.ndarray], obs: np.ndarray) -> np.ndarray:
        return self.q_scale * self._pick(params).logits(obs)

    def forward(self, params: dict[str, np.ndarray], obs: np.ndarray):
        policy = self._pick(params)
        v_readout, cache = policy.kernel.forward(policy.inputs(obs))
        return self.q_scale * v_readout.mean(0), cache

    def backward(self, params: dict[str, np.ndarray], cache, dq: np.ndarray):
        policy = self._pick(params)
        dz = np.asarray(dq, np.float64) * (self.q_scale / policy.T)
        d_out = np.broadcast_to(dz, cache.output.shape)
        return None, policy.kernel.backward(d_out, cache)


@dataclass
class CurveResult:
    """Greedy evaluations during an RL run (one row per epoch) and the final evaluation."""

    metrics: list[dict[str, float]]
    final_returns: np.ndarray
    env_steps: int
    wall_s: float
    epochs_to_target: int | None = None
    steps_to_target: int | None = None
    n_params: int = 0
    policy: Any = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def final_return(self) -> float:
        """Mean of the final greedy evaluation."""
        return float(np.mean(self.final_returns)) if len(self.final_returns) else float("nan")


def train_spiking_dqn(
    cfg: SpikingDQNConfig, progress: bool = True, out_dir: str | Path | None = None
) -> CurveResult:
    """Train the SDN student's architecture from scratch by (Double) DQN; see the module doc.

    ``out_dir`` (optional) receives ``spiking_dqn.npz`` (the online network with its T, input
    scale and ``q_scale``, readable by ``neurorl evaluate``) at the end.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    envs = SeededVectorEnv(cfg.env_id, 1, seed=cfg.seed + 1, **cfg.env_options)
    space = envs.single_observation_space
    n_obs, n_actions = int(np.prod(space.shape)), int(envs.single_action_space.n)
    rb = ReplayBuffer(cfg.buffer_size, space.shape, space.dtype, cfg.batch_size)

    # -- online and target students (the target starts as a copy of the online network)
    net = build_student(n_obs, n_actions, cfg.hidden, cfg.readout_tau_ms, cfg.dt, cfg.seed)
    online = StudentPolicy(net, cfg.T, np.full(n_obs, cfg.input_scale), cfg.surrogate)
    target = StudentPolicy(net.copy(), cfg.T, online.obs_scale, cfg.surrogate)
    qnet = KernelQ(online, target, cfg.q_scale)
    opt = Adam(online.kernel.params, lr=cfg.lr, eps=cfg.adam_eps)
    stop = EarlyStop(cfg.env_id, cfg.eval_episodes, cfg.final_eval_episodes, cfg.eval_seed,
                     cfg.target_return, cfg.early_stop)

    metrics: list[dict[str, float]] = []
    loss = float("nan")
    grad_steps = 0
    obs = envs.reset()
    bar = tqdm(
        total=cfg.total_steps,
        unit="step",
        disable=not progress,
        desc=f"spiking DQN {cfg.env_id}",
        dynamic_ncols=True,
    )
    for step in range(1, cfg.total_steps + 1):
        # -- act ε-greedily (uniformly at random before learning starts)
        eps = linear_schedule(
            cfg.start_e, cfg.end_e, cfg.exploration_fraction * cfg.total_steps, step - 1
        )
        if step <= cfg.learning_starts or rng.random() < eps:
            actions = rng.integers(0, n_actions, size=1)
        else:
            actions = online.act(obs)
        next_obs, rewards, terminated, _truncated, final_obs = envs.step(actions)
        if cfg.reward_clip > 0:
            rewards = np.clip(rewards, -cfg.reward_clip, cfg.reward_clip)
        rb.add(obs, final_obs, actions, rewards, terminated)
        obs = next_obs
        if step == cfg.learning_starts:  # input normalisation from the random-play states
            scale = cfg.input_scale / np.maximum(rb.obs[: rb.size].std(0), 1e-6)
            online.obs_scale = target.obs_scale = scale.astype(np.float64)

        # -- learn: Huber TD loss through the kernel (dqn.td_loss_and_grads), Adam
        if step > cfg.learning_starts and step % cfg.train_freq == 0:
            if cfg.lr_end is not None:
                opt.lr = linear_schedule(cfg.lr, cfg.lr_end, cfg.total_steps, step)
            for g in range(cfg.gradient_steps):
                last = g == cfg.gradient_steps - 1
                batch = rb.sample(rng, cfg.batch_size)
                stats = dqn.td_loss_and_grads(
                    qnet, online.net.params, target.net.params, batch, cfg.gamma,
                    cfg.double_dqn, with_stats=last,
                )
                clip_grad_norm(stats[2], cfg.max_grad_norm)
                opt.step(stats[2])
                grad_steps += 1
                loss = stats[0] if last else loss
        if step % cfg.target_update_interval == 0:
            if cfg.tau >= 1.0:
                target.net.set_params(online.net.params)
            else:
                for key, value in target.net.params.items():
                    value *= 1.0 - cfg.tau
                    value += cfg.tau * online.net.params[key]

        # -- epoch: greedy evaluation, early stop
        done = False
        if step % cfg.eval_every == 0:
            mean_return, done = stop.check(online, step // cfg.eval_every, step)
            metrics.append({
                "epoch": step // cfg.eval_every,
                "env_steps": step,
                "grad_steps": grad_steps,
                "wall_s": time.perf_counter() - t0 - stop.seconds,
                "epsilon": eps,
                "loss": loss,
                "eval_return": mean_return,
            })
            bar.set_postfix(ret=f"{mean_return:.1f}", eps=f"{eps:.3f}", loss=f"{loss:.3g}",
                            refresh=False)
        bar.update(1)
        if done:
            break
    bar.close()
    envs.close()
    final_returns = stop.final_returns(online)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        online.save(out / NETWORK_FILE, {"kind_detail": KIND, "env": cfg.env_id,
                                         "config": asdict(cfg), "q_scale": cfg.q_scale})
    return CurveResult(
        metrics,
        final_returns,
        step,
        time.perf_counter() - t0,
        stop.epochs_to_target,
        stop.steps_to_target,
        count_parameters(online.net.params),
        online,
        asdict(cfg),
    )


def train_dqn_curve(
    cfg: dqn.DQNConfig,
    eval_every: int = 1_000,
    eval_episodes: int = 10,
    final_eval_episodes: int = 100,
    eval_seed: int = 10_000,
    target_return: float = 475.0,
    early_stop: bool = True,
    progress: bool = False,
) -> CurveResult:
    """The DNN DQN from scratch (:func:`neurorl.algos.dqn.train`, unchanged) with a greedy
    evaluation of the live Q-network every ``eval_every`` environment steps (its callback).

    Evaluation time is left out of ``wall_s`` in the rows. With ``early_stop`` the run ends once
    an evaluation reaches ``target_return`` and ``final_eval_episodes`` episodes confirm it.
    """
    metrics: list[dict[str, float]] = []
    stop = EarlyStop(cfg.env_id, eval_episodes, final_eval_episodes, eval_seed, target_return,
                     early_stop)
    t0 = time.perf_counter()
    stopped_at: list[QNetwork] = []  # the live network that passed the early stop

    def on_epoch(step: int, q: QNetwork) -> bool:
        mean_return, done = stop.check(q, step // eval_every, step)
        metrics.append({"epoch": step // eval_every, "env_steps": step,
                        "wall_s": time.perf_counter() - t0 - stop.seconds,
                        "eval_return": mean_return})
        if done:
            stopped_at.append(QNetwork(q.net, {k: v.copy() for k, v in q.params.items()},
                                       q.obs_scale, dict(q.meta)))
        return done

    res = dqn.train(cfg, None, progress=progress, callback=on_epoch, callback_every=eval_every)
    q = stopped_at[0] if stopped_at else res.q
    final = stop.final_returns(q)
    return CurveResult(
        metrics,
        final,
        res.steps,
        time.perf_counter() - t0,
        stop.epochs_to_target,
        stop.steps_to_target,
        count_parameters(q.params),
        q,
        asdict(cfg),
    )
