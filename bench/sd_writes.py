"""SD-card writes (issue 14): the bytes the portal sends to storage, per 1,000 probes, per
grant and per flush of the statistics, and what a busy evening's hour adds up to.

Real `portal serve` (PRODUCTION_OPTIONS, memory firewall, identity by address) on loopback,
its data directory on this machine's disk (ext4 here; tmpfs would count nothing). The
figure is `write_bytes` of /proc/PID/io summed over every process of the portal (its
master, which also keeps the statistics, and its workers): the pages each dirtied in the
page cache, which writeback then sends to the card. With the memory firewall there is no
gatekeeper; on the Pi it writes nothing of its own (the kernel's set is in memory), and
dnsmasq's lease file is a DHCP matter.

- grants: PHONES phones walk the lesson and go online, then a flush comes (flush_seconds
  at its lowest, 10 s): bytes / PHONES, the flush's share included;
- probes: 1,000 probes from those granted phones (204), in a window without a grant:
  target 0 (a probe reads the grant view in memory);
- a flush: an idle stretch of IDLE_SECONDS after that, bytes per flush the keeper made;
- a busy evening's hour, from those costs: EVENING_JOINS joins, EVENING_DEVICES devices
  probing every 30 s, and 12 flushes (the production flush_seconds, 300).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.probes import PROBE_HOST, PROBE_PATH
from bench.report import Figure, report
from tests.live import Visitor, child_pids, production_server
from tests.walker import HttpTransport, go_online

PHONES = 50
PROBES = 1_000
FLUSH_SECONDS = 10
"""The lowest stats.flush_seconds: a flush within the benchmark."""
IDLE_SECONDS = 2.5 * FLUSH_SECONDS
EVENING_JOINS = 150
EVENING_DEVICES = 150
EVENING_PROBES = EVENING_DEVICES * 120  # one every 30 s for an hour
EVENING_FLUSHES = 12  # production: one every 300 s
TARGET_PROBE_BYTES = 0


def written_bytes(master: int) -> int:
    """`write_bytes` of the portal's processes so far: its master's, which counts the
    workers it has reaped (the kernel adds a child's to its parent's), and its workers'
    now."""
    total = 0
    for pid in [master, *child_pids(master)]:
        try:
            lines = Path(f"/proc/{pid}/io").read_text(encoding="ascii").splitlines()
        except FileNotFoundError:  # a worker recycled meanwhile: the master counts it now
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("write_bytes:"))
    return total


def phone(base: str, number: int) -> HttpTransport:
    return HttpTransport(base, f"127.8.{number // 250}.{number % 250 + 1}")


def probe(transport: HttpTransport) -> None:
    status, _, _ = transport.send(PROBE_PATH, host=PROBE_HOST)
    if status != 204:
        raise RuntimeError(f"a granted phone's probe answered {status}, not 204")


def measure(visitor: Visitor, phones: int, probes: int) -> tuple[float, int, float]:
    """Bytes per grant, bytes of `probes` probes, bytes per flush."""
    master = visitor.server_pid
    transports = [phone(visitor.base, number) for number in range(phones)]
    before = written_bytes(master)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda transport: go_online(transport, "fr"), transports))
    time.sleep(FLUSH_SECONDS + 1)  # the grants' statistics are written
    per_grant = (written_bytes(master) - before) / phones
    before = written_bytes(master)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda number: probe(transports[number % phones]), range(probes)))
    probe_bytes = written_bytes(master) - before
    before = written_bytes(master)
    time.sleep(IDLE_SECONDS)
    per_flush = (written_bytes(master) - before) / (IDLE_SECONDS // FLUSH_SECONDS)
    return per_grant, probe_bytes, per_flush


def measured(phones: int, probes: int) -> tuple[float, int, float]:
    """`measure` on a fresh portal."""
    with tempfile.TemporaryDirectory(prefix="passerelle-writes-") as scratch:
        tables = f"[stats]\nflush_seconds = {FLUSH_SECONDS}\n"
        for visitor in production_server(Path(scratch), tables=tables):
            return measure(visitor, phones, probes)
    raise RuntimeError("the portal did not start")


def run(phones: int = PHONES, probes: int = PROBES) -> list[Figure]:
    per_grant, probe_bytes, per_flush = measured(phones, probes)
    per_thousand = probe_bytes * 1_000 / probes
    evening = (
        EVENING_JOINS * per_grant
        + EVENING_PROBES / 1_000 * per_thousand
        + EVENING_FLUSHES * per_flush
    )
    return [
        Figure(
            "sd_writes",
            "bytes written per 1,000 probes",
            f"{TARGET_PROBE_BYTES}",
            f"{per_thousand:.0f}",
            per_thousand <= TARGET_PROBE_BYTES,
        ),
        Figure(
            "sd_writes",
            "bytes written per grant (lesson, grant, statistics)",
            "",
            f"{per_grant / 1024:.1f} kB",
            None,
        ),
        Figure(
            "sd_writes",
            "bytes written per statistics flush, idle",
            "",
            f"{per_flush / 1024:.1f} kB",
            None,
        ),
        Figure(
            "sd_writes",
            f"a busy evening's hour ({EVENING_JOINS} joins, {EVENING_DEVICES} devices probing)",
            "",
            f"{evening / 2**20:.1f} MB",
            None,
        ),
    ]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sd_writes", description=__doc__)
    parser.add_argument("--phones", type=int, default=PHONES)
    parser.add_argument("--probes", type=int, default=PROBES)
    args = parser.parse_args(argv)
    found = run(args.phones, args.probes)
    return report(found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
