"""SDN: a distilled spiking student solves CartPole, runs identically in Brian2, and its loss
gradient is right; the spiking-DQN baseline and the command line run."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl import cli
from neurorl.algos import dqn
from neurorl.algos.distill import (
    DistillConfig,
    StudentPolicy,
    build_student,
    distill,
    distillation_loss,
    load_student,
    play_brian2,
)
from neurorl.algos.spiking_dqn import SpikingDQNConfig, train_spiking_dqn
from neurorl.rl.envs import make_env

ENV = "CartPole-v1"


@pytest.fixture(scope="module")
def teacher(cartpole_run):
    """The session's CartPole teacher (tests/conftest.py): (QNetwork, path of teacher.npz)."""
    return cartpole_run.q, cartpole_run.out_dir / dqn.TEACHER_FILE


@pytest.fixture(scope="module")
def distilled(teacher, tmp_path_factory):
    """The default 4-16-2 student (T = 8, τ = 5) distilled from the teacher, saved to disk."""
    out = tmp_path_factory.mktemp("sdn")
    return distill(teacher[0], DistillConfig(seed=0, max_epochs=40), out, progress=False)


def test_student_matches_teacher_with_200x_fewer_parameters(teacher, distilled):
    res = distilled
    assert len(res.final_returns) == 100
    assert res.final_return >= 475, res.metrics
    assert res.n_params == 4 * 16 + 16 + 16 * 2 + 2 == 114
    assert res.teacher_params / res.n_params >= 200
    assert res.epochs_to_target is not None and res.epochs_to_target <= res.epochs
    assert res.metrics[-1]["agreement"] > 0.6  # many states leave the teacher near-indifferent
    # the checkpoint is the same student (input scale folded into the weights)
    policy, meta = load_student(res.out_dir / "student.npz")
    assert meta["T"] == 8 and meta["n_params"] == 114
    obs = np.random.default_rng(0).normal(0, [1.0, 0.5, 0.1, 0.5], (256, 4))
    np.testing.assert_array_equal(policy.act(obs), res.policy.act(obs))


def test_same_seed_same_numbers(teacher):
    cfg = DistillConfig(seed=3, max_epochs=2, eval_episodes=2, final_eval_episodes=2)
    a = distill(teacher[0], cfg, progress=False)
    b = distill(teacher[0], cfg, progress=False)
    assert a.metrics[-1]["loss"] == b.metrics[-1]["loss"]
    for key in a.policy.net.params:
        np.testing.assert_array_equal(a.policy.net.params[key], b.policy.net.params[key])


def test_kernel_and_brian2_students_take_identical_actions(distilled):
    policy = distilled.policy
    episodes = play_brian2(policy, ENV, episodes=2, seed=20_000, max_steps=120)
    for i, ep in enumerate(episodes):
        assert ep.length == 120
        # the kernel, playing the same seeded episode, takes the same actions
        env = make_env(ENV)
        obs, _ = env.reset(seed=20_000 + i)
        actions = []
        for _ in range(ep.length):
            actions.append(int(policy.act(obs[None])[0]))
            obs = env.step(actions[-1])[0]
        env.close()
        assert actions == ep.actions
        np.testing.assert_array_equal(policy.act(np.stack(ep.observations)), ep.actions)


def test_distillation_loss_gradient_against_finite_differences():
    rng = np.random.default_rng(0)
    z, q = rng.normal(0, 3, (5, 3)), rng.normal(0, 10, (5, 3))
    for tau in (1.0, 5.0, 20.0):
        _, grad = distillation_loss(z, q, tau)
        numeric = np.zeros_like(z)
        for idx in np.ndindex(*z.shape):
            up, down = z.copy(), z.copy()
            up[idx] += 1e-6
            down[idx] -= 1e-6
            numeric[idx] = (distillation_loss(up, q, tau)[0] - distillation_loss(down, q, tau)[0])
            numeric[idx] /= 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert distillation_loss(q, q, 5.0)[0] == pytest.approx(0.0, abs=1e-12)


def test_loss_gradient_through_the_kernel_against_finite_differences():
    """d(τ²·KL)/d params by BPTT (smooth sigmoid spikes) equals central finite differences."""
    rng = np.random.default_rng(1)
    net = build_student(4, 2, (6,), readout_tau_ms=3.0, seed=2)
    for key, value in net.params.items():  # make the hidden layer active
        value[...] = rng.normal(0, 1.0 if key.endswith(".w") else 0.3, value.shape)
    policy = StudentPolicy(net, T=6)
    policy.kernel = net.kernel(surrogate="sigmoid", smooth=True, dtype=np.float64)
    obs, q = rng.normal(0, 1, (3, 4)), rng.normal(0, 5, (3, 2))
    tau = 5.0

    def loss_and_grads():
        out, cache = policy.kernel.forward(policy.inputs(obs))
        loss, dz = distillation_loss(out.mean(0), q, tau)
        return loss, policy.kernel.backward(np.broadcast_to(dz / policy.T, out.shape), cache)

    _, grads = loss_and_grads()
    for key, param in net.params.items():
        numeric = np.zeros_like(param)
        for i in range(param.size):
            old = param.flat[i]
            param.flat[i] = old + 1e-6
            up = loss_and_grads()[0]
            param.flat[i] = old - 1e-6
            down = loss_and_grads()[0]
            param.flat[i] = old
            numeric.flat[i] = (up - down) / 2e-6
        assert np.linalg.norm(numeric) > 1e-8, key
        err = np.linalg.norm(grads[key] - numeric) / np.linalg.norm(numeric)
        assert err < 1e-5, f"{key}: relative error {err:.2e}"


def test_spiking_dqn_baseline_runs(tmp_path, capsys):
    cfg = SpikingDQNConfig(seed=0, total_steps=1_200, learning_starts=400, train_freq=100,
                           gradient_steps=4, eval_every=400, eval_episodes=2,
                           final_eval_episodes=2)
    res = train_spiking_dqn(cfg, progress=False, out_dir=tmp_path)
    assert [row["env_steps"] for row in res.metrics] == [400, 800, 1200]
    assert res.metrics[-1]["grad_steps"] == 8 * 4
    assert np.isfinite(res.metrics[-1]["loss"])
    assert res.n_params == 114 and len(res.final_returns) == 2
    # its checkpoint is a policy `neurorl evaluate` knows, acting as the trained network did
    assert cli.main(["evaluate", str(tmp_path / "spiking_dqn.npz"), "--episodes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "spiking DQN" in printed
    assert float(printed.split("return mean")[1].split()[0]) == res.final_return


def test_spiking_dqn_config_is_the_dqn_config():
    from neurorl.algos.dqn import DQNConfig

    cfg, base = SpikingDQNConfig(), DQNConfig()
    assert isinstance(cfg, DQNConfig) and cfg.hidden == (16,) and cfg.eval_every == 1_000
    same = {k: v for k, v in vars(base).items() if k not in ("hidden", "eval_every")}
    assert {k: getattr(cfg, k) for k in same} == same
    with pytest.raises(ValueError, match="does not support num_envs"):
        SpikingDQNConfig(num_envs=2)


def test_cli_distill(teacher, tmp_path, capsys):
    out = tmp_path / "sdn"
    args = ["distill", str(teacher[1]), "--tau", "5", "--hidden", "8", "--T", "4",
            "--epochs", "1", "--out", str(out), "--no-progress",
            "--set", "final_eval_episodes=3", "--set", "eval_episodes=2"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "4-8-2 LIF" in printed and "58 parameters" in printed
    policy, meta = load_student(out / "student.npz")
    assert policy.T == 4 and meta["config"]["tau"] == 5.0
    assert (out / "metrics.csv").read_text().startswith("epoch,env_steps")


def test_clear_errors(teacher, tmp_path):
    with pytest.raises(ValueError, match="T"):
        DistillConfig(T=0)
    with pytest.raises(ValueError, match="unknown distillation config keys: nope"):
        DistillConfig.from_dict({"nope": 1})
    with pytest.raises(ValueError, match="no neurorl Network"):
        load_student(teacher[1])


def test_spiking_dqn_td_gradient_against_finite_differences():
    """dqn.td_loss_and_grads through KernelQ (smooth spikes, output gain 3) equals finite
    differences of the Huber TD loss."""
    from neurorl.algos.spiking_dqn import KernelQ

    rng = np.random.default_rng(5)

    def student(seed):
        net = build_student(4, 2, (5,), seed=seed)
        for key, value in net.params.items():
            value[...] = rng.normal(0, 1.0 if key.endswith(".w") else 0.3, value.shape)
        policy = StudentPolicy(net, T=5)
        policy.kernel = net.kernel(surrogate="sigmoid", smooth=True, dtype=np.float64)
        return policy

    online, target = student(0), student(1)
    qnet = KernelQ(online, target, q_scale=3.0)
    batch = {"obs": rng.normal(0, 1, (4, 4)).astype(np.float32),
             "next_obs": rng.normal(0, 1, (4, 4)).astype(np.float32),
             "actions": np.array([0, 1, 1, 0]), "rewards": np.ones(4, np.float32),
             "terminated": np.array([0, 0, 1, 0], np.float32)}
    params = online.net.params

    def loss():
        return dqn.td_loss_and_grads(qnet, params, target.net.params, batch, 0.9, True)[0]

    grads = dqn.td_loss_and_grads(qnet, params, target.net.params, batch, 0.9, True)[2]
    for key, param in params.items():
        numeric = np.zeros_like(param)
        for i in range(param.size):
            old = param.flat[i]
            param.flat[i] = old + 1e-6
            up = loss()
            param.flat[i] = old - 1e-6
            down = loss()
            param.flat[i] = old
            numeric.flat[i] = (up - down) / 2e-6
        err = np.linalg.norm(grads[key] - numeric) / max(np.linalg.norm(numeric), 1e-12)
        assert err < 1e-4, f"{key}: relative error {err:.2e}"
