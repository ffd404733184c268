"""Scalar functions for the compiled loops (:mod:`neurorl.kernel.compiled`) that LLVM can
vectorise.

A call to libm's ``exp`` keeps LLVM from vectorising the loop around it, and every gated neuron
(GRSN's sigmoid gates) calls it once per neuron and step. :func:`exp` is written in arithmetic
and one bit cast instead: range reduction x = k·ln 2 + r (|r| ≤ ln 2 / 2, ln 2 split in two
parts), a degree-13 Taylor polynomial for e^r and 2^k built in the exponent bits. It agrees with
numpy's ``exp`` to about 1 ulp (tested), keeps inf and NaN, and flushes results below
2^-1022 (x < -708.4, subnormal in float64) to 0.

:func:`exp32` is the same in float32 arithmetic (a degree-7 polynomial), for loops whose data
are float32 (the GRU's and LSTM's gates): twice the vector lanes and half the terms. Within
about 1 ulp of float32 e^x on [-87, 88], where it clamps (e^-87 and e^88 are the smallest and
largest normal values it returns; NaN stays NaN).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["exp", "exp32", "heaviside"]

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


@intrinsic
def _bits_as_float32(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


_F = np.float32
_LOG2E_F, _HALF_F = _F(_LOG2E), _F(0.5)
_LN2_HI_F, _LN2_LO_F = _F(0.693145751953125), _F(1.428606765330187e-06)  # ln 2 = hi + lo
_LO_F, _HI_F = _F(-87.0), _F(88.0)
_P7, _P6, _P5, _P4 = _F(1 / 5040), _F(1 / 720), _F(1 / 120), _F(1 / 24)
_P3, _P2, _ONE_F = _F(1 / 6), _F(0.5), _F(1.0)
_BIAS_F, _MANTISSA_BITS = np.int32(127), np.int32(23)


@njit(cache=True, inline="always", error_model="numpy")
def exp32(x: float) -> float:
    """e**x in float32 arithmetic, vectorisable, clamped to [-87, 88]; see the module docstring."""
    y = min(max(x, _LO_F), _HI_F)
    k = np.floor(y * _LOG2E_F + _HALF_F)
    r = (y - k * _LN2_HI_F) - k * _LN2_LO_F
    p = _P7
    p = p * r + _P6
    p = p * r + _P5
    p = p * r + _P4
    p = p * r + _P3
    p = p * r + _P2
    p = p * r + _ONE_F
    p = p * r + _ONE_F
    return p * _bits_as_float32((np.int32(k) + _BIAS_F) << _MANTISSA_BITS)


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
