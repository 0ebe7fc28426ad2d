"""A fresh Debian Trixie, as Raspberry Pi OS Lite starts from, in a folder: built with
mmdebstrap (for this machine's architecture, or the Pi's arm64 through qemu-user), entered
and booted with systemd-nspawn.

Commands run with the host's network and package access (apt and pip need the
registries) but never touch the host: install.sh starts nothing with --no-start.
The boot runs in a network namespace of its own (--private-network) with one
extra interface named like the Pi's Wi-Fi, so the ruleset and the portal's
address live there and nowhere else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.system import missing

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = (
    # What Raspberry Pi OS Lite has and a minimal Debian lacks.
    "systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates,iproute2,passwd,"
    "util-linux,procps,avahi-daemon"
)
NSPAWN = ["systemd-nspawn", "--quiet", "--keep-unit", "--register=no"]
HOST_PACKAGE_ACCESS = (
    "/etc/pip.conf",
    "/etc/xdg/pip",
    "/opt/pypi",
    "/opt/pypi-more",
    "/opt/wheels",
)
"""This machine's pip configuration and local package indexes, lent (read-only) to the
chroot's pip where they exist, so the wheel's dependencies come as they do on the host."""
HOST_AUTHORITIES = Path("/etc/ssl/certs/ca-certificates.crt")
"""The authorities the host's HTTPS trusts (a proxy's among them, where there is one)."""


def host_package_access() -> list[str]:
    """systemd-nspawn arguments lending the host's package access to the chroot."""
    lent = [f"--bind-ro={path}" for path in HOST_PACKAGE_ACCESS if Path(path).exists()]
    if HOST_AUTHORITIES.is_file():
        inside = "/etc/ssl/host-authorities.crt"
        lent += [f"--bind-ro={HOST_AUTHORITIES}:{inside}", f"--setenv=PIP_CERT={inside}"]
    return lent


class ChrootError(RuntimeError):
    """The chroot could not be built, entered or booted."""


def unusable() -> str | None:
    """Why no chroot can be built here, or None."""
    if os.geteuid() != 0:
        return "needs root: mmdebstrap --mode=root and systemd-nspawn"
    return missing("mmdebstrap", "systemd-nspawn")


@dataclass(frozen=True)
class Entry:
    """One file system entry as a snapshot sees it."""

    kind: str
    mode: int
    owner: tuple[int, int]
    content: str
    """A file's SHA-256, a link's target, "" for a folder."""


class Chroot:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def build(cls, root: Path, log: Path, architecture: str | None = None) -> Chroot:
        """mmdebstrap into `root`; `architecture` (Debian's name, such as arm64) runs through
        the host's binfmt_misc emulation, None is this machine's own."""
        foreign = [f"--architectures={architecture}"] if architecture else []
        with log.open("wb") as output:
            done = subprocess.run(
                ["mmdebstrap", "--mode=root", "--variant=apt", f"--include={BASE_PACKAGES}",
                 *foreign, SUITE, str(root), MIRROR],
                stdout=output, stderr=subprocess.STDOUT, timeout=1800, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise ChrootError(f"mmdebstrap failed:\n{log.read_text(errors='replace')[-3000:]}")
        # apt and pip inside need names resolved as on the host.
        shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")
        # Where Raspberry Pi OS mounts the boot partition (the volunteer's portal.toml).
        (root / "boot" / "firmware").mkdir(parents=True, exist_ok=True)
        return cls(root)

    def run(
        self, *argv: str, timeout: float = 900, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside (as root, the host's network), `stdin` its standard input;
        its result, whatever it is. systemd's tools are told they run in a chroot, as in
        pi-gen's: the command is PID 1 of its own namespace, so they would not see it, and
        `systemctl try-restart` would fail for want of a running systemd."""
        return subprocess.run(
            [*NSPAWN, "--pipe", f"--directory={self.root}", "--setenv=LC_ALL=C.UTF-8",
             "--setenv=SYSTEMD_IN_CHROOT=1", *host_package_access(), *argv],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def snapshot(self, *folders: str) -> dict[str, Entry]:
        """Every entry under these folders (inside): kind, mode, owner, content."""
        found: dict[str, Entry] = {}
        for folder in folders:
            top = self.path(folder)
            for path in [top, *sorted(top.rglob("*"))] if top.exists() else []:
                info = path.lstat()
                owner = (info.st_uid, info.st_gid)
                inside = "/" + str(path.relative_to(self.root))
                if stat.S_ISLNK(info.st_mode):
                    found[inside] = Entry("link", 0, owner, os.readlink(path))
                elif stat.S_ISDIR(info.st_mode):
                    found[inside] = Entry("folder", stat.S_IMODE(info.st_mode), owner, "")
                else:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    found[inside] = Entry("file", stat.S_IMODE(info.st_mode), owner, digest)
        return found

    @contextlib.contextmanager
    def booted(self, log: Path) -> Iterator[Booted]:
        """Boot it (systemd as PID 1) in a network namespace of its own, with an interface
        wlan0 (the container's end of a veth pair); stopped when the block ends."""
        host_end = f"pz{secrets.token_hex(3)}"
        output = log.open("wb")
        process = subprocess.Popen(
            [*NSPAWN, "--boot", f"--directory={self.root}", "--console=pipe",
             "--private-network", f"--network-veth-extra={host_end}:wlan0"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield Booted(process, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            output.close()


class Booted:
    """A booted chroot: commands run in its namespaces, as its own root."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def init_pid(self) -> int | None:
        """The container's PID 1 (systemd) as the host numbers it."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError, ValueError, IndexError):  # not yet, or gone
            return int(children.read_text().split()[0])
        return None

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        pid = self.init_pid()
        if pid is None:
            raise ChrootError(f"the container is not running:\n{self.log.read_text()[-2000:]}")
        return subprocess.run(
            ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "--", *argv],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def wait_until_settled(self, timeout: float = 120) -> str:
        """Wait for the boot to end ("running" or "degraded"); the state."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if self.init_pid() is not None:
                state = self.run("systemctl", "is-system-running").stdout.strip()
                if state in ("running", "degraded"):
                    return state
            time.sleep(1)
        raise ChrootError(f"the boot did not settle within {timeout} s (last: {state!r})")

    def unit_state(self, unit: str) -> tuple[str, str]:
        """(ActiveState, Result) of a unit."""
        shown = self.run("systemctl", "show", "--property=ActiveState,Result", unit).stdout
        values = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        return values.get("ActiveState", ""), values.get("Result", "")


__all__ = ["Booted", "Chroot", "ChrootError", "Entry", "unusable"]
