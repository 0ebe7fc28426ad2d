"""Growth (issue 14): the cost of a probe and of a grant with 10, 1,000 and 10,000 grants on
record.

Each size is a fresh data directory holding that many grants (random MACs, given through
the GrantBook as the portal gives them, in one transaction), the loopback visitor's among
them, and the real portal app on it (`create_app`, memory firewall, identity by address).
Timed in-process, without a server or sockets, so that the figure is the portal's own:

- a probe: `GET /generate_204` (Android's) from the granted visitor, straight into the
  WSGI app: the 204 that reads the grant view;
- a grant: `GrantBook.give` for a new device (the firewall's set, the database row),
  withdrawn again untimed so that the count on record stays what it is.

The sizes are measured in turns, 10, 1,000, 10,000, then back (ABCCBA), ROUNDS times, and
the median of the rounds counts. Target: with 1,000 and with 10,000 grants each cost stays
within TOLERANCE of its cost with 10 (the baseline, in the same run).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import apps
from bench.apps import LOOPBACK
from bench.probes import PROBE_HOST, PROBE_PATH
from bench.report import Figure, report
from portal import db
from portal.access.book import GrantBook
from portal.access.configured import make_book
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.clients import address_identity
from portal.models import database

SIZES = (10, 1_000, 10_000)
TOLERANCE = 0.10
ROUNDS = 5
PROBES = 2_000
GRANTS = 100


def random_mac() -> str:
    """A locally administered unicast MAC."""
    octets = bytearray(secrets.token_bytes(6))
    octets[0] = (octets[0] | 0x02) & 0xFE
    return ":".join(f"{octet:02x}" for octet in octets)


class Record:
    """A data directory with `size` grants on record, and the portal on it."""

    def __init__(self, folder: Path, size: int) -> None:
        self.settings = apps.bench_settings(folder / str(size), 8080)
        self.size = size
        visitor = address_identity(LOOPBACK)
        if visitor is None:
            raise RuntimeError("the demo identity gives no MAC for the loopback address")
        db.prepare(self.settings.data_dir)
        book = self.book()
        with database.atomic():
            book.give(visitor)
            for _ in range(size - 1):
                book.give(random_mac())
        db.close()

    def book(self) -> GrantBook:
        return make_book(self.settings, MemoryFirewall())

    def probe_microseconds(self, probes: int) -> float:
        portal = create_app(self.settings)
        probe = apps.wsgi_caller(portal, PROBE_PATH, PROBE_HOST, LOOPBACK, "204 No Content")
        for _ in range(probes // 10):
            probe()
        return timed(probe, probes)

    def grant_microseconds(self, grants: int) -> float:
        db.open_database(self.settings.data_dir)
        book = self.book()
        spent = 0.0
        for _ in range(grants):
            mac = random_mac()
            started = time.perf_counter()
            book.give(mac)
            spent += time.perf_counter() - started
            book.withdraw(mac)
        db.close()
        return spent / grants * 1e6


def timed(call: Callable[[], None], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - started) / times * 1e6


def measure(rounds: int, probes: int, grants: int) -> dict[str, dict[int, float]]:
    """The median µs of a probe and of a grant, per size."""
    taken: dict[str, dict[int, list[float]]] = {
        "probe": {size: [] for size in SIZES},
        "grant": {size: [] for size in SIZES},
    }
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as folder:
        records = {size: Record(Path(folder), size) for size in SIZES}
        for number in range(rounds):
            order = SIZES if number % 2 == 0 else tuple(reversed(SIZES))
            for size in order:
                taken["probe"][size].append(records[size].probe_microseconds(probes))
                taken["grant"][size].append(records[size].grant_microseconds(grants))
    return {
        what: {size: statistics.median(values) for size, values in by_size.items()}
        for what, by_size in taken.items()
    }


def run(rounds: int = ROUNDS, probes: int = PROBES, grants: int = GRANTS) -> list[Figure]:
    medians = measure(rounds, probes, grants)
    found = []
    for what, by_size in medians.items():
        baseline = by_size[SIZES[0]]
        for size in SIZES[1:]:
            ratio = by_size[size] / baseline
            found.append(
                Figure(
                    "growth",
                    f"a {what} with {size:,} grants ÷ with {SIZES[0]}",
                    f"≤ {1 + TOLERANCE:.2f}",
                    f"{ratio:.2f} ({by_size[size]:.0f} µs against {baseline:.0f} µs)",
                    ratio <= 1 + TOLERANCE,
                )
            )
    return found


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--probes", type=int, default=PROBES, help="timed probes a round")
    parser.add_argument("--grants", type=int, default=GRANTS, help="timed grants a round")
    args = parser.parse_args(argv)
    found = run(args.rounds, args.probes, args.grants)
    return report(found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
