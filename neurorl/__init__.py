"""neurorl: spiking reinforcement learning on Brian2.

Neuron models are Brian2 equations (``models/*.toml``); networks of them are built once
(:class:`Network`) and either handed to Brian2 (:meth:`Network.to_brian2`) or compiled into a numpy
surrogate-gradient kernel derived from Brian2's own abstract code (:meth:`Network.kernel`).

Brian2 is imported on first use of ``models`` or ``Network``, so numpy-only parts (the DQN teacher,
``optim``, ``nn``) start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Network", "models"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "models":
        return importlib.import_module("neurorl.models")
    if name == "Network":
        return importlib.import_module("neurorl.network").Network
    raise AttributeError(f"module 'neurorl' has no attribute {name!r}")
