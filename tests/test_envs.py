"""neurorl.rl.envs: the factory's families, missing-package messages, the seeded vector env."""

import sys

import numpy as np
import pytest

from neurorl.rl import envs


@pytest.mark.parametrize("name,shape,n", [("CartPole-v1", (4,), 2), ("Acrobot-v1", (6,), 3),
                                          ("MountainCar-v0", (2,), 3)])
def test_classic_control(name, shape, n):
    info = envs.env_info(name)
    assert info["obs_shape"] == shape and info["n_actions"] == n


def test_minatar_channels_first_float32_and_seeded():
    pytest.importorskip("minatar")
    env = envs.make_env("MinAtar/Breakout")
    obs, _ = env.reset(seed=3)
    assert obs.shape == (4, 10, 10) and obs.dtype == np.float32
    assert set(np.unique(obs)) <= {0.0, 1.0} and obs.sum() > 0
    assert env.observation_space.contains(obs)
    assert env.action_space.n == 3  # minimal action set: no-op, left, right

    def rollout(seed):
        e = envs.make_env("MinAtar/Breakout-v1")
        frames = [e.reset(seed=seed)[0]]
        for t in range(60):
            o, r, term, trunc, _ = e.step(t % 3)
            frames.append(o)
            if term:
                break
        return np.stack(frames)

    np.testing.assert_array_equal(rollout(5), rollout(5))
    assert envs.make_env("MinAtar/SpaceInvaders").observation_space.shape[1:] == (10, 10)


def test_minatar_truncation_option():
    pytest.importorskip("minatar")
    env = envs.make_env("MinAtar/Freeway", max_episode_steps=5)
    env.reset(seed=0)
    flags = [env.step(0)[3] for _ in range(5)]
    assert flags == [False] * 4 + [True]


def test_atari_dqn_preprocessing():
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")
    env = envs.make_env("ALE/Pong-v5")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    obs, *_ = env.step(0)
    assert obs.shape == (4, 84, 84)
    env.close()


def test_missing_optional_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "minatar", None)  # makes `import minatar` fail
    hint = r"minatar.*pip install 'neurorl\[envs\]'"
    with pytest.raises(envs.OptionalDependencyError, match=hint):
        envs.make_env("MinAtar/Breakout")
    monkeypatch.setitem(sys.modules, "ale_py", None)
    with pytest.raises(envs.OptionalDependencyError, match=r"ale_py.*neurorl\[envs\]"):
        envs.make_env("ALE/Pong-v5")


def test_box2d_message_when_missing():
    try:
        import Box2D  # noqa: F401

        pytest.skip("box2d is installed")
    except ImportError:
        pass
    with pytest.raises(envs.OptionalDependencyError, match=r"gymnasium\[box2d\]"):
        envs.make_env("LunarLander-v3")


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown environment 'NoSuchEnv-v0'"):
        envs.make_env("NoSuchEnv-v0")
    with pytest.raises(ValueError, match="unknown MinAtar game"):
        envs.make_env("MinAtar/Pacman")


def test_vector_env_autoreset_final_obs_and_truncation():
    venv = envs.make_vector_env("CartPole-v1", 3, seed=0, max_episode_steps=7)
    obs = venv.reset()
    assert obs.shape == (3, 4)
    for t in range(7):
        nxt, rew, term, trunc, final = venv.step(np.zeros(3, int))
        if t < 6:
            np.testing.assert_array_equal(nxt[~term], final[~term])
    # pushing left 7 times does not topple a pole, so every copy was truncated, not terminated
    assert trunc.all() and not term.any()
    assert not np.array_equal(nxt, final)  # nxt is the reset observation, final the real last one
    assert len(venv.finished) == 3 and all(length == 7 for _, _, length in venv.finished)


def test_vector_env_is_reproducible_and_resumable():
    def make():
        return envs.make_vector_env("CartPole-v1", 2, seed=42)

    actions = np.random.default_rng(0).integers(0, 2, size=(300, 2))
    a, b = make(), make()
    a.reset()
    b.reset()
    for t in range(120):
        a.step(actions[t])
    arrays, meta = a.state_dict()
    n_before = len(a.finished)
    c = make()
    c.load_state_dict(arrays, meta)  # replays each copy's episode from its seed
    for t in range(120, 300):
        oa = a.step(actions[t])
        oc = c.step(actions[t])
        for x, y in zip(oa, oc, strict=True):
            np.testing.assert_array_equal(x, y)
    assert c.finished and a.finished[n_before:] == c.finished
    for t in range(300):  # b, never saved, followed the same path
        b.step(actions[t])
    np.testing.assert_array_equal(b.obs, a.obs)
