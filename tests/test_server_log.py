"""The server's log, at every level: no guest address and no request text, even for junk."""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.live import Visitor, demo_server, production_server

MARKER = b"SECRET-PATH-1234"
"""Request text a guest sent; it must not reach the log."""
GUEST = b"127.0.0.1"
"""The address the raw requests come from."""

MALFORMED = {
    "bad request line": b"GET /" + MARKER + b" HTTP/1.1 extra\r\n\r\n",
    "bad HTTP version": b"GET /" + MARKER + b" HTTP/9.Z\r\n\r\n",
    "bad method": b"g" + MARKER.lower() + b" / HTTP/1.1\r\n\r\n",
    "header without a colon": b"GET / HTTP/1.1\r\nHost: x\r\n" + MARKER + b"\r\n\r\n",
    "header name with a space": b"GET / HTTP/1.1\r\nHost: x\r\nX " + MARKER + b": 1\r\n\r\n",
    "request line too long": b"GET /" + MARKER + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
    "cut short": b"GET /" + MARKER + b" HTT",
}


def send_raw(visitor: Visitor, data: bytes) -> bytes:
    """`data` on a fresh connection from 127.0.0.1; whatever comes back before the close."""
    address = urlsplit(visitor.base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(data)
        try:
            connection.shutdown(socket.SHUT_WR)
        except OSError as error:
            if error.errno != errno.ENOTCONN:
                raise  # else the server answered and closed first: its answer is read below
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                answer += chunk
    return answer


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Visitor]:
    """`portal demo` as a volunteer starts it (log level info)."""
    yield from demo_server(tmp_path / "data")


@pytest.fixture
def serve_debug(tmp_path: Path) -> Iterator[Visitor]:
    """`portal serve` with PRODUCTION_OPTIONS, its log turned up to debug."""
    overrides = tmp_path / "gunicorn.conf.py"
    overrides.write_text('loglevel = "debug"\n', encoding="utf-8")
    yield from production_server(tmp_path, "--gunicorn-config", str(overrides))


def log_after_malformed_requests(visitor: Visitor) -> str:
    before = len(visitor.server_output())  # the start-up lines name the bind address
    for data in MALFORMED.values():
        send_raw(visitor, data)
    visitor.request("status")  # a good request after the junk: still serving
    time.sleep(0.5)
    return visitor.server_output()[before:].decode(errors="replace")


def check_log(log: str) -> None:
    assert MARKER.decode() not in log
    assert MARKER.decode().lower() not in log
    assert GUEST.decode() not in log
    # What is left says what happened, in gunicorn's own words for the kind of error.
    assert "refused a malformed request: Invalid HTTP Version" in log
    assert "refused a malformed request: Invalid HTTP Header" in log
    assert "refused a malformed request: Request Line is too large" in log


def test_demo_log_names_no_guest_address_nor_request_text(demo: Visitor) -> None:
    check_log(log_after_malformed_requests(demo))


def test_debug_level_production_log_names_no_guest_address_nor_request_text(
    serve_debug: Visitor,
) -> None:
    log = log_after_malformed_requests(serve_debug)
    check_log(log)
    assert "[DEBUG] a client went away in the middle of a request" in log
    assert "[DEBUG] request received" in log  # gunicorn's line naming the method and path
