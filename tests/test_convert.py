"""DQN -> SNN conversion: normalisation, readouts, and three evaluation paths that agree."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.algos import convert as C
from neurorl.ann import nn
from neurorl.ann.qnetwork import QNetwork
from neurorl.rl.evaluate import evaluate


@pytest.fixture(scope="module")
def teacher(cartpole_teacher):
    """The session's CartPole-v1 teacher (tests/conftest.py)."""
    return cartpole_teacher


@pytest.fixture(scope="module")
def states(teacher):
    return C.collect_states(teacher, "CartPole-v1", n=5000, seed=0)


@pytest.fixture(scope="module")
def held_out(teacher):
    return C.collect_states(teacher, "CartPole-v1", n=400, seed=777)


@pytest.mark.parametrize("per", ["layer", "neuron"])
@pytest.mark.parametrize("percentile", [99.0, 99.9, 100.0])
def test_normalisation_keeps_the_ann_argmax(teacher, states, held_out, percentile, per):
    snn = C.convert(teacher, states, percentile=percentile, per=per)
    q = teacher.q_values(held_out)
    scaled = C.normalised_ann(snn, held_out)
    np.testing.assert_allclose(scaled * snn.scales[-1], q, rtol=1e-4, atol=1e-4)
    assert np.array_equal(scaled.argmax(1), q.argmax(1))


def test_rate_code_bound_tends_to_the_clipped_ann(teacher, states, held_out):
    snn = C.convert(teacher, states, percentile=100.0)
    clipped = C.rate_code_bound(snn, states[:300], None)
    # max-norm over the same states: nothing is clipped, the bound is the ANN itself
    np.testing.assert_allclose(clipped, C.normalised_ann(snn, states[:300]), atol=1e-9)
    coarse = np.abs(C.rate_code_bound(snn, held_out, 5) - C.rate_code_bound(snn, held_out, None))
    fine = np.abs(C.rate_code_bound(snn, held_out, 5000) - C.rate_code_bound(snn, held_out, None))
    assert fine.max() < coarse.max() / 100


def test_per_neuron_scales_of_a_conv_teacher_keep_its_q_values():
    """Per-channel λ through conv -> conv -> dense (NCHW flattening) -> output."""
    net = nn.Sequential.build((3, 6, 6), [("conv", 4, 3, 1), ("conv", 5, 2, 2), ("dense", 7),
                                          ("dense", 3)])
    rng = np.random.default_rng(5)
    teacher = QNetwork(net, net.init(rng))
    teacher.params["l3.b"] += 1.0  # positive Q-values somewhere: the output needs a λ > 0
    obs = rng.random((300, 3, 6, 6)).astype(np.float32)
    lambdas = C.layer_scales(teacher, obs, 100.0, per="neuron")
    assert [np.shape(x) for x in lambdas] == [(4,), (5,), (7,), ()]
    snn = C.convert(teacher, obs, percentile=100.0, per="neuron")
    np.testing.assert_allclose(
        C.normalised_ann(snn, obs) * snn.scales[-1], teacher.q_values(obs), rtol=1e-4, atol=1e-5
    )
    # every hidden unit that turns on reaches rate 1 on some state: its own max is its scale
    _, pre = teacher.forward(obs, preactivations=True)
    assert np.allclose(lambdas[0], np.where(pre[0].max((0, 2, 3)) > 0, pre[0].max((0, 2, 3)), 1))
    with pytest.raises(ValueError, match="per"):
        C.layer_scales(teacher, obs, 100.0, per="unit")


def test_percentile_100_is_max_norm(teacher, states):
    _, pre = teacher.forward(states, preactivations=True)
    assert C.layer_scales(teacher, states, 100.0) == pytest.approx([float(z.max()) for z in pre])
    with pytest.raises(ValueError, match="percentile"):
        C.layer_scales(teacher, states, 0.0)


@pytest.mark.parametrize(("model", "v_init"), [("if_onset", 0.5), ("if", 0.0)])
def test_every_layer_integrates_its_input_and_bias_from_its_onset(
    teacher, states, held_out, model, v_init
):
    """count * v_th + v_final - v_initial = input that arrived + (T - onset) * bias, every
    layer; for the output layer that is the robust readout."""
    snn = C.convert(teacher, states, model=model, v_init=v_init)
    obs, T = held_out[:50], 40
    _, cache = snn.net.kernel().forward(snn.inputs(obs, T))
    final = cache.final_state()
    onsets = []
    for layer in snn.net.neuron_layers:
        (conn,) = [c for c in snn.net.connections if c.post is layer]
        w = snn.net.params[conn.key]
        arrived = (
            T * snn.inputs(obs, 1)[0] @ w
            if conn.pre.is_input
            else cache.spikes(conn.pre.name).sum(0) @ w
        )
        values = snn.net.parameter_values(layer)
        onset = int(values.get("onset", 0))
        onsets.append(onset)
        integrated = arrived + (T - onset) * values["bias"]
        count = cache.spikes(layer.name).sum(0)
        v0 = snn.net.initial_state(layer)["v"]
        np.testing.assert_allclose(
            count * snn.v_th + final[layer.name]["v"] - v0, integrated, atol=1e-9
        )
    assert onsets == ([1, 2, 2] if model == "if_onset" else [0, 0, 0])
    hidden_v0 = snn.net.initial_state(snn.net.layers["if1"])["v"]
    assert hidden_v0 == pytest.approx(v_init * snn.v_th) and snn.v_init == 0.0
    np.testing.assert_allclose(C.kernel_readouts(snn, obs, T).robust, integrated, atol=1e-9)


def test_converted_mlp_reaches_stated_conversion_rate_and_return(teacher, states, held_out):
    snn = C.convert(teacher, states, percentile=99.9)
    dqn_actions = teacher.act(held_out)
    rates = {
        T: C.conversion_rate(C.kernel_readouts(snn, held_out, T).actions(), dqn_actions)
        for T in (10, 500)
    }
    # CartPole's action gaps are ~0.04% of Q, so agreement grows slowly with T (see docs)
    assert rates[500] >= 0.7 and rates[500] > rates[10]
    # the disagreements are near-ties: the SNN still balances the pole for most of an episode
    # (measured 400-500 of 500 at T = 100 on γ = 0.99 teachers; a random policy gets ~22)
    returns = evaluate(C.SNNPolicy(snn, T=100), "CartPole-v1", episodes=5, seed=123)
    assert returns.mean() >= 300


def test_dueling_teacher_converts_through_its_advantage_stream(dueling_teacher, teacher):
    """The conversion teacher's advantage stream keeps its action gaps through the rate code,
    and calibrating the output layer for T recovers part of what the rounding to k/T loses.
    Measured here (seed 0, 2,000 held-out states): 0.913 / 0.982 / 0.992 at T = 10 / 50 / 100,
    calibrated 0.956 / 0.989 at T = 10 / 50 (the plain preset teacher: 0.56 / 0.63 at T = 50 /
    100 in figures/conversion.csv). On 25,000 held-out states: figures/conversion_goal.csv."""
    states = C.collect_states(dueling_teacher, "CartPole-v1", n=5000, seed=0)
    held = C.collect_states(dueling_teacher, "CartPole-v1", n=2000, seed=777)
    assert evaluate(dueling_teacher, "CartPole-v1", episodes=5, seed=123).mean() >= 475
    snn = C.convert(dueling_teacher, states, percentile=99.99, per="neuron")
    assert [la.size for la in snn.net.neuron_layers] == [2048, 2]
    actions = dueling_teacher.act(held)
    rates, calibrated = {}, {}
    for T in (10, 50, 100):
        readouts = C.kernel_readouts(snn, held, T)
        rates[T] = C.conversion_rate(readouts.actions(), actions)
        assert rates[T] > C.conversion_rate(readouts.actions("count"), actions)
    for T in (10, 50):
        readouts = C.kernel_readouts(C.calibrate(snn, states, T), held, T)
        calibrated[T] = C.conversion_rate(readouts.actions(), actions)
        assert calibrated[T] > C.conversion_rate(readouts.actions("count"), actions)
    plain_snn = C.convert(teacher, C.collect_states(teacher, "CartPole-v1", n=5000, seed=0))
    plain_held = C.collect_states(teacher, "CartPole-v1", n=400, seed=777)
    plain = C.conversion_rate(
        C.kernel_readouts(plain_snn, plain_held, 100).actions(), teacher.act(plain_held)
    )
    assert rates[50] >= 0.96 and rates[100] >= 0.975 and rates[100] > plain + 0.2
    assert calibrated[50] >= 0.985 and calibrated[50] > rates[50]
    assert calibrated[10] >= rates[10] + 0.03


def test_calibration_is_least_squares_on_the_hidden_spike_counts(teacher, states, held_out):
    snn = C.convert(teacher, states, percentile=99.9)
    before = {k: v.copy() for k, v in snn.net.params.items()}
    T, ridge = 20, 1e-3
    cal = C.calibrate(snn, states[:1000], T, ridge=ridge)
    assert cal.calibrated_T == T and snn.calibrated_T is None
    assert all(np.array_equal(before[k], v) for k, v in snn.net.params.items())
    changed = {k for k in before if not np.array_equal(before[k], cal.net.params[k])}
    assert changed == {"if2_to_q.w", "q.bias"}
    # the output integrates its bias from its onset (step 2) on: T - 2 steps
    counts = np.concatenate([c["if2"] for c, _ in C._kernel_counts(snn, states[:1000], T)])
    X = np.hstack([counts, np.full((1000, 1), T - 2.0)])
    target = (T - 2) * C.normalised_ann(snn, states[:1000])
    fitted = C.kernel_readouts(cal, states[:1000], T).robust
    old = np.vstack([snn.net.params["if2_to_q.w"], snn.net.params["q.bias"]])
    new = np.vstack([cal.net.params["if2_to_q.w"], cal.net.params["q.bias"]])
    np.testing.assert_allclose(fitted, X @ new, atol=1e-8)  # the readout is linear in [W; b]
    # normal equations of the ridge problem: X^T (X new - target) + penalty (new - old) = 0
    gram = X.T @ X
    residual = X.T @ (fitted - target) + ridge * np.trace(gram) / len(gram) * (new - old)
    assert np.abs(residual).max() < 1e-6 * np.abs(X.T @ target).max()
    original = C.kernel_readouts(snn, states[:1000], T).robust
    assert np.mean((fitted - target) ** 2) < np.mean((original - target) ** 2)
    replay = C.brian2_readouts(cal, held_out[:8], T, device="runtime")
    np.testing.assert_allclose(replay.robust, C.kernel_readouts(cal, held_out[:8], T).robust,
                               atol=1e-9)


def test_calibrate_rejects_what_it_cannot_fit(teacher, states):
    snn = C.convert(teacher, states)
    with pytest.raises(ValueError, match="ridge must be > 0"):
        C.calibrate(snn, states, 20, ridge=0.0)
    with pytest.raises(ValueError, match="at least one state"):
        C.calibrate(snn, states[:0], 20)
    with pytest.raises(ValueError, match="T = 2 leaves the output layer no step"):
        C.calibrate(snn, states, 2)


def test_kernel_brian2_batch_and_standalone_agree(teacher, states, held_out, tmp_path):
    snn = C.convert(teacher, states)
    obs, T = held_out[:24], 30
    kernel = C.kernel_readouts(snn, obs, T)
    runtime = C.brian2_readouts(snn, obs, T, device="runtime")
    standalone = C.brian2_readouts(
        snn, obs, T, device="cpp_standalone", directory=str(tmp_path / "build")
    )
    for other in (runtime, standalone):
        np.testing.assert_array_equal(kernel.count, other.count)
        np.testing.assert_array_equal(kernel.spikes, other.spikes)
        np.testing.assert_allclose(kernel.robust, other.robust, atol=1e-9)
    assert kernel.spikes.mean() > 0


def test_brian2_closed_loop_takes_the_kernels_actions(teacher, states):
    snn = C.convert(teacher, states)
    (episode,) = C.play_brian2(snn, "CartPole-v1", T=20, episodes=1, seed=3)
    assert episode.length >= 10
    observations = np.stack(episode.observations)
    kernel_actions = C.kernel_readouts(snn, observations, 20).actions()
    np.testing.assert_array_equal(kernel_actions, episode.actions)


def test_convert_command_prints_and_writes_the_report(teacher, tmp_path, capsys):
    import json

    from neurorl.cli import main

    path = teacher.save(tmp_path / "teacher.npz")
    out = tmp_path / "report.json"
    code = main(["convert", str(path), "--T", "20", "--states", "500", "--eval-states", "50",
                 "--episodes", "1", "--calibrate", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["env"] == "CartPole-v1" and report["T"] == 20 and report["calibrated_T"] == 20
    assert 0.0 <= report["conversion_rate_robust"] <= 1.0 and report["spikes_per_decision"] > 0
    assert "conversion_rate_robust" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "missing.npz")]) == 2


def test_closed_loop_episodes_in_one_call_equal_separate_calls(teacher, states):
    snn = C.convert(teacher, states)
    together = C.play_brian2(snn, "CartPole-v1", T=10, episodes=2, seed=7)
    apart = [C.play_brian2(snn, "CartPole-v1", T=10, episodes=1, seed=7 + i)[0] for i in range(2)]
    for a, b in zip(together, apart, strict=True):
        assert a.actions == b.actions and a.total_reward == b.total_reward


def test_convert_defaults_are_the_recipe_and_the_network_is_kept(teacher, tmp_path, capsys):
    """`neurorl convert` converts with RECIPE (the paper's variant is --paper), writes the
    converted network with --out, and that file is evaluated and costed without converting
    again."""
    import json

    from neurorl.cli import main

    path = teacher.save(tmp_path / "teacher.npz", {"env": "CartPole-v1"})
    runs = {}
    for name, extra in (("recipe", []), ("paper", ["--paper"])):
        out = tmp_path / name
        assert main(["convert", str(path), "--T", "50", "--states", "3000", "--eval-states",
                     "200", "--episodes", "2", "--out", str(out), *extra]) == 0
        runs[name] = json.loads((out / "report.json").read_text())
    recipe, paper = runs["recipe"], runs["paper"]
    assert (recipe["percentile"], recipe["per"], recipe["model"]) == (99.99, "neuron", "if_onset")
    assert recipe["calibrated_T"] == 50 and paper["calibrated_T"] is None
    assert (paper["percentile"], paper["per"], paper["model"], paper["v_init"]) == (
        99.9, "layer", "if", 0.0)
    assert recipe["snn_return_mean"] >= 475
    capsys.readouterr()

    snn_file = tmp_path / "recipe" / C.SNN_FILE
    policy, meta = C.load_converted(snn_file)
    assert policy.T == 50 and policy.snn.calibrated_T == 50 and meta["env"] == "CartPole-v1"
    assert main(["evaluate", str(snn_file), "--episodes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "converted SNN" in printed and "CartPole-v1: 2 episodes" in printed
    mean = float(printed.split("return mean")[1].split()[0])
    assert mean == recipe["snn_return_mean"]  # same episodes (seeds 10000+), same network
    energy = tmp_path / "energy.json"
    assert main(["energy", str(snn_file), "--samples", "4", "--json", str(energy)]) == 0
    chips = json.loads(energy.read_text())["chips"]
    assert chips[0]["steps_per_decision"] == 50 and chips[0]["dnn"]  # priced next to its teacher
