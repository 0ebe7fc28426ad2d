"""The nftables ruleset (`table inet portal`) that enforces who reaches what."""

from __future__ import annotations

from portal.config import Settings
from portal.netconfig.templates import fill

TEMPLATE = "portal.nft.in"

OUT_OF_BOUNDS: tuple[str, ...] = (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # RFC 1918
    "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local
    "172.16.0.0/12",  # RFC 1918
    "192.168.0.0/16",  # RFC 1918
    "224.0.0.0/3",  # multicast (224/4), reserved (240/4) and broadcast
)
"""IPv4 destinations no guest may reach through the Pi, with or without access."""


SOURCES = {
    "wifi": "network.wifi_interface",
    "uplink": "network.uplink_interface",
    "portal_address": "network.portal_address",
}
"""The portal.toml key each free-text placeholder comes from (a refusal names it)."""


def portal_ports(settings: Settings) -> str:
    """The Pi's ports a guest may reach the portal on, as one nft value."""
    ports = [str(port) for port in settings.portal_ports]
    return ports[0] if len(ports) == 1 else "{ " + ", ".join(ports) + " }"


def render_ruleset(settings: Settings) -> str:
    """The ruleset for `nft -f`, filled from the [network] and [tls] keys."""
    network = settings.network
    return fill(
        TEMPLATE,
        {
            "wifi": network.wifi_interface,
            "uplink": network.uplink_interface,
            "portal_address": network.portal_address,
            "portal_port": str(network.portal_port),
            "portal_ports": portal_ports(settings),
            "admin_port": str(network.admin_port),
            "wifi_network": str(settings.wifi_network),
            "out_of_bounds": ", ".join(OUT_OF_BOUNDS),
        },
        SOURCES,
    )
