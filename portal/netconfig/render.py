"""Writing every rendered network file into one folder (`portal render-config`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from portal.config import Settings
from portal.files import readable_folder, replace_file
from portal.gatekeeper.dns_switch import (
    ACTIVE_FILES,
    DNS_FOLDER,
    HOSTS_FILE,
    SERVERS_FILE,
    variant,
)
from portal.netconfig.dnsmasq import render_dns_hosts, render_dns_servers, render_dnsmasq
from portal.netconfig.hostapd import render_hostapd
from portal.netconfig.nftables import render_ruleset
from portal.netconfig.systemd import UNITS, render_unit
from portal.netconfig.templates import fill

Renderer = Callable[[Settings, Path], str]
"""Settings and the folder the files go to → one file's text."""


def _ruleset(settings: Settings, _folder: Path) -> str:
    return render_ruleset(settings)


def _hostapd(settings: Settings, _folder: Path) -> str:
    return render_hostapd(settings)


def _networkmanager(settings: Settings, _folder: Path) -> str:
    return fill(
        "networkmanager.conf.in",
        {"wifi": settings.network.wifi_interface},
        {"wifi": "network.wifi_interface"},
    )


def _avahi(settings: Settings, _folder: Path) -> str:
    return fill(
        "avahi-daemon.conf.in",
        {"wifi": settings.network.wifi_interface},
        {"wifi": "network.wifi_interface"},
    )


def _unit(name: str) -> Renderer:
    return lambda settings, folder: render_unit(name, settings, folder)


def _dns_servers(uplink_up: bool) -> Renderer:
    return lambda settings, _folder: render_dns_servers(settings, uplink_up)


def _dns_hosts(uplink_up: bool) -> Renderer:
    return lambda settings, _folder: render_dns_hosts(settings, uplink_up)


RENDERED_FILES: dict[str, Renderer] = {
    "portal.nft": _ruleset,
    "dnsmasq.conf": render_dnsmasq,
    "hostapd.conf": _hostapd,
    "networkmanager.conf": _networkmanager,
    "avahi-daemon.conf": _avahi,
    **{f"{DNS_FOLDER}/{variant(SERVERS_FILE, up)}": _dns_servers(up) for up in (True, False)},
    **{f"{DNS_FOLDER}/{variant(HOSTS_FILE, up)}": _dns_hosts(up) for up in (True, False)},
    **{name: _unit(name) for name in UNITS},
}
"""File name → renderer."""

STARTING_VARIANT = {
    f"{DNS_FOLDER}/{name}": f"{DNS_FOLDER}/{variant(name, True)}" for name in ACTIVE_FILES
}
"""The DNS files dnsmasq starts with: as for an uplink that is up (real answers). The
uplink monitor has the gatekeeper switch them once it has a verdict."""


def write_config(settings: Settings, out_dir: Path) -> list[Path]:
    """Render every file into `out_dir` (their paths are returned): each changed file is
    replaced atomically (never half-written), an unchanged one left as it is.

    Every file is rendered before any is written: a value one renderer refuses
    leaves none of them changed, never a new ruleset beside an old dnsmasq.conf.
    """
    out_dir = out_dir.resolve()  # dnsmasq.conf names its DNS files by absolute path
    rendered = {name: render(settings, out_dir) for name, render in RENDERED_FILES.items()}
    rendered |= {active: rendered[source] for active, source in STARTING_VARIANT.items()}
    for folder in (out_dir, out_dir / DNS_FOLDER):
        # dnsmasq re-reads its DNS files here after dropping root. Nothing here is private.
        readable_folder(folder)
    written: list[Path] = []
    for name, content in rendered.items():
        target = out_dir / name
        written.append(target)
        if _holds(target, content):
            continue  # unchanged: no write on the SD card, and systemd sees no new unit file
        replace_file(target, content.encode("utf-8"))
    return written


def _holds(path: Path, content: str) -> bool:
    """Whether `path` is a file holding exactly `content`, readable by all (0644)."""
    try:
        return path.stat().st_mode & 0o777 == 0o644 and path.read_bytes() == content.encode("utf-8")
    except OSError:
        return False
