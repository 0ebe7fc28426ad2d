"""One phone floods the grant endpoint (issue 14): FLOOD_REQUESTS access POSTs, while other
phones join.

Real `portal serve` (PRODUCTION_OPTIONS, memory firewall, identity by address) on
loopback, its data directory on this machine's disk. The flooding phone walks the lesson,
goes online, then sends its access form again and again from FLOOD_CONNECTIONS connections
at once (the most the ruleset lets one guest hold open to the portal): first alone, then
while JOINERS other phones join, each from a loopback address of its own
(bench/join_storm.py's journey). As many phones joined before, without the flood: the
baseline.

Figures: every flood request answered; no database transaction while the flood ran alone
(a grant asked again with most of its session left is only a read), and the bytes the
portal wrote meanwhile; the joiners all online, their p95 against the join storm's target
and against the baseline's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.join_storm import TimedTransport, Timings, journey, percentile_ms
from bench.report import Figure, report
from bench.sd_writes import written_bytes
from portal.db import DATABASE_FILE
from tests.live import Visitor, production_server
from tests.walker import HttpTransport, ask_for_access, csrf_token, form_action, walk_to_access

FLOOD_REQUESTS = 10_000
FLOOD_CONNECTIONS = 16
"""The ruleset's cap on one guest's open connections to the portal (portal.nft.in)."""
JOINERS = 30
FLOODER = "127.6.0.1"
TARGET_P95_MS = 300.0
"""The joiners' p95 during the flood: the join storm's target (bench/join_storm.py)."""
TARGET_P95_RATIO = 10.0
"""The joiners' p95 during the flood ÷ before it: the flood takes its share of the two CPUs
and no more (the stack serves connections in turn; one phone holds 16 at most, the joiners
4 here, so about 5 times the wait, and the load's own threads share the CPUs too)."""


@dataclass(frozen=True)
class Flood:
    requests: int
    refused: int
    """Flood requests not answered 303 to the online page."""
    seconds: float
    written: int
    """Bytes the portal wrote while the flood ran alone: no commit's, only the pages of
    SQLite's shared-memory index each read marks, which the kernel writes back now and
    then (at most its few pages per writeback, however many requests)."""
    committed: bool
    """Whether the database files changed while the flood ran alone (any transaction)."""
    quiet: tuple[Timings, ...]
    flooded: tuple[Timings, ...]

    def joined(self) -> int:
        return sum(1 for each in self.flooded if each.grant is not None)

    def ratio(self) -> float:
        return percentile_ms(self.flooded, 0.95) / percentile_ms(self.quiet, 0.95)


def joiner(base: str, number: int) -> Timings:
    """Phone `number` joins (probe, lesson, grant, probe) from an address of its own."""
    timings = Timings()
    phone = HttpTransport(base, f"127.6.{1 + number // 250}.{number % 250 + 1}")
    journey(TimedTransport(phone, timings, lambda: 0.0), phone, lambda status, _: status == 204)
    return timings


def join(base: str, first: int, count: int) -> tuple[Timings, ...]:
    with ThreadPoolExecutor(4) as pool:
        return tuple(pool.map(lambda number: joiner(base, number), range(first, first + count)))


def stored(data_dir: Path) -> list[tuple[int, int]]:
    """The size and modification time of the database and its write-ahead log: a commit
    changes them."""
    files = (data_dir / DATABASE_FILE, data_dir / f"{DATABASE_FILE}-wal")
    return [(path.stat().st_size, path.stat().st_mtime_ns) for path in files]


class Flooder:
    """The flooding phone: its access form, sent from FLOOD_CONNECTIONS connections at once
    until `requests` are sent or `stop` is set."""

    def __init__(self, base: str) -> None:
        self.phone = HttpTransport(base, FLOODER)
        done = walk_to_access(self.phone, "fr")
        ask_for_access(self.phone, done)
        self.action, self.form = form_action(done), {"csrf_token": csrf_token(done)}
        self.sent = 0
        self.refused = 0
        self._lock = threading.Lock()

    def _one(self) -> bool:
        status, headers, _ = self.phone.send(self.action, self.form)
        return status == 303 and headers.get("Location", "").startswith("/online")

    def _connection(self, requests: int | None, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._lock:
                if requests is not None and self.sent >= requests:
                    return
                self.sent += 1
            if not self._one():
                with self._lock:
                    self.refused += 1

    def flood(self, requests: int | None, stop: threading.Event) -> list[threading.Thread]:
        connections = [
            threading.Thread(target=self._connection, args=(requests, stop), daemon=True)
            for _ in range(FLOOD_CONNECTIONS)
        ]
        for each in connections:
            each.start()
        return connections


def measure(visitor: Visitor, data_dir: Path, requests: int, joiners: int) -> Flood:
    """The flood alone (its writes), then joiners alone (the baseline), then as many joiners
    while the flood goes on."""
    flooder = Flooder(visitor.base)
    files = stored(data_dir)
    before = written_bytes(visitor.server_pid)
    started = time.perf_counter()
    for each in flooder.flood(requests, threading.Event()):
        each.join()
    seconds = time.perf_counter() - started
    written = written_bytes(visitor.server_pid) - before
    committed = stored(data_dir) != files
    quiet = join(visitor.base, 0, joiners)
    stop = threading.Event()
    connections = flooder.flood(None, stop)
    try:
        flooded = join(visitor.base, joiners, joiners)
    finally:
        stop.set()
        for each in connections:
            each.join()
    return Flood(requests, flooder.refused, seconds, written, committed, quiet, flooded)


def measured(requests: int, joiners: int) -> Flood:
    """`measure` on a fresh portal."""
    with tempfile.TemporaryDirectory(prefix="passerelle-flood-") as scratch:
        for visitor in production_server(Path(scratch)):
            return measure(visitor, Path(scratch) / "data", requests, joiners)
    raise RuntimeError("the portal did not start")


def run(requests: int = FLOOD_REQUESTS, joiners: int = JOINERS) -> list[Figure]:
    flood = measured(requests, joiners)
    quiet_ms = percentile_ms(flood.quiet, 0.95)
    flooded_ms = percentile_ms(flood.flooded, 0.95)
    return [
        Figure(
            "grant_flood",
            f"{requests:,} access requests from one phone: answered (303 online)",
            "all",
            f"{requests - flood.refused:,}/{requests:,} in {flood.seconds:.1f} s",
            flood.refused == 0,
        ),
        Figure(
            "grant_flood",
            "database transactions committed by the flood",
            "none",
            "some" if flood.committed else "none",
            not flood.committed,
        ),
        Figure(
            "grant_flood",
            "bytes written meanwhile (SQLite's shared-memory index, written back)",
            "",
            f"{flood.written / 1024:.0f} kB",
            None,
        ),
        Figure(
            "grant_flood",
            "other phones joining meanwhile: online",
            "all",
            f"{flood.joined()}/{joiners}",
            flood.joined() == joiners,
        ),
        Figure(
            "grant_flood",
            "their request's p95 during the flood",
            f"< {TARGET_P95_MS:.0f} ms",
            f"{flooded_ms:.0f} ms",
            flooded_ms < TARGET_P95_MS,
        ),
        Figure(
            "grant_flood",
            "their p95 during the flood ÷ before it",
            f"≤ {TARGET_P95_RATIO:.0f}",
            f"{flood.ratio():.1f} (before: {quiet_ms:.0f} ms)",
            flood.ratio() <= TARGET_P95_RATIO,
        ),
    ]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grant_flood", description=__doc__)
    parser.add_argument("--requests", type=int, default=FLOOD_REQUESTS)
    parser.add_argument("--joiners", type=int, default=JOINERS)
    args = parser.parse_args(argv)
    return report(run(args.requests, args.joiners))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
