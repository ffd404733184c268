"""Scalar functions for the compiled loops (:mod:`neurorl.kernel.compiled`) that LLVM can
vectorise.

A call to libm's ``exp`` keeps LLVM from vectorising the loop around it, and every gated neuron
(GRSN's sigmoid gates) calls it once per neuron and step. :func:`exp` is written in arithmetic
and one bit cast instead: range reduction x = k·ln 2 + r (|r| ≤ ln 2 / 2, ln 2 split in two
parts), a degree-13 Taylor polynomial for e^r and 2^k built in the exponent bits. It agrees with
numpy's ``exp`` to about 1 ulp (tested), keeps inf and NaN, and flushes results below
2^-1022 (x < -708.4, subnormal in float64) to 0.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["exp", "heaviside"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_OVERFLOW = 709.782712893384  # ln(largest float64)
_UNDERFLOW = -708.3964185322641  # ln(2^-1022)


@intrinsic
def _bits_as_float64(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, inline="always", error_model="numpy")
def exp(x: float) -> float:
    """e**x (float64) in vectorisable arithmetic; see the module docstring."""
    y = min(max(x, _UNDERFLOW), _OVERFLOW)
    k = np.floor(y * _LOG2E + 0.5)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    ki = np.int64(k)
    # 2^k as two factors, so that k = 1024 (x just below the overflow bound) stays finite
    value = p * _bits_as_float64((ki - ki // 2 + 1023) << 52) * _bits_as_float64(
        (ki // 2 + 1023) << 52)
    value = np.inf if x > _OVERFLOW else value
    value = 0.0 if x < _UNDERFLOW else value
    return x if x != x else value


@njit(cache=True, inline="always", error_model="numpy")
def heaviside(x: float, h0: float) -> float:
    """numpy's ``heaviside(x, h0)`` for one value: 0 below 0, ``h0`` at 0, 1 above, NaN kept."""
    if x > 0:
        return 1.0
    if x < 0:
        return 0.0
    if x == 0:
        return h0
    return x
