"""The keeper: the one long-lived process that owns the day's key and sets, and flushes.

Gunicorn's workers are recycled (max_requests), and several run at once: none of them can
hold a day's unique devices. The keeper is forked by gunicorn's master
(portal.serving.KeeperArbiter), which restarts it if it dies and stops it last, with
SIGTERM, so that it flushes. Workers send it their events as datagrams (portal/stats/events);
every minute it reads the uplink's state file (minutes down), the set's byte counters
through the gatekeeper (data volume; the devices whose counter moved are devices seen)
and how many devices have access (the peak). Every `stats.flush_seconds` it writes what it
holds in one transaction (portal/stats/tally.py). On a Zero 2 W it also runs the
housekeeping's loops, in threads of its own (portal/machine.py): it is the one process there
that lives as long as the portal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from portal import db
from portal.access.configured import make_book, make_firewall
from portal.access.firewall import FirewallError, TrafficCounters
from portal.access.gatekeeper_client import GatekeeperFirewall
from portal.config import Settings
from portal.heap import give_back_memory, one_malloc_arena
from portal.housekeeping import Housekeeping, uplink_monitor
from portal.models import Grant
from portal.stats.events import MAX_EVENT_BYTES, BadEvent, DeviceEvent, parse_event, socket_path
from portal.stats.tally import Tally
from portal.uplink import read_state, state_path

log = logging.getLogger(__name__)

KEEPER_NAME = b"portal-keeper"
"""The keeper's process name (/proc/PID/comm, what `ps` and `top` show); at most 15 bytes."""
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
        except Exception:
            # Kept in memory for the next flush; the transaction wrote nothing.
            log.exception("statistics not written; trying again at the next flush")
        else:
            log.debug("statistics: %d rows written", written)
        finally:
            db.close()
            give_back_memory()

    def stop(self) -> None:
        """Flush and end (safe from a signal handler: it only sets a flag and wakes the loop)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def serve(self) -> None:
        """Until `stop`: take events as they come, the minute's readings, the flushes; at the
        end, the events still queued and a last flush."""
        next_minute = self._monotonic() + MINUTE
        next_flush = self._monotonic() + self._flush_seconds
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping:
                timeout = max(0.0, min(next_minute, next_flush) - self._monotonic())
                for key, _ in selector.select(timeout):
                    if key.fileobj is self._listener:
                        self._drain()
                        time.sleep(COALESCE_SECONDS)
                    else:
                        with contextlib.suppress(BlockingIOError):
                            self._wake_reader.recv(64)
                now = self._monotonic()
                if now >= next_minute:
                    next_minute = now + MINUTE
                    try:
                        self.minute()
                    except Exception:
                        log.exception("the minute's readings failed")
                    finally:
                        db.close()
                        give_back_memory()
                if now >= next_flush:
                    next_flush = now + self._flush_seconds
                    self.flush()
        self._drain()
        self.flush()

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


def start_housekeeping(settings: Settings) -> Housekeeping:
    """The housekeeping's loops, with the uplink monitor, in threads of this process; they
    wait until the firewall has the grants on record (the restore keeps trying)."""
    book = make_book(settings, make_firewall(settings))
    housekeeping = Housekeeping(book, uplink_monitor(settings, book)).start()
    book.restore_in_background()
    return housekeeping


def run_keeper(
    settings: Settings, flush_seconds: float | None = None, *, housekeeping: bool = False
) -> None:
    """The keeper process's life: its socket, its readings, its flushes, until SIGTERM; with
    `housekeeping`, the housekeeping's loops too, stopped after the last flush."""
    one_malloc_arena()  # before the housekeeping's threads
    db.open_database(settings.data_dir, cache_kb=CACHE_KB)
    traffic = (
        GatekeeperFirewall(settings.firewall.gatekeeper_socket)
        if settings.firewall.backend == "nft"
        else None
    )
    listener = bind_events(socket_path(settings.data_dir))
    keeper = Keeper(
        Tally(),
        listener,
        flush_seconds=flush_seconds or settings.stats.flush_seconds,
        uplink_file=state_path(settings),
        traffic=traffic,
    )
    signal.signal(signal.SIGTERM, lambda _signal, _frame: keeper.stop())
    signal.signal(signal.SIGINT, lambda _signal, _frame: keeper.stop())
    chores = start_housekeeping(settings) if housekeeping else None
    log.info("statistics keeper counting (pid %d)", os.getpid())
    try:
        keeper.serve()
    finally:
        listener.close()
        db.close()
        if chores is not None:
            chores.stop()
