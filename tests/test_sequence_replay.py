"""neurorl.rl.sequence_replay: masking, episode bounds, prev action/reward, eviction, resume."""

import numpy as np
import pytest

from neurorl import checkpoint as ckpt
from neurorl.rl.sequence_replay import SequenceReplay


def episode(ep_id: int, T: int, action_shape=(), terminal: bool = True):
    """obs = (episode id, step), next_obs = (id, step + 1); action/reward encode id and step."""
    step = np.arange(T)
    obs = np.stack([np.full(T, ep_id), step], axis=1).astype(np.float32)
    next_obs = np.stack([np.full(T, ep_id), step + 1], axis=1).astype(np.float32)
    code = 100 * ep_id + step + 1  # never 0, so zeros mean "no previous step"
    if action_shape:
        actions = np.repeat(code[:, None], action_shape[0], axis=1).astype(np.float32)
    else:
        actions = code.astype(np.int64)
    rewards = code.astype(np.float32)
    terminated = np.zeros(T, np.float32)
    terminated[-1] = float(terminal)
    return obs, actions, rewards, terminated, next_obs


def filled(lengths, capacity=1000, seq_len=5, action_shape=(), **kw):
    rb = SequenceReplay(capacity, (2,), action_shape, seq_len=seq_len, **kw)
    for i, T in enumerate(lengths):
        rb.add_episode(*episode(i + 1, T, action_shape))
    return rb


def check_windows(rb, batch, lengths_by_id, prev_from_episode=False):
    """Every window: one episode, consecutive steps, a valid start, zeros after the mask."""
    L = rb.seq_len
    m = batch["mask"].astype(bool)
    ep = batch["obs"][0, :, 0].astype(int)
    s0 = batch["obs"][0, :, 1].astype(int)
    for b in range(m.shape[1]):
        T = lengths_by_id[ep[b]]
        n = min(L, T - s0[b])
        assert s0[b] < max(1, T - L + 1)  # a valid start
        np.testing.assert_array_equal(m[:, b], np.arange(L) < n)
        np.testing.assert_array_equal(batch["obs"][:n, b, 0], ep[b])
        np.testing.assert_array_equal(batch["obs"][:n, b, 1], s0[b] + np.arange(n))
        np.testing.assert_array_equal(batch["next_obs"][:n, b, 1], s0[b] + 1 + np.arange(n))
        code = 100 * ep[b] + s0[b] + 1 + np.arange(n)
        np.testing.assert_array_equal(batch["reward"][:n, b], code)
        prev = code - 1
        if not (prev_from_episode and s0[b] > 0):
            prev[0] = 0
        np.testing.assert_array_equal(batch["prev_reward"][:n, b], prev)
        act = batch["prev_action"][:n, b]
        np.testing.assert_array_equal(act.reshape(n, -1)[:, 0], prev)
        term = np.zeros(n)
        if s0[b] + n == T:
            term[-1] = 1.0
        np.testing.assert_array_equal(batch["terminated"][:n, b], term)
        for key, value in batch.items():
            assert not value[n:, b].any(), key  # padding holds zeros


def test_short_episode_mask_ones_then_zeros_and_zero_padding():
    rb = filled([3, 2, 4], seq_len=6)
    out = rb.sample(np.random.default_rng(0), 16)
    for key in ("obs", "next_obs", "action", "prev_action"):
        assert out[key].shape[:2] == (6, 16)
    T = {1: 3, 2: 2, 3: 4}
    for b in range(16):
        ep = int(out["obs"][0, b, 0])
        assert out["obs"][0, b, 1] == 0  # an episode shorter than L starts only at its first step
        np.testing.assert_array_equal(out["mask"][:, b], np.arange(6) < T[ep])
    check_windows(rb, out, T)
    assert out["mask"].dtype == np.float32 and set(np.unique(out["mask"])) == {0.0, 1.0}


def test_windows_never_cross_episodes_and_cover_all_valid_starts():
    lengths = [1, 7, 3, 12, 5, 2, 9]
    rb = filled(lengths, seq_len=5)
    assert rb.size == sum(lengths) and rb.episodes == len(lengths) and len(rb) == rb.size
    out = rb.sample(np.random.default_rng(1), 4000)
    T = {i + 1: t for i, t in enumerate(lengths)}
    check_windows(rb, out, T)
    seen = set(zip(out["obs"][0, :, 0].astype(int), out["obs"][0, :, 1].astype(int), strict=True))
    valid = {(e, s) for e, t in T.items() for s in range(max(1, t - 5 + 1))}
    assert seen == valid
    full = out["obs"][0, :, 0].astype(int)
    long_enough = np.array([T[e] >= 5 for e in full])
    assert out["mask"][:, long_enough].all()  # a long episode's window is always full


def test_single_step_episodes():
    rb = filled([1, 1, 1], seq_len=3)
    out = rb.sample(np.random.default_rng(2), 8)
    np.testing.assert_array_equal(out["mask"], np.tile([[1.0], [0.0], [0.0]], (1, 8)))
    check_windows(rb, out, {1: 1, 2: 1, 3: 1})


@pytest.mark.parametrize("via_sample", [False, True])
def test_prev_action_reward_conventions(via_sample):
    lengths = [10, 4, 8]
    T = {i + 1: t for i, t in enumerate(lengths)}
    rb = filled(lengths, seq_len=4)
    rng = np.random.default_rng(3)
    authors = rb.sample(rng, 500)
    check_windows(rb, authors, T, prev_from_episode=False)
    assert not authors["prev_action"][0].any() and not authors["prev_reward"][0].any()
    np.testing.assert_array_equal(authors["prev_action"][1:], authors["action"][:-1])
    if via_sample:
        real = rb.sample(rng, 500, prev_from_episode=True)
    else:
        rb2 = filled(lengths, seq_len=4, prev_from_episode=True)
        real = rb2.sample(rng, 500)
    check_windows(rb, real, T, prev_from_episode=True)
    mid = real["obs"][0, :, 1] > 0
    assert mid.any() and (~mid).any()
    np.testing.assert_array_equal(real["prev_reward"][0, mid], real["reward"][0, mid] - 1)
    assert not real["prev_reward"][0, ~mid].any() and not real["prev_action"][0, ~mid].any()


def test_discrete_and_continuous_actions():
    rb = filled([6, 9], seq_len=4)
    out = rb.sample(np.random.default_rng(4), 7)
    assert out["action"].shape == out["prev_action"].shape == (4, 7)
    assert out["action"].dtype == out["prev_action"].dtype == np.int64
    rbc = filled([6, 9], seq_len=4, action_shape=(3,))
    outc = rbc.sample(np.random.default_rng(4), 7)
    assert outc["action"].shape == outc["prev_action"].shape == (4, 7, 3)
    assert outc["action"].dtype == outc["prev_action"].dtype == np.float32
    check_windows(rbc, outc, {1: 6, 2: 9})
    for o in (out, outc):
        assert o["obs"].shape == o["next_obs"].shape == (4, 7, 2)
        assert o["obs"].dtype == np.float32
        for key in ("reward", "prev_reward", "terminated", "mask"):
            assert o[key].shape == (4, 7) and o[key].dtype == np.float32, key
    assert set(out) == {"obs", "action", "reward", "terminated", "next_obs", "mask",
                        "prev_action", "prev_reward"}
    # a trailing singleton axis on discrete actions / rewards / terminals is accepted
    obs, act, rew, term, nxt = episode(9, 5)
    rb.add_episode(obs, act[:, None], rew[:, None], term[:, None], nxt)
    with pytest.raises(ValueError, match="obs has shape"):
        rb.add_episode(obs[:, :1], act, rew, term, nxt)


def test_ring_evicts_whole_oldest_episodes_and_keeps_bounds():
    rb = SequenceReplay(10, (2,), seq_len=3)
    rb.add_episode(*episode(1, 4))
    rb.add_episode(*episode(2, 4))
    assert (rb.size, rb.episodes) == (8, 2)
    rb.add_episode(*episode(3, 4))  # 12 > 10: episode 1 goes whole, episode 3 wraps the ring
    assert (rb.size, rb.episodes, rb.total_episodes) == (8, 2, 3)
    out = rb.sample(np.random.default_rng(5), 300)
    assert set(out["obs"][0, :, 0].astype(int)) == {2, 3}
    check_windows(rb, out, {2: 4, 3: 4})
    with pytest.raises(ValueError, match="exceeds"):
        rb.add_episode(*episode(4, 11))

    rng = np.random.default_rng(6)
    rb = SequenceReplay(40, (2,), seq_len=6)
    lengths = {}
    for ep_id in range(1, 60):
        lengths[ep_id] = int(rng.integers(1, 15))
        rb.add_episode(*episode(ep_id, lengths[ep_id]))
        stored, total = [], 0
        for e in range(ep_id, 0, -1):  # the newest episodes that fit, whole
            if total + lengths[e] > 40:
                break
            stored.append(e)
            total += lengths[e]
        assert (rb.size, rb.episodes) == (total, len(stored))
        out = rb.sample(rng, 64)
        assert set(out["obs"][0, :, 0].astype(int)) <= set(stored)
        check_windows(rb, out, lengths)


def test_sample_weight_baseline_as_the_authors():
    rng = np.random.default_rng(7)
    for baseline, p_short in [(0.0, 1 / 8), (2.0, 3 / 12)]:
        rb = filled([1, 10], seq_len=4, sample_weight_baseline=baseline)
        ep = rb.sample(rng, 40000)["obs"][0, :, 0]
        assert abs(np.mean(ep == 1) - p_short) < 0.01
    with pytest.raises(ValueError):
        SequenceReplay(10, (2,), sample_weight_baseline=-1.0)


def test_seeded_sampling_is_reproducible():
    rb = filled([5, 8, 3, 11], seq_len=4, action_shape=(2,))
    a = rb.sample(np.random.default_rng(11), 32)
    b = rb.sample(np.random.default_rng(11), 32)
    c = rb.sample(np.random.default_rng(12), 32)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    with pytest.raises(ValueError, match="empty"):
        SequenceReplay(10, (2,)).sample(np.random.default_rng(0), 1)


@pytest.mark.parametrize("action_shape", [(), (3,)])
def test_resume_through_checkpoint_gives_identical_future(tmp_path, action_shape):
    rng = np.random.default_rng(8)
    rb = SequenceReplay(30, (2,), action_shape, seq_len=5, sample_weight_baseline=1.0)
    for ep_id in range(1, 12):  # wraps the ring and evicts
        rb.add_episode(*episode(ep_id, int(rng.integers(1, 12)), action_shape))
    arrays, meta = rb.state_dict()
    path = ckpt.save(tmp_path / "rb.npz", {f"rb/{k}": v for k, v in arrays.items()}, {"rb": meta})
    got, got_meta = ckpt.load(path)
    rb2 = SequenceReplay(30, (2,), action_shape, seq_len=5, sample_weight_baseline=1.0)
    rb2.load_state_dict({k[3:]: v for k, v in got.items()}, got_meta["rb"])
    assert (rb2.size, rb2.episodes, rb2.total_episodes) == (rb.size, rb.episodes, 11)
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    for step in range(6):
        if step % 2:
            new = episode(100 + step, int(r1.integers(1, 12)), action_shape)
            r2.integers(1, 12)
            rb.add_episode(*new)
            rb2.add_episode(*new)
        a, b = rb.sample(r1, 16), rb2.sample(r2, 16)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
            assert a[key].dtype == b[key].dtype
    arrays_a, meta_a = rb.state_dict()
    arrays_b, meta_b = rb2.state_dict()
    assert meta_a == meta_b
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key])
    other = SequenceReplay(30, (2,), action_shape, seq_len=6, sample_weight_baseline=1.0)
    with pytest.raises(ValueError, match="seq_len"):
        other.load_state_dict(arrays_a, meta_a)
