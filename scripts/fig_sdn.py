"""SDN on CartPole-v1 (Zhou et al. 2021, PAPERS.md §1): convergence, size, temperature, T, Brian2.

    .venv/bin/python scripts/fig_sdn.py            # full sweep (~10-20 min on 2 cores)
    .venv/bin/python scripts/fig_sdn.py --quick    # reduced sweep (one seed, fewer points)
    .venv/bin/python scripts/fig_sdn.py --tiny --out runs/figures-quick \
        --teacher runs/figures-quick/runs/teacher/teacher.npz
                      # tiny budget (seconds; what `make figures-quick` runs): the same files

``--tiny``: one seed, 2 SDN epochs of 250 steps after 500, RL runs of 1,500 steps, 2-episode
evaluations (3 final), one Brian2 episode, sweeps of two points each at 1 epoch; without
``--teacher`` it trains a 2,000-step teacher. The full run of figures/ is the first line.

Writes into ``figures/``:

* ``sdn_convergence.png/.csv``: greedy return (10 episodes) versus epochs, environment steps and
  wall time for SDN (distilled student), the spiking DQN from scratch (same 4-16-2 LIF student,
  T = 8) and the DNN DQN from scratch (4-256-256-2), per seed. An SDN epoch is one pass over
  the distillation buffer after 1,000 new environment steps; an RL "epoch" is 1,000 environment
  steps [ours]. SDN's environment steps do not include the teacher's training (listed apart).
* ``sdn_summary.csv``: per method and seed, epochs and environment steps until the 10-episode
  greedy mean first reached 475, the final 100-episode mean, parameter counts.
* ``sdn_sweeps.png/.csv``: hidden width (smallest student with a 100-episode mean ≥ 475, its
  parameters against the teacher's), temperature τ ∈ {1, 2, 5, 10, 20} (final return, epochs to
  475), simulation steps per decision T (return, hidden spikes per decision).
* ``sdn_brian2.json``: the student in Brian2 closed loop (one run per episode, a
  network_operation stepping the environment): action agreement with the kernel on the same
  seeds, environment steps per second.
* ``sdn_note.md``: the numbers against the issue's goals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurorl.algos import dqn  # noqa: E402
from neurorl.algos.convert import collect_states  # noqa: E402
from neurorl.algos.distill import DistillConfig, distill, play_brian2  # noqa: E402
from neurorl.algos.spiking_dqn import SpikingDQNConfig, train_dqn_curve, train_spiking_dqn  # noqa: E402
from neurorl.ann.qnetwork import load_teacher  # noqa: E402
from neurorl.plots import pyplot, save, write_csv  # noqa: E402
from neurorl.rl.envs import make_env  # noqa: E402
from neurorl.rl.evaluate import evaluate  # noqa: E402

ENV = "CartPole-v1"
TARGET = 475.0
COLORS = {"SDN": "tab:red", "spiking DQN": "tab:blue", "DQN": "tab:gray"}
# --tiny: config fields on top of each method's (evaluations of 2 episodes, 3 final ones)
_TINY_EVAL = dict(eval_episodes=2, final_eval_episodes=3)
TINY = {
    "SDN": dict(initial_steps=500, steps_per_epoch=250, **_TINY_EVAL),
    "spiking DQN": dict(learning_starts=500, eval_every=500, **_TINY_EVAL),
    "DQN": dict(eval_every=500, **_TINY_EVAL),
}


def convergence(teacher, seeds, sdn_epochs, rl_steps, log, budget=None):
    """Curves and summaries of SDN, spiking DQN and DQN per seed (``budget``: per method, extra
    config fields, e.g. :data:`TINY`)."""
    budget = budget or {}
    curves, summary = [], []
    for seed in seeds:
        runs = {}
        log(f"SDN seed {seed}")
        runs["SDN"] = distill(teacher, DistillConfig(seed=seed, max_epochs=sdn_epochs,
                                                     early_stop=False, **budget.get("SDN", {})),
                              progress=False)
        log(f"spiking DQN seed {seed}")
        runs["spiking DQN"] = train_spiking_dqn(SpikingDQNConfig(seed=seed,
                                                                 total_steps=rl_steps,
                                                                 **budget.get("spiking DQN", {})),
                                                progress=False)
        log(f"DQN seed {seed}")
        runs["DQN"] = train_dqn_curve(dqn.preset_config(ENV, seed=seed, total_steps=rl_steps),
                                      **budget.get("DQN", {}))
        for method, res in runs.items():
            for row in res.metrics:
                curves.append({"method": method, "seed": seed, "epoch": row["epoch"],
                               "env_steps": row["env_steps"], "wall_s": row["wall_s"],
                               "eval_return": row["eval_return"]})
            summary.append({"method": method, "seed": seed,
                            "epochs_to_475": res.epochs_to_target,
                            "env_steps_to_475": res.steps_to_target,
                            "epochs_run": len(res.metrics), "env_steps_run": res.metrics[-1][
                                "env_steps"] if res.metrics else 0,
                            "final_return_100": res.final_return, "n_params": res.n_params})
            log(f"  {method}: to 475 at epoch {res.epochs_to_target} "
                f"({res.steps_to_target} steps); final {res.final_return:.1f}")
        if seed == seeds[0]:
            sdn_policy = runs["SDN"].policy
    return curves, summary, sdn_policy


def plot_convergence(curves, teacher_steps, path: Path) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), dpi=110, sharey=True)
    for ax, key, label in zip(axes, ("epoch", "env_steps", "wall_s"),
                              ("epochs", "environment steps (SDN: without the teacher's)",
                               "wall time [s] (evaluation excluded)"), strict=True):
        for method, color in COLORS.items():
            seeds = sorted({r["seed"] for r in curves if r["method"] == method})
            for i, seed in enumerate(seeds):
                rows = [r for r in curves if r["method"] == method and r["seed"] == seed]
                ax.plot([r[key] for r in rows], [r["eval_return"] for r in rows], color=color,
                        lw=1.5, alpha=0.8, marker=".", ms=3,
                        label=method if i == 0 else None)
        ax.axhline(TARGET, color="k", ls=":", lw=1)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
        if key == "env_steps":
            ax.set_xscale("log")
        if key == "wall_s":
            ax.set_xscale("log")
    axes[0].set_ylabel("greedy return (mean of 10 episodes)")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"CartPole-v1: SDN student (4-16-2 LIF, T=8, τ=5) vs spiking DQN (same net) vs "
                 f"DQN (4-256-256-2); one line per seed; teacher trained {teacher_steps} steps;\n"
                 "SDN runs 20 epochs, the RL runs stop once 100 episodes confirm 475",
                 fontsize=9)
    fig.tight_layout()
    save(fig, path)


def sweeps(teacher, widths, taus, Ts, seeds, max_epochs, states, log, budget=None):
    """Rows of the width, temperature and T sweeps (early stop at 475, 100-episode final;
    ``budget``: extra DistillConfig fields)."""
    rows = []

    def run(kind, value, seed, **kw):
        cfg = DistillConfig(seed=seed, max_epochs=max_epochs, **kw, **(budget or {}))
        res = distill(teacher, cfg, progress=False)
        spikes = float(res.policy.spikes_per_decision(states).mean())
        row = {"sweep": kind, "value": value, "seed": seed, "hidden": cfg.hidden[0],
               "tau": cfg.tau, "T": cfg.T, "final_return_100": res.final_return,
               "epochs_to_475": res.epochs_to_target, "epochs_run": res.epochs,
               "env_steps_to_475": res.steps_to_target, "n_params": res.n_params,
               "teacher_params": res.teacher_params,
               "param_ratio": res.teacher_params / res.n_params,
               "spikes_per_decision": spikes, "agreement": res.metrics[-1]["agreement"]}
        log(f"  {kind}={value} seed {seed}: return {res.final_return:.1f}, epochs to 475 "
            f"{res.epochs_to_target}, {res.n_params} params, {spikes:.1f} spikes/decision")
        rows.append(row)

    for h in widths:
        for seed in seeds:
            run("hidden", h, seed, hidden=(h,))
    for tau in taus:
        for seed in seeds:
            run("tau", tau, seed, tau=tau)
    for T in Ts:
        for seed in seeds:
            run("T", T, seed, T=T)
    return rows


def plot_sweeps(rows, path: Path) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), dpi=110)

    def series(kind, key):
        values = sorted({r["value"] for r in rows if r["sweep"] == kind})
        per = [[r[key] for r in rows if r["sweep"] == kind and r["value"] == v] for v in values]
        return values, per

    # size
    ax = axes[0]
    values, rets = series("hidden", "final_return_100")
    _, params = series("hidden", "n_params")
    for v, rs in zip(values, rets, strict=True):
        ax.scatter([v] * len(rs), rs, color="tab:red", s=14)
    ax.plot(values, [np.mean(r) for r in rets], color="tab:red", label="100-episode mean")
    ax.axhline(TARGET, color="k", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(values, [f"{v}\n({p[0]} p)" for v, p in zip(values, params, strict=True)])
    ax.set_xlabel("hidden LIF neurons (parameters; teacher 67,586)")
    ax.set_ylabel("greedy return after distillation")
    ax.set_title("student size")
    ax.grid(alpha=0.3)
    # temperature
    ax = axes[1]
    values, rets = series("tau", "final_return_100")
    _, eps = series("tau", "epochs_to_475")
    ax.plot(values, [np.mean(r) for r in rets], "o-", color="tab:red", label="return")
    ax.axhline(TARGET, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.set_xlabel("temperature τ")
    ax.set_ylabel("greedy return (100 episodes)")
    ax.set_title("temperature")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(values, [np.mean([e if e is not None else np.nan for e in es]) for es in eps],
             "s--", color="tab:green", label="epochs to 475")
    ax2.set_ylabel("epochs to 475 (mean over seeds reaching it)", color="tab:green")
    # T
    ax = axes[2]
    values, rets = series("T", "final_return_100")
    _, spikes = series("T", "spikes_per_decision")
    ax.plot(values, [np.mean(r) for r in rets], "o-", color="tab:red")
    ax.axhline(TARGET, color="k", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(values, [str(v) for v in values])
    ax.set_xlabel("simulation steps per decision T")
    ax.set_ylabel("greedy return (100 episodes)", color="tab:red")
    ax.set_title("decision window")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(values, [np.mean(s) for s in spikes], "s--", color="tab:purple")
    ax2.set_ylabel("hidden spikes per decision", color="tab:purple")
    fig.suptitle("SDN on CartPole-v1: size, temperature and T (4-h-2 LIF student; defaults "
                 "h = 16, τ = 5, T = 8)", fontsize=9)
    fig.tight_layout()
    save(fig, path)


def brian2_check(policy, episodes: int, seed: int = 30_000) -> dict:
    """Closed-loop Brian2 episodes vs the kernel on the same seeds."""
    t0 = time.perf_counter()
    played = play_brian2(policy, ENV, episodes=episodes, seed=seed)
    wall = time.perf_counter() - t0
    same, total = 0, 0
    for i, ep in enumerate(played):
        env = make_env(ENV)
        obs, _ = env.reset(seed=seed + i)
        for action in ep.actions:
            own = int(policy.act(obs[None])[0])
            same += own == action
            total += 1
            obs = env.step(action)[0]
        env.close()
    steps = sum(ep.length for ep in played)
    return {"episodes": episodes, "returns": [ep.total_reward for ep in played],
            "env_steps": steps, "action_agreement_with_kernel": same / max(total, 1),
            "env_steps_per_s_in_run": steps / sum(ep.seconds for ep in played),
            "env_steps_per_s_with_build": steps / wall, "target": "numpy", "T": policy.T}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one seed, fewer sweep points")
    p.add_argument("--tiny", action="store_true", help="tiny budget (seconds): checks the "
                   "script end to end and writes the same files")
    p.add_argument("--teacher", default=None, help="teacher.npz (default: train one, seed 0)")
    p.add_argument("--out", default=str(ROOT / "figures"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f} s] {msg}", flush=True)

    seeds = [0] if args.quick or args.tiny else [0, 1, 2]
    rl_steps = 1_500 if args.tiny else 30_000 if args.quick else 50_000
    budget = TINY if args.tiny else {}
    if args.teacher:
        teacher, teacher_steps = load_teacher(args.teacher), "?"
        teacher_steps = teacher.meta.get("step", "?")
    else:
        log("training the teacher (DQN, 50k steps, seed 0)")
        res = dqn.train(dqn.preset_config(ENV, seed=0, **({"total_steps": 2_000} if args.tiny
                                                          else {})), progress=False)
        teacher, teacher_steps = res.q, res.steps
    teacher_return = float(evaluate(teacher, ENV, 10 if args.tiny else 100).mean())
    log(f"teacher: 100-episode greedy mean {teacher_return:.1f}")

    curves, summary, student = convergence(teacher, seeds, 2 if args.tiny else 10 if args.quick
                                           else 20, rl_steps, log, budget)
    write_csv(out / "sdn_convergence.csv", curves)
    write_csv(out / "sdn_summary.csv", summary)
    plot_convergence(curves, teacher_steps, out / "sdn_convergence.png")
    log("wrote sdn_convergence.png/.csv, sdn_summary.csv")

    log("Brian2 closed loop")
    b2 = brian2_check(student, 1 if args.tiny else 2 if args.quick else 5)
    (out / "sdn_brian2.json").write_text(json.dumps(b2, indent=1))
    log(f"  agreement {b2['action_agreement_with_kernel']:.4f}, "
        f"{b2['env_steps_per_s_in_run']:.0f} env steps/s")

    states = collect_states(teacher, ENV, n=200 if args.tiny else 1_000, seed=7)
    if args.tiny:
        widths, taus, Ts, sweep_seeds = [4, 16], [1.0, 5.0], [2, 8], [0]
    elif args.quick:
        widths, taus, Ts, sweep_seeds = [4, 8, 16], [1.0, 5.0, 20.0], [2, 8], [0]
    else:
        widths, taus, Ts, sweep_seeds = [1, 2, 4, 8, 16, 32], [1.0, 2.0, 5.0, 10.0, 20.0], \
            [1, 2, 4, 8, 16], [0, 1, 2]
    rows = sweeps(teacher, widths, taus, Ts, sweep_seeds, 1 if args.tiny else 30, states, log,
                  budget.get("SDN"))
    write_csv(out / "sdn_sweeps.csv", rows)
    plot_sweeps(rows, out / "sdn_sweeps.png")
    log("wrote sdn_sweeps.png/.csv")

    note = goals_note(summary, rows, b2, teacher_return, teacher_steps,
                      "tiny" if args.tiny else "quick" if args.quick else None)
    (out / "sdn_note.md").write_text(note)
    print(note)
    return 0


def goals_note(summary, rows, b2, teacher_return, teacher_steps, quick) -> str:
    """The measured numbers against the issue's goals, as markdown."""
    def med(method, key):
        vals = [r[key] for r in summary if r["method"] == method]
        got = [v for v in vals if v is not None]
        return (float(np.median(got)) if got else None), len(got), len(vals)

    lines = [f"# SDN on CartPole-v1 ({quick or 'full'} sweep)", "",
             f"Teacher: DQN 4-256-256-2 (67,586 parameters), {teacher_steps} training steps, "
             f"100-episode greedy mean {teacher_return:.1f}.", ""]
    ok = [r for r in rows if r["sweep"] == "hidden"]
    by_width = {}
    for r in ok:
        by_width.setdefault(r["value"], []).append(r)
    passing = [w for w, rs in sorted(by_width.items())
               if all(r["final_return_100"] >= TARGET for r in rs)]
    if passing:
        w = passing[0]
        r = by_width[w][0]
        lines.append(f"* Size: smallest student whose 100-episode mean is ≥ 475 on every seed: "
                     f"4-{w}-2 LIF, {r['n_params']} parameters, {r['param_ratio']:.0f}x fewer "
                     f"than the teacher (goal ≥ 200x).")
    else:
        lines.append("* Size: no width reached 475 on every seed.")
    lines.append("* Epochs / environment steps until the 10-episode greedy mean first reached "
                 "475 (median over seeds that reached it / seeds run):")
    for method in ("SDN", "spiking DQN", "DQN"):
        e, n, m = med(method, "epochs_to_475")
        s, _, _ = med(method, "env_steps_to_475")
        lines.append(f"  * {method}: epochs {e}, env steps {s} ({n}/{m} seeds)")
    e_sdn = med("SDN", "epochs_to_475")[0]
    e_rl = med("spiking DQN", "epochs_to_475")[0]
    if e_sdn and e_rl:
        lines.append(f"* SDN needs {e_sdn / e_rl:.2f} of the spiking DQN's epochs (goal ≤ 0.10); "
                     f"its env steps exclude the teacher's {teacher_steps}.")
    lines.append(f"* Brian2 closed loop: {b2['episodes']} episodes, action agreement with the "
                 f"kernel {b2['action_agreement_with_kernel']:.4f}, "
                 f"{b2['env_steps_per_s_in_run']:.0f} env steps/s inside run() "
                 f"({b2['env_steps_per_s_with_build']:.0f} with building the network), "
                 f"numpy target, T = {b2['T']}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
