"""A batch of sequences split into row blocks that threads compute side by side.

A recurrent network's update treats each of its B sequences on its own until the gradients are
summed over them. The time goes to numpy's BLAS, numba's ``nogil`` loops and numpy's element-wise
kernels, which all release the GIL, so ``n`` threads that each take ``1/n`` of the sequences (with
one BLAS thread each) use ``n`` cores. Multi-threaded BLAS uses them too, but only inside each
matrix product, and its threads spin between products while the kernel's loops and the rest of
the step wait for the same cores.

The outputs of a split forward pass are the unsplit pass's outputs exactly (each row is computed
by the same arithmetic). Gradients are summed block by block in block order, so they differ
from the unsplit sum by float rounding and depend on the number of blocks, never on timing:
the same ``shards`` gives the same numbers on every run.

Used by the networks of :mod:`neurorl.rl.recurrent_ac` (recurrent actor-critics) and
:mod:`neurorl.rl.marl_agent` (multi-agent Q-learning) through :func:`forward`,
:func:`backward` and :func:`final_state`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MIN_ROWS", "Split", "backward", "blocks", "check_config", "final_state", "forward",
           "rows_apply", "run"]

MIN_ROWS = 256  # rows (steps x sequences) a block needs before splitting pays for a thread
_POOLS: dict[int, ThreadPoolExecutor] = {}


@dataclass(frozen=True)
class Split:
    """The cache of a split forward pass: the blocks of the batch axis and one cache each."""

    blocks: tuple[slice, ...]
    caches: tuple[Any, ...]


def check_config(shards: int, blas_threads: int) -> None:
    """A ValueError unless ``shards`` ≥ 1, and BLAS runs one thread per shard when there are
    several (``blas_threads`` 1, or 0 for unchanged): more would oversubscribe the cores."""
    if shards < 1:
        raise ValueError(f"shards must be ≥ 1, got {shards}")
    if shards > 1 and blas_threads > 1:
        raise ValueError(f"shards={shards} runs one BLAS thread per shard; set blas_threads=1 "
                         f"(got {blas_threads}), or shards=1 for multi-threaded BLAS")


def blocks(batch: int, shards: int, steps: int = 1) -> tuple[slice, ...]:
    """``min(shards, ...)`` contiguous blocks of ``batch`` sequences, as even as they go, each of
    at least one sequence and :data:`MIN_ROWS` rows (``steps`` × its sequences); one block (no
    split) when that leaves fewer than two."""
    if shards < 1:
        raise ValueError(f"shards must be ≥ 1, got {shards}")
    n = min(int(shards), batch, max(1, batch * steps // MIN_ROWS))
    edges = np.linspace(0, batch, n + 1).round().astype(int)
    return tuple(slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True))


def run(fn: Callable[..., Any], jobs: Sequence[tuple]) -> list[Any]:
    """``[fn(*job) for job in jobs]``, the first job on the calling thread and the others on a
    pool of ``len(jobs) - 1`` threads, side by side; an exception in any job is raised here."""
    if len(jobs) == 1:
        return [fn(*jobs[0])]
    pool = _POOLS.get(len(jobs) - 1)
    if pool is None:
        pool = _POOLS[len(jobs) - 1] = ThreadPoolExecutor(len(jobs) - 1,
                                                          thread_name_prefix="neurorl-shard")
    futures = [pool.submit(fn, *job) for job in jobs[1:]]
    try:
        first = fn(*jobs[0])
    finally:
        rest = [f.result() for f in futures]  # wait for every block, even after an error
    return [first, *rest]


def _rows(x: Any, block: slice, axis: int) -> Any:
    if x is None:
        return None
    if isinstance(x, dict):  # a recurrent state: (B, ...) arrays
        return {k: v[block] for k, v in x.items()}
    return x[(slice(None),) * axis + (block,)]


def forward(fn: Callable[..., tuple[np.ndarray, Any]], shards: int, batch: Sequence[Any],
            state: dict | None = None, **kwargs: Any) -> tuple[np.ndarray, Any]:
    """``fn(*batch, state, **kwargs) -> (out (T, B, ...), cache)`` on row blocks side by side.

    ``batch``: arrays (T, B, ...) (or None), split along B; ``state``: the recurrent state,
    a dict of (B, ...) arrays (or None), split along its first axis. Returns the blocks'
    outputs joined along B and a :class:`Split` cache (``fn``'s own cache when one block).
    """
    T, B = np.shape(next(x for x in batch if x is not None))[:2]
    parts = blocks(B, shards, T)
    if len(parts) == 1:
        return fn(*batch, state, **kwargs)
    results = run(lambda b: fn(*(_rows(x, b, 1) for x in batch), _rows(state, b, 0), **kwargs),
                  [(b,) for b in parts])
    out = np.concatenate([r[0] for r in results], axis=1)
    return out, Split(parts, tuple(r[1] for r in results))


def backward(fn: Callable[..., Any], cache: Any, d_out: np.ndarray, **kwargs: Any) -> Any:
    """``fn(cache, d_out (T, B, ...), **kwargs)`` for a cache of :func:`forward`: per block side
    by side, the gradient dicts summed in block order. ``fn`` may return ``(grads, d)``, ``d``
    (T, B, ...) per row (joined along B)."""
    if not isinstance(cache, Split):
        return fn(cache, d_out, **kwargs)
    results = run(lambda c, b: fn(c, _rows(d_out, b, 1), **kwargs),
                  list(zip(cache.caches, cache.blocks, strict=True)))
    pairs = isinstance(results[0], tuple)
    grads = {k: v.copy() for k, v in (results[0][0] if pairs else results[0]).items()}
    for r in results[1:]:
        for k, v in (r[0] if pairs else r).items():
            grads[k] += v
    if pairs:
        return grads, np.concatenate([r[1] for r in results], axis=1)
    return grads


def final_state(fn: Callable[[Any], dict], cache: Any) -> dict:
    """``fn(cache)``, a state dict of (B, ...) arrays, for a cache of :func:`forward`."""
    if not isinstance(cache, Split):
        return fn(cache)
    states = [fn(c) for c in cache.caches]
    return {k: np.concatenate([s[k] for s in states]) for k in states[0]}


def rows_apply(fn: Callable[..., np.ndarray], cache: Any, d_out: np.ndarray) -> np.ndarray:
    """``fn(cache, d_out)`` returning (T, B, ...) per row, for a cache of :func:`forward`."""
    if not isinstance(cache, Split):
        return fn(cache, d_out)
    results = run(lambda c, b: fn(c, _rows(d_out, b, 1)),
                  list(zip(cache.caches, cache.blocks, strict=True)))
    return np.concatenate(results, axis=1)
