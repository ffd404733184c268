"""Figures and the tables they are drawn from: the one CSV writer and the one matplotlib setup.

Every figure neurorl writes is a PNG next to the CSV (or JSON) it was drawn from. :func:`pyplot`
gives matplotlib's pyplot on the file-only Agg backend (no display needed); :func:`save` writes
and closes a figure; :func:`write_csv` writes rows atomically (a crash never leaves half a file);
:func:`plot_learning_curve` is the DQN teacher's curve.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_learning_curve", "pyplot", "save", "write_csv"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (PNG files, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders made as needed) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def _cell(value: Any, float_format: str | None) -> Any:
    if isinstance(value, float | np.floating):
        return repr(float(value)) if float_format is None else format(float(value), float_format)
    return value


def write_csv(
    path: str | Path,
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    float_format: str | None = ".6g",
) -> Path:
    """Write ``rows`` (dicts) as a CSV file with a header, atomically.

    ``columns``: the header (default: the keys in order of first appearance; a missing value
    is an empty cell). Floats are written with ``float_format`` (None: exactly, the shortest
    string that reads back to the same float); strings as they are.
    """
    rows = list(rows)
    keys = list(columns or [])
    if columns is None:
        for row in rows:
            keys += [k for k in row if k not in keys]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v, float_format) for k, v in row.items()})
    tmp.replace(path)
    return path


def plot_learning_curve(
    metrics: dict[str, np.ndarray],
    path: str | Path,
    title: str = "",
    window: int = 20,
    evals: np.ndarray | None = None,
) -> Path:
    """Episode return vs environment step (dots) with a ``window``-episode running mean; a PNG.

    ``metrics``: per-episode ``step`` and ``episode_return`` arrays (the DQN's ``metrics.csv``).
    ``evals`` (k, 2): the greedy evaluations that picked the teacher (step, mean return), drawn
    as squares, the chosen one (:func:`~neurorl.rl.evaluate.selected_evaluation`) filled.
    """
    from neurorl.rl.evaluate import selected_evaluation

    plt = pyplot()
    steps, rets = metrics["step"], metrics["episode_return"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(steps, rets, ".", ms=2, alpha=0.35, color="tab:blue", label="episode return")
    if len(rets) >= 1:
        w = max(1, min(window, len(rets)))
        mean = np.convolve(rets, np.ones(w) / w, mode="valid")
        ax.plot(steps[w - 1 :], mean, color="tab:blue", lw=2, label=f"mean of last {w}")
    if evals is not None and len(evals):
        ax.plot(evals[:, 0], evals[:, 1], "s-", ms=4, mfc="none", color="tab:orange", lw=1,
                label="greedy evaluation (picks the teacher)")
        best = selected_evaluation(evals)
        ax.plot(*evals[best], "s", ms=7, color="tab:orange", label="teacher")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return (training episodes: ε-greedy)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return save(fig, path)
