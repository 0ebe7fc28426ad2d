"""`portal apply-config`: the volunteer's file put in force at boot, or the last good one, or
a safe default; what changed restarted; portal-status.txt in plain words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.apply import Applied, apply, safe_default, write_status
from portal.config import parse_settings
from portal.context import Services

WHEN = datetime(2026, 12, 2, 3, 10, tzinfo=UTC)
EVERY_UNIT = (
    "NetworkManager.service",  # told to leave the Wi-Fi interface alone
    "avahi-daemon.service",  # told so too: the Pi's name is not announced to guests
    "portal-dnsmasq.service",
    "portal-firewall.service",
    "portal-gatekeeper.service",
    "portal-gatekeeper.socket",
    "portal-hostapd.service",
    "portal-housekeep.service",
    "portal-report.service",
    "portal-report.timer",
    "portal.service",
)


class Systemctl:
    """Stands in for systemctl: records each command; fails when told to."""

    def __init__(self, failure: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.failure = failure

    def __call__(self, argv: Sequence[str]) -> str | None:
        self.calls.append(list(argv))
        return self.failure


class Card:
    """The boot partition (the volunteer's portal.toml) and the rendered folder."""

    def __init__(self, root: Path) -> None:
        self.boot = root / "boot"
        self.boot.mkdir()
        self.out = root / "etc-passerelle"
        self.out.mkdir()
        self.data = root / "data"
        self.file = self.boot / "portal.toml"

    def write(self, body: str) -> None:
        self.file.write_text(f'[storage]\ndata_dir = "{self.data}"\n{body}', encoding="utf-8")

    def apply(self, systemctl: Systemctl | None = None) -> Applied:
        return apply(self.file, self.out, systemctl or Systemctl())

    def status(self) -> str:
        """portal-status.txt as written, its Windows line ends kept."""
        return (self.boot / "portal-status.txt").read_bytes().decode("utf-8")

    def in_force(self) -> str:
        return (self.out / "portal.toml").read_text(encoding="utf-8")


@pytest.fixture
def card(tmp_path: Path) -> Card:
    return Card(tmp_path)


def test_a_right_file_is_rendered_put_in_force_and_its_services_started(card: Card) -> None:
    card.write('[wifi]\nssid = "Passerelle Wanze"\nchannel = 11\n')
    systemctl = Systemctl()
    applied = card.apply(systemctl)
    assert (applied.source, applied.problem, applied.warnings) == ("file", None, ())
    assert applied.settings.wifi.ssid == "Passerelle Wanze"
    assert card.in_force() == card.file.read_text(encoding="utf-8")
    assert "ssid2=50617373657265 6c6c652057616e7a65".replace(" ", "") in (
        card.out / "hostapd.conf"
    ).read_text(encoding="utf-8")
    assert systemctl.calls == [
        ["systemctl", "daemon-reload"],  # the unit files are new too
        ["systemctl", "--no-block", "try-restart", *EVERY_UNIT],
    ]


def test_a_data_directory_named_for_the_first_time_is_made_private(card: Card) -> None:
    card.write("")
    card.apply()
    assert card.data.stat().st_mode & 0o777 == 0o700
    assert card.data.stat().st_uid == os.geteuid()


def test_applying_the_same_file_again_restarts_nothing(card: Card) -> None:
    card.write("")
    card.apply()
    again = Systemctl()
    assert card.apply(again).restarted == ()
    assert again.calls == []


def test_a_new_network_name_restarts_hostapd_and_the_portal_only(card: Card) -> None:
    card.write("")
    card.apply()
    card.write('[wifi]\nssid = "Bibliothèque d\'Andenne"\n')
    systemctl = Systemctl()
    card.apply(systemctl)
    assert systemctl.calls == [
        [
            "systemctl",
            "--no-block",
            "try-restart",
            "portal-hostapd.service",
            "portal-housekeep.service",
            "portal.service",
        ]
    ]


def test_a_wrong_file_leaves_the_last_good_one_in_force(card: Card) -> None:
    card.write('[wifi]\nssid = "Passerelle Wanze"\n')
    card.apply()
    good, rendered = card.in_force(), (card.out / "hostapd.conf").read_bytes()
    card.write('[wifi]\nssid = "Passerelle Wanze"\nchannel = 14\n')
    systemctl = Systemctl()
    applied = card.apply(systemctl)
    assert applied.source == "last good"
    assert applied.problem is not None and applied.problem.key == "wifi.channel"
    assert (card.in_force(), (card.out / "hostapd.conf").read_bytes()) == (good, rendered)
    assert systemctl.calls == []


def test_a_wrong_file_with_none_before_puts_the_safe_default_in_force(card: Card) -> None:
    card.write('[site]\nname = "Wanze"\n[wifi]\nchannel = "six"\n')
    applied = card.apply()
    assert applied.source == "safe default"
    assert applied.settings.wifi.ssid == "Wanze-setup"
    assert applied.settings.site.name == "Wanze"
    assert 'ssid = "Wanze-setup"' in card.in_force()
    assert (card.out / "hostapd.conf").is_file()


def test_a_safe_default_stays_one_on_the_next_boot(card: Card) -> None:
    card.write("[wifi]\nchannel = 0\n")
    assert card.apply().source == "safe default"
    again = card.apply()  # the file is still wrong
    assert (again.source, again.settings.wifi.ssid) == ("safe default", "Passerelle-setup")


@pytest.mark.parametrize(
    ("broken", "network"),
    [
        ("[site\nname = 'Wanze'", "Passerelle-setup"),  # not TOML: no name to read
        ('[site]\nname = "Line\\nbreak"', "Passerelle-setup"),  # a name the checks refuse
        # Cut to fit 32 bytes (the è counts two).
        ('[site]\nname = "Bibliothèque communale d\'Andenne"\nfoo = 1',
         "Bibliothèque communale d'-setup"),
    ],
)  # fmt: skip
def test_the_safe_default_is_named_after_the_site_when_it_can_be(broken: str, network: str) -> None:
    settings = parse_settings(safe_default(broken))
    assert settings.wifi.ssid == network
    assert len(settings.wifi.ssid.encode()) <= 32


def test_the_status_says_all_is_well(card: Card) -> None:
    card.write('[wifi]\nssid = "Passerelle Wanze"\n')
    write_status(card.apply(), card.file, WHEN)
    assert card.status() == (
        f"Passerelle: {card.file} checked on 2026-12-02 at 03:10 (UTC).\r\n"
        "\r\n"
        "All is well: portal.toml is in force.\r\n"
        "\r\n"
        'Wi-Fi network: "Passerelle Wanze" (channel 6, country BE).\r\n'
        "Portal: http://passerelle.lan/\r\n"
    )


def test_the_status_names_the_key_what_it_allows_and_a_line_to_copy(card: Card) -> None:
    card.write("")
    card.apply()
    card.write("[access]\nsession_minutes = 5\n")
    write_status(card.apply(), card.file, WHEN)
    assert card.status().split("\r\n") == [
        f"Passerelle: {card.file} checked on 2026-12-02 at 03:10 (UTC).",
        "",
        "portal.toml has a mistake, so it is not used.",
        "",
        "What is wrong: access.session_minutes: must be a whole number from 15 to 1440, got 5",
        "A right line looks like this: [access] session_minutes = 240",
        "",
        "Until it is put right, the settings from before stay in force.",
        "",
        'Wi-Fi network: "Passerelle" (channel 6, country BE).',
        "Portal: http://passerelle.lan/",
        "",
        "Put it right in portal.toml on this card (any text editor will do), then restart the"
        " Pi. portal.example.toml, beside it, explains every key.",
        "",
    ]


def test_the_status_of_a_safe_default_and_a_missing_file(card: Card) -> None:
    applied = card.apply()  # no portal.toml on the card at all
    write_status(applied, card.file, WHEN)
    lines = card.status().split("\r\n")
    assert lines[4].startswith("What is wrong: cannot read ")
    assert "Until it is put right, a safe default is in force." in lines
    assert 'Wi-Fi network: "Passerelle-setup" (channel 6, country BE).' in lines


def test_an_example_is_offered_where_the_default_shows_nothing(card: Card) -> None:
    card.write('[site]\nvenue_info_url = "http://www.wanze.be/"\n')
    write_status(card.apply(), card.file, WHEN)
    assert 'A right line looks like this: [site] venue_info_url = "https://www.wanze.be/"' in (
        card.status().split("\r\n")
    )


def test_a_restart_that_fails_is_a_warning(card: Card) -> None:
    card.write("")
    applied = card.apply(Systemctl(failure="systemctl exited with 1: Unit not found"))
    assert applied.warnings == (
        "the services could not be restarted (systemctl exited with 1: Unit not found);"
        " restart the Pi",
    )
    write_status(applied, card.file, WHEN)
    assert "portal.toml is in force, with a warning.\r\n" in card.status()


def test_the_status_page_gets_the_same_words(card: Card) -> None:
    card.data.mkdir(mode=0o700)
    card.write("")
    card.apply()
    card.write("[wifi]\nchannel = 0\n")
    words = write_status(card.apply(), card.file, WHEN)
    page = json.loads((card.data / "config-status.json").read_text(encoding="utf-8"))
    assert page == {"all_well": False, "text": words}
    assert (card.data / "config-status.json").stat().st_mode & 0o777 == 0o600


def test_the_command_prints_the_status_and_exits_1_on_a_mistake(card: Card, tmp_path: Path) -> None:
    # A stand-in systemctl first on PATH: this machine's own services are left alone.
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    (stand_in / "systemctl").write_text(
        f'#!/bin/sh\necho "$@" >> {tmp_path / "systemctl.calls"}\n', encoding="ascii"
    )
    (stand_in / "systemctl").chmod(0o755)
    card.write("")
    card.apply()  # a good one first, so the wrong one below leaves it in force
    card.write("[wifi]\nchannel = 0\n")
    done = subprocess.run(
        [sys.executable, "-m", "portal.cli", "apply-config", "--config", str(card.file),
         "--out", str(card.out)],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "PATH": f"{stand_in}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "What is wrong: wifi.channel: must be a whole number from 1 to 13, got 0\n" in (
        done.stdout
    )
    assert card.status().replace("\r\n", "\n") == done.stdout
    assert not (tmp_path / "systemctl.calls").exists()  # nothing changed: nothing restarted


def test_the_status_page_shows_what_apply_config_said(
    client: FlaskClient, services: Services
) -> None:
    assert 'class="volunteers"' not in client.get("/status?lang=fr").get_data(as_text=True)
    page_status = services.settings.data_dir / "config-status.json"
    said = "Passerelle: /boot/firmware/portal.toml checked on 2026-12-02 at 03:10 (UTC).\r\n"
    page_status.write_text(json.dumps({"all_well": False, "text": said}), encoding="utf-8")
    html = client.get("/status?lang=fr").get_data(as_text=True)
    assert '<details class="volunteers" data-state="settings-wrong" open>' in html
    assert "Les réglages ont une erreur. Un bénévole peut la corriger." in html
    assert (
        '<pre lang="en" dir="ltr">Passerelle: /boot/firmware/portal.toml checked on 2026-12-02'
        " at 03:10 (UTC).\n</pre>"
    ) in html
    page_status.write_text(json.dumps({"all_well": True, "text": "All is well"}), "utf-8")
    html = client.get("/status?lang=nl").get_data(as_text=True)
    assert '<details class="volunteers" data-state="settings-ok">' in html
    assert "Voor vrij\u00adwil\u00adli\u00adgers: de instel\u00adlin\u00adgen van de wifi" in html


@pytest.mark.parametrize("content", [b"{", b'{"all_well": "no", "text": 1}', b"x" * 70_000])
def test_a_damaged_status_file_shows_nothing(
    client: FlaskClient, services: Services, content: bytes
) -> None:
    (services.settings.data_dir / "config-status.json").write_bytes(content)
    response = client.get("/status?lang=en")
    assert response.status_code == 200
    assert 'class="volunteers"' not in response.get_data(as_text=True)
