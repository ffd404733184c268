"""Surrogate-gradient training speed: neurorl's numpy kernel against SpikingJelly and snnTorch.

What is compared
----------------
One and the same spiking network is trained for N steps on every side, float32 everywhere, on the
CPU, and the wall-clock time of a full training step (forward over T, loss, BPTT backward, Adam
update) is reported as ms/step together with the ratio peer / neurorl:

* input x_t: an analog (T=8, B=64, 4) batch (a fixed pool of random batches, the same everywhere);
* Dense 4->128 -> LIF -> Dense 128->128 -> LIF -> Dense 128->2 -> leaky non-spiking readout;
* LIF (STBP style): v <- 0.2 v + W x + b, spike = H(v - 0.5), hard reset v <- 0 after a spike;
* readout: v <- 0.8 v + W s + b (an integrator, no spikes); its membrane is the network output;
* loss: MSE between the readout averaged over T and a random (B, 2) target; Adam, lr 1e-3;
* surrogate: atan with alpha = 2, i.e. dH/dv ~ alpha / 2 / (1 + (pi/2 alpha (v - 0.5))^2).

Sides:

* neurorl: ``Network`` with models ``lif`` (v <- 0.2 v + b, threshold v > 0.5, reset v = 0) and
  ``li_readout`` (tau = -1 ms / ln 0.8, so v <- b + 0.8 (v - b)) -> ``net.kernel(surrogate="atan",
  dtype=np.float32)``, the numpy forward/backward derived from Brian2's abstract code, and
  ``neurorl.ann.optim.Adam``; it starts from the same weights as the peers. Brian2's schedule
  within a
  step is update -> threshold -> synaptic effects (v += W s) -> reset, so a spike (or input) reaches
  the next layer's threshold one step later: one step of synaptic delay per layer, and the input
  is decayed once before it is compared with the threshold. Its spike trains therefore differ from
  the peers'; the work per training step (the same matrix products over T*B rows and element-wise
  updates over T) is the same, and dense numpy does not depend on spike counts.
* SpikingJelly (multi-step mode, ``functional.set_step_mode(net, "m")``): ``layer.Linear`` +
  ``neuron.LIFNode(tau=1.25, decay_input=False, v_threshold=0.5, v_reset=0.0,
  surrogate_function=surrogate.ATan(alpha=2.0))`` -- v <- v - (v - 0)/1.25 + x = 0.2 v + x -- and
  ``neuron.NonSpikingLIFNode(tau=5.0)`` as readout (v <- 0.8 v + 0.2 x, so its Linear holds 5x the
  shared weights to give v <- 0.8 v + W s + b); ``functional.reset_net`` before every step.
  SpikingJelly >= 2.0 has no ``backend=`` argument any more: on the CPU the LIF runs as its
  registered CPU operator (a T-loop forward with a hand-written backward); cupy plays no part.
* snnTorch: ``snn.Leaky(beta=0.2, threshold=0.5, spike_grad=surrogate.atan(alpha=2.0),
  reset_mechanism="zero")`` looped over T, readout ``snn.Leaky(beta=0.8,
  reset_mechanism="none")`` whose membrane is read. Each Linear is applied to the whole (T, B, n)
  sequence at once and only the neurons loop over T (no recurrence, so this computes exactly what
  the per-time-step loop of the snnTorch tutorials computes, with 3 matrix products instead of 24).
  snnTorch zeroes a neuron at the start of the step after its spike (``reset_delay=True``), which
  gives exactly the spike trains of the hard reset above; its reset carries no gradient
  (detached), SpikingJelly's does (``detach_reset=False``, its default).

Dynamics check (always run first, cheap): on the same weights and the same input, every side's
spikes in both hidden layers over all T = 8 steps are compared with a plain numpy evaluation of its
formulas (the peers: the formulas above; neurorl: the same under Brian2's schedule,
:func:`reference_forward_brian2`), and its readout trace with the reference readout. All three
match (identical spike trains, readout equal to float32 rounding; checked with spikingjelly 2.0.0,
snntorch 1.0.0, torch 2.13.0). ``--check`` adds: the gradients of the two peers on one batch
(SpikingJelly with ``detach_reset=True``, so that both compute the same gradient; they agree to
~1e-7), and the dynamics check again after two Adam steps on each peer.

Timing: first every side is timed with 1 and with 2 threads (2 cores here; N/4 steps each) and
the faster count is used for the timing proper; all figures and the choices are printed. For the
peers that is torch's intra-op thread count (``torch.set_num_threads``), for neurorl numpy's
OpenBLAS threads (set through the library's ``openblas_set_num_threads``, found the way
threadpoolctl finds it; where that fails, numpy's default is used and said so). Each configuration
gets warm-up steps, then its timed steps split into rounds that cycle through all sides (so a busy
moment on the shared machine hits every side alike); ms/step is the median over the timed steps.

How to run (the peers live in their own environment, neurorl never imports them)::

    make bench-env        # builds .venv-bench: torch (CPU), the peers and neurorl (editable)
    .venv-bench/bin/python benchmarks/bench_surrogate.py [--steps N] [--check]

A side whose package is not installed (or, for neurorl, whose kernel does not import) is skipped
with a note. Nothing is asserted about the timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

T, BATCH, N_IN, N_HID, N_OUT = 8, 64, 4, 128, 2
DECAY, THRESHOLD, DECAY_R = 0.2, 0.5, 0.8
ALPHA, LR = 2.0, 1e-3
POOL = 4  # distinct (input, target) batches, cycled through
LAYER_SHAPES = ((N_IN, N_HID), (N_HID, N_HID), (N_HID, N_OUT))


# --------------------------------------------------------------------------------------------
# Shared data, weights and the reference dynamics (plain numpy, the formulas of the docstring)
# --------------------------------------------------------------------------------------------


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A pool of inputs (POOL, T, B, 4) and targets (POOL, B, 2), float32."""
    rng = np.random.default_rng(seed)
    xs = rng.normal(0.0, 1.0, size=(POOL, T, BATCH, N_IN)).astype(np.float32)
    ys = rng.normal(0.0, 1.0, size=(POOL, BATCH, N_OUT)).astype(np.float32)
    return xs, ys


def make_weights(seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W (n_in, n_out), b (n_out,)) per layer, torch's default Linear init U(+-1/sqrt(n_in))."""
    rng = np.random.default_rng(seed)
    out = []
    for n_in, n_out in LAYER_SHAPES:
        bound = 1.0 / np.sqrt(n_in)
        w = rng.uniform(-bound, bound, size=(n_in, n_out)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=(n_out,)).astype(np.float32)
        out.append((w, b))
    return out


def reference_forward(x: np.ndarray, weights) -> tuple[list[np.ndarray], np.ndarray]:
    """The formulas step by step: spikes of both hidden layers (T, B, 128), readout (T, B, 2)."""
    (w1, b1), (w2, b2), (w3, b3) = weights
    v1 = np.zeros((x.shape[1], N_HID), np.float32)
    v2 = np.zeros_like(v1)
    v3 = np.zeros((x.shape[1], N_OUT), np.float32)
    s1_seq, s2_seq, out = [], [], []
    for t in range(x.shape[0]):
        v1 = DECAY * v1 + x[t] @ w1 + b1
        s1 = (v1 >= THRESHOLD).astype(np.float32)
        v1 = v1 * (1.0 - s1)
        v2 = DECAY * v2 + s1 @ w2 + b2
        s2 = (v2 >= THRESHOLD).astype(np.float32)
        v2 = v2 * (1.0 - s2)
        v3 = DECAY_R * v3 + s2 @ w3 + b3
        s1_seq.append(s1)
        s2_seq.append(s2)
        out.append(v3)
    return [np.stack(s1_seq), np.stack(s2_seq)], np.stack(out)


def reference_forward_brian2(x: np.ndarray, weights) -> tuple[list[np.ndarray], np.ndarray]:
    """The same network under Brian2's schedule within a step, as neurorl's models define it.

    Per step: state update (LIF: v <- 0.2 v + b; readout: v <- b + 0.8 (v - b)), threshold
    (v > 0.5) on the updated v, then the synaptic effects of this step's presynaptic spikes (or
    analog input) v += W s, then the reset (v <- 0 where the threshold fired). Input reaching a
    neuron in the step it fires is lost to the reset, and spikes influence the next layer's
    threshold one step later.
    """
    (w1, b1), (w2, b2), (w3, b3) = weights
    v = [np.zeros((x.shape[1], N_HID), np.float32) for _ in range(2)]
    v3 = np.zeros((x.shape[1], N_OUT), np.float32)
    spikes: list[list[np.ndarray]] = [[], []]
    out = []
    for t in range(x.shape[0]):
        pre = x[t]
        for i, (w, b) in enumerate(((w1, b1), (w2, b2))):
            u = DECAY * v[i] + b
            fired = u > THRESHOLD
            v[i] = np.where(fired, 0.0, u + pre @ w).astype(np.float32)
            pre = fired.astype(np.float32)
            spikes[i].append(pre)
        v3 = b3 + DECAY_R * (v3 - b3) + pre @ w3
        out.append(v3)
    return [np.stack(s) for s in spikes], np.stack(out)


def mse_over_time_grad(out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """loss = mean((mean_t out - y)^2) and d loss / d out (T, B, 2)."""
    diff = out.mean(axis=0) - y
    loss = float(np.mean(diff * diff))
    d_mean = (2.0 / diff.size) * diff
    d_out = np.broadcast_to(d_mean / out.shape[0], out.shape).astype(out.dtype)
    return loss, d_out


# --------------------------------------------------------------------------------------------
# Sides. Each builder returns an object with .step(k) -> loss (one full training step on batch k),
# .forward_trace(x) -> ([spikes layer 1, spikes layer 2], readout) for the dynamics check, and
# .weights() -> the current [(W, b), ...] in the shared (n_in, n_out) layout.
# --------------------------------------------------------------------------------------------


class NeurorlSide:
    name = "neurorl"

    def __init__(self, xs: np.ndarray, ys: np.ndarray, weights) -> None:
        from neurorl import Network, models
        from neurorl.ann.optim import Adam

        net = Network(dt=1.0, seed=0)
        x = net.input(N_IN)
        h1 = net.layer(N_HID, models.load("lif"))
        h2 = net.layer(N_HID, models.load("lif"))
        # li_readout relaxes with exp(-dt/tau) per step: tau = -dt/ln(0.8) gives the decay 0.8
        tau_ms = -1.0 / float(np.log(DECAY_R))
        q = net.layer(N_OUT, models.load("li_readout"), tau=f"{tau_ms!r}*ms")
        net.connect(x, h1)
        net.connect(h1, h2)
        net.connect(h2, q)
        self.kernel = net.kernel(surrogate="atan", dtype=np.float32)
        self.loaded = _load_shared_weights(self.kernel.params, weights)
        self.opt = Adam(self.kernel.params, lr=LR)
        self.xs, self.ys = xs, ys
        self.hidden = [h1.name, h2.name]

    def forward_trace(self, x: np.ndarray):
        out, cache = self.kernel.forward(x)
        return [np.asarray(cache.spikes(name)) for name in self.hidden], np.asarray(out)

    def weights(self):
        p = self.kernel.params
        mats = [k for k, a in p.items() if a.ndim == 2]
        vecs = [k for k, a in p.items() if a.ndim == 1]
        return [(p[m].copy(), p[v].copy()) for m, v in zip(mats, vecs, strict=True)]

    def step(self, k: int) -> float:
        out, cache = self.kernel.forward(self.xs[k])
        loss, d_out = mse_over_time_grad(out, self.ys[k])
        grads = self.kernel.backward(d_out, cache)
        self.opt.step(grads)
        return loss


def _load_shared_weights(params: dict[str, np.ndarray], weights) -> bool:
    """Copy the shared weights into the kernel's parameters where the shapes say which is which.

    The kernel's parameter names are its own; weight matrices are recognised by shape ((n_in, n_out)
    or transposed), biases by (n_out,) in layer order. Returns False (and leaves the kernel's own
    initialisation) if that is ambiguous; timing does not depend on it.
    """
    mats = [k for k, p in params.items() if p.ndim == 2]
    vecs = [k for k, p in params.items() if p.ndim == 1]
    if len(mats) != len(LAYER_SHAPES):
        return False
    for key, (w, _) in zip(mats, weights, strict=True):
        p = params[key]
        if p.shape == w.shape:
            p[...] = w
        elif p.shape == w.T.shape and w.shape[0] != w.shape[1]:
            p[...] = w.T
        elif p.shape == w.shape:  # square: (n_in, n_out) assumed
            p[...] = w
        else:
            return False
    if len(vecs) == len(LAYER_SHAPES):
        for key, (_, b) in zip(vecs, weights, strict=True):
            if params[key].shape == b.shape:
                params[key][...] = b
    return True


def _torch_weights(linears) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy()) for lin in linears
    ]


def _torch_grads(side, out, y, gains) -> list[tuple[np.ndarray, np.ndarray]]:
    """Loss gradient w.r.t. the shared (W, b) of each layer (a Linear holding gain * W, gain * b
    gets gain * dL/d(gain W) = dL/dW)."""
    side.opt.zero_grad(set_to_none=True)
    side.torch.nn.functional.mse_loss(out.mean(0), y).backward()
    return [
        (lin.weight.grad.numpy().T * g, lin.bias.grad.numpy() * g)
        for lin, g in zip(side.linears, gains, strict=True)
    ]


def _set_linear(lin, w: np.ndarray, b: np.ndarray, gain: float = 1.0) -> None:
    import torch

    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T * gain)))
        lin.bias.copy_(torch.from_numpy(b * gain))


class SpikingJellySide:
    name = "spikingjelly"
    READOUT_GAIN = 5.0  # NonSpikingLIFNode(tau=5): v <- 0.8 v + x / 5

    def __init__(self, xs, ys, weights, detach_reset: bool = False) -> None:
        import torch
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        self.torch, self.functional = torch, functional

        def lif():
            return neuron.LIFNode(
                tau=1.25,
                decay_input=False,
                v_threshold=THRESHOLD,
                v_reset=0.0,
                surrogate_function=surrogate.ATan(alpha=ALPHA),
                detach_reset=detach_reset,
            )

        self.linears = [layer.Linear(a, b) for a, b in LAYER_SHAPES]
        self.lifs = [lif(), lif()]
        self.readout = neuron.NonSpikingLIFNode(tau=1.0 / (1.0 - DECAY_R))
        self.net = torch.nn.Sequential(
            self.linears[0], self.lifs[0], self.linears[1], self.lifs[1], self.linears[2]
        )
        functional.set_step_mode(self.net, "m")
        for i, (w, b) in enumerate(weights):
            _set_linear(self.linears[i], w, b, self.READOUT_GAIN if i == 2 else 1.0)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)
        self.xs = torch.from_numpy(xs)
        self.ys = torch.from_numpy(ys)

    def _forward(self, x):
        return self.torch.stack(self.readout(self.net(x)))  # (T, B, 2)

    def step(self, k: int) -> float:
        torch = self.torch
        self.functional.reset_net(self.net)
        self.opt.zero_grad(set_to_none=True)
        out = self._forward(self.xs[k])
        loss = torch.nn.functional.mse_loss(out.mean(0), self.ys[k])
        loss.backward()
        self.opt.step()
        return loss.item()

    def grads(self, k: int):
        self.functional.reset_net(self.net)
        return _torch_grads(self, self._forward(self.xs[k]), self.ys[k], [1, 1, self.READOUT_GAIN])

    def forward_trace(self, x: np.ndarray):
        self.functional.reset_net(self.net)
        with self.torch.no_grad():
            s1 = self.lifs[0](self.linears[0](self.torch.from_numpy(x)))
            s2 = self.lifs[1](self.linears[1](s1))
            out = self.torch.stack(self.readout(self.linears[2](s2)))
        self.functional.reset_net(self.net)
        return [s1.numpy(), s2.numpy()], out.numpy()

    def weights(self):
        ws = _torch_weights(self.linears)
        w3, b3 = ws[2]
        ws[2] = (w3 / self.READOUT_GAIN, b3 / self.READOUT_GAIN)
        return ws


class SnnTorchSide:
    name = "snntorch"

    def __init__(self, xs, ys, weights) -> None:
        import snntorch as snn
        import torch
        from snntorch import surrogate

        self.torch = torch
        self.linears = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in LAYER_SHAPES)
        self.lifs = torch.nn.ModuleList(
            snn.Leaky(
                beta=DECAY,
                threshold=THRESHOLD,
                spike_grad=surrogate.atan(alpha=ALPHA),
                reset_mechanism="zero",
            )
            for _ in range(2)
        )
        self.readout = snn.Leaky(
            beta=DECAY_R, spike_grad=surrogate.atan(alpha=ALPHA), reset_mechanism="none"
        )
        self.net = torch.nn.ModuleList([self.linears, self.lifs, self.readout])
        for lin, (w, b) in zip(self.linears, weights, strict=True):
            _set_linear(lin, w, b)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)
        self.xs = torch.from_numpy(xs)
        self.ys = torch.from_numpy(ys)

    def _forward(self, x, record: bool = False):
        torch = self.torch
        seq = x
        spikes = []
        for lin, lif in zip(self.linears[:2], self.lifs, strict=True):
            cur = lin(seq)  # the whole (T, B, n) sequence at once
            mem = lif.reset_mem()
            spk_seq = []
            for t in range(cur.shape[0]):
                spk, mem = lif(cur[t], mem)
                spk_seq.append(spk)
            seq = torch.stack(spk_seq)
            spikes.append(seq)
        cur = self.linears[2](seq)
        mem = self.readout.reset_mem()
        out = []
        for t in range(cur.shape[0]):
            _, mem = self.readout(cur[t], mem)
            out.append(mem)
        out = torch.stack(out)
        return (spikes, out) if record else out

    def step(self, k: int) -> float:
        torch = self.torch
        self.opt.zero_grad(set_to_none=True)
        out = self._forward(self.xs[k])
        loss = torch.nn.functional.mse_loss(out.mean(0), self.ys[k])
        loss.backward()
        self.opt.step()
        return loss.item()

    def grads(self, k: int):
        return _torch_grads(self, self._forward(self.xs[k]), self.ys[k], [1, 1, 1])

    def forward_trace(self, x: np.ndarray):
        with self.torch.no_grad():
            spikes, out = self._forward(self.torch.from_numpy(x), record=True)
        return [s.numpy() for s in spikes], out.numpy()

    def weights(self):
        return _torch_weights(self.linears)


# --------------------------------------------------------------------------------------------
# Dynamics check
# --------------------------------------------------------------------------------------------


def check_dynamics(side, x: np.ndarray, weights) -> str:
    """Compare a side's spikes and readout with the reference formulas on the same weights
    (for neurorl: the formulas under Brian2's schedule, :func:`reference_forward_brian2`)."""
    ref = reference_forward_brian2 if side.name == "neurorl" else reference_forward
    ref_spikes, ref_out = ref(x, weights)
    spikes, out = side.forward_trace(x)
    bad = [int(np.sum(a != b)) for a, b in zip(spikes, ref_spikes, strict=True)]
    rates = [float(s.mean()) for s in ref_spikes]
    err = float(np.max(np.abs(out - ref_out)))
    verdict = "match" if sum(bad) == 0 and err < 1e-4 else "MISMATCH"
    return (
        f"{side.name}: {verdict} (differing spikes L1/L2: {bad[0]}/{bad[1]} of "
        f"{spikes[0].size} each; spike rates {rates[0]:.3f}/{rates[1]:.3f}; "
        f"readout max |diff| {err:.1e})"
    )


def check_training(sides, k: int = 0) -> str:
    """Do the peers compute the same gradient from the same weights on the same batch?"""
    got = [side.grads(k) for side in sides]
    scale = max(float(np.max(np.abs(g))) for pair in got[0] for g in pair)
    diff = max(
        float(np.max(np.abs(ga - gb)))
        for pa, pb in zip(got[0], got[1], strict=True)
        for ga, gb in zip(pa, pb, strict=True)
    )
    names = " vs ".join(s.name for s in sides)
    return f"{names}: max |gradient diff| {diff:.1e} (largest gradient {scale:.1e})"


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def time_steps(step: Callable[[int], float], n: int, start: int = 0) -> list[float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        step((start + i) % POOL)
        times.append(time.perf_counter() - t0)
    return times


def _openblas_setters() -> list[Callable[[int], None]]:
    """``set_num_threads`` of every OpenBLAS loaded in this process (numpy's), as threadpoolctl
    finds them: by the library's path in /proc/self/maps. Empty where that is not possible."""
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return []
    names = (
        "scipy_openblas_set_num_threads64_",
        "scipy_openblas_set_num_threads",
        "openblas_set_num_threads64_",
        "openblas_set_num_threads",
    )
    setters = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            if hasattr(lib, name):
                setters.append(getattr(lib, name))
                break
    return setters


def set_threads(kind: str | None, n: int | None) -> None:
    """Set torch's intra-op threads (kind "torch") or numpy's OpenBLAS threads (kind "blas")."""
    if kind == "torch":
        import torch

        torch.set_num_threads(n)
    elif kind == "blas":
        for setter in _openblas_setters():
            setter(n)


def time_interleaved(configs, steps: int, warmup: int, rounds: int) -> dict[str, list[float]]:
    """Step times (s) per configuration, the timed steps split into ``rounds`` blocks that cycle
    through the configurations, so that slow phases of a shared machine hit all of them alike.

    ``configs`` maps a label to (side, thread kind, thread count); see :func:`set_threads`.
    """
    for side, kind, n in configs.values():
        set_threads(kind, n)
        time_steps(side.step, warmup)
    per_round = max(1, steps // rounds)
    times: dict[str, list[float]] = {label: [] for label in configs}
    for r in range(rounds):
        for label, (side, kind, n) in configs.items():
            set_threads(kind, n)
            times[label] += time_steps(side.step, per_round, start=r * per_round)
    return times


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="timed training steps per side")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps per side first")
    parser.add_argument("--rounds", type=int, default=10, help="alternate sides this many times")
    parser.add_argument(
        "--check", action="store_true", help="also compare the peers' weights after 2 steps"
    )
    args = parser.parse_args(argv)

    xs, ys = make_data()
    weights = make_weights()
    sides = []
    builders = [("neurorl", "neurorl", NeurorlSide)]
    if have("torch"):
        import torch

        builders += [
            ("spikingjelly", "spikingjelly", SpikingJellySide),
            ("snntorch", "snntorch", SnnTorchSide),
        ]
        print(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    else:
        print("torch is not installed: peers skipped (use .venv-bench, see `make bench-env`)")
    for name, module, cls in builders:
        if not have(module):
            print(f"{name}: not installed, skipped")
            continue
        try:
            sides.append(cls(xs, ys, weights))
        except Exception as exc:  # a side that cannot be built is reported, not fatal
            print(f"{name}: could not be set up ({type(exc).__name__}: {exc}), skipped")

    print("dynamics check (same weights and input, reference: the formulas in the docstring):")
    for side in sides:
        if side.name == "neurorl" and not side.loaded:
            print("  neurorl: not compared (its parameters do not match the shared ones)")
        else:
            print("  " + check_dynamics(side, xs[0], weights))
    if args.check:
        peers = [c(xs, ys, weights) for n, m, c in builders[1:] if have(m)]
        if len(peers) == 2:
            peers[0] = SpikingJellySide(xs, ys, weights, detach_reset=True)
            print("  gradients (SpikingJelly with detach_reset=True, like snnTorch):")
            print("    " + check_training(peers))
            print("  after 2 training steps, each peer against the formulas on its own weights:")
            for side in peers:
                for k in range(2):
                    side.step(k)
                print("    " + check_dynamics(side, xs[2], side.weights()))

    if not sides:
        print("nothing to time")
        return 1

    # 1) thread counts: every side with 1 and with 2 threads (torch's intra-op threads for the
    # peers, numpy's OpenBLAS threads for neurorl), interleaved; the faster is used from then on
    blas = bool(_openblas_setters())
    configs = {}
    for side in sides:
        kind = "torch" if side.name != "neurorl" else ("blas" if blas else None)
        for n in (1, 2) if kind else (None,):
            configs[(side.name, n)] = (side, kind, n)
    n_calib = max(10, args.steps // 4)
    calib = time_interleaved(configs, n_calib, args.warmup, max(1, args.rounds // 2))
    calib_ms = {label: 1e3 * statistics.median(t) for label, t in calib.items()}
    best = {}
    for side in sides:
        options = {n: v for (name, n), v in calib_ms.items() if name == side.name}
        best[side.name] = min(options, key=options.get)
    print(f"thread counts ({n_calib} steps each, median ms; the faster is used):")
    for side in sides:
        tried = ", ".join(
            f"{n} thread{'s' * (n > 1)} {v:.3f} ms"
            for (name, n), v in calib_ms.items()
            if name == side.name and n
        )
        what = "torch" if side.name != "neurorl" else "numpy/OpenBLAS"
        print(f"  {side.name} ({what}): {tried or 'not settable here'} -> {best[side.name]}")

    # 2) the timing proper, each side at its thread count, interleaved
    chosen = {side.name: configs[(side.name, best[side.name])] for side in sides}
    times = time_interleaved(chosen, args.steps, 5, args.rounds)
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    n_timed = len(next(iter(times.values())))
    print(f"\n{n_timed} timed steps per side (median), T={T}, batch {BATCH}, float32")
    base = ms.get("neurorl")
    print(f"{'framework':<14}{'ms/step':>10}  ratio(peer/neurorl)")
    for side in sides:
        n = best[side.name]
        ratio = f"{ms[side.name] / base:.2f}x" if base else "-"
        what = "torch threads" if side.name != "neurorl" else "BLAS threads"
        extra = f"{what}: {n}" if n else f"{what}: numpy's default"
        print(f"{side.name:<14}{ms[side.name]:>10.3f}  {ratio:<8} [{extra}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
