"""A join storm (issue 14): hundreds of phones join at the same moment, a village festival.

Every phone, all of them started at once, does what a phone does on joining:

    probe (captive: 302 to the portal) → start page → language → onboarding lesson →
    "Go on the Internet" (the grant) → probe (online)

and every request of it is timed. Two variants, both against the production configuration:

- **loopback**: real `portal serve` (PRODUCTION_OPTIONS, memory firewall, identity by
  address) on a free loopback port; each phone is a loopback address of its own
  (127.9.x.y). The portal alone.
- **namespaces**: the whole Pi of tests/integration/hotspot.py (the rendered ruleset,
  dnsmasq, the gatekeeper as root, `portal serve` and `portal housekeep` as an
  unprivileged user, identity by MAC) with one network namespace per phone, each plugged
  into the Wi-Fi bridge by a port of its own. A phone first asks DHCP for an address (a
  raw socket in its namespace, DISCOVER → OFFER → REQUEST → ACK), asks the Pi's DNS for the
  probe host and the portal, probes the stand-in Internet's address (the ruleset sends it
  to the portal until the grant, then lets it through: "upstream-ok"), walks the lesson
  and asks for access, which goes through the gatekeeper into the kernel's set.

The phones are threads of this one process, each in its phone's namespace (setns(2) moves
only the calling thread), so 300 phones cost no 300 Python interpreters. They share the
machine's two CPUs with the portal: the figures are the stack's under that load.

Figures: phones online (target all), the p50, p95 and p99 of a request (target p95 under
300 ms), the storm's whole time, the peak memory of the portal (PSS summed over its
processes, sampled every SAMPLE_SECONDS), and in the namespaces the DHCP exchange's p95 and
the grants per second through the gatekeeper (grants over the span from the first grant's
request to the last one's answer).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import os
import random
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from bench.memory import rollup_kb
from bench.probes import PROBE_HOST, PROBE_PATH
from bench.report import Figure, report
from tests.install import installed
from tests.integration.dhcp_client import message, options_of, request_options
from tests.integration.hotspot import (
    PORTAL_HOSTNAME,
    UPSTREAM_BODY,
    Hotspot,
    Phone,
    netns_unusable,
)
from tests.live import child_pids, production_server
from tests.walker import FlowError, HttpTransport, Reply, go_online

PHONES = 300
TARGET_P95_MS = 300.0
SAMPLE_SECONDS = 0.2
CLONE_NEWNET = 0x40000000
ETH_P_IP = 0x0800
DHCP_SECONDS = 30.0
RETRANSMIT_SECONDS = 4.0
DHCP_ATTEMPTS = 3
XID_AT = 14 + 20 + 8 + 4
"""Where a DHCP message's xid is in its frame: Ethernet, IPv4 (no options), UDP, then 4 bytes."""
QUIET_PHONES = 3
TARGET_P95_RATIO = 20.0
"""A request's p95 in the storm, at most this many times its p95 on a quiet portal: the
ratio the short version (tests/test_bench.py) checks; TARGET_P95_MS is about 20 times a quiet
request's p95 on this machine (14 ms)."""
PAUSES = (0.5, 2.0)
"""The seconds a person reads a screen before a tap, drawn evenly: a quick reader (a first
visit in a village takes longer); without them 300 phones would be 300 scripts, not people."""
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")
Pauses = tuple[float, float]


def enter(namespace: str) -> None:
    """From now on this thread's new sockets are in `namespace` (setns(2) of one thread)."""
    descriptor = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if _libc.setns(descriptor, CLONE_NEWNET) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"setns into {namespace}: {os.strerror(number)}")
    finally:
        os.close(descriptor)


@dataclass
class Timings:
    """One phone's timed requests, and when its grant was asked and answered."""

    seconds: list[float] = field(default_factory=list)
    dhcp_seconds: float | None = None
    grant: tuple[float, float] | None = None


class TimedTransport:
    """HttpTransport's GET and POST, each timed into `timings`; the access POST's start and
    end are kept as the grant's. Before a request the person chose (a link or a button; not
    the GET of a redirect's location, which the browser makes at once) the phone waits
    `pause()` seconds: the person reading the screen."""

    def __init__(self, inner: HttpTransport, timings: Timings, pause: Callable[[], float]) -> None:
        self.inner = inner
        self.timings = timings
        self.pause = pause
        self.redirected_to = ""

    def _timed(self, send: Callable[[], T], grant: bool = False) -> T:
        started = time.perf_counter()
        try:
            return send()
        finally:
            ended = time.perf_counter()
            self.timings.seconds.append(ended - started)
            if grant:
                self.timings.grant = (started, ended)

    def _read(self, path: str) -> None:
        if path != self.redirected_to:
            time.sleep(self.pause())

    def _seen(self, reply: Reply) -> Reply:
        self.redirected_to = reply.location if 300 <= reply.status < 400 else ""
        return reply

    def get(self, path: str) -> Reply:
        self._read(path)
        return self._seen(self._timed(lambda: self.inner.get(path)))

    def post(self, path: str, form: dict[str, str]) -> Reply:
        self._read(path)
        grant = path.startswith("/access")
        return self._seen(self._timed(lambda: self.inner.post(path, form), grant=grant))

    def probe(self, prober: HttpTransport) -> tuple[int, bytes]:
        """The OS's connectivity check (Android's) through `prober`: status and body."""
        status, _, body = self._timed(lambda: prober.send(PROBE_PATH, host=PROBE_HOST))
        return status, body


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise FlowError(what)


def journey(
    transport: TimedTransport, prober: HttpTransport, online: Callable[[int, bytes], bool]
) -> None:
    """Probe (captive), the lesson, the grant, probe (`online`): FlowError where it failed."""
    status, _ = transport.probe(prober)
    expect(status == 302, f"probe before the grant: {status}")
    go_online(transport, "fr")
    status, body = transport.probe(prober)
    expect(online(status, body), f"probe after the grant: {status} {body[:40]!r}")


# --- the namespaces' phones: DHCP and DNS of their own ---


def dhcp_exchange(raw: socket.socket, mac: str, xid: int, options: list[object]) -> Packet:
    """Broadcast one DHCP message, again every RETRANSMIT_SECONDS as phones do (RFC 2131
    4.1); the server's reply to it. Every phone hears every broadcast reply: only frames
    carrying this phone's `xid` are parsed."""
    sent = bytes(message(mac, xid, options))
    wanted = xid.to_bytes(4, "big")
    deadline = time.monotonic() + DHCP_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        raw.send(sent)
        resend = time.monotonic() + min(left, RETRANSMIT_SECONDS)
        while (wait := resend - time.monotonic()) > 0:
            raw.settimeout(wait)
            try:
                data = raw.recv(2048)
            except TimeoutError:
                break
            if data[XID_AT : XID_AT + 4] != wanted:
                continue
            frame = Ether(data)
            if BOOTP in frame and frame[BOOTP].op == 2 and DHCP in frame:
                return frame
    raise FlowError(f"no DHCP answer to {options[0]} within {DHCP_SECONDS:.0f} s")


def lease(mac: str) -> dict[str, object]:
    """DISCOVER → OFFER → REQUEST → ACK on this namespace's eth0: the ACK's options and the
    address. A NAK (the offer was taken meanwhile) starts again, as phones do (RFC 2131 3.1)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)) as raw:
        raw.bind(("eth0", 0))
        for _ in range(DHCP_ATTEMPTS):
            xid = secrets.randbits(32)
            offer = dhcp_exchange(raw, mac, xid, [("message-type", "discover")])
            ack = dhcp_exchange(raw, mac, xid, request_options(offer))
            options = options_of(ack)
            if options.get("message_type") == "ack":
                return {**options, "address": ack[BOOTP].yiaddr}
    raise FlowError(f"DHCP: {options.get('message_type')} {DHCP_ATTEMPTS} times")


def resolve(server: str, name: str) -> str:
    """The first A record the Pi's DNS gives for `name`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        udp.connect((server, 53))
        udp.send(bytes(DNS(id=secrets.randbits(16), rd=1, qd=DNSQR(qname=name))))
        answer = DNS(udp.recv(4096))
    for record in answer.an or []:
        if record.type == 1:
            return str(record.rdata)
    raise FlowError(f"DNS: no address for {name}")


def namespace_phone(
    hotspot: Hotspot, phone: Phone, timings: Timings, pause: Callable[[], float]
) -> None:
    enter(phone.namespace)
    started = time.perf_counter()
    given = lease(phone.mac)
    timings.dhcp_seconds = time.perf_counter() - started
    prefix = hotspot.prefix_length
    configure = f"addr add {given['address']}/{prefix} dev eth0\n"
    configure += f"route add default via {given['router']}\n"
    hotspot.ip_batch(phone.namespace, configure)
    server = str(given["name_server"])
    portal = resolve(server, PORTAL_HOSTNAME)
    internet = resolve(server, PROBE_HOST)
    journey(
        TimedTransport(HttpTransport(f"http://{portal}/"), timings, pause),
        HttpTransport(f"http://{internet}/"),
        lambda status, body: (status, body) == (200, UPSTREAM_BODY.encode()),
    )


# --- the storm ---


def percentile_ms(timings: Sequence[Timings], share: float) -> float:
    every = sorted(second for each in timings for second in each.seconds)
    return 1000 * every[min(len(every) - 1, round(share * (len(every) - 1)))]


def p95_ms(seconds: Sequence[float]) -> float:
    return 1000 * statistics.quantiles(seconds, n=20)[-1] if len(seconds) > 1 else 0.0


@dataclass(frozen=True)
class Storm:
    phones: int
    failures: tuple[str, ...]
    timings: tuple[Timings, ...]
    quiet: tuple[Timings, ...]
    """The baseline: QUIET_PHONES phones, one after the other, before the storm."""
    seconds: float
    peak_mb: float
    in_kernel: frozenset[str] | None = None
    """The namespaces: the MACs in the kernel's @allowed set after the storm."""

    @property
    def online(self) -> int:
        return self.phones - len(self.failures)

    def request_ms(self, share: float) -> float:
        return percentile_ms(self.timings, share)

    def quiet_p95_ms(self) -> float:
        return percentile_ms(self.quiet, 0.95)

    def grant_p95_ms(self) -> float:
        return p95_ms([each.grant[1] - each.grant[0] for each in self.timings if each.grant])

    def dhcp_p95_ms(self) -> float:
        return p95_ms([each.dhcp_seconds for each in self.timings if each.dhcp_seconds is not None])

    def grants_per_second(self) -> float:
        grants = [each.grant for each in self.timings if each.grant is not None]
        span = max(end for _, end in grants) - min(start for start, _ in grants)
        return len(grants) / span if span > 0 else 0.0


Walk = Callable[[int, Timings, Callable[[], float]], None]
"""Phone `number`'s journey, timed into its Timings, pausing as its person reads."""


class PeakMemory:
    """The most PSS the processes `pids()` names held together, sampled in a thread."""

    def __init__(self, pids: Callable[[], Sequence[int]]) -> None:
        self.pids = pids
        self.peak_kb = 0
        self.stop = threading.Event()

    def _sample(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            total = 0
            for pid in self.pids():
                with contextlib.suppress(OSError):  # a worker restarted between list and read
                    total += rollup_kb(pid)["Pss"]
            self.peak_kb = max(self.peak_kb, total)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[PeakMemory]:
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self.stop.set()
            sampler.join()


def storm(phones: int, walk: Walk, memory: PeakMemory, pauses: Pauses) -> Storm:
    """`phones` phones at once, each `walk(number, timings, pause)`; each phone's person
    reads a screen for `pauses` seconds (low, high: drawn evenly, seeded by the phone).
    Before them, the baseline: QUIET_PHONES phones walk alone, without reading."""
    quiet = [Timings() for _ in range(QUIET_PHONES)]
    for number, each in enumerate(quiet, start=phones):
        walk(number, each, lambda: 0.0)
    timings = [Timings() for _ in range(phones)]
    go = threading.Barrier(phones)

    def one(number: int) -> str:
        reader = random.Random(number)
        go.wait()
        try:
            walk(number, timings[number], lambda: reader.uniform(*pauses))
        except (FlowError, OSError) as error:  # OSError: no answer within the walker's 10 s
            return f"{type(error).__name__}: {error}"
        return "online"

    with memory.sampling(), ThreadPoolExecutor(phones) as pool:
        started = time.perf_counter()
        outcomes = list(pool.map(one, range(phones)))
        seconds = time.perf_counter() - started
    failures = tuple(outcome for outcome in outcomes if outcome != "online")
    return Storm(phones, failures, tuple(timings), tuple(quiet), seconds, memory.peak_kb / 1024)


def loopback_phone(base: str) -> Walk:
    """Phone `number`'s walk from a loopback address of its own; the portal answers the
    probe itself (204 once the phone is online)."""

    def walk(number: int, timings: Timings, pause: Callable[[], float]) -> None:
        phone = HttpTransport(base, f"127.9.{number // 250}.{number % 250 + 1}")
        journey(TimedTransport(phone, timings, pause), phone, lambda status, _: status == 204)

    return walk


def process_tree(master: int) -> Callable[[], list[int]]:
    return lambda: [master, *child_pids(master)]


def loopback_storm(phones: int, pauses: Pauses) -> Storm:
    with tempfile.TemporaryDirectory(prefix="passerelle-storm-") as scratch:
        for visitor in production_server(Path(scratch)):
            memory = PeakMemory(process_tree(visitor.server_pid))
            return storm(phones, loopback_phone(visitor.base), memory, pauses)
    raise RuntimeError("the portal did not start")


def namespaces_storm(bin_dir: Path, phones: int, pauses: Pauses) -> Storm:
    """The storm on the whole Pi, the portal installed in `bin_dir`."""
    with Hotspot(bin_dir, crowd=phones + QUIET_PHONES) as hotspot:

        def stack() -> list[int]:
            return [
                pid
                for name in ("portal", "gatekeeper", "housekeep")
                for pid in hotspot.processes[name].members()
            ]

        def walk(number: int, timings: Timings, pause: Callable[[], float]) -> None:
            namespace_phone(hotspot, hotspot.crowd[number], timings, pause)

        measured = storm(phones, walk, PeakMemory(stack), pauses)
        return dataclasses.replace(measured, in_kernel=frozenset(hotspot.kernel_set()))


def figures(variant: str, measured: Storm) -> list[Figure]:
    for failure in sorted(set(measured.failures))[:5]:
        print(f"  {variant}: {failure}", file=sys.stderr)
    p95 = measured.request_ms(0.95)
    found = [
        Figure(
            "join_storm",
            f"{variant}: phones online",
            "all",
            f"{measured.online}/{measured.phones}",
            measured.online == measured.phones,
        ),
        Figure(
            "join_storm",
            f"{variant}: a request, p50 / p95 / p99",
            f"p95 < {TARGET_P95_MS:.0f} ms",
            f"{measured.request_ms(0.5):.0f} / {p95:.0f} / {measured.request_ms(0.99):.0f} ms",
            p95 < TARGET_P95_MS,
        ),
        Figure(
            "join_storm",
            f"{variant}: p95 in the storm ÷ p95 quiet",
            f"≤ {TARGET_P95_RATIO:.0f}",
            f"{p95 / measured.quiet_p95_ms():.1f} (quiet {measured.quiet_p95_ms():.0f} ms)",
            p95 / measured.quiet_p95_ms() <= TARGET_P95_RATIO,
        ),
        Figure(
            "join_storm",
            f"{variant}: the grant (access POST), p95",
            "",
            f"{measured.grant_p95_ms():.0f} ms",
            None,
        ),
        Figure("join_storm", f"{variant}: whole storm", "", f"{measured.seconds:.1f} s", None),
        Figure(
            "join_storm", f"{variant}: peak memory (PSS)", "", f"{measured.peak_mb:.0f} MB", None
        ),
    ]
    if measured.in_kernel is not None:
        granted = len(measured.in_kernel) - QUIET_PHONES
        found += [
            Figure(
                "join_storm",
                f"{variant}: phones in the kernel's set",
                "all online",
                f"{granted}/{measured.online}",
                granted == measured.online,
            ),
            Figure(
                "join_storm", f"{variant}: DHCP, p95", "", f"{measured.dhcp_p95_ms():.0f} ms", None
            ),
            Figure(
                "join_storm",
                f"{variant}: grants per second (gatekeeper)",
                "",
                f"{measured.grants_per_second():.1f}",
                None,
            ),
        ]
    return found


def run(phones: int, variants: Sequence[str], pauses: Pauses = PAUSES) -> list[Figure]:
    found: list[Figure] = []
    for variant in variants:
        if variant == "namespaces":
            reason = netns_unusable("nft", "dnsmasq", "conntrack", "curl")
            if reason is not None:
                print(f"join_storm namespaces: skipped ({reason})")
                continue
            with installed() as portal:
                measured = namespaces_storm(portal.bin, phones, pauses)
        else:
            measured = loopback_storm(phones, pauses)
        found += figures(variant, measured)
    return found


VARIANTS = ("loopback", "namespaces")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.join_storm", description=__doc__)
    parser.add_argument("--phones", type=int, default=PHONES, help="phones joining at once")
    parser.add_argument(
        "--variants",
        type=lambda names: names.split(","),
        default=list(VARIANTS),
        help=f"comma-separated, of: {','.join(VARIANTS)}",
    )
    parser.add_argument(
        "--pauses",
        type=lambda text: tuple(float(part) for part in text.split(",")),
        default=PAUSES,
        help="LOW,HIGH: the seconds a person reads a screen (0,0: no reading at all)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s): {', '.join(unknown)}")
    found = run(args.phones, args.variants, args.pauses)
    return report(found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
