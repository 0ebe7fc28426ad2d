"""The firewall interface the portal talks to, and its in-memory twin.

On the Pi the firewall is the nftables set `allowed`, changed by the privileged
gatekeeper; the web process only ever holds a client of it. Access expires in
the kernel (set element timeout), so every grant carries its remaining time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

MAC_PATTERN = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
MAX_GRANT_SECONDS = 7 * 24 * 3600

Clock = Callable[[], float]
"""Seconds since the epoch; tests pass a clock they can move forward."""


class FirewallError(RuntimeError):
    """The firewall could not apply a change (gatekeeper down, nft refused, ...)."""


@dataclass(frozen=True)
class FirewallEntry:
    mac: str
    seconds_left: int
    packets: int
    """Packets counted for this device so far (the set's per-element counter)."""


def normalise_mac(value: str) -> str:
    """Lower-case colon form; raises ValueError for anything that is not a unicast MAC."""
    mac = value.strip().lower().replace("-", ":")
    if not MAC_PATTERN.match(mac):
        raise ValueError(f"not a MAC address: {value!r}")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"not a unicast MAC address: {value!r}")
    return mac


def check_seconds(seconds: int) -> int:
    if not 1 <= seconds <= MAX_GRANT_SECONDS:
        raise ValueError(f"grant length must be 1..{MAX_GRANT_SECONDS} seconds, got {seconds}")
    return seconds


class Firewall(Protocol):
    def grant(self, mac: str, seconds: int) -> None:
        """Let `mac` through for `seconds` (replacing any remaining time)."""

    def revoke(self, mac: str) -> None:
        """Stop letting `mac` through, open connections included."""

    def list(self) -> list[FirewallEntry]:
        """Every device currently let through."""

    def sync(self, grants: Mapping[str, int]) -> None:
        """Make the set hold exactly `grants` (mac → seconds left), e.g. after a reboot."""


class MemoryFirewall:
    """A firewall kept in this process's memory: for demo mode and tests."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._monotonic = clock
        self._lock = threading.Lock()
        self._deadlines: dict[str, float] = {}
        self._packets: dict[str, int] = {}

    def grant(self, mac: str, seconds: int) -> None:
        mac, seconds = normalise_mac(mac), check_seconds(seconds)
        with self._lock:
            self._deadlines[mac] = self._monotonic() + seconds
            self._packets.setdefault(mac, 0)

    def revoke(self, mac: str) -> None:
        mac = normalise_mac(mac)
        with self._lock:
            self._deadlines.pop(mac, None)
            self._packets.pop(mac, None)

    def list(self) -> list[FirewallEntry]:
        now = self._monotonic()
        with self._lock:
            for mac in [m for m, deadline in self._deadlines.items() if deadline <= now]:
                del self._deadlines[mac]
                del self._packets[mac]
            return [
                FirewallEntry(mac, int(deadline - now), self._packets[mac])
                for mac, deadline in sorted(self._deadlines.items())
            ]

    def sync(self, grants: Mapping[str, int]) -> None:
        checked = {normalise_mac(mac): check_seconds(s) for mac, s in grants.items()}
        now = self._monotonic()
        with self._lock:
            self._deadlines = {mac: now + seconds for mac, seconds in checked.items()}
            self._packets = {mac: self._packets.get(mac, 0) for mac in checked}

    def count_traffic(self, mac: str, packets: int) -> None:
        """Stand-in for the kernel's per-element counter (demo and tests)."""
        with self._lock:
            if mac in self._packets:
                self._packets[mac] += packets
