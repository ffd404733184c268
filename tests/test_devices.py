"""The one device registry: names, clear errors, the previous Brian2 device restored, and the
kernel entry giving Brian2's batch replay record."""

from __future__ import annotations

import brian2
import numpy as np
import pytest
from conftest import single_layer_net

from neurorl.optional import OptionalDependencyError
from neurorl.sim import devices
from neurorl.sim.batch import run_batch
from neurorl.sim.closed_loop import closed_loop, count_readout


def test_registry_names_and_unknown_name():
    assert {"kernel", "runtime", "cpp_standalone", "nc64c", "genn", "cuda"} <= set(devices.names())
    with pytest.raises(devices.DeviceError, match="unknown device 'gpu'.*kernel, runtime"):
        devices.get("gpu")
    with pytest.raises(devices.DeviceError, match="not a Brian2 device"):
        with devices.use("kernel"):
            pass


@pytest.mark.parametrize("name, package", [("genn", "brian2genn"), ("cuda", "brian2cuda")])
def test_missing_backend_says_how_to_install(name, package):
    try:
        __import__(package)
    except ImportError:
        with pytest.raises(OptionalDependencyError, match=rf"'{package}'.*install it with"):
            with devices.use(name):
                pass
    else:  # installed here: the entry must select its Brian2 device
        with devices.use(name):
            assert brian2.get_device().__class__.__name__ != "RuntimeDevice"


def test_previous_device_and_target_are_restored_also_after_an_error():
    brian2.prefs.codegen.target = "numpy"
    before = brian2.get_device()
    with devices.use("runtime", target="cython"):
        assert brian2.prefs.codegen.target == "cython"
    assert brian2.prefs.codegen.target == "numpy"
    with pytest.raises(RuntimeError, match="boom"):
        with devices.use("nc64c"):
            assert type(brian2.get_device()).__name__ == "ChipDevice"
            raise RuntimeError("boom")
    assert brian2.get_device() is before
    with devices.use("cpp_standalone"):
        assert type(brian2.get_device()).__name__ == "CPPStandaloneDevice"
    assert brian2.get_device() is before


def test_kernel_entry_records_what_brian2_records(rng):
    net = single_layer_net("lif", hidden=6, seed=3)
    inputs = rng.uniform(0, 1.5, size=(12, 4, 3))
    brian = run_batch(net, inputs, device="runtime")
    kernel = run_batch(net, inputs, device="kernel")
    for layer in ("layer1",):
        np.testing.assert_array_equal(kernel.spikes[layer], brian.spikes[layer])
        np.testing.assert_array_equal(kernel.spike_counts[layer], brian.spike_counts[layer])
    for layer, variables in brian.states.items():
        for var, values in variables.items():
            np.testing.assert_allclose(kernel.state(layer, var), values, atol=1e-9)
            np.testing.assert_allclose(kernel.final[layer][var], brian.final[layer][var],
                                       atol=1e-9)


def test_closed_loop_refuses_a_standalone_device():
    import gymnasium as gym

    net = single_layer_net("if", hidden=2, n_in=4)
    with pytest.raises(devices.DeviceError, match="standalone devices run batches only"):
        closed_loop(net, gym.make("CartPole-v1"), 4, count_readout("layer1"),
                    device="cpp_standalone")
