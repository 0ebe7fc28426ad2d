"""glibc malloc's two knobs for the portal's long-lived processes (the gatekeeper, the
statistics keeper), whose memory counts against the Zero 2 W's budget (bench/memory.py).
Where the C library is not glibc, both do nothing."""

from __future__ import annotations

import contextlib
import ctypes

M_ARENA_MAX = -8
"""mallopt(3)'s parameter for the number of malloc arenas, in glibc's <malloc.h>."""


def one_malloc_arena() -> None:
    """Have every thread of this process allocate from glibc's one main arena.

    glibc gives threads that allocate at the same moment arenas of their own (up to eight a
    core), whose memory it keeps: after two join storms the gatekeeper, a thread per
    connection, held 20 MB instead of 12. Called before the process starts its threads."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def give_back_memory() -> None:
    """Return to the kernel what malloc holds free (malloc_trim): what a closed SQLite
    connection left, say, which the process needs no more until its next use."""
    malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if malloc_trim is not None:
        with contextlib.suppress(OSError):
            malloc_trim(0)
