"""What counting costs the onboarding path: the start page with its event sent to the
keeper as production runs it, against the same page counting nothing, in the same run.

Issue 13: counting must cost almost nothing on the request path (one non-blocking sendto).
The keeper is the production one: `portal serve` (PRODUCTION_OPTIONS, the pi4 profile) on a
free loopback port, whose gunicorn master (portal.serving.KeeperArbiter) binds the data
directory's socket and takes the events between its waits for signals. The two apps are the
real portal on that server's portal.toml and data directory, called in-process through WSGI
(no network: the difference is the counting): one counts nothing, one sends its events to
the master. What a request costs is this process's CPU time per call (time.process_time: a
loaded machine's waits do not count). The master's own CPU time over the rounds (its
arbiter loop and its flushes, every 10 s here, included) is reported per event apart: on
the Pi it runs on another core. Rounds alternate (A B A B ...); the median of the rounds'
ratios counts. At the end the server gets SIGTERM, the master flushes, and the visits it
wrote are compared with the requests sent.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import Flask

from bench import apps
from bench.harness import LOOPBACK, describe_machine
from portal import db
from portal.app import create_app
from portal.config import load_settings
from portal.machine import LARGE_PROFILE
from portal.stats.events import EventSender, socket_path
from portal.stats.keeper import bind_events
from tests.live import production_server

TARGET_RATIO = 1.05
"""The start page with counting takes at most 5 % longer than without."""
START_PAGE = "/?lang=fr"


class CountsNothing:
    """The baseline's Counting: the same calls, no work."""

    def count(self, metric: str, label: str = "", device: str | None = None) -> None:
        return None

    def device(self, mac: str) -> None:
        return None


def _caller(app: Flask) -> Callable[[], None]:
    return apps.wsgi_caller(app, START_PAGE, LOOPBACK, LOOPBACK, expected="200 OK")


def _round(call: Callable[[], None], requests: int) -> float:
    """CPU µs per call of this process."""
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) / requests * 1e6


FLUSH_SECONDS = 10
"""The shortest [stats] flush_seconds (production: 300): flushes fall inside the rounds."""
SETTLE_SECONDS = 0.2
"""Time for the master to take what is queued before its CPU time is read."""


def master_cpu_seconds(pid: int) -> float:
    """The CPU time of process `pid` alone (its workers' not included): /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_event(data_dir: Path, batches: int = 2_500) -> float:
    """CPU µs of one EventSender.count (its checks and the sendto), the socket drained
    between batches so that the queue never fills (a drop would be cheaper)."""
    path = data_dir / "alone.sock"
    sender = EventSender(path)
    spent = 0.0
    with bind_events(path) as listener:
        listener.setblocking(False)
        for _ in range(batches):
            started = time.process_time()
            for _ in range(8):
                sender.count("visits", "fr", "aa:bb:cc:00:00:23")
            spent += time.process_time() - started
            for _ in range(8):
                listener.recv(256)
    return spent / (batches * 8) * 1e6


def visits_on_record(data_dir: Path) -> int:
    with sqlite3.connect(db.database_path(data_dir)) as connection:
        row = connection.execute(
            "SELECT SUM(value) FROM stat_count WHERE period = 'day' AND metric = 'visits'"
        ).fetchone()
    return int(row[0] or 0)


def run(rounds: int, requests: int) -> bool:
    print(f"counting: the start page in-process, {rounds} rounds of {requests} calls each")
    with tempfile.TemporaryDirectory(prefix="bench-counting-") as work:
        folder = Path(work)
        # One turn of the loop: when its body ends, the server gets SIGTERM, its workers
        # stop and the master flushes (tests/live.py). The pi4 profile: its master keeps
        # the statistics as the zero2w's does, and its workers, which nobody asks here,
        # run no housekeeping (no uplink checks beside the rounds).
        for server in production_server(
            folder, "--profile", LARGE_PROFILE, tables=f"[stats]\nflush_seconds = {FLUSH_SECONDS}\n"
        ):
            settings = load_settings(folder / "portal.toml")
            silent = create_app(settings, stats=CountsNothing())
            counting = create_app(settings, stats=EventSender(socket_path(settings.data_dir)))
            cases = {"without counting": _caller(silent), "with counting": _caller(counting)}
            warm_up = max(50, requests // 5)
            for call in cases.values():
                _round(call, warm_up)  # templates, catalogs
            time.sleep(SETTLE_SECONDS)
            master_before = master_cpu_seconds(server.server_pid)
            times: dict[str, list[float]] = {name: [] for name in cases}
            for number in range(1, rounds + 1):
                figures = []
                for name, call in cases.items():
                    cost = _round(call, requests)
                    times[name].append(cost)
                    figures.append(f"{name} {cost:.0f} µs")
                print(f"  round {number}: " + ", ".join(figures), flush=True)
            time.sleep(SETTLE_SECONDS)
            master_spent = master_cpu_seconds(server.server_pid) - master_before
            db.close()
        sent = warm_up + rounds * requests
        counted = visits_on_record(settings.data_dir)
        sending = _one_event(folder)
    without = statistics.median(times["without counting"])
    with_ = statistics.median(times["with counting"])
    # Each round's pair ran back to back: the median of their ratios cancels the drift of
    # a machine whose load changes from one round to the next.
    ratio = statistics.median(
        b / a for a, b in zip(times["without counting"], times["with counting"], strict=True)
    )
    passed = ratio <= TARGET_RATIO
    print(f"  without counting {without:8.1f} µs/request (median)")
    print(f"  with counting    {with_:8.1f} µs/request (median)")
    print(
        f"  ratio {ratio:.3f}, median of the rounds' pairs (target ≤ {TARGET_RATIO:.2f}): "
        f"{'PASS' if passed else 'FAIL'}"
    )
    print(f"  one event sent alone: {sending:.1f} µs (EventSender.count, its checks and sendto)")
    print(f"  visits the master flushed: {counted} of {sent} sent")
    per_event = master_spent / (rounds * requests) * 1e6
    print(
        f"  the master's CPU time over the rounds: {master_spent:.2f} s, {per_event:.1f} µs per "
        f"event (its arbiter loop and flushes every {FLUSH_SECONDS} s included)"
    )
    return passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.counting", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=200, help="calls per round")
    args = parser.parse_args(argv)
    return 0 if run(args.rounds, args.requests) else 1


if __name__ == "__main__":
    print(describe_machine())
    sys.exit(main())
