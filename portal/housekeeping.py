"""Periodic upkeep: grants expired or idle let go, strays removed, old learning paths forgotten."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from portal.access.book import GrantBook
from portal.access.firewall import Clock
from portal.onboarding.path import forget_old_paths

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30


def upkeep(book: GrantBook, clock: Clock) -> None:
    """One round of every chore; each keeps only what its retention period allows."""
    book.sweep()
    forget_old_paths(datetime.fromtimestamp(clock(), UTC).date())


def keep_house(
    book: GrantBook,
    stop: threading.Event,
    interval: float = SWEEP_SECONDS,
    clock: Clock = time.time,
) -> None:
    """Upkeep every `interval` seconds until `stop` is set; a failed round is logged and retried."""
    while not stop.wait(interval):
        try:
            upkeep(book, clock)
        except Exception:
            log.exception("housekeeping failed; trying again in %s s", interval)


def start_in_thread(book: GrantBook, interval: float = SWEEP_SECONDS) -> threading.Event:
    stop = threading.Event()
    threading.Thread(
        target=keep_house, args=(book, stop, interval), name="housekeeping", daemon=True
    ).start()
    return stop
