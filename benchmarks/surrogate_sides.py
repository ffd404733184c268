"""One spiking network, trained by surrogate gradients on every side that the speed benchmarks
compare: neurorl's kernel, SpikingJelly, snnTorch and Norse.

Used by ``bench_surrogate.py`` (one size, the dynamics checked) and ``bench_scaling.py`` (the
scaling study). Every side is built for a :class:`Size` (time steps T, batch B, hidden width H)
and one of two architectures:

* ``ff``: Dense 4->H -> LIF -> Dense H->H -> LIF -> Dense H->2 -> leaky non-spiking readout;
* ``rec``: the same with a recurrent second hidden layer (its spikes of step t-1 enter its
  membrane at step t through an H x H matrix; the peers' own recurrent layers).

LIF (STBP style): v <- 0.2 v + W x + b, spike = H(v - 0.5), hard reset v <- 0 after a spike.
Readout: v <- 0.8 v + W s + b (an integrator, no spikes), read as the output. Loss: MSE between
the readout averaged over T and a random (B, 2) target; Adam, lr 1e-3; surrogate atan (alpha 2)
where the side has it. Float32 everywhere.

How each side computes it (the dynamics check of ``bench_surrogate.py`` compares every side's
spikes and readout with :func:`reference_forward`, or neurorl's with
:func:`reference_forward_brian2`):

* neurorl: ``Network`` of models ``lif`` and ``li_readout`` (recurrence: ``net.connect(h2, h2)``)
  -> ``net.kernel(surrogate="atan", dtype=np.float32)`` (compiled loops where they cover the
  network) and ``neurorl.ann.optim.Adam``. Brian2's schedule within a step (update -> threshold
  -> synaptic effects -> reset) gives one step of synaptic delay per layer, and the input is decayed
  once before the threshold sees it, so its spike trains differ from the peers'; the work per
  training step is the same.
* SpikingJelly (multi-step mode): ``layer.Linear`` + ``neuron.LIFNode(tau=1.25,
  decay_input=False, v_threshold=0.5, v_reset=0)`` (v <- 0.2 v + x), readout
  ``NonSpikingLIFNode(tau=5)`` (v <- 0.8 v + 0.2 x, its Linear holds 5x the shared weights). On
  the CPU the multi-step LIF runs as SpikingJelly's registered CPU operator. Recurrent:
  ``layer.LinearRecurrentContainer(LIFNode(...), H, H)``, one Linear over [s1_t, s2_{t-1}] per
  step (the input product cannot be hoisted out of the time loop there), its LIF single-step.
* snnTorch: ``snn.Leaky(beta=0.2, threshold=0.5, reset_mechanism="zero")`` looped over T, each
  Linear applied to the whole (T, B, n) sequence at once; readout ``snn.Leaky(beta=0.8,
  reset_mechanism="none")``'s membrane. Recurrent: ``snn.RLeaky(linear_features=H,
  all_to_all=True)`` (mem <- beta mem + x + W_rec s_{t-1}; its recurrent bias set to zero),
  whose zero reset also discards the input of the step after a spike (checked against
  :func:`reference_forward` with ``rleaky=True``). Its reset is detached (no gradient),
  SpikingJelly's is not.
* Norse: ``LIFBoxCell`` (v <- v + dt/tau (x - v): dt/tau = 0.8 and 1.25x the shared weights give
  v <- 0.2 v + W x + b) looped over T, readout ``LIBoxCell`` (dt/tau = 0.2, weights 5x).
  Recurrent: ``LIFRecurrent`` (Norse's current-based LIF: i <- i + W x + W_rec z_{t-1},
  v <- v + dt/tau_mem (i - v), i decays by dt/tau_syn; with dt/tau_syn = 1 the current does not
  outlive its step, which is the box LIF above), with autapses, weights 1.25x. It has no bias,
  so in ``rec`` the second hidden layer's bias is zero on every side. Norse has no atan
  surrogate: SuperSpike (``method="super"``, alpha 2) is used; the cost does not depend on it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

N_IN, N_OUT = 4, 2
DECAY, THRESHOLD, DECAY_R = 0.2, 0.5, 0.8
ALPHA, LR = 2.0, 1e-3
POOL = 4  # distinct (input, target) batches, cycled through
ARCHS = ("ff", "rec")


class Size(NamedTuple):
    """Time steps per sequence, sequences per batch, neurons per hidden layer."""

    t: int = 8
    batch: int = 64
    hidden: int = 128


class Weights(NamedTuple):
    """Shared initial weights: (W (n_in, n_out), b (n_out,)) per layer, and the second hidden
    layer's recurrent (H, H) matrix in ``rec`` (None in ``ff``)."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    rec: np.ndarray | None


def layer_shapes(size: Size) -> tuple[tuple[int, int], ...]:
    return ((N_IN, size.hidden), (size.hidden, size.hidden), (size.hidden, N_OUT))


def make_data(size: Size, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A pool of inputs (POOL, T, B, 4) and targets (POOL, B, 2), float32."""
    rng = np.random.default_rng(seed)
    xs = rng.normal(0.0, 1.0, size=(POOL, size.t, size.batch, N_IN)).astype(np.float32)
    ys = rng.normal(0.0, 1.0, size=(POOL, size.batch, N_OUT)).astype(np.float32)
    return xs, ys


def make_weights(size: Size, arch: str = "ff", seed: int = 1) -> Weights:
    """torch's default Linear init U(+-1/sqrt(n_in)) per layer; in ``rec`` also the recurrent
    matrix (same bound) and a zero bias in the second hidden layer (Norse's has none)."""
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, not {arch!r}")
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in layer_shapes(size):
        bound = 1.0 / np.sqrt(n_in)
        w = rng.uniform(-bound, bound, size=(n_in, n_out)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=(n_out,)).astype(np.float32)
        layers.append((w, b))
    rec = None
    if arch == "rec":
        h = size.hidden
        rec = rng.uniform(-1 / np.sqrt(h), 1 / np.sqrt(h), size=(h, h)).astype(np.float32)
        layers[1] = (layers[1][0], np.zeros(h, np.float32))
    return Weights(layers, rec)


def reference_forward(x: np.ndarray, weights: Weights,
                      rleaky: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """The formulas step by step: spikes of both hidden layers (T, B, H), readout (T, B, 2).

    ``rleaky``: the second hidden layer as snnTorch's ``RLeaky`` with ``reset_mechanism="zero"``
    computes it, v_t = (0.2 v_{t-1} + W s1_t + b + W_rec s2_{t-1}) (1 - s2_{t-1}): the reset
    clears the whole membrane of the step after a spike, that step's input included.
    """
    (w1, b1), (w2, b2), (w3, b3) = weights.layers
    v1 = np.zeros((x.shape[1], w1.shape[1]), np.float32)
    v2, s2 = np.zeros_like(v1), np.zeros_like(v1)
    v3 = np.zeros((x.shape[1], N_OUT), np.float32)
    s1_seq, s2_seq, out = [], [], []
    for t in range(x.shape[0]):
        v1 = DECAY * v1 + x[t] @ w1 + b1
        s1 = (v1 >= THRESHOLD).astype(np.float32)
        v1 = v1 * (1.0 - s1)
        v2 = DECAY * v2 + s1 @ w2 + b2 + (s2 @ weights.rec if weights.rec is not None else 0.0)
        if rleaky:
            v2 = v2 * (1.0 - s2)
        s2 = (v2 >= THRESHOLD).astype(np.float32)
        if not rleaky:
            v2 = v2 * (1.0 - s2)
        v3 = DECAY_R * v3 + s2 @ w3 + b3
        s1_seq.append(s1)
        s2_seq.append(s2)
        out.append(v3)
    return [np.stack(s1_seq), np.stack(s2_seq)], np.stack(out)


def reference_forward_brian2(x: np.ndarray, weights: Weights):
    """The same network under Brian2's schedule within a step, as neurorl's models define it.

    Per step: state update (LIF: v <- 0.2 v + b; readout: v <- b + 0.8 (v - b)), threshold
    (v > 0.5) on the updated v, then the synaptic effects of this step's presynaptic spikes (or
    analog input, and in ``rec`` the layer's own spikes) v += W s, then the reset (v <- 0 where
    the threshold fired). Input reaching a neuron in the step it fires is lost to the reset, and
    spikes influence the next layer's threshold one step later. ``weights`` are the shared ones;
    the hidden layers' matrices are taken times 1/0.2, as :class:`NeurorlSide` holds them.
    """
    (w1, b1), (w2, b2), (w3, b3) = weights.layers
    w1, w2 = w1 * NeurorlSide.GAIN, w2 * NeurorlSide.GAIN
    w_rec = weights.rec * NeurorlSide.GAIN if weights.rec is not None else None
    v = [np.zeros((x.shape[1], w1.shape[1]), np.float32) for _ in range(2)]
    v3 = np.zeros((x.shape[1], N_OUT), np.float32)
    spikes: list[list[np.ndarray]] = [[], []]
    out = []
    for t in range(x.shape[0]):
        pre = x[t]
        for i, (w, b) in enumerate(((w1, b1), (w2, b2))):
            u = DECAY * v[i] + b
            fired = u > THRESHOLD
            drive = pre @ w
            if i == 1 and w_rec is not None:
                drive = drive + fired.astype(np.float32) @ w_rec
            v[i] = np.where(fired, 0.0, u + drive).astype(np.float32)
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
# Sides: SIDE(xs, ys, weights) with .step(k) -> loss (one training step on batch k of the pool),
# .forward_trace(x) -> ([spikes layer 1, spikes layer 2], readout), .weights() -> Weights.
# --------------------------------------------------------------------------------------------


class NeurorlSide:
    """The network in neurorl. Its hidden layers hold the shared input and recurrent matrices
    times ``GAIN`` = 1/0.2: under Brian2's schedule an input is decayed once before the threshold
    sees it, and with the gain the membrane at the threshold follows the peers' one step later, at
    the peers' spike rates (which the kernel's event-driven recurrent products depend on)."""

    name = "neurorl"
    GAIN = 1.0 / DECAY

    def __init__(self, xs: np.ndarray, ys: np.ndarray, weights: Weights,
                 loops: str = "auto") -> None:
        from neurorl import Network, models
        from neurorl.ann.optim import Adam

        h = weights.layers[1][0].shape[0]
        net = Network(dt=1.0, seed=0)
        x = net.input(N_IN)
        h1 = net.layer(h, models.load("lif"))
        h2 = net.layer(h, models.load("lif"))
        # li_readout relaxes with exp(-dt/tau) per step: tau = -dt/ln(0.8) gives the decay 0.8
        tau_ms = -1.0 / float(np.log(DECAY_R))
        q = net.layer(N_OUT, models.load("li_readout"), tau=f"{tau_ms!r}*ms")
        conns = [net.connect(x, h1)[0], net.connect(h1, h2)[0], net.connect(h2, q)[0]]
        rec = net.connect(h2, h2)[0] if weights.rec is not None else None
        self.kernel = net.kernel(surrogate="atan", dtype=np.float32, loops=loops)
        self.keys = ([f"{c.name}.w" for c in conns],
                     [f"{layer.name}.bias" for layer in (h1, h2, q)],
                     f"{rec.name}.w" if rec is not None else None)
        gains = (self.GAIN, self.GAIN, 1.0)
        for key, (w, b), bias, g in zip(self.keys[0], weights.layers, self.keys[1], gains,
                                        strict=True):
            self.kernel.params[key][...] = w * g
            self.kernel.params[bias][...] = b
        if rec is not None:
            self.kernel.params[self.keys[2]][...] = weights.rec * self.GAIN
        self.opt = Adam(self.kernel.params, lr=LR)
        self.xs, self.ys = xs, ys
        self.hidden = [h1.name, h2.name]

    def forward_trace(self, x: np.ndarray):
        out, cache = self.kernel.forward(x)
        return [np.asarray(cache.spikes(name)) for name in self.hidden], np.asarray(out)

    def weights(self) -> Weights:
        p, g = self.kernel.params, self.GAIN
        layers = [(p[w] / gain, p[b].copy())
                  for w, b, gain in zip(*self.keys[:2], (g, g, 1.0), strict=True)]
        return Weights(layers, p[self.keys[2]] / g if self.keys[2] else None)

    def step(self, k: int) -> float:
        out, cache = self.kernel.forward(self.xs[k])
        loss, d_out = mse_over_time_grad(out, self.ys[k])
        grads = self.kernel.backward(d_out, cache)
        self.opt.step(grads)
        return loss


def _set_linear(lin, w: np.ndarray, b: np.ndarray | None, gain: float = 1.0) -> None:
    import torch

    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T * gain)))
        if b is not None:
            lin.bias.copy_(torch.from_numpy(b * gain))


def _get_linear(lin, gain: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    return lin.weight.detach().numpy().T / gain, lin.bias.detach().numpy() / gain


class TorchSide:
    """What the torch peers share: the data as tensors, one Adam over ``self.net``, the step."""

    def _setup(self, xs, ys) -> None:
        import torch

        self.torch = torch
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)
        self.xs, self.ys = torch.from_numpy(xs), torch.from_numpy(ys)

    def reset(self) -> None:
        """Clear the neurons' state before a new batch (where the side keeps it)."""

    def step(self, k: int) -> float:
        self.reset()
        self.opt.zero_grad(set_to_none=True)
        spikes, out = self.forward(self.xs[k])
        loss = self.torch.nn.functional.mse_loss(out.mean(0), self.ys[k])
        loss.backward()
        self.opt.step()
        return loss.item()

    def grads(self, k: int) -> list[np.ndarray]:
        """Loss gradient with respect to every shared weight, in the shared layout."""
        self.reset()
        self.opt.zero_grad(set_to_none=True)
        spikes, out = self.forward(self.xs[k])
        self.torch.nn.functional.mse_loss(out.mean(0), self.ys[k]).backward()
        return self.shared_grads()

    def forward_trace(self, x: np.ndarray):
        self.reset()
        with self.torch.no_grad():
            spikes, out = self.forward(self.torch.from_numpy(x))
        self.reset()
        return [s.numpy() for s in spikes], out.numpy()


class SpikingJellySide(TorchSide):
    name = "spikingjelly"
    READOUT_GAIN = 5.0  # NonSpikingLIFNode(tau=5): v <- 0.8 v + x / 5

    def __init__(self, xs, ys, weights: Weights, detach_reset: bool = False) -> None:
        import torch
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        self.functional = functional

        def lif(step_mode="m"):
            return neuron.LIFNode(tau=1.25, decay_input=False, v_threshold=THRESHOLD,
                                  v_reset=0.0, surrogate_function=surrogate.ATan(alpha=ALPHA),
                                  detach_reset=detach_reset, step_mode=step_mode)

        (w1, b1), (w2, b2), (w3, b3) = weights.layers
        self.lin1, self.lin3 = layer.Linear(*w1.shape), layer.Linear(*w3.shape)
        self.lif1 = lif()
        self.rec = weights.rec is not None
        if self.rec:
            h = w2.shape[0]
            self.layer2 = layer.LinearRecurrentContainer(lif("s"), h, h, step_mode="m")
            _set_linear(self.layer2.rc, np.concatenate([w2, weights.rec]), b2)
        else:
            self.lin2 = layer.Linear(*w2.shape)
            self.layer2 = torch.nn.Sequential(self.lin2, lif())
            _set_linear(self.lin2, w2, b2)
        self.readout = neuron.NonSpikingLIFNode(tau=1.0 / (1.0 - DECAY_R))
        _set_linear(self.lin1, w1, b1)
        _set_linear(self.lin3, w3, b3, self.READOUT_GAIN)
        self.net = torch.nn.ModuleList([self.lin1, self.lif1, self.layer2, self.lin3,
                                        self.readout])
        functional.set_step_mode(self.net, "m")
        if self.rec:
            self.layer2.sub_module.step_mode = "s"
        self._setup(xs, ys)

    def reset(self) -> None:
        self.functional.reset_net(self.net)

    def forward(self, x):
        s1 = self.lif1(self.lin1(x))
        s2 = self.layer2(s1)
        out = self.readout(self.lin3(s2))
        if isinstance(out, (list, tuple)):
            out = self.torch.stack(out)
        return [s1, s2], out

    def _w2(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        lin = self.layer2.rc if self.rec else self.lin2
        w, b = _get_linear(lin)
        h = w.shape[1]
        return (w[:h], b, w[h:]) if self.rec else (w, b, None)

    def weights(self) -> Weights:
        w2, b2, rec = self._w2()
        layers = [_get_linear(self.lin1), (w2, b2), _get_linear(self.lin3, self.READOUT_GAIN)]
        return Weights(layers, rec)

    def shared_grads(self) -> list[np.ndarray]:
        lin2 = self.layer2.rc if self.rec else self.lin2
        g2 = lin2.weight.grad.numpy().T
        h = g2.shape[1]
        out = [self.lin1.weight.grad.numpy().T, g2[:h], self.lin3.weight.grad.numpy().T * 5.0]
        return out + ([g2[h:]] if self.rec else [])


class SnnTorchSide(TorchSide):
    name = "snntorch"

    def __init__(self, xs, ys, weights: Weights) -> None:
        import snntorch as snn
        import torch
        from snntorch import surrogate

        def leaky(cls=snn.Leaky, **kw):
            return cls(beta=DECAY, threshold=THRESHOLD, spike_grad=surrogate.atan(alpha=ALPHA),
                       reset_mechanism="zero", **kw)

        self.linears = torch.nn.ModuleList(torch.nn.Linear(*w.shape) for w, _ in weights.layers)
        for lin, (w, b) in zip(self.linears, weights.layers, strict=True):
            _set_linear(lin, w, b)
        self.rec = weights.rec is not None
        h = weights.layers[1][0].shape[0]
        self.lifs = torch.nn.ModuleList(
            [leaky(), leaky(snn.RLeaky, linear_features=h, all_to_all=True) if self.rec
             else leaky()])
        if self.rec:
            _set_linear(self.lifs[1].recurrent, weights.rec, np.zeros(h, np.float32))
            self.lifs[1].recurrent.bias.requires_grad_(False)  # the architecture has none
        self.readout = snn.Leaky(beta=DECAY_R, spike_grad=surrogate.atan(alpha=ALPHA),
                                 reset_mechanism="none")
        self.net = torch.nn.ModuleList([self.linears, self.lifs, self.readout])
        self._setup(xs, ys)

    def forward(self, x):
        torch = self.torch
        seq, spikes = x, []
        for i, (lin, lif) in enumerate(zip(self.linears[:2], self.lifs, strict=True)):
            cur = lin(seq)  # the whole (T, B, n) sequence at once
            if i == 1 and self.rec:
                spk, mem = lif.init_rleaky()
            else:
                mem = lif.reset_mem()
            spk_seq = []
            for t in range(cur.shape[0]):
                if i == 1 and self.rec:
                    spk, mem = lif(cur[t], spk, mem)
                else:
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
        return spikes, torch.stack(out)

    def weights(self) -> Weights:
        rec = self.lifs[1].recurrent.weight.detach().numpy().T.copy() if self.rec else None
        return Weights([_get_linear(lin) for lin in self.linears], rec)

    def shared_grads(self) -> list[np.ndarray]:
        out = [lin.weight.grad.numpy().T for lin in self.linears]
        return out + ([self.lifs[1].recurrent.weight.grad.numpy().T] if self.rec else [])


class NorseSide(TorchSide):
    name = "norse"
    GAIN, READOUT_GAIN = 1.0 / (1.0 - DECAY), 1.0 / (1.0 - DECAY_R)
    DT = 1e-3

    def __init__(self, xs, ys, weights: Weights) -> None:
        import torch
        from norse.torch import (
            LIBoxCell,
            LIBoxParameters,
            LIFBoxCell,
            LIFBoxParameters,
            LIFParameters,
            LIFRecurrent,
        )

        as_t = torch.as_tensor
        box = LIFBoxParameters(tau_mem_inv=as_t((1.0 - DECAY) / self.DT), v_th=as_t(THRESHOLD),
                               v_reset=as_t(0.0), method="super", alpha=as_t(ALPHA))
        (w1, b1), (w2, b2), (w3, b3) = weights.layers
        self.lin1, self.lin3 = torch.nn.Linear(*w1.shape), torch.nn.Linear(*w3.shape)
        _set_linear(self.lin1, w1, b1, self.GAIN)
        _set_linear(self.lin3, w3, b3, self.READOUT_GAIN)
        self.lif1 = LIFBoxCell(box, dt=self.DT)
        self.rec = weights.rec is not None
        if self.rec:
            p = LIFParameters(tau_syn_inv=as_t(1.0 / self.DT), tau_mem_inv=box.tau_mem_inv,
                              v_th=box.v_th, v_reset=box.v_reset, method="super",
                              alpha=as_t(ALPHA))
            h = w2.shape[0]
            self.layer2 = LIFRecurrent(h, h, p, autapses=True, dt=self.DT)
            with torch.no_grad():
                self.layer2.input_weights.copy_(torch.from_numpy(w2.T * self.GAIN))
                self.layer2.recurrent_weights.copy_(torch.from_numpy(weights.rec.T * self.GAIN))
        else:
            self.lin2 = torch.nn.Linear(*w2.shape)
            _set_linear(self.lin2, w2, b2, self.GAIN)
            self.lif2 = LIFBoxCell(box, dt=self.DT)
            self.layer2 = torch.nn.ModuleList([self.lin2, self.lif2])
        self.readout = LIBoxCell(LIBoxParameters(tau_mem_inv=as_t((1.0 - DECAY_R) / self.DT)),
                                 dt=self.DT)
        self.net = torch.nn.ModuleList([self.lin1, self.lif1, self.layer2, self.lin3,
                                        self.readout])
        self._setup(xs, ys)

    def _cells(self, cell, cur):
        state, out = None, []
        for t in range(cur.shape[0]):
            z, state = cell(cur[t], state)
            out.append(z)
        return self.torch.stack(out)

    def forward(self, x):
        s1 = self._cells(self.lif1, self.lin1(x))
        s2 = self.layer2(s1)[0] if self.rec else self._cells(self.lif2, self.lin2(s1))
        return [s1, s2], self._cells(self.readout, self.lin3(s2))

    def weights(self) -> Weights:
        g = self.GAIN
        if self.rec:
            h = self.layer2.hidden_size
            w2 = (self.layer2.input_weights.detach().numpy().T / g, np.zeros(h, np.float32))
            rec = self.layer2.recurrent_weights.detach().numpy().T / g
        else:
            w2, rec = _get_linear(self.lin2, g), None
        return Weights([_get_linear(self.lin1, g), w2,
                        _get_linear(self.lin3, self.READOUT_GAIN)], rec)


SIDES = {"neurorl": NeurorlSide, "spikingjelly": SpikingJellySide, "snntorch": SnnTorchSide,
         "norse": NorseSide}
MODULES = {"neurorl": "neurorl", "spikingjelly": "spikingjelly", "snntorch": "snntorch",
           "norse": "norse"}


def check_dynamics(side, x: np.ndarray, weights: Weights) -> str:
    """Compare a side's spikes and readout with the reference formulas on the same weights
    (for neurorl: the formulas under Brian2's schedule, :func:`reference_forward_brian2`)."""
    if side.name == "neurorl":
        ref_spikes, ref_out = reference_forward_brian2(x, weights)
    else:
        rleaky = side.name == "snntorch" and weights.rec is not None
        ref_spikes, ref_out = reference_forward(x, weights, rleaky=rleaky)
    spikes, out = side.forward_trace(x)
    bad = [int(np.sum(a != b)) for a, b in zip(spikes, ref_spikes, strict=True)]
    rates = [float(s.mean()) for s in ref_spikes]
    err = float(np.max(np.abs(out - ref_out)))
    verdict = "match" if sum(bad) == 0 and err < 1e-4 else "MISMATCH"
    return (f"{side.name}: {verdict} (differing spikes L1/L2: {bad[0]}/{bad[1]} of "
            f"{spikes[0].size} each; spike rates {rates[0]:.3f}/{rates[1]:.3f}; "
            f"readout max |diff| {err:.1e})")


def check_training(sides, k: int = 0) -> str:
    """Do two peers compute the same gradient from the same weights on the same batch?"""
    got = [side.grads(k) for side in sides]
    scale = max(float(np.max(np.abs(g))) for g in got[0])
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(*got, strict=True))
    names = " vs ".join(s.name for s in sides)
    return f"{names}: max |weight gradient diff| {diff:.1e} (largest gradient {scale:.1e})"
