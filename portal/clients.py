"""Who is asking: the request's source address mapped to the device's MAC address.

The identity comes from the kernel, never from a header: `X-Forwarded-For` is
forgeable and the portal is reached directly. A device that just opened a TCP
connection to us is in the neighbour table; when it is not, an ARP who-has is
sent with scapy (this needs CAP_NET_RAW, which the web process normally lacks,
so it is a best-effort fallback).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
from collections.abc import Callable
from pathlib import Path

from portal.access.firewall import normalise_mac

log = logging.getLogger(__name__)

Identify = Callable[[str], str | None]
"""Source address → MAC address, or None when the device cannot be recognised."""

NEIGHBOUR_TABLE = Path("/proc/net/arp")
ARP_COMPLETE = 0x2


def mac_from_neighbour_table(address: str, table: Path = NEIGHBOUR_TABLE) -> str | None:
    """Look `address` up in the kernel's IPv4 neighbour table (/proc/net/arp)."""
    try:
        lines = table.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        # IP address, HW type, Flags, HW address, Mask, Device
        if len(parts) >= 6 and parts[0] == address and int(parts[2], 16) & ARP_COMPLETE:
            try:
                return normalise_mac(parts[3])
            except ValueError:
                return None
    return None


_arp_unavailable = False
"""Set once the fallback failed for lack of permission: no point asking again every request."""


def mac_from_arp_request(address: str, interface: str, timeout: float = 0.5) -> str | None:
    """Ask the network who has `address` (scapy); None without permission or answer."""
    global _arp_unavailable
    if _arp_unavailable:
        return None
    try:
        # Imported here: scapy is slow to import and only this rare path needs it.
        from scapy.layers.l2 import ARP, Ether
        from scapy.sendrecv import srp1

        answer = srp1(
            Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=address),
            iface=interface,
            timeout=timeout,
            verbose=False,
        )
    except PermissionError:
        _arp_unavailable = True
        log.info("ARP fallback disabled: the portal may not send raw packets")
        return None
    except Exception as error:  # scapy raises many kinds (no interface, no cache folder...)
        log.warning("ARP fallback failed: %s", type(error).__name__)
        return None
    if answer is None:
        return None
    try:
        return normalise_mac(str(answer[ARP].hwsrc))
    except ValueError:
        return None


def neighbour_identity(interface: str, table: Path = NEIGHBOUR_TABLE) -> Identify:
    """Production identity: neighbour table first, ARP who-has as a fallback."""

    def identify(address: str) -> str | None:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            return None  # the Wi-Fi side offers no IPv6; nothing else can be a guest
        return mac_from_neighbour_table(address, table) or mac_from_arp_request(address, interface)

    return identify


@functools.lru_cache(maxsize=1024)
def address_identity(address: str) -> str | None:
    """Demo identity: a stable, locally administered MAC derived from the address.

    On a laptop every visitor is 127.0.0.1 and has no neighbour entry; deriving a
    MAC keeps one code path (grants are always keyed by MAC).
    """
    try:
        packed = ipaddress.ip_address(address).packed
    except ValueError:
        return None
    tail = packed[-4:] if len(packed) == 4 else hashlib.sha256(packed).digest()[:4]
    return normalise_mac("02:00:" + ":".join(f"{byte:02x}" for byte in tail))
