"""`neurorl train-tap` writes an actor that `neurorl evaluate` and `neurorl energy` read, and a run
killed (SIGKILL) and resumed ends exactly where the uninterrupted run does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from neurorl import checkpoint, cli
from neurorl.algos import sacd

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "hidden=16", "--set", "batch_size=4", "--set", "seq_len=8",
        "--set", "eval_every=100", "--set", "eval_episodes=2", "--set", "random_episodes=2"]


def tap_args(out: Path, steps: int = 300, encoder: str = "grsn") -> list[str]:
    return ["train-tap", "--env", "CartPole-V", "--encoder", encoder, "--steps", str(steps),
            "--seed", "3", "--out", str(out), "--checkpoint-every", "100", "--no-progress", *TINY]


def test_train_tap_then_evaluate_and_energy(tmp_path, capsys):
    out = tmp_path / "tap"
    assert cli.main(tap_args(out)) == 0
    assert "grsn on CartPole-V: 300 env steps" in capsys.readouterr().out
    evals = (out / sacd.EVALS_FILE).read_text().splitlines()
    assert evals[0] == "step,mean_greedy_return" and len(evals) == 4
    assert cli.main(["evaluate", str(out / sacd.ACTOR_FILE), "--episodes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "TAP actor" in printed and "CartPole-V: 2 episodes" in printed
    report = tmp_path / "energy.json"
    assert cli.main(["energy", str(out / sacd.ACTOR_FILE), "--samples", "20",
                     "--json", str(report)]) == 0
    chip = json.loads(report.read_text())["chips"][0]
    assert chip["steps_per_decision"] == 1 and chip["decisions"] == 20


def test_killed_and_resumed_run_ends_like_the_uninterrupted_one(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert cli.main(tap_args(straight, steps=400)) == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "neurorl.cli", *tap_args(killed, steps=400)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = killed / sacd.STATE_FILE
    deadline = time.time() + 300
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the checkpoint is written atomically; kill mid-run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    arrays, meta = checkpoint.load(state)
    assert 0 < meta["step"] < 400, (
        "the run should be killed between its first checkpoint and its end"
    )
    assert meta["wall_s"] > 0
    # the resumed run's wall time counts the training before the kill: mark it
    checkpoint.save(state, arrays, {**meta, "wall_s": 1000.0})
    assert cli.main([*tap_args(killed, steps=400), "--resume"]) == 0
    assert checkpoint.load(state)[1]["wall_s"] > 1000.0
    a, _ = checkpoint.load(straight / sacd.ACTOR_FILE)
    b, _ = checkpoint.load(killed / sacd.ACTOR_FILE)
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert (straight / sacd.EVALS_FILE).read_text() == (killed / sacd.EVALS_FILE).read_text()
