"""Sequences computed in row blocks side by side (neurorl.ann.shards): the outputs equal the
unsplit pass, gradients equal it to float32 rounding and repeat exactly, errors reach the
caller, and configs refuse shards with multi-threaded BLAS."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from neurorl.algos.marl import MARLConfig
from neurorl.algos.sacd import SACDAgent, SACDConfig
from neurorl.algos.td3 import TD3Config
from neurorl.ann import shards
from neurorl.rl.marl_agent import AgentNet
from neurorl.rl.recurrent_ac import ArchConfig, RecurrentNet
from neurorl.rl.sequence_replay import SequenceReplay

T, B = 17, 32  # 544 rows: two blocks of MIN_ROWS or more
SMALL = dict(hidden=16, head_hidden=(16, 16))
SMALL_CFG = dict(hidden=16)


def test_blocks_split_evenly_and_only_when_each_block_has_enough_rows():
    assert shards.blocks(32, 2, 65) == (slice(0, 16), slice(16, 32))
    assert shards.blocks(10, 3, 1000) == (slice(0, 3), slice(3, 7), slice(7, 10))
    assert shards.blocks(32, 1, 65) == (slice(0, 32),)
    assert shards.blocks(1, 2, 1000) == (slice(0, 1),)  # one environment acting: no split
    assert shards.blocks(32, 2, 1) == (slice(0, 32),)  # 32 rows: not worth a thread
    assert shards.blocks(32, 4, 17) == (slice(0, 16), slice(16, 32))  # 544 rows: two blocks
    with pytest.raises(ValueError, match="shards must be ≥ 1, got 0"):
        shards.blocks(32, 0)


def test_run_returns_in_job_order_on_several_threads_and_raises_a_blocks_error():
    names = shards.run(lambda i: (i, threading.current_thread().name), [(0,), (1,), (2,)])
    assert [i for i, _ in names] == [0, 1, 2]
    assert names[0][1] == threading.current_thread().name
    assert all(n.startswith("neurorl-shard") for _, n in names[1:])

    def fail_on_two(i):
        if i == 2:
            raise RuntimeError("block 2 failed")
        return i

    with pytest.raises(RuntimeError, match="block 2 failed"):
        shards.run(fail_on_two, [(0,), (1,), (2,)])


def _inputs(rng, act_dim=2, current=0):
    a = np.eye(act_dim, dtype=np.float32)[rng.integers(0, act_dim, (T, B))]
    r = rng.normal(size=(T, B)).astype(np.float32)
    o = rng.normal(size=(T, B, 3)).astype(np.float32)
    c = rng.uniform(-1, 1, (T, B, current)).astype(np.float32) if current else None
    return a, r, o, c


@pytest.mark.parametrize("encoder", ["grsn", "grsn_input_gated", "gru", "lstm", "mlp"])
def test_split_pass_equals_the_whole_batch(encoder, rng):
    arch = ArchConfig(encoder=encoder, **SMALL)
    whole = RecurrentNet(3, 2, 2, 2, arch, seed=4)
    split = RecurrentNet(3, 2, 2, 2, arch, seed=4, shards=2)
    a, r, o, _ = _inputs(rng)
    out1, cache1 = whole.forward(a, r, o)
    out2, cache2 = split.forward(a, r, o)
    assert isinstance(cache2, shards.Split) and len(cache2.blocks) == 2
    np.testing.assert_array_equal(out1, out2)  # every row computed by the same arithmetic
    for k, v in whole.final_state(cache1).items():
        np.testing.assert_array_equal(v, split.final_state(cache2)[k])
    d = rng.normal(size=out1.shape).astype(np.float32)
    g1, g2 = whole.backward(cache1, d), split.backward(cache2, d)
    assert g1.keys() == g2.keys()
    for k in g1:  # summed block by block: float32 rounding apart
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-4, atol=1e-5 * np.abs(g1[k]).max())
    again = split.backward(split.forward(a, r, o)[1], d)
    for k in g2:  # the same blocks give the same numbers every time
        np.testing.assert_array_equal(again[k], g2[k])


def test_split_critic_of_continuous_actions_gives_the_same_action_gradient(rng):
    arch = ArchConfig(encoder="gru", **SMALL)
    whole = RecurrentNet(3, 1, 2, 1, arch, seed=2, current_action_dim=1)
    split = RecurrentNet(3, 1, 2, 1, arch, seed=2, current_action_dim=1, shards=2)
    a, r, o, c = _inputs(rng, act_dim=1, current=1)
    (q1, cache1), (q2, cache2) = (n.forward(a, r, o, current_action=c) for n in (whole, split))
    np.testing.assert_array_equal(q1, q2)
    d = rng.normal(size=q1.shape).astype(np.float32)
    np.testing.assert_array_equal(whole.action_grad(cache1, d), split.action_grad(cache2, d))
    _, d_a = split.backward(cache2, d, want_action_grad=True)
    np.testing.assert_array_equal(d_a, whole.backward(cache1, d, want_action_grad=True)[1])


def test_split_pass_from_a_given_state_splits_the_state_too(rng):
    arch = ArchConfig(encoder="grsn", **SMALL)
    whole = RecurrentNet(3, 2, 1, 2, arch, seed=1)
    split = RecurrentNet(3, 2, 1, 2, arch, seed=1, shards=2)
    a, r, o, _ = _inputs(rng)
    state = whole.final_state(whole.forward(a, r, o)[1])  # a non-zero state, (B, hidden) each
    np.testing.assert_array_equal(whole.forward(a, r, o, state)[0],
                                  split.forward(a, r, o, state)[0])


def _replay(rng):
    rb = SequenceReplay(2_000, (2,), (), 16)
    for _ in range(6):
        obs = rng.normal(size=(101, 2)).astype(np.float32)
        rb.add_episode(obs[:-1], rng.integers(0, 2, 100), rng.normal(size=100).astype(np.float32),
                       np.zeros(100, np.float32), obs[1:])
    return rb


def test_sacd_updates_with_shards_repeat_exactly_and_follow_the_unsplit_update():
    def run(shards_):
        cfg = SACDConfig(encoder="grsn_input_gated", shards=shards_, seq_len=16, **SMALL_CFG)
        agent = SACDAgent(2, 2, cfg)
        rng = np.random.default_rng(0)
        rb = _replay(rng)
        for _ in range(3):
            agent.update(rb.sample(rng, 32))
        return agent.actor.params

    once, twice, unsplit = run(2), run(2), run(1)
    for k in once:
        np.testing.assert_array_equal(once[k], twice[k])
        np.testing.assert_allclose(once[k], unsplit[k], atol=1e-4)
    assert any(not np.array_equal(once[k], unsplit[k]) for k in once)  # block sums: rounding



@pytest.mark.parametrize("config", [SACDConfig, TD3Config])
def test_configs_refuse_shards_with_multithreaded_blas(config):
    with pytest.raises(ValueError, match="shards=2 runs one BLAS thread per shard; set "
                                         "blas_threads=1 \\(got 2\\)"):
        config(shards=2, blas_threads=2)
    with pytest.raises(ValueError, match="shards must be ≥ 1, got 0"):
        config(shards=0)
    assert config(shards=2).shards == 2


@pytest.mark.parametrize("encoder", ["grsn", "gru"])
def test_split_multi_agent_network_equals_the_whole_batch(encoder, rng):
    whole = AgentNet(4, 3, 5, encoder, embed=16, hidden=16, seed=2)
    split = AgentNet(4, 3, 5, encoder, embed=16, hidden=16, seed=2, shards=2)
    x = rng.normal(size=(T, 96, whole.in_dim)).astype(np.float32)  # 32 episodes x 3 agents
    (q1, cache1), (q2, cache2) = whole.forward(x), split.forward(x)
    assert isinstance(cache2, shards.Split)
    np.testing.assert_array_equal(q1, q2)
    d = rng.normal(size=q1.shape).astype(np.float32)
    g1, g2 = whole.backward(cache1, d), split.backward(cache2, d)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-4, atol=1e-5 * np.abs(g1[k]).max())
    with pytest.raises(ValueError, match="shards=3 runs one BLAS thread per shard"):
        MARLConfig(shards=3, blas_threads=2)


def test_blocks_compile_the_kernels_loops_once_from_a_cold_cache(tmp_path, monkeypatch, rng):
    """Both threads meet a layer's compiled loop first at the same moment (a new cache folder):
    one writes and loads it, the other waits, and the split pass equals the whole one."""
    pytest.importorskip("numba")
    monkeypatch.setenv("NEURORL_LOOPS", "compiled")
    monkeypatch.setenv("NEURORL_CACHE_DIR", str(tmp_path))
    from neurorl.kernel import compiled

    compiled._load.cache_clear()  # loops loaded by earlier tests would not touch the new folder
    arch = ArchConfig(encoder="grsn_input_gated", hidden=10, head_hidden=(8,))
    split = RecurrentNet(3, 2, 1, 2, arch, seed=8, shards=2)
    a, r, o, _ = _inputs(rng)
    out_split, _ = split.forward(a, r, o)
    assert len(list((tmp_path / "kernel").glob("loops_*.py"))) == 1
    whole = RecurrentNet(3, 2, 1, 2, arch, seed=8)
    np.testing.assert_array_equal(whole.forward(a, r, o)[0], out_split)
