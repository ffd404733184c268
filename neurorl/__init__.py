"""neurorl: spiking reinforcement learning on Brian2.

Neuron models are Brian2 equations (``models/*.toml``); networks of them are built once
(:class:`Network`) and either handed to Brian2 (:meth:`Network.to_brian2`) or compiled into a numpy
surrogate-gradient kernel derived from Brian2's own abstract code (:meth:`Network.kernel`).

Brian2 is imported on first use of ``models`` or ``Network``, so numpy-only parts (the DQN teacher,
``optim``, ``nn``) start fast.

Every error a user's input can cause is a :class:`NeurorlError` (``ModelError``,
``NetworkError``, ``KernelCompileError``, ``OptionalDependencyError``, ...), whose message names
the file, line or value at fault; uncaught, it prints as Python prints any error, without the
"Brian 2 encountered an unexpected error, please report" banner (:func:`quiet_brian2_banner`).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["Network", "NeurorlError", "models", "quiet_brian2_banner"]
__version__ = "0.1.0"


class NeurorlError(Exception):
    """Base of the errors neurorl raises for what a user gave it (model file, network, inputs,
    options); the message says what is wrong and where. Subclasses also derive from the builtin
    error they refine (``ValueError``, ``ImportError``)."""


def quiet_brian2_banner() -> None:
    """Make an uncaught :class:`NeurorlError` print without Brian2's "please report" banner.

    Importing Brian2 replaces ``sys.excepthook`` with ``brian2.utils.logger.brian_excepthook``,
    which logs every uncaught exception as a Brian2 bug. This wraps the current hook (idempotent):
    a neurorl error goes to Python's own hook (the traceback and the one-line message), anything
    else to the wrapped hook. Called on import of neurorl and again after neurorl imports Brian2
    (:mod:`neurorl.models`), so the order of imports does not matter.
    """
    previous = sys.excepthook
    if getattr(previous, "neurorl_quiet", False):
        return

    def hook(exc_type, exc, tb) -> Any:
        if isinstance(exc_type, type) and issubclass(exc_type, NeurorlError):
            return sys.__excepthook__(exc_type, exc, tb)
        return previous(exc_type, exc, tb)

    hook.neurorl_quiet = True  # type: ignore[attr-defined]
    sys.excepthook = hook


quiet_brian2_banner()


def __getattr__(name: str) -> Any:
    if name == "models":
        return importlib.import_module("neurorl.models")
    if name == "Network":
        return importlib.import_module("neurorl.network").Network
    raise AttributeError(f"module 'neurorl' has no attribute {name!r}")
