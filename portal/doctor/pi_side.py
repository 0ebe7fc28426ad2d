"""The hotspot seen from the Pi itself: `portal doctor` (as root, on the Pi)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from portal.config import Settings
from portal.doctor import Finding, fail, ok, warn
from portal.doctor.network import captive_api, dns_of_probe_hosts
from portal.machine import housekeeping_unit, machine_profile
from portal.uplink import UNKNOWN, read_state, state_path

MEGABYTE = 1024 * 1024
SPARE_MB = 100
"""Free space kept beyond a guide pack's install (the database, the journal's overflow)."""

DEFAULT_FIRMWARE_CLIENTS = 8
"""Phones at once on the built-in radio's usual firmware: about 7 to 10."""
MINIMAL_FIRMWARE_CLIENTS = 19
"""With the "minimal" firmware Raspberry Pi OS ships beside it (deploy/hostapd/README.md)."""
ROOMY_DRIVERS = ("mt76",)
"""Drivers whose access points take more phones than any max_clients a village needs."""


def run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    """A command's result; None when it is not installed."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603 (fixed argv)
    except (OSError, subprocess.TimeoutExpired):
        return None


def ruleset() -> Finding:
    done = run(["nft", "list", "table", "inet", "portal"])
    if done is not None and done.returncode == 0 and "set allowed" in done.stdout:
        granted = done.stdout.count("expires")
        return ok("firewall", f"the ruleset is loaded; {granted} devices have access now")
    return fail(
        "firewall",
        "the ruleset is not loaded: nobody gets online, nobody is kept apart",
        # The portal restarts with it (PartOf=) and puts every grant back.
        "systemctl restart portal-firewall",
    )


def internet(settings: Settings) -> tuple[Finding, bool]:
    """The uplink monitor's verdict (portal-housekeep, or the portal on a Zero 2 W); the
    finding and whether it is up."""
    state = read_state(state_path(settings))
    if state == UNKNOWN:
        monitor = housekeeping_unit(machine_profile())
        return warn(
            "Internet",
            "not checked yet",
            f"wait half a minute; if it stays so, systemctl restart {monitor}",
        ), True
    since = datetime.fromtimestamp(state.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if state.up:
        return ok("Internet", f"up since {since}"), True
    return fail(
        "Internet",
        f"down since {since}: phones get the lessons and guides, not the Internet",
        f"check the cable or the 4G box on {settings.network.uplink_interface}",
    ), False


def dns(settings: Settings, internet_up: bool) -> Finding:
    pi = settings.network.portal_address
    return dns_of_probe_hosts(pi, internet_up)[0]


def portal(settings: Settings) -> Finding:
    return captive_api(settings.api_url, settings.serves_https, settings.network.portal_address)[0]


def clock() -> Finding:
    """A Pi has no battery clock: it must have set the time from the network since boot."""
    done = run(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if done is None or done.returncode != 0:
        return warn("clock", "cannot tell (no timedatectl)", "check the date: run `date`")
    if done.stdout.strip() == "yes":
        return ok("clock", "set from the network")
    return fail(
        "clock",
        "not set from the network since the Pi started: access would end early or late",
        "give the Pi the Internet (its uplink); systemd-timesyncd sets the time by itself",
    )


def disk(settings: Settings, usage: Callable[[Path], Any] = shutil.disk_usage) -> Finding:
    """Room for the database and for installing a guide pack (about three times its size)."""
    need = 3 * settings.guides.max_pack_mb + SPARE_MB
    try:
        free = usage(settings.data_dir).free // MEGABYTE
    except OSError as error:
        return fail("disk", f"{settings.data_dir}: {error.strerror}", "sudo portal apply-config")
    if free >= need:
        return ok("disk", f"{free} MB free in {settings.data_dir}")
    return fail(
        "disk",
        f"{free} MB free in {settings.data_dir}; a guide pack needs about {need} MB",
        "use a larger SD card, or lower guides.max_pack_mb in portal.toml",
    )


def radio(settings: Settings, root: Path = Path("/")) -> Finding:
    """The Wi-Fi radio's chip, driver and firmware, and how many phones it takes."""
    name = settings.network.wifi_interface
    net = root / "sys/class/net" / name
    if not (net / "phy80211").exists():
        return fail(
            "radio",
            f"{name} is not a Wi-Fi radio" if net.exists() else f"no interface {name}",
            "plug in the Wi-Fi adapter, or set network.wifi_interface in portal.toml",
        )
    driver = os.path.basename(os.path.realpath(net / "device/driver"))
    chip = _chip(net / "device/uevent")
    wanted = settings.wifi.max_clients
    if driver.startswith(ROOMY_DRIVERS):
        return ok("radio", f"{chip}, driver {driver}: takes {wanted} phones at once")
    if driver != "brcmfmac":
        return ok("radio", f"{chip}, driver {driver}: its limit is not known here")
    firmware = _brcm_firmware(root)
    limit = MINIMAL_FIRMWARE_CLIENTS if "minimal" in firmware else DEFAULT_FIRMWARE_CLIENTS
    seen = f"{chip}, driver brcmfmac, firmware {firmware or 'unknown'}: about {limit} phones"
    if wanted <= limit:
        return ok("radio", seen)
    link = next(iter(_firmware_links(root)), None)
    switch = (
        f"sudo update-alternatives --config {link.name} (choose the one named minimal), "
        "then restart; or "
        if link is not None and "minimal" not in firmware
        else ""
    )
    return warn(
        "radio",
        f"{seen}, fewer than wifi.max_clients = {wanted}",
        f"{switch}set wifi.max_clients = {limit}; or use a USB adapter on the mt76 drivers "
        "(deploy/hostapd/README.md)",
    )


def _chip(uevent: Path) -> str:
    try:
        fields = dict(line.split("=", 1) for line in uevent.read_text().splitlines() if "=" in line)
    except OSError:
        return "chip unknown"
    return "chip " + fields.get("SDIO_ID", fields.get("PRODUCT", "unknown")).lower()


def _firmware_links(root: Path) -> list[Path]:
    """Raspberry Pi OS picks the built-in radio's firmware with update-alternatives."""
    alternatives = root / "etc/alternatives"
    return sorted(alternatives.glob("cyfmac*-sdio.bin")) + sorted(
        alternatives.glob("brcmfmac*-sdio.bin")
    )


def _brcm_firmware(root: Path) -> str:
    for link in _firmware_links(root):
        return os.path.basename(os.path.realpath(link))
    return ""


def check(settings: Settings) -> list[Finding]:
    internet_finding, up = internet(settings)
    return [
        ruleset(),
        internet_finding,
        dns(settings, up),
        portal(settings),
        clock(),
        disk(settings),
        radio(settings),
    ]


__all__ = ["check", "radio"]
