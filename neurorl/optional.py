"""Optional dependencies: one error for a package that is not installed, one way to import one.

Environments (MinAtar, ale-py, box2d) and Brian2 devices (Brian2GeNN, Brian2CUDA) are optional;
using one that is missing raises :class:`OptionalDependencyError` with the install command, at
first use, never at import of neurorl. The command line turns this error (and no other
``ImportError``) into a one-line message.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["OptionalDependencyError", "require"]


class OptionalDependencyError(ImportError):
    """A feature needs a package that is not installed (the message says what to install)."""


def require(module: str, what: str, hint: str) -> Any:
    """Import ``module`` or raise :class:`OptionalDependencyError` naming ``what`` and ``hint``."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise OptionalDependencyError(
            f"{what} needs the optional package '{module}', which is not installed; "
            f"install it with: {hint}"
        ) from err
