"""Baselines for SDN: a spiking DQN trained from scratch by RL; the DNN DQN, evaluated greedily.

Spiking DQN, method (read :func:`train_spiking_dqn` top to bottom):

* Q-network: the SDN student's architecture (:func:`neurorl.distill.build_student`: LIF hidden
  layer(s), non-spiking leaky readout, T simulation steps per decision, analog input);
  Q(s, ·) = the readout membrane averaged over T (:class:`neurorl.distill.StudentPolicy`).
  Inputs are divided by the per-dimension std of the first ``learning_starts`` (random-play)
  states [ours, mirrors SDN's normalisation by the teacher's states].
* RL: :mod:`neurorl.dqn`'s machinery, not a copy of it — its ε schedule
  (:func:`~neurorl.dqn.linear_schedule`), :class:`~neurorl.replay.ReplayBuffer`, and
  :func:`~neurorl.dqn.td_loss_and_grads` (Double-DQN targets from a target copy of the student,
  Huber loss), which call the student through :class:`KernelQ`, an adapter with the
  ``nn.Sequential`` interface whose backward is the kernel's BPTT with a surrogate gradient.
  Hyperparameters default to the DQN teacher's classic-control preset.
* Epoch [ours]: ``eval_every`` environment steps (the SDN epoch's data size), after which the
  network plays ``eval_episodes`` greedy episodes; the same early stop as SDN.

:func:`train_dqn_curve` runs :func:`neurorl.dqn.train` unchanged and evaluates the DNN greedily
every ``eval_every`` steps from the resume state it writes.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurorl import checkpoint, dqn
from neurorl.distill import StudentPolicy, build_student, count_parameters, hidden_widths
from neurorl.envs import SeededVectorEnv
from neurorl.optim import Adam, clip_grad_norm

__all__ = [
    "CurveResult",
    "KernelQ",
    "SpikingDQNConfig",
    "train_dqn_curve",
    "train_spiking_dqn",
]


@dataclass
class SpikingDQNConfig:
    """Hyperparameters of the spiking DQN (step counts are environment steps)."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    hidden: tuple[int, ...] = (16,)
    T: int = 8
    dt: float = 1.0
    readout_tau_ms: float = 5.0
    input_scale: float = 1.0
    q_scale: float = 1.0  # Q = q_scale · (readout averaged over T) [ours]
    surrogate: str = "rectangular"
    total_steps: int = 50_000
    lr: float = 2.3e-3
    gamma: float = 0.99
    buffer_size: int = 100_000
    batch_size: int = 64
    learning_starts: int = 1_000
    train_freq: int = 256
    gradient_steps: int = 128
    target_update_interval: int = 10
    start_e: float = 1.0
    end_e: float = 0.04
    exploration_fraction: float = 0.16
    max_grad_norm: float = 10.0
    double_dqn: bool = True
    eval_every: int = 1_000
    eval_episodes: int = 10
    final_eval_episodes: int = 100
    eval_seed: int = 10_000
    target_return: float = 475.0
    early_stop: bool = True

    def __post_init__(self) -> None:
        self.hidden = hidden_widths(self.hidden)
        if self.total_steps < 1 or self.eval_every < 1 or self.T < 1:
            raise ValueError("total_steps, eval_every and T must be ≥ 1")


class KernelQ:
    """A spiking Q-network seen through ``nn.Sequential``'s interface, for :mod:`neurorl.dqn`.

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


def train_spiking_dqn(cfg: SpikingDQNConfig, progress: bool = True) -> CurveResult:
    """Train the SDN student's architecture from scratch by (Double) DQN; see the module doc."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    envs = SeededVectorEnv(cfg.env_id, 1, seed=cfg.seed + 1)
    space = envs.single_observation_space
    n_obs, n_actions = int(np.prod(space.shape)), int(envs.single_action_space.n)
    rb = dqn.ReplayBuffer(cfg.buffer_size, space.shape, space.dtype, cfg.batch_size)

    # -- online and target students (the target is a second network with copied parameters)
    def student() -> StudentPolicy:
        net = build_student(n_obs, n_actions, cfg.hidden, cfg.readout_tau_ms, cfg.dt, cfg.seed)
        return StudentPolicy(net, cfg.T, np.full(n_obs, cfg.input_scale), cfg.surrogate)

    online, target = student(), student()
    qnet = KernelQ(online, target, cfg.q_scale)
    opt = Adam(online.kernel.params, lr=cfg.lr)

    metrics: list[dict[str, float]] = []
    final_returns = np.zeros(0)
    epochs_to_target = steps_to_target = None
    loss = float("nan")
    grad_steps, eval_s = 0, 0.0
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
        eps = dqn.linear_schedule(
            cfg.start_e, cfg.end_e, cfg.exploration_fraction * cfg.total_steps, step - 1
        )
        if step <= cfg.learning_starts or rng.random() < eps:
            actions = rng.integers(0, n_actions, size=1)
        else:
            actions = online.act(obs)
        next_obs, rewards, terminated, _truncated, final_obs = envs.step(actions)
        rb.add(obs, final_obs, actions, rewards, terminated)
        obs = next_obs
        if step == cfg.learning_starts:  # input normalisation from the random-play states
            scale = cfg.input_scale / np.maximum(rb.obs[: rb.size].std(0), 1e-6)
            online.obs_scale = target.obs_scale = scale.astype(np.float64)

        # -- learn: Huber TD loss through the kernel (dqn.td_loss_and_grads), Adam
        if step > cfg.learning_starts and step % cfg.train_freq == 0:
            for g in range(cfg.gradient_steps):
                batch = rb.sample(rng, cfg.batch_size)
                stats = dqn.td_loss_and_grads(
                    qnet,
                    online.net.params,
                    target.net.params,
                    batch,
                    cfg.gamma,
                    cfg.double_dqn,
                    with_stats=g == cfg.gradient_steps - 1,
                )
                clip_grad_norm(stats[2], cfg.max_grad_norm)
                opt.step(stats[2])
                grad_steps += 1
                loss = stats[0] if g == cfg.gradient_steps - 1 else loss
        if step % cfg.target_update_interval == 0:
            target.net.set_params(online.net.params)

        # -- epoch: greedy evaluation, early stop
        if step % cfg.eval_every == 0:
            te = time.perf_counter()
            returns = dqn.evaluate(online, cfg.env_id, cfg.eval_episodes, cfg.eval_seed)
            eval_s += time.perf_counter() - te
            row = {
                "epoch": step // cfg.eval_every,
                "env_steps": step,
                "grad_steps": grad_steps,
                "wall_s": time.perf_counter() - t0 - eval_s,
                "epsilon": eps,
                "loss": loss,
                "eval_return": float(returns.mean()),
            }
            metrics.append(row)
            bar.set_postfix(
                ret=f"{row['eval_return']:.1f}", eps=f"{eps:.3f}", loss=f"{loss:.3g}", refresh=False
            )
            if row["eval_return"] >= cfg.target_return:
                if epochs_to_target is None:
                    epochs_to_target, steps_to_target = row["epoch"], step
                if cfg.early_stop:
                    final_returns = dqn.evaluate(
                        online, cfg.env_id, cfg.final_eval_episodes, cfg.eval_seed
                    )
                    if final_returns.mean() >= cfg.target_return:
                        bar.update(1)
                        break
                    final_returns = np.zeros(0)
        bar.update(1)
    bar.close()
    envs.close()
    if len(final_returns) == 0 and cfg.final_eval_episodes > 0:
        final_returns = dqn.evaluate(online, cfg.env_id, cfg.final_eval_episodes, cfg.eval_seed)
    return CurveResult(
        metrics,
        final_returns,
        step,
        time.perf_counter() - t0,
        epochs_to_target,
        steps_to_target,
        count_parameters(online.net.params),
        online,
        asdict(cfg),
    )


class _Stop(Exception):
    """Raised from the checkpoint callback to end a DQN run early (target reached)."""


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
    """The DNN DQN from scratch (:func:`neurorl.dqn.train`, unchanged) with a greedy evaluation
    every ``eval_every`` environment steps, read from the resume state the run writes then.

    Evaluation time is left out of ``wall_s`` in the rows. With ``early_stop`` the run ends once
    an evaluation reaches ``target_return`` and ``final_eval_episodes`` episodes confirm it.
    """
    cfg = dqn.DQNConfig.from_dict({**asdict(cfg), "checkpoint_every": eval_every})
    metrics: list[dict[str, float]] = []
    found: dict[str, Any] = {"final": np.zeros(0), "epoch": None, "step": None, "q": None}
    clock = {"t0": time.perf_counter(), "eval": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)

        def load_q() -> dqn.QNetwork:
            arrays, _ = checkpoint.load(out / dqn.STATE_FILE)
            space_shape = (int(arrays["obs"].shape[1]),)
            net, scale = dqn.build_q_network(space_shape, "float32", _n_actions(cfg.env_id), cfg)
            flat, params = dqn.flat_parameters(net.param_shapes())
            flat[...] = arrays["flat/q"]
            return dqn.QNetwork(net, params, scale)

        def on_checkpoint(step: int) -> None:
            te = time.perf_counter()
            q = load_q()
            returns = dqn.evaluate(q, cfg.env_id, eval_episodes, eval_seed)
            row = {
                "epoch": step // eval_every,
                "env_steps": step,
                "wall_s": te - clock["t0"] - clock["eval"],
                "eval_return": float(returns.mean()),
            }
            metrics.append(row)
            stop = False
            if row["eval_return"] >= target_return:
                if found["epoch"] is None:
                    found["epoch"], found["step"] = row["epoch"], step
                if early_stop:
                    final = dqn.evaluate(q, cfg.env_id, final_eval_episodes, eval_seed)
                    if final.mean() >= target_return:
                        found["final"], found["q"], stop = final, q, True
            clock["eval"] += time.perf_counter() - te
            if stop:
                raise _Stop

        try:
            res = dqn.train(cfg, out, progress=progress, on_checkpoint=on_checkpoint)
            q, steps = res.q, res.steps
        except _Stop:
            q, steps = found["q"], metrics[-1]["env_steps"]
    final = found["final"]
    if len(final) == 0 and final_eval_episodes > 0:
        final = dqn.evaluate(q, cfg.env_id, final_eval_episodes, eval_seed)
    return CurveResult(
        metrics,
        final,
        steps,
        time.perf_counter() - clock["t0"],
        found["epoch"],
        found["step"],
        count_parameters(q.params),
        q,
        asdict(cfg),
    )


def _n_actions(env_id: str) -> int:
    from neurorl.envs import make_env

    env = make_env(env_id)
    try:
        return int(env.action_space.n)
    finally:
        env.close()
