"""GeNN (Brian2GeNN) against the kernel: schedule ``"genn"`` in the kernel, in Brian2 and in GeNN.

Three groups of tests, every name holding "genn" (``pytest tests -k genn`` selects them all):

* the ``"genn"`` schedule itself, in any environment: the kernel equals Brian2's runtime under it
  for every shipped model, it really differs from Brian2's default schedule (a hard reset
  clears an input that arrives in the step a neuron fires under "brian2", not under "genn"),
  its gradients equal finite differences, and the genn device refuses other schedules and
  missing packages with one message each;
* GeNN itself, only where Brian2GeNN and GeNN are installed (``make genn-env``): one GeNN build
  runs every model of ``models/`` (alone, recurrent, in the GRSN stack, sparse) and the
  converted CartPole network side by side, and each equals the kernel (identical spikes,
  states within 1e-9); ``neurorl convert --backend genn`` prints the kernel's conversion rate;
  the chip counts of ``neurorl energy --backend genn`` equal the kernel's;
* in the main environment, ``test_genn_env_suite`` runs the GeNN tests in ``.venv-genn`` (a
  subprocess) when it exists, and is reported as an XFAIL saying "NOT RUN" otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import grsn_stack, single_layer_net
from test_aligned_schedule import chain
from test_kernel_gradients import check_gradients

from neurorl import Network, models
from neurorl.network import NetworkError
from neurorl.optional import OptionalDependencyError
from neurorl.sim import genn
from neurorl.sim.batch import BatchResult, run_batch

ROOT = Path(__file__).resolve().parents[1]
GENN_PYTHON = ROOT / ".venv-genn" / "bin" / "python"
HAVE_GENN = importlib.util.find_spec("brian2genn") is not None and genn.genn_path() is not None
needs_genn = pytest.mark.skipif(
    not HAVE_GENN, reason="needs brian2genn and GeNN: test_genn_env_suite runs these in .venv-genn"
)
T, B = 20, 4


def spiking_event_models() -> list[str]:
    """Shipped models whose plain input is event-driven and that spike (recurrence possible)."""
    return [
        m for m in models.available()
        if models.load(m).spiking and models.load(m).coupling(models.load(m).inputs[0]) == "event"
    ]


def assert_equal_runs(got: BatchResult, want: BatchResult, layers) -> None:
    """Identical spike trains and spike counts, states and final states within 1e-9."""
    for layer in layers:
        if layer in want.spikes:
            np.testing.assert_array_equal(got.spikes[layer], want.spikes[layer], err_msg=layer)
            np.testing.assert_array_equal(got.spike_counts[layer], want.spike_counts[layer])
        for var, values in want.states[layer].items():
            np.testing.assert_allclose(got.state(layer, var), values, atol=1e-9, rtol=0,
                                       err_msg=f"{layer}.{var}")
            np.testing.assert_allclose(got.final[layer][var], want.final[layer][var], atol=1e-9,
                                       rtol=0)


# -- the "genn" schedule: kernel and Brian2 (any environment) ------------------------------------
@pytest.mark.parametrize("model_name", models.available())
def test_genn_schedule_kernel_equals_brian2_runtime(model_name, rng):
    net = single_layer_net(model_name, hidden=8, seed=2).with_schedule("genn")
    inputs = rng.uniform(0, 1.5, size=(T, B, 3))
    brian, kernel = run_batch(net, inputs, device="runtime"), run_batch(net, inputs, "kernel")
    assert_equal_runs(kernel, brian, [la.name for la in net.neuron_layers])


@pytest.mark.parametrize("model_name", spiking_event_models())
def test_genn_schedule_recurrent_layer_equals_brian2_runtime(model_name, rng):
    net = single_layer_net(model_name, hidden=8, seed=4, recurrent=True).with_schedule("genn")
    inputs = rng.uniform(0, 1.5, size=(T, B, 3))
    brian, kernel = run_batch(net, inputs, device="runtime"), run_batch(net, inputs, "kernel")
    assert brian.spikes["layer1"].sum() > 0
    assert_equal_runs(kernel, brian, [la.name for la in net.neuron_layers])


def test_genn_schedule_grsn_stack_equals_brian2_runtime(rng):
    net = grsn_stack(seed=5).with_schedule("genn")
    inputs = rng.uniform(0, 1.5, size=(T, B, 3))
    brian, kernel = run_batch(net, inputs, device="runtime"), run_batch(net, inputs, "kernel")
    assert_equal_runs(kernel, brian, [la.name for la in net.neuron_layers])


@pytest.mark.parametrize("encoder", ["grsn", "grsn_input_gated"])
def test_genn_schedule_tap_actor_equals_brian2_runtime(encoder, rng):
    net = tap_actor(encoder).with_schedule("genn")
    inputs = rng.uniform(0, 1.5, size=(T, B, net.inputs[0].size))
    brian, kernel = run_batch(net, inputs, device="runtime"), run_batch(net, inputs, "kernel")
    assert brian.spikes["enc"].sum() > 0
    assert_equal_runs(kernel, brian, [la.name for la in net.neuron_layers])


def test_genn_schedule_differs_from_brian2_where_a_hard_reset_meets_an_input(rng):
    """Under "brian2" an input arriving in the step a LIF neuron fires is cleared by its hard
    reset; under "genn" it arrives after the reset and survives. Brian2 shows both."""
    net = single_layer_net("lif", hidden=8, seed=2)
    inputs = rng.uniform(0, 1.5, size=(T, B, 3))
    runs = {
        schedule: (run_batch(net.with_schedule(schedule), inputs, "runtime"),
                   run_batch(net.with_schedule(schedule), inputs, "kernel"))
        for schedule in ("brian2", "genn")
    }
    for brian, kernel in runs.values():
        assert_equal_runs(kernel, brian, ["layer1", "layer2"])
    (b2, _), (gn, _) = runs["brian2"], runs["genn"]
    assert (b2.spikes["layer1"] != gn.spikes["layer1"]).any()
    # soft reset (IF): the same spikes; the end-of-step state lacks that step's input in flight
    net = single_layer_net("if", hidden=8, seed=2)
    b2, gn = (run_batch(net.with_schedule(s), inputs, "kernel") for s in ("brian2", "genn"))
    np.testing.assert_array_equal(b2.spikes["layer1"], gn.spikes["layer1"])
    assert not np.allclose(b2.state("layer2", "v"), gn.state("layer2", "v"))


@pytest.mark.parametrize("model_name", ["lif", "if", "lif_soft", "grsn"])
def test_genn_schedule_gradients(model_name, rng):
    net = single_layer_net(model_name, hidden=5, seed=1).with_schedule("genn")
    check_gradients(net, rng.uniform(0.0, 1.0, (8, 2, 3)), rng)


def test_genn_schedule_gradients_recurrent_events(rng):
    net = single_layer_net("lif_soft", hidden=5, seed=1, recurrent=True).with_schedule("genn")
    check_gradients(net, rng.uniform(0.0, 1.0, (8, 2, 3)), rng)


def test_genn_device_refuses_other_schedules_before_building(rng):
    inputs = rng.uniform(0, 1, (5, 2, 3))
    with pytest.raises(NetworkError, match="GeNN runs schedule 'genn' only.*with_schedule"):
        run_batch(single_layer_net("lif"), inputs, device="genn")
    with pytest.raises(NetworkError, match="GeNN cannot run schedule 'aligned'"):
        run_batch(chain("grsn"), inputs, device="genn")
    with pytest.raises(NetworkError, match="continuing with state= is not supported"):
        net = single_layer_net("lif").with_schedule("genn")
        kernel = net.kernel()
        _, cache = kernel.forward(inputs)
        kernel.forward(inputs, state=cache.final_state())


def test_genn_missing_package_or_genn_is_one_message_and_builds_nothing(rng, monkeypatch):
    net = single_layer_net("if", hidden=3).with_schedule("genn")
    before = set(Path(tempfile.gettempdir()).glob("neurorl_genn_*"))
    if importlib.util.find_spec("brian2genn") is None:
        with pytest.raises(OptionalDependencyError, match="brian2genn.*make genn-env.*git clone"):
            run_batch(net, rng.uniform(0, 1, (4, 2, 3)), device="genn")
    else:  # Brian2GeNN here: hide GeNN instead
        monkeypatch.setattr(genn, "genn_path", lambda: None)
        with pytest.raises(OptionalDependencyError, match="needs GeNN 4.x.*git clone -b 4.9.0"):
            run_batch(net, rng.uniform(0, 1, (4, 2, 3)), device="genn")
    assert set(Path(tempfile.gettempdir()).glob("neurorl_genn_*")) == before


# -- GeNN itself: one build for every model and the converted network ----------------------------
def combine(parts: dict[str, Network]) -> Network:
    """One network holding ``parts`` side by side (names prefixed ``<part>_``), schedule genn,
    so that a single GeNN build runs them all."""
    net = Network(dt=next(iter(parts.values())).dt, schedule="genn")
    for prefix, part in parts.items():
        made = {}
        for layer in part.layers.values():
            name = f"{prefix}_{layer.name}"
            made[layer.name] = (
                net.input(layer.size, name=name) if layer.is_input
                else net.layer(layer.size, layer.model, name=name, **layer.constants)
            )
        for c in part.connections:
            name = f"{prefix}_{c.name}"
            if any(existing.name == name for existing in net.connections):
                continue  # a model's recurrent gates, made by layer()
            extra = {"delay": c.delay} if getattr(c, "delay", 0) else {}
            net.connect(made[c.pre.name], made[c.post.name], target=c.target, mask=c.mask,
                        conv=c.conv, name=name, **extra)
        net.set_params({f"{prefix}_{key}": value for key, value in part.params.items()})
    return net


@pytest.fixture(scope="module")
def converted_cartpole(cartpole_teacher):
    """The CartPole teacher converted with the default recipe (calibrated for T)."""
    from neurorl.algos import convert as C

    states = C.collect_states(cartpole_teacher, "CartPole-v1", n=2000, seed=0)
    recipe = {k: C.RECIPE[k] for k in ("percentile", "model", "v_init", "per")}
    snn = C.calibrate(C.convert(cartpole_teacher, states, **recipe), states, T)
    return snn, states[-B:]


def tap_actor(encoder: str) -> Network:
    """A small recurrent SAC actor of issue [tap] as its Brian2 network (embedders and heads as
    relu/linear neurons, masked input connections, two summed targets into the first head
    layer), its encoder's state and gates randomised; GeNN runs it under its own schedule."""
    from conftest import randomise

    from neurorl.rl.recurrent_ac import ArchConfig, RecurrentNet, to_network

    arch = ArchConfig(encoder=encoder, hidden=12, head_hidden=(10, 8))
    net = to_network(RecurrentNet(2, 2, 1, 2, arch, seed=6))
    randomise(net, 7)
    for key, w in net.params.items():  # inputs that make the encoder fire
        if key.startswith("embed_to_enc"):
            w *= {"grsn": 6.0, "grsn_input_gated": 30.0}[encoder]
    return net


@pytest.fixture(scope="module")
def genn_run(converted_cartpole):
    """Every part in one GeNN run: (parts, GeNN's record, the kernel's, seconds)."""
    rng = np.random.default_rng(17)
    parts: dict[str, Network] = {}
    for m in models.available():
        parts[m.replace("_", "")] = single_layer_net(m, hidden=8, seed=2)
    for m in spiking_event_models():
        parts[f"rec{m.replace('_', '')}"] = single_layer_net(m, hidden=8, seed=4, recurrent=True)
    parts["stack"] = grsn_stack(seed=5)
    sparse = Network(dt=1.0, seed=3)
    h = sparse.layer(10, models.load("lif_soft"))
    sparse.connect(sparse.input(3), h, mask=rng.uniform(size=(3, 10)) < 0.5, scale=3.0)
    q = sparse.layer(2, models.load("li_readout"))
    sparse.connect(h, q, mask=rng.uniform(size=(10, 2)) < 0.6)
    parts["sparse"] = sparse
    snn, obs = converted_cartpole
    parts["cartpole"] = snn.net
    for encoder in ("grsn", "grsn_input_gated"):  # TAP actors, as deployed (GeNN's schedule)
        parts[f"tap{encoder.replace('_', '')}"] = tap_actor(encoder)
    net = combine(parts)
    inputs = {}
    for prefix, part in parts.items():
        size = part.inputs[0].size
        x = snn.inputs(obs, T) if prefix == "cartpole" else rng.uniform(0, 1.5, (T, B, size))
        inputs[f"{prefix}_{part.inputs[0].name}"] = x
    start = time.perf_counter()
    result = run_batch(net, inputs, device="genn")
    seconds = time.perf_counter() - start
    print(f"GeNN: one build and run of {len(parts)} networks in {seconds:.1f} s")
    return parts, net, inputs, result, run_batch(net, inputs, device="kernel"), seconds


@needs_genn
@pytest.mark.parametrize(
    "part",
    [m.replace("_", "") for m in models.available()]
    + [f"rec{m.replace('_', '')}" for m in spiking_event_models()]
    + ["stack", "sparse", "cartpole", "tapgrsn", "tapgrsninputgated"],
)
def test_genn_equals_kernel(part, genn_run):
    parts, _, _, result, kernel, _ = genn_run
    layers = [f"{part}_{la.name}" for la in parts[part].neuron_layers]
    assert_equal_runs(result, kernel, layers)


@needs_genn
def test_genn_spikes_happen_and_differ_from_the_brian2_schedule(genn_run):
    """The comparison is not vacuous: the parts spike, and GeNN is not Brian2's schedule."""
    _, net, inputs, result, _, _ = genn_run
    assert all(result.spike_counts[f"{p}_layer1"].sum() > 0 for p in ("lif", "if", "grsn"))
    cartpole = [name for name in result.spike_counts if name.startswith("cartpole_")]
    assert cartpole and all(result.spike_counts[name].sum() > 0 for name in cartpole)
    brian2_schedule = run_batch(net.with_schedule("brian2"), inputs, device="kernel")
    assert (brian2_schedule.spikes["lif_layer1"] != result.spikes["lif_layer1"]).any()


@needs_genn
def test_genn_convert_cli_prints_the_kernel_conversion_rate(cartpole_run, tmp_path):
    """``neurorl convert --backend genn`` gives the conversion rate of ``--backend kernel``."""
    teacher = cartpole_run.out_dir / "teacher.npz"
    rates = {}
    for backend in ("kernel", "genn"):
        out = tmp_path / f"{backend}.json"
        run = subprocess.run(
            [sys.executable, "-m", "neurorl.cli", "convert", str(teacher), "--backend", backend,
             "--T", "20", "--states", "2000", "--eval-states", "200", "--episodes", "1",
             "--json", str(out)],
            capture_output=True, text=True, cwd=ROOT, timeout=1200,
        )
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        if backend == "genn":  # it says which backend of GeNN ran
            assert "genn: GeNN 4." in run.stdout
            assert ("CPU-only" in run.stdout) != ("CUDA (GPU)" in run.stdout)
        rates[backend] = json.loads(out.read_text())
    for key in ("conversion_rate_robust", "conversion_rate_count", "spikes_per_decision"):
        assert rates["genn"][key] == pytest.approx(rates["kernel"][key], abs=1e-12), key


@needs_genn
def test_genn_energy_counts_equal_the_kernel_counts(converted_cartpole):
    """``estimate(..., device="genn")`` (``neurorl energy --backend genn --no-quantize``) counts
    the converted CartPole network from GeNN's spikes: the kernel's counts under schedule genn."""
    from neurorl.hardware.estimate import estimate

    snn, obs = converted_cartpole
    inputs = snn.inputs(obs, T)
    on_genn = estimate(snn.net, inputs, "nc64c", quantize=False, device="genn")
    kernel = estimate(snn.net.with_schedule("genn"), inputs, "nc64c", quantize=False,
                      device="kernel")
    assert on_genn.counts["spikes_total"] > 0
    assert on_genn.counts["spikes"] == kernel.counts["spikes"]
    for key in ("sops", "updates", "messages", "hops", "host_macs"):
        assert on_genn.counts[key] == pytest.approx(kernel.counts[key], abs=1e-9), key
    assert on_genn.energy_pj == pytest.approx(kernel.energy_pj, rel=1e-12)
    assert any("device 'genn'" in note and "schedule 'genn'" in note for note in on_genn.notes)


@needs_genn
@pytest.mark.skipif(not genn.cuda_available(), reason="NOT RUN: no CUDA GPU here "
                    "(scripts/gpu_check.sh runs the CUDA path on a machine with one)")
def test_genn_cuda_equals_kernel(rng):
    net = single_layer_net("lif", hidden=8, seed=2, recurrent=True).with_schedule("genn")
    inputs = rng.uniform(0, 1.5, size=(T, B, 3))
    assert genn.prepare(quiet=True)["use_GPU"]
    assert_equal_runs(run_batch(net, inputs, device="genn"), run_batch(net, inputs, "kernel"),
                      ["layer1", "layer2"])


# -- the main environment runs the GeNN tests in .venv-genn --------------------------------------
@pytest.mark.skipif(HAVE_GENN, reason="this environment has GeNN: the tests above ran here")
def test_genn_env_suite(capsys):
    """Run ``tests/test_genn.py`` in ``.venv-genn`` when it exists; else report NOT RUN."""
    if not GENN_PYTHON.exists():
        pytest.xfail("GeNN tests NOT RUN: no .venv-genn (`make genn-env` builds it from the "
                     "vendored GeNN 4.9.0, GENN_SRC or GENN_PATH)")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    start = time.perf_counter()
    run = subprocess.run(
        [str(GENN_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "genn",
         "tests/test_genn.py"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]
    with capsys.disabled():  # shown in the summary of every run, -q included
        print(f"\nGeNN tests in .venv-genn: {summary} ({time.perf_counter() - start:.0f} s)")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
