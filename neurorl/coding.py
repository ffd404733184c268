"""Encoders and readouts: how an observation enters a spiking network and how an action leaves.

The one definition of each, used by conversion, distillation, the spiking DQN, the closed loop,
batch replay and the chip estimates.

Encoder:

* :func:`constant_current`: the (scaled) observation as an analog current, the same value on
  every one of the T steps of a decision (Tan et al. 2021; SDN's input). No Poisson sampling.

Readouts of the output layer over one decision window of T steps:

* :func:`spike_count`: spikes per neuron in the window;
* :func:`robust`: spike count × v_th + final membrane − initial membrane (Tan et al.'s robust
  readout, see its docstring for how the initial membrane enters);
* :func:`window_mean`: a variable averaged over the window (SDN's readout membrane);
* :func:`last_step`: a variable at the end of the window.
"""

from __future__ import annotations

import numpy as np

__all__ = ["constant_current", "last_step", "robust", "spike_count", "window_mean"]


def constant_current(
    obs: np.ndarray, T: int, scale: float | np.ndarray | None = None
) -> np.ndarray:
    """Observations (N, *obs_shape) -> input currents (T, N, n_in), float64, constant in time.

    Each observation is flattened to n_in values and multiplied by ``scale`` (a float, an
    (n_in,) array of per-dimension factors, or None for raw values). The result is a read-only
    broadcast view: T copies cost no memory.
    """
    if T < 1:
        raise ValueError(f"T (simulation steps per decision) must be ≥ 1, got {T}")
    obs = np.asarray(obs)
    x = obs.reshape(len(obs), -1).astype(np.float64)
    if scale is not None:
        x = x * np.asarray(scale, np.float64)
    return np.broadcast_to(x, (int(T), *x.shape))


def spike_count(spikes: np.ndarray) -> np.ndarray:
    """Spikes per neuron over the window: (T, ..., n) -> (..., n)."""
    return np.asarray(spikes).sum(0)


def robust(
    counts: np.ndarray, v_final: np.ndarray, v_th: float | np.ndarray = 1.0,
    v_init: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Tan et al.'s robust readout: ``counts · v_th + v_final − v_init`` (..., n).

    For an integrate-and-fire neuron with reset by subtraction and no leak, the membrane after
    the window is ``v_final = v_init + (integrated input) − v_th · counts``, so this is exactly
    the input the neuron integrated: no quantisation error, and negative values keep their
    sign. The initial membrane ``v_init`` (the model's initial ``v``) enters as an offset: equal
    for every output neuron, it never changes the argmax, but without subtracting it the value is
    not the integrated input, so every neurorl readout subtracts it.
    """
    return np.asarray(counts) * v_th + np.asarray(v_final) - v_init


def window_mean(values: np.ndarray) -> np.ndarray:
    """A variable averaged over the window: (T, ..., n) -> (..., n)."""
    return np.asarray(values).mean(0)


def last_step(values: np.ndarray) -> np.ndarray:
    """A variable at the end of the window: (T, ..., n) -> (..., n)."""
    return np.asarray(values)[-1]
