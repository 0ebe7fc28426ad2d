"""The appliance on the Pi's own architecture: tests/appliance's install, for arm64.

Builds a Debian Trixie chroot for arm64 with mmdebstrap, the arm64 programs run by
qemu-user through binfmt_misc (the Debian packages are installed when missing), puts
Passerelle in with the image's pi-gen stage (deploy/install.sh --no-start inside, the
lessons' audio included, all under emulation), checks it as tests/appliance checks the
native install (files, owners, enabled units, audio, what the image keeps) and runs
`portal check-config` with the arm64 Python. The figures: both chroot builds (arm64, and
this machine's own architecture in the same run, the baseline), their ratio, the install.

Needs root; says why and skips otherwise. Not part of `make test` (minutes, not seconds).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.appliance.chroot import Chroot, ChrootError, unusable
from tests.appliance.installation import (
    WATCHED,
    check_files,
    check_image_leftovers,
    check_narration,
    check_units,
    run_image_stage,
)
from tests.install import build_wheel

BINFMT = Path("/proc/sys/fs/binfmt_misc")
AARCH64 = BINFMT / "qemu-aarch64"
EMULATION_PACKAGES = ("qemu-user-static", "binfmt-support", "arch-test")
"""Debian's statically linked qemu-user, the binfmt_misc registration of its programs
(Debian 12 and 13; later releases keep the name for the same programs), and the tool
mmdebstrap asks for before it builds for another architecture."""
PORTAL = "/opt/passerelle/venv/bin/portal"
INSTALL_SECONDS = 3600.0
"""Time allowed to the install under emulation (apt, pip, the audio), on a busy machine."""


def emulation_unusable() -> str | None:
    """Make this machine run arm64 programs, installing what is missing; why it cannot, or
    None. A Pi (aarch64) runs them itself."""
    if platform.machine() == "aarch64":
        return None
    if not any(BINFMT.iterdir()):
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    missing = [package for package in EMULATION_PACKAGES if not debian_has(package)]
    if missing:
        print(f"appliance: installing {' '.join(missing)}", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            stdout=subprocess.DEVNULL, check=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )  # fmt: skip
    if not AARCH64.exists():  # installed earlier, binfmt_misc mounted since
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=False)
    if not AARCH64.exists():
        return f"arm64 programs do not run here: no {AARCH64} after installing qemu-user-static"
    # F: the kernel opens the interpreter once, so it works inside a chroot without it.
    flags = [line for line in AARCH64.read_text().splitlines() if line.startswith("flags:")]
    if not flags or "F" not in flags[0]:
        return f"{AARCH64} lacks the F flag ({flags}): the chroot could not run qemu"
    return None


def debian_has(package: str) -> bool:
    shown = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return shown.stdout == "install ok installed"


def timed_build(root: Path, architecture: str | None) -> tuple[Chroot, float]:
    started = time.monotonic()
    chroot = Chroot.build(root, root.with_suffix(".log"), architecture)
    return chroot, time.monotonic() - started


def failed_checks(chroot: Chroot) -> list[str]:
    """The checks of tests/appliance that fail on this chroot, each with what it found."""
    entries = chroot.snapshot(*WATCHED)
    checks: dict[str, Callable[[], None]] = {
        "files, owners and modes": lambda: check_files(chroot, entries),
        "units linked and enabled": lambda: check_units(entries),
        "lessons narrated as the portal user": lambda: check_narration(chroot, entries),
        "no copy, build status or secret kept": lambda: check_image_leftovers(chroot, entries),
    }
    failed = []
    for name, check in checks.items():
        try:
            check()
        except AssertionError as error:
            failed.append(f"{name}: {error!r}")
    return failed


def measure(work: Path) -> int:
    wheel = build_wheel(work)
    native, native_seconds = timed_build(work / "native", None)
    shutil.rmtree(native.root)  # only its time is wanted
    print(f"chroot for {platform.machine()} (baseline): {native_seconds:.0f} s", flush=True)
    arm64, arm64_seconds = timed_build(work / "arm64", "arm64")
    machine = arm64.run("uname", "-m").stdout.strip()
    print(f"chroot for arm64: {arm64_seconds:.0f} s ({machine} inside)", flush=True)

    started = time.monotonic()
    stage = run_image_stage(arm64, wheel, work, INSTALL_SECONDS)
    install_seconds = time.monotonic() - started
    if stage.returncode != 0:
        print(f"the image stage failed after {install_seconds:.0f} s:\n"
              f"{(stage.stdout + stage.stderr)[-3000:]}")  # fmt: skip
        return 1
    print(f"image stage (install.sh --no-start, audio included): {install_seconds:.0f} s")
    for line in stage.stdout.splitlines():  # what install.sh did
        if line.startswith("install.sh:"):
            print(f"  {line}")

    started = time.monotonic()
    checked = arm64.run(PORTAL, "check-config", "/boot/firmware/portal.toml")
    check_seconds = time.monotonic() - started
    failed = failed_checks(arm64)
    if checked.returncode != 0 or "OK" not in checked.stdout:
        failed.append(
            f"portal check-config: {checked.returncode}: {checked.stdout}{checked.stderr}"
        )

    print(f"portal check-config under emulation: {check_seconds:.1f} s")
    print(f"arm64 / {platform.machine()} chroot build: {arm64_seconds / native_seconds:.2f}")
    for failure in failed:
        print(f"  FAIL {failure}")
    print(f"checks ({len(failed)} failed): {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench appliance", description=__doc__)
    parser.parse_args(argv)
    reason = unusable() or emulation_unusable()
    if reason is not None:
        print(f"appliance: skipped ({reason})")
        return 0
    work = Path(tempfile.mkdtemp(prefix="passerelle-arm64-", dir="/var/tmp"))
    try:
        return measure(work)
    except (ChrootError, subprocess.TimeoutExpired) as error:
        print(f"appliance: {error}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
