"""Slow guests (issue 9): a few guests hold many slow connections while a crowd onboards.

Every guest without access can reach the portal's port. Here a few hostile guests
each hold as many connections as the ruleset lets one guest have (16, nftables
`ct count` in the Pi's ruleset) and never finish them: request headers sent one
byte a second, a connection that sends nothing, a POST body sent one byte a
second. When the server closes such a connection the guest opens another at
once. Meanwhile a crowd of phones, each from a loopback address of its own,
walks the whole onboarding lesson and asks for access (tests/walker.py).

Each serving variant is real `portal serve` (memory firewall) in a fresh data
directory. First the crowd onboards on a quiet portal (the baseline), then a
second crowd of new phones onboards while the slow guests are connected. What
counts: the share of phones online, and the 95th percentile of a phone's whole
walk, under attack against quiet, on the same server in the same run.

The variants: the production settings (PRODUCTION_OPTIONS), and the thread
model they replaced (gthread, two workers with four threads each), given as a
gunicorn config file as a volunteer could.

Target, for the production settings: every phone online under attack, and the
attacked p95 at most TARGET_P95_RATIO times the quiet one.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live import production_server
from tests.slow_guests import BODY_BEGUN, HEADERS_BEGUN, SlowGuest
from tests.walker import FlowError, HttpTransport, go_online

CONNECTIONS_PER_GUEST = 16
"""What the Pi's ruleset lets one guest hold to the portal (portal/netconfig/templates)."""
TARGET_P95_RATIO = 3.0
SETTLE_SECONDS = 8.0
"""How long the slow guests hold their connections before the crowd comes."""

THREADS_BEFORE = 'worker_class = "gthread"\nworkers = 2\nthreads = 4\n'
"""The serving model before issue 9: a thread per connection being read."""


@dataclass(frozen=True)
class Crowd:
    online: int
    phones: int
    p95_seconds: float
    failures: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.online / self.phones


def walk(base: str, source: str) -> tuple[float, str]:
    """One phone's first visit: seconds taken, and "online" or what went wrong."""
    started = time.perf_counter()
    try:
        go_online(HttpTransport(base, source), "fr")
    except (FlowError, OSError) as error:
        return time.perf_counter() - started, f"{type(error).__name__}: {error}"
    return time.perf_counter() - started, "online"


def onboard(base: str, subnet: int, phones: int, parallel: int) -> Crowd:
    """`phones` phones from 127.<subnet>.x.y walk the lesson, `parallel` at a time."""
    sources = [f"127.{subnet}.{number // 250}.{number % 250 + 1}" for number in range(phones)]
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda source: walk(base, source), sources))
    seconds = sorted(taken for taken, _ in results)
    failures = tuple(outcome for _, outcome in results if outcome != "online")
    p95 = statistics.quantiles(seconds, n=20)[-1] if len(seconds) > 1 else seconds[0]
    return Crowd(phones - len(failures), phones, p95, failures)


KINDS = (
    (HEADERS_BEGUN, b"x" * 3600),  # request headers, a byte a second, never finished
    (b"", b""),  # nothing at all
    (BODY_BEGUN, b"=" * 500),  # a POST body, a byte a second (600 announced)
)
"""What a slow guest sends once connected (tests/slow_guests.py)."""


class SlowGuests:
    """`guests` guests, each holding CONNECTIONS_PER_GUEST slow connections until stopped."""

    def __init__(self, port: int, guests: int, subnet: int) -> None:
        self.port = port
        self.sources = [f"127.{subnet}.0.{number + 1}" for number in range(guests)]
        self.stop = threading.Event()
        self.cut_off = 0
        """Connections the server ended while the guest still held them."""
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._held: set[SlowGuest] = set()

    def hold(self, source: str, kind: tuple[bytes, bytes]) -> None:
        """Keep one slow connection open: when the server ends it, open another at once."""
        while not self.stop.is_set():
            try:
                guest = SlowGuest(self.port, source, *kind)
            except OSError:
                self.stop.wait(0.1)
                continue
            with self._lock:
                self._held.add(guest)
            try:
                guest.answer()  # until the server ends it (30 s at most)
                ended = True
            except OSError:
                ended = False
            finally:
                with self._lock:
                    self._held.discard(guest)
                guest.close()
            if ended and not self.stop.is_set():
                with self._lock:
                    self.cut_off += 1

    def __enter__(self) -> SlowGuests:
        for source in self.sources:
            for slot in range(CONNECTIONS_PER_GUEST):
                kind = KINDS[slot % len(KINDS)]
                thread = threading.Thread(target=self.hold, args=(source, kind), daemon=True)
                thread.start()
                self._threads.append(thread)
        # Past the portal's 5 s header deadline: the crowd also meets the guests opening
        # new connections as fast as the server ends their old ones.
        time.sleep(SETTLE_SECONDS)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        with self._lock:
            for guest in self._held:
                with contextlib.suppress(OSError):  # already ended by the server
                    guest.connection.shutdown(socket.SHUT_RDWR)  # ends its wait for an answer
        for thread in self._threads:
            thread.join(5)


@dataclass(frozen=True)
class Outcome:
    variant: str
    quiet: Crowd
    attacked: Crowd
    cut_off: int

    @property
    def ratio(self) -> float:
        return self.attacked.p95_seconds / self.quiet.p95_seconds


@contextmanager
def serving(folder: Path, options: Sequence[str]) -> Iterator[tuple[str, int]]:
    for visitor in production_server(folder, *options):
        base = visitor.base
        yield base, int(base.rsplit(":", 1)[1].rstrip("/"))


def measure(
    variant: str, options: Callable[[Path], list[str]], args: argparse.Namespace
) -> Outcome:
    with (
        tempfile.TemporaryDirectory() as scratch,
        serving(Path(scratch), options(Path(scratch))) as (base, port),
    ):
        quiet = onboard(base, 1, args.phones, args.parallel)
        with SlowGuests(port, args.guests, 3) as guests:
            attacked = onboard(base, 2, args.phones, args.parallel)
        return Outcome(variant, quiet, attacked, guests.cut_off)


def production(_: Path) -> list[str]:
    return []


def threads_before(folder: Path) -> list[str]:
    config = folder / "gunicorn-threads.py"
    config.write_text(THREADS_BEFORE, encoding="utf-8")
    return ["--gunicorn-config", str(config)]


VARIANTS: dict[str, Callable[[Path], list[str]]] = {
    "production settings": production,
    "gthread 2x4 (before)": threads_before,
}


def report(outcome: Outcome) -> str:
    quiet, attacked = outcome.quiet, outcome.attacked
    return (
        f"{outcome.variant:<22} quiet {quiet.online}/{quiet.phones} p95 {quiet.p95_seconds:.2f} s"
        f" | attacked {attacked.online}/{attacked.phones} ({attacked.share:.0%})"
        f" p95 {attacked.p95_seconds:.2f} s, ratio {outcome.ratio:.2f}"
        f" | slow connections cut off by the server {outcome.cut_off}"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_guests", description=__doc__)
    parser.add_argument(
        "--guests", type=int, default=4, help="hostile guests (16 connections each)"
    )
    parser.add_argument("--phones", type=int, default=60, help="phones in each crowd")
    parser.add_argument("--parallel", type=int, default=12, help="phones walking at once")
    parser.add_argument("--variant", choices=VARIANTS, action="append", help="only these")
    args = parser.parse_args(argv)
    print(
        f"slow guests: {args.guests} guests x {CONNECTIONS_PER_GUEST} slow connections;"
        f" crowds of {args.phones} phones, {args.parallel} at a time",
        flush=True,
    )
    verdict = 0
    for variant in args.variant or list(VARIANTS):
        outcome = measure(variant, VARIANTS[variant], args)
        print(report(outcome), flush=True)
        for failure in sorted(set(outcome.attacked.failures))[:3]:
            print(f"    e.g. {failure}", flush=True)
        if variant == "production settings":
            on_target = outcome.attacked.online == outcome.attacked.phones
            on_target = on_target and outcome.ratio <= TARGET_P95_RATIO
            print(
                f"production under attack: {'PASS' if on_target else 'FAIL'} (target: every phone"
                f" online, p95 at most {TARGET_P95_RATIO:g}x quiet)",
                flush=True,
            )
            verdict = verdict or (0 if on_target else 1)
    return verdict


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
