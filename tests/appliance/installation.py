"""Passerelle put into a chroot the two ways a Pi gets it, and what a right install is.

The image's way: deploy/pi-gen's stage run as pi-gen runs it (its script on the build
machine, then its script inside the image's chroot). The volunteer's way: deploy/install.sh
from a download. The checks are shared by tests/appliance/ and the arm64 benchmark
(bench/appliance.py), so both hold an install to the same standard.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.appliance.chroot import Chroot, Entry

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
STAGE_STEP = Path("deploy", "pi-gen", "00-passerelle")
"""The stage's one step, in a checkout: 00-run.sh (build machine), 01-run-chroot.sh (image)."""
STAGE_COPY = "/root/passerelle-image"
"""Where the stage's first script puts the wheel and deploy/ inside; the second removes it."""
INSIDE = "/root/passerelle"
"""Where the wheel and deploy/ are put inside, as a volunteer's download would be."""
CHANGING = {"/boot/firmware/portal-status.txt", "/var/lib/passerelle/config-status.json"}
"""Files every run rewrites, as they say when the settings were checked."""
WATCHED = ("/etc/passerelle", "/etc/systemd/system", "/etc/NetworkManager", "/etc/sysctl.d",
           "/opt/passerelle", "/var/lib/passerelle", "/boot/firmware",
           "/usr/local/bin")  # fmt: skip
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


def run_image_stage(
    chroot: Chroot, wheel: Path, work: Path, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """The pi-gen stage into the chroot, as pi-gen runs it: 00-run.sh here, from its own
    folder of a checkout (deploy/, and dist/ holding the wheel, laid in `work`) with
    ROOTFS_DIR set; then 01-run-chroot.sh inside, on the standard input of `bash -e`, for
    at most `timeout` seconds. The result of the first that failed, or of the second."""
    checkout = work / "checkout"
    shutil.copytree(DEPLOY, checkout / "deploy", symlinks=True)
    (checkout / "dist").mkdir()
    shutil.copy(wheel, checkout / "dist")
    step = checkout / STAGE_STEP
    copied = subprocess.run(
        ["./00-run.sh"], cwd=step, env={**os.environ, "ROOTFS_DIR": str(chroot.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if copied.returncode != 0:
        return copied
    script = (step / "01-run-chroot.sh").read_text(encoding="utf-8")
    return chroot.run("bash", "-e", stdin=script, timeout=timeout)


def lay_download(chroot: Chroot, wheel: Path) -> str:
    """The wheel and deploy/ inside, where a volunteer unpacks them; the wheel's path inside."""
    shutil.copytree(DEPLOY, chroot.path(f"{INSIDE}/deploy"), dirs_exist_ok=True)
    shutil.copy(wheel, chroot.path(INSIDE))
    return f"{INSIDE}/{wheel.name}"


def install(chroot: Chroot, wheel: str) -> subprocess.CompletedProcess[str]:
    """deploy/install.sh from the download, as a volunteer runs it (nothing started)."""
    return chroot.run("sh", f"{INSIDE}/deploy/install.sh", "--wheel", wheel, "--no-start")


def passerelle_ids(chroot: Chroot) -> tuple[int, int]:
    for line in chroot.path("/etc/passwd").read_text(encoding="utf-8").splitlines():
        name, _, uid, gid, *_ = line.split(":")
        if name == "passerelle":
            return int(uid), int(gid)
    raise AssertionError("no user passerelle in the chroot")


def check_files(chroot: Chroot, entries: dict[str, Entry]) -> None:
    """The user, the data directory, the venv, the rendered files, the volunteer's file."""
    uid, gid = passerelle_ids(chroot)
    assert uid < 1000, uid  # a system user
    data = entries["/var/lib/passerelle"]
    assert (data.kind, data.mode, data.owner) == ("folder", 0o700, (uid, gid)), data
    assert chroot.path("/opt/passerelle/venv/bin/portal").is_file()
    assert entries["/usr/local/bin/portal"].content == "/opt/passerelle/venv/bin/portal"
    for name in ("hostapd.conf", "dnsmasq.conf", "portal.nft", "portal.toml", *UNITS):
        entry = entries[f"/etc/passerelle/{name}"]
        assert (entry.kind, entry.mode, entry.owner) == ("file", 0o644, (0, 0)), (name, entry)
    # The volunteer's file, from the example, and what applying it said.
    for name in ("portal.toml", "portal.example.toml"):  # the example beside it, named by
        assert (  # portal-status.txt when something is wrong
            chroot.path(f"/boot/firmware/{name}").read_bytes()
            == (DEPLOY / "portal.example.toml").read_bytes()
        ), name
    page = json.loads(chroot.path("/var/lib/passerelle/config-status.json").read_text())
    assert page["all_well"] is True, page
    assert entries["/var/lib/passerelle/config-status.json"].owner == (uid, gid)


def check_units(entries: dict[str, Entry]) -> None:
    """Every unit linked from /etc/passerelle and enabled; Debian's hostapd masked."""
    for unit in UNITS:
        link = entries[f"/etc/systemd/system/{unit}"]
        assert (link.kind, link.content) == ("link", f"/etc/passerelle/{unit}"), unit
    wanted = {
        "multi-user.target.wants": [u for u in UNITS if u.endswith(".service") and u not in
                                    ("portal-gatekeeper.service", "portal-report.service")],
        "sockets.target.wants": ["portal-gatekeeper.socket"],
        "timers.target.wants": ["portal-report.timer"],
    }  # fmt: skip
    for target, units in wanted.items():
        for unit in units:
            assert entries[f"/etc/systemd/system/{target}/{unit}"].kind == "link", unit
    # Debian's own hostapd unit never runs beside Passerelle's.
    assert entries["/etc/systemd/system/hostapd.service"].content == "/dev/null"
    assert entries["/etc/NetworkManager/conf.d/90-passerelle.conf"].content == (
        "/etc/passerelle/networkmanager.conf"
    )
    assert entries["/etc/sysctl.d/90-passerelle.conf"].kind == "file"
    # avahi-daemon (Raspberry Pi OS Lite has it) reads the rendered file, kept off the Wi-Fi.
    dropin = (DEPLOY / "system" / "avahi-daemon-passerelle.conf").read_bytes()
    assert b"avahi-daemon -s -f /etc/passerelle/avahi-daemon.conf\n" in dropin
    avahi = entries["/etc/systemd/system/avahi-daemon.service.d/90-passerelle.conf"]
    assert (avahi.kind, avahi.content) == ("file", hashlib.sha256(dropin).hexdigest())
    assert entries["/etc/passerelle/avahi-daemon.conf"].kind == "file"


def check_narration(chroot: Chroot, entries: dict[str, Entry]) -> None:
    """Every lesson step's audio in the seven default languages, made as the portal's user."""
    uid, gid = passerelle_ids(chroot)
    clips = {
        path: entry for path, entry in entries.items()
        if path.startswith("/var/lib/passerelle/narration/") and path.endswith(".mp3")
    }  # fmt: skip
    assert len(clips) >= 6 * 7, len(clips)  # every lesson step, seven languages
    assert {clip.owner for clip in clips.values()} == {(uid, gid)}
    # Trixie's espeak-ng speaks slower than Bookworm's: its clips are held to the budget.
    sizes = {path: chroot.path(path).stat().st_size for path in clips}
    over = {path: size for path, size in sizes.items() if size > 40 * 1024}
    assert over == {}, over


def check_image_leftovers(chroot: Chroot, entries: dict[str, Entry]) -> None:
    """What the image stage leaves behind: no copy of the download, no portal-status.txt of
    the build (the Pi writes its own at every start), and no secret: every Pi flashed from
    one image makes its own keys."""
    assert not chroot.path(STAGE_COPY).exists()
    assert "/boot/firmware/portal.toml" in entries
    assert "/boot/firmware/portal-status.txt" not in entries
    keys = [path for path in entries if path.startswith("/var/lib/passerelle/keys")]
    assert keys == [], keys


__all__ = [
    "CHANGING",
    "DEPLOY",
    "INSIDE",
    "STAGE_COPY",
    "STAGE_STEP",
    "UNITS",
    "WATCHED",
    "check_files",
    "check_image_leftovers",
    "check_narration",
    "check_units",
    "install",
    "lay_download",
    "passerelle_ids",
    "run_image_stage",
]
