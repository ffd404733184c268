"""`neurorl sweep`: specs are checked before anything runs; runs on Dask give the numbers of the
same runs one after another; a worker process killed mid-run is replaced and its run resumed; a
sweep killed mid-way and started again ends with the numbers of an uninterrupted one."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurorl import checkpoint, cli, sweep
from neurorl.algos import sacd
from neurorl.optional import OptionalDependencyError

ROOT = Path(__file__).resolve().parents[1]
TINY = """
[base]
hidden = 16
batch_size = 4
seq_len = 8
eval_every = 100
eval_episodes = 2
random_episodes = 2
checkpoint_every = 100
total_steps = {steps}

[grid]
env_id = "CartPole-V"
encoder = "mlp"
seed = [0, 1]
"""


def write_spec(tmp_path: Path, steps: int = 1200, name: str = "spec.toml", text: str = TINY
               ) -> Path:
    path = tmp_path / name
    path.write_text(text.format(steps=steps))
    return path


def run_ids() -> list[str]:
    return [f"env_id=CartPole-V__encoder=mlp__seed={s}" for s in (0, 1)]


def assert_same_runs(a: Path, b: Path) -> None:
    for run_id in run_ids():
        ra, rb = a / "runs" / run_id, b / "runs" / run_id
        assert (ra / sacd.EVALS_FILE).read_text() == (rb / sacd.EVALS_FILE).read_text()
        assert (ra / "episodes.csv").read_text() == (rb / "episodes.csv").read_text()
        wa, _ = checkpoint.load(ra / sacd.ACTOR_FILE)
        wb, _ = checkpoint.load(rb / sacd.ACTOR_FILE)
        assert set(wa) == set(wb) and all(np.array_equal(wa[k], wb[k]) for k in wa)


def sweep_process(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "neurorl.cli", "sweep", str(spec), "--out", str(out),
         "--no-progress", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the sweep ended before {what}: {proc.stdout.read()}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The two runs one after another in this process (also: the serial path)."""
    tmp = tmp_path_factory.mktemp("straight")
    spec = sweep.load_spec(write_spec(tmp), out=tmp / "out")
    res = sweep.run_sweep(spec, serial=True, progress=False)
    assert res.finished == run_ids() and not res.failed
    rows = {r["id"]: r for r in res.rows}
    assert all(rows[i]["status"] == "done" and rows[i]["steps"] == 1200 for i in run_ids())
    return tmp / "out"


def test_spec_errors_name_the_file_and_the_run(tmp_path):
    with pytest.raises(sweep.SweepError, match=r"bad\.toml: not valid TOML.*line 2"):
        sweep.load_spec(write_spec(tmp_path, name="bad.toml", text="[base]\nhidden = = 3\n"))
    text = TINY.replace("hidden = 16", "hiden = 16")
    with pytest.raises(sweep.SweepError, match=r"typo\.toml \[grid\]: run env_id=CartPole-V__"
                       r"encoder=mlp__seed=0: unknown SACDConfig keys: hiden"):
        sweep.load_spec(write_spec(tmp_path, name="typo.toml", text=text))
    with pytest.raises(sweep.SweepError, match="unknown algorithm 'sacx'"):
        sweep.load_spec(write_spec(tmp_path, name="algo.toml", text=TINY + 'algo = "sacx"\n'))
    with pytest.raises(sweep.SweepError, match="empty list"):
        sweep.load_spec(write_spec(tmp_path, name="empty.toml", text=TINY + "gamma = []\n"))
    with pytest.raises(sweep.SweepError, match=r"unknown table\(s\) grdi"):
        sweep.load_spec(write_spec(tmp_path, name="table.toml", text="[grdi]\nseed = [0]\n"))


def test_grid_blocks_give_a_union_of_products(tmp_path):
    text = """
[sweep]
name = "blocks"
[base]
total_steps = 500
[[grid]]
env_id = ["CartPole-V", "CartPole-P"]
encoder = ["grsn", "gru"]
seed = [0, 1, 2]
[[grid]]
env_id = "Pendulum-V"
algo = "td3"
encoder = "gru"
seed = [0, 1, 2]
total_steps = 2000
"""
    spec = sweep.load_spec(write_spec(tmp_path, text=text))
    assert len(spec.runs) == 2 * 2 * 3 + 3
    assert spec.out == (Path.cwd() / "runs" / "sweeps" / "blocks").resolve()
    pendulum = [r for r in spec.runs if r.config["env_id"] == "Pendulum-V"]
    assert {r.config["total_steps"] for r in pendulum} == {2000}
    assert pendulum[0].id == "env_id=Pendulum-V__algo=td3__encoder=gru__seed=0__total_steps=2000"
    assert spec.runs[0].config == {"total_steps": 500, "env_id": "CartPole-V",
                                   "encoder": "grsn", "seed": 0}


def test_a_folder_made_with_another_config_is_refused_and_kept(tmp_path, straight):
    spec = sweep.load_spec(write_spec(tmp_path, steps=1300), out=straight)
    evals = (straight / "runs" / run_ids()[0] / sacd.EVALS_FILE).read_text()
    with pytest.raises(sweep.SweepError, match="made with total_steps=1200, the spec now says "
                       "total_steps=1300"):
        sweep.run_sweep(spec, serial=True, progress=False)
    assert (straight / "runs" / run_ids()[0] / sacd.EVALS_FILE).read_text() == evals


def test_finished_runs_are_skipped(tmp_path, straight, capsys):
    spec = write_spec(tmp_path)
    assert cli.main(["sweep", str(spec), "--out", str(straight), "--serial",
                     "--no-progress"]) == 0
    assert "0 finished now, 2 finished before, 0 failed" in capsys.readouterr().out
    cells = (straight / sweep.CELLS_FILE).read_text().splitlines()
    assert cells[0].startswith("env_id,encoder,runs,done,") and cells[1].startswith(
        "CartPole-V,mlp,2,2,")


def test_only_runs_the_chosen_cells_and_the_csvs_cover_the_grid(tmp_path, straight, capsys):
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--out", str(out), "--serial", "--no-progress",
                     "--only", "seed=1", "--only", "encoder=mlp"]) == 0
    assert "2 runs (1 chosen by --only); 1 finished now, 0 finished before" in \
        capsys.readouterr().out
    chosen, other = run_ids()[1], run_ids()[0]
    assert not (out / "runs" / other).exists()
    assert (out / "runs" / chosen / sacd.EVALS_FILE).read_text() == \
        (straight / "runs" / chosen / sacd.EVALS_FILE).read_text()
    rows = (out / sweep.RESULTS_FILE).read_text().splitlines()
    assert len(rows) == 3 and any(r.startswith(other) and ",not run" in r for r in rows)
    assert set(json.loads((out / "sweep.json").read_text())["runs"]) == set(run_ids())
    assert cli.main(["sweep", str(spec), "--out", str(out), "--only", "seed=3"]) == 2
    assert "spec.toml: --only seed=3: not in the grid; its values of seed are 0, 1" in \
        capsys.readouterr().err
    with pytest.raises(sweep.SweepError, match="--only sed: not a grid key; the grid's keys "
                       "are env_id, encoder, seed"):
        sweep.load_spec(spec).select({"sed": ["0"]})


def test_dask_sweep_with_a_killed_worker_ends_like_the_straight_runs(tmp_path, straight):
    """One worker process; the worker is killed (SIGKILL) in the middle of a run: Dask starts a
    new worker, the run resumes from its checkpoint and ends where the straight run does."""
    out = tmp_path / "out"
    proc = sweep_process(write_spec(tmp_path), out, "--workers", "1")
    run_dirs = [out / "runs" / i for i in run_ids()]
    wait_for(lambda: any((d / sacd.STATE_FILE).exists() for d in run_dirs), proc,
             "a first checkpoint")
    victim = next(d for d in run_dirs if (d / sacd.STATE_FILE).exists())
    pid = json.loads((victim / sweep.ATTEMPTS_FILE).read_text().splitlines()[0])["pid"]
    os.kill(pid, signal.SIGKILL)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    assert "2 finished now, 0 finished before, 0 failed" in output
    assert "Dask LocalCluster of 1 worker process" in output
    assert json.loads((victim / sweep.SUMMARY_FILE).read_text())["attempts"] == 2
    lines = (victim / sweep.ATTEMPTS_FILE).read_text().splitlines()
    attempts = [json.loads(line) for line in lines]
    assert [a["cpu"] for a in attempts] == [sweep.cpu_model()] * 2
    step = checkpoint.load(victim / sacd.STATE_FILE)[1]["step"]
    assert step == 1200
    assert_same_runs(straight, out)


def test_killed_sweep_resumes_and_ends_like_the_straight_runs(tmp_path, straight):
    """The whole sweep (its process group: client, scheduler, workers) is killed after the first
    run finished and while the second runs; started again, it skips the first and resumes the
    second."""
    out = tmp_path / "out"
    spec = write_spec(tmp_path)
    proc = sweep_process(spec, out, "--workers", "1")
    run_dirs = [out / "runs" / i for i in run_ids()]

    def one_done_one_running() -> bool:
        done = [(d / sweep.SUMMARY_FILE).exists() for d in run_dirs]
        return sum(done) == 1 and any(
            (d / sacd.STATE_FILE).exists() for d, f in zip(run_dirs, done, strict=True) if not f)

    wait_for(one_done_one_running, proc, "one run finished and the other checkpointed")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = sweep_process(spec, out, "--workers", "1")
    output, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, output
    assert "1 finished now, 1 finished before, 0 failed" in output
    assert_same_runs(straight, out)


def test_a_failing_run_is_reported_and_the_others_finish(tmp_path, straight, capsys):
    text = TINY.replace('env_id = "CartPole-V"', 'env_id = ["CartPole-V", "NoSuchEnv-v9"]')
    spec = write_spec(tmp_path, text=text)
    for run_id in run_ids():  # the CartPole runs are finished already: copy them over
        src, dst = straight / "runs" / run_id, tmp_path / "out" / "runs" / run_id
        dst.mkdir(parents=True)
        for f in src.iterdir():
            (dst / f.name).write_bytes(f.read_bytes())
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--serial",
                     "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "0 finished now, 2 finished before, 2 failed" in printed
    assert "failed: env_id=NoSuchEnv-v9__encoder=mlp__seed=0" in printed
    rows = (tmp_path / "out" / sweep.RESULTS_FILE).read_text()
    assert rows.count(",failed") == 2 and rows.count(",done,") == 2


def test_without_dask_the_runs_go_one_after_another(tmp_path, straight, monkeypatch, capsys):
    def missing(module, what, hint):
        raise OptionalDependencyError(f"{what} needs {module}: {hint}")

    monkeypatch.setattr(sweep, "require", missing)
    spec = sweep.load_spec(write_spec(tmp_path), out=tmp_path / "out")
    res = sweep.run_sweep(spec, progress=False)
    assert "Dask is not installed" in capsys.readouterr().out
    assert res.where == "serially in this process" and res.finished == run_ids()
    assert_same_runs(straight, tmp_path / "out")


def test_a_marl_sweep_summarises_returns_and_energy(tmp_path):
    text = """
[sweep]
name = "marl-tiny"
trainer = "train-marl"
[base]
total_steps = 300
batch_size = 4
eval_every = 150
eval_episodes = 2
hidden = 8
embed = 8
[grid]
env_id = "mpe2/simple_spread_v3"
mixer = ["vdn", "qmix"]
encoder = "lif"
seed = 0
"""
    spec = sweep.load_spec(write_spec(tmp_path, text=text), out=tmp_path / "out")
    res = sweep.run_sweep(spec, serial=True, progress=False)
    assert len(res.finished) == 2 and not res.failed
    for row in res.rows:
        assert row["status"] == "done" and row["steps"] == 300 and row["evaluations"] == 2
        assert row["energy_45nm_nj"] >= 4.6e-3 * row["macs_per_decision"]
    with pytest.raises(sweep.SweepError, match="unknown MARLConfig keys: mixr"):
        sweep.load_spec(write_spec(tmp_path, name="bad.toml",
                                   text=text.replace('mixer = ["vdn", "qmix"]', 'mixr = "vdn"')))


def test_cpu_model_reads_the_model_name_and_falls_back_without_one(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU 9000\n")
    assert sweep.cpu_model(info) == "Test CPU 9000"
    fallback = platform.processor() or platform.machine()
    assert sweep.cpu_model(tmp_path / "missing") == fallback
    info.write_text("processor\t: 0\nmodel name\t: \n")  # an empty name is no name
    assert sweep.cpu_model(info) == fallback
