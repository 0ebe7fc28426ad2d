"""Who is asking: the request's source address mapped to the device's MAC address.

The identity comes from the kernel, never from a header: `X-Forwarded-For` is
forgeable and the portal is reached directly. A device that just opened a TCP
connection to us is in the neighbour table (read by portal.gatekeeper.neighbours,
which the gatekeeper reads too); when it is not, an ARP who-has is sent with
scapy (this needs CAP_NET_RAW, which the web process normally lacks, so it is a
best-effort fallback). What a MAC address is, the gatekeeper's protocol says.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from pathlib import Path

from portal.gatekeeper.neighbours import NEIGHBOUR_TABLE, neighbours
from portal.gatekeeper.protocol import normalise_mac

log = logging.getLogger(__name__)

Identify = Callable[[str], str | None]
"""Source address → MAC address, or None when the device cannot be recognised."""


def mac_from_neighbour_table(address: str, table: Path = NEIGHBOUR_TABLE) -> str | None:
    """The MAC of the complete entry the kernel's neighbour table holds for `address`."""
    return next((n.mac for n in neighbours(table, address=address) if n.complete), None)


def mac_from_arp_request(address: str, interface: str, timeout: float = 0.5) -> str | None:
    """Ask the network who has `address` (scapy); None without an answer.

    Raises PermissionError when this process may not send raw packets.
    """
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
        raise
    except Exception as error:  # scapy raises many kinds (no interface, no cache folder...)
        log.warning("ARP fallback failed: %s", type(error).__name__)
        return None
    if answer is None:
        return None
    try:
        return normalise_mac(str(answer[ARP].hwsrc))
    except ValueError:
        return None


def may_send_raw_packets() -> bool:
    """May this process open a raw packet socket (CAP_NET_RAW), as the ARP fallback needs?"""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    except OSError:  # PermissionError without the capability; no AF_PACKET elsewhere
        return False
    return True


def neighbour_identity(interface: str, table: Path = NEIGHBOUR_TABLE) -> Identify:
    """Production identity: neighbour table first, ARP who-has as a fallback.

    The fallback is only tried by a process that may send raw packets, found out
    when the identity is made: the web process normally may not, and must then
    never import scapy (seconds of CPU, in which a gevent worker serves nobody).
    It is also given up the first time it is refused. That is this identity's
    state, so each app (each gunicorn worker) finds it out once; no module holds it.
    """
    arp_permitted = may_send_raw_packets()

    def identify(address: str) -> str | None:
        nonlocal arp_permitted
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            return None  # the Wi-Fi side offers no IPv6; nothing else can be a guest
        mac = mac_from_neighbour_table(address, table)
        if mac is not None or not arp_permitted:
            return mac
        try:
            return mac_from_arp_request(address, interface)
        except PermissionError:
            arp_permitted = False
            log.info("ARP fallback disabled: the portal may not send raw packets")
            return None

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
