"""Periodic upkeep: grants expired or idle let go, strays removed, old learning paths forgotten;
and the loops that run it with the uplink monitor, in whichever process houses them."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from portal import db
from portal.access.book import GrantBook
from portal.access.firewall import Clock
from portal.config import Settings
from portal.onboarding.path import follow_clock_jump, forget_old_paths
from portal.stats.retention import forget_old_counts
from portal.uplink import UplinkMonitor
from portal.wallclock import ClockSteps

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0
"""The longest `Housekeeping.stop` waits for a loop's round to end (an uplink check may be
waiting for its connection's timeout)."""


def upkeep(book: GrantBook, clock: Clock, steps: ClockSteps | None = None) -> None:
    """One round of every chore; each keeps only what its retention period allows. With
    `steps`, a jump of the clock forward since the last round moves the paths' dates first."""
    book.sweep()
    now = clock()
    today = datetime.fromtimestamp(now, UTC).date()
    stepped = steps.stepped() if steps is not None else 0.0
    if stepped > 0:
        follow_clock_jump(datetime.fromtimestamp(now - stepped, UTC).date(), today)
    forget_old_paths(today)
    forget_old_counts(datetime.fromtimestamp(now))  # statistics' periods are local time


def keep_house(
    book: GrantBook,
    stop: threading.Event,
    interval: float,
    clock: Clock = time.time,
) -> None:
    """Upkeep every `interval` seconds until `stop` is set; a failed round is logged and retried.
    Rounds wait until the firewall has this process's grants (the restore keeps trying)."""
    steps = ClockSteps(clock)
    while not stop.wait(interval):
        if not book.enforcing:
            continue
        try:
            upkeep(book, clock, steps)
        except Exception:
            log.exception("housekeeping failed; trying again in %s s", interval)
        finally:
            db.close()  # its page cache is not kept for half a minute of waiting


def uplink_monitor(settings: Settings, book: GrantBook) -> UplinkMonitor:
    """The monitor portal.toml asks for, which has the book's firewall (the gatekeeper)
    point the guests' DNS at its verdict."""
    return UplinkMonitor(settings, time.time, point_dns=book.firewall.point_dns)


class Housekeeping:
    """The upkeep every `interval` seconds (access.sweep_seconds) and, if given, the uplink
    monitor, each in a thread of the process that starts them: `portal housekeep`, or a
    gunicorn worker (the demo's; the Zero 2 W's, portal/machine.py). In gunicorn's gevent
    worker, whose monkey-patching made `threading` and `socket` cooperative, the threads are
    greenlets: their waits (the interval, the gatekeeper, an uplink check) yield to the
    requests. Built where it runs, after the fork: a monitor made in the master would start
    from the master's verdict."""

    def __init__(
        self, book: GrantBook, monitor: UplinkMonitor | None = None, *, interval: float
    ) -> None:
        self.stopping = threading.Event()
        upkeep = threading.Thread(
            target=keep_house,
            args=(book, self.stopping, interval),
            name="housekeeping",
            daemon=True,
        )
        self._loops = [upkeep]
        if monitor is not None:
            uplink = threading.Thread(
                target=monitor.run, args=(self.stopping,), name="uplink", daemon=True
            )
            self._loops.append(uplink)

    def start(self) -> Housekeeping:
        for thread in self._loops:
            thread.start()
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask every loop to stop and wait, at most `timeout` in all, for the rounds under way."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._loops:
            thread.join(max(0.0, deadline - time.monotonic()))
