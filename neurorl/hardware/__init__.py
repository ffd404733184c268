"""Neuromorphic hardware: chip profiles, mapping, fixed point, event counts, latency and energy.

* :mod:`~neurorl.hardware.profiles` — TOML profiles (``nc64c``, ``loihi``, ``truenorth``,
  ``cpu_45nm``, ``gpu_a100``), every number with its source or the word "assumed";
* :mod:`~neurorl.hardware.mapping` — greedy placement on cores under per-core limits;
* :mod:`~neurorl.hardware.quantize` — the profile's fixed point (round to nearest, saturate);
* :mod:`~neurorl.hardware.counting` — spikes, synaptic operations, neuron updates, router hops
  per copy, step and core;
* :mod:`~neurorl.hardware.report` — latency and energy per decision, table and JSON (the
  ``neurorl energy`` command in :mod:`neurorl.cli` prints them);
* :mod:`~neurorl.hardware.ann` — MACs and energy of the DNN on CPU/GPU profiles;
* :mod:`~neurorl.hardware.estimate` — ``estimate(net, inputs, profile)`` for a neurorl Network;
* :mod:`~neurorl.hardware.device` — the Brian2 devices ``"nc64c"`` and ``"chip"``
  (``set_device("nc64c", profile=..., **overrides)``), doing the same on any Brian2 network.

Importing this package stays light (no Brian2) unless Brian2 is already imported, in which case
the devices are registered at once; otherwise ``import neurorl.hardware.device`` (or touching
``neurorl.hardware.ChipDevice``) registers them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = [
    "ChipDevice",
    "ChipReport",
    "MappingError",
    "ProfileError",
    "dnn_cost",
    "estimate",
    "load_profile",
    "map_network",
]

_WHERE = {
    "ChipDevice": "device",
    "ChipReport": "report",
    "MappingError": "mapping",
    "ProfileError": "profiles",
    "available_profiles": "profiles",
    "dnn_cost": "ann",
    "estimate": "estimate",
    "load_profile": "profiles",
    "map_network": "mapping",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"neurorl.hardware.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'neurorl.hardware' has no attribute {name!r}")


if "brian2" in sys.modules:  # a Brian2 user: make set_device("nc64c") work right away
    importlib.import_module("neurorl.hardware.device")
