"""Figures and the tables they are drawn from: the one CSV writer and the one matplotlib setup.

Every figure neurorl writes is a PNG next to the CSV (or JSON) it was drawn from. :func:`pyplot`
gives matplotlib's pyplot on the file-only Agg backend (no display needed); :func:`save` writes
and closes a figure; :func:`write_csv` writes rows atomically (a crash never leaves half a file);
:func:`plot_learning_curve` is the DQN teacher's curve.

What a network did, for a :func:`~neurorl.sim.batch.run_batch` result or a kernel cache
(:meth:`Kernel.forward <neurorl.kernel.bptt.Kernel.forward>`): :func:`raster` (spikes of every
spiking layer, neuron index against time) and :func:`traces` (one state variable of a few
neurons against time, in the unit Brian2 shows it in). Given the network, times are in ms and
values in units; without it, in time steps and SI values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_learning_curve", "pyplot", "raster", "save", "traces", "write_csv"]


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


# -- what a network did: spike raster and state traces ---------------------------------------
def _recorded_spikes(result) -> dict[str, np.ndarray]:
    """Spike trains (T, B, n) by layer of a ``BatchResult`` or a ``KernelCache``."""
    if hasattr(result, "traces"):  # a kernel cache
        return {name: tr.spikes for name, tr in result.traces.items() if tr.spikes is not None}
    return dict(result.spikes)


def _time_axis(result, net, T: int) -> tuple[np.ndarray | None, np.ndarray, str]:
    """(times in ms or None, what the x axis shows, its label) of steps 0..T-1.

    A spike of step k and the state at the end of step k are at Brian2's time k*dt (plus the
    cache's ``t0``)."""
    if net is None:
        return None, np.arange(T, dtype=float), "time step"
    ms = 1e3 * float(getattr(result, "t0", 0.0)) + net.dt * np.arange(T)
    return ms, ms, "time (ms)"


def _check_batch(batch: int, B: int) -> None:
    from neurorl.network import NetworkError

    if not 0 <= batch < B:
        raise NetworkError(f"batch={batch} is outside the recorded batch of B = {B} elements")


def raster(
    result,
    net=None,
    *,
    batch: int = 0,
    layers: Sequence[str] | None = None,
    path: str | Path | None = None,
):
    """Spike raster of one batch element: one panel per spiking layer, neuron index vs time.

    Args:
        result: a :class:`~neurorl.sim.batch.BatchResult` (``record="all"``) or a kernel
            :class:`~neurorl.kernel.bptt.KernelCache`; spikes (T, B, n) per layer.
        net: the :class:`~neurorl.network.Network` that ran, for times in ms (``net.dt``);
            without it the x axis is the time step.
        batch: the batch element shown (0 <= batch < B).
        layers: the spiking layers shown, top to bottom (default: all, in the recorded order).
        path: also write the figure there as PNG (:func:`save`) and the spikes it shows next to
            it as CSV (same name, ``.csv``; columns layer, neuron, step, time_ms).

    Returns the matplotlib figure (closed if it was saved).
    """
    from neurorl.network import NetworkError

    recorded = _recorded_spikes(result)
    if not recorded:
        raise NetworkError(
            "the result holds no spike trains: no layer spikes, or run_batch ran with "
            "record='final' (use record='all')"
        )
    names = list(layers) if layers is not None else list(recorded)
    for name in names:
        if name not in recorded:
            raise NetworkError(
                f"layer {name!r} has no recorded spikes; spiking layers: {', '.join(recorded)}"
            )
    T, B = recorded[names[0]].shape[:2]
    _check_batch(batch, B)
    ms, x, xlabel = _time_axis(result, net, T)
    plt = pyplot()
    sizes = [recorded[n].shape[2] for n in names]
    fig, axes = plt.subplots(
        len(names), 1, sharex=True, squeeze=False,
        figsize=(6.4, 1.2 + 0.9 * len(names) + 0.01 * sum(sizes)),
        gridspec_kw={"height_ratios": [max(1.0, np.sqrt(s)) for s in sizes]},
    )
    rows = []
    for ax, name in zip(axes[:, 0], names, strict=True):
        steps, neurons = np.nonzero(recorded[name][:, batch, :])
        ax.scatter(x[steps], neurons, marker="|", s=30, linewidths=1.0, color="k")
        ax.set_ylim(-0.5, recorded[name].shape[2] - 0.5)
        ax.set_ylabel(f"{name}\nneuron")
        ax.set_title(f"{name}: {len(steps)} spikes", fontsize=9, loc="left")
        rows += [
            {"layer": name, "neuron": int(i), "step": int(k),
             "time_ms": None if ms is None else float(ms[k])}
            for k, i in zip(steps, neurons, strict=True)
        ]
    half = 0.5 * (x[1] - x[0]) if T > 1 else 0.5
    axes[-1, 0].set_xlim(x[0] - half, x[-1] + half)
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(f"Spike raster (batch element {batch})")
    fig.tight_layout()
    if path is not None:
        columns = ["layer", "neuron", "step", "time_ms"]
        write_csv(Path(path).with_suffix(".csv"), rows, columns, float_format=None)
        save(fig, path)
    return fig


def traces(
    result,
    layer: str,
    var: str,
    net=None,
    *,
    neurons: Sequence[int] | None = None,
    batch: int = 0,
    path: str | Path | None = None,
):
    """State variable ``var`` of a few neurons of ``layer`` against time, one panel per neuron.

    Args:
        result: a :class:`~neurorl.sim.batch.BatchResult` (``record="all"``) or a kernel
            :class:`~neurorl.kernel.bptt.KernelCache` (``for_backward=True``); ``var`` at the
            end of each step (T, B, n), in SI units.
        net: the :class:`~neurorl.network.Network` that ran: times in ms and values in the unit
            Brian2 shows them in (:func:`~neurorl.models.display_unit`, e.g. mV); without it,
            time steps and SI values.
        neurons: the neuron indices shown (default: the first min(5, n)).
        batch: the batch element shown (0 <= batch < B).
        path: also write the figure there as PNG and the values it shows next to it as CSV
            (same name, ``.csv``; columns layer, var, neuron, step, time_ms, value, unit).

    Returns the matplotlib figure (closed if it was saved).
    """
    from neurorl.network import NetworkError

    try:
        values = np.asarray(result.state(layer, var))
    except KeyError:
        raise NetworkError(
            f"{layer}.{var} was not recorded over time (a run_batch result needs "
            "record='all', a kernel cache forward(..., for_backward=True); the layer and the "
            "variable must exist)"
        ) from None
    T, B, n = values.shape
    _check_batch(batch, B)
    chosen = list(range(min(5, n))) if neurons is None else [int(i) for i in neurons]
    bad = [i for i in chosen if not 0 <= i < n]
    if bad or not chosen:
        raise NetworkError(f"neurons {bad or chosen} are not neurons of {layer} (0..{n - 1})")
    scale, unit = 1.0, "SI"
    if net is not None:
        import brian2

        from neurorl.models import display_unit

        model = net.layers[layer].model
        dim = brian2.Equations(model.brian2_equations)[var].dim
        scale, unit = display_unit(dim, [values[:, batch, chosen]])
    ms, x, xlabel = _time_axis(result, net, T)
    plt = pyplot()
    fig, axes = plt.subplots(
        len(chosen), 1, sharex=True, squeeze=False, figsize=(6.4, 1.0 + 1.1 * len(chosen))
    )
    label = var if unit == "1" else f"{var} ({unit})"
    rows = []
    for ax, i in zip(axes[:, 0], chosen, strict=True):
        y = values[:, batch, i] / scale
        ax.plot(x, y, lw=1.0, color="tab:blue")
        ax.set_ylabel(label)
        ax.set_title(f"{layer} neuron {i}", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        rows += [
            {"layer": layer, "var": var, "neuron": i, "step": k,
             "time_ms": None if ms is None else float(ms[k]), "value": float(y[k]), "unit": unit}
            for k in range(T)
        ]
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(f"{layer}.{var} (batch element {batch})")
    fig.tight_layout()
    if path is not None:
        columns = ["layer", "var", "neuron", "step", "time_ms", "value", "unit"]
        write_csv(Path(path).with_suffix(".csv"), rows, columns, float_format=None)
        save(fig, path)
    return fig
