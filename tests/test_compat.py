"""Checkpoints are file format: files written before the package layout moved still load and give
the numbers the old code computed; every kind neurorl writes loads as a policy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurorl import cli
from neurorl.algos.checkpoints import KINDS, load_policy
from neurorl.algos.distill import StudentPolicy, build_student, load_student
from neurorl.ann.qnetwork import load_teacher

DATA = Path(__file__).parent / "data"
EXPECTED = json.loads((DATA / "expected_v0.json").read_text())
OBS = np.array(EXPECTED["obs"])


@pytest.mark.parametrize("name", ["teacher", "teacher_dueling"])
def test_old_teachers_load_and_compute_the_same(name):
    q = load_teacher(DATA / f"{name}_v0.npz")
    expected = np.array(EXPECTED[name]["q_values"])
    # float32 sums of terms as large as the largest Q-value: another BLAS build's summation order
    # moves a Q-value near 0 by an ulp of that scale (numpy 2.3.5 here: 1.5e-8 on 2e-3)
    np.testing.assert_allclose(q.q_values(OBS), expected, rtol=1e-6,
                               atol=1e-6 * float(np.abs(expected).max()))
    np.testing.assert_array_equal(q.act(OBS), EXPECTED[name]["actions"])
    loaded = load_policy(DATA / f"{name}_v0.npz")
    assert loaded.kind == ("dueling teacher" if "dueling" in name else "teacher")
    assert loaded.env_id == "CartPole-v1"


def test_old_student_loads_and_computes_the_same():
    policy, meta = load_student(DATA / "student_v0.npz")
    factor = EXPECTED["student"]["obs_factor"]
    np.testing.assert_allclose(policy.logits(OBS * factor), EXPECTED["student"]["logits"],
                               atol=1e-12)
    np.testing.assert_array_equal(policy.act(OBS * factor), EXPECTED["student"]["actions"])
    loaded = load_policy(DATA / "student_v0.npz")
    assert loaded.kind == "SDN student" and loaded.policy.T == 8


def test_unknown_kind_names_the_known_ones(tmp_path):
    net = build_student(4, 2, (3,))
    path = net.save(tmp_path / "net.npz", {"env": "CartPole-v1"})  # a Network, no policy
    with pytest.raises(ValueError, match="known: " + ", ".join(KINDS)):
        load_policy(path)
    assert cli.main(["evaluate", str(path)]) == 2


def test_evaluate_prints_the_return_of_a_student(tmp_path, capsys):
    policy = StudentPolicy(build_student(4, 2, (6,), seed=1), 4, np.full(4, 3.0))
    path = policy.save(tmp_path / "student.npz", {"env": "CartPole-v1"})
    assert cli.main(["evaluate", str(path), "--episodes", "3"]) == 0
    out = capsys.readouterr().out
    assert "SDN student" in out and "CartPole-v1: 3 episodes" in out and "return mean" in out
