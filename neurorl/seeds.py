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

__all__ = ["CLAIM_KINDS", "SeedComparison", "claims_markdown", "compare_seeds", "judge_claim"]


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
        """``"yes"`` (a above b, p < alpha), ``"not significant"`` (above, p ≥ alpha),
        ``"above, untested (1 seed)"`` (above, but a side has one seed: no variance, no test),
        ``"no (equal)"`` (the same mean) or ``"no"`` (a below b)."""
        if self.difference == 0:
            return "no (equal)"
        if not self.difference > 0:
            return "no"
        if np.isnan(self.p):
            return "above, untested (1 seed)"
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


CLAIM_KINDS = ("score", "beats", "energy")


def judge_claim(kind: str, a: Sequence[float], b: Sequence[float], at: float = 0.95,
                floor: float = 0.0) -> dict:
    """One claim of a study, cell ``a`` against cell ``b`` on their per-seed values.

    ``kind``: ``"score"``: a reaches ``at`` of b's score, both normalised from ``floor`` (the
    random policy's return): (mean_a − floor) / (mean_b − floor), which stays meaningful for
    negative returns; ``"beats"``: a above b by Welch's test (:meth:`SeedComparison.beats`);
    ``"energy"``: mean_a ≤ ``at`` × mean_b. Returns the row of a claims table: seeds, means,
    difference, standard error, Welch's df and p, ratio, ``score_ratio`` and ``verdict``.
    """
    if kind not in CLAIM_KINDS:
        raise ValueError(f"unknown claim kind {kind!r}; choose one of {', '.join(CLAIM_KINDS)}")
    c = compare_seeds(a, b)
    span = c.mean_b - floor
    score = (c.mean_a - floor) / span if span > 0 else float("nan")
    verdict = {"score": "yes" if score >= at else "no",
               "energy": "yes" if c.ratio <= at else "no",
               "beats": c.beats()}[kind]
    return {"kind": kind, "seeds_a": c.n_a, "seeds_b": c.n_b, "mean_a": c.mean_a,
            "mean_b": c.mean_b, "difference": c.difference, "se": c.se, "welch_df": c.df,
            "welch_p": c.p, "ratio": c.ratio, "score_ratio": score, "verdict": verdict}


def _decimals(*values: float) -> int:
    """Decimals for a row of returns: two when they are all below 10 in magnitude (scores in
    [0, 1]), else one."""
    return 2 if max(abs(v) for v in values) < 10 else 1


def claims_markdown(rows: Sequence[dict]) -> str:
    """Rows of :func:`judge_claim` (with ``task``, ``claim``, ``a`` and ``b``) as a Markdown
    table: task, claim, the cells and their seeds, what was measured, whether it holds."""
    lines = ["| task | claim | a vs b (seeds) | measured | holds |", "|---|---|---|---|---|"]
    for r in rows:
        d = _decimals(r["mean_a"], r["mean_b"])
        if r["kind"] == "score":
            value = (f"{r['score_ratio']:.2f} of b's score (returns {r['mean_a']:.{d}f} / "
                     f"{r['mean_b']:.{d}f} = {r['ratio']:.2f})")
        elif r["kind"] == "energy":
            value = f"{r['mean_a']:.0f} / {r['mean_b']:.0f} nJ = {r['ratio']:.2f}"
        else:
            p = "p n/a" if np.isnan(r["welch_p"]) else f"p = {r['welch_p']:.3g}"
            se = "" if np.isnan(r["se"]) else f" ± {r['se']:.{d}f}"
            value = (f"{r['mean_a']:.{d}f} vs {r['mean_b']:.{d}f}: {r['difference']:+.{d}f}{se} "
                     f"({p})")
        lines.append(f"| {r['task']} | {r['claim']} | `{r['a']}` vs `{r['b']}` "
                     f"({r['seeds_a']}/{r['seeds_b']}) | {value} | {r['verdict']} |")
    return "\n".join(lines) + "\n"
