"""dnsmasq's configuration: DHCP and DNS for the Wi-Fi side only."""

from __future__ import annotations

from pathlib import Path

from portal.captive.probes import PROBE_HOSTS
from portal.config import Settings
from portal.netconfig.templates import fill

TEMPLATE = "dnsmasq.conf.in"
LEASE_FILE_NAME = "dnsmasq.leases"

GENERAL_PURPOSE_HOSTS: frozenset[str] = frozenset(
    {
        "www.google.com",
        "www.gstatic.com",  # scripts and images of Google's sites
        "clients3.google.com",  # also serves Chrome's and Android's own APIs
        "play.googleapis.com",  # the Play Store
        "edge.microsoft.com",  # Edge's sync and other services
        "www.apple.com",
        "fedoraproject.org",  # the Fedora project's site
        "static.redhat.com",  # Red Hat's sites' files
    }
)
"""Probe hosts that people also use for everything else, so DNS must answer them truly.

Answering one with the Pi's address would break it for granted guests (HTTPS to
the Pi fails). Leaving them out costs nothing before access: port 80 of a guest
without access is sent to the portal anyway, and every OS also probes a host
that is used for nothing else.
"""


def dns_probe_hosts() -> list[str]:
    """The probe hosts dnsmasq answers with the Pi's address, sorted for stable output."""
    return sorted(PROBE_HOSTS - GENERAL_PURPOSE_HOSTS)


def lease_file(settings: Settings) -> Path:
    """Where dnsmasq keeps its leases: beside the portal's other data."""
    return settings.data_dir / LEASE_FILE_NAME


SOURCES = {
    "wifi": "network.wifi_interface",
    "uplink": "network.uplink_interface",
    "portal_address": "network.portal_address",
    "servers": "network.dns_upstreams",
    # The address in these two is parsed by ipaddress when Settings is built;
    # only the host name is free text.
    "portal_name": "network.portal_hostname",
    "range_start": "network.dhcp_range_start",
    "range_end": "network.dhcp_range_end",
    "lease_file": "storage.data_dir",
}
"""The portal.toml key each placeholder's value comes from (a refusal names it)."""


def render_dnsmasq(settings: Settings) -> str:
    """dnsmasq.conf, filled from the [network] and [storage] keys."""
    network = settings.network
    address = network.portal_address
    start, end = settings.dhcp_range
    portal_name = (
        f"address=/{network.portal_hostname}/{address}"
        if network.portal_hostname
        else "# (none: portal_hostname is empty, links use the address)"
    )
    return fill(
        TEMPLATE,
        {
            "wifi": network.wifi_interface,
            "uplink": network.uplink_interface,
            "portal_address": address,
            "servers": tuple(f"server={server}" for server in network.dns_upstreams),
            "portal_name": portal_name,
            "probe_hosts": tuple(f"address=/{host}/{address}" for host in dns_probe_hosts()),
            "range_start": str(start),
            "range_end": str(end),
            "netmask": str(settings.wifi_network.netmask),
            "lease_minutes": str(network.dhcp_lease_minutes),
            "lease_file": str(lease_file(settings)),
        },
        SOURCES,
    )
