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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.guides.pack.build import build_pack
from portal.guides.pack_keys import public_key_text
from tests.live import PORTAL, Visitor, child_pids, demo_server, production_server
from tests.test_guide_packs import make_source


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


def add_volunteer(folder: Path, name: str, password: str) -> None:
    subprocess.run(
        [*PORTAL, "admin", "add-user", name, "--role", "volunteer", "--config",
         str(folder / "portal.toml")],
        input=f"{password}\n", text=True, check=True, capture_output=True,
    )  # fmt: skip


def sign_in(admin: int, name: str, password: str) -> str:
    """The session cookie of `name`, signed in on the admin port `admin`."""
    status, headers, page = ask(admin, "/admin/login")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found and cookie.startswith("passerelle_admin=")
    form = {"csrf_token": found.group(1), "name": name, "password": password}
    status, headers, _ = ask(admin, "/admin/login", form=form, cookie=cookie)
    assert (status, headers["Location"]) == (303, "/admin/")
    return headers["Set-Cookie"].split(";", 1)[0]


def test_signing_in_on_the_admin_port(server: Visitor, folder: Path) -> None:
    _, admin = ports(server)
    add_volunteer(folder, "epn", "three words in a row")
    status, _, page = ask(admin, "/admin/", cookie=sign_in(admin, "epn", "three words in a row"))
    assert status == 200 and "Hello, epn" in page
    # The password was checked in a child process: argon2 never came into the worker.
    (worker,) = child_pids(server.server_pid)
    assert "argon2" not in Path(f"/proc/{worker}/maps").read_text()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visitor]:
    yield from demo_server(tmp_path_factory.mktemp("admin-demo") / "data")


def test_the_demo_serves_the_admin_pages_to_the_account_it_prints(demo: Visitor) -> None:
    said = demo.server_output().decode()
    printed = re.search(
        r"Admin pages \(statistics, guide packs, status\): http://127\.0\.0\.1:(\d+)/admin/\n"
        r"  sign in as 'demo' with the password '([^']+)' \(made for this run\)",
        said,
    )
    assert printed, said
    admin = int(printed.group(1))
    cookie = sign_in(admin, "demo", printed.group(2))
    status, _, page = ask(admin, "/admin/stats", cookie=cookie)
    assert status == 200 and "Visits" in page
    status, _, page = ask(admin, "/admin/packs/", cookie=cookie)
    assert status == 200 and "passerelle-wallonie 2026.12.1" in page
    portal = urllib.parse.urlsplit(demo.base).port
    assert portal is not None and ask(portal, "/admin/login")[0] == 404


@pytest.fixture(scope="module")
def pack_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def trusting_server(
    tmp_path_factory: pytest.TempPathFactory, pack_key: Ed25519PrivateKey
) -> Iterator[Visitor]:
    """`portal serve` (zero2w: the one worker guests share too) trusting `pack_key`'s packs,
    with the volunteer account "epn"."""
    folder = tmp_path_factory.mktemp("admin-packs")
    trusted = f'[guides]\ntrusted_keys = ["{public_key_text(pack_key.public_key())}"]\n'
    for visitor in production_server(folder, "--profile", "zero2w", tables=trusted):
        add_volunteer(folder, "epn", "three words in a row")
        yield visitor


def multipart(form_token: str, pack: Path) -> tuple[bytes, str]:
    """A pack form's body, as a browser sends it, and its content type."""
    boundary = "passerelle-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{form_token}\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="pack"; filename="{pack.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + pack.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_pack_uploaded_under_gunicorn_is_installed_and_the_worker_never_loads_its_checks(
    trusting_server: Visitor, pack_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    server = trusting_server
    _, admin = ports(server)
    cookie = sign_in(admin, "epn", "three words in a row")
    pack = tmp_path / "newer.pack"
    build_pack(make_source(tmp_path / "source", "2026.12.9"), pack, pack_key)
    _, headers, page = ask(admin, "/admin/packs/", cookie=cookie)
    cookie = headers.get("Set-Cookie", cookie).split(";", 1)[0]  # its forms' nonce, added
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    body, content_type = multipart(found.group(1), pack)
    connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=30)
    try:
        headers = {"Cookie": cookie, "Content-Type": content_type, "Accept-Language": "en"}
        connection.request("POST", "/admin/packs/install", body, headers)
        response = connection.getresponse()
        response.read()
        assert (response.status, response.getheader("Location")) == (303, "/admin/packs/")
        cookie = (response.getheader("Set-Cookie") or cookie).split(";", 1)[0]  # the outcome
    finally:
        connection.close()
    _, _, page = ask(admin, "/admin/packs/", cookie=cookie)
    assert "The pack passerelle-wallonie 2026.12.9 is installed." in page
    assert server.request("guides/g01-eid?lang=fr")[0] == 200
    assert server.request("guides/g04-myminfin?lang=fr")[0] == 404  # not in the small pack
    # Verified and prepared in a child process: the worker never loaded what checks packs.
    (worker,) = child_pids(server.server_pid)
    assert "cryptography" not in Path(f"/proc/{worker}/maps").read_text()
