"""dnsmasq's configuration: DHCP and DNS for the Wi-Fi side only."""

from __future__ import annotations

from pathlib import Path

from portal.captive.probes import PROBE_HOSTS
from portal.config import Settings
from portal.gatekeeper.dns_switch import DNS_FOLDER, HOSTS_FILE, SERVERS_FILE
from portal.netconfig.templates import fill

TEMPLATE = "dnsmasq.conf.in"
LEASE_FILE_NAME = "dnsmasq.leases"


def dns_probe_hosts() -> list[str]:
    """The probe hosts the Pi answers itself while the uplink is down, sorted."""
    return sorted(PROBE_HOSTS)


def lease_file(settings: Settings) -> Path:
    """Where dnsmasq keeps its leases: beside the portal's other data."""
    return settings.data_dir / LEASE_FILE_NAME


SOURCES = {
    "wifi": "network.wifi_interface",
    "uplink": "network.uplink_interface",
    "portal_address": "network.portal_address",
    "servers": "network.dns_upstreams",
    "servers_file": "render-config --out",
    "hosts_file": "render-config --out",
    # The address in these two is parsed by ipaddress when Settings is built;
    # only the host name is free text.
    "portal_name": "network.portal_hostname",
    "range_start": "network.dhcp_range_start",
    "range_end": "network.dhcp_range_end",
    "lease_file": "storage.data_dir",
    "captive_api": "network.portal_hostname",
}
"""The portal.toml key each placeholder's value comes from (a refusal names it)."""


def captive_api_option(settings: Settings) -> str:
    """DHCP option 114 with the API's https:// address, or a comment saying why there is none.

    Unquoted: dnsmasq reads a value that is no address and no hex as a string, and a
    host name holds no comma; the renderer refuses quotes in values anyway."""
    if not settings.serves_https:
        return "# (none: no certificate in [tls])"
    return f"dhcp-option=114,{settings.api_url}"


def render_dnsmasq(settings: Settings, folder: Path) -> str:
    """dnsmasq.conf, filled from the [network] and [storage] keys; its DNS files are in
    `folder`'s DNS_FOLDER."""
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
            "servers_file": str(folder / DNS_FOLDER / SERVERS_FILE),
            "hosts_file": str(folder / DNS_FOLDER / HOSTS_FILE),
            "portal_name": portal_name,
            "range_start": str(start),
            "range_end": str(end),
            "netmask": str(settings.wifi_network.netmask),
            "lease_minutes": str(network.dhcp_lease_minutes),
            "lease_file": str(lease_file(settings)),
            "captive_api": captive_api_option(settings),
        },
        SOURCES,
    )


def _state(uplink_up: bool) -> str:
    return "up" if uplink_up else "down"


def render_dns_servers(settings: Settings, uplink_up: bool) -> str:
    """dnsmasq's servers-file: the upstreams; while down, the probe hosts local-only."""
    local = dns_probe_hosts() if not uplink_up else []
    return fill(
        "dns-servers.in",
        {
            "state": _state(uplink_up),
            "servers": tuple(f"server={server}" for server in settings.network.dns_upstreams),
            "local_only": tuple(f"server=/{host}/" for host in local),
        },
        SOURCES,
    )


def render_dns_hosts(settings: Settings, uplink_up: bool) -> str:
    """dnsmasq's extra hosts: while the uplink is down, each probe host at the Pi."""
    address = settings.network.portal_address
    hosts = () if uplink_up else tuple(f"{address} {host}" for host in dns_probe_hosts())
    return fill("dns-hosts.in", {"state": _state(uplink_up), "hosts": hosts}, SOURCES)
