"""`make test` on a machine without the system packages: named skips, never an error.

The tests that use system tools run again in a private mount namespace where
/dev/null is bound over every tool of tests/system.py (and libnftables), as if
no package were installed; their report must show no error, no failure, and a
Debian package name in every skip.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.install import ROOT
from tests.system import DEBIAN_PACKAGES, LIBNFTABLES, PANGO, find

TOOL_USERS = (
    "tests/test_netconfig.py",
    "tests/test_narration.py",
    "tests/test_gatekeeper.py",
    "tests/test_hostapd.py",
    "tests/test_units.py",
    "tests/test_poster.py",
    "tests/integration",
    "tests/browser",
    "tests/appliance",
)
"""Every test file or folder that needs a system tool (checked below against tests/system.py)."""


HIDE = """
import subprocess, sys, os
count = int(sys.argv[1])
for path in sys.argv[2 : 2 + count]:
    subprocess.run(["mount", "--bind", "/dev/null", path], check=True)
command = sys.argv[2 + count :]
os.execv(command[0], command)
"""
"""Run inside the new mount namespace: /dev/null over each path given, then exec the rest."""


def tool_files() -> list[Path]:
    """Every installed file a tool or libnftables is, symlinks resolved."""
    found = {Path(path).resolve() for tool in DEBIAN_PACKAGES if (path := find(tool))}
    for folder in ("/usr/lib", "/lib"):
        found.update(path.resolve() for path in Path(folder).glob(f"*/{LIBNFTABLES[0]}*"))
    return sorted(found)


def test_every_tool_using_test_is_in_the_hidden_run() -> None:
    users = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if "tests.system" in path.read_text(encoding="utf-8") and path.name != Path(__file__).name
    }
    covered = {user for user in users if any(user.startswith(entry) for entry in TOOL_USERS)}
    assert users == covered
    assert "tests/test_netconfig.py" in users


def test_make_system_deps_installs_every_package_the_tests_name() -> None:
    done = subprocess.run(
        ["make", "-n", "system-deps"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    words = set(done.stdout.replace("\\", " ").split())
    assert {*DEBIAN_PACKAGES.values(), LIBNFTABLES[1], *(package for _, package in PANGO)} <= words
    assert "nftables" in words and "dnsmasq-base" in words


@pytest.fixture
def hidden_report(tmp_path: Path) -> ElementTree.Element:
    if os.geteuid() != 0:
        pytest.skip("needs root to hide the system tools in a private mount namespace")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (Debian package util-linux)")
    hidden = tool_files()
    if not hidden:
        pytest.skip("no system tool is installed: the ordinary run is already the hidden one")
    report = tmp_path / "report.xml"
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    pytest_argv += [f"--junitxml={report}", *TOOL_USERS]
    hide = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", HIDE]
    done = subprocess.run(
        [*hide, str(len(hidden)), *map(str, hidden), *pytest_argv],
        cwd=ROOT,
        # Outside CI, as on a newcomer's machine: in CI every skip counts as a failure.
        env={name: value for name, value in os.environ.items() if name != "CI"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return ElementTree.parse(report).getroot()  # noqa: S314 — our own report


def test_without_system_packages_tests_skip_naming_the_package(
    hidden_report: ElementTree.Element,
) -> None:
    (suite,) = hidden_report.iter("testsuite")
    assert (suite.get("errors"), suite.get("failures")) == ("0", "0")
    skips = [case.find("skipped") for case in suite.iter("testcase")]
    reasons = [skip.get("message", "") for skip in skips if skip is not None]
    assert len(reasons) >= 40
    unnamed = [reason for reason in reasons if "(Debian package " not in reason]
    assert unnamed == []
    assert any("dnsmasq (Debian package dnsmasq-base)" in reason for reason in reasons)
    assert any("chromium (Debian package chromium)" in reason for reason in reasons)
    assert any("espeak-ng (Debian package espeak-ng)" in reason for reason in reasons)
    assert any("libnftables.so.1 (Debian package libnftables1)" in reason for reason in reasons)


def test_libnftables_is_found_where_the_hidden_run_looks() -> None:
    """The hidden run binds over libnftables where the dynamic loader finds it."""
    if ctypes.util.find_library("nftables") is None:
        pytest.skip("libnftables is not installed (Debian package libnftables1)")
    assert any(path.name.startswith("libnftables.so.1") for path in tool_files())
