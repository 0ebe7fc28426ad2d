"""The firewall interface the portal talks to, and its in-memory twin.

On the Pi the firewall is the nftables set `allowed`, changed by the privileged
gatekeeper; the web process only ever holds a client of it. Access expires in
the kernel (set element timeout), so every grant carries its remaining time.
What a MAC, a grant length and a listed entry are is the gatekeeper's to say
(portal.gatekeeper.protocol): the memory twin checks its arguments with the
same requests the gatekeeper parses, so it refuses what the gatekeeper refuses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from portal.gatekeeper.protocol import FirewallEntry, GrantRequest, RevokeRequest, SyncRequest

Clock = Callable[[], float]
"""Seconds since the epoch; tests pass a clock they can move forward."""


class FirewallError(RuntimeError):
    """The firewall could not apply a change (gatekeeper down, nft refused, ...)."""


class Firewall(Protocol):
    def grant(self, mac: str, seconds: int) -> None:
        """Let `mac` through for `seconds` (replacing any remaining time)."""

    def revoke(self, mac: str) -> None:
        """Stop letting `mac` through, open connections included."""

    def list(self) -> list[FirewallEntry]:
        """Every device currently let through."""

    def sync(self, grants: Mapping[str, int]) -> None:
        """Make the set hold exactly `grants` (mac → seconds left), e.g. after a reboot."""

    def point_dns(self, uplink_up: bool) -> None:
        """Give guests the DNS for an uplink that is up (real answers) or down (the probe
        hosts at the Pi); the gatekeeper switches dnsmasq's files."""


class TrafficCounters(Protocol):
    def counters(self) -> dict[str, int]:
        """Bytes each device let through has carried since its element was added."""


class MemoryFirewall:
    """A firewall kept in this process's memory: for demo mode and tests. Its timeouts
    count on a monotonic `clock`, as the kernel's do: a wall clock's jump moves them not."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._monotonic = clock
        self._lock = threading.Lock()
        self._deadlines: dict[str, float] = {}
        self._packets: dict[str, int] = {}
        self._bytes: dict[str, int] = {}

    def grant(self, mac: str, seconds: int) -> None:
        request = GrantRequest.checked(mac, seconds)
        with self._lock:
            self._deadlines[request.mac] = self._monotonic() + request.seconds
            self._packets.setdefault(request.mac, 0)
            self._bytes[request.mac] = 0  # the kernel's re-grant restarts the counter too

    def revoke(self, mac: str) -> None:
        request = RevokeRequest.checked(mac)
        with self._lock:
            self._deadlines.pop(request.mac, None)
            self._packets.pop(request.mac, None)
            self._bytes.pop(request.mac, None)

    def list(self) -> list[FirewallEntry]:
        now = self._monotonic()
        with self._lock:
            for mac in [m for m, deadline in self._deadlines.items() if deadline <= now]:
                del self._deadlines[mac]
                del self._packets[mac]
                self._bytes.pop(mac, None)
            return [
                FirewallEntry(mac, int(deadline - now), self._packets[mac])
                for mac, deadline in sorted(self._deadlines.items())
            ]

    def sync(self, grants: Mapping[str, int]) -> None:
        checked = SyncRequest.checked(grants).grants
        now = self._monotonic()
        with self._lock:
            self._deadlines = {mac: now + seconds for mac, seconds in checked.items()}
            self._packets = {mac: self._packets.get(mac, 0) for mac in checked}
            self._bytes = {mac: self._bytes.get(mac, 0) for mac in checked}

    def point_dns(self, uplink_up: bool) -> None:
        """No dnsmasq to point: the demo's DNS is the computer's own."""

    def counters(self) -> dict[str, int]:
        """The bytes counters of the elements, as the gatekeeper's `counters` verb gives them."""
        self.list()  # drops the expired, as the kernel does
        with self._lock:
            return dict(self._bytes)

    def count_traffic(self, mac: str, packets: int, carried: int = 0) -> None:
        """Stand-in for the kernel's per-element counters (demo and tests)."""
        with self._lock:
            if mac in self._packets:
                self._packets[mac] += packets
                self._bytes[mac] += carried
