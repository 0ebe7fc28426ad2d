"""Live servers for tests: `portal demo` / `portal serve` under real gunicorn, and a visitor."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from tests.certificates import Issued
from tests.integration.processes import process_stats
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

    https_port: int | None = None
    """Where the server speaks HTTPS, if it does (production_server with a certificate)."""
    admin_port: int | None = None
    """Where a production_server serves the admin pages (on loopback)."""

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


def process_name(pid: int) -> str:
    """/proc/PID/comm: what `ps` shows ("" for a process that has ended)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def child_pids(parent: int) -> set[int]:
    """The child processes of `parent` (a gunicorn master's are its workers)."""
    return {pid for pid, fields in process_stats() if int(fields[1]) == parent}


def answers(base: str) -> bool:
    """Whether the server at `base` answers a request, whatever it says (a redirect to its
    HTTPS name included)."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=1)
    try:
        connection.request("GET", "/api/captive")
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def wait_until_up(base: str, process: subprocess.Popen[bytes], output: IO[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            said = output.read()[-2000:].decode(errors="replace")
            raise AssertionError(f"server exited with {process.returncode}:\n{said}")
        if answers(base):
            return
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


TLS_HOSTNAME = "portal.passerelle.test"
"""The live server's name when it serves HTTPS (its certificate's; clients map it to loopback)."""


def production_server(
    folder: Path,
    *options: str,
    firewall: str = 'backend = "memory"',
    uplink: str = "",
    tls: Issued | None = None,
    https_port: int = 0,
    trusted: Path | None = None,
    tables: str = "",
) -> Iterator[Visitor]:
    """`portal serve` (PRODUCTION_OPTIONS, this machine's profile) on a free loopback port,
    with its portal.toml and data directory (`folder`/data) in `folder`; stopped when the
    generator closes.
    `firewall` is the [firewall] table's body, `uplink` the [uplink] table's. With `tls` (a
    certificate for TLS_HOSTNAME) it serves HTTPS on `https_port` too, if the certificate
    leads to the authority in `trusted` (the only one the server trusts, by OpenSSL's
    SSL_CERT_FILE). `tables`: more of portal.toml (such as a [help] table)."""
    port = free_port()
    admin_port = free_port()
    config = folder / "portal.toml"
    https = (
        f'[tls]\ncertificate_file = "{tls.certificate}"\nkey_file = "{tls.key}"\n'
        f"port = {https_port}\n"
        if tls
        else ""
    )
    config.write_text(
        f"""
[network]
portal_address = "127.0.0.1"
portal_port = {port}
admin_address = "127.0.0.1"
admin_port = {admin_port}
portal_hostname = "{TLS_HOSTNAME if tls else ""}"
client_identity = "address"
[storage]
data_dir = "{folder / "data"}"
[firewall]
{firewall}
[uplink]
{uplink}
{https}{tables}""",
        encoding="utf-8",
    )
    env = {**os.environ, "SSL_CERT_FILE": str(trusted)} if trusted else None
    for visitor in start(
        [*PORTAL, "serve", "--config", str(config), *options], f"http://127.0.0.1:{port}/", env
    ):
        visitor.https_port = https_port if tls else None
        visitor.admin_port = admin_port
        yield visitor


def https_request(
    port: int, path: str, ca_file: Path | None, host: str = TLS_HOSTNAME
) -> tuple[int, dict[str, str], bytes]:
    """GET `path` over HTTPS from the server on loopback `port`, checking its certificate for
    `host` against `ca_file` (None: the system's authorities): status, headers, body."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw, server_hostname=host) as tls:
        connection = http.client.HTTPConnection(host, port)
        connection.sock = tls
        connection.request("GET", path)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()


def probe(visitor: Visitor) -> tuple[int, dict[str, str], bytes]:
    return visitor.request("generate_204", host="connectivitycheck.gstatic.com")
