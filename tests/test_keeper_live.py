"""The statistics keeper under the real gunicorn stack (`portal serve`): a worker's events
reach it and the database, SIGTERM makes it flush, and the master forks it again if it dies."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

from portal.clients import address_identity
from tests.integration.processes import wait_for
from tests.live import keeper_pids, production_server

FLUSH = "[stats]\nflush_seconds = 10\n"


def visits(data: Path, language: str) -> int:
    """The day's visits on record (the table the keeper writes), 0 before any flush."""
    with sqlite3.connect(data / "portal.sqlite3") as connection:
        row = connection.execute(
            "SELECT SUM(value) FROM stat_count WHERE period = 'day' AND metric = 'visits'"
            " AND label = ?",
            (language,),
        ).fetchone()
    return int(row[0] or 0)


def test_a_workers_events_reach_the_keeper_which_flushes_and_comes_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = production_server(tmp_path, "--profile", "zero2w", tables=FLUSH)
    visitor = next(server)
    try:
        wait_for(lambda: len(keeper_pids(visitor.server_pid)) == 1, "the keeper's start", 10)
        [first] = keeper_pids(visitor.server_pid)
        assert visitor.get("/?lang=nl").status == 200
        wait_for(lambda: visits(data, "nl") == 1, "the first flush", 25)

        os.kill(first, signal.SIGKILL)  # nothing new was counted: nothing is lost
        wait_for(
            lambda: keeper_pids(visitor.server_pid) - {first} != set(), "the keeper's return", 10
        )
        [second] = keeper_pids(visitor.server_pid)
        assert second != first
        wait_for(lambda: (data / "stats.sock").exists(), "the new keeper's socket", 5)
        assert visitor.get("/?lang=nl").status == 200
        assert visitor.get("/?lang=nl").status == 200
        said = visitor.server_output()
    finally:
        server.close()  # SIGTERM to the master: workers stop, then the keeper, which flushes
    assert visits(data, "nl") == 3  # the two after the restart came with the last flush
    assert b"statistics keeper ended; starting it again" in said
    mac = address_identity("127.0.0.1")
    assert mac is not None and mac.encode() not in said
