"""neurorl.ann.dueling: Q = V + A - mean A, its gradients, training, checkpoints and conversion."""

import numpy as np
import pytest

from neurorl.algos import convert as C
from neurorl.algos import dqn
from neurorl.ann import nn
from neurorl.ann.dueling import Dueling, dueling_mlp
from neurorl.ann.qnetwork import QNetwork, build_q_network, load_teacher


def float64_params(net, seed):
    rng = np.random.default_rng(seed)
    params = {k: v.astype(np.float64) for k, v in net.init(rng).items()}
    for k, v in params.items():
        if k.endswith(".b"):  # keep ReLUs away from their kink
            v += 0.1
    return params


def test_q_is_value_plus_centred_advantage_and_greedy_is_argmax_a():
    net = dueling_mlp(3, (8, 5), 4)
    params = net.init(np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(9, 3)).astype(np.float32)
    v = net.value(Dueling.stream_params(params, "value"), x)
    a = net.advantages(params, x)
    assert v.shape == (9, 1) and a.shape == (9, 4)
    np.testing.assert_allclose(net(params, x), v + a - a.mean(1, keepdims=True), rtol=1e-6)
    q, cache = net.forward(params, x, preactivations=True)
    np.testing.assert_array_equal(q, net(params, x))
    np.testing.assert_array_equal(cache["pre"][-1], a)  # the advantage stream's layers
    teacher = QNetwork(net, params)
    np.testing.assert_array_equal(teacher.act(x), a.argmax(1))
    assert teacher.greedy_network().net is net.advantage
    with pytest.raises(TypeError, match="greedy_network"):
        _ = teacher.layers


def test_dueling_gradients_match_finite_differences():
    net = dueling_mlp(3, (6,), 3)
    params = float64_params(net, 2)
    x = np.random.default_rng(3).normal(size=(5, 3))
    w = np.random.default_rng(4).normal(size=(5, 3))

    def loss():
        return float((net.forward(params, x)[0].astype(np.float64) * w).sum())

    q, cache = net.forward(params, x)
    _, grads = net.backward(params, cache, w)
    for name, p in params.items():
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + 1e-6
            lp = loss()
            p[idx] = old - 1e-6
            lm = loss()
            p[idx] = old
            num[idx] = (lp - lm) / 2e-6
        np.testing.assert_allclose(grads[name], num, rtol=1e-4, atol=1e-6, err_msg=name)
    # gradients land in place in a caller's buffers, keyed like the parameters
    flat, views = dqn.flat_parameters(net.param_shapes())
    net.backward(params, cache, w, out=views)
    for name in params:
        np.testing.assert_allclose(views[name], grads[name], rtol=1e-6, err_msg=name)


def test_dueling_teacher_trains_round_trips_and_converts(tmp_path):
    cfg = dqn.DQNConfig(total_steps=400, learning_starts=100, train_freq=10, gradient_steps=4,
                        hidden=(16,), dueling=True)
    res = dqn.train(cfg, tmp_path, progress=False)
    q = load_teacher(tmp_path / dqn.TEACHER_FILE)
    assert isinstance(q.net, Dueling)
    obs = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    np.testing.assert_array_equal(q.q_values(obs), res.q.q_values(obs))
    # conversion goes through the advantage stream; normalisation keeps the teacher's argmax
    snn = C.convert(q, obs, percentile=100.0)
    assert [la.size for la in snn.net.neuron_layers] == [16, 2]
    ann = C.normalised_ann(snn, obs)
    np.testing.assert_allclose(ann * snn.scales[-1], q.net.advantages(q.params, obs), atol=1e-4)
    np.testing.assert_array_equal(ann.argmax(1), q.act(obs))


def test_dueling_is_refused_for_conv_networks():
    cfg = dqn.DQNConfig(env_id="MinAtar/Breakout-v1", dueling=True)
    with pytest.raises(ValueError, match="MLP"):
        build_q_network((4, 10, 10), "bool", 3, cfg.net, cfg.hidden, cfg.dueling)
    with pytest.raises(ValueError, match="one output"):
        Dueling(nn.mlp(3, (4,), 2), nn.mlp(3, (4,), 2))
