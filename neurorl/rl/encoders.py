"""Recurrent encoders, chosen by name: what turns each environment step's embedded inputs into
features, and carries the memory of a recurrent policy from step to step.

==================  ==============================================================  ============
name                what                                                            memory
==================  ==============================================================  ============
``grsn``            GRSN layer, gates from its own previous spikes (models/grsn)    c, v, o
``grsn_input_gated``  the authors' ``RecurrentLIF``: gates from the input            c, v, o
                    (models/grsn_input_gated)
``lif``             LIF driven by a current, no gates (models/lif_current)          v, o
``grsn_notap``      the ``grsn`` cell without TAP: 4 simulation steps per env       none
                    step from a fresh state, spikes of the last one [the authors'
                    ``GRSNwoTAP`` runs their input-gated cell this way]
``lif_notap``       ``lif`` without TAP (4 steps, fresh state; ``LIFwoTAP``)         none
``gru``, ``lstm``   numpy GRU / LSTM, PyTorch's gates (:mod:`neurorl.ann.recurrent`)  h (, c)
``mlp``             one ReLU layer                                                   none
==================  ==============================================================  ============

Spiking encoders are :class:`~neurorl.network.Network`\\ s with the aligned schedule (one
simulation step per environment step: the step's input reaches the spikes of the same step), run
by the kernel that is derived from their model files; their state is the neurons' state. Every
encoder has the same interface: ``initial_state(B)``, ``forward(x (T, B, n_in), state,
keep_cache)`` ->
``(features (T, B, hidden), cache)``, ``backward(cache, d_features)`` -> ``(grads, d_x)``,
``final_state(cache)``, ``params`` (live arrays, trained in place) and ``reset_rows(state,
mask)``. States are dicts of (B, ...) arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurorl import models
from neurorl.ann.recurrent import GRU, LSTM
from neurorl.network import Network

__all__ = ["ENCODERS", "MLPEncoder", "RNNEncoder", "SpikingEncoder", "make_encoder"]

DTYPE = np.float32
NOTAP_SUBSTEPS = 4  # the authors' "without TAP": simulation steps per environment step
State = dict[str, np.ndarray]


def _reset_rows(state: State, fresh: State, mask: np.ndarray) -> State:
    """``state`` with the rows flagged in ``mask`` replaced by ``fresh``'s."""
    return {k: np.where(mask.reshape(-1, *([1] * (v.ndim - 1))), fresh[k], v)
            for k, v in state.items()}


class SpikingEncoder:
    """``input(n_in) -> hidden neurons of model`` (aligned schedule), output = its spikes.

    ``substeps`` > 1 with ``carry=False`` is the no-TAP variant: each environment step runs
    ``substeps`` simulation steps of the same input from a fresh state and outputs the spikes of
    the last one, so nothing carries over. Surrogate gradient: atan (the authors').
    """

    def __init__(self, n_in: int, hidden: int, model: str, seed: int = 0,
                 substeps: int = 1, surrogate: str = "atan") -> None:
        self.n_in, self.hidden, self.substeps = int(n_in), int(hidden), int(substeps)
        self.carry = self.substeps == 1
        self.net = Network(dt=1.0, seed=seed, schedule="aligned")
        x = self.net.input(self.n_in, name="x")
        self.layer = self.net.layer(self.hidden, models.load(model), name="enc")
        self.net.connect(x, self.layer)
        self.kernel = self.net.kernel(surrogate=surrogate, dtype=DTYPE, output=("enc", "spike"))
        self.params = self.net.params

    def initial_state(self, batch: int) -> State:
        """The neurons' initial state for ``batch`` environments (empty without TAP)."""
        if not self.carry:
            return {}
        init = self.net.initial_state(self.layer)
        return {v: np.full((batch, self.hidden), value, DTYPE) for v, value in init.items()}

    def reset_rows(self, state: State, mask: np.ndarray) -> State:
        """``state`` with the environments of ``mask`` back at the initial state."""
        return _reset_rows(state, self.initial_state(len(mask)), mask) if state else state

    def forward(self, x: np.ndarray, state: State, keep_cache: bool = True
                ) -> tuple[np.ndarray, Any]:
        """Spikes (T, B, hidden) for inputs (T, B, n_in) from ``state`` (``keep_cache=False``:
        inference only, no backward)."""
        x = np.asarray(x, DTYPE)
        if self.carry:
            return self.kernel.forward(x, state={"enc": state} if state else None,
                                       for_backward=keep_cache)
        T, B = x.shape[:2]
        steps = np.broadcast_to(x.reshape(1, T * B, -1), (self.substeps, T * B, self.n_in))
        spikes, cache = self.kernel.forward(steps, for_backward=keep_cache)
        return spikes[-1].reshape(T, B, self.hidden), cache

    def simulation_spikes(self, x: np.ndarray) -> np.ndarray:
        """Spikes (T, B, substeps, hidden) of every simulation step for inputs (T, B, n_in) from
        the initial state (what an energy count reads; ``forward`` gives the last sub-step)."""
        x = np.asarray(x, DTYPE)
        T, B = x.shape[:2]
        if self.carry:
            return self.kernel.forward(x, for_backward=False)[0][:, :, None]
        steps = np.broadcast_to(x.reshape(1, T * B, -1), (self.substeps, T * B, self.n_in))
        spikes = self.kernel.forward(steps, for_backward=False)[0]
        return spikes.reshape(self.substeps, T, B, self.hidden).transpose(1, 2, 0, 3)

    def backward(self, cache: Any, d_features: np.ndarray) -> tuple[dict, np.ndarray]:
        """Gradients of the parameters and of the inputs (T, B, n_in)."""
        d_inputs: dict = {}
        if self.carry:
            grads = self.kernel.backward(d_features, cache, d_inputs)
            return grads, d_inputs["x"]
        T, B = d_features.shape[:2]
        d_out = np.zeros((self.substeps, T * B, self.hidden), DTYPE)
        d_out[-1] = d_features.reshape(T * B, self.hidden)
        grads = self.kernel.backward(d_out, cache, d_inputs)
        return grads, d_inputs["x"].sum(0).reshape(T, B, self.n_in)

    def final_state(self, cache: Any) -> State:
        """The state after the last step of a forward pass (empty without TAP)."""
        return dict(cache.final_state()["enc"]) if self.carry else {}


class RNNEncoder:
    """A numpy GRU or LSTM (:mod:`neurorl.ann.recurrent`), orthogonal recurrent weights and zero
    biases as the authors initialise theirs."""

    def __init__(self, n_in: int, hidden: int, kind: str = "gru", seed: int = 0) -> None:
        self.cell = {"gru": GRU, "lstm": LSTM}[kind](int(n_in), int(hidden))
        self.n_in, self.hidden, self.kind = int(n_in), int(hidden), kind
        self.params = self.cell.init(np.random.default_rng(seed), DTYPE, scheme="orthogonal")

    def initial_state(self, batch: int) -> State:
        """Zeros (B, hidden) for h (and c)."""
        init = self.cell.initial_state(batch, DTYPE)
        return {"h": init} if self.kind == "gru" else {"h": init[0], "c": init[1]}

    def reset_rows(self, state: State, mask: np.ndarray) -> State:
        """``state`` with the environments of ``mask`` back at zero."""
        return _reset_rows(state, self.initial_state(len(mask)), mask)

    def _cell_state(self, state: State):
        return state["h"] if self.kind == "gru" else (state["h"], state["c"])

    def forward(self, x: np.ndarray, state: State, keep_cache: bool = True
                ) -> tuple[np.ndarray, Any]:
        """Hidden states h_1..h_T (T, B, hidden) for inputs (T, B, n_in) from ``state``."""
        return self.cell.forward(self.params, x, self._cell_state(state))

    def backward(self, cache: Any, d_features: np.ndarray) -> tuple[dict, np.ndarray]:
        """Gradients of the parameters and of the inputs (T, B, n_in)."""
        grads, dx, _ = self.cell.backward(self.params, cache, d_features)
        return grads, dx

    def final_state(self, cache: Any) -> State:
        """h_T (and c_T)."""
        last = self.cell.last_state(cache)
        return {"h": last} if self.kind == "gru" else {"h": last[0], "c": last[1]}


class MLPEncoder:
    """One ReLU layer, no memory: the feature of a step depends on that step's input only."""

    def __init__(self, n_in: int, hidden: int, seed: int = 0) -> None:
        self.n_in, self.hidden = int(n_in), int(hidden)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(n_in)
        self.params = {"W": rng.uniform(-bound, bound, (n_in, hidden)).astype(DTYPE),
                       "b": np.zeros(hidden, DTYPE)}

    def initial_state(self, batch: int) -> State:
        """No state."""
        return {}

    def reset_rows(self, state: State, mask: np.ndarray) -> State:
        """No state to reset."""
        return state

    def forward(self, x: np.ndarray, state: State, keep_cache: bool = True
                ) -> tuple[np.ndarray, Any]:
        """ReLU(x W + b) (T, B, hidden)."""
        x = np.asarray(x, DTYPE)
        y = np.maximum(x @ self.params["W"] + self.params["b"], 0)
        return y, (x, y)

    def backward(self, cache: Any, d_features: np.ndarray) -> tuple[dict, np.ndarray]:
        """Gradients of W, b and of the inputs."""
        x, y = cache
        d = d_features * (y > 0)
        flat_x, flat_d = x.reshape(-1, self.n_in), d.reshape(-1, self.hidden)
        grads = {"W": flat_x.T @ flat_d, "b": flat_d.sum(0)}
        return grads, d @ self.params["W"].T

    def final_state(self, cache: Any) -> State:
        """No state."""
        return {}


ENCODERS: dict[str, Any] = {
    "grsn": lambda n_in, hidden, seed: SpikingEncoder(n_in, hidden, "grsn", seed),
    "grsn_input_gated": lambda n_in, hidden, seed: SpikingEncoder(
        n_in, hidden, "grsn_input_gated", seed),
    "lif": lambda n_in, hidden, seed: SpikingEncoder(n_in, hidden, "lif_current", seed),
    "grsn_notap": lambda n_in, hidden, seed: SpikingEncoder(
        n_in, hidden, "grsn", seed, substeps=NOTAP_SUBSTEPS),
    "lif_notap": lambda n_in, hidden, seed: SpikingEncoder(
        n_in, hidden, "lif_current", seed, substeps=NOTAP_SUBSTEPS),
    "gru": lambda n_in, hidden, seed: RNNEncoder(n_in, hidden, "gru", seed),
    "lstm": lambda n_in, hidden, seed: RNNEncoder(n_in, hidden, "lstm", seed),
    "mlp": lambda n_in, hidden, seed: MLPEncoder(n_in, hidden, seed),
}


def make_encoder(name: str, n_in: int, hidden: int = 128, seed: int = 0):
    """The encoder ``name`` (see the module doc); an unknown name lists the known ones."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return ENCODERS[name](n_in, hidden, seed)
