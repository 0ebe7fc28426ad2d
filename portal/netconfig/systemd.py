"""The systemd units of a Passerelle Pi, rendered from portal.toml like the network files.

Every program a unit runs is this installation's own (the folder of the Python
that renders them: the venv's bin/, /opt/passerelle/venv/bin on a Pi), so the
units always start the code that rendered them. The web and housekeeping
processes run as SERVICE_USER with the same hardening, written once here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from portal.config import Settings
from portal.machine import SEPARATE_HOUSEKEEPING
from portal.netconfig.templates import fill

BOOT_PARTITION = Path("/boot/firmware")
"""Raspberry Pi OS's FAT partition, which a volunteer's laptop reads: portal.toml and what
the Pi writes back beside it."""
SERVICE_USER = "passerelle"
"""The unprivileged user of the portal and the housekeeping (made by deploy/install.sh)."""
PROGRAMS = Path(sys.executable).parent
"""This installation's programs (`portal`, `portal-gatekeeper`)."""

UNITS = (
    "portal-apply.service",
    "portal-firewall.service",
    "portal-hostapd.service",
    "portal-dnsmasq.service",
    "portal-gatekeeper.socket",
    "portal-gatekeeper.service",
    "portal.service",
    "portal-housekeep.service",
    "portal-report.service",
    "portal-report.timer",
)

SOURCES = {
    "wifi": "network.wifi_interface",
    "portal_address": "network.portal_address",
    "socket": "firewall.gatekeeper_socket",
    "hardening": "storage.data_dir",
    "programs": "the portal's installation folder",
    "rendered": "render-config --out",
}
"""The portal.toml key each free-text placeholder comes from (a refusal names it)."""


def hardening(settings: Settings) -> tuple[str, ...]:
    """The sandbox of the unprivileged services: they may write the data directory only."""
    return sandbox(settings.data_dir, umask="0077")


def sandbox(writable: Path, umask: str) -> tuple[str, ...]:
    """Everything out of reach but `writable`; files made with `umask`."""
    return (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={writable}",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        # The web's sockets, the gatekeeper's, and netlink for the neighbour table.
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallErrorNumber=EPERM",
        f"UMask={umask}",
    )


DAEMON_HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=full",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
)
"""For hostapd and dnsmasq, which start as root and need the network's capabilities
(dnsmasq then drops to its own user): /usr, /boot and /etc read-only, the rest of the
system out of reach; each unit names its own capability bounding set."""


def render_unit(name: str, settings: Settings, folder: Path) -> str:
    """The unit `name` (one of UNITS), filled from portal.toml; the other rendered files (and
    the portal.toml in force) are in `folder`."""
    network = settings.network
    return fill(
        f"{name}.in",
        {
            "programs": str(PROGRAMS),
            "boot": str(BOOT_PARTITION),
            "rendered": str(folder),
            "user": SERVICE_USER,
            "wifi": network.wifi_interface,
            "portal_address": network.portal_address,
            "prefix_length": str(network.prefix_length),
            "socket": settings.firewall.gatekeeper_socket,
            "hardening": hardening(settings),
            "daemon_hardening": DAEMON_HARDENING,
            # Read by volunteers on any computer: the boot partition, files readable by all.
            "report_hardening": sandbox(BOOT_PARTITION, umask="0022"),
            "separate_housekeeping": SEPARATE_HOUSEKEEPING,
        },
        SOURCES,
    )
