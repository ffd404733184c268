"""Comparisons over seeds (neurorl.seeds) and the GRSN study's claims built on them."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from neurorl.seeds import claims_markdown, compare_seeds, judge_claim

ROOT = Path(__file__).resolve().parents[1]


def test_welch_equals_scipy():
    rng = np.random.default_rng(3)
    for n_a, n_b in ((3, 3), (3, 5), (10, 4)):
        a, b = rng.normal(1.0, 2.0, n_a), rng.normal(0.0, 0.5, n_b)
        c = compare_seeds(a, b)
        ref = stats.ttest_ind(a, b, equal_var=False)
        assert c.t == pytest.approx(ref.statistic, rel=1e-12)
        assert c.p == pytest.approx(ref.pvalue, rel=1e-10)
        assert c.difference == pytest.approx(a.mean() - b.mean())
        assert c.se == pytest.approx(math.sqrt(a.var(ddof=1) / n_a + b.var(ddof=1) / n_b))


def test_verdicts():
    assert compare_seeds([200, 199, 200], [50, 40, 61]).beats() == "yes"
    assert compare_seeds([120, 40, 200], [100, 150, 30]).beats() == "not significant"
    assert compare_seeds([40, 50, 45], [190, 200, 195]).beats() == "no"
    exact = compare_seeds([200, 200, 200], [150, 150, 150])  # no spread on either side
    assert (exact.se, exact.p, exact.beats()) == (0.0, 0.0, "yes")
    tie = compare_seeds([200, 200], [200, 200])
    assert (tie.p, tie.beats()) == (1.0, "no (equal)")
    one = compare_seeds([200], [100, 120])  # one seed: no variance, no test
    assert math.isnan(one.p) and one.difference == 90 and one.beats() == "above, untested (1 seed)"


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="a must be a non-empty"):
        compare_seeds([], [1.0])
    with pytest.raises(ValueError, match="b holds a non-finite value"):
        compare_seeds([1.0, 2.0], [1.0, float("nan")])


def _fig_tap():
    spec = importlib.util.spec_from_file_location("fig_tap", ROOT / "scripts" / "fig_tap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tap_claims_from_cells():
    fig_tap = _fig_tap()

    def runs(finals, energy=100.0):
        return [{"seed": s, "summary": {"final_return": f, "energy_45nm_nj": energy}}
                for s, f in enumerate(finals)]

    cells = {("T", "grsn"): runs([190, 195, 200], energy=40.0),
             ("T", "gru"): runs([200, 200, 199], energy=100.0),
             ("T", "grsn_notap"): runs([50, 60, 55]),
             ("T", "mlp"): runs([150, 30, 200])}
    rows = fig_tap.claims(cells, {"T": 20.0})
    got = {(r["claim"], r["a"], r["b"]): r for r in rows}
    assert len(rows) == 5  # no lif, lif_notap or grsn_input_gated cells: their claims are left out
    score = got[("grsn at >= 95 % of gru", "grsn", "gru")]
    assert score["score_ratio"] == pytest.approx((195 - 20) / (199.6667 - 20), rel=1e-4)
    assert score["verdict"] == "yes"
    assert got[("TAP beats no TAP", "grsn", "grsn_notap")]["verdict"] == "yes"
    assert got[("memory beats mlp", "grsn", "mlp")]["verdict"] == "not significant"
    energy = got[("energy grsn <= 0.5 x gru", "grsn", "gru")]
    assert (energy["ratio"], energy["verdict"]) == (pytest.approx(0.4), "yes")
    table = claims_markdown(rows)
    assert table.count("\n") == len(rows) + 2 and "p = " in table


def test_judge_claim_kinds_and_thresholds():
    # score from the random floor: (-60 - -100) / (-55 - -100) = 0.889 of b's score
    score = judge_claim("score", [-61.0, -60.0, -59.0], [-56.0, -55.0, -54.0], at=0.9,
                        floor=-100.0)
    assert score["score_ratio"] == pytest.approx(40 / 45) and score["verdict"] == "no"
    assert judge_claim("score", [-61.0, -60.0, -59.0], [-56.0, -55.0, -54.0], at=0.85,
                       floor=-100.0)["verdict"] == "yes"
    assert judge_claim("energy", [30.0], [100.0], at=0.5)["verdict"] == "yes"
    assert judge_claim("energy", [60.0], [100.0], at=0.5)["verdict"] == "no"
    beats = judge_claim("beats", [10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    assert beats["verdict"] == "yes" and beats["welch_p"] < 0.01
    with pytest.raises(ValueError, match="unknown claim kind 'better'"):
        judge_claim("better", [1.0], [1.0])
