"""Recurrent SAC-discrete: loss gradients against finite differences, the actor-critic network's
BPTT, the policy's carried state, and a run that learns CartPole-V."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

from neurorl.algos import sacd
from neurorl.rl.recurrent_ac import ArchConfig, RecurrentNet, network_inputs, to_network


def test_critic_and_actor_loss_gradients(rng):
    T, B, A = 4, 3, 3
    q = rng.normal(size=(T, B, 2, A))
    action = rng.integers(0, A, (T, B))
    y = rng.normal(size=(T, B))
    mask = (rng.random((T, B)) > 0.3).astype(float)
    _, d_q = sacd.critic_loss(q, action, y, mask)
    np.testing.assert_allclose(d_q, numeric_grad(lambda: sacd.critic_loss(q, action, y, mask)[0],
                                                 q), atol=1e-7)
    logits = rng.normal(size=(T, B, A))
    _, d_logits, entropy = sacd.actor_loss(logits, q, mask, 0.3)
    np.testing.assert_allclose(
        d_logits, numeric_grad(lambda: sacd.actor_loss(logits, q, mask, 0.3)[0], logits),
        atol=1e-7)
    pi = np.exp(sacd.log_softmax(logits))
    assert entropy == pytest.approx(float((-(pi * np.log(pi)).sum(-1) * mask).sum() / mask.sum()))


def test_critic_targets_are_the_soft_bellman_backup():
    q_next = np.array([[[[1.0, 3.0], [2.0, 0.5]]]])  # (1, 1, 2 critics, 2 actions)
    logits = np.log(np.array([[[0.25, 0.75]]]))
    y = sacd.critic_targets(q_next, logits, np.array([[1.0]]), np.array([[0.0]]), 0.9, 0.1)
    soft_v = 0.25 * (1.0 - 0.1 * np.log(0.25)) + 0.75 * (0.5 - 0.1 * np.log(0.75))
    assert y[0, 0] == pytest.approx(1.0 + 0.9 * soft_v)
    done = sacd.critic_targets(q_next, logits, np.array([[1.0]]), np.array([[1.0]]), 0.9, 0.1)
    assert done[0, 0] == 1.0


@pytest.mark.parametrize("encoder", ["mlp", "gru", "lstm"])
def test_recurrent_net_backward_matches_finite_differences(encoder, rng):
    """The whole network's BPTT (embedders, encoder, shortcut, two heads) against central
    differences, coordinate by coordinate. The layers are float32 ReLU networks, so a difference
    can straddle a kink: nine of ten sampled coordinates must agree to 2 %, and one of every
    parameter."""
    net = RecurrentNet(3, 2, 2, 2, ArchConfig(encoder=encoder, hidden=8, head_hidden=(6,)), seed=1)
    T, B = 5, 2
    a, r = np.eye(2)[rng.integers(0, 2, (T, B))], rng.normal(size=(T, B))
    o = rng.normal(size=(T, B, 3))
    w = rng.normal(size=(T, B, 2, 2))
    out, cache = net.forward(a, r, o)
    grads = net.backward(cache, w.astype(np.float32))

    def loss() -> float:
        return float((net.forward(a, r, o, keep_cache=False)[0].astype(np.float64) * w).sum())

    agree, total = 0, 0
    for key, value in net.params.items():
        hits = 0
        picks = rng.choice(value.size, size=min(5, value.size), replace=False)
        for flat in picks:
            idx = np.unravel_index(flat, value.shape)
            old = value[idx]
            value[idx] = old + 1e-3
            up = loss()
            value[idx] = old - 1e-3
            down = loss()
            value[idx] = old
            numeric, analytic = (up - down) / 2e-3, float(grads[key][idx])
            hits += abs(numeric - analytic) <= 0.02 * abs(analytic) + 2e-3
        assert hits > 0, f"{key}: no coordinate agrees with finite differences"
        agree, total = agree + hits, total + len(picks)
    assert agree >= 0.9 * total, f"{agree} of {total} coordinates agree"


@pytest.mark.parametrize("encoder", ["grsn", "gru"])
def test_policy_state_carries_and_a_step_equals_the_sequence(encoder, rng):
    """Acting step by step with the carried state gives the logits of the whole sequence run at
    once, and a reset makes the next step independent of the past."""
    net = RecurrentNet(2, 2, 1, 2, ArchConfig(encoder=encoder, hidden=16), seed=0)
    T = 7
    obs = rng.normal(size=(T, 1, 2)) * 2
    policy = sacd.SACDPolicy(net)
    policy.reset(np.ones(1, bool))
    prev_a, prev_r = np.zeros((T, 1, 2)), np.zeros((T, 1))
    stepped = []
    for t in range(T):
        stepped.append(policy.logits(obs[t], policy.state)[0])
        action = policy.act(obs[t])
        rew = rng.normal(size=1)
        policy.observe(action, rew)
        if t + 1 < T:
            prev_a[t + 1, 0, action[0]] = 1.0
            prev_r[t + 1] = rew
    whole, _ = net.forward(prev_a, prev_r, obs)
    np.testing.assert_allclose(np.stack(stepped)[:, 0], whole[:, 0, 0], rtol=1e-5, atol=1e-6)
    policy.reset(np.ones(1, bool))
    fresh = policy.logits(obs[0], policy.state)[0]
    np.testing.assert_allclose(fresh, stepped[0], rtol=1e-6)


@pytest.mark.parametrize("encoder", ["grsn", "grsn_input_gated", "lif"])
def test_brian2_closed_loop_takes_the_kernels_actions(encoder, rng):
    """The actor as a Brian2 network (one step per env step, state carried, reset per episode)
    plays whole episodes taking the numpy actor's greedy action at every step."""
    from neurorl.rl.envs import make_env

    net = RecurrentNet(2, 2, 1, 2, ArchConfig(encoder=encoder, hidden=24), seed=3)
    for key, value in net.params.items():  # a livelier encoder than the initial one
        if key.startswith("encoder.") and key.endswith(".w"):
            value *= 4.0
    policy = sacd.SACDPolicy(net)
    episodes = sacd.play_brian2(policy, "CartPole-V", episodes=2, seed=50, max_steps=60)
    for i, ep in enumerate(episodes):
        env = make_env("CartPole-V")
        obs, _ = env.reset(seed=50 + i)
        policy.reset(np.ones(1, bool))
        actions = []
        for _ in range(ep.length):
            a = int(policy.act(obs[None])[0])
            obs, r, *_ = env.step(a)
            policy.observe(np.array([a]), np.array([r]))
            actions.append(a)
        assert ep.actions == actions and ep.length >= 9
        # and the float64 kernel of the same Brian2 network, one step at a time, state carried
        kernel = to_network(net).kernel(dtype=np.float64)
        state, prev_a, prev_r = None, np.zeros((1, 2)), np.zeros(1)
        for t, obs_t in enumerate(ep.observations):
            x = network_inputs(prev_a, prev_r, obs_t[None])[None]
            y, cache = kernel.forward(x, state=state, t0=t * 1e-3, for_backward=False)
            state = cache.final_state()
            assert int(np.argmax(y[0, 0])) == ep.actions[t]
            prev_a, prev_r = np.eye(2)[[ep.actions[t]]], np.array([1.0])
