"""Which kind of Pi this is, told by its memory, and what follows from it: the gunicorn
profile `portal serve` picks, and where the housekeeping runs.

One rule, read on the Pi itself at every start: under SMALL_MEMORY_KB of MemTotal it is a
Zero 2 W (512 MB). There the housekeeping loops (the upkeep of grants and learning paths,
the uplink monitor) run inside the portal's one gunicorn worker, since a Python process of
their own costs 12 MB or more (bench/memory.py); portal-housekeep.service does not start
there, by a systemd condition written from the same number (SEPARATE_HOUSEKEEPING). So
exactly one copy of the loops runs on either kind of Pi. Nothing here imports the web stack:
rendering the units at boot reads it too.
"""

from __future__ import annotations

import re
from pathlib import Path

SMALL_PROFILE = "zero2w"
LARGE_PROFILE = "pi4"
SMALL_MEMORY_KB = 768 * 1024
"""Under this MemTotal, the small profile. A Pi shows less than its RAM (the firmware keeps
some for the GPU): a 512 MB board about 430 MB, a 1 GB one about 900 MB, so the line between
them is not 1 GiB (that would give a 3B+ one worker)."""
MEMINFO = Path("/proc/meminfo")
_MEM_TOTAL = re.compile(r"^MemTotal:\s+([0-9]+) kB$", re.ASCII | re.MULTILINE)

SEPARATE_HOUSEKEEPING = f"ConditionMemory=>={SMALL_MEMORY_KB}K"
"""portal-housekeep.service's condition: the large profile's memory. systemd compares it with
the machine's physical memory, the kernel's MemTotal (K: 1024 bytes)."""


def profile_for(meminfo: str) -> str:
    """The profile for a machine whose /proc/meminfo reads `meminfo`; the large one when it
    says no MemTotal (then nothing shows the machine is small)."""
    total = _MEM_TOTAL.search(meminfo)
    if total is not None and int(total[1]) < SMALL_MEMORY_KB:
        return SMALL_PROFILE
    return LARGE_PROFILE


def machine_profile(meminfo: Path = MEMINFO) -> str:
    """The profile for this machine, from its memory (the large one where /proc is missing)."""
    try:
        return profile_for(meminfo.read_text(encoding="ascii", errors="replace"))
    except OSError:
        return LARGE_PROFILE


def housekeeps_in_worker(profile: str) -> bool:
    """Does `portal serve` with this profile run the housekeeping in its one worker?"""
    return profile == SMALL_PROFILE


def housekeeping_unit(profile: str) -> str:
    """The systemd unit (without .service) whose process runs the housekeeping."""
    return "portal" if housekeeps_in_worker(profile) else "portal-housekeep"
