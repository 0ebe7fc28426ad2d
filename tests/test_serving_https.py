"""`portal serve` with a certificate: real gunicorn speaks TLS on the HTTPS port only."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.certificates import Authority
from tests.live import (
    ROOT,
    TLS_HOSTNAME,
    Visitor,
    free_port,
    https_request,
    probe,
    production_server,
)

HANDSHAKE_SECONDS = 2
"""keepalive for this server (production's is 5): the handshake deadline, kept short here."""


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[Visitor]:
    folder = tmp_path_factory.mktemp("https-server")
    overrides = folder / "gunicorn.py"
    overrides.write_text(f"keepalive = {HANDSHAKE_SECONDS}\n", encoding="utf-8")
    yield from production_server(
        folder,
        "--gunicorn-config",
        str(overrides),
        tls=authority.issue(TLS_HOSTNAME),
        https_port=free_port(),
        trusted=authority.ca_file,
    )


def https_port(server: Visitor) -> int:
    assert server.https_port is not None
    return server.https_port


def test_a_client_trusting_the_authority_reads_the_api_over_https(
    server: Visitor, authority: Authority
) -> None:
    port = https_port(server)
    status, headers, body = https_request(port, "/api/captive", authority.ca_file)
    assert status == 200
    assert headers["content-type"] == "application/captive+json"
    assert headers["cache-control"] == "private, no-store"
    assert json.loads(body) == {
        "captive": True,
        "user-portal-url": f"https://portal.passerelle.test:{port}/",
        "venue-info-url": f"https://portal.passerelle.test:{port}/",
    }


def test_a_client_without_the_authority_refuses_the_certificate(server: Visitor) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        https_request(https_port(server), "/api/captive", None)


def test_the_certificate_is_checked_for_the_portals_name(
    server: Visitor, authority: Authority
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        https_request(https_port(server), "/", authority.ca_file, host="other.passerelle.test")


def test_the_plain_port_sends_pages_to_https_and_still_answers_probes(server: Visitor) -> None:
    start = f"https://portal.passerelle.test:{https_port(server)}/"
    status, headers, _ = server.request("lesson/onboarding/1?lang=de")
    assert status == 302
    assert headers["Location"] == start + "lesson/onboarding/1?lang=de"
    # A search goes on as typed: the query string is not encoded a second time.
    status, headers, _ = server.request("guides/search?q=caf%C3%A9+d%27identit%C3%A9&lang=fr")
    assert headers["Location"] == start + "guides/search?q=caf%C3%A9+d%27identit%C3%A9&lang=fr"
    status, headers, _ = probe(server)
    assert status == 302
    assert headers["Location"] == start


def test_files_arrive_whole_over_https(server: Visitor, authority: Authority) -> None:
    # Files go out through the socket's sendfile(), which must go through TLS too.
    status, headers, body = https_request(
        https_port(server), "/static/portal.css", authority.ca_file
    )
    assert status == 200
    assert body == (ROOT / "portal" / "static" / "portal.css").read_bytes()
    assert headers["content-length"] == str(len(body))


def test_plain_http_on_the_https_port_gets_no_page(server: Visitor) -> None:
    with socket.create_connection(("127.0.0.1", https_port(server)), timeout=10) as guest:
        guest.sendall(b"GET / HTTP/1.1\r\nHost: portal.passerelle.test\r\n\r\n")
        try:
            answer = guest.recv(4096)
        except ConnectionResetError:
            answer = b""  # closed with the request unread: the kernel sends a reset
        assert answer == b""


def test_a_forged_scheme_header_does_not_pass_for_https(server: Visitor) -> None:
    answer = subprocess.run(
        ["curl", "-s", "-i", "--noproxy", "*", "-H", "X-Forwarded-Proto: https",
         "-H", "X-Forwarded-Ssl: on", "-H", f"Host: {TLS_HOSTNAME}",
         server.base + "lesson/onboarding/1"],
        capture_output=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 302 ")
    assert f"Location: https://{TLS_HOSTNAME}:{https_port(server)}/".encode() in answer


def test_a_guest_who_never_finishes_the_handshake_is_let_go(
    server: Visitor, authority: Authority
) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", https_port(server)), timeout=30) as guest:
        # Meanwhile others are served.
        assert https_request(https_port(server), "/api/captive", authority.ca_file)[0] == 200
        assert guest.recv(4096) == b""  # the server ends it
    waited = time.monotonic() - started
    assert HANDSHAKE_SECONDS - 0.5 < waited < HANDSHAKE_SECONDS + 3


def test_an_ended_certificate_leaves_the_portal_on_plain_http(
    tmp_path: Path, authority: Authority
) -> None:
    ended = authority.issue(
        TLS_HOSTNAME, stem="ended", valid_from=timedelta(days=-90), valid_until=timedelta(days=-1)
    )
    port = free_port()
    for visitor in production_server(
        tmp_path, tls=ended, https_port=port, trusted=authority.ca_file
    ):
        # Villagers still get online: pages and probes on plain HTTP, nothing on HTTPS.
        status, _, _ = visitor.request("lesson/onboarding/1?lang=fr")
        assert status == 200
        plain_start = visitor.base.replace("127.0.0.1", TLS_HOSTNAME)
        assert probe(visitor)[1]["Location"] == plain_start
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        log = visitor.server_output().decode()
        assert log.startswith(
            "warning: HTTPS is off: tls.certificate_file: its certificate ended on "
        )


def test_with_a_certificate_the_admin_port_speaks_https_and_its_cookie_is_secure(
    server: Visitor, authority: Authority
) -> None:
    assert server.admin_port is not None
    status, headers, body = https_request(server.admin_port, "/admin/login", authority.ca_file)
    assert status == 200 and b'name="csrf_token"' in body
    cookie = headers["set-cookie"]
    assert cookie.startswith("passerelle_admin=") and "; Secure" in cookie
    with socket.create_connection(("127.0.0.1", server.admin_port), timeout=10) as plain:
        plain.sendall(b"GET /admin/login HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = plain.recv(4096)
        except ConnectionResetError:
            answer = b""  # closed with the request unread: the kernel sends a reset
        assert answer == b""  # no page over plain HTTP
