"""One chroot per session: Debian Trixie, then deploy/install.sh run in it twice."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.appliance.chroot import Chroot, Entry, unusable
from tests.install import InstalledPortal

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSIDE = "/root/passerelle"
"""Where the wheel and deploy/ are put inside, as a volunteer's download would be."""
CHANGING = {"/boot/firmware/portal-status.txt", "/var/lib/passerelle/config-status.json"}
"""Files every run rewrites, as they say when the settings were checked."""
WATCHED = ("/etc/passerelle", "/etc/systemd/system", "/etc/NetworkManager", "/etc/sysctl.d",
           "/opt/passerelle", "/var/lib/passerelle", "/boot/firmware",
           "/usr/local/bin")  # fmt: skip


@dataclass(frozen=True)
class Installed:
    chroot: Chroot
    wheel: str
    """The wheel's path inside."""
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    before: dict[str, Entry]
    after: dict[str, Entry]
    seconds: tuple[float, float]
    """How long each run took."""


def install(chroot: Chroot, wheel: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = chroot.run("sh", f"{INSIDE}/deploy/install.sh", "--wheel", wheel, "--no-start")
    return done, time.monotonic() - started


@pytest.fixture(scope="session")
def installed(request: pytest.FixtureRequest) -> Iterator[Installed]:
    reason = unusable()
    if reason is not None:
        pytest.skip(reason)
    portal: InstalledPortal = request.getfixturevalue("installed_portal")
    work = Path(tempfile.mkdtemp(prefix="passerelle-chroot-", dir="/var/tmp"))
    try:
        chroot = Chroot.build(work / "root", work / "mmdebstrap.log")
        shutil.copytree(DEPLOY, chroot.path(f"{INSIDE}/deploy"))
        shutil.copy(portal.wheel, chroot.path(INSIDE))
        chroot.path("/boot/firmware").mkdir(parents=True, exist_ok=True)
        wheel = f"{INSIDE}/{portal.wheel.name}"
        first, first_seconds = install(chroot, wheel)
        before = chroot.snapshot(*WATCHED)
        second, second_seconds = install(chroot, wheel)
        after = chroot.snapshot(*WATCHED)
        yield Installed(
            chroot, wheel, first, second, before, after, (first_seconds, second_seconds)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
