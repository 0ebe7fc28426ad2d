"""The uplink monitor: is the Internet reachable from the Pi right now?

The monitor (in the housekeeping process) checks TCP targets and a DNS upstream
with hysteresis, and writes its verdict to a small state file only when it
changes. Web workers read that file (cached by modification time) to answer
every probe "captive" while the Internet is down, so phones show the portal,
whose pages say that lessons and guides still work. Grants are untouched.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from portal.access.firewall import Clock, FirewallError
from portal.config import Settings

log = logging.getLogger(__name__)

STATE_FILE = "uplink.json"
DNS_PORT = 53
_HEADER_BYTES = 12
_RECURSION_DESIRED = 0x0100
_RESPONSE_BIT = 0x80
"""In the third byte of the header (QR)."""
_TYPE_A = 1
_CLASS_IN = 1


@dataclass(frozen=True)
class UplinkState:
    up: bool
    since: int
    """When the Internet last changed state (Unix seconds); 0 when never checked."""


UNKNOWN = UplinkState(up=True, since=0)
"""Without a monitor (demo, or before the first verdict) the Internet is assumed up."""


def state_path(settings: Settings) -> Path:
    return settings.data_dir / STATE_FILE


class UplinkStatus:
    """The web workers' view of the monitor's verdict, looked at no more than once a second.

    The monitor itself checks every few seconds, so a second's delay changes
    nothing, and the probe hot path is spared a stat() per request.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self, path: Path, clock: Clock = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked_at = -self.RECHECK_SECONDS
        self._state = UNKNOWN

    def current(self) -> UplinkState:
        now = self._clock()
        with self._lock:
            if now - self._checked_at >= self.RECHECK_SECONDS:
                self._checked_at = now
                self._reload()
            return self._state

    def _reload(self) -> None:
        try:
            info = os.stat(self._path)
        except FileNotFoundError:
            self._state, self._stamp = UNKNOWN, None
            return
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            self._state = read_state(self._path)
            self._stamp = stamp

    def is_up(self) -> bool:
        return self.current().up


def read_state(path: Path) -> UplinkState:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return UplinkState(up=bool(raw["up"]), since=int(raw["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        # A torn or foreign file must not cut villagers off: assume up.
        return UNKNOWN


def write_state(path: Path, state: UplinkState) -> None:
    """Replace the state file atomically (write a temporary file, then rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"up": state.up, "since": state.since}), encoding="utf-8")
    os.replace(temporary, path)


def tcp_reachable(target: str, timeout: float) -> bool:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def dns_question(query_id: int, name: str) -> bytes:
    """A DNS query for the A record of `name` (a checked host name: ASCII labels of at most
    63 bytes), recursion desired, as RFC 1035 section 4.1 lays it out.

    Built here rather than with scapy: it is 30-odd bytes, and importing scapy would be a
    quarter of the housekeeping process's memory (about 24 MB)."""
    header = struct.pack("!6H", query_id, _RECURSION_DESIRED, 1, 0, 0, 0)
    labels = b"".join(bytes([len(label)]) + label for label in name.encode("ascii").split(b"."))
    return header + labels + b"\0" + struct.pack("!2H", _TYPE_A, _CLASS_IN)


def dns_answers(server: str, name: str, timeout: float, port: int = DNS_PORT) -> bool:
    """Ask `server` about `name`; any answer to this query (even NXDOMAIN) means DNS works."""
    query_id = secrets.randbelow(65536)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(dns_question(query_id, name), (server, port))
            data, _ = sock.recvfrom(4096)
        except OSError:
            return False
    # A whole header with our id and the "response" bit: what follows does not matter.
    return (
        len(data) >= _HEADER_BYTES
        and data[:2] == query_id.to_bytes(2, "big")
        and (data[2] & _RESPONSE_BIT != 0)
    )


class UplinkMonitor:
    """Checks the uplink and publishes a verdict that changes only after N checks in a row.

    `point_dns` (the firewall's: the gatekeeper switches dnsmasq's files) is given the
    verdict after every check: the real answers while up, the probe hosts at the Pi
    while down, so phones show the portal offline and reach the real probe servers,
    over HTTP and HTTPS, online. The gatekeeper does nothing when dnsmasq already has
    that DNS, and tells it again when files were re-rendered or its last signal failed.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        timeout: float = 3.0,
        dns_port: int = DNS_PORT,
        point_dns: Callable[[bool], None] | None = None,
    ) -> None:
        self._uplink = settings.uplink
        self._dns_servers = settings.network.dns_upstreams
        self._path = state_path(settings)
        self._clock = clock
        self._timeout = timeout
        self._dns_port = dns_port
        self._state = read_state(self._path)
        self._streak = 0
        """Checks in a row that disagree with the current verdict."""
        self._point_dns = point_dns
        self._dns_failing = False
        """Did the last try fail (it is logged once, not at every check)?"""

    @property
    def state(self) -> UplinkState:
        return self._state

    def check(self) -> bool:
        """One round: a TCP target connects and, if configured, a DNS upstream answers."""
        targets = self._uplink.check_targets
        if not targets:
            return True
        if not any(tcp_reachable(target, self._timeout) for target in targets):
            return False
        name = self._uplink.dns_check_name
        return not name or any(
            dns_answers(server, name, self._timeout, self._dns_port) for server in self._dns_servers
        )

    def observe(self, reachable: bool) -> UplinkState:
        """Feed one check result; flip the verdict after enough results in a row."""
        if reachable == self._state.up:
            self._streak = 0
            if self._state.since == 0:
                self._publish(UplinkState(up=reachable, since=int(self._clock())))
            return self._state
        self._streak += 1
        needed = self._uplink.up_after_successes if reachable else self._uplink.down_after_failures
        if self._streak >= needed:
            self._streak = 0
            self._publish(UplinkState(up=reachable, since=int(self._clock())))
            log.warning("Internet is %s", "back" if reachable else "down")
        return self._state

    def _publish(self, state: UplinkState) -> None:
        self._state = state
        write_state(self._path, state)

    def point_dns(self) -> None:
        """Have the DNS follow the current verdict."""
        if self._point_dns is None:
            return
        try:
            self._point_dns(self._state.up)
        except FirewallError as error:
            if not self._dns_failing:
                log.warning("DNS cannot follow the uplink (%s); trying at every check", error)
            self._dns_failing = True
            return
        if self._dns_failing:
            log.warning("DNS follows the uplink again")
        self._dns_failing = False

    def round(self) -> UplinkState:
        """One check, its verdict, and the DNS that goes with it."""
        state = self.observe(self.check())
        self.point_dns()
        return state

    def run(self, stop: threading.Event) -> None:
        while True:
            self.round()
            if stop.wait(self._uplink.check_interval_seconds):
                return
