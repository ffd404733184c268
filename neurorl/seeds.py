"""Comparing two cells of a sweep over their seeds: the difference of the means, its standard
error and Welch's t-test, which is what a claim such as "TAP beats its no-TAP ablation" rests on
when each side has a handful of seeds.

Welch's test does not assume equal variances; with 3 seeds a side it has 2 to 4 degrees of
freedom, so only large, consistent differences reach p < 0.05. Two sides without any spread
(every seed at the 200-step cap, say) have no standard error: the difference is then exact for
these seeds, and p is 0 when the means differ and 1 when they do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SeedComparison", "compare_seeds"]


@dataclass(frozen=True)
class SeedComparison:
    """``a`` against ``b`` over seeds: means, ``difference`` = mean(a) − mean(b), its standard
    error ``se`` (√(s_a²/n_a + s_b²/n_b), sample variances), Welch's ``t``, degrees of freedom
    ``df`` (Welch–Satterthwaite) and two-sided ``p``; ``ratio`` = mean(a) / mean(b). NaN where a
    side has fewer than 2 seeds (no variance to estimate)."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    difference: float
    ratio: float
    se: float
    t: float
    df: float
    p: float

    def beats(self, alpha: float = 0.05) -> str:
        """``"yes"`` (a above b, p < alpha), ``"not significant"`` (above, p ≥ alpha or too few
        seeds to test), ``"no (equal)"`` (the same mean) or ``"no"`` (a below b)."""
        if self.difference == 0:
            return "no (equal)"
        if not self.difference > 0:
            return "no"
        return "yes" if self.p < alpha else "not significant"


def compare_seeds(a: Sequence[float], b: Sequence[float]) -> SeedComparison:
    """Welch's comparison of the per-seed values ``a`` and ``b`` (any units, the same for both).

    Raises ValueError on an empty side or a non-finite value.
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    for name, x in (("a", xa), ("b", xb)):
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"{name} must be a non-empty list of per-seed values, got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{name} holds a non-finite value: {x.tolist()}")
    n_a, n_b = xa.size, xb.size
    mean_a, mean_b = float(xa.mean()), float(xb.mean())
    diff = mean_a - mean_b
    ratio = mean_a / mean_b if mean_b else float("nan")
    if min(n_a, n_b) < 2:
        nan = float("nan")
        return SeedComparison(n_a, n_b, mean_a, mean_b, diff, ratio, nan, nan, nan, nan)
    va, vb = xa.var(ddof=1) / n_a, xb.var(ddof=1) / n_b
    se = float(np.sqrt(va + vb))
    if se == 0:
        inf = float("inf")
        return SeedComparison(n_a, n_b, mean_a, mean_b, diff, ratio, 0.0,
                              inf if diff else 0.0, inf, 0.0 if diff else 1.0)
    from scipy import stats

    t = diff / se
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    p = float(2 * stats.t.sf(abs(t), df))
    return SeedComparison(n_a, n_b, mean_a, mean_b, diff, ratio, se, float(t), float(df), p)
