"""The authors' config as benchmarks/bench_tap_peer.py changes it for their train.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

YAML = """train:
  num_iters: 250 # number meta-training iterates
policy:
  algo_name: sac
  sac:
    entropy_alpha: 0.2
    alpha_lr: 0.0003
    target_entropy: 0.7

  td3:
    target_entropy: 0.5
"""


@pytest.fixture(scope="module")
def peer_config():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_tap_peer", ROOT / "benchmarks" / "bench_tap_peer.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module.peer_config


def test_sac_gets_its_default_target_entropy_and_the_budget(peer_config):
    out = peer_config(YAML, 245, "sac", shipped=False)
    assert "num_iters: 245 #" in out and "num_iters: 250" not in out
    assert "    target_entropy: null\n\n  td3:\n    target_entropy: 0.5" in out
    assert out.count("0.7") == 0


def test_shipped_and_discrete_keep_the_target_entropy(peer_config):
    for algo, shipped in (("sac", True), ("sacd", False)):
        out = peer_config(YAML, 45, algo, shipped=shipped)
        assert "target_entropy: 0.7" in out and "num_iters: 45 #" in out


def test_a_config_without_the_lines_to_change_is_refused(peer_config):
    with pytest.raises(ValueError, match="num_iters"):
        peer_config(YAML.replace("num_iters", "iterations"), 45, "sacd", shipped=False)
    with pytest.raises(ValueError, match="target_entropy"):
        peer_config(YAML.replace("    target_entropy: 0.7\n", ""), 45, "sac", shipped=False)
