"""Conversion rate and episode return of converted DQNs versus simulation time T and percentile p.

Reproduces the study of Tan, Patel & Kozma (AAAI 2021) on the package's own teachers: for each
environment, each normalisation percentile p and each T, the converted IF network is run in the
kernel (float64, the same numbers as Brian2) on held-out states of the teacher's ε-greedy play
(conversion rate against the DQN's greedy action, both readouts) and plays greedy episodes (mean
return, both readouts).

    python scripts/fig_conversion.py                       # trains a CartPole teacher if needed
    python scripts/fig_conversion.py --cartpole runs/teacher/teacher.npz \
        --minatar runs/minatar_breakout/teacher.npz

Writes figures/conversion.csv and figures/conversion.png.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from neurorl import convert as C
from neurorl import dqn

FIELDS = ["env", "percentile", "T", "readout", "conversion_rate", "return_mean", "return_std",
          "dqn_return", "spikes_per_decision", "sops_per_decision"]


def teacher_for(env_id: str, path: str | None, out: Path):
    """Load ``path``, or train a teacher with the preset settings into ``out``."""
    if path:
        return dqn.load_teacher(path)
    target = out / "teacher.npz"
    if not target.exists():
        print(f"training a {env_id} teacher into {out} ...")
        dqn.train(dqn.preset_config(env_id, seed=0), out)
    return dqn.load_teacher(target)


def sweep(env_id, teacher, Ts, percentiles, n_states, n_held, episodes, seed):
    states = C.collect_states(teacher, env_id, n=n_states, seed=seed)
    held = C.collect_states(teacher, env_id, n=n_held, seed=seed + 1)
    dqn_actions = teacher.act(held)
    dqn_return = float(dqn.evaluate(teacher, env_id, episodes=episodes, seed=seed + 2).mean())
    rows = []
    configs = [(p, T) for p in percentiles for T in Ts]
    bar = tqdm(configs, desc=f"convert {env_id}", unit="config")
    for p, T in bar:
        snn = C.convert(teacher, states, percentile=p)
        readouts = C.kernel_readouts(snn, held, T)
        for readout in ("robust", "count"):
            start = time.perf_counter()
            returns = dqn.evaluate(C.SNNPolicy(snn, T, readout), env_id, episodes=episodes,
                                   seed=seed + 2)
            rate = C.conversion_rate(readouts.actions(readout), dqn_actions)
            rows.append(dict(
                env=env_id, percentile=p, T=T, readout=readout, conversion_rate=rate,
                return_mean=float(returns.mean()), return_std=float(returns.std()),
                dqn_return=dqn_return, spikes_per_decision=float(readouts.spikes.mean()),
                sops_per_decision=float(readouts.synaptic_ops.mean()),
            ))
            bar.set_postfix(p=p, T=T, rate=f"{rate:.3f}", ret=f"{returns.mean():.0f}",
                            s=f"{time.perf_counter() - start:.0f}")
    return rows


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env"] for r in rows))
    fig, axes = plt.subplots(len(envs), 2, figsize=(10, 3.6 * len(envs)), squeeze=False)
    percentiles = sorted({r["percentile"] for r in rows})
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(percentiles)))
    for i, env in enumerate(envs):
        for p, colour in zip(percentiles, colours, strict=True):
            for readout, style in (("robust", "-"), ("count", "--")):
                sel = sorted((r for r in rows if r["env"] == env and r["percentile"] == p
                              and r["readout"] == readout), key=lambda r: r["T"])
                Ts = [r["T"] for r in sel]
                label = f"p={p:g}, {readout}"
                axes[i, 0].plot(Ts, [r["conversion_rate"] for r in sel], style, color=colour,
                                marker="o", ms=3, label=label)
                axes[i, 1].plot(Ts, [r["return_mean"] for r in sel], style, color=colour,
                                marker="o", ms=3, label=label)
        dqn_return = next(r["dqn_return"] for r in rows if r["env"] == env)
        axes[i, 1].axhline(dqn_return, color="k", lw=0.8, ls=":", label="DQN")
        axes[i, 0].set(xscale="log", xlabel="simulation steps T", ylabel="conversion rate",
                       title=f"{env}: agreement with the DQN", ylim=(0, 1.02))
        axes[i, 1].set(xscale="log", xlabel="simulation steps T", ylabel="mean episode return",
                       title=f"{env}: greedy return")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(axes[0, 1].get_lines()[-1])
    labels.append("DQN return")
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12 / len(envs), 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cartpole", help="CartPole-v1 teacher checkpoint (default: train one)")
    parser.add_argument("--minatar", help="MinAtar/Breakout teacher checkpoint (default: skip)")
    parser.add_argument("--T", type=int, nargs="+", default=[5, 10, 20, 50, 100, 200, 500])
    parser.add_argument("--percentiles", type=float, nargs="+", default=[99, 99.9, 99.99, 100])
    parser.add_argument("--states", type=int, default=15_000)
    parser.add_argument("--held-out", type=int, default=1_000)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    envs = [("CartPole-v1", teacher_for("CartPole-v1", args.cartpole, Path("runs/teacher")))]
    if args.minatar:
        envs.append(("MinAtar/Breakout", dqn.load_teacher(args.minatar)))
    for env_id, teacher in envs:
        rows += sweep(env_id, teacher, args.T, args.percentiles, args.states, args.held_out,
                      args.episodes, args.seed)
        with open(out / "conversion.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        plot(rows, out / "conversion.png")
    print(f"wrote {out / 'conversion.csv'} and {out / 'conversion.png'}")


if __name__ == "__main__":
    main()
