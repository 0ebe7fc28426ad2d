"""Live servers for tests: `portal demo` / `portal serve` under real gunicorn, and a visitor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tests.walker import HttpTransport

ROOT = Path(__file__).resolve().parent.parent
PORTAL = [sys.executable, "-m", "portal.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Visitor(HttpTransport):
    """A browser-like client of the server process `server_pid`: keeps cookies, does not
    follow redirects by itself."""

    def __init__(self, base: str, server_pid: int, output: IO[bytes] | None = None) -> None:
        super().__init__(base)
        self.server_pid = server_pid
        self._output = output

    def server_output(self) -> bytes:
        """All the server has written so far (stdout and stderr, its log included)."""
        assert self._output is not None, "this server's output is not kept"
        fd = self._output.fileno()
        # pread: the server writes through the same open file, so its offset stays put.
        return os.pread(fd, os.fstat(fd).st_size, 0)

    def request(
        self, path: str, data: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return self.send(path, data, host)


def wait_until_up(base: str, process: subprocess.Popen[bytes], output: IO[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            said = output.read()[-2000:].decode(errors="replace")
            raise AssertionError(f"server exited with {process.returncode}:\n{said}")
        try:
            urllib.request.urlopen(base + "api/captive", timeout=1).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not start within 30 s")


def start(
    argv: list[str], base: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[Visitor]:
    # A file, not a pipe: nobody reads the server's output while it runs.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_up(base, process, output)
            yield Visitor(base, process.pid, output)
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


def production_server(
    folder: Path, *options: str, firewall: str = 'backend = "memory"'
) -> Iterator[Visitor]:
    """`portal serve` (PRODUCTION_OPTIONS) on a free loopback port, with its portal.toml and
    data directory (`folder`/data) in `folder`; stopped when the generator closes.
    `firewall` is the [firewall] table's body."""
    port = free_port()
    config = folder / "portal.toml"
    config.write_text(
        f"""
[network]
portal_address = "127.0.0.1"
portal_port = {port}
portal_hostname = ""
client_identity = "address"
[storage]
data_dir = "{folder / "data"}"
[firewall]
{firewall}
""",
        encoding="utf-8",
    )
    yield from start(
        [*PORTAL, "serve", "--config", str(config), *options], f"http://127.0.0.1:{port}/"
    )


def probe(visitor: Visitor) -> tuple[int, dict[str, str], bytes]:
    return visitor.request("generate_204", host="connectivitycheck.gstatic.com")
