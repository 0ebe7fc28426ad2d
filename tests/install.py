"""The portal as a Pi gets it: a wheel built from the checkout, installed into a fresh venv.

Built from a copy of the checkout without compiled catalogs, so the wheel's own
build step must compile them. The venv lies in a folder every user can reach,
so the end-to-end tests can run it as uid 65534 wherever the checkout was
cloned (a private home or `mktemp -d` folder included).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.mo", "test-artifacts"
)
PIP = ["-m", "pip", "--disable-pip-version-check", "-q"]


def build_wheel(work: Path) -> Path:
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=LEFT_OUT)
    subprocess.run(
        [sys.executable, *PIP, "wheel", "--no-deps", "-w", str(work), str(source)], check=True
    )
    shutil.rmtree(source)
    (wheel,) = work.glob("passerelle_portal-*.whl")
    return wheel


def install_wheel(wheel: Path, venv: Path) -> Path:
    """A fresh venv holding the wheel and its dependencies; returns its `bin` folder."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), *PIP, "install", str(wheel)], check=True)
    # Whatever the caller's umask: every user may read and run the install.
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return venv / "bin"


@dataclass(frozen=True)
class InstalledPortal:
    wheel: Path
    bin: Path
    """The venv's scripts: `portal`, `portal-gatekeeper`, `python`."""


@contextmanager
def installed() -> Iterator[InstalledPortal]:
    """The wheel of this checkout in a fresh venv that every user can reach, removed after."""
    work = Path(tempfile.mkdtemp(prefix="passerelle-wheel-"))
    work.chmod(0o755)
    try:
        wheel = build_wheel(work)
        yield InstalledPortal(wheel, install_wheel(wheel, work / "venv"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
