"""The neurorl command: train-teacher writes its files, evaluate reads them, errors are one line."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from neurorl import cli

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "neurorl.cli", *args], capture_output=True,
                          text=True, env=env, check=False)


def test_train_teacher_then_evaluate(tmp_path):
    out = tmp_path / "teacher"
    r = run_cli("train-teacher", "--env", "CartPole-v1", "--steps", "1500", "--seed", "1",
                "--out", str(out), "--hidden", "32", "--set", "learning_starts=500",
                "--set", "train_freq=16", "--set", "gradient_steps=4", "--checkpoint-every",
                "1000", "--eval-episodes", "3", "--no-progress")
    assert r.returncode == 0, r.stderr
    for name in ("teacher.npz", "metrics.csv", "learning_curve.png", "state.npz", "eval.json"):
        assert (out / name).exists(), name
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header == "step,episode,episode_return,episode_length,epsilon"
    assert json.loads((out / "eval.json").read_text())["episodes"] == 3
    assert "return mean" in r.stdout

    r = run_cli("evaluate", str(out / "teacher.npz"), "--episodes", "2")
    assert r.returncode == 0, r.stderr
    assert "CartPole-v1: 2 episodes" in r.stdout


def test_bad_checkpoint_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert cli.main(["evaluate", str(bad)]) == 2
    r = run_cli("evaluate", str(bad))
    assert r.returncode == 2
    assert "bad.npz" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_config_key_is_reported(capsys):
    assert cli.main(["train-teacher", "--set", "gama=0.9", "--no-progress"]) == 2
    assert "unknown DQN config keys: gama" in capsys.readouterr().err


def test_subcommands_are_registered():
    names = set(cli.COMMANDS)
    assert {"train-teacher", "evaluate", "convert", "distill", "energy", "demo"} <= names
    parser = cli.build_parser()
    for name, (_, add_args, _) in cli.COMMANDS.items():  # each parses its required arguments
        sub = argparse.ArgumentParser()
        add_args(sub)
        positional = ["x.npz" for a in sub._actions if not a.option_strings and a.required]
        assert parser.parse_args([name, *positional]).command == name
