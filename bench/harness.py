"""What every benchmark shares: gunicorn on a free loopback port, and a load generator.

Servers are real gunicorn processes (argv lists, never a shell), bound to
127.0.0.1 only, without an access log. Load comes from `wrk` when it is installed,
else from a small Python generator (its figures are lower; a note says so).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

LOOPBACK = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 30.0
STOP_SECONDS = 10.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Target:
    """One URL under load: a server's port, the Host header and the path."""

    name: str
    port: int
    host: str
    path: str

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.path}"


@dataclass(frozen=True)
class Answer:
    status: int
    location: str | None


def fetch(target: Target, timeout: float = START_SECONDS) -> Answer:
    """One GET of `target`, to check what it answers before it is measured."""
    connection = http.client.HTTPConnection(LOOPBACK, target.port, timeout=timeout)
    try:
        connection.request("GET", target.path, headers={"Host": target.host})
        response = connection.getresponse()
        response.read()
        return Answer(response.status, response.getheader("Location"))
    finally:
        connection.close()


class GunicornServer:
    """`gunicorn APP` with one worker (sync unless `worker` names another class) on a free
    loopback port; a context manager.

    `app` is gunicorn's "module:callable()" spec; `env` is added to this process's
    environment (the entry module reads its settings from it).
    """

    def __init__(
        self, app: str, env: dict[str, str] | None = None, port: int = 0, worker: str = "sync"
    ) -> None:
        self.app = app
        self.env = env or {}
        self.port = port or free_port()
        self.worker = worker
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def argv(self) -> list[str]:
        # No --access-logfile: gunicorn then keeps no access log.
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--worker-class",
            self.worker,
            "--bind",
            f"{LOOPBACK}:{self.port}",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
            "--no-control-socket",
            "--timeout",
            "30",
            self.app,
        ]

    def start(self) -> None:
        env = {**os.environ, **self.env, "PYTHONPATH": str(PROJECT_ROOT)}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 — closed in stop()
        # A session of its own: the worker can be stopped with its master.
        self._process = subprocess.Popen(
            self.argv(),
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app} exited:\n{self.log_tail()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn {self.app} not listening after {START_SECONDS:.0f} s")

    def log_tail(self, size: int = 4000) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:]

    def stop(self) -> None:
        """SIGTERM to the master and its worker; SIGKILL if they linger."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(STOP_SECONDS)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> GunicornServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(group: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, number)


@dataclass(frozen=True)
class Load:
    """What one load run achieved."""

    requests_per_second: float
    requests: int
    errors: int
    """Socket errors plus answers other than 2xx and 3xx."""


class LoadGenerator:
    """Drives a target with a few connections for a fixed time: wrk, or Python without it."""

    def __init__(self, connections: int = 4, force_python: bool = False) -> None:
        self.connections = connections
        self.wrk = None if force_python else shutil.which("wrk")
        self.forced = force_python

    @property
    def description(self) -> str:
        if self.wrk:
            return f"wrk, 1 thread, {self.connections} connections"
        return f"Python generator, {self.connections} threads"

    def note(self) -> str | None:
        if self.wrk:
            return None
        reason = "as asked" if self.forced else "wrk not found (Debian: apt-get install wrk)"
        return (
            f"NOTE: using the Python load generator, {reason}. Its figures are not "
            "comparable with wrk's (it shares the CPUs and the GIL); compare the ratio."
        )

    def run(self, target: Target, seconds: float) -> Load:
        if self.wrk:
            return _wrk(self.wrk, target, seconds, self.connections)
        return _python_load(target, seconds, self.connections)


_WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_COUNT = re.compile(r"(\d+) requests in")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_WRK_STATUS = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def _wrk(wrk: str, target: Target, seconds: float, connections: int) -> Load:
    argv = [
        wrk,
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--header",
        f"Host: {target.host}",
        target.url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> Load:
    """Requests per second, request count and errors from wrk's report."""
    rate = _WRK_RATE.search(output)
    count = _WRK_COUNT.search(output)
    if rate is None or count is None:
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    errors = 0
    socket_errors = _WRK_SOCKET.search(output)
    if socket_errors:
        # A sync worker closes every connection after its answer; wrk then
        # reconnects, which is not an error, but refused or timed-out ones are.
        errors += int(socket_errors[1]) + int(socket_errors[4])
    status = _WRK_STATUS.search(output)
    if status:
        errors += int(status[1])
    return Load(float(rate[1]), int(count[1]), errors)


def _python_load(target: Target, seconds: float, connections: int) -> Load:
    """One thread per connection, each a new TCP connection per request (as sync gunicorn)."""
    request = (
        f"GET {target.path} HTTP/1.1\r\nHost: {target.host}\r\nConnection: close\r\n\r\n"
    ).encode()
    stop = threading.Event()
    counts = [0] * connections
    errors = [0] * connections

    def drive(slot: int) -> None:
        while not stop.is_set():
            try:
                with socket.create_connection((LOOPBACK, target.port), timeout=5) as sock:
                    sock.sendall(request)
                    received = b""
                    while chunk := sock.recv(65536):
                        received += chunk
            except OSError:
                errors[slot] += 1
                continue
            if received[9:10] in (b"2", b"3"):
                counts[slot] += 1
            else:
                errors[slot] += 1

    threads = [threading.Thread(target=drive, args=(slot,)) for slot in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return Load(sum(counts) / elapsed, sum(counts), sum(errors))


def describe_machine() -> str:
    """Date, CPU count and model, Python: the header of a results table row."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"{time.strftime('%Y-%m-%d')}, nproc {os.cpu_count()}, {model}, Python {python}"
