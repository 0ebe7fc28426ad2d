"""The admin pages under the real server: gunicorn routes by the listener a request came in
on, whatever its Host header says (portal/listeners.py), and signing in works end to end."""

from __future__ import annotations

import http.client
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import PORTAL, Visitor, child_pids, production_server


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server's portal.toml and data directory are."""
    return tmp_path_factory.mktemp("admin-serving")


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[Visitor]:
    yield from production_server(folder, "--profile", "zero2w")


def ask(
    port: int,
    path: str,
    host: str | None = None,
    form: dict[str, str] | None = None,
    cookie: str | None = None,
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Accept-Language": "en"}
    if host:
        headers["Host"] = host
    if cookie:
        headers["Cookie"] = cookie
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request("POST" if form is not None else "GET", path, body, headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def ports(server: Visitor) -> tuple[int, int]:
    portal = urllib.parse.urlsplit(server.base).port
    assert portal is not None and server.admin_port is not None
    return portal, server.admin_port


def test_a_host_header_naming_the_admin_port_gets_the_guests_404_on_the_portal_port(
    server: Visitor,
) -> None:
    portal, admin = ports(server)
    status, _, page = ask(portal, "/admin/login", host=f"127.0.0.1:{admin}")
    assert status == 404
    assert "We cannot find this page." in page and "Sign in" not in page


def test_the_admin_port_serves_no_guest_page_whatever_the_host(server: Visitor) -> None:
    portal, admin = ports(server)
    assert ask(admin, "/admin/login", host=f"127.0.0.1:{portal}")[0] == 200
    assert ask(admin, "/privacy", host=f"127.0.0.1:{portal}")[0] == 404
    assert ask(admin, "/generate_204", host="connectivitycheck.gstatic.com")[0] == 404
    assert ask(admin, "/api/captive")[0] == 404


def test_signing_in_on_the_admin_port(server: Visitor, folder: Path) -> None:
    _, admin = ports(server)
    subprocess.run(
        [*PORTAL, "admin", "add-user", "epn", "--role", "volunteer", "--config",
         str(folder / "portal.toml")],
        input="three words in a row\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    status, headers, page = ask(admin, "/admin/login")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found and cookie.startswith("passerelle_admin=")
    form = {"csrf_token": found.group(1), "name": "epn", "password": "three words in a row"}
    status, headers, _ = ask(admin, "/admin/login", form=form, cookie=cookie)
    assert (status, headers["Location"]) == (303, "/admin/")
    signed_in = headers["Set-Cookie"].split(";", 1)[0]
    status, _, page = ask(admin, "/admin/", cookie=signed_in)
    assert status == 200 and "Hello, epn" in page
    # The password was checked in a child process: argon2 never came into the worker.
    (worker,) = child_pids(server.server_pid)
    assert "argon2" not in Path(f"/proc/{worker}/maps").read_text()
