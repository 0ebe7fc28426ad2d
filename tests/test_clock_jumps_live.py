"""A real `portal housekeep`, the owner of grant expiry, under a clock that jumps: libfaketime
(Debian's `faketime`) fakes its wall clock from a file the test rewrites, as NTP moves a
Pi's clock from 1970 or fake-hwclock's time. Its monotonic clock is left alone
(DONT_FAKE_MONOTONIC), as on a Pi: the memory firewall's timeouts count on it, as the
kernel's do. (A time namespace cannot move the wall clock, only the monotonic one.)

libfaketime 0.9.10 breaks Python 3.11's time.sleep when the monotonic clock is left alone
(wolfcw/libfaketime#426: EINVAL from clock_nanosleep), which gunicorn's master calls: so
the keeper of the statistics, which lives there, is tested against jumps with a
controllable clock (tests/test_clock_jumps.py), not here."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal import db
from portal.models import Grant
from tests.conftest import PHONE_MAC, SESSION_SECONDS
from tests.integration.processes import wait_for
from tests.live import PORTAL, ROOT

BEHIND = 20_000
"""Days the faked clock starts behind: 1971 or 1972, as a Pi booting without fake-hwclock."""
SWEEP = 5
"""access.sweep_seconds of the process under test (the shortest it takes)."""


def libfaketime() -> Path:
    """Debian's libfaketime, wherever the machine's multiarch folder is."""
    for library in sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1")):
        return library
    pytest.skip(
        "not installed: libfaketime (Debian package faketime); `make system-deps` installs it"
    )


@pytest.fixture
def loopback_listener() -> Iterator[int]:
    """An uplink check that always passes, without the Internet or DNS."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def on_record(data: Path) -> list[tuple[str, int, int]]:
    with contextlib.closing(sqlite3.connect(data / "portal.sqlite3", timeout=5)) as database:
        rows = database.execute('SELECT mac, granted_at, expires_at FROM "grant"').fetchall()
    return [(str(mac), int(granted), int(expires)) for mac, granted, expires in rows]


def test_a_grant_made_in_1972_is_neither_lost_nor_endless_when_the_clock_jumps_on(
    tmp_path: Path, loopback_listener: int
) -> None:
    library = libfaketime()
    data = tmp_path / "data"
    config = tmp_path / "portal.toml"
    config.write_text(
        f'[access]\nsweep_seconds = {SWEEP}\n[firewall]\nbackend = "memory"\n'
        f'[storage]\ndata_dir = "{data}"\n'
        f'[uplink]\ncheck_targets = ["127.0.0.1:{loopback_listener}"]\ndns_check_name = ""\n',
        encoding="utf-8",
    )
    # A worker gave the phone a session while the clock said 1972.
    faked_now = int(time.time()) - BEHIND * 86_400
    db.prepare(data)
    Grant.give(PHONE_MAC, faked_now, SESSION_SECONDS)
    db.close()
    clock_file = tmp_path / "faketime"
    clock_file.write_text(f"-{BEHIND}d\n", encoding="ascii")
    env = {
        **os.environ,
        "LD_PRELOAD": str(library),
        "FAKETIME_TIMESTAMP_FILE": str(clock_file),
        "FAKETIME_NO_CACHE": "1",
        "DONT_FAKE_MONOTONIC": "1",
    }
    with open(tmp_path / "output", "wb") as output:
        process = subprocess.Popen(
            [*PORTAL, "housekeep", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            # Its first round, on the 1972 clock, keeps the grant as it is.
            time.sleep(SWEEP + 1)
            assert process.poll() is None, (tmp_path / "output").read_text(errors="replace")
            assert on_record(data) == [(PHONE_MAC, faked_now, faked_now + SESSION_SECONDS)]
            clock_file.write_text("+0d\n", encoding="ascii")  # NTP answers
            jumped = time.time()
            before = on_record(data)
            wait_for(lambda: on_record(data) != before, "a sweep after the jump", SWEEP + 5)
            rows = on_record(data)
            assert [mac for mac, _, _ in rows] == [PHONE_MAC], "the grant was lost"
            [(_, granted_at, expires_at)] = rows
            # What it had left by the kernel's count: the session less the seconds since.
            assert jumped + SESSION_SECONDS - 60 < expires_at <= jumped + SESSION_SECONDS
            assert expires_at - granted_at == SESSION_SECONDS
            assert process.poll() is None
        finally:
            process.terminate()
            process.wait(timeout=10)
    said = (tmp_path / "output").read_text(errors="replace")
    assert "the clock stepped: 1 grant(s) follow their firewall timeout" in said
