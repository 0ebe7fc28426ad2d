"""Passerelle on a fresh Debian Trixie: what the install puts where (the image's pi-gen stage
first, deploy/install.sh from a download after it), that a second run changes nothing, and
that the Pi boots with every unit up (systemd in systemd-nspawn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.appliance.chroot import Booted
from tests.appliance.conftest import Installed
from tests.appliance.installation import (
    CHANGING,
    UNITS,
    check_files,
    check_narration,
    check_units,
)

pytestmark = pytest.mark.slow


ASK_API = """
import time, urllib.request
for attempt in range(60):  # "active" once gunicorn runs; it binds a moment later
    try:
        r = urllib.request.urlopen("http://10.42.0.1/api/captive", timeout=10)
        break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("the portal never answered on 10.42.0.1")
"""
"""Python run inside the booted chroot: the portal's API response as `r`."""

GRANT = """
from portal.access.configured import make_book, make_firewall
from portal.config import load_settings
from portal.db import prepare

settings = load_settings()
prepare(settings.data_dir)
make_book(settings, make_firewall(settings)).give("02:00:5e:10:00:01")
"""
"""Python run inside as the portal's user: one device given access, as the lesson does."""


def allowed(booted: Booted) -> str:
    return booted.run("nft", "list", "set", "inet", "portal", "allowed").stdout


def test_install_runs_through(installed: Installed) -> None:
    first = installed.first
    assert first.returncode == 0, first.stdout + first.stderr
    assert "install.sh: installed; the units start at the next boot" in first.stdout
    # Applying the example said so (apply-config prints portal-status.txt's words).
    assert "\nAll is well: portal.toml is in force.\n" in first.stdout, first.stdout
    print(f"the image stage took {installed.seconds[0]:.0f} s, install.sh again"
          f" {installed.seconds[1]:.0f} s")  # fmt: skip


def test_files_owners_and_modes(installed: Installed) -> None:
    check_files(installed.chroot, installed.before)
    # What applying the volunteer's file said, beside it (the run from a download wrote it).
    status = installed.chroot.path("/boot/firmware/portal-status.txt").read_bytes().decode()
    assert "\r\nAll is well: portal.toml is in force.\r\n" in status


def test_units_are_linked_and_enabled(installed: Installed) -> None:
    check_units(installed.before)


def test_systemd_accepts_every_unit_where_its_programs_are(installed: Installed) -> None:
    """Inside the installed system: the venv's portal, Debian's hostapd, dnsmasq and nft."""
    units = (f"/etc/passerelle/{unit}" for unit in UNITS)
    done = installed.chroot.run("systemd-analyze", "verify", *units)
    # systemd-nspawn's own farewell about its propagation folder is not the units' business.
    said = [line for line in done.stderr.splitlines() if "/run/systemd/nspawn/" not in line]
    assert (done.returncode, done.stdout, said) == (0, "", [])


def test_the_lessons_are_narrated_as_the_portal_user(installed: Installed) -> None:
    check_narration(installed.chroot, installed.before)


def test_a_second_run_changes_nothing(installed: Installed) -> None:
    second = installed.second
    assert second.returncode == 0, second.stdout + second.stderr
    assert "installing" not in second.stdout
    before = {path: entry for path, entry in installed.before.items() if path not in CHANGING}
    after = {path: entry for path, entry in installed.after.items() if path not in CHANGING}
    assert sorted(set(before) ^ set(after)) == []
    assert [path for path in before if before[path] != after[path]] == []


def wait_active(booted: Booted, unit: str) -> tuple[str, str]:
    for _ in range(60):
        state = booted.unit_state(unit)
        if state[0] in ("active", "failed"):
            return state
        booted.run("sleep", "1")
    return booted.unit_state(unit)


def test_the_pi_boots_with_every_unit_up(installed: Installed, tmp_path: Path) -> None:
    with installed.chroot.booted(tmp_path / "boot.log") as booted:
        state = booted.wait_until_settled()
        states = {unit: booted.unit_state(unit) for unit in UNITS}
        journal = booted.run("journalctl", "--no-pager", "-b", "-u", "portal-hostapd").stdout
        # No Wi-Fi radio in a container: hostapd alone cannot start (it keeps trying, as
        # for a USB adapter plugged in late), and says why.
        assert states.pop("portal-hostapd.service")[0] in ("activating", "failed")
        assert "nl80211" in journal, journal
        assert state in ("running", "degraded")  # degraded once hostapd gives up
        assert states.pop("portal-apply.service") == ("inactive", "success")
        # Socket-activated: it starts with the first request (the portal's restore).
        assert wait_active(booted, "portal-gatekeeper.service")[0] == "active"
        states.pop("portal-gatekeeper.service")
        # Started by its timer three minutes after boot: below, by hand.
        assert states.pop("portal-report.service") == ("inactive", "success")
        assert states == dict.fromkeys(states, ("active", "success")), states
        answer = booted.run("python3", "-c", ASK_API + "print(r.status, r.headers['Content-Type'])")
        assert answer.stdout.strip() == "200 application/captive+json", answer.stderr
        table = booted.run("nft", "list", "table", "inet", "portal")
        assert "set allowed" in table.stdout, table.stderr
        # What a volunteer reads on the laptop: the doctor's table and the poster.
        report = booted.run("systemctl", "start", "portal-report.service")
        assert report.returncode == 0, booted.run(
            "journalctl", "--no-pager", "-b", "-u", "portal-report"
        ).stdout
        table = installed.chroot.path("/boot/firmware/portal-doctor.txt").read_bytes().decode()
        assert table.startswith("Passerelle doctor, on the Pi (Passerelle), "), table
        assert "\r\n  ok    firewall  the ruleset is loaded; " in table, table
        assert "\r\n  FAIL  radio     wlan0 is not a Wi-Fi radio\r\n" in table, table
        poster = installed.chroot.path("/boot/firmware/poster/poster.pdf").read_bytes()
        assert poster.startswith(b"%PDF-"), poster[:20]
        portal_user = booted.run("ps", "-o", "user=", "-C", "gunicorn")
        assert set(portal_user.stdout.split()) <= {"passerelle"}, portal_user.stdout
        # A device given access keeps it when the ruleset is loaded again (which empties
        # @allowed): the portal restarts with the firewall unit and puts it back.
        granted = booted.run(
            "runuser", "-u", "passerelle", "--", "env", "PORTAL_CONFIG=/etc/passerelle/portal.toml",
            "/opt/passerelle/venv/bin/python", "-c", GRANT,
        )  # fmt: skip
        assert granted.returncode == 0, granted.stderr
        assert "02:00:5e:10:00:01" in allowed(booted)
        assert booted.run("systemctl", "restart", "portal-firewall.service").returncode == 0
        for _ in range(30):
            if "02:00:5e:10:00:01" in allowed(booted):
                break
            booted.run("sleep", "1")
        assert "02:00:5e:10:00:01" in allowed(booted), booted.run(
            "journalctl", "--no-pager", "-b", "-u", "portal"
        ).stdout
        # avahi-daemon runs on the rendered file, which keeps it off the Wi-Fi: wlan0 has
        # had the Pi's address since hostapd's unit tried to start, and avahi never joins
        # mDNS there (it would: "Joining mDNS multicast group on interface wlan0.IPv4 ...").
        assert wait_active(booted, "avahi-daemon.service")[0] == "active"
        started = booted.run("systemctl", "show", "-p", "ExecStart", "avahi-daemon.service")
        assert "-f /etc/passerelle/avahi-daemon.conf" in started.stdout, started.stdout
        avahi = booted.run("journalctl", "--no-pager", "-b", "-u", "avahi-daemon").stdout
        assert "Server startup complete." in avahi, avahi
        assert "wlan0" not in avahi, avahi


def test_the_units_start_in_any_order(installed: Installed, tmp_path: Path) -> None:
    with installed.chroot.booted(tmp_path / "boot.log") as booted:
        booted.wait_until_settled()
        # The oneshots are not running (the report waits for its timer); hostapd has no radio.
        running = [unit for unit in UNITS if unit not in ("portal-apply.service",
                   "portal-hostapd.service", "portal-report.service")]  # fmt: skip
        assert booted.run("systemctl", "stop", *running).returncode == 0
        # As after a power cut: no ruleset (stopping the firewall unit leaves it loaded).
        assert booted.run("nft", "delete", "table", "inet", "portal").returncode == 0
        # Backwards, each alone (no unit pulls another in): the portal and the housekeeping
        # before the gatekeeper's socket, the firewall last. The gatekeeper itself starts
        # with the first connection to its socket, as always.
        for unit in reversed([unit for unit in running if unit != "portal-gatekeeper.service"]):
            done = booted.run("systemctl", "start", "--job-mode=ignore-requirements", unit)
            assert done.returncode == 0, (unit, done.stderr)
        for unit in running:
            assert wait_active(booted, unit)[0] == "active", unit
        answer = booted.run("python3", "-c", ASK_API + "print(r.status)")
        assert answer.stdout.strip() == "200", answer.stderr
        assert "set allowed" in booted.run("nft", "list", "table", "inet", "portal").stdout
