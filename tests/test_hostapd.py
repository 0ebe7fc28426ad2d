"""[wifi] and the rendered hostapd.conf: checked values, accepted by the real hostapd."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from portal.config import ConfigError, Settings, parse_settings
from portal.netconfig import write_config
from portal.netconfig.hostapd import render_hostapd
from tests.system import find, require


def directives(conf: str) -> dict[str, str]:
    """hostapd.conf's settings (comments left out); each name appears once."""
    pairs = [line.split("=", 1) for line in conf.splitlines() if line and line[0] != "#"]
    settings = dict(pairs)
    assert len(settings) == len(pairs), "a setting appears twice"
    return settings


def test_the_default_network_is_open_isolated_and_belgian() -> None:
    assert directives(render_hostapd(Settings())) == {
        "interface": "wlan0",
        "driver": "nl80211",
        "ssid2": "506173736572656c6c65",  # "Passerelle"
        "utf8_ssid": "1",
        "auth_algs": "1",
        "wpa": "0",
        "ignore_broadcast_ssid": "0",
        "country_code": "BE",
        "ieee80211d": "1",
        "hw_mode": "g",
        "channel": "6",
        "ieee80211n": "1",
        "wmm_enabled": "1",
        "ap_isolate": "1",
        "max_num_sta": "19",
        "logger_syslog": "0",
        "logger_stdout": "0",
    }


def test_the_network_follows_wifi_and_the_interface() -> None:
    settings = parse_settings(
        '[network]\nwifi_interface = "wlx00c0ca123456"\n'
        '[wifi]\nssid = "Bibliothèque d\'Andenne"\ncountry_code = "LU"\nchannel = 11\n'
        "max_clients = 40\n"
    )
    rendered = directives(render_hostapd(settings))
    assert bytes.fromhex(rendered["ssid2"]).decode("utf-8") == "Bibliothèque d'Andenne"
    assert rendered["ssid2"] == "4269626c696f7468c3a8717565206427416e64656e6e65"
    assert (rendered["interface"], rendered["country_code"]) == ("wlx00c0ca123456", "LU")
    assert (rendered["channel"], rendered["max_num_sta"]) == ("11", "40")


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[wifi]\nssid = ""', "wifi.ssid", "1 to 32 bytes"),
        ('[wifi]\nssid = "' + "é" * 17 + '"', "wifi.ssid", "1 to 32 bytes"),
        ('[wifi]\nssid = " Passerelle"', "wifi.ssid", "spaces at either end"),
        ('[wifi]\nssid = "Passe\\nrelle"', "wifi.ssid", "line breaks"),
        ('[wifi]\ncountry_code = "be"', "wifi.country_code", "'BE'"),
        ('[wifi]\ncountry_code = "BEL"', "wifi.country_code", "two capital letters"),
        ("[wifi]\nchannel = 14", "wifi.channel", "from 1 to 13"),
        ("[wifi]\nmax_clients = 0", "wifi.max_clients", "from 1 to 2007"),
        ('[wifi]\npassword = "secret"', "wifi.password", "unknown key"),
    ],
)
def test_a_wrong_wifi_value_names_its_key(toml: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(toml)
    assert caught.value.key == key
    assert words in caught.value.problem


def test_a_32_byte_name_with_accents_is_taken_whole() -> None:
    name = "é" * 16  # 32 bytes
    assert bytes.fromhex(directives(render_hostapd(parse_settings(
        f'[wifi]\nssid = "{name}"'
    )))["ssid2"]).decode() == name  # fmt: skip


def test_render_config_writes_hostapd_conf(tmp_path: Path) -> None:
    write_config(Settings(), tmp_path)
    written = (tmp_path / "hostapd.conf").read_text(encoding="utf-8")
    assert written == render_hostapd(Settings())


def hostapd_reads(conf: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the real hostapd on `conf` with the driver swapped for `none` (no radio here, no
    mac80211_hwsim): it parses every line, reports each unknown or wrong one and stops, or
    starts and runs until it is stopped."""
    require("hostapd")
    path = tmp_path / "hostapd.conf"
    path.write_text(conf.replace("driver=nl80211\n", "driver=none\n"), encoding="utf-8")
    hostapd = find("hostapd")
    assert hostapd is not None
    try:
        done = subprocess.run(
            [hostapd, str(path)], capture_output=True, text=True, timeout=2, check=False
        )
    except subprocess.TimeoutExpired as still_running:
        output = (still_running.stdout or b"").decode() if still_running.stdout else ""
        return subprocess.CompletedProcess([hostapd], -1, output, "")
    return done


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings().replace("wifi", ssid="Bibliothèque d'Andenne", channel=1, max_clients=2007),
        Settings().replace("wifi", country_code="DE", channel=13),
    ],
    ids=["default", "accents-and-limits", "germany"],
)
def test_hostapd_accepts_the_rendered_file(settings: Settings, tmp_path: Path) -> None:
    result = hostapd_reads(render_hostapd(settings), tmp_path)
    assert result.returncode == -1, result.stdout + result.stderr  # still running: it loaded
    assert "COUNTRY_UPDATE" in result.stdout
    assert "unknown configuration item" not in result.stdout


def test_hostapd_would_report_a_wrong_line(tmp_path: Path) -> None:
    # The check above can fail: hostapd stops at once on a line it does not know.
    result = hostapd_reads(render_hostapd(Settings()) + "max_clients=19\n", tmp_path)
    assert result.returncode == 1
    assert "unknown configuration item 'max_clients'" in result.stdout
