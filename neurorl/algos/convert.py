"""DQN -> SNN conversion (Tan, Patel & Kozma, AAAI 2021), evaluated in the kernel and in Brian2.

Method, top to bottom:

1. States: the teacher plays ε-greedy (ε = 0.05) and ~15,000 observations are kept.
2. Normalisation: for every layer l, λ_l is the p-th percentile of its pre-activations on those
   states (p = 99.9 by default; p = 100 is max-norm). W_l <- W_l λ_{l-1} / λ_l and
   b_l <- b_l / λ_l with λ_0 = 1, the output layer included. The ANN's argmax is unchanged.
   ``per="neuron"`` [ours] takes one λ per hidden unit (conv: per channel) instead; a dueling
   teacher is converted through its advantage stream (see :func:`convert`).
3. Network: one layer of integrate-and-fire neurons (threshold 1, reset by subtraction, no leak,
   no refractory period) per DQN layer, the bias injected every step, and the (scaled)
   observation fed as an analog current every step; dense and convolutional layers keep their
   structure (NCHW). Brian2's schedule (groups, thresholds, synapses, resets) adds one step of
   synaptic delay per layer, which Tan et al.'s simulator does not have: with the plain model
   (``models/if.toml``) layer k integrates T steps of bias but only T - k of input. The default
   model ``models/if_onset.toml`` [ours] starts each layer's bias at the step its input first
   arrives (hidden layer k at step k, the output layer L at step L - 1, whose readout comes after
   its last input), so bias and input are integrated over the same steps. Hidden membranes start
   at ``v_init`` * v_th (default 1/2 [ours]: rates are rounded to k/T instead of floored; the
   paper starts at 0). On CartPole-v1 (three teachers, 5,000 held-out states) both together raise
   the robust conversion rate by 1-8 points at T = 100-200 (see scripts/fig_conversion.py, which
   also plots the paper's variant: ``model="if", v_init=0``).
4. Readouts of the output layer after T steps: the spike count, and the robust readout
   spike count * v_th + final membrane - initial membrane, which with reset by subtraction equals
   the input the neuron integrated (it removes the quantisation error and keeps the sign of
   negative Q-values). The action is the argmax.
5. Conversion rate: the fraction of states on which the SNN's action equals the DQN's.
6. Calibration (optional, :func:`calibrate`) [ours, after the output-layer case of Li et al.,
   ICML 2021]: for a chosen T, the output layer's weights and bias are refitted by least squares
   so that its robust readout on the normalisation states matches the ANN's outputs given the
   spike counts the hidden layers actually emit, which recovers much of what rounding rates to
   k/T loses.

Evaluation paths that agree exactly (float64): :func:`kernel_readouts` (batched numpy, for
sweeps), :func:`brian2_readouts` (batch replay, N copies in one run, on any device of
:mod:`neurorl.sim.devices`, e.g. ``cpp_standalone``) and :func:`play_brian2` (Brian2 closed
loop). Encoding and readouts are :mod:`neurorl.coding`'s.

:data:`RECIPE` is what ``neurorl convert`` does by default (the variant that works on CartPole:
p = 99.99, one λ per neuron, the output layer calibrated for T); :data:`PAPER` is Tan et al.'s
variant. :meth:`SNNPolicy.save` / :func:`load_converted` keep a converted network (with its T,
readout and scales) to evaluate, cost or run in Brian2 later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurorl import coding, models
from neurorl.ann.qnetwork import QNetwork, scale_obs
from neurorl.network import Network
from neurorl.rl import evaluate as rl_evaluate
from neurorl.rl.envs import make_env
from neurorl.sim import devices
from neurorl.topology import Connection, Conv

__all__ = [
    "CONVERSION_TEACHER",
    "KIND",
    "PAPER",
    "RECIPE",
    "ConvertedSNN",
    "Readouts",
    "SNNPolicy",
    "brian2_readouts",
    "calibrate",
    "collect_states",
    "conversion_rate",
    "convert",
    "kernel_readouts",
    "layer_scales",
    "load_converted",
    "normalised_ann",
    "play_brian2",
    "rate_code_bound",
    "report",
    "scale_summary",
]


# DQN preset overrides for a teacher meant for conversion [ours]: a dueling MLP (ann.dueling)
# whose advantage stream, one hidden layer of 2048, is what gets converted, trained with
# advantage learning (α = 0.9), which widens the action gaps. A plain CartPole Q-network's gaps
# are ~0.04 % of Q, far below the rounding of hidden rates to k/T; the advantage stream carries
# only the gaps. See scripts/fig_conversion.py --seed-table for what it gives per seed.
CONVERSION_TEACHER: dict = {"dueling": True, "hidden": (2048,), "advantage_learning": 0.9}

# what `neurorl convert` and :func:`report` do by default [ours]: on CartPole-v1 a plain teacher
# converted this way returns 500 where the paper's variant returns ~50 (README)
RECIPE: dict = {"percentile": 99.99, "per": "neuron", "model": "if_onset", "v_init": 0.5,
                "calibrated": True}
# Tan et al.'s variant: one λ per layer at p = 99.9, bias from step 0, membranes from 0
PAPER: dict = {"percentile": 99.9, "per": "layer", "model": "if", "v_init": 0.0,
               "calibrated": False}
KIND = "neurorl.convert.ConvertedSNN"  # Network.save header's kind_detail
SNN_FILE = "snn.npz"


@dataclass
class ConvertedSNN:
    """A converted network with what its evaluation needs.

    ``scales`` are the λ_l used (floats, or per-unit arrays for hidden layers, see
    :func:`layer_scales`); ``obs_scale`` is the teacher's observation scale (1/255 for
    Atari frames), applied before the observation is fed as a current; ``output`` names the
    output layer; ``v_th`` its threshold and ``v_init``
    the membrane potential every neuron starts from (both in the model's units, 1 = threshold
    after normalisation); ``calibrated_T`` the T its output layer was refitted for
    (:func:`calibrate`), None if it was not.
    """

    net: Network
    scales: list[float | np.ndarray]
    percentile: float
    obs_scale: float
    output: str
    v_th: float = 1.0
    v_init: float = 0.0
    calibrated_T: int | None = None

    @property
    def n_actions(self) -> int:
        """Number of output neurons (actions)."""
        return self.net.layers[self.output].size

    def inputs(self, obs: np.ndarray, T: int) -> np.ndarray:
        """Constant analog input (:func:`neurorl.coding.constant_current`) of the teacher's
        scaled observations: (N, ...) -> currents (T, N, n_in)."""
        return coding.constant_current(scale_obs(np.asarray(obs), self.obs_scale), T)


@dataclass
class Readouts:
    """Output-layer readouts (N, A) and activity per decision (N,)."""

    count: np.ndarray
    robust: np.ndarray
    spikes: np.ndarray
    synaptic_ops: np.ndarray

    def actions(self, readout: str = "robust") -> np.ndarray:
        """Greedy actions (N,) under ``readout`` (``"robust"`` or ``"count"``; first on ties)."""
        return np.argmax(self.robust if readout == "robust" else self.count, axis=1)


def collect_states(
    teacher: QNetwork, env_id: str, n: int = 15_000, epsilon: float = 0.05, seed: int = 0
) -> np.ndarray:
    """Observations (n, *obs_shape) of the teacher playing ε-greedy (ε = 0.05 as in the paper)."""
    return rl_evaluate.collect_states(teacher, env_id, n, epsilon=epsilon, seed=seed)


def layer_scales(
    teacher: QNetwork, states: np.ndarray, percentile: float = 99.9, per: str = "layer"
) -> list[float | np.ndarray]:
    """λ_l: the ``percentile`` of each layer's pre-activations over ``states`` (p = 100: max).

    ``per="layer"``: one float per layer (the paper). ``per="neuron"``: an array (n_units,) per
    hidden layer, one λ per unit (per channel for a conv layer), over that unit's pre-activations
    alone [ours, after the channel-wise normalisation of Kim et al., AAAI 2020]; a unit that never
    turns on over ``states`` gets λ = 1. The output layer always has one λ (its argmax must not
    change).
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if per not in ("layer", "neuron"):
        raise ValueError(f"per must be 'layer' or 'neuron', got {per!r}")
    scales = []
    for batch in np.array_split(states, max(1, len(states) // 4096)):
        _, pre = teacher.forward(batch, preactivations=True)
        scales.append([np.asarray(z, dtype=np.float64) for z in pre])
    lambdas: list[float | np.ndarray] = []
    n_layers = len(scales[0])
    for layer in range(n_layers):
        values = np.concatenate([s[layer] for s in scales])
        if per == "neuron" and layer < n_layers - 1:
            per_unit = np.moveaxis(values, 1, 0).reshape(values.shape[1], -1)
            lam = np.percentile(per_unit, percentile, axis=1)
            lambdas.append(np.where(lam > 0, lam, 1.0))
            continue
        lam = float(np.percentile(values.ravel(), percentile))
        if not lam > 0:
            raise ValueError(
                f"layer {layer}: the {percentile}th percentile of its pre-activations is {lam}; "
                "normalisation needs a positive scale (more or other states?)"
            )
        lambdas.append(lam)
    return lambdas


def convert(
    teacher: QNetwork,
    states: np.ndarray,
    percentile: float = 99.9,
    model: str = "if_onset",
    dt: float = 1.0,
    v_init: float = 0.5,
    per: str = "layer",
) -> ConvertedSNN:
    """Convert ``teacher`` into a :class:`ConvertedSNN` of ``model`` neurons (see module doc).

    A dueling teacher (:mod:`neurorl.ann.dueling`) is converted through its advantage stream
    (:meth:`QNetwork.greedy_network`): its argmax is the teacher's greedy action, and its layers
    are normalised on the scale of the advantages instead of that of V ≈ 1/(1-γ) [ours].

    Args:
        teacher: the DQN (MLP or conv, or a dueling MLP).
        states: observations (N, *obs_shape) whose pre-activations set the scales λ_l.
        percentile: the percentile p of each layer's pre-activations used as λ_l (100: max-norm).
        model: an IF model file with ``v``, ``v_th`` and a per-neuron ``bias``; if it has an
            ``onset`` parameter (``"if_onset"``, the default) each layer's bias starts at the
            step its input first arrives; ``"if"`` injects the bias from step 0 in every layer.
        dt: simulation time step in ms (the dynamics count steps, so it only sets the clock).
        v_init: initial membrane potential of the hidden layers as a fraction of v_th (0.5
            rounds their rates to k/T, 0 floors them as in the paper); the output layer starts
            from the model's initial state (0 for the shipped IF models).
        per: ``"layer"`` (one λ per layer, the paper) or ``"neuron"`` (one λ per hidden unit or
            channel, see :func:`layer_scales`); either way the ANN's argmax is unchanged.
    """
    teacher = teacher.greedy_network()
    neuron = models.load(model)
    v_th = float(neuron.parameters["v_th"].si) if "v_th" in neuron.parameters else 1.0
    # hidden layers start at v_init * v_th (their rates are what the next layer sees); the output
    # layer keeps the model's own initial state, so its spike count is the paper's readout
    hidden = dataclasses.replace(neuron, initial={**neuron.initial, "v": v_init * v_th})
    lambdas = layer_scales(teacher, states, percentile, per)
    net = Network(dt=dt, seed=0)
    previous = net.input(int(np.prod(teacher.net.in_shape)), name="obs")
    prev_scale: float | np.ndarray = 1.0  # λ of the previous layer's units (channels)
    n_layers = len(lambdas)
    for k, (layer, lam) in enumerate(zip(teacher.layers, lambdas, strict=True)):
        spec = layer.spec
        weights, bias = _normalised_weights(layer, prev_scale, lam)
        last = k == n_layers - 1
        name = "q" if last else f"if{k + 1}"
        size = int(np.prod(spec.out_shape))
        conv = None
        if spec.kind != "dense":
            conv = Conv(tuple(spec.in_shape), spec.out_shape[0], spec.kernel, spec.stride)
            bias = np.repeat(bias, size // len(bias))  # per channel -> per neuron (NCHW)
        extra = {}
        if "onset" in neuron.parameters:
            # hidden layer k + 1 (1-based) first integrates input at step k + 1; the output
            # layer's robust readout is taken after its input of the last step, hence k
            extra["onset"] = float(k if last else k + 1)
        current = net.layer(size, neuron if last else hidden, name=name, bias=bias, **extra)
        net.connect(previous, current, w=weights, conv=conv, name=f"{previous.name}_to_{name}")
        previous, prev_scale = current, lam
    v0 = float(net.initial_state(net.layers["q"])["v"])
    return ConvertedSNN(net, lambdas, percentile, teacher.obs_scale, "q", v_th, v0)


def _normalised_weights(
    layer, prev_scale: float | np.ndarray, lam: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """W_l λ_{l-1} / λ_l and b_l / λ_l (float64) for scalar or per-unit (per-channel) λ."""
    W = np.asarray(layer.W, np.float64)
    prev, lam = np.asarray(prev_scale, np.float64), np.asarray(lam, np.float64)
    if layer.spec.kind == "dense":
        if prev.ndim:  # one λ per input unit; after a conv layer, per channel of NCHW
            prev = np.repeat(prev, W.shape[0] // len(prev))[:, None]
        return W * prev / lam, np.asarray(layer.b, np.float64) / lam
    if prev.ndim:
        prev = prev[None, :, None, None]
    out = lam[:, None, None, None] if lam.ndim else lam
    return W * prev / out, np.asarray(layer.b, np.float64) / lam


def normalised_ann(snn: ConvertedSNN, obs: np.ndarray) -> np.ndarray:
    """The ReLU network the SNN approximates, with the normalised weights: (N, A) = Q / λ_L.

    Its argmax equals the teacher's (normalisation rescales each layer by a positive factor).
    """
    return _normalised_forward(snn, obs, lambda z: np.maximum(z, 0))


def rate_code_bound(snn: ConvertedSNN, obs: np.ndarray, T: int | None) -> np.ndarray:
    """The ideal rate code of ``snn``'s normalised ANN: (N, A) output for observations (N, ...).

    Every hidden activation is clipped to [0, 1] (the most a neuron can fire) and rounded to a
    multiple of 1/T (what T steps can express); no delays, the output layer exact (the robust
    readout). ``T=None`` clips only. Its argmax's agreement with the teacher bounds what any
    rate-coded conversion with these scales can reach in T steps, computed on the ANN side only.
    """

    def rate(z: np.ndarray) -> np.ndarray:
        z = np.clip(z, 0.0, 1.0)
        return z if T is None else np.round(z * T) / T

    return _normalised_forward(snn, obs, rate)


def _normalised_forward(
    snn: ConvertedSNN, obs: np.ndarray, hidden: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The normalised ANN on ``obs`` (float64), ``hidden`` after every layer but the last."""
    h = snn.inputs(obs, 1)[0]
    layers = snn.net.neuron_layers
    for k, layer in enumerate(layers):
        conn = _incoming(snn.net, layer)
        h = h @ conn.dense(snn.net.params[conn.key]) + snn.net.params[f"{layer.name}.bias"]
        if k < len(layers) - 1:
            h = hidden(h)
    return h


def _incoming(net: Network, layer) -> Connection:
    """The one connection into ``layer`` of a converted (feed-forward) network."""
    (conn,) = [c for c in net.connections if c.post is layer]
    return conn


def kernel_readouts(snn: ConvertedSNN, obs: np.ndarray, T: int, batch: int = 256) -> Readouts:
    """Run the converted network in the kernel (float64) on ``obs`` (N, ...) for ``T`` steps."""
    parts = [_readouts(snn, counts, v) for counts, v in _kernel_counts(snn, obs, T, batch)]
    return Readouts(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("count", "robust", "spikes", "synaptic_ops")
        )
    )


def _kernel_counts(
    snn: ConvertedSNN, obs: np.ndarray, T: int, batch: int = 256
) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Per chunk of ``batch`` observations: spike counts after ``T`` steps, (n, size) per layer,
    and the output layer's final v (n, A)."""
    kernel = snn.net.kernel(dtype=np.float64)
    for chunk in np.array_split(np.asarray(obs), max(1, int(np.ceil(len(obs) / batch)))):
        _, cache = kernel.forward(snn.inputs(chunk, T), for_backward=False)
        counts = {la.name: cache.spikes(la.name).sum(0) for la in snn.net.neuron_layers}
        yield counts, cache.final_state()[snn.output]["v"]


def calibrate(snn: ConvertedSNN, states: np.ndarray, T: int, ridge: float = 1e-6) -> ConvertedSNN:
    """``snn`` with its output layer refitted for ``T`` steps per decision [ours].

    After Li et al. (ICML 2021), who calibrate each layer of a converted network on the spikes
    the layer below really emits; here only the output layer, where it is exact: the robust
    readout is linear in the output weights W and bias b given the last hidden layer's spike
    counts n (N, H), readout = n W + c b with c the number of steps the output integrates its
    bias (T, or T - onset for ``if_onset``). W and b are refitted by ridge regression, pulled
    towards their normalised values, so that the readout on ``states`` matches c times the
    normalised ANN's outputs (:func:`normalised_ann`). The hidden layers and scales are
    unchanged; the calibrated network is meant for runs of ``T`` steps (it runs at any T).

    Args:
        snn: a converted network (not modified).
        states: observations (N, *obs_shape), e.g. those that set the scales (the cost is one
            kernel run of them for T steps).
        T: simulation steps per decision to calibrate for.
        ridge: penalty on the change of [W; b], relative to the mean diagonal of the normal
            equations (> 0; it also keeps hidden units that never fire at their weights).
    """
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0, got {ridge}")
    states = np.asarray(states)
    if len(states) == 0:
        raise ValueError("calibrate needs at least one state")
    layer = snn.net.layers[snn.output]
    conn = _incoming(snn.net, layer)
    if conn.conv is not None or conn.mask is not None:
        raise ValueError(f"calibrate refits a dense output layer; {conn.name} is not dense")
    bias_steps = T - float(snn.net.parameter_values(layer).get("onset", 0.0))
    if bias_steps < 1:
        raise ValueError(f"T = {T} leaves the output layer no step to integrate its bias")
    counts = np.concatenate([c[conn.pre.name] for c, _ in _kernel_counts(snn, states, T)])
    X = np.hstack([counts, np.full((len(states), 1), bias_steps)])
    target = bias_steps * normalised_ann(snn, states)
    bias_key = f"{snn.output}.bias"
    old = np.vstack([conn.dense(snn.net.params[conn.key]), snn.net.params[bias_key][None]])
    gram = X.T @ X
    penalty = ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
    new = old + np.linalg.solve(gram + penalty, X.T @ (target - X @ old))
    net = snn.net.copy()
    net.params[conn.key], net.params[bias_key] = new[:-1], new[-1]
    return dataclasses.replace(snn, net=net, calibrated_T=int(T))


def brian2_readouts(
    snn: ConvertedSNN, obs: np.ndarray, T: int, device: str = "cpp_standalone", **options
) -> Readouts:
    """Run ``obs`` (N, ...) as N copies of the network in one run on ``device`` (batch replay;
    any device of :mod:`neurorl.sim.devices`). ``genn``: under schedule "genn" (same spikes
    for IF), the last step's spikes in flight added (:func:`neurorl.sim.genn.in_flight`)."""
    from neurorl.sim import batch, genn

    net = snn.net.with_schedule("genn") if device == "genn" else snn.net
    result = batch.run_batch(net, snn.inputs(obs, T), device, record="all" if device == "genn"
                             else "final", **options)
    extra = genn.in_flight(net, result, snn.output, "v") if device == "genn" else 0.0
    return _readouts(snn, result.spike_counts, result.final[snn.output]["v"] + extra)


def _readouts(snn: ConvertedSNN, counts: dict[str, np.ndarray], v_final: np.ndarray) -> Readouts:
    out = counts[snn.output]
    spikes = sum(c.sum(1) for c in counts.values())
    fan_out = _fan_out(snn.net)
    sops = sum(counts[name] @ fan_out[name] for name in counts if name in fan_out)
    robust = coding.robust(out, v_final, snn.v_th, snn.v_init)
    return Readouts(out, robust, spikes, np.asarray(sops, dtype=float))


def _fan_out(net: Network) -> dict[str, np.ndarray]:
    """Synapses leaving each neuron of each layer, (n,) per layer."""
    fan: dict[str, np.ndarray] = {}
    for conn in net.connections:
        if conn.pre.is_input:
            continue
        count = np.full(conn.pre.size, conn.post.size) if conn.mask is None else conn.mask.sum(1)
        fan[conn.pre.name] = fan.get(conn.pre.name, 0) + count
    return fan


def scale_summary(scales: list[float | np.ndarray]) -> list:
    """The λ_l for a report: floats as they are, per-unit arrays as ``{min, median, max}``."""
    return [
        round(float(x), 4) if np.ndim(x) == 0
        else {k: round(float(f(x)), 4) for k, f in (("min", np.min), ("median", np.median),
                                                    ("max", np.max))}
        for x in scales
    ]


def conversion_rate(snn_actions: np.ndarray, dqn_actions: np.ndarray) -> float:
    """Fraction of states on which the two greedy actions agree."""
    return float(np.mean(np.asarray(snn_actions) == np.asarray(dqn_actions)))


class SNNPolicy:
    """The converted network as a policy (:mod:`neurorl.rl.policy`): every decision runs T
    kernel steps from the reset state on the current observation, so it carries no state
    between decisions and ``reset`` has nothing to clear."""

    def __init__(self, snn: ConvertedSNN, T: int, readout: str = "robust") -> None:
        if readout not in ("robust", "count"):
            raise ValueError(f"readout must be 'robust' or 'count', got {readout!r}")
        self.snn, self.T, self.readout = snn, int(T), readout
        self.n_actions = snn.n_actions

    def reset(self, done: np.ndarray | None = None) -> None:
        """Nothing to clear: the network starts from its initial state every decision."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions (N,) for observations (N, ...)."""
        return kernel_readouts(self.snn, obs, self.T).actions(self.readout)

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write the converted network with its T, readout, scales and teacher's observation
        scale (a :meth:`Network.save` checkpoint); :func:`load_converted` reads it back."""
        snn = self.snn
        header = {
            "kind_detail": KIND,
            "T": self.T,
            "readout": self.readout,
            "output": snn.output,
            "v_th": snn.v_th,
            "v_init": snn.v_init,
            "obs_scale": snn.obs_scale,
            "percentile": snn.percentile,
            "calibrated_T": snn.calibrated_T,
            "scales": [np.asarray(x).tolist() for x in snn.scales],
            **(meta or {}),
        }
        return snn.net.save(path, header)


def load_converted(path: str | Path) -> tuple[SNNPolicy, dict[str, Any]]:
    """Read a converted network written by :meth:`SNNPolicy.save`: ``(policy, meta)``."""
    net, meta = Network.load(path)
    if meta.get("kind_detail") != KIND:
        raise ValueError(f"{path}: not a converted SNN (kind_detail {meta.get('kind_detail')!r})")
    scales = [x if isinstance(x, float) else np.asarray(x, np.float64) for x in meta["scales"]]
    snn = ConvertedSNN(net, scales, float(meta["percentile"]), float(meta["obs_scale"]),
                       meta["output"], float(meta["v_th"]), float(meta["v_init"]),
                       meta.get("calibrated_T"))
    return SNNPolicy(snn, int(meta["T"]), meta.get("readout", "robust")), meta


def play_brian2(
    snn: ConvertedSNN,
    env_id: str,
    T: int,
    readout: str = "robust",
    episodes: int = 1,
    seed: int = 10_000,
    target: str = "numpy",
    device: str = "runtime",
):
    """Episodes of ``env_id`` controlled by the converted network running in Brian2 (closed
    loop on ``device``, see :mod:`neurorl.sim.devices`).

    Before each decision the network is reset, as in the paper's evaluation; the readout is that
    of :func:`kernel_readouts`. Returns the :class:`~neurorl.sim.closed_loop.Episode` list
    (returns, observations, actions).
    """
    from neurorl.sim.closed_loop import closed_loop, count_readout, robust_readout

    choose = (
        robust_readout(snn.output, snn.v_th, snn.v_init)
        if readout == "robust"
        else count_readout(snn.output)
    )
    env = make_env(env_id)
    try:
        return closed_loop(
            snn.net,
            env,
            T,
            choose,
            episodes=episodes,
            seed=seed,
            preprocess=lambda o: snn.inputs(np.asarray(o)[None], 1)[0, 0],
            target=target,
            device=device,
        )
    finally:
        env.close()


def report(
    teacher: QNetwork,
    env_id: str,
    percentile: float = RECIPE["percentile"],
    T: int = 100,
    backend: str = "kernel",
    n_states: int = 15_000,
    n_eval: int = 1_000,
    episodes: int = 10,
    seed: int = 0,
    model: str = RECIPE["model"],
    v_init: float = RECIPE["v_init"],
    per: str = RECIPE["per"],
    calibrated: bool = RECIPE["calibrated"],
    out: str | Path | None = None,
    meta: dict | None = None,
) -> dict:
    """Convert ``teacher`` and measure it: what ``neurorl convert`` prints.

    The defaults are :data:`RECIPE`; ``**PAPER`` gives Tan et al.'s variant. ``model``,
    ``v_init`` and ``per`` are those of :func:`convert`; ``calibrated`` refits the output layer
    for ``T`` on the normalisation states (:func:`calibrate`).

    ``backend``: a device of :mod:`neurorl.sim.devices`. The conversion rate comes from a batch
    replay of the held-out states there; the returns from a Brian2 closed loop where the device
    can run one (``runtime``, ``nc64c``), else from the kernel. ``out``: also write the
    converted network to ``out/snn.npz`` (:meth:`SNNPolicy.save`, with ``meta`` in its header,
    e.g. the teacher's path for ``neurorl energy``) and the report to ``out/report.json``.
    """
    import json

    device = devices.get(backend)
    states = collect_states(teacher, env_id, n=n_states, seed=seed)
    held = collect_states(teacher, env_id, n=n_eval, seed=seed + 1)
    snn = convert(teacher, states, percentile=percentile, model=model, v_init=v_init, per=per)
    if calibrated:
        snn = calibrate(snn, states, T)
    if device.name == "kernel":
        readouts = kernel_readouts(snn, held, T)
    else:
        readouts = brian2_readouts(snn, held, T, device=device.name)
    dqn_actions = teacher.act(held)
    eval_seed = 10_000 + seed
    if device.brian2_name is not None and device.closed_loop:
        played = play_brian2(snn, env_id, T, episodes=episodes, seed=eval_seed, device=device.name)
        snn_returns = np.array([ep.total_reward for ep in played])
    else:
        snn_returns = rl_evaluate.evaluate(SNNPolicy(snn, T), env_id, episodes, eval_seed)
    dqn_returns = rl_evaluate.evaluate(teacher, env_id, episodes, eval_seed)
    result = {
        "env": env_id,
        "backend": backend,
        "percentile": percentile,
        "T": T,
        "model": model,
        "v_init": v_init,
        "conversion_rate_robust": conversion_rate(readouts.actions("robust"), dqn_actions),
        "conversion_rate_count": conversion_rate(readouts.actions("count"), dqn_actions),
        "snn_return_mean": float(snn_returns.mean()),
        "dqn_return_mean": float(dqn_returns.mean()),
        "spikes_per_decision": float(readouts.spikes.mean()),
        "synaptic_ops_per_decision": float(readouts.synaptic_ops.mean()),
        "per": per,
        "calibrated_T": snn.calibrated_T,
        "layer_scales": scale_summary(snn.scales),
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        SNNPolicy(snn, T).save(out / SNN_FILE, {"env": env_id, "report": result, **(meta or {})})
        (out / "report.json").write_text(json.dumps(result, indent=1))
    return result
