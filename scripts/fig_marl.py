"""The multi-agent study's figures (issue [marl] item 6): parameter-shared GRSN and GRU agents
with IQL, VDN and QMIX on MPE Spread and Level-Based Foraging, through ``neurorl sweep``
(``scripts/sweeps/marl.toml``).

    python scripts/fig_marl.py                     # figures from the runs that have finished
    python scripts/fig_marl.py --run --workers 2   # run (or resume) the sweep first
    python scripts/fig_marl.py --quick --out DIR   # 1 seed, 1,500 steps, QMIX and IQL

Runs go to ``RUNS/runs/<id>`` (default RUNS = results/marl_study, committed as runs finish): a
finished run is skipped and an interrupted one resumes, so ``--run`` can be repeated until every
cell is done. Writes, into OUT (default figures):

* ``marl_table.csv``: per task, encoder and mixer: seeds finished, the final greedy team return
  (mean of the last 5 evaluations of 20 episodes; mean and standard deviation over seeds), the
  training wall time, the encoder's spikes per agent step and the 45 nm energy per agent
  decision (nJ; :func:`neurorl.hardware.recurrent_ops.marl_decision_ops`);
* ``marl_curves.csv`` / ``marl_curves.png``: greedy team return against environment steps, the
  mean over seeds and a band from the lowest to the highest seed, one panel per task;
* ``marl_energy.csv`` / ``marl_energy.png``: energy per agent decision of GRSN against GRU per
  mixer and task, split into embedding, encoder and Q head;
* ``marl_random.csv``: the team return of uniformly random available actions per task (100
  episodes; the floor of the normalised score);
* ``marl_claims.csv`` / ``marl_claims.md``: the issue's goals per task from the per-seed values
  of two cells (:func:`neurorl.seeds.judge_claim`): GRSN-QMIX at >= 90 % of GRU-QMIX's score
  (normalised from the random team's return), QMIX against VDN and VDN against IQL for each
  encoder (Welch's test on the final returns) and GRSN's 45 nm energy per agent decision
  against GRU's (<= 0.5).
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

SPEC = ROOT / "scripts" / "sweeps" / "marl.toml"
QUICK = {"total_steps": 1_500, "eval_every": 500, "eval_episodes": 3, "batch_size": 4,
         "hidden": 16, "embed": 16, "checkpoint_every": 500}
PARTS = ("embed", "encoder", "head")
# (claim, cell a, cell b, kind, threshold); a cell is (encoder, mixer)
CLAIMS = (
    ("grsn-QMIX at >= 90 % of gru-QMIX", ("grsn", "qmix"), ("gru", "qmix"), "score", 0.9),
    ("QMIX beats VDN", ("gru", "qmix"), ("gru", "vdn"), "beats", None),
    ("QMIX beats VDN", ("grsn", "qmix"), ("grsn", "vdn"), "beats", None),
    ("VDN beats IQL", ("gru", "vdn"), ("gru", "iql"), "beats", None),
    ("VDN beats IQL", ("grsn", "vdn"), ("grsn", "iql"), "beats", None),
    ("energy grsn <= 0.5 x gru", ("grsn", "qmix"), ("gru", "qmix"), "energy", 0.5),
)


def finished(spec: sweep.Sweep) -> dict[tuple[str, str, str], list[dict]]:
    """(task, encoder, mixer) → finished runs: seed, summary, evaluations."""
    cells: dict[tuple[str, str, str], list[dict]] = {}
    for run in spec.runs:
        folder = spec.run_dir(run)
        if not (folder / sweep.SUMMARY_FILE).exists():
            continue
        c = run.config
        every = int(c.get("eval_every") or 1)
        with open(folder / "evals.csv") as fh:  # an evaluation comes at the first episode end
            # past each multiple of eval_every: it counts for that multiple
            evals = [(int(r["step"]) // every * every, float(r["mean_team_return"]))
                     for r in csv.DictReader(fh)]
        cells.setdefault((c["env_id"], c["encoder"], c["mixer"]), []).append(
            {"seed": c["seed"], "evals": evals,
             "summary": json.loads((folder / sweep.SUMMARY_FILE).read_text())})
    return cells


def mean_std(values: list[float]) -> tuple[float, float]:
    return (float(np.mean(values)), float(np.std(values))) if values else (np.nan, np.nan)


def table(cells, planned) -> list[dict]:
    rows = []
    for key in sorted(planned):
        runs = cells.get(key, [])
        final = mean_std([r["summary"]["final_return"] for r in runs])
        row = {"task": key[0], "encoder": key[1], "mixer": key[2], "seeds": len(runs),
               "planned": planned[key], "final_return_mean": final[0],
               "final_return_std": final[1],
               "wall_s_mean": mean_std([r["summary"]["wall_s"] for r in runs])[0],
               "spikes_per_step": mean_std([r["summary"]["spikes_per_step"] for r in runs])[0],
               "energy_45nm_nj": mean_std([r["summary"]["energy_45nm_nj"] for r in runs])[0]}
        row.update({f"energy_45nm_{p}_nj": mean_std([r["summary"][f"energy_45nm_{p}_nj"]
                                                     for r in runs])[0] for p in PARTS})
        rows.append(row)
    return rows


def random_return(env_id: str, episodes: int = 100, seed: int = 10_000) -> float:
    """Mean team return of uniformly random available actions over ``episodes`` episodes."""
    from neurorl.rl.marl_envs import make_marl_env

    env, rng, total = make_marl_env(env_id), np.random.default_rng(seed), 0.0
    for k in range(episodes):
        step = env.reset(seed=seed + k)
        while not step.done:
            p = step.avail / step.avail.sum(axis=1, keepdims=True)
            step = env.step(np.array([rng.choice(len(q), p=q) for q in p]))
            total += step.reward
    env.close()
    return total / episodes


def claims(cells, random: dict[str, float]) -> list[dict]:
    """Every claim of :data:`CLAIMS` on every task where both cells have finished seeds."""
    rows = []
    for task in sorted({t for t, _, _ in cells}):
        for claim, a, b, kind, at in CLAIMS:
            runs_a, runs_b = cells.get((task, *a), []), cells.get((task, *b), [])
            if not runs_a or not runs_b:
                continue
            key = "energy_45nm_nj" if kind == "energy" else "final_return"
            judged = judge_claim(kind, [r["summary"][key] for r in runs_a],
                                 [r["summary"][key] for r in runs_b], at=at or 0.0,
                                 floor=random[task])
            rows.append({"task": task, "claim": claim, "a": " ".join(a), "b": " ".join(b),
                         "quantity": key, **judged})
    return rows


def curves(cells) -> list[dict]:
    rows = []
    for (task, enc, mix), runs in sorted(cells.items()):
        for step in sorted({s for r in runs for s, _ in r["evals"]}):
            values = [dict(r["evals"])[step] for r in runs if step in dict(r["evals"])]
            rows.append({"task": task, "encoder": enc, "mixer": mix, "step": step,
                         "seeds": len(values), "mean": float(np.mean(values)),
                         "low": float(np.min(values)), "high": float(np.max(values))})
    return rows


def draw_curves(rows: list[dict], path: Path, random: dict[str, float] | None = None) -> None:
    plt = pyplot()
    tasks = sorted({r["task"] for r in rows})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.6 * len(tasks), 3.8), squeeze=False)
    colors = {"qmix": "tab:red", "vdn": "tab:blue", "iql": "tab:gray"}
    for ax, task in zip(axes[0], tasks, strict=True):
        for enc, style in (("grsn", "-"), ("gru", "--")):
            for mix, color in colors.items():
                pts = [r for r in rows if (r["task"], r["encoder"], r["mixer"]) ==
                       (task, enc, mix)]
                if not pts:
                    continue
                x = [p["step"] for p in pts]
                ax.plot(x, [p["mean"] for p in pts], style, color=color, lw=1.5,
                        label=f"{mix.upper()} {enc} ({max(p['seeds'] for p in pts)})")
                ax.fill_between(x, [p["low"] for p in pts], [p["high"] for p in pts],
                                color=color, alpha=0.1, lw=0)
        if random and task in random:
            ax.axhline(random[task], color="k", ls=":", lw=1, label="random actions")
        ax.set(title=task.split("/")[-1], xlabel="environment steps",
               ylabel="greedy team return")
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:.0f}k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="mixer encoder (seeds)", title_fontsize=7)
    fig.suptitle("parameter-shared agents: mean over seeds, band = lowest to highest seed")
    fig.tight_layout()
    save(fig, path)


def draw_energy(rows: list[dict], path: Path) -> None:
    plt = pyplot()
    done = [r for r in rows if r["seeds"]]
    tasks = sorted({r["task"] for r in done})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.4 * len(tasks), 3.8), squeeze=False)
    shades = {"embed": "#bbbbbb", "encoder": "#1f77b4", "head": "#ff7f0e"}
    for ax, task in zip(axes[0], tasks, strict=True):
        mine = [r for r in done if r["task"] == task]
        labels = [f"{r['mixer']}\n{r['encoder']}" for r in mine]
        bottom = np.zeros(len(mine))
        for part in PARTS:
            vals = np.array([r[f"energy_45nm_{part}_nj"] for r in mine])
            ax.bar(range(len(mine)), vals, bottom=bottom, color=shades[part], label=part)
            bottom += vals
        for k, r in enumerate(mine):
            if r["spikes_per_step"] > 0:
                ax.annotate(f"{r['spikes_per_step']:.1f} sp", (k, bottom[k]), ha="center",
                            va="bottom", fontsize=7)
        ratios = [g["energy_45nm_nj"] / u["energy_45nm_nj"] for g in mine for u in mine
                  if g["encoder"] == "grsn" and u["encoder"] == "gru"
                  and g["mixer"] == u["mixer"]]
        title = task.split("/")[-1]
        if ratios:
            title += f": GRSN / GRU = {np.mean(ratios):.2f}"
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(mine)), labels, fontsize=7)
        ax.set_ylabel("energy per agent decision (nJ)")
        ax.legend(fontsize=7)
    fig.suptitle("45 nm count per agent decision: 4.6 pJ/MAC + 0.9 pJ/SOP over embedding, "
                 "encoder (gates, recurrent products) and Q head; spikes (sp) on 10 greedy "
                 "episodes", fontsize=8)
    fig.tight_layout()
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="store_true", help="run or resume the sweep first")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--serial", action="store_true")
    p.add_argument("--runs", default=None, help="sweep folder (default results/marl_study)")
    p.add_argument("--out", default=None, help="figures folder (default figures)")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out or (ROOT / "runs" / "fig_marl_quick" if args.quick else ROOT / "figures"))
    runs = Path(args.runs or (out / "runs" if args.quick else ROOT / "results" / "marl_study"))
    spec = sweep.load_spec(SPEC, out=runs, overrides=QUICK if args.quick else None)
    if args.quick:
        spec.runs = [r for r in spec.runs if r.config["seed"] == 0
                     and r.config["mixer"] in ("qmix", "iql")]
    if args.run or args.quick:
        res = sweep.run_sweep(spec, workers=args.workers, serial=args.serial)
        print(f"{len(res.finished)} finished now, {len(res.skipped)} before, "
              f"{len(res.failed)} failed ({res.where})")
    planned: dict[tuple[str, str, str], int] = {}
    for run in spec.runs:
        key = (run.config["env_id"], run.config["encoder"], run.config["mixer"])
        planned[key] = planned.get(key, 0) + 1
    cells = finished(spec)
    rows = table(cells, planned)
    write_csv(out / "marl_table.csv", rows)
    curve_rows = curves(cells)
    write_csv(out / "marl_curves.csv", curve_rows)
    write_csv(out / "marl_energy.csv", [{k: r[k] for k in ("task", "encoder", "mixer", "seeds",
                                                            "spikes_per_step", "energy_45nm_nj",
                                                            *(f"energy_45nm_{p}_nj"
                                                              for p in PARTS))}
                                         for r in rows])
    tasks = sorted({key[0] for key in planned})
    random = {t: random_return(t, episodes=5 if args.quick else 100) for t in tasks}
    if curve_rows:
        draw_curves(curve_rows, out / "marl_curves.png", random)
        draw_energy(rows, out / "marl_energy.png")
    write_csv(out / "marl_random.csv", [{"task": t, "random_team_return": random[t]}
                                        for t in tasks])
    claim_rows = claims(cells, random)
    write_csv(out / "marl_claims.csv", claim_rows)
    (out / "marl_claims.md").write_text(claims_markdown(claim_rows))
    for r in claim_rows:
        print(f"  {r['task']:<40} {r['claim']:<34} {r['a']:>9} vs {r['b']:<9} {r['verdict']}")
    for r in rows:
        print(f"  {r['task']:<40} {r['mixer']:<5} {r['encoder']:<5} seeds {r['seeds']}/"
              f"{r['planned']}  final {r['final_return_mean']:8.2f} ± {r['final_return_std']:6.2f}"
              f"  {r['wall_s_mean']:6.0f} s  {r['energy_45nm_nj']:6.1f} nJ")
    left = sum(r["planned"] - r["seeds"] for r in rows)
    print(f"{sum(r['seeds'] for r in rows)} of {len(spec.runs)} runs finished"
          + ("; finish the rest with: python scripts/fig_marl.py --run" if left else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
