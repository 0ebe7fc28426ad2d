"""Slow, idle and half-open connections never stop other phones, in the demo and in production.

Any guest can reach the portal's port before access. Against real `portal demo`
and `portal serve`, guests hold connections that send their headers a byte at a
time, send nothing, or stop half way through a body, more of them than the
threads the thread model had (4 in the demo, 8 in production); phones onboard
meanwhile. Such connections are then cut off by the server, not held for ever.
(On the Pi the ruleset caps each guest at 16 connections: tests/integration.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.live import Visitor, demo_server, production_server
from tests.slow_guests import BODY_BEGUN, HEADERS_BEGUN, SlowGuest
from tests.walker import HttpTransport, go_online


@pytest.fixture(params=["demo", "production"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Visitor]:
    if request.param == "demo":
        yield from demo_server(tmp_path / "data")
    else:
        yield from production_server(tmp_path)


def port_of(visitor: Visitor) -> int:
    port = urlsplit(visitor.base).port
    assert port is not None
    return port


def slow_guests(port: int, count: int) -> list[SlowGuest]:
    """`count` slow connections of every kind, from three guests."""
    kinds = [
        (HEADERS_BEGUN, b"x" * 60),  # headers that never end
        (b"", b""),  # nothing at all
        (BODY_BEGUN, b"="),  # a body that stops
    ]
    return [SlowGuest(port, f"127.0.3.{slot % 3 + 1}", *kinds[slot % 3]) for slot in range(count)]


def test_slow_idle_and_stalled_connections_never_stop_other_phones(served: Visitor) -> None:
    guests = slow_guests(port_of(served), 48)
    try:
        # Each request of the walk must be answered within the walker's 10 s.
        for phone in range(1, 4):
            go_online(HttpTransport(served.base, f"127.0.1.{phone}"), "en")
        status, _, body = served.request("?lang=en")
        assert status == 200 and b"Passerelle" in body
    finally:
        for guest in guests:
            guest.close()


def test_a_guest_that_stops_sending_is_cut_off(served: Visitor) -> None:
    port = port_of(served)
    headers = SlowGuest(port, "127.0.3.1", HEADERS_BEGUN, b"x" * 60)
    silent = SlowGuest(port, "127.0.3.2", b"")
    body = SlowGuest(port, "127.0.3.3", BODY_BEGUN)
    outcomes: dict[str, tuple[bytes, float]] = {}

    def wait_for(name: str, guest: SlowGuest) -> None:
        started = time.monotonic()
        outcomes[name] = guest.answer(), time.monotonic() - started

    waiting = [
        threading.Thread(target=wait_for, args=(name, guest))
        for name, guest in (("headers", headers), ("silent", silent), ("body", body))
    ]
    try:
        for thread in waiting:
            thread.start()
        for thread in waiting:
            thread.join()
    finally:
        for guest in (headers, silent, body):
            guest.close()
    # Headers must come whole within 5 s, even while bytes keep trickling in.
    assert outcomes["headers"][0] == b""
    assert outcomes["headers"][1] < 8
    assert outcomes["silent"][0] == b""
    assert outcomes["silent"][1] < 8
    # A body silent for 15 s is a bad request: a page, then the connection ends.
    answer, seconds = outcomes["body"]
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'<html lang="fr"' in answer
    assert 10 < seconds < 25
    assert b"Traceback" not in served.server_output()
