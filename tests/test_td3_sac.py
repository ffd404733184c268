"""Recurrent TD3 and SAC for continuous actions: the losses' gradients against finite
differences (TD3's and SAC's actor gradients through the critic's d Q / d a), the critic's
current-action input, the evaluation loop on a Box action space, and short Pendulum-V runs that
save, load, evaluate and resume bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

from neurorl import checkpoint, cli
from neurorl.algos import sac, td3
from neurorl.algos.checkpoints import KINDS, load_policy
from neurorl.rl.envs import make_env
from neurorl.rl.evaluate import evaluate
from neurorl.rl.recurrent_ac import ArchConfig, RecurrentNet

TINY = dict(hidden=16, batch_size=4, seq_len=8, random_episodes=1, eval_every=100,
            eval_episodes=2)


def robust_check(loss, arrays: dict[str, np.ndarray], grads: dict[str, np.ndarray], rng,
                 picks: int = 5, eps: float = 1e-3) -> None:
    """Central differences of ``loss()`` against ``grads`` on sampled coordinates of float32
    ReLU networks (tests/test_sacd.py's check): a difference can straddle a kink, so nine of ten
    coordinates must agree to 2 %, and one of every array."""
    agree, total = 0, 0
    for key, value in arrays.items():
        hits = 0
        chosen = rng.choice(value.size, size=min(picks, value.size), replace=False)
        for flat in chosen:
            idx = np.unravel_index(flat, value.shape)
            old = value[idx]
            value[idx] = old + eps
            up = loss()
            value[idx] = old - eps
            down = loss()
            value[idx] = old
            numeric, analytic = (up - down) / (2 * eps), float(grads[key][idx])
            hits += abs(numeric - analytic) <= 0.02 * abs(analytic) + 2e-3
        assert hits > 0, f"{key}: no coordinate agrees with finite differences"
        agree, total = agree + hits, total + len(chosen)
    assert agree >= 0.9 * total, f"{agree} of {total} coordinates agree"


def small_critic(encoder: str = "gru", d: int = 2, obs: int = 3) -> RecurrentNet:
    return RecurrentNet(obs, d, 2, 1, ArchConfig(encoder=encoder, hidden=8, head_hidden=(6,)),
                        seed=1, current_action_dim=d)


def critic_inputs(rng, T: int = 5, B: int = 2, d: int = 2, obs: int = 3) -> tuple:
    return (np.tanh(rng.normal(size=(T, B, d))), rng.normal(size=(T, B)),
            rng.normal(size=(T, B, obs)))


# --------------------------------------------------------------------------------------------
# the losses
# --------------------------------------------------------------------------------------------
def test_td3_losses_and_targets(rng):
    T, B = 4, 3
    q = rng.normal(size=(T, B, 2))
    y = rng.normal(size=(T, B))
    mask = (rng.random((T, B)) > 0.3).astype(float)
    _, d_q = td3.critic_loss(q, y, mask)
    np.testing.assert_allclose(d_q, numeric_grad(lambda: td3.critic_loss(q, y, mask)[0], q),
                               atol=1e-7)
    loss, d_q = td3.actor_loss(q, mask)
    assert loss == pytest.approx(-(q.min(2) * mask).sum() / mask.sum())
    np.testing.assert_allclose(d_q, numeric_grad(lambda: td3.actor_loss(q, mask)[0], q),
                               atol=1e-7)
    y = td3.critic_targets(np.array([[[1.0, 0.5]]]), np.array([[1.0]]), np.array([[0.0]]), 0.9)
    assert y[0, 0] == pytest.approx(1.0 + 0.9 * 0.5)  # clipped double Q: the smaller
    assert td3.critic_targets(np.ones((1, 1, 2)), np.ones((1, 1)), np.ones((1, 1)), 0.9) == 1.0
    smoothed = td3.target_actions(np.array([0.9, -0.2, 0.0]), np.array([0.8, -0.9, 0.1]), 0.5)
    np.testing.assert_allclose(smoothed, [1.0, -0.7, 0.1])  # noise clipped, then the action


def test_tanh_gaussian_log_prob_and_gradient(rng):
    """log π is the Gaussian density of z = μ + σε minus log(1 − tanh²z + 1e-6); the gradient on
    (μ, log σ) for fixed ε matches central differences, and is 0 on a clipped log σ."""
    T, B, d = 3, 2, 2
    raw = np.concatenate([rng.normal(size=(T, B, d)), rng.normal(size=(T, B, d)) * 0.5], -1)
    raw[0, 0, d] = 3.0  # above LOG_STD_MAX: clipped
    raw[1, 1, d + 1] = -25.0  # below LOG_STD_MIN: clipped
    noise = rng.normal(size=(T, B, d))
    noise[0, 0, 0] = 0.05  # σ = e² there: keep tanh off saturation, where differences fail
    a, log_prob, cache = sac.tanh_gaussian(raw, noise)
    log_std = np.clip(raw[..., d:], -20, 2)
    z = raw[..., :d] + np.exp(log_std) * noise
    gauss = -0.5 * ((z - raw[..., :d]) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(a, np.tanh(z))
    np.testing.assert_allclose(log_prob, (gauss - np.log(1 - np.tanh(z) ** 2 + 1e-6)).sum(-1),
                               rtol=1e-8)
    w_a, w_l = rng.normal(size=(T, B, d)), rng.normal(size=(T, B))

    def loss() -> float:
        a, lp, _ = sac.tanh_gaussian(raw, noise)
        return float((w_a * a).sum() + (w_l * lp).sum())

    d_raw = sac.tanh_gaussian_backward(cache, w_a, w_l)
    np.testing.assert_allclose(d_raw, numeric_grad(loss, raw), rtol=1e-4, atol=1e-6)
    assert d_raw[0, 0, d] == 0.0 and d_raw[1, 1, d + 1] == 0.0


def test_sac_losses_and_targets(rng):
    T, B = 4, 3
    q, log_prob = rng.normal(size=(T, B, 2)), rng.normal(size=(T, B))
    mask = (rng.random((T, B)) > 0.3).astype(float)
    loss, d_q, d_lp, mean_lp = sac.actor_loss(q, log_prob, mask, 0.3)
    assert loss == pytest.approx(((0.3 * log_prob - q.min(2)) * mask).sum() / mask.sum())
    assert mean_lp == pytest.approx((log_prob * mask).sum() / mask.sum())
    np.testing.assert_allclose(
        d_q, numeric_grad(lambda: sac.actor_loss(q, log_prob, mask, 0.3)[0], q), atol=1e-7)
    np.testing.assert_allclose(
        d_lp, numeric_grad(lambda: sac.actor_loss(q, log_prob, mask, 0.3)[0], log_prob),
        atol=1e-7)
    y = sac.critic_targets(np.array([[[1.0, 0.5]]]), np.array([[-0.4]]), np.array([[1.0]]),
                           np.array([[0.0]]), 0.9, 0.2)
    assert y[0, 0] == pytest.approx(1.0 + 0.9 * (0.5 + 0.2 * 0.4))  # soft: − α log π


# --------------------------------------------------------------------------------------------
# the critic's current action, and the actors' gradients through it
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoder", ["mlp", "gru"])
def test_critic_gradients_on_weights_and_current_action(encoder, rng):
    """A critic of continuous actions (shortcut [o_t, a_t], two 1-value heads): BPTT on its
    weights and d out / d a_t (backward's and action_grad's) against central differences."""
    net = small_critic(encoder)
    inputs = critic_inputs(rng)
    act = np.tanh(rng.normal(size=(5, 2, 2))).astype(np.float32)
    w = rng.normal(size=(5, 2, 2, 1))
    _, cache = net.forward(*inputs, current_action=act)
    grads, d_act = net.backward(cache, w.astype(np.float32), want_action_grad=True)
    np.testing.assert_allclose(net.action_grad(cache, w.astype(np.float32)), d_act, rtol=1e-6)
    assert set(grads) == set(net.params) and net.params["embed.s.W"].shape == (3 + 2, 32)

    def loss() -> float:
        out = net.forward(*inputs, keep_cache=False, current_action=act)[0]
        return float((out.astype(np.float64) * w).sum())

    robust_check(loss, {**net.params, "current_action": act},
                 {**grads, "current_action": d_act}, rng)
    with pytest.raises(ValueError, match="current action"):
        net.forward(*inputs)


def test_td3_policy_loss_gradient_through_the_critic(rng):
    """TD3's actor gradient on the raw outputs u: d(−min Q(h, tanh u)) / d u through the
    critic's d Q / d a and d tanh, against central differences."""
    critic, inputs = small_critic(), critic_inputs(rng)
    raw = rng.normal(size=(5, 2, 2)).astype(np.float32)
    mask = np.ones((5, 2))
    mask[-1, 0] = 0
    _, d_raw = td3.policy_loss(critic, inputs, raw, mask)
    assert np.all(d_raw[-1, 0] == 0)
    robust_check(lambda: td3.policy_loss(critic, inputs, raw, mask)[0], {"raw": raw},
                 {"raw": d_raw}, rng, picks=20)


def test_sac_policy_loss_gradient_through_the_critic(rng):
    """SAC's reparameterised actor loss α log π − min Q at fixed noise: its gradient on (μ,
    log σ) through the critic, the tanh and the sample, against central differences."""
    critic, inputs = small_critic(), critic_inputs(rng)
    raw = np.concatenate([rng.normal(size=(5, 2, 2)), rng.normal(size=(5, 2, 2)) * 0.3], -1)
    raw = raw.astype(np.float32)
    noise, mask = rng.normal(size=(5, 2, 2)), np.ones((5, 2))
    _, d_raw, _ = sac.policy_loss(critic, inputs, raw, noise, mask, 0.5)
    robust_check(lambda: sac.policy_loss(critic, inputs, raw, noise, mask, 0.5)[0],
                 {"raw": raw}, {"raw": d_raw}, rng, picks=20)


# --------------------------------------------------------------------------------------------
# acting and the evaluation loop on a Box
# --------------------------------------------------------------------------------------------
class ConstantPolicy:
    """Always the same continuous action (N, 1)."""

    n_actions = 1

    def __init__(self, value: float) -> None:
        self.value = value

    def reset(self, done=None) -> None:
        pass

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.full((len(obs), 1), self.value, np.float32)


def test_evaluate_steps_continuous_actions_and_refuses_epsilon():
    returns = evaluate(ConstantPolicy(1.5), "Pendulum-V", episodes=3, seed=7, batch=2)
    for i, ret in enumerate(returns):
        env = make_env("Pendulum-V")
        env.reset(seed=7 + i)
        total, done = 0.0, False
        while not done:
            _, r, terminated, truncated, _ = env.step(np.array([1.5], np.float32))
            total, done = total + r, terminated or truncated
        assert ret == pytest.approx(total)
    with pytest.raises(ValueError, match="discrete action space"):
        evaluate(ConstantPolicy(0.0), "Pendulum-V", episodes=1, epsilon=0.1)


@pytest.mark.parametrize("encoder", ["grsn", "gru"])
def test_continuous_policy_steps_like_the_sequence(encoder, rng):
    """Acting step by step (state carried, actions rescaled to the Box and fed back in [-1, 1])
    gives the actor's outputs of the whole sequence at once; a reset forgets the past."""
    net = RecurrentNet(1, 1, 1, 1, ArchConfig(encoder=encoder, hidden=16), seed=0)
    policy = td3.TD3Policy(net, [-2.0], [2.0])
    T = 6
    obs = rng.normal(size=(T, 1, 1)) * 2
    policy.reset(np.ones(1, bool))
    prev_a, prev_r = np.zeros((T, 1, 1)), np.zeros((T, 1))
    acted = []
    for t in range(T):
        action = policy.act(obs[t])
        assert action.shape == (1, 1) and np.all(np.abs(action) <= 2.0)
        acted.append(action[0, 0])
        rew = rng.normal(size=1)
        policy.observe(action, rew)
        if t + 1 < T:
            prev_a[t + 1, 0, 0], prev_r[t + 1] = action[0, 0] / 2.0, rew
    whole, _ = net.forward(prev_a, prev_r, obs)
    np.testing.assert_allclose(acted, 2.0 * np.tanh(whole[:, 0, 0, 0]), rtol=1e-5, atol=1e-6)
    policy.reset(np.ones(1, bool))
    assert policy.act(obs[0])[0, 0] == pytest.approx(acted[0], rel=1e-6)
    unit = np.array([[-1.0], [0.25], [1.0]], np.float32)
    np.testing.assert_allclose(policy.to_unit(policy.to_env(unit)), unit, atol=1e-7)


# --------------------------------------------------------------------------------------------
# runs on Pendulum-V: train, save, load, evaluate, resume
# --------------------------------------------------------------------------------------------
def test_td3_runs_through_the_cli_and_loads_as_a_policy(tmp_path, capsys):
    out = tmp_path / "td3"
    sets = [x for k, v in TINY.items() for x in ("--set", f"{k}={v}")]
    assert cli.main(["train-tap", "--algo", "td3", "--env", "Pendulum-V", "--encoder", "grsn",
                     "--steps", "300", "--out", str(out), "--no-progress", *sets]) == 0
    assert "grsn on Pendulum-V: 300 env steps, 300 updates" in capsys.readouterr().out
    loaded = load_policy(out / td3.ACTOR_FILE)
    assert loaded.kind == "TD3 actor" and loaded.kind in KINDS and loaded.env_id == "Pendulum-V"
    returns = evaluate(loaded.policy, loaded.env_id, episodes=2)
    assert returns.shape == (2,) and np.all((returns < 0) & (returns > -200 * 16.3))
    assert cli.main(["evaluate", str(out / td3.ACTOR_FILE), "--episodes", "2"]) == 0
    assert "TD3 actor" in capsys.readouterr().out


def test_sac_runs_saves_and_loads_as_a_policy(tmp_path):
    cfg = sac.SACConfig(encoder="gru", total_steps=300, **TINY)
    res = sac.train(cfg, tmp_path, progress=False)
    assert res.steps == 300 and res.updates == 300 and [s for s, _ in res.evals] == [100, 200, 300]
    assert res.agent.alpha < 1.0  # α tuned towards the target entropy (−1)
    loaded = load_policy(tmp_path / sac.ACTOR_FILE)
    assert loaded.kind == "SAC actor" and loaded.meta["low"] == [-2.0]
    returns = evaluate(loaded.policy, "Pendulum-V", episodes=2)
    direct = evaluate(res.agent.policy([-2.0], [2.0]), "Pendulum-V", episodes=2)
    np.testing.assert_array_equal(returns, direct)


def test_interrupted_and_resumed_run_ends_like_the_uninterrupted_one(tmp_path):
    """Run A: 400 steps straight. Run B: the same config interrupted (``stop_after``) after its
    first 200-step episode and its updates, then resumed: the same actor, evaluations, replay,
    optimiser and generator state, bit for bit. The config is identical in both (no field is
    allowed to differ but checkpoint_every and blas_threads)."""
    cfg = td3.TD3Config(encoder="gru", total_steps=400, checkpoint_every=100, **TINY)
    straight = td3.train(cfg, tmp_path / "a", progress=False)
    first = td3.train(cfg, tmp_path / "b", progress=False, stop_after=150)
    assert first.interrupted and first.steps == 200 and first.updates == 200
    assert checkpoint.load(tmp_path / "b" / td3.STATE_FILE)[1]["step"] == 200
    resumed = td3.train(cfg, tmp_path / "b", progress=False, resume=True)
    assert resumed.steps == 400 and resumed.updates == straight.updates == 400
    for name in (td3.ACTOR_FILE, td3.STATE_FILE):
        a, meta_a = checkpoint.load(tmp_path / "a" / name)
        b, meta_b = checkpoint.load(tmp_path / "b" / name)
        assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a), name
        for meta in (meta_a, meta_b):
            meta.pop("wall_s", None)  # the seconds it took: measured, not computed
        assert meta_a == meta_b, name
    assert ((tmp_path / "a" / td3.EVALS_FILE).read_text()
            == (tmp_path / "b" / td3.EVALS_FILE).read_text())
    other = td3.TD3Config(encoder="gru", total_steps=400, checkpoint_every=100,
                          **{**TINY, "batch_size": 5})
    with pytest.raises(ValueError, match="batch_size"):
        td3.train(other, tmp_path / "b", progress=False, resume=True)


def test_continuous_algorithms_refuse_discrete_actions():
    with pytest.raises(ValueError, match="Box"):
        sac.train(sac.SACConfig(env_id="CartPole-V", total_steps=10, **TINY), progress=False)
