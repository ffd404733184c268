"""The policy protocol: a recurrent policy carries its state within an episode, and the one
evaluation loop clears it at every episode start, per environment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from neurorl.rl.evaluate import collect_states, evaluate
from neurorl.rl.policy import Policy, StatefulPolicy

ENV = "neurorl-test/Count-v0"


class CountEnv(gym.Env):
    """Reward 1 when the action equals the step number within the episode modulo 2.

    The observation carries no information, so only a policy that counts its own steps since the
    episode began scores every step. Episode length 3 + (reset seed mod 4), so environments side
    by side end at different steps.
    """

    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, 3 + (0 if seed is None else seed % 4)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        reward = float(int(action) == self.t % 2)
        self.t += 1
        return np.zeros(1, np.float32), reward, self.t >= self.length, False, {}


if ENV not in gym.registry:
    gym.register(ENV, entry_point=CountEnv)


class Counter(StatefulPolicy):
    """Acts with (steps since its last reset) mod 2: the state is the count."""

    n_actions = 2

    def initial_state(self, n):
        return {"t": np.zeros(n, np.int64)}

    def step(self, obs, state):
        return state["t"] % 2, {"t": state["t"] + 1}


class NeverReset(Counter):
    def reset(self, done=None):
        if self.state is None or self.batch_size != len(done):
            super().reset(done)


class Forgetful(Counter):
    def step(self, obs, state):
        return state["t"] % 2, state


def lengths(episodes, seed):
    return np.array([3 + (seed + i) % 4 for i in range(episodes)], float)


@pytest.mark.parametrize("batch", [1, 3, 16])
def test_state_carries_within_an_episode_and_is_cleared_between(batch):
    assert isinstance(Counter(), Policy)
    returns = evaluate(Counter(), ENV, episodes=10, seed=5, batch=batch)
    np.testing.assert_array_equal(returns, lengths(10, 5))  # every step right
    # not clearing the state when an environment starts its next episode loses reward ...
    stale = evaluate(NeverReset(), ENV, episodes=10, seed=5, batch=batch)
    if batch < 10:
        assert stale.sum() < returns.sum()
    # ... and not carrying it within an episode scores only every other step
    forgetful = evaluate(Forgetful(), ENV, episodes=10, seed=5, batch=batch)
    np.testing.assert_array_equal(forgetful, np.ceil(lengths(10, 5) / 2))


def test_reset_clears_only_the_masked_environments():
    p = Counter()
    p.reset(np.ones(3, bool))
    for _ in range(2):
        p.act(np.zeros((3, 1)))
    p.reset(np.array([False, True, False]))
    np.testing.assert_array_equal(p.state["t"], [2, 0, 2])
    p.reset(np.ones(2, bool))  # a new batch size starts afresh
    np.testing.assert_array_equal(p.state["t"], [0, 0])
    with pytest.raises(ValueError, match="reset"):
        p.act(np.zeros((3, 1)))


def test_collect_states_resets_the_policy_at_every_episode():
    calls = []

    class Spy(Counter):
        def reset(self, done=None):
            calls.append(len(done))
            super().reset(done)

    states = collect_states(Spy(), ENV, n=20, seed=0)
    assert states.shape == (20, 1)
    # episodes of lengths 3, 4, 5, 6, 3: 20 states span 5 episodes, each begun with a reset
    assert calls == [1] * 5
