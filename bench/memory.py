"""Memory of the production stack after a join storm, for each gunicorn profile.

The stack is what a Pi runs (tests/integration/hotspot.py builds it in network
namespaces from the installed wheel): `portal serve` as an unprivileged user (its
master and every worker), the gatekeeper as root on the real nftables set, and
`portal housekeep` where the profile leaves the housekeeping to it (pi4; the zero2w
worker runs it itself, portal/machine.py). The portal is started with each profile of
portal/serving.py in turn; each time a join storm of phones (each from a loopback address
of the Pi's own namespace, client_identity = "address") walks the lesson and asks for
access, then the memory of every process is read from /proc/PID/smaps_rollup. What counts
is the sum of PSS (a page shared by N processes counts 1/N in each, so once in
the sum). Baseline, in the same run: the demo (`portal demo`: master and one
worker) after the same storm.

PSS also divides a page among programs outside the stack that map it (libpython
and libc, by every Python program on this machine), so its sum moves with what
else runs. The line "every page once" counts each physical page of the stack
once, whoever else maps it (from /proc/PID/pagemap): the most the stack can take.

Targets: TARGET_MB for each profile.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.slow_guests import onboard
from portal.machine import housekeeps_in_worker
from portal.serving import PROFILES
from tests.install import installed
from tests.integration.hotspot import PORTAL_ADDRESS, Hotspot, netns_unusable
from tests.integration.processes import checkout_script
from tests.live import child_pids, demo_server

PHONE_SCRIPT = Path(__file__).resolve().parent / "grant_phone.py"
TARGET_MB = {"pi4": 120.0, "zero2w": 80.0}
"""Most PSS the whole stack may take after a join storm, per profile."""
SETTLE_SECONDS = 2.0
"""After the storm, before the reading: the last connections close."""
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
ENTRY_BYTES = 8
FRAME_MASK = (1 << 55) - 1


@dataclass(frozen=True)
class Footprint:
    """One process's memory, as /proc/PID/smaps_rollup counts it (kB), and the physical
    pages it has in memory."""

    role: str
    pid: int
    rss_kb: int
    pss_kb: int
    private_kb: int
    """Its pages no other process maps (USS): what it alone costs."""
    frames: frozenset[int]


def rollup_kb(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup's fields (Rss, Pss, ...), in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines()[1:]:
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0])
    return fields


def footprint(role: str, pid: int) -> Footprint:
    fields = rollup_kb(pid)
    private = fields["Private_Clean"] + fields["Private_Dirty"]
    return Footprint(role, pid, fields["Rss"], fields["Pss"], private, resident_frames(pid))


def resident_frames(pid: int) -> frozenset[int]:
    """The physical page numbers of the pages `pid` has in memory (/proc/PID/pagemap: bit 63
    says present, bits 0-54 the frame; root alone is shown the frames)."""
    frames: set[int] = set()
    with Path(f"/proc/{pid}/pagemap").open("rb") as pagemap:
        for line in Path(f"/proc/{pid}/maps").read_text(encoding="ascii").splitlines():
            start, end = (int(address, 16) for address in line.split()[0].split("-"))
            if line.endswith("[vsyscall]"):
                continue  # above the range pagemap covers
            pagemap.seek(start // PAGE_SIZE * ENTRY_BYTES)
            entries = pagemap.read((end - start) // PAGE_SIZE * ENTRY_BYTES)
            frames.update(
                entry & FRAME_MASK for (entry,) in struct.iter_unpack("<Q", entries) if entry >> 63
            )
    return frozenset(frames)


def megabytes(kb: int) -> float:
    return kb / 1024


def once_each_mb(footprints: list[Footprint]) -> float:
    """The pages of these processes, each counted once, also those shared with programs
    outside them (which PSS credits to those programs)."""
    frames = frozenset().union(*(each.frames for each in footprints))
    return len(frames) * PAGE_SIZE / 2**20


def table(footprints: list[Footprint]) -> list[str]:
    lines = [f"    {'process':<22} {'pid':>7} {'RSS MB':>8} {'PSS MB':>8} {'USS MB':>8}"]
    for each in footprints:
        lines.append(
            f"    {each.role:<22} {each.pid:>7} {megabytes(each.rss_kb):8.1f}"
            f" {megabytes(each.pss_kb):8.1f} {megabytes(each.private_kb):8.1f}"
        )
    rss = sum(each.rss_kb for each in footprints)
    pss = sum(each.pss_kb for each in footprints)
    lines.append(f"    {'total':<22} {'':>7} {megabytes(rss):8.1f} {megabytes(pss):8.1f}")
    lines.append(f"    {'every page once':<22} {'':>7} {'':>8} {once_each_mb(footprints):8.1f}")
    return lines


def total_pss_mb(footprints: list[Footprint]) -> float:
    return megabytes(sum(each.pss_kb for each in footprints))


def gunicorn(master: int, workers: Sequence[int]) -> list[Footprint]:
    return [
        footprint("gunicorn master", master),
        *(footprint(f"worker {number}", pid) for number, pid in enumerate(workers, start=1)),
    ]


def cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def demo_baseline(phones: int, parallel: int) -> tuple[list[Footprint], int]:
    """The demo's master and worker after a storm, and how many phones got online."""
    with tempfile.TemporaryDirectory(prefix="passerelle-memory-") as scratch:
        for visitor in demo_server(Path(scratch) / "data"):
            crowd = onboard(visitor.base, 1, phones, parallel)
            time.sleep(SETTLE_SECONDS)
            master = visitor.server_pid
            # Its other child narrates the lessons in the background: not the server.
            workers = sorted(pid for pid in child_pids(master) if cmdline(pid) == cmdline(master))
            return gunicorn(master, workers), crowd.online
    raise RuntimeError("the demo did not start")


def storm(hotspot: Hotspot, subnet: int, phones: int, parallel: int) -> tuple[int, float]:
    """A join storm in the Pi's namespace: how many phones got online, the p95 of a walk."""
    argv = checkout_script(
        PHONE_SCRIPT, "storm", f"http://{PORTAL_ADDRESS}/", str(subnet), str(phones),
        str(parallel),
    )  # fmt: skip
    online, p95 = hotspot.run_in_hotspot(argv, timeout=600).split()
    return int(online), float(p95)


def stack(hotspot: Hotspot) -> list[Footprint]:
    """Every process of the production stack: the portal's master (the statistics keeper
    too) and workers, the gatekeeper, the housekeeping process if one runs."""
    portal = hotspot.processes["portal"]
    master = portal.popen.pid  # `ip netns exec` and setpriv exec it: the pid is gunicorn's
    workers = sorted(pid for pid in portal.members() if pid != master)
    return [
        *gunicorn(master, workers),
        *(footprint("gatekeeper", pid) for pid in hotspot.processes["gatekeeper"].members()),
        *(footprint("housekeeping", pid) for pid in hotspot.processes["housekeep"].members()),
    ]


def measure_profiles(
    bin_dir: Path, phones: int, parallel: int, profiles: Sequence[str]
) -> dict[str, list[Footprint]]:
    measured: dict[str, list[Footprint]] = {}
    with Hotspot(bin_dir, identity="address") as hotspot:
        for subnet, profile in enumerate(profiles, start=2):  # new phones every time
            hotspot.processes["portal"].stop()
            if housekeeps_in_worker(profile):
                hotspot.processes["housekeep"].stop()  # as on a Zero 2 W: one copy, the worker's
            hotspot.start_portal("--profile", profile)
            online, p95 = storm(hotspot, subnet, phones, parallel)
            print(f"  profile {profile}: {online}/{phones} phones online, p95 {p95:.2f} s")
            if online != phones:
                raise SystemExit(f"the storm failed on profile {profile}: no figure counts")
            time.sleep(SETTLE_SECONDS)
            measured[profile] = stack(hotspot)
    return measured


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--phones", type=int, default=200, help="phones in each storm")
    parser.add_argument("--parallel", type=int, default=48, help="phones walking at once")
    parser.add_argument(
        "--profiles",
        type=lambda names: names.split(","),
        default=list(PROFILES),
        help=f"the profiles to measure, comma-separated (default: {','.join(PROFILES)})",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.profiles if name not in PROFILES]
    if unknown:
        parser.error(f"unknown profile(s): {', '.join(unknown)}; known: {', '.join(PROFILES)}")
    reason = netns_unusable("nft", "dnsmasq", "conntrack", "curl")
    if reason is not None:
        print(f"memory: skipped ({reason})")
        return 0
    print(
        f"memory: PSS summed over the stack after a join storm of {args.phones} phones"
        f" ({args.parallel} at once), /proc/PID/smaps_rollup",
        flush=True,
    )
    demo, online = demo_baseline(args.phones, args.parallel)
    if online != args.phones:
        print(f"memory: only {online}/{args.phones} phones got online on the demo")
        return 1
    with installed() as portal:
        measured = measure_profiles(portal.bin, args.phones, args.parallel, args.profiles)
    baseline = total_pss_mb(demo)
    print("  baseline: the demo (master and one worker)", *table(demo), sep="\n")
    verdict = 0
    for profile, footprints in measured.items():
        total, target = total_pss_mb(footprints), TARGET_MB[profile]
        word = "PASS" if total <= target else "FAIL"
        print(f"  profile {profile}", *table(footprints), sep="\n")
        print(
            f"    PSS {total:.1f} MB against {target:.0f} MB: {word}"
            f" ({total / baseline:.2f} x the demo's {baseline:.1f} MB)",
            flush=True,
        )
        verdict = verdict or (0 if total <= target else 1)
    return verdict


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
