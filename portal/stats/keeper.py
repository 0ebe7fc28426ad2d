"""The keeper: the one long-lived owner of the day's key and sets, which flushes them.

Gunicorn's workers are recycled (max_requests), and several run at once: none of them can
hold a day's unique devices. The keeper runs in gunicorn's master itself
(portal.serving.KeeperArbiter), between its waits for signals, and flushes when the master
stops; a worker forked from the master wipes its copy at once (`Keeper.forget`). A process
of its own would cost the Zero 2 W's budget some 8 MB of private pages (bench/memory.py).
Workers send it their events as datagrams (portal/stats/events);
every minute it reads the uplink's state file (minutes down), the set's byte counters
through the gatekeeper (data volume; the devices whose counter moved are devices seen)
and how many devices have access (the peak). Every `stats.flush_seconds` it writes what it
holds in one transaction (portal/stats/tally.py); no connection stays open between two
uses, so none is carried into a worker by a fork.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from portal import db
from portal.access.firewall import FirewallError, TrafficCounters
from portal.access.gatekeeper_client import GatekeeperFirewall
from portal.config import Settings
from portal.datadir import disk_full
from portal.models import Grant
from portal.stats.clock import libc
from portal.stats.events import MAX_EVENT_BYTES, BadEvent, DeviceEvent, parse_event, socket_path
from portal.stats.tally import Tally
from portal.uplink import read_state, state_path

log = logging.getLogger(__name__)

MINUTE = 60.0
COALESCE_SECONDS = 0.02
"""After taking what is queued, the keeper lets more arrive before it looks again: a busy
portal wakes it some 50 times a second, not once per request, so it takes little of the
CPU the workers need (on a loaded two-core machine, a wake-up per event made the start
page 7 % slower; bench/counting.py). The queue holds far more than 20 ms of events with
deploy/system/90-passerelle.conf's net.unix.max_dgram_qlen."""
CACHE_KB = 256
"""The SQLite page cache of each of the keeper's connections (SQLite's default: 2000 KB).
A flush touches a few hundred rows of one table; the Zero 2 W's budget counts every page
the keeper holds."""
COUNTERS_TIMEOUT_SECONDS = 3.0
"""The longest the minute's reading of the set's counters waits for the gatekeeper: the
keeper runs in gunicorn's master, which answers no signal meanwhile (a minute without
traffic figures is a warning in the log; the peak then comes from the grants on record)."""
RECEIVE_BUFFER_BYTES = 256 * 1024
"""Room for bursts (a join storm); the kernel also caps a Unix datagram queue at
net.unix.max_dgram_qlen datagrams, beyond which a worker's event is dropped, never waited on."""


class TrafficMeter:
    """Turns the set's per-element byte counters into bytes carried since the last reading.

    The last values are kept in memory only, per element, to take differences. The first
    reading only learns them: what was carried before the keeper started may already have
    been counted by the keeper that was there before. A counter that went down belongs to a
    new element (a re-grant restarts it): all of it is new."""

    def __init__(self) -> None:
        self._last: dict[str, int] | None = None

    def read(self, counters: Mapping[str, int]) -> tuple[int, list[str]]:
        """Bytes carried since the last reading, and the devices that carried them."""
        last, self._last = self._last, dict(counters)
        if last is None:
            return 0, []
        total, moved = 0, []
        for mac, carried in counters.items():
            before = last.get(mac, 0)
            delta = carried - before if carried >= before else carried
            if delta > 0:
                total += delta
                moved.append(mac)
        return total, moved


def give_back_memory() -> None:
    """Return to the kernel what the flush's SQLite connection left in malloc's free lists:
    between two flushes the keeper needs almost none of it (the Zero 2 W's budget)."""
    with contextlib.suppress(AttributeError, OSError):
        libc().malloc_trim(0)


def devices_with_access(now: float) -> int:
    """Unexpired grants on record: the peak where the set's counters cannot be read."""
    return int(Grant.select().where(Grant.expires_at > int(now)).count())


class Keeper:
    """Receives events on `listener`, counts into `tally`, flushes every `flush_seconds`."""

    def __init__(
        self,
        tally: Tally,
        listener: socket.socket,
        *,
        flush_seconds: float,
        uplink_file: Path,
        traffic: TrafficCounters | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tally = tally
        self._listener = listener
        listener.setblocking(False)
        self._flush_seconds = flush_seconds
        self._uplink_file = uplink_file
        self._traffic = traffic
        self._meter = TrafficMeter()
        self._clock = clock
        self._monotonic = monotonic
        self._stopping = False
        self._next_minute: float | None = None
        self._next_flush: float | None = None
        self._wake_reader, self._wake_writer = socket.socketpair()
        for end in (self._wake_reader, self._wake_writer):
            end.setblocking(False)

    def take(self, datagram: bytes) -> None:
        try:
            event = parse_event(datagram)
        except BadEvent as error:
            log.info("ignored an event: %s", error)  # the reason quotes nothing of it
            return
        if isinstance(event, DeviceEvent):
            self.tally.device(event.mac)
        else:
            self.tally.count(event.metric, event.label, event.mac)

    def minute(self) -> None:
        """What is read once a minute: the clock's state, the uplink, traffic, the peak."""
        self.tally.refresh_clock()
        if self._uplink_file.exists() and not read_state(self._uplink_file).up:
            self.tally.add("uplink_down_minutes", 1)
        with_access = None
        if self._traffic is not None:
            try:
                counters = self._traffic.counters()
            except FirewallError as error:
                log.warning("traffic not counted this minute: %s", error)
            else:
                carried, moved = self._meter.read(counters)
                self.tally.add("bytes", carried)
                for mac in moved:
                    self.tally.device(mac)
                with_access = len(counters)
        if with_access is None:
            with_access = devices_with_access(self._clock())
        self.tally.peak(with_access)

    def flush(self) -> None:
        try:
            written = self.tally.flush()
        except Exception as error:
            # Kept in memory for the next flush; the transaction wrote nothing.
            if disk_full(error):  # until room is freed: one line a flush, no traceback
                log.warning(
                    "statistics not written, the disk is full: %d rows kept for the next flush",
                    self.tally.pending(),
                )
            else:
                log.exception("statistics not written; trying again at the next flush")
        else:
            log.debug("statistics: %d rows written", written)
        finally:
            db.close()
            give_back_memory()

    def wake(self) -> None:
        """End the wait of `turn` at once (safe from a signal handler: one byte, no wait)."""
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def stop(self) -> None:
        """Flush and end (safe from a signal handler: it only sets a flag and wakes the loop)."""
        self._stopping = True
        self.wake()

    def turn(self, timeout: float) -> None:
        """Wait at most `timeout` seconds for events (or `wake`), take what came, then the
        minute's readings and the flush if they are due."""
        now = self._monotonic()
        if self._next_minute is None or self._next_flush is None:
            self._next_minute, self._next_flush = now + MINUTE, now + self._flush_seconds
        due = min(self._next_minute, self._next_flush)
        ready, _, _ = select.select(
            [self._listener, self._wake_reader], [], [], max(0.0, min(timeout, due - now))
        )
        if self._wake_reader in ready:
            with contextlib.suppress(BlockingIOError):
                self._wake_reader.recv(64)
        if self._listener in ready:
            self._drain()
            time.sleep(COALESCE_SECONDS)
        now = self._monotonic()
        if now >= self._next_minute:
            self._next_minute = now + MINUTE
            try:
                self.minute()
            except Exception:
                log.exception("the minute's readings failed")
            finally:
                db.close()
                give_back_memory()
        if now >= self._next_flush:
            self._next_flush = now + self._flush_seconds
            self.flush()

    def serve(self) -> None:
        """Until `stop`: take events as they come, the minute's readings, the flushes; at the
        end, the events still queued and a last flush."""
        while not self._stopping:
            self.turn(MINUTE)
        self.finish()

    def finish(self) -> None:
        """The events still queued and a last flush."""
        self._drain()
        self.flush()

    def close(self) -> None:
        for end in (self._listener, self._wake_reader, self._wake_writer):
            end.close()
        db.close()

    def forget(self) -> None:
        """In a process forked from the keeper's (a gunicorn worker): wipe this copy of the
        day's key and sets, close this copy of the sockets. The keeper's own are untouched."""
        self.tally.forget()
        self._meter = TrafficMeter()
        for end in (self._listener, self._wake_reader, self._wake_writer):
            end.close()

    def _drain(self) -> None:
        while True:
            try:
                datagram = self._listener.recv(MAX_EVENT_BYTES + 1)
            except (BlockingIOError, InterruptedError):
                return
            try:
                self.take(datagram)
            except Exception as error:
                # A day's base unread (the database busy at midnight, say): this event is
                # lost, the keeper and what it holds are not.
                log.warning("an event was not counted: %s", type(error).__name__)


def bind_events(path: Path) -> socket.socket:
    """The keeper's datagram socket at `path`, readable and writable by this user only."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a keeper that died
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    return listener


def open_keeper(settings: Settings, flush_seconds: float | None = None) -> Keeper:
    """A keeper on its socket in the data directory, counting into a new Tally; its database
    connections open when it reads or writes, and close after."""
    db.open_database(settings.data_dir, cache_kb=CACHE_KB)
    traffic = (
        GatekeeperFirewall(settings.firewall.gatekeeper_socket, COUNTERS_TIMEOUT_SECONDS)
        if settings.firewall.backend == "nft"
        else None
    )
    return Keeper(
        Tally(),
        bind_events(socket_path(settings.data_dir)),
        flush_seconds=flush_seconds or settings.stats.flush_seconds,
        uplink_file=state_path(settings),
        traffic=traffic,
    )


def run_keeper(settings: Settings, flush_seconds: float | None = None) -> None:
    """A keeper process's life: its socket, its readings, its flushes, until SIGTERM."""
    keeper = open_keeper(settings, flush_seconds)
    signal.signal(signal.SIGTERM, lambda _signal, _frame: keeper.stop())
    signal.signal(signal.SIGINT, lambda _signal, _frame: keeper.stop())
    log.info("statistics keeper counting (pid %d)", os.getpid())
    try:
        keeper.serve()
    finally:
        keeper.close()
