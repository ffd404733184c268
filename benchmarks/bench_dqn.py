"""neurorl's numpy DQN vs Stable-Baselines3's DQN on CartPole-v1, same settings, same seeds.

Settings: the rl-zoo CartPole-v1 DQN hyperparameters (50k steps, lr 2.3e-3, batch 64, buffer
100k, learning_starts 1000, target_update_interval 10, train_freq 256, gradient_steps 128,
exploration_fraction 0.16, final ε 0.04, net [256, 256]). neurorl runs both its default Double
DQN and plain DQN (SB3's algorithm: the same-settings comparison). Each run is a fresh
subprocess; all trained networks are evaluated by the same code (``neurorl.rl.evaluate.evaluate``:
greedy, 100 episodes, seeds 10000…10099; SB3's weights are copied into a neurorl QNetwork).

    .venv-bench/bin/python benchmarks/bench_dqn.py                 # seeds 0 1 2, both
    .venv-bench/bin/python benchmarks/bench_dqn.py --torch-threads 1 --blas-threads 1
    .venv-bench/bin/python benchmarks/bench_dqn.py --seeds 0 --only neurorl
    .venv-bench/bin/python benchmarks/bench_dqn.py --algo vanilla --lr-end 0   # both sides decay lr

With rl-zoo's constant learning rate, whether a seed ends solved at 50k steps is close to a coin
toss for both libraries (plain DQN oscillates); ``--lr-end 0`` decays it linearly on both sides.

``--select-every 2500`` gives both sides rl-zoo's protocol: the best of greedy evaluations (10
episodes, seeds 20000+, neurorl's evaluation code on both networks) is the one evaluated, and the
evaluations count in the wall time.

Prints, per seed: wall time to finish training, greedy 100-episode mean, and the wall-time ratio
SB3 / neurorl. Writes figures/bench_dqn.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECT_EPISODES = 10  # greedy episodes per selection evaluation (the DQN's classic preset)
ZOO = dict(total_steps=50_000, lr=2.3e-3, batch_size=64, buffer_size=100_000,
           learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256,
           gradient_steps=128, exploration_fraction=0.16, end_e=0.04, hidden=(256, 256))


def worker_neurorl(seed: int, steps: int, vanilla: bool, blas_threads: int,
                   lr_end: float | None, select_every: int) -> dict:
    from neurorl.algos.dqn import DQNConfig, train
    from neurorl.rl.evaluate import evaluate

    cfg = DQNConfig(seed=seed, **{**ZOO, "total_steps": steps}, double_dqn=not vanilla,
                    blas_threads=blas_threads, lr_end=lr_end, eval_every=select_every,
                    eval_episodes=SELECT_EPISODES)
    t0 = time.perf_counter()
    res = train(cfg, progress=False)
    wall = time.perf_counter() - t0
    returns = evaluate(res.q, "CartPole-v1", episodes=100)
    return {"wall_s": wall, "eval_mean": float(returns.mean()), "eval_std": float(returns.std())}


def worker_sb3(seed: int, steps: int, torch_threads: int, lr_end: float | None,
               select_every: int) -> dict:
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    from neurorl.algos.dqn import SELECTION_SEED
    from neurorl.ann import nn
    from neurorl.ann.qnetwork import QNetwork
    from neurorl.rl.evaluate import evaluate

    def as_q_network(model) -> QNetwork:
        linears = [m for m in model.q_net.q_net if isinstance(m, torch.nn.Linear)]
        params = {}
        for i, lin in enumerate(linears):
            params[f"l{i}.W"] = lin.weight.detach().numpy().T.astype(np.float32).copy()
            params[f"l{i}.b"] = lin.bias.detach().numpy().astype(np.float32).copy()
        return QNetwork(nn.mlp(4, ZOO["hidden"], 2), params)

    class KeepBest(BaseCallback):
        """neurorl's selection on SB3's network: the same greedy episodes, the same code."""

        def __init__(self) -> None:
            super().__init__()
            self.best, self.score = None, -np.inf

        def _on_step(self) -> bool:
            if select_every and self.num_timesteps % select_every == 0:
                q = as_q_network(self.model)
                score = evaluate(q, "CartPole-v1", SELECT_EPISODES, seed=SELECTION_SEED).mean()
                if score >= self.score:
                    self.best, self.score = q, score
            return True

    torch.set_num_threads(torch_threads)
    env = gym.make("CartPole-v1")
    lr = ZOO["lr"]
    if lr_end is not None:  # SB3 passes the fraction of training left, 1 -> 0

        def lr(remaining: float) -> float:
            return lr_end + (ZOO["lr"] - lr_end) * remaining

    model = DQN(
        "MlpPolicy", env, learning_rate=lr, batch_size=ZOO["batch_size"],
        buffer_size=ZOO["buffer_size"], learning_starts=ZOO["learning_starts"],
        gamma=ZOO["gamma"], target_update_interval=ZOO["target_update_interval"],
        train_freq=ZOO["train_freq"], gradient_steps=ZOO["gradient_steps"],
        exploration_fraction=ZOO["exploration_fraction"],
        exploration_final_eps=ZOO["end_e"], policy_kwargs=dict(net_arch=list(ZOO["hidden"])),
        seed=seed, device="cpu", verbose=0,
    )
    keep = KeepBest()
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps, callback=keep)
    wall = time.perf_counter() - t0
    q = keep.best if keep.best is not None else as_q_network(model)
    returns = evaluate(q, "CartPole-v1", episodes=100)
    return {"wall_s": wall, "eval_mean": float(returns.mean()), "eval_std": float(returns.std())}


def run_worker(args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=ZOO["total_steps"])
    ap.add_argument("--only", choices=["neurorl", "sb3"], default=None)
    ap.add_argument("--algo", choices=["both", "double", "vanilla"], default="both",
                    help="neurorl's Double DQN, plain DQN (SB3's algorithm), or both")
    ap.add_argument("--vanilla", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-threads", type=int, default=2,
                    help="torch threads for SB3 (on the quiet 2-core machine 2 measured faster "
                         "than 1: 58-60 s against 62 s)")
    ap.add_argument("--blas-threads", type=int, default=2,
                    help="numpy BLAS threads for neurorl (2 measured faster than 1 on the quiet "
                         "2-core machine: 17 s against 20 s; on a busy machine use 1)")
    ap.add_argument("--lr-end", type=float, default=None,
                    help="both sides decay the learning rate linearly to this (default: constant, "
                         "as rl-zoo)")
    ap.add_argument("--select-every", type=int, default=0,
                    help="both sides keep the best of greedy evaluations every this many steps "
                         "(rl-zoo's best model; neurorl's evaluation code on both; 0: final "
                         "weights)")
    ap.add_argument("--csv", default=str(ROOT / "figures" / "bench_dqn.csv"))
    ap.add_argument("--worker", choices=["neurorl", "sb3"], help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker == "neurorl":
        print(json.dumps(worker_neurorl(a.seed, a.steps, a.vanilla, a.blas_threads, a.lr_end,
                                        a.select_every)))
        return
    if a.worker == "sb3":
        print(json.dumps(worker_sb3(a.seed, a.steps, a.torch_threads, a.lr_end, a.select_every)))
        return

    try:
        import stable_baselines3  # noqa: F401

        have_sb3 = a.only != "neurorl"
    except ImportError:
        have_sb3 = False
        print("stable-baselines3 not installed: timing neurorl only "
              "(make bench-env; .venv-bench/bin/python benchmarks/bench_dqn.py)")
    algos = ["double", "vanilla"] if a.algo == "both" else [a.algo]
    if a.only == "sb3":
        algos = []
    print(f"CartPole-v1, rl-zoo settings, {a.steps} steps; neurorl (numpy BLAS threads "
          f"{a.blas_threads}) vs SB3 DQN (torch threads {a.torch_threads}); learning rate "
          f"{'constant' if a.lr_end is None else f'decayed linearly to {a.lr_end}'}; "
          f"{f'best of evaluations every {a.select_every} steps' if a.select_every else 'final'}"
          " weights; "
          "wall s = training time, eval = greedy 100-episode mean, ratio = SB3 s / neurorl s")
    head = f"{'seed':>4}"
    for algo in algos:
        name = "DDQN" if algo == "double" else "DQN"
        head += f" {'nrl ' + name + ' s':>12} {'eval':>6}"
    if have_sb3 or a.only == "sb3":
        head += f" {'SB3 DQN s':>10} {'eval':>6}"
        head += "".join(f" {'ratio ' + ('DDQN' if x == 'double' else 'DQN'):>10}" for x in algos)
    print(head)
    rows = []
    common = ["--steps", str(a.steps), "--torch-threads", str(a.torch_threads),
              "--blas-threads", str(a.blas_threads)]
    if a.lr_end is not None:
        common += ["--lr-end", str(a.lr_end)]
    if a.select_every:
        common += ["--select-every", str(a.select_every)]
    for seed in a.seeds:
        row: dict = {"seed": seed}
        line = f"{seed:>4}"
        for algo in algos:
            extra = ["--vanilla"] if algo == "vanilla" else []
            r = run_worker(["--worker", "neurorl", "--seed", str(seed), *common, *extra])
            row[f"{algo}_wall_s"], row[f"{algo}_eval"] = r["wall_s"], r["eval_mean"]
            line += f" {r['wall_s']:>12.1f} {r['eval_mean']:>6.1f}"
        if have_sb3 or a.only == "sb3":
            r = run_worker(["--worker", "sb3", "--seed", str(seed), *common])
            row["sb3_wall_s"], row["sb3_eval"] = r["wall_s"], r["eval_mean"]
            line += f" {r['wall_s']:>10.1f} {r['eval_mean']:>6.1f}"
            for algo in algos:
                row[f"ratio_{algo}"] = r["wall_s"] / row[f"{algo}_wall_s"]
                line += f" {row[f'ratio_{algo}']:>10.2f}"
        rows.append(row)
        print(line, flush=True)
    keys = ["seed"] + [f"{x}_{k}" for x in algos for k in ("wall_s", "eval")]
    keys += ["sb3_wall_s", "sb3_eval"] + [f"ratio_{x}" for x in algos]
    Path(a.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(a.csv, "w", newline="") as fh:
        w = csv.DictWriter(fh, keys)
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{row[k]:.4g}" if isinstance(row.get(k), float) else row.get(k, ""))
                        for k in keys})
    for algo in algos:
        solved = sum(r[f"{algo}_eval"] >= 475 for r in rows)
        msg = f"neurorl {algo}: solved (≥ 475) {solved}/{len(rows)} seeds"
        ratios = [r[f"ratio_{algo}"] for r in rows if f"ratio_{algo}" in r]
        if ratios:
            msg += (f"; SB3/neurorl wall-time ratio min {min(ratios):.2f}, "
                    f"mean {sum(ratios) / len(ratios):.2f}")
        print(msg)
    if rows and "sb3_eval" in rows[0]:
        print(f"SB3: solved {sum(r['sb3_eval'] >= 475 for r in rows)}/{len(rows)} seeds")
    print(f"wrote {a.csv}")


if __name__ == "__main__":
    main()
