"""Numpy surrogate-gradient kernel derived from Brian2's abstract code.

* :mod:`neurorl.kernel.codegen`: Brian2 abstract code -> numpy step functions and sympy VJPs;
* :mod:`neurorl.kernel.surrogate`: surrogate derivatives of the threshold's Heaviside;
* :mod:`neurorl.kernel.bptt`: :class:`Kernel`, the network forward pass and BPTT.
"""

from neurorl.kernel.bptt import Kernel, KernelCache
from neurorl.kernel.codegen import CompiledModel, KernelCompileError, compile_model
from neurorl.kernel.surrogate import SURROGATES, Surrogate, get_surrogate

__all__ = [
    "SURROGATES",
    "CompiledModel",
    "Kernel",
    "KernelCache",
    "KernelCompileError",
    "Surrogate",
    "compile_model",
    "get_surrogate",
]
