"""Model files: every shipped model loads; every user error names the file and line at fault."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from neurorl import Network, models
from neurorl.models import ModelError
from neurorl.network import NetworkError

GOOD = '''name = "mine"
method = "euler"
equations = """
dv/dt = (bias - v)/tau : 1
"""
threshold = "v > v_th"
reset = "v = 0"
inputs = ["v"]

[parameters]
tau = { value = "10*ms" }
v_th = { value = "1" }
bias = { value = "0", per_neuron = true, learnable = true }
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user_model.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ModelError) as info:
        models.load(path)
    return str(info.value)


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    "name", ["if", "lif", "lif_soft", "li_readout", "grsn", "grsn_input_gated"]
)
def test_shipped_models_load_with_metadata(name):
    model = models.load(name)
    assert model.name == name
    assert len(model.description) > 100 and model.paper
    assert model.inputs and all(p.doc for p in model.parameters.values())


def test_user_model_file_works_like_a_shipped_one(tmp_path):
    model = models.load(write(tmp_path, GOOD))
    assert model.state_variables == ("v",)
    assert model.parameters["tau"].si == pytest.approx(0.01)
    net = Network()
    x = net.input(2)
    net.connect(x, net.layer(3, model))
    assert set(net.params) == {"layer1.bias", "input_to_layer1.w"}


def test_model_paths_find_user_models_by_name(tmp_path, monkeypatch):
    (tmp_path / "mymodel.toml").write_text(GOOD)
    monkeypatch.setenv("NEURORL_MODEL_PATH", str(tmp_path))
    assert "mymodel" in models.available()
    assert models.load("mymodel").name == "mine"


def test_unknown_model_name_lists_available():
    with pytest.raises(ModelError, match=r"unknown model 'nope'; available: .*lif"):
        models.load("nope")


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, GOOD.replace('v_th = { value = "1" }', 'v_th = { value = "1" '))
    msg = error_of(path)
    assert str(path) in msg and "TOML syntax error" in msg
    assert f"line {line_of(path, 'v_th = {')}" in msg


def test_unknown_identifier_names_file_and_line(tmp_path):
    path = write(
        tmp_path,
        GOOD.replace("dv/dt = (bias - v)/tau : 1", "dv/dt = (bias - v)/tau + gamma/tau : 1"),
    )
    msg = error_of(path)
    assert f"{path}:{line_of(path, 'gamma')}:" in msg
    assert "unknown identifier 'gamma'" in msg


def test_unit_mismatch_names_file_and_line(tmp_path):
    path = write(tmp_path, GOOD.replace('tau = { value = "10*ms" }', 'tau = { value = "10" }'))
    msg = error_of(path)
    assert f"{path}:{line_of(path, 'dv/dt')}:" in msg
    assert "unit mismatch" in msg


def test_unit_mismatch_in_threshold(tmp_path):
    path = write(tmp_path, GOOD.replace('threshold = "v > v_th"', 'threshold = "v > 1*mV"'))
    msg = error_of(path)
    assert f"{path}:{line_of(path, 'threshold =')}:" in msg and "unit mismatch" in msg


def test_threshold_without_state_variable(tmp_path):
    path = write(tmp_path, GOOD.replace('threshold = "v > v_th"', 'threshold = "bias > v_th"'))
    msg = error_of(path)
    assert f"{path}:{line_of(path, 'threshold =')}:" in msg
    assert "names no state variable" in msg


def test_threshold_that_is_not_one_comparison(tmp_path):
    path = write(
        tmp_path, GOOD.replace('threshold = "v > v_th"', 'threshold = "v > v_th and v < 5"')
    )
    assert "must be one comparison" in error_of(path)


@pytest.mark.parametrize(
    ("reset", "needle", "expected"),
    [
        ("v = rand()", "v = rand()", "cannot differentiate"),
        ("v = int(v)", "v = int(v)", "cannot differentiate"),
        ("v = 0; bias = 1", "bias = 1", "not a state variable"),
        ("if v > 1: v = 0", "if v > 1", "not of the form"),
    ],
)
def test_reset_the_kernel_cannot_differentiate(tmp_path, reset, needle, expected):
    path = write(tmp_path, GOOD.replace('reset = "v = 0"', f'reset = "{reset}"'))
    msg = error_of(path)
    assert f"{path}:{line_of(path, needle)}:" in msg
    assert expected in msg


def test_bad_quantity_and_unknown_key(tmp_path):
    path = write(tmp_path, GOOD.replace('"10*ms"', '"10*parsec"'))
    assert f"{path}:{line_of(path, 'tau =')}:" in error_of(path)
    path = write(tmp_path, 'colour = "red"\n' + GOOD)
    assert "unknown key 'colour'" in error_of(path)


def test_parameter_override_checks_units():
    lif = models.load("lif_soft")
    assert lif.with_parameters(tau="20*ms").parameters["tau"].si == pytest.approx(0.02)
    with pytest.raises(ModelError, match="has units"):
        lif.with_parameters(tau="20*mV")


def test_unsupported_synapse_statement_and_bad_coupling():
    net = Network()
    x = net.input(2)
    h = net.layer(3, models.load("lif"))
    with pytest.raises(NetworkError, match="unsupported synapse statement"):
        net.connect(x, h, on_pre="v_post += w * exp(v_pre)")
    q = net.layer(2, models.load("li_readout"))
    with pytest.raises(NetworkError, match="declares none"):
        net.connect(h, net.layer(2, models.load("grsn")))
    with pytest.raises(NetworkError, match="event coupling needs spikes"):
        net.connect(q, net.layer(2, models.load("lif")))


def test_wheel_ships_the_model_files(tmp_path):
    """A non-editable install carries models/*.toml as neurorl/model_files/."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("neurorl-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).stem for n in names if re.match(r"neurorl/model_files/\w+\.toml$", n)}
    assert shipped == set(models.available())
