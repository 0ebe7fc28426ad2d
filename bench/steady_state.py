"""Steady state (issue 14): an evening with DEVICES granted devices, each probing every 30 s.

Real `portal serve` (PRODUCTION_OPTIONS, memory firewall, identity by address) on
loopback; before it starts, its database holds a grant for each device (given through the
GrantBook, as the portal gives them), so the portal restores them at start as after a
reboot. Each device is a loopback address of its own and sends Android's probe
(`GET /generate_204`) every PERIOD_SECONDS, the devices spread evenly over the period, for
SECONDS. What counts: every probe answered 204 (an error is anything else, or no answer
within 10 s), and the CPU share of the portal's processes (master and workers, recycled
ones too: /proc/PID/stat) over the run, of one CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.probes import PROBE_HOST, PROBE_PATH
from bench.report import Figure, report
from portal import db
from portal.access.configured import make_book
from portal.access.firewall import MemoryFirewall
from portal.clients import address_identity
from portal.config import Settings
from tests.live import child_pids, production_server
from tests.walker import HttpTransport

DEVICES = 1_000
SECONDS = 300.0
PERIOD_SECONDS = 30.0
TICKS = os.sysconf("SC_CLK_TCK")


def source(number: int) -> str:
    return f"127.7.{number // 250}.{number % 250 + 1}"


def grant_all(data_dir: Path, devices: int) -> None:
    """A grant on record for every device, before the portal starts."""
    settings = Settings().replace("storage", data_dir=str(data_dir))
    db.prepare(data_dir)
    book = make_book(settings, MemoryFirewall())
    for number in range(devices):
        mac = address_identity(source(number))
        if mac is None:
            raise RuntimeError("the address identity gives no MAC for a loopback address")
        book.give(mac)
    db.close()


def cpu_seconds(master: int) -> float:
    """The CPU time of the portal so far: its master's, its live workers', and that of the
    workers recycled before (gunicorn's max_requests), which the master reaped (cutime,
    cstime)."""

    def times(pid: int, fields: slice) -> int:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2]
        return sum(int(value) for value in stat.split()[fields])

    total = times(master, slice(11, 15))  # utime, stime, cutime, cstime
    for worker in child_pids(master):
        with contextlib.suppress(OSError):  # recycled meanwhile: counted once reaped
            total += times(worker, slice(11, 13))
    return total / TICKS


def probe(base: str, number: int) -> bool:
    try:
        status, _, _ = HttpTransport(base, source(number)).send(PROBE_PATH, host=PROBE_HOST)
    except OSError:
        return False
    return status == 204


def evening(base: str, devices: int, seconds: float) -> tuple[int, int]:
    """Probes sent and probes that failed."""
    failed = 0
    sent = 0
    lock = threading.Lock()
    started = time.monotonic()

    def one(number: int) -> None:
        nonlocal failed
        ok = probe(base, number)
        if not ok:
            with lock:
                failed += 1

    with ThreadPoolExecutor(32) as pool:
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed / PERIOD_SECONDS * devices)  # probes due so far
            while sent < due:
                pool.submit(one, sent % devices)
                sent += 1
            time.sleep(0.01)
    return sent, failed


def measure(devices: int, seconds: float) -> tuple[int, int, float]:
    """Probes sent, probes failed, CPU share of one CPU."""
    with tempfile.TemporaryDirectory(prefix="passerelle-steady-") as scratch:
        grant_all(Path(scratch) / "data", devices)
        for visitor in production_server(Path(scratch)):
            master = visitor.server_pid
            cpu_before, wall_before = cpu_seconds(master), time.monotonic()
            sent, failed = evening(visitor.base, devices, seconds)
            share = (cpu_seconds(master) - cpu_before) / (time.monotonic() - wall_before)
            return sent, failed, share
    raise RuntimeError("the portal did not start")


def run(devices: int = DEVICES, seconds: float = SECONDS) -> list[Figure]:
    sent, failed, share = measure(devices, seconds)
    return [
        Figure(
            "steady_state",
            f"{devices:,} granted devices probing every 30 s for {seconds:.0f} s: errors",
            "0",
            f"{failed} of {sent:,} probes",
            failed == 0,
        ),
        Figure(
            "steady_state",
            "CPU share of the portal (of one CPU)",
            "",
            f"{share:.1%}",
            None,
        ),
    ]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.steady_state", description=__doc__)
    parser.add_argument("--devices", type=int, default=DEVICES)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args(argv)
    found = run(args.devices, args.seconds)
    return report(found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
