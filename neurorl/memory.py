"""Keep freed heap memory in the process between training steps (glibc only).

A training step (spiking kernel or DQN) allocates and frees a few MB of arrays. glibc returns
freed memory at the top of the heap to the OS as soon as more than 128 KB is free, and serves
arrays of 128 KB and more with fresh ``mmap`` calls, so every step page-faults its memory in
again: measured on the 2-core development machine, this more than doubles the time of a
4-128-128-2 spiking training step and adds half to a 4-256-256-2 DQN update. Raising
glibc's padding, trim and mmap thresholds (as ``MALLOC_TOP_PAD_`` etc. would) keeps that memory
mapped. Set ``NEURORL_KEEP_MALLOC=1`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_done = False


def keep_freed_memory(top_pad_mb: int = 64, trim_mb: int = 256, mmap_mb: int = 32) -> bool:
    """Tune glibc's malloc once per process; returns True when the settings were applied."""
    global _done
    if _done or os.environ.get("NEURORL_KEEP_MALLOC") == "1":
        return False
    _done = True
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mb = 1 << 20
    return bool(
        mallopt(_M_MMAP_THRESHOLD, mmap_mb * mb)
        and mallopt(_M_TOP_PAD, top_pad_mb * mb)
        and mallopt(_M_TRIM_THRESHOLD, trim_mb * mb)
    )
