"""SDN: distil a spiking student from a DQN teacher at high temperature, trained with STBP.

Zhou et al. 2021 (arXiv 2108.10078), PAPERS.md §1. Method, read :func:`distill` top to bottom:

1. Student: ``input(n_obs) -> hidden LIF layer(s) (models/lif.toml: decay 0.2, threshold 0.5,
   hard reset, learnable bias) -> n_actions non-spiking leaky readouts (models/li_readout.toml)``,
   dense event-driven coupling (Brian2: ``on_pre v_post += w``; each layer adds one step of delay
   and its input arrives after the threshold). Analog input coding: the (scaled) observation is
   fed as a constant current every one of ``T`` simulation steps per decision, the state is reset
   before each decision, and the student's logits are the readout membrane averaged over the T
   steps, ``z = mean_t v_readout(t)`` (N, A). The action is ``argmax z``.
2. Input scaling [ours]: each observation dimension is divided by its standard deviation over
   the first teacher states and multiplied by ``input_scale``; at the end the per-dimension scale
   is folded into the input weights (exact for analog input), so the saved student takes raw
   observations.
3. Data [ours]: the teacher plays ε-greedy for ``initial_steps`` environment steps; before every
   epoch ``steps_per_epoch`` more steps are played DAgger-style: each step, with probability β
   the teacher's ε-greedy action is taken, otherwise the student's greedy action; β goes
   linearly from ``beta_start`` to ``beta_end`` over ``beta_epochs`` epochs (default 1 -> 0.5
   over 4 epochs). Every visited state
   is stored with the teacher's Q-values in a ring buffer of ``buffer_size`` states.
4. Loss [ours]: ``τ²·KL(softmax(Q_teacher/τ) ‖ softmax(z/τ))`` averaged over the batch, with
   ``d loss / dz = τ·(p_student − p_teacher) / B`` and ``d loss / d v_readout(t) = (dz) / T``;
   BPTT through the kernel with the STBP rectangular surrogate (half-width 0.5), Adam, global
   gradient-norm clipping.
5. Epoch [ours, PAPERS.md]: one pass over the buffer in shuffled minibatches. After each epoch the
   student plays ``eval_episodes`` greedy episodes; when their mean reaches ``target_return``
   the result is confirmed on ``final_eval_episodes`` episodes and training stops if it holds.

:class:`StudentPolicy` is the one place that turns a student network and T into actions (the
encoder and readout of :mod:`neurorl.coding`); it is used for evaluation
(:func:`neurorl.rl.evaluate.evaluate`), for the student's own play and for the comparison with
Brian2 (:func:`play_brian2`, closed loop). The command line (``neurorl distill``) is in
:mod:`neurorl.cli`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurorl import coding, models
from neurorl.ann.optim import Adam, clip_grad_norm
from neurorl.ann.qnetwork import QNetwork
from neurorl.network import Network
from neurorl.plots import write_csv
from neurorl.rl.envs import SeededVectorEnv, make_env
from neurorl.rl.evaluate import EarlyStop
from neurorl.rl.schedules import linear_schedule

__all__ = [
    "DistillConfig",
    "DistillResult",
    "KIND",
    "StudentPolicy",
    "build_student",
    "count_parameters",
    "distill",
    "distillation_loss",
    "load_student",
    "play_brian2",
    "softmax",
]

KIND = "neurorl.distill.student"  # Network.save header's kind_detail (file format)
STUDENT_FILE = "student.npz"
METRICS_FILE = "metrics.csv"
READOUT = "readout"


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def hidden_widths(hidden: int | tuple[int, ...]) -> tuple[int, ...]:
    """Hidden layer widths as a tuple of positive ints (one int is one layer)."""
    widths = (hidden,) if isinstance(hidden, int) else tuple(int(h) for h in hidden)
    if not widths or min(widths) < 1:
        raise ValueError(f"hidden widths must be positive, got {widths}")
    return widths


@dataclass
class DistillConfig:
    """Hyperparameters of one distillation run (times in simulation steps of ``dt`` ms)."""

    env_id: str = "CartPole-v1"
    seed: int = 0
    hidden: tuple[int, ...] = (16,)  # LIF hidden layer widths
    T: int = 8  # simulation steps per decision
    tau: float = 5.0  # distillation temperature
    dt: float = 1.0  # ms
    readout_tau_ms: float = 5.0  # li_readout membrane time constant
    input_scale: float = 1.0  # after dividing each observation dimension by its std
    normalize_inputs: bool = True
    surrogate: str = "rectangular"  # STBP's rectangle, half-width 0.5
    surrogate_width: float | None = None
    lr: float = 3e-3  # 1e-2 reaches 475 as fast but oscillates in later epochs
    batch_size: int = 128
    max_grad_norm: float = 5.0
    initial_steps: int = 2_000  # teacher ε-greedy steps before the first epoch
    steps_per_epoch: int = 1_000  # DAgger steps collected before each epoch
    num_envs: int = 8  # environments played side by side while collecting
    buffer_size: int = 50_000
    teacher_epsilon: float = 0.1
    # DAgger mixing: probability β that the teacher (ε-greedy) acts while collecting before
    # epoch e ≥ 2, linear from beta_start (e = 1) to beta_end (e ≥ 1 + beta_epochs) [ours].
    # CartPole, 3 seeds: 1 -> 0 over 10 epochs took 6-16 epochs to 475; 1 -> 0 over 1 epoch
    # 3-5 but later epochs lost it again (final 100-episode means ~200); 1 -> 0.5 over 4 epochs
    # 5-6 and stayed at 500
    beta_start: float = 1.0
    beta_end: float = 0.5
    beta_epochs: int = 4
    max_epochs: int = 100
    eval_episodes: int = 10
    final_eval_episodes: int = 100
    eval_seed: int = 10_000  # episode i of every evaluation is reset with eval_seed + i
    target_return: float = 475.0
    early_stop: bool = True

    def __post_init__(self) -> None:
        self.hidden = hidden_widths(self.hidden)
        if self.T < 1:
            raise ValueError(f"T (simulation steps per decision) must be ≥ 1, got {self.T}")
        if not self.tau > 0:
            raise ValueError(f"temperature tau must be positive, got {self.tau}")
        if self.batch_size < 1 or self.max_epochs < 0 or self.initial_steps < 1:
            raise ValueError("batch_size and initial_steps must be ≥ 1, max_epochs ≥ 0")
        for name in ("beta_start", "beta_end", "teacher_epsilon"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DistillConfig:
        """Config from a (JSON) dict; unknown keys are an error naming them."""
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown distillation config keys: {', '.join(unknown)}")
        return cls(**d)


# --------------------------------------------------------------------------------------------
# the student
# --------------------------------------------------------------------------------------------
def build_student(
    n_in: int,
    n_actions: int,
    hidden: tuple[int, ...] = (16,),
    readout_tau_ms: float = 5.0,
    dt: float = 1.0,
    seed: int = 0,
    model: str = "lif",
) -> Network:
    """``input(n_in) -> hidden1..k (model) -> readout (n_actions x li_readout)``, dense.

    Weights start uniform in ±1/sqrt(fan-in), biases at 0 (the Network's defaults).
    """
    net = Network(dt=dt, seed=seed)
    previous = net.input(n_in, name="obs")
    for i, width in enumerate(hidden):
        layer = net.layer(width, models.load(model), name=f"hidden{i + 1}")
        net.connect(previous, layer)
        previous = layer
    readout = net.layer(
        n_actions, models.load("li_readout"), name=READOUT, tau=f"{readout_tau_ms}*ms"
    )
    net.connect(previous, readout)
    return net


def count_parameters(params: dict[str, np.ndarray]) -> int:
    """Number of trainable numbers in a parameter dict (weights, biases, learnable parameters)."""
    return int(sum(np.size(v) for v in params.values()))


class StudentPolicy:
    """A student network and its decision rule, a policy of :mod:`neurorl.rl.policy`.

    Every decision resets the network, feeds ``obs * obs_scale`` as a constant current for
    ``T`` steps (:func:`neurorl.coding.constant_current`) and takes the argmax of the readout
    membrane averaged over those steps (:func:`neurorl.coding.window_mean`); nothing carries
    from one decision to the next, so ``reset`` has nothing to clear. ``obs_scale`` (n_in,) or
    None (raw observations).
    """

    def __init__(
        self,
        net: Network,
        T: int,
        obs_scale: np.ndarray | None = None,
        surrogate: str = "rectangular",
        width: float | None = None,
    ) -> None:
        self.net, self.T = net, int(T)
        self.obs_scale = None if obs_scale is None else np.asarray(obs_scale, np.float64)
        self.kernel = net.kernel(surrogate=surrogate, width=width, dtype=np.float64)
        self.n_actions = net.output_layer.size

    def inputs(self, obs: np.ndarray) -> np.ndarray:
        """Observations (N, n_in) -> input currents (T, N, n_in), float64."""
        return coding.constant_current(obs, self.T, self.obs_scale)

    def logits(self, obs: np.ndarray) -> np.ndarray:
        """z (N, A): the readout membrane averaged over the T steps (no gradient kept)."""
        out, _ = self.kernel.forward(self.inputs(obs), for_backward=False)
        return coding.window_mean(out)

    q_values = logits

    def reset(self, done: np.ndarray | None = None) -> None:
        """Nothing to clear: the network starts from its initial state every decision."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions (N,) int64 for observations (N, n_in) (first on ties)."""
        obs = np.asarray(obs)
        if obs.ndim == 1:
            obs = obs[None]
        return np.argmax(self.logits(obs), axis=1)

    def spikes_per_decision(self, obs: np.ndarray) -> np.ndarray:
        """Hidden spikes per decision (N,), summed over neurons, layers and the T steps."""
        _, cache = self.kernel.forward(self.inputs(np.asarray(obs)), for_backward=False)
        return sum(
            cache.spikes(la.name).sum((0, 2)) for la in self.net.neuron_layers if la.model.spiking
        )

    def folded(self) -> StudentPolicy:
        """An equivalent policy on raw observations: ``obs_scale`` folded into the input weights.

        Exact for analog input (the drive is ``w * x``); a new network, this one is unchanged.
        """
        net = self.net.copy()
        if self.obs_scale is not None:
            (conn,) = [c for c in net.connections if c.pre.is_input]
            net.params[conn.key][...] *= self.obs_scale[:, None]
        return StudentPolicy(
            net, self.T, None, self.kernel.surrogate.name, self.kernel.surrogate.width
        )

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write the (folded) student as a :meth:`Network.save` checkpoint with ``T`` in its
        header; :func:`load_student` reads it back."""
        policy = self.folded()
        header = {
            "kind_detail": KIND,
            "T": self.T,
            "surrogate": self.kernel.surrogate.name,
            **(meta or {}),
        }
        return policy.net.save(path, header)


def load_student(path: str | Path) -> tuple[StudentPolicy, dict[str, Any]]:
    """Read a student written by :meth:`StudentPolicy.save`: ``(policy, meta)``."""
    net, meta = Network.load(path)
    if "T" not in meta:
        raise ValueError(f"{path}: a network without T in its header is not a distilled student")
    return StudentPolicy(net, int(meta["T"]), None, meta.get("surrogate", "rectangular")), meta


# --------------------------------------------------------------------------------------------
# the loss
# --------------------------------------------------------------------------------------------
def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def softmax(x: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``x / tau`` (N, A)."""
    return np.exp(_log_softmax(np.asarray(x, np.float64) / tau))


def distillation_loss(z: np.ndarray, q_teacher: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """``τ²·KL(softmax(q/τ) ‖ softmax(z/τ))`` averaged over the batch, and d loss / dz (N, A).

    ``z`` student logits (N, A), ``q_teacher`` teacher Q-values (N, A).
    """
    log_pt = _log_softmax(np.asarray(q_teacher, np.float64) / tau)
    log_ps = _log_softmax(np.asarray(z, np.float64) / tau)
    pt = np.exp(log_pt)
    kl = np.sum(pt * (log_pt - log_ps), axis=1)
    loss = float(tau * tau * kl.mean())
    grad = tau * (np.exp(log_ps) - pt) / len(z)
    return loss, grad


# --------------------------------------------------------------------------------------------
# distillation buffer
# --------------------------------------------------------------------------------------------
class DistillBuffer:
    """Ring buffer of states (capacity, n_obs) and the teacher's Q-values on them (capacity, A)."""

    def __init__(self, capacity: int, n_obs: int, n_actions: int) -> None:
        self.obs = np.zeros((capacity, n_obs), np.float64)
        self.q = np.zeros((capacity, n_actions), np.float64)
        self.capacity, self.pos, self.size = int(capacity), 0, 0

    def add(self, obs: np.ndarray, q: np.ndarray) -> None:
        """Append states (n, n_obs) with teacher Q-values (n, A)."""
        idx = (self.pos + np.arange(len(obs))) % self.capacity
        self.obs[idx], self.q[idx] = obs, q
        self.pos = int((self.pos + len(obs)) % self.capacity)
        self.size = min(self.size + len(obs), self.capacity)


def collect(
    envs: SeededVectorEnv,
    obs: np.ndarray,
    teacher: QNetwork,
    student: StudentPolicy | None,
    beta: float,
    epsilon: float,
    steps: int,
    rng: np.random.Generator,
    buffer: DistillBuffer,
) -> tuple[np.ndarray, int]:
    """Play ``steps`` environment steps (summed over copies), DAgger-style, into ``buffer``.

    Per copy and step: with probability ``beta`` the teacher acts ε-greedily, otherwise the
    student acts greedily. Every visited state is stored with the teacher's Q-values. Returns the
    observations to continue from and the number of steps taken. The student is reset where an
    episode ends (the policy protocol; a no-op for this rate-coded student).
    """
    n = envs.num_envs
    taken = 0
    if student is not None:
        student.reset(np.ones(n, bool))
    while taken < steps:
        q = teacher.q_values(obs).astype(np.float64)
        actions = np.argmax(q, axis=1)
        explore = rng.random(n) < epsilon
        actions = np.where(explore, rng.integers(0, teacher.n_actions, n), actions)
        if student is not None and beta < 1.0:
            own = rng.random(n) >= beta
            if own.any():
                actions = np.where(own, student.act(obs), actions)
        buffer.add(np.asarray(obs, np.float64).reshape(n, -1), q)
        obs, _, terminated, truncated, _ = envs.step(actions)
        if student is not None:
            student.reset(np.logical_or(terminated, truncated))
        taken += n
    return obs, taken


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
@dataclass
class DistillResult:
    """What :func:`distill` returns: the folded student and per-epoch metrics.

    ``metrics`` rows: epoch, env_steps, grad_steps, wall_s (evaluations excluded), beta, loss,
    agreement (with the teacher's greedy action on the epoch's minibatches), eval_return (mean of
    ``eval_episodes``), spikes_per_decision. ``epochs_to_target``/``steps_to_target``: the first
    epoch (and env steps by then) whose evaluation reached the target, None if none did.
    """

    policy: StudentPolicy
    metrics: list[dict[str, float]]
    final_returns: np.ndarray
    epochs: int
    env_steps: int
    wall_s: float
    epochs_to_target: int | None = None
    steps_to_target: int | None = None
    n_params: int = 0
    teacher_params: int = 0
    out_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def final_return(self) -> float:
        """Mean of the final greedy evaluation."""
        return float(np.mean(self.final_returns)) if len(self.final_returns) else float("nan")


def distill(
    teacher: QNetwork,
    cfg: DistillConfig,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> DistillResult:
    """Distil ``teacher`` into a spiking student with ``cfg``; see the module docstring.

    ``out_dir`` (optional) receives ``student.npz`` (after every epoch and at the end, the
    package's safe format) and ``metrics.csv``.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # -- seeding: one Generator for exploration, mixing and minibatches; the envs have their own
    rng = np.random.default_rng(cfg.seed)
    envs = SeededVectorEnv(cfg.env_id, cfg.num_envs, seed=cfg.seed + 1)
    n_obs = int(np.prod(envs.single_observation_space.shape))
    n_actions = int(envs.single_action_space.n)
    if n_actions != teacher.n_actions:
        raise ValueError(f"teacher has {teacher.n_actions} actions, {cfg.env_id} has {n_actions}")

    # -- data: the teacher's ε-greedy play first
    buffer = DistillBuffer(cfg.buffer_size, n_obs, n_actions)
    obs = envs.reset()
    obs, env_steps = collect(
        envs, obs, teacher, None, 1.0, cfg.teacher_epsilon, cfg.initial_steps, rng, buffer
    )

    # -- student; inputs scaled by the per-dimension std of the teacher's states
    scale = np.full(n_obs, cfg.input_scale)
    if cfg.normalize_inputs:
        scale = cfg.input_scale / np.maximum(buffer.obs[: buffer.size].std(0), 1e-6)
    net = build_student(n_obs, n_actions, cfg.hidden, cfg.readout_tau_ms, cfg.dt, cfg.seed)
    student = StudentPolicy(net, cfg.T, scale, cfg.surrogate, cfg.surrogate_width)
    kernel = student.kernel
    opt = Adam(kernel.params, lr=cfg.lr)

    metrics: list[dict[str, float]] = []
    stop = EarlyStop(cfg.env_id, cfg.eval_episodes, cfg.final_eval_episodes, cfg.eval_seed,
                     cfg.target_return, cfg.early_stop)
    grad_steps, eval_s = 0, 0.0
    bar = tqdm(
        total=cfg.max_epochs,
        desc=f"SDN {cfg.env_id}",
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
    )
    for epoch in range(1, cfg.max_epochs + 1):
        # -- DAgger: more states, from the teacher (β) and from the student (1 − β)
        beta = linear_schedule(cfg.beta_start, cfg.beta_end, cfg.beta_epochs, epoch - 1)
        if epoch > 1 and cfg.steps_per_epoch > 0:
            obs, taken = collect(
                envs,
                obs,
                teacher,
                student,
                beta,
                cfg.teacher_epsilon,
                cfg.steps_per_epoch,
                rng,
                buffer,
            )
            env_steps += taken

        # -- one pass over the buffer: KD loss at temperature τ, BPTT, Adam
        order = rng.permutation(buffer.size)
        losses, agree = [], []
        for first in range(0, len(order), cfg.batch_size):
            idx = order[first : first + cfg.batch_size]
            v_readout, cache = kernel.forward(student.inputs(buffer.obs[idx]))
            z = coding.window_mean(v_readout)
            loss, dz = distillation_loss(z, buffer.q[idx], cfg.tau)
            if not np.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} in epoch {epoch}; weights unchanged")
            grads = kernel.backward(np.broadcast_to(dz / cfg.T, v_readout.shape), cache)
            clip_grad_norm(grads, cfg.max_grad_norm)
            opt.step(grads)
            grad_steps += 1
            losses.append(loss * len(idx))
            agree.append(np.sum(z.argmax(1) == buffer.q[idx].argmax(1)))

        # -- greedy evaluation, early stop (confirmed on more episodes); wall_s leaves it out
        t_eval = time.perf_counter()
        mean_return, done = stop.check(student, epoch, env_steps)
        spikes = float(student.spikes_per_decision(buffer.obs[:256]).mean())
        row = {
            "epoch": epoch,
            "env_steps": env_steps,
            "grad_steps": grad_steps,
            "wall_s": t_eval - t0 - eval_s,
            "beta": beta,
            "loss": float(np.sum(losses) / buffer.size),
            "agreement": float(np.sum(agree)) / buffer.size,
            "eval_return": mean_return,
            "spikes_per_decision": spikes,
        }
        metrics.append(row)
        bar.set_postfix(
            KL=f"{row['loss']:.4f}",
            agree=f"{row['agreement']:.3f}",
            ret=f"{row['eval_return']:.1f}",
            refresh=False,
        )
        bar.update(1)
        if out is not None:
            student.save(
                out / STUDENT_FILE, {"env": cfg.env_id, "epoch": epoch, "config": asdict(cfg)}
            )
            write_csv(out / METRICS_FILE, metrics)
        eval_s += time.perf_counter() - t_eval
        if done:
            break
    bar.close()
    envs.close()

    # -- the saved student takes raw observations: fold the input scale into the weights
    policy = student.folded()
    final_returns = stop.final_returns(policy)
    epochs_to_target, steps_to_target = stop.epochs_to_target, stop.steps_to_target
    n_params = count_parameters(net.params)
    teacher_params = count_parameters(teacher.params)
    summary = {
        "env": cfg.env_id,
        "epochs": len(metrics),
        "env_steps": env_steps,
        "final_return": float(np.mean(final_returns)) if len(final_returns) else None,
        "epochs_to_target": epochs_to_target,
        "steps_to_target": steps_to_target,
        "n_params": n_params,
        "teacher_params": teacher_params,
        "config": asdict(cfg),
    }
    if out is not None:
        policy.save(out / STUDENT_FILE, summary)
        write_csv(out / METRICS_FILE, metrics)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return DistillResult(
        policy,
        metrics,
        final_returns,
        len(metrics),
        env_steps,
        time.perf_counter() - t0,
        epochs_to_target,
        steps_to_target,
        n_params,
        teacher_params,
        out,
        asdict(cfg),
    )


# --------------------------------------------------------------------------------------------
# Brian2 closed loop
# --------------------------------------------------------------------------------------------
def play_brian2(
    policy: StudentPolicy,
    env_id: str,
    episodes: int = 1,
    seed: int = 10_000,
    target: str = "numpy",
    max_steps: int | None = None,
    device: str = "runtime",
):
    """Episodes of ``env_id`` controlled by the student running in Brian2 (closed loop on
    ``device``, see :mod:`neurorl.sim.devices`).

    One ``run()`` per episode; a ``network_operation`` every T steps reads the readout membrane
    averaged over the window (SDN's readout), steps the environment, resets the network and
    writes the next (scaled) observation. Episode ``i`` is reset with ``seed + i``. Returns
    :class:`~neurorl.sim.closed_loop.Episode`s.
    """
    from neurorl.sim.closed_loop import closed_loop, mean_readout

    env = make_env(env_id)
    try:
        return closed_loop(
            policy.net,
            env,
            policy.T,
            mean_readout(READOUT),
            episodes=episodes,
            seed=seed,
            preprocess=lambda o: policy.inputs(np.asarray(o)[None])[0, 0],
            reset_state=True,
            mean_of=((READOUT, "v"),),
            target=target,
            max_steps=max_steps,
            device=device,
        )
    finally:
        env.close()
