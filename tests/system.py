"""The system tools some tests need, each with the Debian package that brings it.

A test that needs a missing tool skips with a reason naming the package (never
errors), so `make test` passes on a fresh machine; `make system-deps` installs
them all, and .ci/run does so before every run.
"""

from __future__ import annotations

import ctypes
import os
import shutil

import pytest

DEBIAN_PACKAGES = {
    "nft": "nftables",
    "dnsmasq": "dnsmasq-base",
    "conntrack": "conntrack",
    "ip": "iproute2",
    "curl": "curl",
    "espeak-ng": "espeak-ng",
    "lame": "lame",
    "chromium": "chromium",
    "busybox": "busybox",
    "certutil": "libnss3-tools",
    "hostapd": "hostapd",
    "systemd-analyze": "systemd",
    "mmdebstrap": "mmdebstrap",
    "systemd-nspawn": "systemd-container",
    "pdftoppm": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "zbarimg": "zbar-tools",
}
"""Tool (program name) → the Debian package that installs it."""

LIBNFTABLES = ("libnftables.so.1", "libnftables1")
"""The shared library the gatekeeper loads in-process, and its package."""

PANGO = (("libpango-1.0.so.0", "libpango-1.0-0"), ("libpangoft2-1.0.so.0", "libpangoft2-1.0-0"))
"""The shared libraries WeasyPrint loads to lay out the poster's PDF, and their packages."""

SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""Where tools are looked for: root's PATH, whatever the caller's PATH lacks."""


def find(tool: str) -> str | None:
    """The tool's executable path, or None when it is not installed."""
    return shutil.which(tool, path=f"{os.environ.get('PATH', '')}:{SEARCH_PATH}")


def missing(*tools: str) -> str | None:
    """Why the tools cannot be used (naming each missing one's package), or None."""
    absent = [tool for tool in tools if find(tool) is None]
    if not absent:
        return None
    names = ", ".join(f"{tool} (Debian package {DEBIAN_PACKAGES[tool]})" for tool in absent)
    return f"not installed: {names}; `make system-deps` installs them"


def require(*tools: str) -> None:
    """Skip the calling test unless every tool is installed."""
    reason = missing(*tools)
    if reason is not None:
        pytest.skip(reason)


def library_missing(name: str, package: str) -> str | None:
    """Why a shared library cannot be loaded (naming its package), or None."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return f"not installed: {name} (Debian package {package}); `make system-deps` installs it"
    return None


def libnftables_missing() -> str | None:
    return library_missing(*LIBNFTABLES)
