"""The kernel's IPv4 neighbour table (/proc/net/arp), read in one place.

Two sides look devices up in it: the portal maps a request's source address to
the device's MAC (portal/clients.py), and the gatekeeper maps a revoked MAC to
the addresses whose connections it cuts (`allowed_set`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from portal.gatekeeper.protocol import normalise_mac

NEIGHBOUR_TABLE = Path("/proc/net/arp")
ATF_COM = 0x2
"""The flag of a complete entry, one whose MAC the kernel has (linux/if_arp.h)."""


@dataclass(frozen=True)
class Neighbour:
    address: str
    """IPv4, dotted."""
    mac: str
    """Normalised; an incomplete entry shows 00:00:00:00:00:00."""
    interface: str
    complete: bool


def neighbours(
    table: Path = NEIGHBOUR_TABLE, *, address: str | None = None, mac: str | None = None
) -> Iterator[Neighbour]:
    """The table's rows with an IPv4 address and a unicast MAC, read as they are asked for.

    `address` (dotted IPv4) or `mac` (normalised) keeps only that device's rows,
    compared with the kernel's own text before a row is parsed: the portal asks on
    every probe, and the table holds a row for every device on the Wi-Fi.
    Nothing when the table cannot be read; a row that does not parse is passed over.
    """
    try:
        rows = table.read_text(encoding="ascii").splitlines()[1:]
    except (OSError, UnicodeDecodeError):
        return
    for row in rows:
        # IP address, HW type, Flags, HW address, Mask, Device
        parts = row.split()
        if len(parts) < 6:
            continue
        if (address is not None and parts[0] != address) or (
            mac is not None and parts[3].lower() != mac
        ):
            continue
        try:
            found = Neighbour(
                str(ipaddress.IPv4Address(parts[0])),
                normalise_mac(parts[3]),
                parts[5],
                complete=bool(int(parts[2], 16) & ATF_COM),
            )
        except ValueError:
            continue
        yield found
