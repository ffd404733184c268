"""``make demo``: the pipeline as it stands, end to end, in a few minutes, on CartPole-v1.

1. Foundation: train a spiking classifier with the numpy kernel (surrogate-gradient BPTT), run
   the trained network unchanged in Brian2 on held-out inputs, report whether the two agree.
2. Teacher: train the numpy DQN teacher on the environment and evaluate it greedily.
3. Conversion (Tan et al. 2021): convert the teacher into an IF network, measure the conversion
   rate for both readouts against T, check that Brian2 (batch replay and closed loop) takes the
   kernel's actions, and play greedy episodes with the SNN. Then the same for a dueling teacher
   trained for conversion (``convert.CONVERSION_TEACHER``: its advantage stream is converted,
   one λ per neuron), whose conversion rate is far higher, before and after calibrating its
   output layer for each T (``convert.calibrate``).
4. Distillation (SDN): distil a small LIF student from the teacher at high temperature, play it
   in Brian2 closed loop and check that it takes the kernel's actions.
5. Chip: map the student onto the nc64c and Loihi profiles and report latency and energy per
   decision next to the teacher DNN on a 45 nm CPU (nc64c figures are assumptions, see
   ``neurorl/hardware/profiles/nc64c.toml``).
6. TAP (GRSN, Qin et al. 2025): on CartPole-P (positions only: the velocities must be
   remembered) train a recurrent SAC-discrete agent with a GRSN encoder (one simulation step per
   environment step) and one with a memoryless MLP encoder on the same short budget, evaluate
   both greedily, and play the GRSN actor as a Brian2 network (state carried across steps)
   checking that it takes the numpy actor's actions. (CartPole-V, velocities only, needs no
   memory at its 200-step cap: a linear rule on the velocities scores 200; see
   scripts/tap_goal.py.)
7. MARL (the GRSN paper's second half): parameter-shared GRSN and GRU agents trained with QMIX
   on MPE Spread (3 agents), their energy per agent decision under the 45 nm count, and the
   GRSN agents played in Brian2 (one network copy per agent) with the kernel's actions.

Writes ``runs/demo/``: ``report.json`` and, per stage, the PNG figures with the CSV they were
drawn from (``training``, ``decision``, ``raster`` and ``traces`` of the classifier in Brian2,
``teacher/learning_curve``,
``teacher_dueling/learning_curve``, ``conversion``,
``distillation`` with ``sdn/metrics.csv``, ``tap`` with ``tap/<encoder>/evals.csv``, ``marl``
with ``marl/<encoder>/evals.csv``) and the
chip reports ``chip_<profile>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from neurorl.algos.supervised import (
    SupervisedConfig,
    build_classifier,
    logits,
    make_moons,
    softmax_cross_entropy,
    train_classifier,
)
from neurorl.coding import constant_current
from neurorl.plots import plot_learning_curve, pyplot, raster, save, traces, write_csv
from neurorl.rl.envs import make_env
from neurorl.rl.evaluate import collect_states, evaluate

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

    inputs = constant_current(x_test, cfg.T, cfg.input_scale)
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
    # what the network did in Brian2 on the first held-out input: spikes, and the membrane of
    # its most active hidden neurons
    raster(brian2_run, net, batch=0, path=out_dir / "raster.png")
    active = np.argsort(-brian2_run.spikes["hidden"][:, 0].sum(0), kind="stable")[:4]
    traces(brian2_run, "hidden", "v", net, neurons=sorted(active), path=out_dir / "traces.png")
    return report


def _write_training(out_dir: Path, history: list[dict]) -> None:
    plt = pyplot()

    write_csv(out_dir / "training.csv", history, columns=["step", "loss", "accuracy"])
    steps = np.array([h["step"] for h in history])
    loss = np.array([h["loss"] for h in history])
    acc = np.array([h["accuracy"] for h in history])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    a.plot(steps, loss, lw=0.8)
    a.set(xlabel="training step", ylabel="cross-entropy (minibatch)", yscale="log", title="Loss")
    b.plot(steps, acc, lw=0.8)
    b.set(xlabel="training step", ylabel="minibatch accuracy", ylim=(0, 1.02), title="Accuracy")
    fig.tight_layout()
    save(fig, out_dir / "training.png")


def _write_decision(out_dir: Path, net, cfg: SupervisedConfig, x_test, y_test) -> None:
    plt = pyplot()

    g = np.linspace(-2.2, 2.2, 80)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    inputs = constant_current(grid, cfg.T, cfg.input_scale)
    out, _ = net.kernel(surrogate=cfg.surrogate).forward(inputs)
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
    save(fig, out_dir / "decision.png")


def run_teacher_stage(
    out_dir: Path, env_id: str, seed: int, name: str = "teacher", **overrides
):
    """Train a DQN teacher (the preset for ``env_id`` + ``overrides``) into ``out_dir/name``;
    returns (teacher, report)."""
    from neurorl.algos import dqn

    cfg = dqn.preset_config(env_id, seed=seed, **overrides)
    result = dqn.train(cfg, out_dir / name)
    kind = "dueling DQN" if cfg.dueling else "DQN"
    plot_learning_curve(
        result.metrics,
        out_dir / name / dqn.CURVE_FILE,
        title=f"{kind} teacher on {env_id}, seed {seed}",
        evals=result.evals,
    )
    returns = evaluate(result.q, env_id, episodes=20, seed=10_000)
    return result.q, {
        "env": env_id,
        "steps": result.steps,
        "train_seconds": round(result.wall_s, 1),
        "steps_per_second": round(result.steps_per_s),
        "greedy_return_20_episodes": float(returns.mean()),
        "parameters": int(sum(p.size for p in result.q.params.values())),
    }


def run_conversion_stage(
    teacher,
    env_id: str,
    seed: int,
    percentile: float = 99.9,
    per: str = "layer",
    name: str = "preset teacher",
    calibrated: bool = False,
) -> tuple[dict, list[dict]]:
    """Convert ``teacher`` (called ``name`` in the figure) to an IF network; (report, rows of
    the conversion rate against T): conversion rates, Brian2 agreement, SNN returns.
    ``calibrated``: also calibrate the output layer for each T up to 100 (one kernel run of the
    5,000 normalisation states per T); the report is then that of the calibrated networks."""
    from neurorl.algos import convert as C

    states = C.collect_states(teacher, env_id, n=5000, seed=seed)
    held = C.collect_states(teacher, env_id, n=500, seed=seed + 1)
    snn = C.convert(teacher, states, percentile=percentile, per=per)
    dqn_actions = teacher.act(held)
    label = f"{name}, p={percentile:g}, one λ per {per}"
    Ts = (10, 20, 50, 100, 200)
    refitted = {T: C.calibrate(snn, states, T) for T in Ts if calibrated and T <= 100}
    networks = {T: refitted.get(T, snn) for T in Ts}  # what the report below measures
    rows = []
    for T in Ts:
        versions = {label: snn}
        if T in refitted:
            versions[f"{label}, calibrated for T"] = refitted[T]
        for version, net in versions.items():
            r = C.kernel_readouts(net, held, T)
            rows.append(
                {
                    "teacher": version,
                    "T": T,
                    "robust": C.conversion_rate(r.actions("robust"), dqn_actions),
                    "count": C.conversion_rate(r.actions("count"), dqn_actions),
                    "spikes_per_decision": float(r.spikes.mean()),
                }
            )
    T = 100
    kernel = C.kernel_readouts(networks[T], held[:64], T)
    batch = C.brian2_readouts(networks[T], held[:64], T, device="runtime")
    print(f"Brian2 closed loop, T = 50, one episode of {env_id} ...")
    (episode,) = C.play_brian2(networks[50], env_id, T=50, episodes=1, seed=seed + 2)
    replay = C.kernel_readouts(networks[50], np.stack(episode.observations), 50).actions()
    returns = evaluate(C.SNNPolicy(networks[T], T), env_id, episodes=5, seed=10_000)
    by_T = {row["T"]: row for row in rows}  # the calibrated row where there is one
    uncalibrated = {row["T"]: row["robust"] for row in rows if row["teacher"] == label}
    return {
        "percentile": percentile,
        "per": per,
        "calibrated_for_T": calibrated,
        "layer_scales": C.scale_summary(snn.scales),
        **(
            {"uncalibrated_robust_T20_T50_T100": [uncalibrated[t] for t in (20, 50, 100)]}
            if calibrated
            else {}
        ),
        "conversion_rate_robust_T20_T50_T100": [by_T[t]["robust"] for t in (20, 50, 100)],
        "conversion_rate_count_T20_T50_T100": [by_T[t]["count"] for t in (20, 50, 100)],
        "brian2_batch_equals_kernel_T100": bool(
            np.array_equal(kernel.count, batch.count)
            and np.allclose(kernel.robust, batch.robust, atol=1e-9)
        ),
        "brian2_closed_loop_return_T50": episode.total_reward,
        "brian2_closed_loop_env_steps_per_s": round(episode.length / episode.seconds, 1),
        "closed_loop_actions_equal_kernel": bool(np.array_equal(replay, episode.actions)),
        "snn_return_T100_5_episodes": float(returns.mean()),
        "spikes_per_decision_T100": by_T[100]["spikes_per_decision"],
    }, rows


def run_distillation_stage(out_dir: Path, teacher, env_id: str, seed: int):
    """Distil a 16-neuron LIF student; returns (student policy, report)."""
    from neurorl.algos import distill

    cfg = distill.DistillConfig(env_id=env_id, seed=seed, final_eval_episodes=20, max_epochs=30)
    result = distill.distill(teacher, cfg, out_dir / "sdn")
    print(f"Brian2 closed loop of the student, one episode of {env_id} ...")
    (episode,) = distill.play_brian2(result.policy, env_id, episodes=1, seed=seed + 3)
    replay = result.policy.act(np.stack(episode.observations))
    _write_distillation(out_dir, result.metrics)
    return result.policy, {
        "student": f"{'-'.join(str(h) for h in cfg.hidden)} LIF, T={cfg.T}, tau={cfg.tau}",
        "parameters": result.n_params,
        "teacher_parameters": result.teacher_params,
        "fewer_parameters_than_teacher": round(result.teacher_params / result.n_params, 1),
        "epochs": result.epochs,
        "epochs_to_475": result.epochs_to_target,
        "env_steps": result.env_steps,
        "greedy_return_20_episodes": result.final_return,
        "brian2_closed_loop_return": episode.total_reward,
        "brian2_closed_loop_env_steps_per_s": round(episode.length / episode.seconds, 1),
        "closed_loop_actions_equal_kernel": bool(np.array_equal(replay, episode.actions)),
    }


def run_chip_stage(out_dir: Path, policy, teacher, env_id: str, seed: int) -> dict:
    """Latency and energy per decision of the student on nc64c and Loihi, the DNN on a CPU."""
    from neurorl.hardware.estimate import estimate

    obs = collect_states(teacher, env_id, 32, seed=seed + 4)
    inputs = np.asarray(policy.inputs(obs), dtype=float)
    report = {}
    for profile in ("nc64c", "loihi"):
        chip = estimate(
            policy.net,
            inputs,
            profile,
            dnn=teacher,
            dnn_profiles=("cpu_45nm",),
            label=f"SDN student on {env_id}",
        )
        chip.save_json(out_dir / f"chip_{profile}.json")
        ratio = chip.ratios()["cpu_45nm"]
        report[profile] = {
            "cores": chip.mapping.get("cores_used"),
            "latency_per_decision_us": round(chip.latency_decision_s * 1e6, 3),
            "energy_per_decision_nJ": round(chip.total_pj * 1e-3, 3),
            "dnn_cpu_45nm_energy_nJ": round(chip.dnn[0].total_pj * 1e-3, 3),
            "dnn_over_snn_energy": round(ratio["dnn_over_snn_total"], 2),
            "dnn_over_snn_energy_without_static": round(ratio["dnn_over_snn_dynamic"], 1),
            "same_actions_as_float": chip.agreement,
        }
    print(chip.table())
    return report


def run_tap_stage(out_dir: Path, seed: int, steps: int, env_id: str = "CartPole-P") -> dict:
    """GRSN against a memoryless MLP encoder on a POMDP, and the GRSN actor in Brian2."""
    from neurorl.algos import sacd

    results, report = {}, {"env": env_id, "env_steps": steps}
    for encoder in ("grsn", "mlp"):
        cfg = sacd.SACDConfig(env_id=env_id, encoder=encoder, seed=seed, total_steps=steps,
                              eval_every=max(steps // 6, 1))
        results[encoder] = res = sacd.train(cfg, out_dir / "tap" / encoder)
        final = evaluate(sacd.SACDPolicy(res.agent.actor), env_id, 20, seed=10_000)
        report[encoder] = {
            "greedy_return_20_episodes": float(final.mean()),
            "best_evaluation": max(r for _, r in res.evals),
            "updates": res.updates,
            "wall_ms_per_update": round(1000 * res.wall_s / max(res.updates, 1), 1),
        }
    print(f"Brian2 closed loop of the GRSN actor, one episode of {env_id} ...")
    policy = sacd.SACDPolicy(results["grsn"].agent.actor)
    (episode,) = sacd.play_brian2(policy, env_id, episodes=1, seed=seed + 5)
    replay = []
    env = make_env(env_id)
    obs, _ = env.reset(seed=seed + 5)
    policy.reset(np.ones(1, bool))
    for _ in range(episode.length):
        action = int(policy.act(obs[None])[0])
        obs, reward, *_ = env.step(action)
        policy.observe(np.array([action]), np.array([reward]))
        replay.append(action)
    report["brian2_closed_loop_return"] = episode.total_reward
    report["brian2_closed_loop_env_steps_per_s"] = round(episode.length / episode.seconds, 1)
    report["closed_loop_actions_equal_numpy"] = replay == episode.actions
    _write_tap(out_dir, {k: r.evals for k, r in results.items()}, env_id)
    return report


def run_marl_stage(out_dir: Path, seed: int, steps: int,
                   env_id: str = "mpe2/simple_spread_v3") -> dict:
    """QMIX with parameter-shared GRSN and GRU agents on MPE Spread, their energy per agent
    decision, and the GRSN agents in Brian2 (one network copy per agent)."""
    from neurorl.algos import marl
    from neurorl.hardware.recurrent_ops import marl_decision_ops
    from neurorl.rl.marl_envs import make_marl_env
    from neurorl.sim.marl_loop import play_brian2

    report: dict = {"env": env_id, "env_steps": steps, "mixer": "qmix"}
    evals = {}
    for encoder in ("grsn", "gru"):
        cfg = marl.MARLConfig(env_id=env_id, mixer="qmix", encoder=encoder, seed=seed,
                              total_steps=steps, epsilon_anneal=steps // 2,
                              eval_every=max(steps // 5, 1))
        res = marl.train(cfg, out_dir / "marl" / encoder)
        evals[encoder] = res.evals
        ops = marl_decision_ops(res.learner.agent,
                                marl.visited_inputs(res.learner.agent, env_id, 5))
        report[encoder] = {"final_greedy_team_return": res.evals[-1][1],
                           "wall_s": round(res.wall_s, 1),
                           "spikes_per_agent_step": round(ops.spikes, 2),
                           "energy_45nm_nj_per_agent_decision":
                               round(ops.energy_pj()["total"] / 1e3, 2)}
        if encoder == "grsn":
            agent = res.learner.agent
    report["energy_grsn_over_gru_45nm"] = round(
        report["grsn"]["energy_45nm_nj_per_agent_decision"]
        / report["gru"]["energy_45nm_nj_per_agent_decision"], 3)
    print("Brian2: the GRSN agents, one network copy per agent, two episodes ...")
    env = make_marl_env(env_id)
    played = play_brian2(agent, env, episodes=2, seed=10_000)
    rng = np.random.default_rng(0)
    kernel = [marl.run_episode(env, agent, 0.0, rng, 10_000 + k)[0]["actions"] for k in range(2)]
    report["brian2_actions_equal_kernel"] = all(
        np.array_equal(p["actions"], k) for p, k in zip(played, kernel, strict=True))
    report["brian2_team_returns"] = [round(p["return"], 2) for p in played]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    for encoder, rows in evals.items():
        ax.plot([s for s, _ in rows], [r for _, r in rows], "o-", label=f"QMIX, {encoder} agents")
    ax.set(xlabel="environment steps", ylabel="greedy team return (20 episodes)",
           title=f"cooperative MARL on {env_id.split('/')[-1]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir / "marl.png")
    return report


def _write_tap(out_dir: Path, evals: dict[str, list], env_id: str) -> None:
    """Greedy return against environment steps per encoder (data: tap/<encoder>/evals.csv)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    for encoder, rows in evals.items():
        ax.plot([s for s, _ in rows], [r for _, r in rows], "o-", label=f"{encoder} encoder")
    ax.axhline(195, color="k", lw=0.8, ls=":", label="195 (of 200)")
    ax.set(xlabel="environment steps", ylabel="greedy return (10 episodes)",
           title=f"TAP: recurrent SAC-discrete on {env_id}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir / "tap.png")


def _write_distillation(out_dir: Path, metrics: list[dict]) -> None:
    """Greedy return and agreement with the teacher per epoch (data: sdn/metrics.csv)."""
    plt = pyplot()

    epochs = [m["epoch"] for m in metrics]
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    ax.plot(epochs, [m["eval_return"] for m in metrics], "o-", label="greedy return (10 episodes)")
    ax.axhline(475, color="k", lw=0.8, ls=":", label="solved (475)")
    ax.set(xlabel="epoch", ylabel="return", title="SDN: spiking student distilled from the DQN")
    twin = ax.twinx()
    twin.plot(
        epochs,
        [m["agreement"] for m in metrics],
        "s--",
        color="tab:orange",
        label="agreement with teacher",
    )
    twin.set(ylabel="agreement with the teacher", ylim=(0, 1.02))
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="lower right")
    fig.tight_layout()
    save(fig, out_dir / "distillation.png")


def _write_conversion(out_dir: Path, rows: list[dict]) -> None:
    plt = pyplot()

    write_csv(out_dir / "conversion.csv", rows)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, teacher in enumerate(dict.fromkeys(r["teacher"] for r in rows)):
        mine = [r for r in rows if r["teacher"] == teacher]
        Ts = [r["T"] for r in mine]
        ax.plot(Ts, [r["robust"] for r in mine], "o-", color=f"C{i}", label=f"{teacher}: robust")
        ax.plot(Ts, [r["count"] for r in mine], "s--", color=f"C{i}", alpha=0.6,
                label=f"{teacher}: spike count")
    ax.set(
        xscale="log",
        xlabel="simulation steps per decision T",
        ylabel="conversion rate",
        ylim=(0, 1.02),
        title="DQN -> SNN: agreement with the DQN",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir / "conversion.png")


def main(argv: list[str] | None = None) -> dict:
    """Run the demo; ``--out`` sets the output directory (default ``runs/demo``)."""
    parser = argparse.ArgumentParser(prog="neurorl demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=SupervisedConfig.steps)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--tap-steps", type=int, default=1_500,
                        help="environment steps of each TAP agent (stage 6)")
    parser.add_argument("--marl-steps", type=int, default=15_000,
                        help="environment steps of each multi-agent run (stage 7)")
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = SupervisedConfig(seed=args.seed, steps=args.steps)
    print("== stage 1: train a spiking classifier with the kernel, run it in Brian2")
    report = {"supervised": run_supervised_stage(out_dir, cfg)}
    print(f"\n== stage 2: train the DQN teacher on {args.env}")
    teacher, report["teacher"] = run_teacher_stage(out_dir, args.env, args.seed)
    print("\n== stage 3: convert the teacher into a spiking network (Tan et al. 2021)")
    report["conversion"], rows = run_conversion_stage(teacher, args.env, args.seed)
    print("a dueling teacher for conversion: its advantage stream is converted")
    from neurorl.algos.convert import CONVERSION_TEACHER

    dueling, report["dueling_teacher"] = run_teacher_stage(
        out_dir, args.env, args.seed, name="teacher_dueling", **CONVERSION_TEACHER
    )
    report["conversion_dueling"], more = run_conversion_stage(
        dueling, args.env, args.seed, percentile=99.99, per="neuron",
        name="dueling teacher", calibrated=True,
    )
    _write_conversion(out_dir, rows + more)
    print("\n== stage 4: distil a spiking student from the teacher (SDN)")
    student, report["distillation"] = run_distillation_stage(out_dir, teacher, args.env, args.seed)
    print("\n== stage 5: the student on neuromorphic chips, next to the DNN")
    report["chip"] = run_chip_stage(out_dir, student, teacher, args.env, args.seed)
    print("\n== stage 6: GRSN with the temporal alignment paradigm on CartPole-P (SAC-discrete)")
    report["tap"] = run_tap_stage(out_dir, args.seed, args.tap_steps)
    print("\n== stage 7: parameter-shared GRSN and GRU agents with QMIX on MPE Spread")
    report["marl"] = run_marl_stage(out_dir, args.seed, args.marl_steps)
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
