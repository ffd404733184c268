"""Optional dependencies: one error for a package that is not installed, one way to import one.

Environments (MinAtar, ale-py, box2d) and Brian2 devices (Brian2GeNN, Brian2CUDA) are optional;
using one that is missing raises :class:`OptionalDependencyError` with the install command, at
first use, never at import of neurorl. The command line turns this error (and no other
``ImportError``) into a one-line message.

``tomllib`` is the standard library's TOML parser from Python 3.11 on, and the package ``tomli``
(the same parser, a dependency on 3.10) before: model files and chip profiles read TOML through
this one name.
"""

from __future__ import annotations

import importlib
from typing import Any

from neurorl import NeurorlError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: setup.cfg installs tomli there
    import tomli as tomllib

__all__ = ["OptionalDependencyError", "require", "tomllib"]


class OptionalDependencyError(NeurorlError, ImportError):
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
