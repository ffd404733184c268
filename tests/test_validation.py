"""Bad input ends in one clear message naming the value at fault, and none is accepted silently:
arrays given to run_batch and the kernel, Network(dt=...), the `neurorl energy` options; neurorl's
errors print without Brian2's "please report" banner; `neurorl energy` works on a model in
physical units (Izhikevich), quantised on a grid in mV."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import brian2
import numpy as np
import pytest

from neurorl import Network, NeurorlError, models
from neurorl.hardware.estimate import simulate
from neurorl.hardware.mapping import map_network
from neurorl.hardware.profiles import load_profile
from neurorl.hardware.quantize import state_rounding_code
from neurorl.network import NetworkError
from neurorl.sim.batch import run_batch

BANNER = "Brian 2 encountered an unexpected error"

pytestmark = pytest.mark.usefixtures("numpy_target")


def lif_net() -> Network:
    """input(2) -> 3 LIF."""
    net = Network(dt=1.0)
    net.connect(net.input(2), net.layer(3, models.load("lif"), name="hidden"))
    return net


def two_input_net() -> Network:
    """inputs a(2) and b(1) -> 3 LIF."""
    net = Network(dt=1.0)
    h = net.layer(3, models.load("lif"), name="hidden")
    net.connect(net.input(2, name="a"), h)
    net.connect(net.input(1, name="b"), h)
    return net


# the two entries that take input arrays: Brian2 batch replay and the kernel's forward pass
ENTRIES = {
    "run_batch": lambda net, inputs: run_batch(net, inputs),
    "kernel.forward": lambda net, inputs: net.kernel().forward(inputs),
}


def refuses(entry: str, net: Network, inputs, message: str) -> None:
    """``entry`` refuses ``inputs`` with exactly ``message`` (a NetworkError, a NeurorlError)."""
    with pytest.raises(NetworkError) as err:
        ENTRIES[entry](net, inputs)
    assert str(err.value) == message
    assert isinstance(err.value, NeurorlError)


@pytest.mark.parametrize("entry", ENTRIES)
def test_nan_input_is_refused_naming_where(entry):
    x = np.zeros((5, 3, 2))
    x[2, 1, 0] = np.nan
    x[4, 2, 1] = np.nan
    refuses(entry, lif_net(), x, "inputs for input contain NaN or inf (2 values; the first, nan, "
            "at step 2, batch element 1, channel 0)")


@pytest.mark.parametrize("entry", ENTRIES)
def test_inf_input_is_refused_naming_where(entry):
    x = np.zeros((5, 3, 2))
    x[0, 0, 1] = -np.inf
    refuses(entry, lif_net(), x, "inputs for input contain NaN or inf (1 values; the first, -inf, "
            "at step 0, batch element 0, channel 1)")


@pytest.mark.parametrize("entry", ENTRIES)
def test_zero_time_steps_are_refused(entry):
    refuses(entry, lif_net(), np.zeros((0, 4, 2)), "inputs for input have shape (0, 4, 2): "
            "T (time steps, axis 0) is 0; give at least one")


@pytest.mark.parametrize("entry", ENTRIES)
def test_empty_batch_is_refused(entry):
    refuses(entry, lif_net(), np.zeros((8, 0, 2)), "inputs for input have shape (8, 0, 2): "
            "B (batch, axis 1) is 0; give at least one")


@pytest.mark.parametrize("entry", ENTRIES)
def test_wrong_number_of_axes_is_refused(entry):
    refuses(entry, lif_net(), np.zeros((8, 2)),
            "inputs for input have shape (8, 2), expected (T, B, 2)")


@pytest.mark.parametrize("entry", ENTRIES)
def test_wrong_input_width_is_refused(entry):
    refuses(entry, lif_net(), np.zeros((8, 4, 3)),
            "inputs for input have shape (8, 4, 3), expected (T, B, 2)")


@pytest.mark.parametrize("entry", ENTRIES)
def test_inputs_that_are_not_numbers_are_refused(entry):
    refuses(entry, lif_net(), [[["a", "b"]]], "inputs for input are not numbers: [[['a', 'b']]]")


@pytest.mark.parametrize("entry", ENTRIES)
def test_inputs_for_an_unknown_layer_are_refused(entry):
    refuses(entry, lif_net(), {"input": np.zeros((4, 1, 2)), "inptu": np.zeros((4, 1, 2))},
            "inputs given for 'inptu': the network's input layers are input")


@pytest.mark.parametrize("entry", ENTRIES)
def test_missing_inputs_are_refused(entry):
    refuses(entry, two_input_net(), {"a": np.zeros((4, 1, 2))},
            "missing inputs for input layer b")


@pytest.mark.parametrize("entry", ENTRIES)
def test_one_array_for_several_inputs_is_refused(entry):
    refuses(entry, two_input_net(), np.zeros((4, 1, 2)),
            "the network has several inputs (a, b): pass a dict by name")


@pytest.mark.parametrize("entry", ENTRIES)
def test_inputs_that_disagree_on_T_and_B_are_refused(entry):
    refuses(entry, two_input_net(), {"a": np.zeros((4, 2, 2)), "b": np.zeros((4, 3, 1))},
            "inputs for b have (T, B) = (4, 3) and inputs for a (4, 2): all inputs must share "
            "T and B")


def test_run_batch_refuses_an_unknown_record_option():
    with pytest.raises(NetworkError) as err:
        run_batch(lif_net(), np.zeros((4, 1, 2)), record="some")
    assert str(err.value) == "record must be 'all' or 'final', got 'some'"


def test_good_inputs_still_run_and_agree():
    """The checks refuse nothing valid: a list of lists runs, Brian2 and the kernel agree."""
    x = np.random.default_rng(0).uniform(0, 10, (6, 2, 2))
    result = run_batch(lif_net(), x.tolist())
    _, cache = lif_net().kernel().forward(x)
    assert result.spikes["hidden"].sum() > 0
    np.testing.assert_array_equal(result.spikes["hidden"], cache.spikes("hidden"))


@pytest.mark.parametrize(
    "dt", [0, -1, 0.0, float("nan"), float("inf"), "1", None, True, 3 * brian2.mV, np.array(1.0)]
)
def test_network_refuses_a_bad_dt(dt):
    with pytest.raises(NetworkError) as err:
        Network(dt=dt)
    assert str(err.value) == f"dt must be a positive, finite number of milliseconds, got {dt!r}"


def test_network_takes_dt_in_ms_or_as_a_brian2_time():
    assert Network(dt=0.1 * brian2.ms).dt == pytest.approx(0.1)
    assert Network(dt=np.float32(0.5)).dt == 0.5
    assert Network(dt=2).dt == 2.0


# -- neurorl's errors print without Brian2's banner -------------------------------------------
def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("first", ["import neurorl", "import brian2"])
def test_an_uncaught_model_error_prints_without_the_brian2_banner(first):
    proc = run_python(f"""
        {first}
        from neurorl import models
        models.load("/nonexistent/model.toml")
    """)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "neurorl.models.ModelError: /nonexistent/model.toml: no such model file"
    )
    assert BANNER not in proc.stderr and "please report" not in proc.stderr


def test_an_uncaught_input_error_prints_without_the_brian2_banner():
    proc = run_python("""
        import numpy as np
        from neurorl import Network, models
        from neurorl.sim.batch import run_batch
        net = Network()
        net.connect(net.input(2), net.layer(3, models.load("lif")))
        run_batch(net, np.full((4, 1, 2), np.nan))
    """)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "neurorl.network.NetworkError: inputs for input contain NaN or inf (8 values"
    )
    assert BANNER not in proc.stderr


def test_other_errors_keep_brian2s_handling():
    """The control: the test above would see the banner if neurorl did not remove it."""
    proc = run_python("""
        import neurorl.models
        raise RuntimeError("not neurorl's")
    """)
    assert BANNER in proc.stderr


# -- `neurorl energy` ---------------------------------------------------------------------------
IZHIKEVICH = '''
name = "izhikevich"
method = "euler"
equations = """
dv/dt = (0.04*v**2/mV + 5*v + 140*mV - u)/ms + I/ms : volt
du/dt = a*(b*v - u)/ms : volt
I : volt
"""
threshold = "v > v_peak"
reset = """
v = c
u = u + d
"""
inputs = ["I"]

[initial]
v = "-65*mV"
u = "-13*mV"

[parameters]
a = { value = "0.02" }
b = { value = "0.2" }
c = { value = "-65*mV" }
d = { value = "8*mV" }
v_peak = { value = "30*mV" }
'''


def izhikevich_net(path) -> Network:
    """input(4) -> 8 Izhikevich neurons (physical units, unit literals) -> 2 leaky readouts."""
    path.write_text(IZHIKEVICH)
    net = Network(dt=0.5)
    h = net.layer(8, models.load(path), name="hidden")
    net.connect(net.input(4), h, scale=0.05)  # I in volt: +-25 mV per unit of input
    net.connect(h, net.layer(2, models.load("li_readout"), name="q"))
    return net


def test_fixed_point_code_of_a_variable_with_units():
    code = state_rounding_code(["v", "x"], 16, 8, {"v": (1e-3, "volt")})
    lsb = repr(1e-3 / 256)
    assert code.splitlines() == [
        f"v = clip(floor(v / ({lsb}*volt) + 0.5), -32768, 32767) * ({lsb}*volt)",
        "x = clip(floor(x * 256.0 + 0.5), -32768, 32767) / 256.0",
    ]


def test_izhikevich_in_mv_is_quantised_on_a_grid_in_mv(tmp_path):
    net = izhikevich_net(tmp_path / "izhikevich.toml")
    inputs = np.random.default_rng(0).uniform(0, 1, (80, 3, 4))
    mapping = map_network(net, load_profile("loihi"))
    fixed, values, info = simulate(net, inputs, mapping, quantize=True)
    exact, float_values, _ = simulate(net, inputs, mapping, quantize=False)
    assert info.state_units == {"hidden.u": "mV", "hidden.v": "mV"}
    assert exact.spikes["hidden"].sum() > 0
    np.testing.assert_array_equal(fixed.spikes["hidden"], exact.spikes["hidden"])
    np.testing.assert_allclose(values, float_values, atol=2e-3)


def test_energy_command_on_an_izhikevich_network(tmp_path, capsys):
    from neurorl import cli

    net = izhikevich_net(tmp_path / "izhikevich.toml")
    path = net.save(tmp_path / "izh.npz", meta={"env": "CartPole-v1", "T": 20})
    out = tmp_path / "energy.json"
    assert cli.main(["energy", str(path), "--samples", "4", "--json", str(out)]) == 0
    chip = json.loads(out.read_text())["chips"][0]
    assert chip["decisions"] == 4
    assert chip["quantization"]["state_units"] == {"hidden.u": "mV", "hidden.v": "mV"}
    assert "fixed-point grid of state with units: hidden.u in mV, hidden.v in mV" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("option", ["--samples", "--steps"])
def test_energy_command_refuses_zero_samples_or_steps(tmp_path, capsys, option):
    from neurorl import cli

    path = lif_net().save(tmp_path / "net.npz", meta={"env": "CartPole-v1"})
    with pytest.raises(SystemExit) as exit_:
        cli.main(["energy", str(path), option, "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"neurorl energy: error: argument {option}: must be a positive integer, got '0'"


def test_command_line_prints_a_neurorl_error_as_one_line(tmp_path, capsys):
    from neurorl import cli

    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    assert cli.main(["energy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.match(rf"neurorl energy: error: .*{re.escape(str(bad))}", err)
    assert BANNER not in err
