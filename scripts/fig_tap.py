"""The GRSN study's table (issue [grsn-study] item 2): every encoder on the POMDP tasks, through
``neurorl sweep`` (one spec per block in ``scripts/sweeps/tap_*.toml``), and its figures.

    python scripts/fig_tap.py                              # table + figures from finished runs
    python scripts/fig_tap.py --run --blocks cartpole      # run (or resume) a block, then draw
    python scripts/fig_tap.py --run --workers 2            # every block but lunarlander
    python scripts/fig_tap.py --quick --out DIR            # tiny budget, 1 seed, into DIR

Runs go to ``RUNS/<block>/runs/<id>`` (default RUNS = results/tap_table); a finished run is
skipped and an interrupted one resumes, so ``--run`` can be repeated until every cell is done.
Without ``--run`` nothing is trained: the table holds the runs that have finished and says how
many seeds each cell has.

Writes, into OUT (default figures):

* ``tap_table.csv``: per task and encoder, seeds finished, the final greedy return (mean of the
  last 5 evaluations of 10 episodes, as the authors' ``train.py``; mean and standard deviation
  over seeds), the environment steps to 90 % of the best encoder's final return (measured from
  the random policy's return: R_rand + 0.9 (R_best − R_rand); mean over the seeds that reach it,
  and how many do), the training wall time (s) and env steps/s, the encoder's spikes per step
  and the 45 nm energy per decision (nJ) of the trained actor on 500 greedy steps
  (:mod:`neurorl.hardware.recurrent_ops`);
* ``tap_table.md``: the same table in Markdown (the README's);
* ``tap_curves.csv`` / ``tap_curves.png``: greedy return against environment steps per task,
  the mean over seeds and a band from the lowest to the highest seed;
* ``tap_scores.csv`` / ``tap_scores.png``: the normalised score (R − R_rand) / (R_best − R_rand)
  per encoder, per task and its mean over tasks;
* ``tap_random.csv``: the uniformly random policy's return per task (10 episodes);
* ``tap_energy.csv`` / ``tap_energy.png``: energy per decision of every encoder's trained actor
  (mean over seeds): the 45 nm count (4.6 pJ per MAC, 0.9 pJ per synaptic operation; embedders,
  encoder with its gates and recurrent products, head; :mod:`neurorl.hardware.recurrent_ops`)
  split by part, with each TAP spiking encoder's deployed Brian2 network on the nc64c and Loihi
  chip models (``--chips``: ``neurorl energy`` on the first finished seed's actor, its JSON
  reports in ``tap_energy_chips/``) and the GRSN / GRU ratio the paper puts at about 50 %;
* ``tap_claims.csv`` / ``tap_claims.md``: the study's claims per task, each from the per-seed
  values of two cells (:func:`neurorl.seeds.compare_seeds`): ``grsn`` at >= 95 % of ``gru``
  (normalised from the random policy's return: (R_grsn - R_rand) / (R_gru - R_rand), which stays
  meaningful for negative returns), TAP against no TAP, the gate against ``lif``, memory against
  ``mlp`` (the difference of the mean final returns, its standard error and Welch's p; "yes" at
  p < 0.05) and GRSN's 45 nm energy per decision against GRU's (<= 0.5, the paper's claim).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurorl import sweep  # noqa: E402
from neurorl.plots import pyplot, save, write_csv  # noqa: E402
from neurorl.seeds import claims_markdown, judge_claim  # noqa: E402

BLOCKS = ("cartpole", "pendulum", "popgym", "lunarlander")
DEFAULT_BLOCKS = ("cartpole", "pendulum", "popgym")
ENCODER_ORDER = ("grsn", "grsn_input_gated", "lif", "grsn_notap", "lif_notap", "gru", "lstm",
                 "mlp")
NON_SPIKING = ("gru", "lstm", "mlp")
QUICK = {"total_steps": 400, "hidden": 16, "batch_size": 4, "seq_len": 8, "eval_every": 100,
         "eval_episodes": 2, "random_episodes": 2, "checkpoint_every": 200}


def spec_path(block: str) -> Path:
    return ROOT / "scripts" / "sweeps" / f"tap_{block}.toml"


def load_block(block: str, runs: Path, quick: bool) -> sweep.Sweep:
    spec = sweep.load_spec(spec_path(block), out=runs / block,
                           overrides=QUICK if quick else None)
    if quick:  # one seed, three encoders
        keep = [r for r in spec.runs if r.config["seed"] == 0
                and r.config["encoder"] in ("grsn", "gru", "mlp")]
        spec.runs = keep
    return spec


def read_evals(path: Path) -> list[tuple[int, float]]:
    with open(path) as fh:
        return [(int(r["step"]), float(r["mean_greedy_return"])) for r in csv.DictReader(fh)]


def random_return(env_id: str, episodes: int = 10, seed: int = 10_000) -> float:
    """Mean return of uniformly random actions over ``episodes`` episodes."""
    from neurorl.rl.envs import make_env

    env = make_env(env_id)
    env.action_space.seed(seed)
    total = 0.0
    for k in range(episodes):
        env.reset(seed=seed + k)
        done = False
        while not done:
            _, r, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(r)
            done = terminated or truncated
    env.close()
    return total / episodes


def collect(blocks: list[sweep.Sweep]) -> dict[tuple[str, str], list[dict]]:
    """(task, encoder) → the finished runs: seed, summary, evaluations."""
    cells: dict[tuple[str, str], list[dict]] = {}
    for spec in blocks:
        for row in sweep.aggregate(spec):
            if row["status"] != "done":
                continue
            run = next(r for r in spec.runs if r.id == row["id"])
            evals = read_evals(spec.run_dir(run) / "evals.csv")
            cells.setdefault((run.config["env_id"], run.config["encoder"]), []).append(
                {"seed": run.config["seed"], "summary": {**row, "run_dir": str(spec.run_dir(run))},
                 "evals": evals})
    return cells


def mean_of(runs: list[dict], key: str) -> float:
    values = [float(r["summary"][key]) for r in runs if key in r["summary"]]
    return float(np.mean(values)) if values else float("nan")


def table(cells, random: dict[str, float], planned: dict[tuple[str, str], int]) -> list[dict]:
    rows = []
    for task in sorted({t for t, _ in planned}):
        finals = {enc: np.mean([r["summary"]["final_return"] for r in runs])
                  for (t, enc), runs in cells.items() if t == task}
        best = max(finals.values(), default=float("nan"))
        threshold = random[task] + 0.9 * (best - random[task])
        for enc in [e for e in ENCODER_ORDER if (task, e) in planned]:
            runs = cells.get((task, enc), [])
            final = [r["summary"]["final_return"] for r in runs]
            reach = [next((s for s, ret in r["evals"] if ret >= threshold), None) for r in runs]
            reached = [s for s in reach if s is not None]
            wall = [r["summary"]["wall_s"] for r in runs]
            steps = [r["summary"]["steps"] for r in runs]
            rows.append({
                "task": task, "encoder": enc, "seeds": len(runs), "planned": planned[(task, enc)],
                "final_return_mean": float(np.mean(final)) if final else float("nan"),
                "final_return_std": float(np.std(final)) if final else float("nan"),
                "threshold_90": threshold, "steps_to_90_mean":
                    float(np.mean(reached)) if reached else float("nan"),
                "seeds_reaching_90": len(reached),
                "wall_s_mean": float(np.mean(wall)) if wall else float("nan"),
                "spikes_per_step_mean": mean_of(runs, "spikes_per_step"),
                "energy_45nm_nj_mean": mean_of(runs, "energy_45nm_nj"),
                "env_steps_per_s": float(np.sum(steps) / np.sum(wall)) if wall else float("nan"),
                "random_return": random[task], "best_encoder_return": best})
    return rows


# (claim, a, b, kind): "score" a's final return normalised by b's (>= 0.95), "beats" a's final
# return above b's (Welch), "energy" a's 45 nm energy per decision over b's (<= 0.5)
CLAIMS = (
    ("grsn at >= 95 % of gru", "grsn", "gru", "score"),
    ("TAP beats no TAP", "grsn", "grsn_notap", "beats"),
    ("TAP beats no TAP", "lif", "lif_notap", "beats"),
    ("the gate beats lif", "grsn", "lif", "beats"),
    ("the gate beats lif", "grsn_input_gated", "lif", "beats"),
    ("memory beats mlp", "grsn", "mlp", "beats"),
    ("memory beats mlp", "gru", "mlp", "beats"),
    ("energy grsn <= 0.5 x gru", "grsn", "gru", "energy"),
)


def claims(cells, random: dict[str, float]) -> list[dict]:
    """Every claim of :data:`CLAIMS` on every task where both cells have finished seeds."""
    rows = []
    for task in sorted({t for t, _ in cells}):
        for claim, a, b, kind in CLAIMS:
            runs_a, runs_b = cells.get((task, a), []), cells.get((task, b), [])
            if not runs_a or not runs_b:
                continue
            key = "energy_45nm_nj" if kind == "energy" else "final_return"
            judged = judge_claim(kind, [r["summary"][key] for r in runs_a],
                                 [r["summary"][key] for r in runs_b],
                                 at=0.5 if kind == "energy" else 0.95, floor=random[task])
            rows.append({"task": task, "claim": claim, "a": a, "b": b, "quantity": key,
                         **judged})
    return rows


def curves(cells) -> list[dict]:
    rows = []
    for (task, enc), runs in sorted(cells.items()):
        steps = sorted({s for r in runs for s, _ in r["evals"]})
        for s in steps:
            values = [dict(r["evals"])[s] for r in runs if s in dict(r["evals"])]
            rows.append({"task": task, "encoder": enc, "step": s, "seeds": len(values),
                         "mean": float(np.mean(values)), "low": float(np.min(values)),
                         "high": float(np.max(values))})
    return rows


def scores(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        span = r["best_encoder_return"] - r["random_return"]
        score = (r["final_return_mean"] - r["random_return"]) / span if span else float("nan")
        out.append({"task": r["task"], "encoder": r["encoder"], "seeds": r["seeds"],
                    "score": score})
    return out


def draw_curves(curve_rows: list[dict], path: Path) -> None:
    plt = pyplot()
    tasks = sorted({r["task"] for r in curve_rows})
    cols = min(3, max(1, len(tasks)))
    nrows = int(np.ceil(len(tasks) / cols)) or 1
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.6 * nrows), squeeze=False)
    colors = dict(zip(ENCODER_ORDER, plt.get_cmap("tab10").colors, strict=False))
    for ax, task in zip(axes.flat, tasks, strict=False):
        for enc in ENCODER_ORDER:
            pts = [r for r in curve_rows if r["task"] == task and r["encoder"] == enc]
            if not pts:
                continue
            x = [p["step"] for p in pts]
            seeds = max(p["seeds"] for p in pts)
            ax.plot(x, [p["mean"] for p in pts], color=colors[enc], label=f"{enc} ({seeds})",
                    lw=1.6, ls="--" if enc in ("mlp", "grsn_notap", "lif_notap") else "-")
            ax.fill_between(x, [p["low"] for p in pts], [p["high"] for p in pts],
                            color=colors[enc], alpha=0.12, lw=0)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("greedy return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="encoder (seeds)", title_fontsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.suptitle("TAP study: mean over seeds, band = lowest to highest seed")
    fig.tight_layout()
    save(fig, path)


def draw_scores(score_rows: list[dict], path: Path) -> None:
    plt = pyplot()
    tasks = sorted({r["task"] for r in score_rows})
    encs = [e for e in ENCODER_ORDER if any(r["encoder"] == e for r in score_rows)]
    fig, ax = plt.subplots(figsize=(max(7.0, 1.0 + 1.1 * len(encs)), 3.8))
    width = 0.8 / max(1, len(tasks) + 1)
    for k, task in enumerate(tasks + ["mean"]):
        vals = []
        for enc in encs:
            pick = [r["score"] for r in score_rows if r["encoder"] == enc
                    and (r["task"] == task or task == "mean") and r["seeds"]]
            vals.append(float(np.mean(pick)) if pick else np.nan)
        ax.bar(np.arange(len(encs)) + (k - len(tasks) / 2) * width, vals, width,
               label=task, color="k" if task == "mean" else None)
    ax.set_xticks(np.arange(len(encs)), encs, rotation=20, fontsize=8)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_ylabel("(R − R_random) / (R_best − R_random)")
    ax.set_title("final greedy return, normalised per task (1: best encoder, 0: random)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


ENERGY_PARTS = ("embed", "encoder", "head")
CHIP_ENCODERS = ("grsn", "grsn_input_gated", "lif")  # TAP spiking: a Brian2 network to price
CHIPS = ("nc64c", "loihi")


def chip_energy(cells, out: Path, decisions: int = 500) -> list[dict]:
    """``neurorl energy`` on the first finished seed of every TAP spiking encoder and task:
    energy per decision (nJ) on each chip profile."""
    from neurorl import cli

    rows = []
    for (task, enc), runs in sorted(cells.items()):
        if enc not in CHIP_ENCODERS or not runs:
            continue
        run = min(runs, key=lambda r: r["seed"])
        actor = Path(run["summary"]["run_dir"]) / "actor.npz"
        report = out / "tap_energy_chips" / f"{task}_{enc}_s{run['seed']}.json"
        args = ["energy", str(actor), "--samples", str(decisions), "--json", str(report)]
        for chip in CHIPS:
            args += ["--profile", chip]
        if cli.main(args) != 0:
            raise SystemExit(f"neurorl energy failed on {actor}")
        for chip in json.loads(report.read_text())["chips"]:
            rows.append({"task": task, "encoder": enc, "seed": run["seed"],
                         "profile": chip["profile"]["name"] if isinstance(chip["profile"], dict)
                         else chip["profile"],
                         "energy_nj": chip["energy_per_decision_pj"]["total"] / 1e3,
                         "dynamic_nj": (chip["energy_per_decision_pj"]["total"]
                                        - chip["energy_per_decision_pj"].get("static", 0.0))
                         / 1e3})
    return rows


def energy_rows(cells) -> list[dict]:
    rows = []
    for (task, enc), runs in sorted(cells.items()):
        row = {"task": task, "encoder": enc, "seeds": len(runs),
               "spikes_per_step": mean_of(runs, "spikes_per_step"),
               "macs_per_decision": mean_of(runs, "macs_per_decision"),
               "sops_per_decision": mean_of(runs, "sops_per_decision"),
               "energy_45nm_nj": mean_of(runs, "energy_45nm_nj")}
        row.update({f"energy_45nm_{p}_nj": mean_of(runs, f"energy_45nm_{p}_nj")
                    for p in ENERGY_PARTS})
        rows.append(row)
    return rows


def draw_energy(rows: list[dict], chips: list[dict], path: Path) -> None:
    plt = pyplot()
    tasks = sorted({r["task"] for r in rows})
    n_rows = 2 if chips else 1
    fig, axes = plt.subplots(n_rows, len(tasks), figsize=(5.6 * len(tasks), 3.6 * n_rows + 0.6),
                             squeeze=False)
    shades = {"embed": "#bbbbbb", "encoder": "#1f77b4", "head": "#ff7f0e"}
    markers = {"nc64c": "D", "loihi": "^"}
    for col, task in enumerate(tasks):
        ax = axes[0, col]
        encs = [e for e in ENCODER_ORDER if any(r["task"] == task and r["encoder"] == e
                                                 for r in rows)]
        by_enc = {r["encoder"]: r for r in rows if r["task"] == task}
        bottom = np.zeros(len(encs))
        for part in ENERGY_PARTS:
            vals = np.array([by_enc[e][f"energy_45nm_{part}_nj"] for e in encs])
            ax.bar(range(len(encs)), vals, bottom=bottom, color=shades[part], label=part)
            bottom += np.nan_to_num(vals)
        for k, e in enumerate(encs):
            spikes = by_enc[e]["spikes_per_step"]
            if spikes > 0:
                ax.annotate(f"{spikes:.1f} sp", (k, bottom[k]), ha="center", va="bottom",
                            fontsize=7)
        title = f"{task}, 45 nm count"
        if "grsn" in by_enc and "gru" in by_enc:
            ratio = by_enc["grsn"]["energy_45nm_nj"] / by_enc["gru"]["energy_45nm_nj"]
            title += f": GRSN / GRU = {ratio:.2f}"
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(encs)), encs, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("energy per decision (nJ)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, title="part", title_fontsize=7)
        if not chips:
            continue
        ax = axes[1, col]
        chip_encs = [e for e in encs if e in CHIP_ENCODERS]
        for j, chip in enumerate(CHIPS):
            for key, fill in (("energy_nj", "k"), ("dynamic_nj", "none")):
                pts = [(chip_encs.index(c["encoder"]) + 0.15 * (j - 0.5), c[key]) for c in chips
                       if c["task"] == task and c["profile"] == chip and c["encoder"] in chip_encs]
                if pts:
                    ax.scatter(*zip(*pts, strict=True), marker=markers[chip], zorder=3,
                               facecolors=fill, edgecolors="k",
                               label=f"{chip}, {'total' if fill == 'k' else 'dynamic'}")
        ax.set_yscale("log")
        ax.set_xticks(range(len(chip_encs)), chip_encs, fontsize=8)
        ax.set_xlim(-0.6, len(chip_encs) - 0.4)
        ax.set_title(f"{task}, chip models (deployed Brian2 network, first seed)", fontsize=10)
        ax.set_ylabel("energy per decision (nJ, log)")
        ax.grid(axis="y", alpha=0.3, which="both")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 4)  # room for the legend above the points
        ax.legend(fontsize=7, ncol=2, loc="upper center")
    fig.suptitle("45 nm count: 4.6 pJ/MAC + 0.9 pJ/SOP (Horowitz 2014) over embedders, encoder "
                 "(gates, recurrent products), head; spikes (sp: encoder spikes per step) on 500 "
                 "greedy steps\nof the trained actor, mean over seeds; biases, nonlinearities, "
                 "element-wise gate arithmetic and memory not counted", fontsize=8)
    fig.tight_layout()
    save(fig, path)


def markdown_table(rows: list[dict]) -> str:
    """``rows`` of :func:`table` as a Markdown table (the README's), one line per cell."""
    lines = ["| task | encoder | seeds | final return | env steps to 90 % | wall (s) | "
             "spikes/step | 45 nm (nJ) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r["seeds"]:
            lines.append(f"| {r['task']} | `{r['encoder']}` | 0/{r['planned']} | not run yet "
                         "| | | | |")
            continue
        to90 = (f"{r['steps_to_90_mean']:,.0f} ({r['seeds_reaching_90']}/{r['seeds']})"
                if r["seeds_reaching_90"] else f"never (0/{r['seeds']})")
        spikes = "-" if r["encoder"] in NON_SPIKING else f"{r['spikes_per_step_mean']:.1f}"
        lines.append(f"| {r['task']} | `{r['encoder']}` | {r['seeds']}/{r['planned']} | "
                     f"{r['final_return_mean']:.1f} ± {r['final_return_std']:.1f} | {to90} | "
                     f"{r['wall_s_mean']:,.0f} | {spikes} | {r['energy_45nm_nj_mean']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", nargs="+", choices=BLOCKS, default=None,
                   help=f"default: {' '.join(DEFAULT_BLOCKS)} (lunarlander only when named)")
    p.add_argument("--run", action="store_true", help="run or resume the blocks' sweeps first")
    p.add_argument("--workers", type=int, default=None, help="Dask workers (default: cores)")
    p.add_argument("--serial", action="store_true", help="no Dask")
    p.add_argument("--runs", default=None, help="sweep folders (default results/tap_table)")
    p.add_argument("--out", default=None, help="figures folder (default figures)")
    p.add_argument("--quick", action="store_true", help="tiny budget, 1 seed, grsn/gru/mlp")
    p.add_argument("--chips", action="store_true",
                   help="also price the TAP spiking actors on the nc64c and Loihi models")
    args = p.parse_args(argv)
    out = Path(args.out or ("runs/fig_tap_quick" if args.quick else ROOT / "figures"))
    runs = Path(args.runs or (out / "runs" if args.quick else ROOT / "results" / "tap_table"))
    names = args.blocks or (["cartpole"] if args.quick else list(DEFAULT_BLOCKS))
    blocks = [load_block(b, runs, args.quick) for b in names]
    if args.run or args.quick:
        for spec in blocks:
            res = sweep.run_sweep(spec, workers=args.workers, serial=args.serial)
            print(f"{spec.name}: {len(res.finished)} finished now, {len(res.skipped)} before, "
                  f"{len(res.failed)} failed ({res.where}, {res.wall_s:.0f} s)")
            for run_id, reason in res.failed.items():
                print(f"  failed: {run_id}: {reason}")
    planned: dict[tuple[str, str], int] = {}
    for spec in blocks:
        for run in spec.runs:
            key = (run.config["env_id"], run.config["encoder"])
            planned[key] = planned.get(key, 0) + 1
    cells = collect(blocks)
    random = {task: random_return(task) for task in sorted({t for t, _ in planned})}
    write_csv(out / "tap_random.csv", [{"task": t, "random_return": r} for t, r in random.items()])
    rows = table(cells, random, planned)
    write_csv(out / "tap_table.csv", rows)
    (out / "tap_table.md").write_text(markdown_table(rows))
    claim_rows = claims(cells, random)
    write_csv(out / "tap_claims.csv", claim_rows)
    (out / "tap_claims.md").write_text(claims_markdown(claim_rows))
    curve_rows = curves(cells)
    write_csv(out / "tap_curves.csv", curve_rows)
    score_rows = scores(rows)
    write_csv(out / "tap_scores.csv", score_rows)
    energy = energy_rows(cells)
    write_csv(out / "tap_energy.csv", energy)
    chips = chip_energy(cells, out) if args.chips else []
    if chips:
        write_csv(out / "tap_energy_chips.csv", chips)
    if curve_rows:
        draw_curves(curve_rows, out / "tap_curves.png")
        draw_scores(score_rows, out / "tap_scores.png")
        draw_energy(energy, chips, out / "tap_energy.png")
    done = sum(r["seeds"] for r in rows)
    print(f"{done} of {sum(planned.values())} runs finished; wrote {out / 'tap_table.csv'}")
    for r in rows:
        print(f"  {r['task']:<32} {r['encoder']:<17} seeds {r['seeds']}/{r['planned']}  "
              f"final {r['final_return_mean']:8.1f} ± {r['final_return_std']:6.1f}  "
              f"90% at {r['steps_to_90_mean']:8.0f} ({r['seeds_reaching_90']})  "
              f"{r['wall_s_mean']:7.0f} s  {r['spikes_per_step_mean']:6.1f} spikes/step  "
              f"{r['energy_45nm_nj_mean']:6.1f} nJ")
    missing = [s.name for s in blocks if any(not (s.run_dir(r) / sweep.SUMMARY_FILE).exists()
                                             for r in s.runs)]
    if missing:
        print("unfinished blocks: " + ", ".join(missing) + "; finish them with: python "
              "scripts/fig_tap.py --run --blocks " + " ".join(n.split("-")[-1] for n in missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
