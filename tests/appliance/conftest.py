"""One chroot per session: Debian Trixie, Passerelle put in by the image's pi-gen stage, then
deploy/install.sh run again from a download, as a volunteer would."""

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
from tests.appliance.installation import WATCHED, install, lay_download, run_image_stage
from tests.conftest import InstalledPortal


@dataclass(frozen=True)
class Installed:
    chroot: Chroot
    first: subprocess.CompletedProcess[str]
    """The image stage's run (deploy/pi-gen), which installs."""
    second: subprocess.CompletedProcess[str]
    """deploy/install.sh run again from a download."""
    before: dict[str, Entry]
    after: dict[str, Entry]
    seconds: tuple[float, float]
    """How long each run took."""


@pytest.fixture(scope="session")
def installed(request: pytest.FixtureRequest) -> Iterator[Installed]:
    reason = unusable()
    if reason is not None:
        pytest.skip(reason)
    portal: InstalledPortal = request.getfixturevalue("installed_portal")
    work = Path(tempfile.mkdtemp(prefix="passerelle-chroot-", dir="/var/tmp"))
    try:
        chroot = Chroot.build(work / "root", work / "mmdebstrap.log")
        started = time.monotonic()
        first = run_image_stage(chroot, portal.wheel, work)
        first_seconds = time.monotonic() - started
        before = chroot.snapshot(*WATCHED)
        wheel = lay_download(chroot, portal.wheel)
        started = time.monotonic()
        second = install(chroot, wheel)
        second_seconds = time.monotonic() - started
        after = chroot.snapshot(*WATCHED)
        yield Installed(chroot, first, second, before, after, (first_seconds, second_seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
