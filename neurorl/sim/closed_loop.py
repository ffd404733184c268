"""Closed loop: a Brian2 network controls a gymnasium environment, one ``run()`` for all episodes.

Brian2's ``Network.run`` costs ~100 ms per call, so the environment is stepped from inside the
run: a ``network_operation`` every ``T`` simulation steps (slot ``start``) reads what the network
did during the last ``T`` steps, turns it into an action with a *readout*, steps the
environment, optionally resets the network state (decision-by-decision inference, as in DQN
conversion) or keeps it (the temporal alignment paradigm of GRSN), and writes the next
observation into the input layer. ``brian2.stop()`` ends the run when the last episode ends.

A readout is any function ``Window -> action``; :func:`count_readout`, :func:`robust_readout`
and :func:`mean_readout` are the common ones, each the argmax of a readout of
:mod:`neurorl.coding`. All episodes of a call run in one ``run()``: each starts as soon as
the previous one ends (environment and network state reset), so the ~0.5 s that Brian2 spends
before a run is paid once; every window is the simulation steps since its decision, found by
time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import brian2
import numpy as np

from neurorl import coding
from neurorl.network import Network
from neurorl.sim import devices

__all__ = [
    "Episode",
    "Window",
    "closed_loop",
    "count_readout",
    "mean_readout",
    "robust_readout",
]


@dataclass
class Window:
    """What the network did during one decision window of ``T`` steps.

    ``counts[layer]``: spikes per neuron in the window (n,); ``state[layer][var]``: values at
    the end of the window (n,); ``mean[(layer, var)]``: the variable averaged over the window.
    """

    counts: dict[str, np.ndarray]
    state: dict[str, dict[str, np.ndarray]]
    mean: dict[tuple[str, str], np.ndarray]


@dataclass
class Episode:
    """One episode: return, length, and per decision the observation and the action taken."""

    total_reward: float = 0.0
    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def length(self) -> int:
        """Environment steps taken."""
        return len(self.actions)


Readout = Callable[[Window], int]


def count_readout(layer: str) -> Readout:
    """Action = the neuron of ``layer`` with most spikes in the window (first on ties)."""
    return lambda w: int(np.argmax(w.counts[layer]))


def robust_readout(
    layer: str, v_th: float = 1.0, v_init: float = 0.0, variable: str = "v"
) -> Readout:
    """Action = argmax of :func:`neurorl.coding.robust` (Tan et al. 2021) of ``layer``."""
    return lambda w: int(
        np.argmax(coding.robust(w.counts[layer], w.state[layer][variable], v_th, v_init))
    )


def mean_readout(layer: str, variable: str = "v") -> Readout:
    """Action = argmax of ``variable`` of ``layer`` averaged over the window (SDN's readout)."""
    return lambda w: int(np.argmax(w.mean[(layer, variable)]))


def closed_loop(
    net: Network,
    env,
    T: int,
    readout: Readout,
    *,
    episodes: int = 1,
    seed: int = 0,
    preprocess: Callable[[np.ndarray], np.ndarray] | None = None,
    reset_state: bool = True,
    mean_of: tuple[tuple[str, str], ...] = (),
    max_steps: int | None = None,
    target: str = "numpy",
    device: str = "runtime",
    feedback: bool = False,
) -> list[Episode]:
    """Run ``episodes`` episodes of ``env`` controlled by ``net`` in Brian2.

    Args:
        T: simulation steps per environment step.
        readout: turns a :class:`Window` into an action.
        seed: episode ``i`` starts with ``env.reset(seed=seed + i)``.
        preprocess: observation -> input vector (n_in,) (default: flatten as float).
        reset_state: reset every state variable to its initial value before each decision
            (False: the state carries from decision to decision, as under TAP, and is reset at
            the start of every episode only).
        mean_of: (layer, variable) pairs averaged over each window for the readout.
        max_steps: stop an episode after this many environment steps.
        target: Brian2 code generation target (``numpy`` or ``cython``).
        device: a device of :mod:`neurorl.sim.devices` that can call Python during a run
            (``runtime``, ``nc64c``).
        feedback: call ``preprocess(obs, last_action, last_reward)`` (None and 0 at an
            episode's first step), for policies that condition on them.
    """
    if len(net.inputs) != 1:
        raise ValueError("closed_loop drives networks with exactly one input layer")
    if not devices.get(device).closed_loop or devices.get(device).brian2_name is None:
        raise devices.DeviceError(
            f"a Brian2 closed loop cannot run on {device!r}: it needs a Brian2 device that calls "
            "Python during a run (runtime, nc64c); standalone devices run batches only"
        )
    preprocess = preprocess or (lambda obs: np.asarray(obs, dtype=float).ravel())
    with devices.use(device, target=target):
        objs = net.to_brian2(copies=1)
        dt = net.dt * brian2.ms
        spiking = [la for la in net.neuron_layers if la.model.spiking]
        spike_mons = {
            la.name: brian2.SpikeMonitor(objs.groups[la.name], record=False) for la in spiking
        }
        state_mons = {
            key: brian2.StateMonitor(objs.groups[key[0]], key[1], record=True, when="end", dt=dt)
            for key in mean_of
        }
        objs.network.add(*spike_mons.values(), *state_mons.values())
        limit = max_steps if max_steps is not None else _episode_limit(env)
        results: list[Episode] = []
        decide = _decision_operation(net, objs, env, results, episodes, seed, T, readout,
                                     preprocess, reset_state, limit, spike_mons, state_mons,
                                     feedback)
        objs.network.add(decide)
        objs.network.run(episodes * (limit + 1) * T * dt)
        objs.network.remove(decide)
        return results


def _decision_operation(
    net, objs, env, results, episodes, seed, T, readout, preprocess, reset_state, limit,
    spike_mons, state_mons, feedback,
) -> brian2.NetworkOperation:
    """The ``network_operation`` that plays ``episodes`` episodes in one run, every T steps in
    slot ``start``: it reads the window, steps the environment, and at an episode's end starts
    the next one at once (environment reset, network state reset); the last one stops the run."""
    inputs = objs.groups[net.inputs[0].name]
    seen = {name: np.array(mon.count, dtype=float) for name, mon in spike_mons.items()}
    # the episode being played; action and reward: the last step's (fed back on request)
    current = {"ep": None, "obs": None, "t": 0.0, "action": None, "reward": 0.0, "start": 0.0}

    def begin() -> None:
        current["ep"], current["start"] = Episode(), time.perf_counter()
        current["obs"], _ = env.reset(seed=seed + len(results))
        current["action"], current["reward"] = None, 0.0
        for name, mon in spike_mons.items():
            seen[name] = np.array(mon.count, dtype=float)

    @brian2.network_operation(dt=T * net.dt * brian2.ms, when="start", order=-100)
    def decide():
        fresh = current["ep"] is None
        if fresh:
            begin()
        else:
            ep = current["ep"]
            action = readout(_window(objs, net, spike_mons, state_mons, seen, current["t"]))
            ep.observations.append(np.asarray(current["obs"]))
            ep.actions.append(action)
            current["obs"], reward, terminated, truncated, _ = env.step(action)
            current["action"], current["reward"] = action, float(reward)
            ep.total_reward += float(reward)
            if terminated or truncated or ep.length >= limit:
                ep.seconds = time.perf_counter() - current["start"]
                results.append(ep)
                if len(results) == episodes:
                    brian2.stop()
                    return
                begin()
                fresh = True
        if reset_state or fresh:  # every decision, or every episode start
            for layer in net.neuron_layers:
                group = objs.groups[layer.name]
                for var, value in net.initial_state(layer).items():
                    setattr(group, f"{var}_", value)
        if feedback:
            inputs.x_ = preprocess(current["obs"], current["action"], current["reward"])
        else:
            inputs.x_ = preprocess(current["obs"])
        current["t"] = float(objs.network.t_)

    return decide


def _window(objs, net, spike_mons, state_mons, seen, t_start) -> Window:
    counts = {}
    for name, mon in spike_mons.items():
        total = np.array(mon.count, dtype=float)
        counts[name] = total - seen[name]
        seen[name] = total
    state = _LayerStates(objs, net)
    mean = {}
    for key, mon in state_mons.items():
        since = np.asarray(mon.t_) >= t_start - 1e-3 * float(mon.clock.dt_)
        mean[key] = coding.window_mean(np.asarray(getattr(mon, f"{key[1]}_"))[:, since].T)
    return Window(counts, state, mean)


class _LayerStates(dict):
    """``state[layer][var]`` of a :class:`Window`, read from the Brian2 group when first asked
    for (a readout reads one layer; reading every layer each step would cost more than the
    step)."""

    def __init__(self, objs, net) -> None:
        super().__init__()
        self.objs, self.net = objs, net

    def __missing__(self, layer: str) -> dict[str, np.ndarray]:
        group = self.objs.groups[layer]
        values = {v: np.array(getattr(group, f"{v}_"))
                  for v in self.net.layers[layer].model.state_variables}
        self[layer] = values
        return values


def _episode_limit(env) -> int:
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit else 10_000
