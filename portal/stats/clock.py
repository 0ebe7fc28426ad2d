"""The keeper's calendar: which hour, day, month and year a moment falls in (local time), and
whether the clock can be believed yet.

A Raspberry Pi has no battery-backed clock: until NTP has answered it starts from the time
it last saved (fake-hwclock) or from 1970. Counts made then carry synced=0 and are never
merged into a dated period; so do counts made after the clock stepped back behind an hour
already counted (portal/stats/tally.py, portal/wallclock.py). The kernel knows whether the
clock is synchronised: adjtimex(2) returns TIME_ERROR, and its status has STA_UNSYNC, until
a time daemon has disciplined the clock; systemd-timesyncd also leaves
/run/systemd/timesync/synchronized once it has.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

TIMESYNCD_MARK = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5
"""adjtimex's return value while the clock is not synchronised."""
STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    """The head of struct timex (linux/timex.h) up to `status`; the kernel writes the rest
    into the padding. Longs are the platform's, so this holds on 32- and 64-bit Pis."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),
    ]


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library this process already has loaded (no search: find_library would run
    ldconfig, a subprocess, and cost the keeper megabytes)."""
    return ctypes.CDLL(None, use_errno=True)


def kernel_synchronised() -> bool | None:
    """The kernel's view (adjtimex with modes 0 only reads); None where it cannot be asked."""
    try:
        timex = _Timex()
        state = libc().adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not timex.status & STA_UNSYNC


def clock_synchronised(mark: Path = TIMESYNCD_MARK) -> bool:
    """Has the clock been set from the network? timesyncd's mark, else the kernel's word."""
    if mark.exists():
        return True
    return bool(kernel_synchronised())


SyncCheck = Callable[[], bool]


@dataclass(frozen=True)
class Periods:
    """The four periods a moment falls in, as StatCount.start names them."""

    hour: str
    day: str
    month: str
    year: str

    def starts(self) -> dict[str, str]:
        return {"hour": self.hour, "day": self.day, "month": self.month, "year": self.year}


def periods_of(timestamp: float) -> Periods:
    """The local hour, day, month and year of a Unix time."""
    moment = datetime.fromtimestamp(timestamp)  # local time, on purpose
    return Periods(
        hour=moment.strftime("%Y-%m-%dT%H"),
        day=moment.strftime("%Y-%m-%d"),
        month=moment.strftime("%Y-%m"),
        year=moment.strftime("%Y"),
    )
