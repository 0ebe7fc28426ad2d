"""The housekeeping's loops, in whichever process runs them (portal/machine.py decides which):
they wait for the firewall, sweep at every interval, watch the uplink, and stop when told."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from portal.app import create_app
from portal.config import Settings
from portal.housekeeping import Housekeeping
from portal.models import Grant
from portal.uplink import UplinkMonitor, read_state, state_path
from tests.conftest import PHONE_MAC, SESSION_SECONDS, FakeClock, fake_identify
from tests.test_access import GatekeeperNotYetUp, book_of

INTERVAL = 0.05


def loops_alive() -> set[str]:
    return {
        thread.name for thread in threading.enumerate() if thread.name in ("housekeeping", "uplink")
    }


def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def listening() -> Iterator[str]:
    """A loopback port that takes connections: an uplink check target that always answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def test_the_loops_sweep_at_every_interval_and_end_when_stopped(
    app: Flask, clock: FakeClock
) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    clock.advance(SESSION_SECONDS)
    housekeeping = Housekeeping(book, interval=INTERVAL).start()
    try:
        assert wait_until(lambda: Grant.select().count() == 0)
    finally:
        housekeeping.stop()
    assert loops_alive() == set()


def test_rounds_wait_until_the_firewall_has_the_grants(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Before the gatekeeper answers, a sweep could only fail (and log a traceback each time):
    the rounds are skipped while the restore keeps trying."""
    firewall = GatekeeperNotYetUp(clock)
    app = create_app(settings, firewall=firewall, identify=fake_identify, clock=clock)
    book = book_of(app)
    Grant.give(PHONE_MAC, int(clock()) - SESSION_SECONDS, 60)  # ran out: a sweep would purge it
    housekeeping = Housekeeping(book, interval=INTERVAL).start()
    try:
        time.sleep(10 * INTERVAL)
        assert Grant.select().count() == 1
        assert "housekeeping failed" not in caplog.text
    finally:
        housekeeping.stop()


def test_with_a_monitor_the_loops_publish_the_uplink_verdict_and_end_together(
    app: Flask, settings: Settings, listening: str
) -> None:
    reachable = settings.replace("uplink", check_targets=(listening,), dns_check_name="")
    pointed: list[bool] = []
    monitor = UplinkMonitor(reachable, time.time, point_dns=pointed.append)
    housekeeping = Housekeeping(book_of(app), monitor, interval=INTERVAL).start()
    try:
        assert wait_until(lambda: read_state(state_path(settings)).since != 0)
        assert read_state(state_path(settings)).up is True
        assert pointed[0] is True  # the DNS follows the verdict
        assert loops_alive() == {"housekeeping", "uplink"}
    finally:
        housekeeping.stop()
    assert loops_alive() == set()


def test_stop_waits_no_longer_than_it_is_told(app: Flask, settings: Settings) -> None:
    """An uplink check under way may wait for its timeout: stop gives up after `timeout`."""
    slow = SlowMonitor(settings)
    housekeeping = Housekeeping(book_of(app), slow, interval=INTERVAL).start()
    assert slow.checking.wait(5)
    started = time.monotonic()
    housekeeping.stop(timeout=0.2)
    assert time.monotonic() - started < 1.0
    slow.release.set()
    assert wait_until(lambda: loops_alive() == set())


class SlowMonitor(UplinkMonitor):
    """A monitor whose check hangs until released (a connection waiting for its timeout)."""

    def __init__(self, settings: Settings) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(settings, time.time)
        self.checking = threading.Event()
        self.release = threading.Event()

    def check(self) -> bool:
        self.checking.set()
        self.release.wait(10)
        return True
