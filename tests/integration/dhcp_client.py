"""A one-shot DHCP client (scapy), run inside a client namespace as a script.

    python dhcp_client.py eth0

Sends DISCOVER, takes the OFFER, sends REQUEST, waits for the ACK, and prints
one JSON object: the address offered and the options of OFFER and ACK
(router, name_server, captive_portal = option 114 of RFC 8910, ...). It does
not configure the interface; the caller applies the address with `ip`.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

from scapy.config import conf
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.sendrecv import srp1

BROADCAST_FLAG = 0x8000
"""Asks the server to broadcast its replies: we have no address to receive unicast on."""
MESSAGE_TYPES = {1: "discover", 2: "offer", 3: "request", 5: "ack", 6: "nak"}
OPTION_NAMES = {114: "captive_portal", "captive-portal": "captive_portal"}


def decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def options_of(reply: Packet) -> dict[str, Any]:
    """DHCP options as a dict; option 114 under `captive_portal` whatever scapy calls it."""
    found: dict[str, Any] = {}
    for option in reply[DHCP].options:
        if not isinstance(option, tuple) or not option:
            continue  # "end", "pad"
        name, *values = option
        key = OPTION_NAMES.get(name, str(name).replace("-", "_"))
        if key == "message_type":
            found[key] = MESSAGE_TYPES.get(values[0], values[0])
        else:
            decoded = [decode(value) for value in values]
            found[key] = decoded[0] if len(decoded) == 1 else decoded
    return found


def message(mac: str, xid: int, options: list[Any]) -> Packet:
    """A DHCP message from `mac`, broadcast, the replies asked to be broadcast too."""
    return (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")  # noqa: S104 — DHCP's "no address yet"
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), xid=xid, flags=BROADCAST_FLAG)
        / DHCP(options=[*options, "end"])
    )


def request_options(offer: Packet) -> list[Any]:
    """The REQUEST that takes `offer`."""
    return [
        ("message-type", "request"),
        ("requested_addr", offer[BOOTP].yiaddr),
        ("server_id", options_of(offer)["server_id"]),
    ]


def exchange(interface: str, mac: str, xid: int, options: list[Any]) -> Packet:
    reply = srp1(message(mac, xid, options), iface=interface, timeout=10, verbose=False)
    if reply is None or DHCP not in reply:
        raise SystemExit(f"no DHCP answer to {options[0][1]} on {interface}")
    return reply


def main() -> int:
    interface = sys.argv[1]
    conf.checkIPaddr = False  # replies come from the server's address, not the broadcast one
    mac = Path(f"/sys/class/net/{interface}/address").read_text(encoding="ascii").strip()
    xid = secrets.randbits(32)
    offer = exchange(interface, mac, xid, [("message-type", "discover")])
    offered = options_of(offer)
    ack = exchange(interface, mac, xid, request_options(offer))
    print(
        json.dumps(
            {
                "mac": mac,
                "address": ack[BOOTP].yiaddr,
                "offer": offered,
                "ack": options_of(ack),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
