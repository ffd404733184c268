"""The compiled time loops (numba, neurorl.kernel.compiled) equal the Python reference loops:
identical spikes, states within 1e-12 and the same gradients (float64), for every model, both
schedules, recurrence and GRSN's gates; and they equal Brian2 directly. The rest of the suite runs
the reference loops (NEURORL_LOOPS=python, set in conftest) so that it does not compile a loop per
test network; these tests ask for each path by name."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import grsn_stack, single_layer_net
from test_aligned_schedule import CHAIN_MODELS, chain
from test_kernel_brian2 import assert_same_as_brian2, assert_state_carries

from neurorl import Network, models
from neurorl.kernel import compiled
from neurorl.network import NetworkError

T, B = 40, 3


def compare_paths(net: Network, inputs: np.ndarray, dtype=np.float64, atol: float = 1e-12,
                  rtol_grad: float = 1e-10) -> int:
    """Forward and backward on both paths; assert equality; return the number of spikes."""
    runs = {}
    for loops in ("python", "compiled"):
        kernel = net.kernel(dtype=dtype, loops=loops)
        out, cache = kernel.forward(inputs)
        d_out = np.random.default_rng(7).normal(size=out.shape)
        d_inputs: dict = {}
        grads = kernel.backward(d_out, cache, d_inputs=d_inputs)
        assert not kernel.fallbacks, kernel.fallbacks
        runs[loops] = (out, cache, grads, d_inputs)
    (out_p, cache_p, grads_p, din_p), (out_c, cache_c, grads_c, din_c) = runs.values()
    np.testing.assert_allclose(out_c, out_p, rtol=0, atol=atol)
    spikes = 0
    for layer in net.neuron_layers:
        for var in net.kernel(dtype=dtype).compiled[layer.name].state:
            np.testing.assert_allclose(cache_c.state(layer.name, var),
                                       cache_p.state(layer.name, var), rtol=0, atol=atol,
                                       err_msg=f"{layer.name}.{var}")
        if layer.model.spiking:
            np.testing.assert_array_equal(cache_c.spikes(layer.name), cache_p.spikes(layer.name),
                                          err_msg=f"{layer.name} spikes")
            spikes += int(cache_c.spikes(layer.name).sum())
    for key, g in grads_p.items():
        scale = max(float(np.abs(g).max()), 1e-300)
        np.testing.assert_allclose(grads_c[key], g, rtol=0, atol=rtol_grad * scale, err_msg=key)
    for key, g in din_p.items():
        np.testing.assert_allclose(din_c[key], g, rtol=0, atol=rtol_grad * np.abs(g).max())
    return spikes


@pytest.mark.parametrize("model_name", models.available())
def test_every_model_compiled_equals_python(model_name, rng):
    spikes = compare_paths(single_layer_net(model_name), rng.uniform(0.0, 1.0, (T, B, 3)))
    if models.load(model_name).spiking:
        assert spikes > 20, "the comparison must involve spikes"


@pytest.mark.parametrize("model_name", CHAIN_MODELS)
def test_aligned_schedule_compiled_equals_python(model_name, rng):
    assert compare_paths(chain(model_name), rng.uniform(0.0, 1.0, (T, B, 3))) > 20


@pytest.mark.parametrize("model_name", ["lif", "lif_soft", "if"])
def test_recurrent_event_connection_compiled_equals_python(model_name, rng):
    net = single_layer_net(model_name, recurrent=True)
    compare_paths(net, rng.uniform(0.0, 1.0, (T, B, 3)))


def test_grsn_gates_and_stack_compiled_equal_python(rng):
    assert compare_paths(grsn_stack(), rng.uniform(0.0, 1.0, (T, B, 3))) > 50
    aligned = grsn_stack().with_schedule("aligned")
    compare_paths(aligned, rng.uniform(0.0, 1.0, (T, B, 3)))


def test_detached_reset_and_float32_compiled_track_python(rng):
    net = grsn_stack()
    x = rng.uniform(0.0, 1.0, (T, B, 3))
    grads = {}
    for loops in ("python", "compiled"):
        kernel = net.kernel(loops=loops, detach_reset=True)
        out, cache = kernel.forward(x)
        grads[loops] = kernel.backward(np.ones_like(out), cache)
    for key, g in grads["python"].items():
        np.testing.assert_allclose(grads["compiled"][key], g, rtol=0,
                                   atol=1e-10 * max(np.abs(g).max(), 1e-300), err_msg=key)
    # float32: the compiled step rounds once per stored value, the numpy one per operation
    outs = [net.kernel(dtype=np.float32, loops=loops).forward(x)[0]
            for loops in ("python", "compiled")]
    np.testing.assert_allclose(outs[1], outs[0], rtol=0, atol=1e-4)


def test_compiled_loops_equal_brian2(rng, monkeypatch):
    monkeypatch.setenv("NEURORL_LOOPS", "compiled")
    assert assert_same_as_brian2(grsn_stack(), rng.uniform(0.0, 1.0, (60, 3, 3)),
                                 target="numpy") > 50
    net = single_layer_net("lif", recurrent=True)
    assert_same_as_brian2(net, rng.uniform(0.0, 1.0, (60, 3, 3)), target="numpy")
    assert_state_carries(grsn_stack(), rng.uniform(0.0, 1.0, (40, 2, 3)), 25)


def test_thread_count_changes_no_number(rng):
    net = grsn_stack()
    x = rng.uniform(0.0, 1.0, (T, 32, 3))
    runs = []
    for threads in (1, 2):
        previous = compiled.set_threads(threads)
        try:
            kernel = net.kernel(loops="compiled")
            out, cache = kernel.forward(x)
            runs.append((out, kernel.backward(np.ones_like(out), cache)))
        finally:
            compiled.set_threads(previous)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for key, g in runs[0][1].items():
        np.testing.assert_array_equal(runs[1][1][key], g, err_msg=key)


def test_what_the_compiled_loops_do_not_cover_falls_back_with_its_reason(rng):
    x = rng.uniform(0.0, 1.0, (10, 2, 3))
    smooth = single_layer_net("lif").kernel(loops="auto", smooth=True)
    smooth.forward(x)
    assert "smooth spikes" in smooth.fallbacks["layer1"]
    genn = single_layer_net("lif").with_schedule("genn").kernel(loops="auto")
    genn.forward(x)
    assert "genn" in genn.fallbacks["layer1"]
    refractory = models.from_brian2("dv/dt = -v/(10*ms) : 1", threshold="v > 0.5",
                                    reset="v = 0", refractory="2*ms", name="lif_ref")
    net = Network(dt=1.0)
    net.connect(net.input(3), net.layer(4, refractory, name="h"), target="v", scale=3.0)
    kernel = net.kernel(loops="auto")
    kernel.forward(x)
    assert "refractory" in kernel.fallbacks["h"]
    with pytest.raises(NetworkError, match=r"layer h: no compiled loop: refractory"):
        net.kernel(loops="compiled").forward(x)
    with pytest.raises(ValueError, match="loops .* 'auto', 'compiled' or 'python', got 'fast'"):
        net.kernel(loops="fast")


def test_machine_code_is_cached_on_disk_for_the_next_process(tmp_path):
    script = textwrap.dedent("""
        import numpy as np
        from conftest import grsn_stack
        from neurorl.kernel import compiled
        net = grsn_stack()
        kernel = net.kernel(loops="compiled")
        out, cache = kernel.forward(np.ones((5, 2, 3)))
        kernel.backward(out, cache)
        plan = kernel._plan(net.layers["grsn"], True)
        forward, _ = compiled.compiled_loops(
            plan, compiled.vector_params(kernel._param_args(net.layers["grsn"])))
        print(sum(forward.stats.cache_hits.values()), sum(forward.stats.cache_misses.values()))
    """)
    env = {**os.environ, "NEURORL_CACHE_DIR": str(tmp_path), "NEURORL_LOOPS": "compiled",
           "PYTHONPATH": os.path.dirname(__file__)}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "1"], runs[0]  # compiled the first time
    assert runs[1] == ["1", "0"], runs[1]  # loaded from disk the second
    assert list((tmp_path / "kernel").glob("loops_*.py"))


def test_vectorisable_exp_matches_numpy():
    from numba import njit

    from neurorl.kernel.scalar_math import exp, heaviside

    @njit
    def apply(x, out, steps):
        for i in range(x.size):
            out[i] = exp(x[i])
            steps[i] = heaviside(x[i], 0.5)

    x = np.concatenate([np.linspace(-708.3, 709.7, 200_001),
                        np.random.default_rng(0).normal(0.0, 3.0, 100_000),
                        [0.0, -0.0, 1e-300, -1e-300, 709.78, -708.39]])
    out, steps = np.empty_like(x), np.empty_like(x)
    apply(x, out, steps)
    np.testing.assert_allclose(out, np.exp(x), rtol=3e-16, atol=0)
    np.testing.assert_array_equal(steps, np.heaviside(x, 0.5))
    edge = np.array([np.inf, -np.inf, np.nan, 710.0, -746.0, -720.0])
    out, steps = np.empty_like(edge), np.empty_like(edge)
    apply(edge, out, steps)
    np.testing.assert_array_equal(out[:4], [np.inf, 0.0, np.nan, np.inf])
    assert out[4] == 0.0 and out[5] == 0.0  # numpy: 0 and a subnormal 3e-313; flushed to 0
    np.testing.assert_array_equal(steps[:3], [1.0, 0.0, np.nan])


def test_float32_exp_within_an_ulp():
    from numba import njit

    from neurorl.kernel.scalar_math import exp32

    @njit
    def apply(x, out):
        for i in range(x.size):
            out[i] = exp32(x[i])

    x = np.concatenate([np.linspace(-87.0, 88.0, 400_001),
                        np.random.default_rng(1).normal(0.0, 3.0, 100_000)]).astype(np.float32)
    out = np.empty_like(x)
    apply(x, out)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.exp(x.astype(np.float64)), rtol=np.finfo(np.float32).eps,
                               atol=0)
    edge = np.array([np.inf, -np.inf, np.nan, 100.0, -100.0], np.float32)
    out = np.empty_like(edge)
    apply(edge, out)  # clamped to [-87, 88]: the largest and smallest normal results; NaN kept
    np.testing.assert_allclose(out[[0, 3]], np.exp(88.0), rtol=1e-6)
    np.testing.assert_allclose(out[[1, 4]], np.exp(-87.0), rtol=1e-6)
    assert np.isnan(out[2])
