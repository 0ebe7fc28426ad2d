"""Probe requests per second on one gunicorn worker, against a bare Flask 204 endpoint.

Issue 2: the probe path must reach at least 60% of the bare endpoint's throughput.
Three servers run side by side: the bare baseline, the portal with the demo
client granted (the "online" 204, which reads the grant view) and the portal
without a grant (the captive 302). They are measured in turns (A B C A B C ...)
so that a noisy neighbour hurts all alike; the median of the rounds counts.

`python -m bench.probes --profile` instead times the apps in-process and prints
a cProfile of the granted probe.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from bench import apps
from bench.harness import (
    LOOPBACK,
    GunicornServer,
    LoadGenerator,
    Target,
    describe_machine,
    fetch,
)
from portal import db
from portal.access.configured import make_book
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.clients import address_identity
from portal.config import Settings

TARGET_RATIO = 0.60
PROBE_HOST = "connectivitycheck.gstatic.com"
PROBE_PATH = "/generate_204"


class BenchmarkError(RuntimeError):
    """A target answered something else than the path meant to be measured."""


def grant_demo_client(settings: Settings) -> str:
    """Give the demo client (every loopback visitor) a grant in `settings`' database."""
    mac = address_identity(LOOPBACK)
    if mac is None:
        raise BenchmarkError("the demo identity gives no MAC for the loopback address")
    db.prepare(settings.data_dir)
    make_book(settings, MemoryFirewall()).give(mac)
    db.close()
    return mac


@dataclass(frozen=True)
class Case:
    """A target with what it must answer: its status, and its Location for a redirect."""

    target: Target
    status: int
    location: str | None = None

    def check(self) -> None:
        answer = fetch(self.target)
        if answer.status != self.status or answer.location != self.location:
            raise BenchmarkError(
                f"{self.target.name}: expected {self.status} {self.location or ''}, "
                f"got {answer.status} {answer.location or ''}"
            )


WORKERS = {"sync": "sync", "guest": "portal.guest_worker.GuestWorker"}
"""--worker: gunicorn's sync worker (the figures since issue 2), or the demo's and
`portal serve`'s gevent worker (issue 9)."""


def start_cases(stack: ExitStack, work: Path, worker: str) -> list[Case]:
    """Start the bare, granted and captive servers; the bare one comes first."""
    bare = stack.enter_context(GunicornServer("bench.apps:bare()", worker=worker))
    cases = [Case(Target("bare Flask 204", bare.port, PROBE_HOST, PROBE_PATH), 204)]
    for name, granted in (("probe, granted (204)", True), ("probe, captive (302)", False)):
        data_dir = work / ("granted" if granted else "captive")
        server = GunicornServer(
            "bench.apps:portal()", {"BENCH_DATA_DIR": str(data_dir)}, worker=worker
        )
        settings = apps.bench_settings(data_dir, server.port)
        if granted:
            grant_demo_client(settings)
        server.env["BENCH_PORT"] = str(server.port)
        stack.enter_context(server)
        target = Target(name, server.port, PROBE_HOST, PROBE_PATH)
        # The demo's start page, written out rather than read back from the settings.
        start_page = f"http://{LOOPBACK}:{server.port}/"
        cases.append(Case(target, 204) if granted else Case(target, 302, start_page))
    return cases


def run(seconds: float, rounds: int, warmup: float, load: LoadGenerator, worker: str) -> bool:
    """Measure every case `rounds` times in turns; print the table; True when on target."""
    print(
        f"probes: one gunicorn {worker} worker per server; {load.description}; "
        f"{rounds} rounds of {seconds:g} s after {warmup:g} s warm-up"
    )
    if note := load.note():
        print(note)
    rates: dict[str, list[float]] = {}
    errors = 0
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-probes-") as work:
        cases = start_cases(stack, Path(work), WORKERS[worker])
        for case in cases:
            case.check()
            load.run(case.target, warmup)
        for number in range(1, rounds + 1):
            figures = []
            for case in cases:
                result = load.run(case.target, seconds)
                errors += result.errors
                rates.setdefault(case.target.name, []).append(result.requests_per_second)
                figures.append(f"{case.target.name} {result.requests_per_second:.0f}")
            print(f"  round {number}: " + ", ".join(figures), flush=True)
        for case in cases:
            case.check()  # still answering the same way after the load
    return report(rates, errors)


def report(rates: dict[str, list[float]], errors: int) -> bool:
    medians = {name: statistics.median(values) for name, values in rates.items()}
    baseline_name = next(iter(medians))
    baseline = medians[baseline_name]
    on_target = errors == 0
    print(f"  {'target':<24}{'median req/s':>14}{'ratio':>8}  vs {TARGET_RATIO:.0%}")
    for name, median in medians.items():
        ratio = median / baseline
        verdict = ""
        if name != baseline_name:
            passed = ratio >= TARGET_RATIO
            on_target = on_target and passed
            verdict = "PASS" if passed else "FAIL"
        print(f"  {name:<24}{median:>14.1f}{ratio:>8.2f}  {verdict}".rstrip())
    if errors:
        print(f"  FAIL: {errors} socket errors or unexpected answers under load")
    return on_target


# In-process timing and profile -------------------------------------------------------


def _wsgi_caller(app: Flask, remote: str) -> Callable[[], None]:
    """One probe request straight into the WSGI app, without a server."""
    return apps.wsgi_caller(app, PROBE_PATH, PROBE_HOST, remote)


def _microseconds(call: Callable[[], None], requests: int) -> float:
    for _ in range(min(requests, 500)):
        call()
    started = time.perf_counter()
    for _ in range(requests):
        call()
    return (time.perf_counter() - started) / requests * 1e6


def profile(requests: int) -> None:
    """Time bare, granted and captive probes in-process; cProfile the granted one."""
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as work:
        settings = apps.bench_settings(Path(work), 8080)
        grant_demo_client(settings)
        portal = create_app(settings)
        calls = {
            "bare Flask 204": _wsgi_caller(apps.bare(), LOOPBACK),
            # Another loopback address is another derived MAC, one without a grant.
            "probe, granted (204)": _wsgi_caller(portal, LOOPBACK),
            "probe, captive (302)": _wsgi_caller(portal, "127.0.0.2"),
        }
        print(f"in-process WSGI calls, {requests} each (no server, no sockets):")
        baseline = None
        for name, call in calls.items():
            cost = _microseconds(call, requests)
            baseline = baseline or cost
            print(f"  {name:<24}{cost:>8.1f} µs/request  {baseline / cost:.2f} of bare's rate")
        profiler = cProfile.Profile()
        granted = calls["probe, granted (204)"]
        profiler.enable()
        for _ in range(requests):
            granted()
        profiler.disable()
        db.close()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(35)
    print(text.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or the profile); 0 when the probe path is on target."""
    parser = argparse.ArgumentParser(prog="python -m bench.probes", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per target")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--python-load", action="store_true", help="even if wrk is installed")
    parser.add_argument("--worker", choices=WORKERS, default="sync", help="gunicorn worker")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N in-process requests")
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile)
        return 0
    load = LoadGenerator(args.connections, force_python=args.python_load)
    return 0 if run(args.seconds, args.rounds, args.warmup, load, args.worker) else 1


if __name__ == "__main__":
    print(describe_machine())
    sys.exit(main())
