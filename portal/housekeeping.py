"""Periodic upkeep: expired grants deleted, idle devices let go, strays removed from the set."""

from __future__ import annotations

import logging
import threading

from portal.access.book import GrantBook

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30


def keep_house(book: GrantBook, stop: threading.Event, interval: float = SWEEP_SECONDS) -> None:
    """Sweep every `interval` seconds until `stop` is set; a failed sweep is logged and retried."""
    while not stop.wait(interval):
        try:
            book.sweep()
        except Exception:
            log.exception("housekeeping sweep failed; trying again in %s s", interval)


def start_in_thread(book: GrantBook, interval: float = SWEEP_SECONDS) -> threading.Event:
    stop = threading.Event()
    threading.Thread(
        target=keep_house, args=(book, stop, interval), name="housekeeping", daemon=True
    ).start()
    return stop
