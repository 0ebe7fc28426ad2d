"""Live servers for tests: `portal demo` / `portal serve` under real gunicorn, and a visitor."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTAL = [sys.executable, "-m", "portal.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Visitor:
    """A browser-like client: keeps cookies, does not follow redirects by itself."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(
        self, path: str, data: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        body = None if data is None else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 — loopback
        if host:
            request.add_header("Host", host)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(base + "api/captive", timeout=1).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not start within 30 s")


def start(
    argv: list[str], base: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[Visitor]:
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(base, process)
        yield Visitor(base)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def demo_server(data_dir: Path, *options: str) -> Iterator[Visitor]:
    """`portal demo` on a free loopback port, stopped when the generator closes."""
    port = free_port()
    yield from start(
        [*PORTAL, "demo", "--port", str(port), "--data-dir", str(data_dir), *options],
        f"http://127.0.0.1:{port}/",
    )


TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')


def walk_onboarding(visitor: Visitor) -> None:
    status, _, _ = visitor.request("?lang=en")
    assert status == 200
    number = 1
    while True:
        status, _, page = visitor.request(f"lesson/onboarding/{number}")
        assert status == 200
        if b'data-action="answer"' in page:
            token = TOKEN.search(page)
            assert token
            status, headers, _ = visitor.request(
                f"lesson/onboarding/{number}",
                {"answer": "1", "csrf_token": token.group(1).decode()},
            )
            assert status == 303
            if headers["Location"].endswith("/done"):
                break
        number += 1
    status, _, page = visitor.request("lesson/onboarding/done")
    token = TOKEN.search(page)
    assert token
    status, headers, _ = visitor.request("access", {"csrf_token": token.group(1).decode()})
    assert (status, headers["Location"]) == (303, "/online")


def probe(visitor: Visitor) -> tuple[int, dict[str, str], bytes]:
    return visitor.request("generate_204", host="connectivitycheck.gstatic.com")
