"""The statistics keeper under the real gunicorn stack (`portal serve`): it runs in the master,
a worker's events reach it and the database, a worker recycled loses nothing, no worker holds
the key, and SIGTERM makes the master flush after its workers have stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

from portal.clients import address_identity
from tests.integration.processes import wait_for
from tests.live import child_pids, production_server

FLUSH = "[stats]\nflush_seconds = 10\n"


def on_record(data: Path, query: str, *parameters: str) -> int:
    """One number from the table the keeper writes, 0 before any flush."""
    with sqlite3.connect(data / "portal.sqlite3") as connection:
        row = connection.execute(query, parameters).fetchone()
    return int(row[0] or 0)


def visits(data: Path, language: str) -> int:
    """The day's visits on record."""
    return on_record(
        data,
        "SELECT SUM(value) FROM stat_count WHERE period = 'day' AND metric = 'visits'"
        " AND label = ?",
        language,
    )


def sockets_of(pid: int) -> set[str]:
    """The socket inodes `pid` holds open, as /proc/PID/fd shows them ("socket:[N]")."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:"):
            held.add(target)
    return held


def bound_socket(path: Path) -> str:
    """The inode of the Unix socket bound at `path`, as /proc/PID/fd names it."""
    for line in Path("/proc/net/unix").read_text(encoding="ascii").splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[7] == str(path):
            return f"socket:[{fields[6]}]"
    raise AssertionError(f"nothing is bound at {path}")


def test_the_master_keeps_the_count_across_a_recycled_worker_and_flushes_last(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = production_server(tmp_path, "--profile", "zero2w", tables=FLUSH)
    visitor = next(server)
    try:
        assert len(child_pids(visitor.server_pid)) == 1  # the worker: no keeper process
        wait_for(lambda: (data / "stats.sock").exists(), "the keeper's socket", 10)
        assert visitor.get("/?lang=nl").status == 200
        wait_for(lambda: visits(data, "nl") == 1, "the first flush", 25)

        [first] = child_pids(visitor.server_pid)
        os.kill(first, signal.SIGKILL)  # the keeper is not in it: nothing is lost
        wait_for(lambda: child_pids(visitor.server_pid) - {first} != set(), "a new worker", 10)
        [second] = child_pids(visitor.server_pid)
        wait_for(lambda: visitor.get("/?lang=nl").status == 200, "the new worker", 10)
        assert visitor.get("/?lang=nl").status == 200
        # The worker closed its copy of the keeper's socket (and wiped the key with it).
        keepers = bound_socket(data / "stats.sock")
        assert keepers in sockets_of(visitor.server_pid)
        assert keepers not in sockets_of(second)
        said = visitor.server_output()
    finally:
        server.close()  # SIGTERM to the master: workers stop, then the keeper flushes
    assert visits(data, "nl") == 3  # the two after the new worker came with the last flush
    # The visitor's hour (or two, across an hour's end) counted once, however many flushes.
    hours = "SELECT COUNT(*) FROM stat_count WHERE period = 'hour' AND metric = 'devices'"
    active = "SELECT SUM(value) FROM stat_count WHERE period = 'day' AND metric = 'active_hours'"
    assert on_record(data, active) == on_record(data, hours) >= 1
    mac = address_identity("127.0.0.1")
    assert mac is not None and mac.encode() not in said
