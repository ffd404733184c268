"""Shared test fixtures: small random networks of every model, built the same way in each test."""

from __future__ import annotations

import os

import numpy as np
import pytest

from neurorl import Network, models
from neurorl.ann.qnetwork import load_teacher

# The suite runs the kernel's reference loops: compiling a numba loop for each of its many small
# networks would cost minutes. tests/test_kernel_compiled.py tests the compiled loops against them.
os.environ.setdefault("NEURORL_LOOPS", "python")


def randomise(net: Network, seed: int, scale: float = 0.3) -> None:
    """Give every non-weight parameter (biases, gate biases, beta_raw) random values."""
    rng = np.random.default_rng(seed)
    for key, value in net.params.items():
        if not key.endswith(".w"):
            value[...] = rng.normal(0.0, scale, value.shape)


def single_layer_net(
    model_name: str, hidden: int = 10, n_in: int = 3, recurrent: bool = False, seed: int = 0
) -> Network:
    """input(n_in) -> model(hidden) [-> li_readout(2) when the model spikes]."""
    model = models.load(model_name)
    net = Network(dt=1.0, seed=seed)
    x = net.input(n_in)
    h = net.layer(hidden, model)
    net.connect(x, h, scale=3.0)
    if recurrent:
        net.connect(h, h, name="rec")
    if model.spiking:
        q = net.layer(2, models.load("li_readout"))
        net.connect(h, q)
    randomise(net, seed + 1)
    return net


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar ``f()`` with respect to ``x`` (changed in place,
    restored)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def grsn_stack(seed: int = 0, n_in: int = 3) -> Network:
    """Layers around GRSN: input -> if -> grsn -> grsn_input_gated -> li_readout."""
    net = Network(dt=1.0, seed=seed)
    x = net.input(n_in)
    a = net.layer(8, models.load("if"), name="encoder")
    g = net.layer(10, models.load("grsn"), name="grsn")
    g2 = net.layer(6, models.load("grsn_input_gated"), name="gated")
    q = net.layer(3, models.load("li_readout"), name="readout")
    net.connect(x, a, scale=3.0)
    net.connect(a, g, scale=2.0)
    net.connect(g, g2, scale=4.0)
    net.connect(g2, q)
    randomise(net, seed + 1)
    return net


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def cartpole_run(tmp_path_factory):
    """One CartPole-v1 teacher trained with the classic preset (seed 0), shared by the tests of
    the teacher, the conversion and the distillation (about half a minute on 2 cores)."""
    from neurorl.algos import dqn

    out = tmp_path_factory.mktemp("cartpole_teacher")
    return dqn.train(dqn.preset_config("CartPole-v1", seed=0), out, progress=False)


@pytest.fixture(scope="session")
def cartpole_teacher(cartpole_run):
    """The trained CartPole teacher as loaded from its checkpoint (a ``QNetwork``)."""
    from neurorl.algos import dqn

    return load_teacher(cartpole_run.out_dir / dqn.TEACHER_FILE)


@pytest.fixture(scope="session")
def dueling_teacher(tmp_path_factory):
    """A CartPole-v1 teacher meant for conversion (preset + ``convert.CONVERSION_TEACHER``,
    seed 0; about 40 s on 2 cores), as loaded from its checkpoint."""
    from neurorl.algos import convert, dqn

    out = tmp_path_factory.mktemp("dueling_teacher")
    cfg = dqn.preset_config("CartPole-v1", seed=0, **convert.CONVERSION_TEACHER)
    dqn.train(cfg, out, progress=False)
    return load_teacher(out / dqn.TEACHER_FILE)


@pytest.fixture
def numpy_target():
    """Brian2's numpy target for one test (no compilation), the previous target restored."""
    import brian2

    old = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "numpy"
    yield
    brian2.prefs.codegen.target = old
