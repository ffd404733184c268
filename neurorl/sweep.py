"""``neurorl sweep SPEC.toml``: a grid of training runs on Dask distributed, resumable.

A spec names a trainer, the config keys every run shares and a grid; each point of the grid is
one run::

    [sweep]
    name = "tap-cartpole"          # default: the spec file's name
    trainer = "train-tap"          # what each run is: train-tap or train-marl
    out = "runs/sweeps/tap-cartpole"  # default: runs/sweeps/<name>, relative to the current folder

    [base]                         # config keys of every run
    algo = "sacd"
    total_steps = 10000

    [grid]                         # one run per combination of these values
    env_id = ["CartPole-V", "CartPole-P"]
    encoder = ["grsn", "gru", "mlp"]
    seed = [0, 1, 2]

``[[grid]]`` (an array of tables) gives a union of such products, for blocks with their own
values (``[[grid]]`` with ``env_id = "Pendulum-V"`` and ``algo = "td3"``, another with the
CartPole tasks); a single value in a grid table is a fixed key of that block. Every key is a
field of the trainer's config (for ``train-tap``: ``algo`` and the fields of ``SACDConfig``,
``TD3Config`` or ``SACConfig``; for ``train-marl``: the fields of ``MARLConfig``); a key the
trainer does not know is an error before anything runs.

Each run has a folder ``OUT/runs/<id>``, the id made of its grid keys
(``env_id=CartPole-V__encoder=grsn__seed=0``), holding ``config.json``, the trainer's files (for
``train-tap``: ``evals.csv``, ``actor.npz``, the resume state ``state.npz``), ``episodes.csv``,
``attempts.jsonl`` (one line per start: process id, host, CPU model, time; the runs of one
sweep may come from several machines, and wall times compare only on the same CPU) and, once
finished, ``summary.json``. A run with a ``summary.json`` is skipped on a rerun; an unfinished one
continues from its resume state, so a sweep killed half-way and started again ends with the
numbers of an uninterrupted one. At the end ``OUT/results.csv`` holds one row per run and
``OUT/cells.csv`` the mean and spread over seeds per grid cell.

Where the runs execute:

* a Dask ``LocalCluster`` (default): ``--workers N`` worker processes (default: the number of
  cores), one run at a time each, with ``OMP/OPENBLAS/MKL_NUM_THREADS = cores // N`` so that N
  workers do not oversubscribe the cores. A run whose worker process dies is started again on a
  fresh worker (Dask's ``allowed-failures``, ``--retries``), from its resume state;
* an existing cluster, ``--scheduler tcp://HOST:8786`` (e.g. ``dask-jobqueue``'s
  ``SLURMCluster``; the workers need neurorl installed and ``OUT`` on a shared file system);
* without Dask (``pip install 'neurorl[sweep]'`` adds it) or with ``--serial``: the same runs one
  after another in this process.

``--only KEY=VALUE[,VALUE...]`` (``run_sweep(only=...)``) runs just the runs with those values of
grid keys (one core's or one machine's share); the CSVs and ``sweep.json`` cover the whole grid.

A run that raises is recorded as failed (``error.txt`` in its folder) and the others go on; the
command then exits with status 1. Nothing here schedules work: Dask's futures do.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import platform
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurorl import NeurorlError
from neurorl.optional import require, tomllib
from neurorl.plots import write_csv

__all__ = ["Run", "Sweep", "SweepError", "SweepResult", "aggregate", "build", "cpu_model",
           "final_return", "load_spec", "run_one", "run_sweep"]

CONFIG_FILE, SUMMARY_FILE, ATTEMPTS_FILE, ERROR_FILE = (
    "config.json", "summary.json", "attempts.jsonl", "error.txt")
RESULTS_FILE, CELLS_FILE = "results.csv", "cells.csv"
COST_DECISIONS = 500  # greedy steps on which a trained actor's spikes and energy are counted
COST_EPISODES = 10  # greedy episodes on which multi-agent networks are counted
FINAL_EVALS = 5  # the final return is the mean of the last 5 greedy evaluations (authors' train.py)


def final_return(returns: Sequence[float]) -> float:
    """A run's final greedy return: the mean of its last ``FINAL_EVALS`` evaluations (NaN with
    none)."""
    return float(np.mean(returns[-FINAL_EVALS:])) if len(returns) else float("nan")


class SweepError(NeurorlError, ValueError):
    """A spec that cannot run (bad TOML, unknown key, a run folder made with another config)."""


@dataclass(frozen=True)
class Run:
    """One point of the grid: its id (folder name) and its full config."""

    id: str
    config: dict[str, Any]


@dataclass
class Sweep:
    """A parsed spec: name, trainer, output folder, the runs and the keys that make their ids."""

    name: str
    trainer: str
    out: Path
    runs: list[Run]
    grid_keys: list[str]
    spec_path: Path | None = None

    def run_dir(self, run: Run) -> Path:
        """The folder of ``run``: ``OUT/runs/<id>``."""
        return self.out / "runs" / run.id

    def select(self, only: Mapping[str, Sequence[str]]) -> list[Run]:
        """The runs whose grid keys take one of the given values (``{"encoder": ["gru",
        "lstm"], "seed": ["0"]}``, values as their text); a key that is not a grid key, or a
        value the grid does not have, is a :class:`SweepError` naming it and the spec."""
        where = str(self.spec_path) if self.spec_path else f"sweep {self.name}"
        for key, values in only.items():
            if key not in self.grid_keys:
                raise SweepError(f"{where}: --only {key}: not a grid key; the grid's "
                                 f"keys are {', '.join(self.grid_keys)}")
            known = list(dict.fromkeys(str(r.config.get(key)) for r in self.runs))
            unknown = [v for v in values if v not in known]
            if unknown:
                raise SweepError(f"{where}: --only {key}={','.join(unknown)}: not in "
                                 f"the grid; its values of {key} are {', '.join(known)}")
        return [r for r in self.runs
                if all(str(r.config.get(k)) in values for k, values in only.items())]


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: runs finished now, skipped (finished before) and failed
    (id → reason), the rows of ``results.csv`` and the wall time in s."""

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    where: str = ""


# --------------------------------------------------------------------------------------------
# trainers: check a config before anything runs; run it in a folder and summarise it
# --------------------------------------------------------------------------------------------
def _tap_config(config: dict[str, Any]):
    from neurorl.algos import recurrent_algorithm

    settings = dict(config)
    module, config_class = recurrent_algorithm(str(settings.pop("algo", "sacd")))
    return module, config_class.from_dict(settings)


def _check_tap(config: dict[str, Any]) -> None:
    _tap_config(config)


def _train_tap(config: dict[str, Any], run_dir: Path, progress: bool) -> dict[str, Any]:
    module, cfg = _tap_config(config)
    res = module.train(cfg, run_dir, progress=progress, resume=True)
    write_csv(run_dir / "episodes.csv",
              [{"step": s, "return": r, "length": n} for s, r, n in res.episodes],
              float_format=None)
    returns = [r for _, r in res.evals]
    summary = {
        "final_return": final_return(returns),
        "best_return": max(returns, default=float("nan")),
        "evaluations": len(returns),
        "steps": res.steps,
        "updates": res.updates,
        "episodes": len(res.episodes),
        "wall_s": res.wall_s,
    }
    return {**summary, **_decision_cost(run_dir / module.ACTOR_FILE, cfg.env_id, cfg.eval_seed)}


def _decision_cost(actor_path: Path, env_id: str, seed: int) -> dict[str, float]:
    """Spikes and the 45 nm operation count per decision of the trained actor, on
    :data:`COST_DECISIONS` steps of its greedy episodes (:mod:`neurorl.hardware.recurrent_ops`)."""
    from neurorl.algos.checkpoints import load_policy
    from neurorl.hardware.recurrent_ops import decision_ops, visited_inputs

    policy = load_policy(actor_path).policy
    ops = decision_ops(policy.actor, visited_inputs(policy, env_id, COST_DECISIONS, seed))
    energy = ops.energy_pj()
    return {"spikes_per_step": ops.spikes, "macs_per_decision": ops.macs,
            "sops_per_decision": ops.sops, "energy_45nm_nj": energy["total"] / 1e3,
            **{f"energy_45nm_{part}_nj": energy[part] / 1e3 for part in ("embed", "encoder",
                                                                          "head")}}


def _check_marl(config: dict[str, Any]) -> None:
    from neurorl.algos import marl

    marl.MARLConfig.from_dict(config)


def _train_marl(config: dict[str, Any], run_dir: Path, progress: bool) -> dict[str, Any]:
    from neurorl.algos import marl
    from neurorl.hardware.recurrent_ops import marl_decision_ops

    cfg = marl.MARLConfig.from_dict(config)
    res = marl.train(cfg, run_dir, progress=progress, resume=True)
    write_csv(run_dir / "episodes.csv",
              [{"step": s, "return": r, "length": n} for s, r, n in res.episodes],
              float_format=None)
    returns = [r for _, r in res.evals]
    agent = res.learner.agent
    ops = marl_decision_ops(agent, marl.visited_inputs(agent, cfg.env_id, COST_EPISODES,
                                                       cfg.eval_seed))
    energy = ops.energy_pj()
    return {
        "final_return": final_return(returns),
        "best_return": max(returns, default=float("nan")),
        "evaluations": len(returns), "steps": res.steps, "updates": res.updates,
        "episodes": len(res.episodes), "wall_s": res.wall_s,
        "spikes_per_step": ops.spikes, "macs_per_decision": ops.macs,
        "sops_per_decision": ops.sops, "energy_45nm_nj": energy["total"] / 1e3,
        **{f"energy_45nm_{part}_nj": energy[part] / 1e3 for part in ("embed", "encoder",
                                                                     "head")},
    }


Trainer = tuple[Callable[[dict[str, Any]], None], Callable[[dict[str, Any], Path, bool], dict]]
TRAINERS: dict[str, Trainer] = {"train-tap": (_check_tap, _train_tap),
                                "train-marl": (_check_marl, _train_marl)}


# --------------------------------------------------------------------------------------------
# the spec
# --------------------------------------------------------------------------------------------
def _expand(block: dict[str, Any], where: str) -> Iterator[dict[str, Any]]:
    keys = list(block)
    values = []
    for key in keys:
        v = block[key]
        if isinstance(v, list):
            if not v:
                raise SweepError(f"{where}: grid key {key!r} has an empty list")
            values.append(v)
        elif isinstance(v, dict):
            raise SweepError(f"{where}: grid key {key!r} is a table; give a value or a list")
        else:
            values.append([v])
    for combo in itertools.product(*values):
        yield dict(zip(keys, combo, strict=True))


def _id_part(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return "".join(c if c.isalnum() or c in "-._+" else "-" for c in text)


def load_spec(path: str | Path, out: str | Path | None = None,
              overrides: dict[str, Any] | None = None) -> Sweep:
    """Parse and check a sweep spec (see the module doc); ``out`` overrides its output folder,
    ``overrides`` config keys of every run (over ``[base]`` and the grid; the ids stay).

    Every run's config is checked by its trainer here, so an unknown key or a bad value is one
    :class:`SweepError` naming the spec file and the run, before any run starts.
    """
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SweepError(f"sweep spec {path} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"{path}: not valid TOML: {err}") from None
    unknown = sorted(set(spec) - {"sweep", "base", "grid"})
    if unknown:
        raise SweepError(f"{path}: unknown table(s) {', '.join(unknown)}; "
                         "a spec has [sweep], [base] and [grid] (or [[grid]])")
    head = spec.get("sweep", {})
    bad = sorted(set(head) - {"name", "trainer", "out"})
    if bad:
        raise SweepError(f"{path}: unknown [sweep] key(s) {', '.join(bad)}")
    name = str(head.get("name", path.stem))
    trainer = str(head.get("trainer", "train-tap"))
    out_dir = out if out is not None else head.get("out")
    sweep = build(name, spec.get("grid", {}), base=spec.get("base", {}), out=out_dir,
                  trainer=trainer, overrides=overrides, source=str(path))
    sweep.spec_path = path
    return sweep


def build(name: str, grid: dict[str, Any] | list[dict[str, Any]],
          base: dict[str, Any] | None = None, out: str | Path | None = None,
          trainer: str = "train-tap", overrides: dict[str, Any] | None = None,
          source: str = "<grid>") -> Sweep:
    """A sweep from a grid given in code: ``grid`` a table (one product) or a list of tables (a
    union), ``base`` the keys every run shares, ``out`` the output folder (default
    runs/sweeps/NAME); the same checks as :func:`load_spec`, errors naming ``source``."""
    if trainer not in TRAINERS:
        raise SweepError(f"{source}: unknown trainer {trainer!r}; known: {', '.join(TRAINERS)}")
    blocks = [grid] if isinstance(grid, dict) else list(grid)
    grid_keys: list[str] = []
    runs: list[Run] = []
    seen: set[str] = set()
    for b, block in enumerate(blocks):
        where = f"{source} [grid]" if len(blocks) == 1 else f"{source} [[grid]] #{b + 1}"
        grid_keys += [k for k in block if k not in grid_keys]
        for point in _expand(block, where):
            run_id = "__".join(f"{k}={_id_part(v)}" for k, v in point.items()) or "run"
            if run_id in seen:
                raise SweepError(f"{where}: run {run_id} appears twice in the grid")
            config = {**(base or {}), **point, **(overrides or {})}
            try:
                TRAINERS[trainer][0](config)
            except (ValueError, TypeError) as err:
                raise SweepError(f"{where}: run {run_id}: {err}") from None
            seen.add(run_id)
            runs.append(Run(run_id, config))
    if not runs:
        raise SweepError(f"{source}: the grid is empty")
    out_dir = Path(out if out is not None else Path("runs") / "sweeps" / name)
    return Sweep(name, trainer, out_dir.resolve(), runs, grid_keys)


# --------------------------------------------------------------------------------------------
# one run (in a worker process, or in this one)
# --------------------------------------------------------------------------------------------
def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


@contextlib.contextmanager
def _folder_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder: a worker orphaned by a killed sweep that is
    still writing there makes a new attempt wait instead of both writing the same files."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(run_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The processor's model name (the "model name" line of Linux's ``cpuinfo`` file; without
    one, ``platform.processor()`` or the architecture), for telling apart wall times measured on
    different machines."""
    with contextlib.suppress(OSError):
        for line in Path(cpuinfo).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def run_one(trainer: str, config: dict[str, Any], run_dir: str | Path,
            progress: bool = False) -> dict[str, Any]:
    """Run one config in ``run_dir`` (resuming from its state), write and return its summary.

    A finished run (``summary.json`` present) returns that summary without training again.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with _folder_lock(run_dir):
        summary_path = run_dir / SUMMARY_FILE
        if summary_path.exists():
            return json.loads(summary_path.read_text())
        _write_json(run_dir / CONFIG_FILE, config)
        with open(run_dir / ATTEMPTS_FILE, "a") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "cpu": cpu_model(),
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
        (run_dir / ERROR_FILE).unlink(missing_ok=True)
        try:
            summary = TRAINERS[trainer][1](config, run_dir, progress)
        except Exception:
            (run_dir / ERROR_FILE).write_text(traceback.format_exc())
            raise
        summary["attempts"] = len((run_dir / ATTEMPTS_FILE).read_text().splitlines())
        _write_json(summary_path, summary)
        return summary


def _check_folders(sweep: Sweep) -> tuple[list[Run], list[Run]]:
    """Split the runs into finished and to do; a folder made with another config is an error
    (naming the first differing key), before anything is started or overwritten."""
    done, todo = [], []
    for run in sweep.runs:
        run_dir = sweep.run_dir(run)
        config_path = run_dir / CONFIG_FILE
        if config_path.exists():
            old = json.loads(config_path.read_text())
            if old != json.loads(json.dumps(run.config)):
                key = next(k for k in sorted(set(old) | set(run.config))
                           if old.get(k) != run.config.get(k))
                raise SweepError(
                    f"{run_dir} holds run {run.id} made with {key}={old.get(key)!r}, the spec "
                    f"now says {key}={run.config.get(key)!r}; give the sweep another out folder "
                    "or delete that run's folder")
        (done if (run_dir / SUMMARY_FILE).exists() else todo).append(run)
    return done, todo


# --------------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------------
def _blas_env(threads: int) -> dict[str, str]:
    return {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS")}


def _failure(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return text.splitlines()[0] if text else type(err).__name__


def run_sweep(sweep: Sweep, workers: int | None = None, scheduler: str | None = None,
              retries: int = 3, serial: bool = False, progress: bool = True,
              only: Mapping[str, Sequence[str]] | None = None) -> SweepResult:
    """Run every unfinished run of ``sweep`` and write ``results.csv`` and ``cells.csv``.

    ``workers``: LocalCluster worker processes (default: the number of cores); ``scheduler``:
    the address of an existing Dask cluster instead; ``retries``: how often a run whose worker
    died is started again; ``serial`` (or Dask not installed): one run after another here;
    ``only``: run just :meth:`Sweep.select`'s runs (cells of a spec on a chosen machine or
    core), while ``sweep.json`` and the two CSVs still cover the whole grid.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    done, todo = _check_folders(sweep)
    if only:
        chosen = {r.id for r in sweep.select(only)}
        done, todo = [r for r in done if r.id in chosen], [r for r in todo if r.id in chosen]
    sweep.out.mkdir(parents=True, exist_ok=True)
    _write_json(sweep.out / "sweep.json", {
        "name": sweep.name, "trainer": sweep.trainer, "grid_keys": sweep.grid_keys,
        "spec": str(sweep.spec_path) if sweep.spec_path else None,
        "runs": {r.id: r.config for r in sweep.runs}})
    result = SweepResult(skipped=[r.id for r in done])
    bar = tqdm(total=len(done) + len(todo), initial=len(done), unit="run",
               desc=f"sweep {sweep.name}", disable=not progress, dynamic_ncols=True)

    def finished(run: Run, summary: dict | None, error: BaseException | None) -> None:
        if error is None:
            result.finished.append(run.id)
            bar.set_postfix_str(f"{run.id}: final {summary.get('final_return', float('nan')):.1f}")
        else:
            result.failed[run.id] = _failure(error)
            bar.set_postfix_str(f"{len(result.failed)} failed (last: {run.id})")
        bar.update(1)

    use_dask = not serial and bool(todo)
    if use_dask:
        try:
            require("distributed", "neurorl sweep on Dask", "pip install 'neurorl[sweep]'")
        except ImportError:
            if scheduler is not None:
                raise
            print("neurorl sweep: Dask is not installed (pip install 'neurorl[sweep]'); "
                  "running the runs one after another")
            use_dask = False
    if use_dask:
        result.where = _run_on_dask(sweep, todo, workers, scheduler, retries, finished)
    else:
        result.where = "serially in this process"
        for run in todo:
            try:
                summary = run_one(sweep.trainer, run.config, sweep.run_dir(run))
            except Exception as err:
                finished(run, None, err)
            else:
                finished(run, summary, None)
    bar.close()
    result.rows = aggregate(sweep)
    result.wall_s = time.perf_counter() - t0
    return result


def _import_brian2_in_main_thread(dask_worker: Any = None) -> str:
    """Brian2 installs a signal handler when imported, which works only in a process's main
    thread; Dask runs tasks in a thread pool, so each worker imports it first, in its main
    thread (the event loop's), through a worker plugin."""
    import threading

    import neurorl.models  # noqa: F401  (imports brian2)

    return threading.current_thread().name


def _worker_plugin() -> Any:
    from distributed.diagnostics.plugin import WorkerPlugin

    class ImportBrian2(WorkerPlugin):
        name = "neurorl-import-brian2"

        def setup(self, worker: Any) -> None:
            _import_brian2_in_main_thread(worker)

    return ImportBrian2()


def _run_on_dask(sweep: Sweep, todo: list[Run], workers: int | None, scheduler: str | None,
                 retries: int, finished: Callable) -> str:
    import dask
    import distributed

    with dask.config.set({"distributed.scheduler.allowed-failures": retries}), \
            contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(distributed.Client(scheduler))
            where = f"the Dask cluster at {scheduler}"
        else:
            cores = os.cpu_count() or 1
            n = workers or cores
            threads = max(1, cores // n)
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                env=_blas_env(threads)))
            client = stack.enter_context(distributed.Client(cluster))
            where = f"a Dask LocalCluster of {n} worker process(es), {threads} BLAS thread(s) each"
        client.register_plugin(_worker_plugin())
        futures = {client.submit(run_one, sweep.trainer, run.config, str(sweep.run_dir(run)),
                                 pure=False, key=f"{sweep.name}/{run.id}-{os.urandom(4).hex()}"):
                   run for run in todo}
        for future in distributed.as_completed(futures):
            try:
                summary = future.result()
            except Exception as err:  # the run raised, or its workers died `retries` times
                finished(futures[future], None, err)
            else:
                finished(futures[future], summary, None)
    return where


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
def aggregate(sweep: Sweep) -> list[dict[str, Any]]:
    """Write ``OUT/results.csv`` (one row per run: its grid keys, status and summary) and
    ``OUT/cells.csv`` (per combination of the grid keys but ``seed``: runs finished, mean and
    standard deviation over seeds of every numeric summary field); return the rows."""
    rows = []
    for run in sweep.runs:
        run_dir = sweep.run_dir(run)
        row: dict[str, Any] = {"id": run.id, **{k: run.config.get(k) for k in sweep.grid_keys}}
        if (run_dir / SUMMARY_FILE).exists():
            row.update(status="done", **json.loads((run_dir / SUMMARY_FILE).read_text()))
        else:
            row["status"] = "failed" if (run_dir / ERROR_FILE).exists() else "not run"
        rows.append(row)
    write_csv(sweep.out / RESULTS_FILE, rows)
    cell_keys = [k for k in sweep.grid_keys if k != "seed"]
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        cells.setdefault(tuple(json.dumps(row[k]) for k in cell_keys), []).append(row)
    fields = [k for k, v in (rows[0].items() if rows else ())
              if isinstance(v, int | float) and k not in sweep.grid_keys]
    for row in rows[1:]:
        fields += [k for k, v in row.items() if isinstance(v, int | float) and k not in fields
                   and k not in sweep.grid_keys]
    cell_rows = []
    for group in cells.values():
        ok = [r for r in group if r["status"] == "done"]
        out = {k: group[0][k] for k in cell_keys}
        out.update(runs=len(group), done=len(ok))
        for k in fields:
            values = [float(r[k]) for r in ok if k in r]
            out[f"{k}_mean"] = float(np.mean(values)) if values else float("nan")
            out[f"{k}_std"] = float(np.std(values)) if values else float("nan")
        cell_rows.append(out)
    write_csv(sweep.out / CELLS_FILE, cell_rows)
    return rows

