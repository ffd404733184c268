"""The multi-agent adapter: one interface over mpe2 (PettingZoo) and lbforaging (gymnasium)."""

from __future__ import annotations

import numpy as np
import pytest

from neurorl.rl.marl_envs import VectorMultiAgentEnv, make_marl_env

SPREAD, FORAGING = "mpe2/simple_spread_v3", "lbforaging/Foraging-8x8-2p-2f-coop-v3"


def random_episode(env, seed: int):
    rng = np.random.default_rng(seed)
    step, steps, total = env.reset(seed=seed), 0, 0.0
    while not step.done:
        actions = [rng.choice(np.flatnonzero(a)) for a in step.avail]
        step = env.step(actions)
        steps, total = steps + 1, total + step.reward
        assert step.obs.shape == (env.n_agents, env.obs_dim)
        assert step.state.shape == (env.state_dim,)
    return steps, total, step


def test_spread_team_reward_is_the_sum_of_the_agents_rewards():
    from mpe2 import simple_spread_v3

    env = make_marl_env(SPREAD)
    assert (env.n_agents, env.obs_dim, env.state_dim, env.n_actions) == (3, 18, 54, 5)
    raw = simple_spread_v3.parallel_env(N=3, max_cycles=25, continuous_actions=False)
    raw_obs, _ = raw.reset(seed=4)
    step = env.reset(seed=4)
    np.testing.assert_array_equal(step.obs, np.stack([raw_obs[a] for a in raw.agents]))
    np.testing.assert_array_equal(step.state, step.obs.ravel())
    assert step.avail.tolist() == [[1.0] * 5] * 3
    rng = np.random.default_rng(0)
    for _ in range(25):
        actions = rng.integers(0, 5, 3)
        agents = list(raw.agents)
        _, rewards, _, trunc, _ = raw.step(dict(zip(agents, actions.tolist(), strict=True)))
        step = env.step(actions)
        assert step.reward == pytest.approx(sum(rewards.values()))
    assert step.truncated and not step.terminated and all(trunc.values())


def test_foraging_masks_invalid_moves_and_ends_at_its_limit():
    env = make_marl_env(FORAGING)
    assert (env.n_agents, env.n_actions, env.episode_limit) == (2, 6, 50)
    step = env.reset(seed=0)
    valid = env._env.unwrapped._valid_actions
    for k, player in enumerate(env._env.unwrapped.players):
        assert np.flatnonzero(step.avail[k]).tolist() == sorted(int(m.value) for m in valid[player])
    steps, _, last = random_episode(env, seed=0)
    assert steps == 50 and last.truncated and not last.terminated


def test_vector_env_steps_only_running_copies():
    vec = VectorMultiAgentEnv(SPREAD, 3)
    first = vec.reset(seed=10)
    assert first["obs"].shape == (3, 3, 18) and not first["done"].any()
    single = make_marl_env(SPREAD).reset(seed=11)
    np.testing.assert_array_equal(first["obs"][1], single.obs)
    for _ in range(25):
        out = vec.step(np.zeros((3, 3), int))
    assert out["done"].all()
    again = vec.step(np.zeros((3, 3), int))
    assert (again["reward"] == 0).all() and again["done"].all()


def test_unknown_environment_names_the_accepted_forms():
    with pytest.raises(ValueError, match="give mpe2/<name> or lbforaging/<gymnasium id>"):
        make_marl_env("smac/3m")
    with pytest.raises(ValueError, match="mpe2 has no environment 'simple_nothing_v1'"):
        make_marl_env("mpe2/simple_nothing_v1")
