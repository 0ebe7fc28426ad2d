"""What counting costs the onboarding path: the start page with its event sent to a live
keeper, against the same page counting nothing, in the same run.

Issue 13: counting must cost almost nothing on the request path (one non-blocking sendto).
Both apps are the real portal on one data directory, called in-process through WSGI (no
server: the difference is the counting, not the network). What a request costs is this
process's CPU time per call (time.process_time: a loaded machine's waits do not count);
the keeper is a real one, in a process of its own, forked here, and its CPU time per
event is reported apart (on the Pi it runs on another core). Rounds alternate
(A B A B ...); the median of the rounds counts. At the end the keeper is stopped with
SIGTERM, it flushes, and the visits it wrote are compared with the requests sent.
"""

from __future__ import annotations

import argparse
import os
import signal
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
from portal.stats.events import EventSender, socket_path
from portal.stats.keeper import Keeper, bind_events
from portal.stats.tally import Tally
from portal.uplink import state_path

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


def _fork_keeper(data_dir: Path) -> int:
    """A keeper process on `data_dir`'s socket (flushes only when stopped)."""
    settings = apps.bench_settings(data_dir, 8080)
    listener = bind_events(socket_path(data_dir))
    pid = os.fork()
    if pid:
        listener.close()
        return pid
    status = 1
    try:
        db.open_database(data_dir)
        keeper = Keeper(
            Tally(),
            listener,
            flush_seconds=3600,
            uplink_file=state_path(settings),
        )
        signal.signal(signal.SIGTERM, lambda _signal, _frame: keeper.stop())
        keeper.serve()
        status = 0
    finally:
        os._exit(status)


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
        data_dir = Path(work)
        settings = apps.bench_settings(data_dir, 8080)
        silent = create_app(settings, stats=CountsNothing())
        counting = create_app(settings, stats=EventSender(socket_path(data_dir)))
        db.close()
        keeper = _fork_keeper(data_dir)
        try:
            cases = {"without counting": _caller(silent), "with counting": _caller(counting)}
            warm_up = max(50, requests // 5)
            for call in cases.values():
                _round(call, warm_up)  # templates, catalogs
            times: dict[str, list[float]] = {name: [] for name in cases}
            for number in range(1, rounds + 1):
                figures = []
                for name, call in cases.items():
                    cost = _round(call, requests)
                    times[name].append(cost)
                    figures.append(f"{name} {cost:.0f} µs")
                print(f"  round {number}: " + ", ".join(figures), flush=True)
        finally:
            db.close()
            os.kill(keeper, signal.SIGTERM)
            _, _, usage = os.wait4(keeper, 0)
        sent = warm_up + rounds * requests
        counted = visits_on_record(data_dir)
        sending = _one_event(data_dir)
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
    print(f"  visits the keeper flushed: {counted} of {sent} sent")
    keeper_cpu = (usage.ru_utime + usage.ru_stime) / max(1, counted) * 1e6
    print(f"  the keeper's CPU time: {keeper_cpu:.1f} µs per event (its flush included)")
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
