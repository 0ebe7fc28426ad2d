"""The rendered systemd units: accepted by systemd-analyze, the web process unprivileged and
sandboxed, the gatekeeper with two capabilities only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from portal.config import Settings
from portal.machine import machine_profile
from portal.netconfig import write_config
from portal.netconfig.systemd import PROGRAMS, UNITS
from tests.system import find, require


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rendered")
    write_config(Settings().replace("storage", data_dir="/var/lib/passerelle"), folder)
    return folder


def systemd_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    require("systemd-analyze")
    program = find("systemd-analyze")
    assert program is not None
    return subprocess.run([program, *args], capture_output=True, text=True, timeout=60, check=False)


def directives(unit: str) -> dict[str, list[str]]:
    """A unit file's settings, every value of each (comments and sections left out)."""
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            name, _, value = line.partition("=")
            found.setdefault(name, []).append(value)
    return found


def test_systemd_accepts_every_unit(rendered: Path) -> None:
    # Every program a unit starts must exist: this venv's portal and portal-gatekeeper,
    # nft, ip, hostapd and dnsmasq (make system-deps).
    done = systemd_analyze("verify", *(str(rendered / unit) for unit in UNITS))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_systemd_analyze_would_refuse_a_missing_program(rendered: Path, tmp_path: Path) -> None:
    broken = tmp_path / "portal.service"
    text = (rendered / "portal.service").read_text(encoding="utf-8")
    broken.write_text(text.replace(f"{PROGRAMS}/portal", "/nonexistent/portal"), "utf-8")
    done = systemd_analyze("verify", str(broken))
    assert done.returncode == 1
    assert "Command /nonexistent/portal is not executable" in done.stderr


def test_the_portal_runs_unprivileged_with_one_capability(rendered: Path) -> None:
    unit = directives((rendered / "portal.service").read_text(encoding="utf-8"))
    assert unit["User"] == unit["Group"] == ["passerelle"]
    assert unit["ExecStart"] == [f"{PROGRAMS}/portal serve"]
    assert unit["Environment"] == [f"PORTAL_CONFIG={rendered}/portal.toml"]
    assert unit["AmbientCapabilities"] == unit["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    for name, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/passerelle",
        "PrivateTmp": "yes",
        "UMask": "0077",
        "SystemCallFilter": "@system-service",
    }.items():
        assert unit[name] == [value], name


def test_each_root_service_is_bounded_to_the_capabilities_it_needs(rendered: Path) -> None:
    housekeep = directives((rendered / "portal-housekeep.service").read_text(encoding="utf-8"))
    assert housekeep["User"] == ["passerelle"]
    assert housekeep["CapabilityBoundingSet"] == [""]
    gatekeeper = directives((rendered / "portal-gatekeeper.service").read_text("utf-8"))
    assert "User" not in gatekeeper  # root, bounded to:
    assert gatekeeper["CapabilityBoundingSet"] == ["CAP_NET_ADMIN CAP_KILL"]
    assert gatekeeper["ReadWritePaths"] == [f"{rendered}/dns"]  # never the unit files
    hostapd = directives((rendered / "portal-hostapd.service").read_text(encoding="utf-8"))
    assert hostapd["CapabilityBoundingSet"] == ["CAP_NET_ADMIN CAP_NET_RAW"]
    assert hostapd["ExecStartPre"][-1] == "-/usr/sbin/rfkill unblock wlan"
    dnsmasq = directives((rendered / "portal-dnsmasq.service").read_text(encoding="utf-8"))
    assert dnsmasq["CapabilityBoundingSet"] == [
        "CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_CHOWN "
        "CAP_DAC_OVERRIDE"
    ]
    socket = directives((rendered / "portal-gatekeeper.socket").read_text(encoding="utf-8"))
    assert socket["ListenStream"] == ["/run/passerelle/gatekeeper.sock"]
    assert (socket["SocketGroup"], socket["SocketMode"]) == (["passerelle"], ["0660"])


def test_the_portal_restarts_with_the_firewall_to_put_the_grants_back(rendered: Path) -> None:
    """Its workers restore the grants when they start, the Zero 2 W's and the Pi 4's alike,
    after the ruleset is loaded; the housekeeping process, where there is one, goes on."""
    portal = directives((rendered / "portal.service").read_text(encoding="utf-8"))
    assert portal["PartOf"] == ["portal-firewall.service"]
    assert "portal-firewall.service" in portal["After"][0].split()
    housekeep = directives((rendered / "portal-housekeep.service").read_text(encoding="utf-8"))
    assert "PartOf" not in housekeep


def test_the_portal_may_do_whatever_the_housekeeping_unit_may(rendered: Path) -> None:
    """On a Zero 2 W the portal's worker runs the housekeeping: the same user, the same
    sandbox (the data directory to write, the gatekeeper's socket and the uplink checks'
    sockets to open); nothing more but the one capability that binds port 80."""
    portal = directives((rendered / "portal.service").read_text(encoding="utf-8"))
    housekeep = directives((rendered / "portal-housekeep.service").read_text(encoding="utf-8"))
    own = {"Description", "After", "Wants", "ConditionMemory", "ExecStart", "RestartSec"}
    shared = {name: values for name, values in housekeep.items() if name not in own}
    assert shared["CapabilityBoundingSet"] == [""]
    del shared["CapabilityBoundingSet"]
    assert {name: portal[name] for name in shared} == shared
    assert shared["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert (portal["User"], portal["ReadWritePaths"]) == (["passerelle"], ["/var/lib/passerelle"])


def test_the_housekeeping_unit_starts_only_where_the_portal_leaves_the_housekeeping_to_it(
    rendered: Path,
) -> None:
    """From 768 MiB of MemTotal, the profile whose workers leave it to portal-housekeep
    (tests/test_serving.py draws the line there too)."""
    housekeep = directives((rendered / "portal-housekeep.service").read_text(encoding="utf-8"))
    assert housekeep["ConditionMemory"] == [">=786432K"]
    portal = directives((rendered / "portal.service").read_text(encoding="utf-8"))
    assert "ConditionMemory" not in portal  # the portal runs on every Pi


def test_systemd_reads_the_housekeeping_condition_as_kilobytes_of_memtotal(
    rendered: Path,
) -> None:
    """The condition's form (>=, K) compares what the profile compares: the kernel's MemTotal
    in KiB. Shown on this machine with its own MemTotal, just at and just over the line."""
    memtotal = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    housekeep = directives((rendered / "portal-housekeep.service").read_text(encoding="utf-8"))
    [condition] = housekeep["ConditionMemory"]
    here = condition.replace("786432", str(memtotal))
    over = condition.replace("786432", str(memtotal + 1))
    assert systemd_analyze("condition", f"ConditionMemory={here}").returncode == 0
    assert systemd_analyze("condition", f"ConditionMemory={over}").returncode == 1
    done = systemd_analyze("condition", f"ConditionMemory={condition}")
    # This machine's profile, by the portal's rule: the unit starts exactly on the large one.
    assert (done.returncode == 0) is (machine_profile() == "pi4")


def test_the_report_for_volunteers_writes_the_boot_partition_only(rendered: Path) -> None:
    unit = directives((rendered / "portal-report.service").read_text(encoding="utf-8"))
    assert unit["ExecStart"] == [
        f"{PROGRAMS}/portal doctor --config {rendered}/portal.toml"
        " --write /boot/firmware/portal-doctor.txt",
        f"{PROGRAMS}/portal poster --config {rendered}/portal.toml --out /boot/firmware/poster",
    ]
    assert unit["ReadWritePaths"] == ["/boot/firmware"]
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_ADMIN CAP_DAC_READ_SEARCH"]
    assert unit["SuccessExitStatus"] == ["1"]  # a failed check is reported, not a failure
    assert unit["UMask"] == ["0022"]
    timer = directives((rendered / "portal-report.timer").read_text(encoding="utf-8"))
    assert (timer["OnBootSec"], timer["OnUnitActiveSec"]) == (["3min"], ["1d"])


@pytest.mark.parametrize(
    ("unit", "ceiling"),
    [("portal.service", 2.5), ("portal-housekeep.service", 2.5),
     ("portal-gatekeeper.service", 2.5), ("portal-hostapd.service", 6.0),
     ("portal-dnsmasq.service", 6.5), ("portal-report.service", 3.5)],
)  # fmt: skip
def test_each_service_stays_sandboxed(rendered: Path, unit: str, ceiling: float) -> None:
    done = systemd_analyze("security", "--offline=yes", str(rendered / unit))
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert level is not None, done.stdout + done.stderr
    assert float(level[1]) <= ceiling


def test_the_apply_unit_runs_before_every_network_service(rendered: Path) -> None:
    unit = directives((rendered / "portal-apply.service").read_text(encoding="utf-8"))
    assert unit["ExecStart"] == [
        f"{PROGRAMS}/portal apply-config --config /boot/firmware/portal.toml --out {rendered}"
    ]
    before = set(unit["Before"][0].split())
    assert set(UNITS) - before == {"portal-apply.service"}  # the socket included
    assert unit["DefaultDependencies"] == ["no"]  # early: no cycle with early network units
    assert unit["SuccessExitStatus"] == ["1"]  # a wrong file: reported, the rest starts
