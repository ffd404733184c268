"""``make demo``: the pipeline as it stands, end to end, in about a minute.

Stage 1 (foundation): train a spiking classifier with the numpy kernel (surrogate-gradient BPTT),
run the trained network unchanged in Brian2 on held-out inputs, and report whether the two agree.
Writes ``runs/demo/``: ``report.json``, ``training.csv``, ``training.png``, ``decision.csv``,
``decision.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from neurorl.supervised import (
    SupervisedConfig,
    build_classifier,
    encode,
    logits,
    make_moons,
    softmax_cross_entropy,
    train_classifier,
)

__all__ = ["main", "run_supervised_stage"]


def run_supervised_stage(out_dir: Path, cfg: SupervisedConfig, n_test: int = 400) -> dict:
    """Train, evaluate in the kernel and in Brian2, write figures; return the report dict."""
    from neurorl.sim.batch import run_batch

    x, y = make_moons(2000, seed=cfg.seed)
    x_test, y_test = make_moons(n_test, seed=cfg.seed + 1000)
    net = build_classifier(2, 2, cfg)
    print(net)
    start = time.perf_counter()
    history = train_classifier(net, x, y, cfg)
    train_s = time.perf_counter() - start

    inputs = encode(x_test, cfg.T, cfg.input_scale)
    out, cache = net.kernel(surrogate=cfg.surrogate).forward(inputs)
    loss, _ = softmax_cross_entropy(logits(out), y_test)
    print(f"running the trained network in Brian2 on {n_test} held-out inputs ...")
    start = time.perf_counter()
    brian2_run = run_batch(net, inputs)
    brian2_s = time.perf_counter() - start
    readout = brian2_run.state("readout", "v")
    z_kernel, z_brian2 = logits(out), logits(readout)
    report = {
        "task": "two moons, 2 classes",
        "network": f"2 -> {cfg.hidden} {cfg.model} -> 2 {cfg.readout}, T={cfg.T}, dt={cfg.dt} ms",
        "train_steps": cfg.steps,
        "train_seconds": round(train_s, 2),
        "ms_per_train_step": round(1000 * train_s / cfg.steps, 3),
        "test_loss": round(loss, 4),
        "test_accuracy_kernel": float(np.mean(z_kernel.argmax(1) == y_test)),
        "test_accuracy_brian2": float(np.mean(z_brian2.argmax(1) == y_test)),
        "max_abs_readout_difference": float(np.abs(readout - out).max()),
        "identical_hidden_spikes": bool(
            np.array_equal(brian2_run.spikes["hidden"], cache.spikes("hidden"))
        ),
        "same_predictions": float(np.mean(z_kernel.argmax(1) == z_brian2.argmax(1))),
        "hidden_spike_rate": float(cache.spikes("hidden").mean()),
        "brian2_seconds": round(brian2_s, 2),
    }
    _write_training(out_dir, history)
    _write_decision(out_dir, net, cfg, x_test, y_test)
    return report


def _write_training(out_dir: Path, history: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(out_dir / "training.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "loss", "accuracy"])
        writer.writeheader()
        writer.writerows(history)
    steps = np.array([h["step"] for h in history])
    loss = np.array([h["loss"] for h in history])
    acc = np.array([h["accuracy"] for h in history])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    a.plot(steps, loss, lw=0.8)
    a.set(xlabel="training step", ylabel="cross-entropy (minibatch)", yscale="log", title="Loss")
    b.plot(steps, acc, lw=0.8)
    b.set(xlabel="training step", ylabel="minibatch accuracy", ylim=(0, 1.02), title="Accuracy")
    fig.tight_layout()
    fig.savefig(out_dir / "training.png", dpi=120)
    plt.close(fig)


def _write_decision(out_dir: Path, net, cfg: SupervisedConfig, x_test, y_test) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = np.linspace(-2.2, 2.2, 80)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    out, _ = net.kernel(surrogate=cfg.surrogate).forward(encode(grid, cfg.T, cfg.input_scale))
    z = logits(out)
    margin = (z[:, 1] - z[:, 0]).reshape(len(g), len(g))
    np.savetxt(
        out_dir / "decision.csv",
        np.column_stack([grid, z]),
        delimiter=",",
        header="x0,x1,logit0,logit1",
        comments="",
    )
    fig, ax = plt.subplots(figsize=(4.6, 4))
    lim = np.abs(margin).max()
    mesh = ax.pcolormesh(g, g, margin, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="auto")
    ax.contour(g, g, margin, levels=[0], colors="k", linewidths=1)
    ax.scatter(*x_test.T, c=y_test, cmap="RdBu_r", edgecolors="k", s=10, linewidths=0.3)
    fig.colorbar(mesh, ax=ax, label="logit 1 - logit 0")
    ax.set(title="Spiking classifier: decision boundary", xlabel="x0", ylabel="x1")
    fig.tight_layout()
    fig.savefig(out_dir / "decision.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Run the demo; ``--out`` sets the output directory (default ``runs/demo``)."""
    parser = argparse.ArgumentParser(prog="neurorl demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=SupervisedConfig.steps)
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = SupervisedConfig(seed=args.seed, steps=args.steps)
    print("== stage 1: train a spiking classifier with the kernel, run it in Brian2")
    report = {"supervised": run_supervised_stage(out_dir, cfg)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    print("\n== report")
    for stage, values in report.items():
        print(f"[{stage}]")
        for key, value in values.items():
            print(f"  {key:32s} {value}")
    print(f"\nfigures and data in {out_dir}/")
    return report


if __name__ == "__main__":
    main()
