"""Supervised training of a spiking classifier with the kernel (BPTT, surrogate gradients, Adam).

Method, top to bottom:

1. Data: a two-class task in the plane (two interleaved half moons), standardised.
2. Encoding: analog current coding, the same input vector fed every one of T steps.
3. Network: input -> ``hidden`` spiking neurons (``model``) -> non-spiking leaky readout, one
   readout neuron per class; the logits are the readout membrane averaged over the T steps.
4. Loss: softmax cross-entropy of the logits; gradients by BPTT through the kernel.
5. Optimiser: Adam with global gradient-norm clipping.

The trained :class:`~neurorl.network.Network` runs unchanged in Brian2
(:func:`neurorl.sim.batch.run_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from neurorl import models
from neurorl.ann.optim import Adam, clip_grad_norm
from neurorl.coding import constant_current
from neurorl.network import Network

__all__ = [
    "SupervisedConfig",
    "build_classifier",
    "logits",
    "make_moons",
    "softmax_cross_entropy",
    "train_classifier",
]


@dataclass
class SupervisedConfig:
    """Hyperparameters of the supervised example (times in steps of ``dt`` ms)."""

    hidden: int = 32
    T: int = 8
    dt: float = 1.0
    batch: int = 64
    steps: int = 400
    lr: float = 1e-2
    max_grad_norm: float = 5.0
    input_scale: float = 2.0
    model: str = "lif"
    readout: str = "li_readout"
    surrogate: str = "atan"
    seed: int = 0


def make_moons(n: int, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: points (n, 2), standardised, and labels (n,) in {0, 1}."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    x = np.where(labels == 0, np.cos(angle), 1 - np.cos(angle))
    y = np.where(labels == 0, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], 1) + rng.normal(0, noise, (n, 2))
    points = (points - np.array([0.5, 0.25])) / np.array([0.87, 0.5])
    return points, labels


def build_classifier(n_in: int, n_classes: int, cfg: SupervisedConfig) -> Network:
    """input(n_in) -> ``cfg.hidden`` x ``cfg.model`` -> ``n_classes`` x ``cfg.readout``."""
    net = Network(dt=cfg.dt, seed=cfg.seed)
    x = net.input(n_in)
    hidden = net.layer(cfg.hidden, models.load(cfg.model), name="hidden")
    readout = net.layer(n_classes, models.load(cfg.readout), name="readout")
    net.connect(x, hidden)
    net.connect(hidden, readout)
    return net


def logits(readout: np.ndarray) -> np.ndarray:
    """Time-averaged readout: (T, B, C) -> (B, C)."""
    return readout.mean(0)


def softmax_cross_entropy(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits ``z`` (B, C) against integer ``labels`` (B,) and d loss/dz."""
    z = z - z.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(-np.mean(np.log(p[rows, labels] + 1e-12)))
    grad = p.copy()
    grad[rows, labels] -= 1.0
    return loss, grad / len(labels)


def train_classifier(
    net: Network,
    x: np.ndarray,
    labels: np.ndarray,
    cfg: SupervisedConfig,
    dtype=np.float64,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``net`` on points ``x`` (N, n_in) with ``labels`` (N,); returns per-step metrics.

    Each step draws a minibatch, runs the kernel over T steps, backpropagates the cross-entropy
    of the time-averaged readout, clips and applies Adam. NaN in the loss or the gradients stops
    training with an error before it can reach the weights.
    """
    kernel = net.kernel(surrogate=cfg.surrogate, dtype=dtype)
    opt = Adam(kernel.params, lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    history = []
    bar = tqdm(range(cfg.steps), desc="train", disable=not progress, unit="step")
    for step in bar:
        idx = rng.integers(0, len(x), cfg.batch)
        out, cache = kernel.forward(constant_current(x[idx], cfg.T, cfg.input_scale))
        z = logits(out)
        loss, dz = softmax_cross_entropy(z, labels[idx])
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at step {step}; weights left unchanged")
        d_out = np.broadcast_to(dz / cfg.T, out.shape)
        grads = kernel.backward(d_out, cache)
        clip_grad_norm(grads, cfg.max_grad_norm)
        opt.step(grads)
        acc = float(np.mean(z.argmax(1) == labels[idx]))
        history.append({"step": step, "loss": loss, "accuracy": acc})
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.2f}", refresh=False)
    return history
