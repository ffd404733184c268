"""neurorl.algos.dqn: TD targets, gradients, the teacher's structure, resume, and CartPole."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from neurorl import checkpoint
from neurorl.algos import dqn
from neurorl.ann import nn
from neurorl.ann.optim import Adam
from neurorl.ann.qnetwork import load_teacher
from neurorl.rl.evaluate import evaluate, selected_evaluation

ROOT = Path(__file__).resolve().parents[1]


def small_batch(rng, n=6, obs_dim=3):
    return {
        "obs": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "next_obs": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "actions": rng.integers(0, 2, size=n),
        "rewards": rng.normal(size=n).astype(np.float32),
        "terminated": np.array([1, 0] * (n // 2), np.float32),
    }


def test_td_targets_stop_at_terminated_and_bootstrap_through_truncated():
    rng = np.random.default_rng(0)
    net = nn.mlp(3, [5], 2)
    online, target = net.init(rng), net.init(rng)
    batch = small_batch(rng)
    gamma = 0.9
    for double in (True, False):
        y = dqn.td_targets(net, online, target, batch, gamma, double)
        q_t = net(target, batch["next_obs"])
        choice = np.argmax(net(online, batch["next_obs"]) if double else q_t, axis=1)
        boot = q_t[np.arange(6), choice]
        term = batch["terminated"] == 1
        np.testing.assert_allclose(y[term], batch["rewards"][term], rtol=0, atol=0)
        np.testing.assert_allclose(y[~term], batch["rewards"][~term] + gamma * boot[~term],
                                   rtol=1e-6)
    # Double DQN and plain DQN differ exactly where the online and target argmax differ
    y_double = dqn.td_targets(net, online, target, batch, gamma, True)
    y_plain = dqn.td_targets(net, online, target, batch, gamma, False)
    assert np.all(y_double <= y_plain + 1e-6)


def test_advantage_learning_lowers_the_targets_of_non_greedy_actions():
    rng = np.random.default_rng(3)
    net = nn.mlp(3, [5], 2)
    online, target = net.init(rng), net.init(rng)
    batch = small_batch(rng, n=8)
    y = dqn.td_targets(net, online, target, batch, 0.9, True)
    y_al = dqn.td_targets(net, online, target, batch, 0.9, True, advantage_learning=0.7)
    q_now = net(target, batch["obs"])
    gap = q_now.max(1) - q_now[np.arange(8), batch["actions"]]
    np.testing.assert_allclose(y_al, y - 0.7 * gap, rtol=1e-6, atol=1e-6)
    greedy = batch["actions"] == q_now.argmax(1)
    assert greedy.any() and (~greedy).any()
    np.testing.assert_array_equal(y_al[greedy], y[greedy])
    assert np.all(y_al[~greedy] < y[~greedy])
    # learn_phase hands in Q_target(s, ·) computed for many batches at once: same targets
    y_given = dqn.td_targets(net, online, target, batch, 0.9, True, advantage_learning=0.7,
                             q_target=q_now)
    np.testing.assert_array_equal(y_given, y_al)


def test_replay_keeps_truncated_transitions_bootstrappable(tmp_path):
    # episodes truncated after 5 steps (CartPole cannot fall that fast); state saved at the end
    cfg = dqn.DQNConfig(total_steps=20, learning_starts=1000, checkpoint_every=20,
                        hidden=(8,), env_options={"max_episode_steps": 5}, buffer_size=100)
    dqn.train(cfg, tmp_path, progress=False)
    arrays, meta = checkpoint.load(tmp_path / dqn.STATE_FILE)
    obs, nxt, term = arrays["rb/obs"], arrays["rb/next_obs"], arrays["rb/terminated"]
    assert meta["replay"]["size"] == 20
    assert not term.any()  # truncation is not termination
    for t in range(19):
        if (t + 1) % 5:  # inside an episode s' is the next state
            np.testing.assert_array_equal(nxt[t], obs[t + 1])
        else:  # at truncation s' is the real last state, not the next episode's first
            assert not np.array_equal(nxt[t], obs[t + 1])
            np.testing.assert_allclose(nxt[t][[0, 2]], obs[t][[0, 2]], atol=0.2)


def test_replay_marks_terminations(tmp_path):
    cfg = dqn.DQNConfig(total_steps=300, learning_starts=1000, checkpoint_every=250,
                        hidden=(8,), buffer_size=1000)
    dqn.train(cfg, tmp_path, progress=False)
    arrays, _ = checkpoint.load(tmp_path / dqn.STATE_FILE)
    nxt, term = arrays["rb/next_obs"], arrays["rb/terminated"].astype(bool)
    fallen = (np.abs(nxt[:, 0]) > 2.4) | (np.abs(nxt[:, 2]) > 0.2095)
    assert term.sum() >= 5
    np.testing.assert_array_equal(term, fallen)


def test_huber_td_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    net = nn.mlp(3, [6], 2)
    params = {k: v.astype(np.float64) + 0.05 for k, v in net.init(rng).items()}
    target = {k: v.astype(np.float64) for k, v in net.init(rng).items()}
    batch = small_batch(rng)
    batch["rewards"] = batch["rewards"] * 3  # some |δ| > 1 (linear part) and some < 1
    loss, _, grads = dqn.td_loss_and_grads(net, params, target, batch, 0.95, False)
    eps = 1e-6
    for name, p in params.items():
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            lp = dqn.td_loss_and_grads(net, params, target, batch, 0.95, False)[0]
            p[idx] = old - eps
            lm = dqn.td_loss_and_grads(net, params, target, batch, 0.95, False)[0]
            p[idx] = old
            num[idx] = (lp - lm) / (2 * eps)
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-7, err_msg=name)


def test_adam_keeps_float32_and_matches_the_textbook_update():
    rng = np.random.default_rng(2)
    p = rng.normal(size=50).astype(np.float32)
    ref = p.astype(np.float64)
    opt = Adam({"all": p}, lr=1e-2)
    m = np.zeros(50)
    v = np.zeros(50)
    for t in range(1, 31):
        g = rng.normal(size=50).astype(np.float32)
        opt.step({"all": g})
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g.astype(np.float64) ** 2
        ref -= 1e-2 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-6)
    assert p.dtype == np.float32 and opt.state_dict()["t"] == 30


def test_q_network_public_structure_and_teacher_round_trip(tmp_path):
    cfg = dqn.DQNConfig(total_steps=300, learning_starts=100, train_freq=10, gradient_steps=2,
                        hidden=(16, 8))
    res = dqn.train(cfg, tmp_path, progress=False)
    q = load_teacher(tmp_path / dqn.TEACHER_FILE)
    assert [(layer.W.shape, layer.b.shape) for layer in q.layers] == \
        [((4, 16), (16,)), ((16, 8), (8,)), ((8, 2), (2,))]
    assert [layer.spec.relu for layer in q.layers] == [True, True, False]
    obs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    np.testing.assert_array_equal(q.q_values(obs), res.q.q_values(obs))
    qv, pre = q.forward(obs, preactivations=True)
    h = obs
    for layer, z in zip(q.layers, pre, strict=True):  # pre-activations are the affine outputs
        np.testing.assert_allclose(z, h @ layer.W + layer.b, rtol=1e-5, atol=1e-6)
        h = np.maximum(z, 0) if layer.spec.relu else z
    np.testing.assert_array_equal(pre[-1], qv)
    assert q.q_values(obs[0]).shape == (2,)
    assert q.meta["env"] == "CartPole-v1" and q.meta["config"]["hidden"] == [16, 8]
    # no resume state was asked for
    assert not (tmp_path / dqn.STATE_FILE).exists()
    with pytest.raises(checkpoint.CheckpointError, match="no such checkpoint"):
        load_teacher(tmp_path / "missing.npz")
    checkpoint.save(tmp_path / "other.npz", {"x": np.zeros(1)}, {})
    with pytest.raises(ValueError, match="holds no Q-network"):
        load_teacher(tmp_path / "other.npz")


def test_minatar_conv_q_network_trains_a_few_steps():
    pytest.importorskip("minatar")
    cfg = dqn.DQNConfig(env_id="MinAtar/Breakout", total_steps=200, learning_starts=100,
                        train_freq=4, gradient_steps=1, batch_size=8, buffer_size=500)
    res = dqn.train(cfg, progress=False)
    assert [layer.spec.kind for layer in res.q.layers] == ["conv2d", "dense", "dense"]
    assert res.q.q_values(np.zeros((2, 4, 10, 10), np.float32)).shape == (2, 3)


class Crash(Exception):
    pass


def test_vectorised_environments_count_steps_and_resume(tmp_path):
    cfg = dqn.DQNConfig(total_steps=900, num_envs=3, learning_starts=150, train_freq=5,
                        gradient_steps=2, hidden=(16,), target_update_interval=30,
                        checkpoint_every=300)
    straight = dqn.train(cfg, progress=False)
    assert straight.steps == 900 and len(straight.metrics["step"]) > 10
    assert np.all(straight.metrics["step"] % 3 == 0)

    def crash(step):
        if step >= 600:
            raise Crash

    with pytest.raises(Crash):
        dqn.train(cfg, tmp_path, progress=False, on_checkpoint=crash)
    resumed = dqn.train(cfg, tmp_path, resume=True, progress=False)
    for k in straight.q.params:
        np.testing.assert_array_equal(resumed.q.params[k], straight.q.params[k], err_msg=k)
    np.testing.assert_array_equal(resumed.metrics["episode_return"],
                                  straight.metrics["episode_return"])
    # resuming a finished run has nothing left to do
    again = dqn.train(cfg, tmp_path, resume=True, progress=False)
    assert again.steps == 900
    for k in straight.q.params:
        np.testing.assert_array_equal(again.q.params[k], straight.q.params[k], err_msg=k)


# ---- resume after SIGKILL -------------------------------------------------------------------
RESUME_CFG = dict(total_steps=6000, learning_starts=500, train_freq=16, gradient_steps=8,
                  target_update_interval=200, hidden=(32, 32), checkpoint_every=1000, seed=3,
                  lr=1e-3, eval_every=1500, eval_episodes=3)

CHILD = textwrap.dedent("""
    import json, sys
    from neurorl.algos import dqn
    cfg = dqn.DQNConfig(**json.loads(sys.argv[1]))
    def tell(step):
        print("checkpoint", step, flush=True)
    dqn.train(cfg, sys.argv[2], progress=False, on_checkpoint=tell)
""")


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    cfg = dqn.DQNConfig(**RESUME_CFG)
    straight = dqn.train(cfg, tmp_path / "straight", progress=False)

    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(asdict(cfg)), str(out)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = child.stdout.readline()  # blocks until the first checkpoint is on disk
        assert line.startswith("checkpoint"), line
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert not (out / dqn.TEACHER_FILE).exists(), "the child finished before it was killed"
    step_at_kill = checkpoint.read_header(out / dqn.STATE_FILE)["meta"]["step"]
    assert 1000 <= step_at_kill < cfg.total_steps

    resumed = dqn.train(cfg, out, resume=True, progress=False)
    for k in straight.q.params:
        np.testing.assert_array_equal(resumed.q.params[k], straight.q.params[k], err_msg=k)
    for k in straight.metrics:
        np.testing.assert_array_equal(resumed.metrics[k], straight.metrics[k], err_msg=k)
    np.testing.assert_array_equal(resumed.evals, straight.evals)
    a = load_teacher(out / dqn.TEACHER_FILE).params
    b = load_teacher(tmp_path / "straight" / dqn.TEACHER_FILE).params
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert (out / dqn.METRICS_FILE).read_text() == (tmp_path / "straight" / dqn.METRICS_FILE
                                                     ).read_text()


def test_teacher_is_the_best_greedy_evaluation(tmp_path):
    """With eval_every, the saved teacher is the network that scored best (latest of equals) on
    the selection episodes, and scores exactly that again; the final weights stay in the state."""
    cfg = dqn.DQNConfig(**{**RESUME_CFG, "checkpoint_every": 0, "eval_every": 1000})
    res = dqn.train(cfg, tmp_path, progress=False)
    steps, scores = res.evals[:, 0], res.evals[:, 1]
    np.testing.assert_array_equal(steps, np.arange(1000, 6001, 1000))
    best = int(np.flatnonzero(scores == scores.max())[-1])  # the best, the latest of equals
    assert selected_evaluation(res.evals) == best
    assert len(set(scores)) > 1, "the evaluations should differ for this test to mean something"
    teacher = load_teacher(tmp_path / dqn.TEACHER_FILE)
    assert teacher.meta["selected_at_step"] == steps[best]
    written = np.loadtxt(tmp_path / dqn.EVALS_FILE, delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(written, res.evals)
    again = evaluate(teacher, cfg.env_id, cfg.eval_episodes, seed=dqn.SELECTION_SEED)
    assert again.mean() == scores[best]
    final = dqn.train(dqn.DQNConfig(**{**RESUME_CFG, "checkpoint_every": 0, "eval_every": 0}),
                      progress=False)
    same_as_final = all(np.array_equal(v, teacher.params[k]) for k, v in final.q.params.items())
    assert same_as_final == (best == len(scores) - 1)


def test_resume_refuses_a_different_config(tmp_path):
    cfg = dqn.DQNConfig(total_steps=300, learning_starts=100, checkpoint_every=100, hidden=(8,))
    dqn.train(cfg, tmp_path, progress=False)
    other = dqn.DQNConfig(total_steps=300, learning_starts=100, checkpoint_every=100,
                          hidden=(8,), lr=0.1)
    with pytest.raises(ValueError, match=r"different config.*lr"):
        dqn.train(other, tmp_path, resume=True, progress=False)


# ---- CartPole is solved ---------------------------------------------------------------------
CARTPOLE_SEED = 0  # the classic preset solved seeds 0-4 (greedy means 500, 500, 500, 499.7, 500)


def test_cartpole_is_solved(cartpole_run, cartpole_teacher):
    """The classic-control preset (rl-zoo settings), 50k steps: greedy 100-episode mean ≥ 475.

    ``cartpole_run`` (tests/conftest.py) trains seed CARTPOLE_SEED once for the whole session.
    """
    cfg = dqn.preset_config("CartPole-v1", seed=CARTPOLE_SEED)
    assert cfg.total_steps == 50_000 and cfg.lr == 2.3e-3 and not cfg.double_dqn
    assert cartpole_run.steps == cfg.total_steps
    returns = evaluate(cartpole_teacher, "CartPole-v1", episodes=100)
    print(f"CartPole seed {CARTPOLE_SEED}: {cartpole_run.wall_s:.1f} s, "
          f"eval mean {returns.mean():.1f}")
    assert returns.mean() >= 475
