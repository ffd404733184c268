"""Conversion rate and episode return of converted DQNs versus simulation time T and percentile p.

Reproduces the study of Tan, Patel & Kozma (AAAI 2021) on the package's own teachers: for each
teacher, each normalisation percentile p and each T, the converted IF network is run in the
kernel (float64, the same numbers as Brian2) on held-out states of the teacher's ε-greedy play
(conversion rate against the DQN's greedy action, both readouts) and plays greedy episodes (mean
return, both readouts).

Four conversion variants (see :mod:`neurorl.algos.convert`): ``ours``, the default of
``convert`` (``models/if_onset.toml``: each layer's bias starts when its input first arrives in
Brian2's schedule; hidden membranes start at v_th/2), swept over every p; ``neuron``, the same
with one scale λ per hidden unit (``per="neuron"``), swept over every p; ``calibrated``,
``neuron`` with its output layer refitted for each T on the normalisation states
(:func:`neurorl.algos.convert.calibrate`), swept over every p; and ``paper``
(``models/if.toml``, bias
from step 0, membranes at 0, one λ per layer: the conversion as the paper states it, run on
Brian2's schedule), at p = 99.9 only. ``ideal`` / ``ideal-neuron`` rows are the ANN-side bound
:func:`neurorl.algos.convert.rate_code_bound` (activations clipped to [0, 1] and rounded to k/T): no
rate-coded conversion that keeps the normalised weights does much better in T steps.

CartPole teachers [ours]: the preset teacher (plain DQN, γ = 0.99, seed 0), the same run with
double DQN, and the conversion teacher (preset + ``convert.CONVERSION_TEACHER``: a dueling MLP
whose advantage stream is converted); all three solve CartPole-v1. The plain teachers' action
gaps are ~0.04 % of their Q-values, which caps any rate code near 0.6 at T = 50; the advantage
stream carries only the gaps. Rows of the existing CSV that a run does not redo (other teachers,
variants, p or T) are kept; ``--minatar`` replaces every MinAtar row.

    python scripts/fig_conversion.py                       # trains the CartPole teachers if needed
    python scripts/fig_conversion.py --cartpole runs/teacher/teacher.npz \
        --minatar runs/minatar_breakout/teacher.npz
    python scripts/fig_conversion.py --cartpole --minatar figures/minatar_breakout_teacher.npz \
        --variants ours                                    # MinAtar only, CartPole rows kept
    python scripts/fig_conversion.py --cartpole runs/teacher_dueling/teacher.npz \
        --variants calibrated                              # one variant, the others' rows kept
    python scripts/fig_conversion.py --seed-table 0 1 2 3 4   # conversion teachers' seeds
    python scripts/fig_conversion.py --goal-check 0 1 2 3 4   # their 99 % goal, 25,000 states

Writes figures/conversion.csv and figures/conversion.png (``--seed-table``:
figures/conversion_seeds.csv; ``--goal-check``: figures/conversion_goal.csv).

The full run of figures/ (what ``make figures`` runs, after training runs/teacher,
runs/teacher_double and runs/teacher_dueling with ``neurorl train-teacher``, see
scripts/make_figures.py):

    python scripts/fig_conversion.py --cartpole runs/teacher/teacher.npz \
        runs/teacher_double/teacher.npz --variants ours
    python scripts/fig_conversion.py --cartpole runs/teacher_dueling/teacher.npz --variants neuron
    python scripts/fig_conversion.py --cartpole runs/teacher_dueling/teacher.npz \
        --variants calibrated --T 5 10 20 50 100 200 --percentiles 99.99 100
    python scripts/fig_conversion.py --cartpole --minatar figures/minatar_breakout_teacher.npz \
        --variants ours
    python scripts/fig_conversion.py --seed-table 0 1 2 3 4
    python scripts/fig_conversion.py --goal-check 0 1 2 3 4

``--quick`` is a tiny budget that runs the same code in seconds and writes the same files into
``--out`` (T = 5, 20; p = 99.9; 500 normalisation and 100 held-out states; one episode per
point; seed-table teachers trained 2,000 steps into ``OUT/runs`` and measured at T = 20 with 3
episodes; the goal check on 500 states at T = 10); it overrides those flags. Without
``--cartpole`` it trains one 2,000-step CartPole teacher into ``OUT/runs/teacher``:

    python scripts/fig_conversion.py --quick --out runs/figures-quick \
        --cartpole runs/figures-quick/runs/teacher/teacher.npz --variants ours calibrated
    python scripts/fig_conversion.py --quick --out runs/figures-quick --seed-table 0
    python scripts/fig_conversion.py --quick --out runs/figures-quick --goal-check 0
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from neurorl.algos import convert as C
from neurorl.algos import dqn
from neurorl.ann.qnetwork import load_teacher
from neurorl.plots import pyplot, save, write_csv
from neurorl.rl.evaluate import evaluate

FIELDS = ["env", "teacher", "variant", "percentile", "T", "readout", "conversion_rate",
          "return_mean", "return_std", "dqn_return", "spikes_per_decision", "sops_per_decision"]
VARIANTS = {
    "ours": dict(model="if_onset", v_init=0.5),
    "neuron": dict(model="if_onset", v_init=0.5, per="neuron"),
    "paper": dict(model="if", v_init=0.0),
}
CALIBRATED = {"calibrated": "neuron"}  # variant -> the variant whose output it refits for each T
IDEAL = {"ours": "ideal", "neuron": "ideal-neuron"}  # the bound's rows of each variant
PAPER_PERCENTILES = (99.9,)
UNCALIBRATED_P = 99.99  # the uncalibrated curve drawn next to calibrated ones
# the CartPole teachers: preset_config overrides, and where they are trained
CARTPOLE_TEACHERS = {
    "runs/teacher": {},
    "runs/teacher_double": {"double_dqn": True},
    "runs/teacher_dueling": dict(C.CONVERSION_TEACHER),
}
GOAL_RATE, GOAL_RETURN = 0.99, 0.98
# --quick: the tiny budget (argument values; seed_*/goal_* those of --seed-table/--goal-check)
QUICK = dict(T=[5, 20], percentiles=[99.9], states=500, held_out=100, episodes=1,
             goal_states=500, teacher_steps=2_000, seed_T=(20,), seed_episodes=3, goal_T=(10,))


def teacher_label(teacher) -> str:
    """A short description of a teacher from its checkpoint's config."""
    cfg = teacher.meta.get("config", {})
    kind = "double" if cfg.get("double_dqn") else "plain"
    if cfg.get("dueling"):
        kind = f"dueling ({'-'.join(str(h) for h in cfg.get('hidden', []))})"
    if cfg.get("advantage_learning"):
        kind += f" AL α={cfg['advantage_learning']:g}"
    return f"{kind} DQN γ={cfg.get('gamma', '?')} seed {cfg.get('seed', '?')}"


def cartpole_teacher(path: str | None, out: Path, overrides: dict):
    """Load ``path``, or train a CartPole-v1 teacher (preset + ``overrides``) into ``out``."""
    if path:
        return load_teacher(path)
    target = out / "teacher.npz"
    if not target.exists():
        print(f"training a CartPole-v1 teacher {overrides} into {out} ...")
        dqn.train(dqn.preset_config("CartPole-v1", seed=0, **overrides), out)
    return load_teacher(target)


def sweep(env_id, teacher, Ts, percentiles, n_states, n_held, episodes, seed,
          variants=("ours", "neuron")):
    """Rows of the CSV for one teacher: ``variants`` over every p and the paper's at p = 99.9,
    both readouts, and the ideal bound."""
    label = teacher_label(teacher)
    states = C.collect_states(teacher, env_id, n=n_states, seed=seed)
    held = C.collect_states(teacher, env_id, n=n_held, seed=seed + 1)
    dqn_actions = teacher.act(held)
    dqn_return = float(evaluate(teacher, env_id, episodes=episodes, seed=seed + 2).mean())
    rows = []
    configs = [(v, p, T) for v in variants for p in percentiles for T in Ts]
    configs += [("paper", p, T) for p in PAPER_PERCENTILES for T in Ts]
    bar = tqdm(configs, desc=f"convert {env_id} ({label})", unit="config")
    base = dict(env=env_id, teacher=label, dqn_return=dqn_return)
    for variant, p, T in bar:
        snn = converted(teacher, states, p, variant, T)
        readouts = C.kernel_readouts(snn, held, T)
        activity = dict(spikes_per_decision=float(readouts.spikes.mean()),
                        sops_per_decision=float(readouts.synaptic_ops.mean()))
        if variant in IDEAL:
            bound = C.rate_code_bound(snn, held, T).argmax(1)
            rows.append(dict(base, variant=IDEAL[variant], percentile=p, T=T, readout="robust",
                             conversion_rate=C.conversion_rate(bound, dqn_actions),
                             return_mean=np.nan, return_std=np.nan,
                             spikes_per_decision=np.nan, sops_per_decision=np.nan))
        for readout in ("robust", "count"):
            start = time.perf_counter()
            returns = evaluate(C.SNNPolicy(snn, T, readout), env_id, episodes=episodes,
                                   seed=seed + 2)
            rate = C.conversion_rate(readouts.actions(readout), dqn_actions)
            rows.append(dict(base, variant=variant, percentile=p, T=T, readout=readout,
                             conversion_rate=rate, return_mean=float(returns.mean()),
                             return_std=float(returns.std()), **activity))
            bar.set_postfix(v=variant, p=f"{p:g}", T=T, rate=f"{rate:.3f}",
                            ret=f"{returns.mean():.0f}", s=f"{time.perf_counter() - start:.0f}")
    return rows


def converted(teacher, states, percentile: float, variant: str, T: int) -> C.ConvertedSNN:
    """``teacher`` converted as ``variant`` (a key of VARIANTS) for runs of ``T`` steps."""
    base = CALIBRATED.get(variant, variant)
    snn = C.convert(teacher, states, percentile=percentile, **VARIANTS[base])
    return C.calibrate(snn, states, T) if variant in CALIBRATED else snn


def row_key(row: dict) -> tuple:
    """What a row measures: a rerun replaces the rows with the same key and keeps the others."""
    return tuple(row[k] for k in ("env", "teacher", "variant", "percentile", "T", "readout"))


def read_rows(path: Path) -> list[dict]:
    """Rows of an existing CSV; rows written before variants existed are the paper's variant."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            row = {k: r.get(k) or "" for k in FIELDS}
            row["variant"] = row["variant"] or "paper"
            row["teacher"] = row["teacher"] or "teacher of an earlier run"
            for k in FIELDS[3:]:
                if k != "readout":
                    row[k] = float(row[k]) if row[k] not in ("", "nan") else np.nan
            rows.append(row)
    return rows


def main_variant(rows) -> str:
    """The variant a teacher's panels show: calibrated where swept, else per-neuron scales, else
    ours, else the paper's."""
    present = {r["variant"] for r in rows}
    return next(v for v in ("calibrated", "neuron", "ours", "paper") if v in present)


def _select(rows, **where):
    return sorted((r for r in rows if all(r[k] == v for k, v in where.items())),
                  key=lambda r: r["T"])


def plot(rows, path: Path) -> None:
    """Per teacher: conversion rate vs T, return vs T, and the p x T map of the robust rate."""
    plt = pyplot()

    groups = list(dict.fromkeys((r["env"], r["teacher"]) for r in rows))
    all_p = sorted({r["percentile"] for r in rows if not r["variant"].startswith("ideal")})
    colours = dict(zip(all_p, plt.cm.viridis(np.linspace(0, 0.85, len(all_p))), strict=True))
    fig, axes = plt.subplots(len(groups), 3, figsize=(15, 3.8 * len(groups)), squeeze=False,
                             gridspec_kw=dict(width_ratios=[1, 1, 0.9]))
    for i, (env, teacher) in enumerate(groups):
        mine = [r for r in rows if r["env"] == env and r["teacher"] == teacher]
        main = main_variant(mine)
        percentiles = sorted({r["percentile"] for r in mine if r["variant"] == main})
        ax_rate, ax_ret, ax_map = axes[i]
        for p in percentiles:
            colour = colours[p]
            for readout, style in (("robust", "-"), ("count", "--")):
                sel = _select(mine, variant=main, percentile=p, readout=readout)
                Ts = [r["T"] for r in sel]
                label = f"{main}, p={p:g}, {readout}"
                ax_rate.plot(Ts, [r["conversion_rate"] for r in sel], style, color=colour,
                             marker="o", ms=3, label=label)
                ax_ret.plot(Ts, [r["return_mean"] for r in sel], style, color=colour,
                            marker="o", ms=3, label=label)
        base = CALIBRATED.get(main, main)  # the variant before calibration
        if main in CALIBRATED:
            sel = _select(mine, variant=base, percentile=UNCALIBRATED_P, readout="robust")
            ax_rate.plot([r["T"] for r in sel], [r["conversion_rate"] for r in sel], "-.",
                         color="grey", lw=1.2, marker="^", ms=3)
        for p in PAPER_PERCENTILES:
            sel = _select(mine, variant="paper", percentile=p, readout="robust")
            kw = dict(color="tab:red", lw=1.2, marker="s", ms=3, alpha=0.8)
            ax_rate.plot([r["T"] for r in sel], [r["conversion_rate"] for r in sel], **kw)
            ax_ret.plot([r["T"] for r in sel], [r["return_mean"] for r in sel], **kw)
            sel = _select(mine, variant=IDEAL.get(base, ""), percentile=p)
            ax_rate.plot([r["T"] for r in sel], [r["conversion_rate"] for r in sel], ":",
                         color="k", lw=1.5)
        ax_rate.axhline(GOAL_RATE, color="tab:red", lw=0.6, ls="-.", label="goal 0.99")
        dqn_return = mine[0]["dqn_return"]
        ax_ret.axhline(dqn_return, color="k", lw=0.8, ls=":", label="DQN return")
        ax_ret.axhline(GOAL_RETURN * dqn_return, color="tab:red", lw=0.6, ls="-.",
                       label="goal: 98% of DQN")
        title = f"{env}, {teacher}" if teacher else env
        ax_rate.set(xscale="log", xlabel="simulation steps T", ylabel="conversion rate",
                    title=f"{title}\nagreement with the DQN", ylim=(0.4, 1.02))
        ax_ret.set(xscale="log", xlabel="simulation steps T", ylabel="mean episode return",
                   title=f"greedy return ({main} variant)")
        for ax in (ax_rate, ax_ret):
            ticks = sorted({r["T"] for r in mine})
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
        Ts = sorted({r["T"] for r in mine if r["variant"] == main})
        grid = np.full((len(percentiles), len(Ts)), np.nan)
        for r in mine:
            if r["variant"] == main and r["readout"] == "robust":
                grid[percentiles.index(r["percentile"]), Ts.index(r["T"])] = r["conversion_rate"]
        image = ax_map.imshow(grid, cmap="magma", vmin=0.5, vmax=1.0, aspect="auto")
        for (a, b), value in np.ndenumerate(grid):
            ax_map.text(b, a, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if value < 0.8 else "k")
        ax_map.set(xticks=range(len(Ts)), xticklabels=[f"{t:g}" for t in Ts],
                   yticks=range(len(percentiles)), yticklabels=[f"{p:g}" for p in percentiles],
                   xlabel="simulation steps T", ylabel="percentile p",
                   title=f"robust conversion rate ({main} variant)")
        fig.colorbar(image, ax=ax_map, fraction=0.05)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[p], marker="o", ms=3, label=f"p = {p:g}")
               for p in all_p]
    handles += [
        Line2D([], [], color="grey", ls="-", label="robust readout"),
        Line2D([], [], color="grey", ls="--", label="spike-count readout"),
        Line2D([], [], color="tab:red", marker="s", ms=3,
               label=f"paper variant, p = {PAPER_PERCENTILES[0]:g}, robust"),
        Line2D([], [], color="k", ls=":", lw=1.5,
               label=f"ideal rate code, normalised weights, p = {PAPER_PERCENTILES[0]:g}"),
        Line2D([], [], color="grey", ls="-.", marker="^", ms=3,
               label=f"before calibration (neuron), p = {UNCALIBRATED_P:g}, robust"),
        Line2D([], [], color="k", ls=":", lw=0.8, label="DQN return"),
        Line2D([], [], color="tab:red", ls="-.", lw=0.6, label="goals: 0.99 / 98% of DQN"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.22 / len(groups), 1, 1))
    save(fig, path, dpi=110)


def summary(rows) -> None:
    """Print the goals of the closing note per teacher (ours variant, robust readout)."""
    for env, teacher in dict.fromkeys((r["env"], r["teacher"]) for r in rows):
        mine = [r for r in rows if r["env"] == env and r["teacher"] == teacher]
        main = main_variant(mine)
        for p in sorted({r["percentile"] for r in mine if r["variant"] == main}):
            rob = {r["T"]: r for r in _select(mine, variant=main, percentile=p, readout="robust")}
            cnt = {r["T"]: r for r in _select(mine, variant=main, percentile=p, readout="count")}
            cells = [f"T={T:g}: {rob[T]['conversion_rate']:.3f}/{cnt[T]['conversion_rate']:.3f}"
                     f" R={rob[T]['return_mean']:.0f}" for T in sorted(rob)]
            print(f"{env} | {teacher} | {main} p={p:g} | robust/count rate, robust return: "
                  + "; ".join(cells))


SEED_FIELDS = ["seed", "per", "percentile", "T", "conversion_rate_robust", "conversion_rate_count",
               "dqn_return_100"]


def seed_table(seeds, out: Path, n_states: int, n_held: int, runs: Path = Path("runs"),
               Ts=(50, 100, 200), episodes: int = 100, steps: int | None = None) -> None:
    """Conversion teachers (preset + ``convert.CONVERSION_TEACHER``) of several seeds: robust and
    count conversion rates at T = 50, 100, 200, into ``out/conversion_seeds.csv``."""
    rows = []
    for seed in tqdm(seeds, desc="conversion teachers", unit="seed"):
        overrides = dict(C.CONVERSION_TEACHER, seed=seed)
        if steps:
            overrides["total_steps"] = steps
        target = runs / f"teacher_dueling_seed{seed}"
        if not (target / "teacher.npz").exists():
            dqn.train(dqn.preset_config("CartPole-v1", **overrides), target, progress=False)
        teacher = load_teacher(target / "teacher.npz")
        ret = float(evaluate(teacher, "CartPole-v1", episodes=episodes, seed=10_000).mean())
        states = C.collect_states(teacher, "CartPole-v1", n=n_states, seed=0)
        held = C.collect_states(teacher, "CartPole-v1", n=n_held, seed=1)
        actions = teacher.act(held)
        for per in ("layer", "neuron"):
            for p in (99.99, 100.0):
                snn = C.convert(teacher, states, percentile=p, per=per)
                for T in Ts:
                    r = C.kernel_readouts(snn, held, T)
                    rows.append(dict(seed=seed, per=per, percentile=p, T=T, dqn_return_100=ret,
                                     conversion_rate_robust=C.conversion_rate(r.actions(), actions),
                                     conversion_rate_count=C.conversion_rate(r.actions("count"),
                                                                             actions)))
        write_csv(out / "conversion_seeds.csv", rows, SEED_FIELDS, float_format=None)
    for per in ("layer", "neuron"):
        for p in (99.99, 100.0):
            cells = []
            for T in Ts:
                rates = [r["conversion_rate_robust"] for r in rows
                         if r["per"] == per and r["percentile"] == p and r["T"] == T]
                cells.append(f"T={T}: {min(rates):.3f}-{max(rates):.3f}")
            print(f"per={per} p={p:g} robust rate over seeds {list(seeds)}: " + "; ".join(cells))
    print(f"wrote {out / 'conversion_seeds.csv'}")


GOAL_FIELDS = ["seed", "variant", "percentile", "T", "held_out_states",
               "conversion_rate_robust", "conversion_rate_count", "block_rate_min",
               "block_rate_sd"]
GOAL_T = (10, 50, 100)
GOAL_SEED = 100_000  # held-out episodes reset with seeds 100000, ...: none of the states' seeds
GOAL_BLOCK = 500  # states per block for the spread (one episode of a teacher that solves it)


def goal_check(seeds, out: Path, n_states: int, n_goal: int, percentile: float = 99.99,
               runs: Path = Path("runs"), Ts=GOAL_T) -> None:
    """The 99 % goal of the conversion teachers at GOAL_T on ``n_goal`` held-out states, before
    and after calibration, into ``out/conversion_goal.csv``; consecutive states are correlated,
    so the spread of the rate over blocks of GOAL_BLOCK states is written too. Needs the
    teachers of --seed-table."""
    rows = []
    for seed in tqdm(seeds, desc="goal check", unit="seed"):
        teacher = load_teacher(runs / f"teacher_dueling_seed{seed}" / "teacher.npz")
        states = C.collect_states(teacher, "CartPole-v1", n=n_states, seed=0)
        held = C.collect_states(teacher, "CartPole-v1", n=n_goal, seed=GOAL_SEED)
        actions = teacher.act(held)
        for variant in ("neuron", "calibrated"):
            for T in Ts:
                r = C.kernel_readouts(converted(teacher, states, percentile, variant, T), held, T)
                agree = r.actions() == actions
                blocks = agree[: len(agree) // GOAL_BLOCK * GOAL_BLOCK].reshape(-1, GOAL_BLOCK)
                count = C.conversion_rate(r.actions("count"), actions)
                rows.append(dict(seed=seed, variant=variant, percentile=percentile, T=T,
                                 held_out_states=n_goal,
                                 conversion_rate_robust=float(agree.mean()),
                                 conversion_rate_count=count,
                                 block_rate_min=float(blocks.mean(1).min()),
                                 block_rate_sd=float(blocks.mean(1).std())))
                tqdm.write(f"seed {seed} {variant} T={T}: robust {agree.mean():.4f} (blocks of "
                           f"{GOAL_BLOCK}: min {blocks.mean(1).min():.3f}), count {count:.4f}")
        write_csv(out / "conversion_goal.csv", rows, GOAL_FIELDS, float_format=None)
    print(f"wrote {out / 'conversion_goal.csv'}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cartpole", nargs="*", default=None,
                        help="CartPole-v1 teacher checkpoints (default: train the three "
                        "teachers; the flag alone: none, keep their rows)")
    parser.add_argument("--minatar", help="MinAtar/Breakout teacher checkpoint (default: keep "
                        "the rows of the existing CSV)")
    parser.add_argument("--T", type=int, nargs="+", default=[5, 10, 20, 50, 100, 200, 500])
    parser.add_argument("--percentiles", type=float, nargs="+", default=[99, 99.9, 99.99, 100])
    parser.add_argument("--states", type=int, default=15_000)
    parser.add_argument("--held-out", type=int, default=1_000)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", choices=("ours", "neuron", *CALIBRATED),
                        default=["ours", "neuron"], help="variants swept over every p (the "
                        "paper's runs at p = 99.9 in any case)")
    parser.add_argument("--out", default="figures")
    parser.add_argument("--seed-table", type=int, nargs="+", default=None, metavar="SEED",
                        help="only train conversion teachers of these seeds and write "
                        "conversion_seeds.csv (no sweep)")
    parser.add_argument("--goal-check", type=int, nargs="+", default=None, metavar="SEED",
                        help="only measure the conversion teachers of these seeds (trained by "
                        "--seed-table) at T = 10, 50, 100 on --goal-states held-out states")
    parser.add_argument("--goal-states", type=int, default=25_000)
    parser.add_argument("--runs", default=None, help="where --seed-table trains (and "
                        "--goal-check reads) its teachers (default: runs; --quick: OUT/runs)")
    parser.add_argument("--quick", action="store_true", help="tiny budget (seconds): overrides "
                        "--T, --percentiles, --states, --held-out, --episodes, --goal-states")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(args.runs or (out / "runs" if args.quick else "runs"))
    tiny = {}
    if args.quick:
        for key in ("T", "percentiles", "states", "held_out", "episodes", "goal_states"):
            setattr(args, key, QUICK[key])
        tiny = dict(steps=QUICK["teacher_steps"], Ts=QUICK["seed_T"],
                    episodes=QUICK["seed_episodes"])
    if args.seed_table:
        seed_table(args.seed_table, out, args.states, args.held_out, runs, **tiny)
        return
    if args.goal_check:
        goal_check(args.goal_check, out, args.states, args.goal_states, runs=runs,
                   **({"Ts": QUICK["goal_T"]} if args.quick else {}))
        return
    if args.cartpole is not None:
        envs = [("CartPole-v1", load_teacher(p)) for p in args.cartpole]
    elif args.quick:
        envs = [("CartPole-v1", cartpole_teacher(None, runs / "teacher",
                                                 {"total_steps": QUICK["teacher_steps"]}))]
    else:
        envs = [("CartPole-v1", cartpole_teacher(None, Path(d), o))
                for d, o in CARTPOLE_TEACHERS.items()]
    if args.minatar:
        envs.append(("MinAtar/Breakout", load_teacher(args.minatar)))
    old = [r for r in read_rows(out / "conversion.csv")
           if not (r["env"] == "MinAtar/Breakout" and args.minatar)]
    rows, kept = [], old
    for env_id, teacher in envs:
        rows += sweep(env_id, teacher, args.T, args.percentiles, args.states, args.held_out,
                      args.episodes, args.seed, args.variants)
        new = {row_key(r) for r in rows}
        kept = [r for r in old if row_key(r) not in new]
        write_csv(out / "conversion.csv", rows + kept, FIELDS, float_format=None)
        plot(rows + kept, out / "conversion.png")
    summary(rows + kept)
    print(f"wrote {out / 'conversion.csv'} and {out / 'conversion.png'}")


if __name__ == "__main__":
    main()
