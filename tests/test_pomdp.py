"""neurorl.rl.pomdp and popgym through make_env: kept dims, step caps, spaces, missing packages."""

import importlib.util
import sys

import gymnasium as gym
import numpy as np
import pytest

from neurorl.rl import envs, pomdp

CLASSIC = [
    ("CartPole-P", "CartPole-v1", [0, 2]),
    ("CartPole-V", "CartPole-v1", [1, 3]),
    ("Pendulum-P", "Pendulum-v1", [0, 1]),
    ("Pendulum-V", "Pendulum-v1", [2]),
]


def _action(base, full_obs, rng):
    """CartPole: a balancing controller on the full state (so episodes reach the cap);
    Pendulum: a random torque."""
    if base.startswith("CartPole"):
        x, xd, th, thd = full_obs
        return int(th + 0.5 * thd + 0.05 * x + 0.1 * xd > 0)
    return rng.uniform(-2.0, 2.0, size=(1,)).astype(np.float32)


def _lockstep(name, base, dims, seed):
    """Step ``name`` and the full ``base`` task together; check obs, rewards and flags agree."""
    part, full = gym.make(name), gym.make(base)
    po, _ = part.reset(seed=seed)
    fo, _ = full.reset(seed=seed)
    rng = np.random.default_rng(seed)
    steps = 0
    while True:
        assert po.dtype == np.float32 and part.observation_space.contains(po)
        np.testing.assert_array_equal(po, fo[dims])
        a = _action(base, fo, rng)
        po, pr, pte, ptr, _ = part.step(a)
        fo, fr, fte, ftr, _ = full.step(a)
        steps += 1
        assert pr == fr and pte == fte
        if pte or ptr:
            break
        assert not ftr
    np.testing.assert_array_equal(po, fo[dims])
    return steps, pte, ptr


@pytest.mark.parametrize("name,base,dims", CLASSIC)
def test_classic_pomdp_matches_full_task_and_truncates_at_200(name, base, dims):
    steps, term, trunc = _lockstep(name, base, dims, seed=7)
    assert (steps, term, trunc) == (200, False, True)


@pytest.mark.parametrize("name,base,dims", CLASSIC)
def test_classic_pomdp_spaces(name, base, dims):
    env, full = envs.make_env(name), gym.make(base)
    space, fspace = env.observation_space, full.observation_space
    assert isinstance(space, gym.spaces.Box) and space.dtype == np.float32
    assert space.shape == (len(dims),)
    np.testing.assert_array_equal(space.low, fspace.low[dims])
    np.testing.assert_array_equal(space.high, fspace.high[dims])
    assert env.action_space == full.action_space
    assert env.spec.max_episode_steps == 200 and env.spec.id == name
    if base.startswith("CartPole"):  # env_info is for Discrete actions
        assert envs.env_info(name) == {"obs_shape": (len(dims),), "obs_dtype": "float32",
                                       "n_actions": 2}


def test_authors_ids_and_idempotent_registration():
    pomdp.register_envs()
    pomdp.register_envs()
    assert envs.make_env("CartPole-P-v0").spec.id == "CartPole-P"
    assert envs.make_env("Pendulum-V-v0").observation_space.shape == (1,)
    assert set(pomdp.AUTHOR_IDS) == {f"{n}-v0" for n in pomdp.POMDP_ENVS}


def test_cap_replaces_the_base_time_limit():
    env = gym.make("Pendulum-P", max_episode_steps=230)  # Pendulum-v1's own limit is 200
    env.reset(seed=0)
    flags = [env.step(np.zeros(1, np.float32))[3] for _ in range(230)]
    assert flags == [False] * 229 + [True]


@pytest.mark.parametrize("name,dims", [("LunarLander-P", [0, 1, 4, 6, 7]),
                                       ("LunarLander-V", [2, 3, 5, 6, 7])])
def test_lunar_lander_pomdp_or_clear_error(name, dims):
    if importlib.util.find_spec("Box2D") is not None:
        assert gym.make(name).spec.max_episode_steps == 1000
        part, full = gym.make(name), gym.make("LunarLander-v3")
        po, _ = part.reset(seed=3)
        fo, _ = full.reset(seed=3)
        assert part.observation_space.shape == (5,) and po.dtype == np.float32
        np.testing.assert_array_equal(part.observation_space.low, full.observation_space.low[dims])
        for t in range(60):
            np.testing.assert_array_equal(po, fo[dims])
            po, pr, pte, _, _ = part.step(t % 4)
            fo, fr, fte, _, _ = full.step(t % 4)
            assert pr == fr and pte == fte
            if pte:
                break
    else:
        hint = r'pip install "gymnasium\[box2d\]"'
        for make in (gym.make, envs.make_env):
            with pytest.raises(envs.OptionalDependencyError, match=hint):
                make(name)


def test_lunar_lander_message_when_box2d_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "Box2D", None)
    with pytest.raises(envs.OptionalDependencyError, match=r"LunarLander-P.*gymnasium\[box2d\]"):
        envs.make_env("LunarLander-P-v0")


POPGYM = [
    ("popgym-RepeatPreviousEasy-v0", 4, 4),  # Discrete(4) obs → one-hot
    ("popgym-PositionOnlyCartPoleEasy-v0", 2, 2),  # Box(2) obs
    ("popgym-VelocityOnlyCartpoleEasy-v0", 2, 2),
    ("popgym-CountRecallEasy-v0", 4, 27),  # MultiDiscrete([2, 2]) obs → two one-hots
]


@pytest.mark.parametrize("name,obs_dim,n_actions", POPGYM)
def test_popgym_flat_float32_box(name, obs_dim, n_actions):
    if importlib.util.find_spec("popgym") is None:
        with pytest.raises(envs.OptionalDependencyError, match="pip install popgym"):
            envs.make_env(name)
        return
    env = envs.make_env(name)
    space = env.observation_space
    assert isinstance(space, gym.spaces.Box) and space.dtype == np.float32
    assert space.shape == (obs_dim,)
    assert isinstance(env.action_space, gym.spaces.Discrete) and env.action_space.n == n_actions
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(5):
        assert obs.dtype == np.float32 and obs.shape == (obs_dim,) and space.contains(obs)
        obs, reward, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            obs, _ = env.reset()
    assert envs.env_info(name) == {"obs_shape": (obs_dim,), "obs_dtype": "float32",
                                   "n_actions": n_actions}


def test_popgym_one_hot_and_multidiscrete_actions_refused():
    pytest.importorskip("popgym")
    obs, _ = envs.make_env("popgym-RepeatPreviousEasy-v0").reset(seed=1)
    assert sorted(obs.tolist()) == [0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match=r"MultiDiscrete.*action space"):
        envs.make_env("popgym-BattleshipEasy-v0")


def test_popgym_missing_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "popgym", None)
    with pytest.raises(envs.OptionalDependencyError, match=r"popgym.*pip install popgym"):
        envs.make_env("popgym-RepeatPreviousEasy-v0")
