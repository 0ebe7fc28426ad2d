"""portal.toml validation: every mistake names the key and says what is allowed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from portal.config import ConfigError, Settings, documented_keys, load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "portal.example.toml"


def test_defaults_are_valid_and_frozen() -> None:
    settings = Settings()
    assert settings.site.default_language == "fr"
    assert settings.public_url == "http://passerelle.lan/"
    with pytest.raises(AttributeError):
        settings.site.name = "x"  # type: ignore[misc]


def test_example_file_is_valid_and_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert parse_settings(text) == Settings()
    section = ""
    listed = set()
    for line in text.splitlines():
        if match := re.match(r"^\[(\w+)\]$", line):
            section = match.group(1)
        elif match := re.match(r"^(\w+)\s*=", line):
            listed.add(f"{section}.{match.group(1)}")
    assert listed == set(documented_keys())


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("[access]\nsesion_minutes = 30", "access.sesion_minutes", "unknown key"),
        ("[acess]\nsession_minutes = 30", "acess", "unknown section"),
        ('[access]\nsession_minutes = "four"', "access.session_minutes", "whole number"),
        ("[access]\nsession_minutes = true", "access.session_minutes", "whole number"),
        ("[access]\nsession_minutes = 5000", "access.session_minutes", "from 15 to 1440"),
        ("[access]\nidle_minutes = 1", "access.idle_minutes", "from 5 to 1440"),
        ('[site]\nlanguages = ["fr", "xx"]', "site.languages", "drawn from"),
        ('[site]\nlanguages = ["fr", "fr"]', "site.languages", "without repeats"),
        ("[site]\nlanguages = []", "site.languages", "non-empty"),
        ('[site]\nlanguages = "fr"', "site.languages", "list"),
        ('[site]\ndefault_language = "es"', "site.default_language", "one of"),
        ('[site]\nlanguages = ["nl"]', "site.default_language", "site.languages"),
        ('[network]\nportal_address = "10.42.0.300"', "network.portal_address", "IPv4"),
        ("[network]\nportal_port = 0", "network.portal_port", "from 1 to 65535"),
        ('[network]\nwifi_interface = "wlan0; rm -rf /"', "network.wifi_interface", "interface"),
        ('[network]\nportal_hostname = "Evil Host"', "network.portal_hostname", "host name"),
        ('[network]\nclient_identity = "ip"', "network.client_identity", "'mac'"),
        ('[firewall]\nbackend = "iptables"', "firewall.backend", "'nft'"),
        ('[guides]\npack_id = "passerelle-wallonie\\n"', "guides.pack_id", "dashes"),
        ('[guides]\npack_id = "Passerelle"', "guides.pack_id", "dashes"),
        ('[site]\nvenue_info_url = "javascript:alert(1)"', "site.venue_info_url", "http"),
        ('[uplink]\ncheck_targets = ["1.1.1.1"]', "uplink.check_targets", "host:port"),
        ("site = 3", "site", "table"),
        ("[network]\ndhcp_lease_minutes = 30", "network.dhcp_lease_minutes", "from 60 to 120"),
        ("[network]\ndhcp_lease_minutes = 121", "network.dhcp_lease_minutes", "from 60 to 120"),
        ("[network]\nadmin_port = 80", "network.admin_port", "network.portal_port"),
        ("[network]\nadmin_port = 53", "network.admin_port", "DNS"),
        ("[network]\nprefix_length = 8", "network.prefix_length", "from 16 to 29"),
        ('[network]\ndns_upstreams = ["dns.quad9.net"]', "network.dns_upstreams", "IPv4 or IPv6"),
        ("[network]\ndns_upstreams = []", "network.dns_upstreams", "non-empty"),
        ('[network]\ndhcp_range_start = "10.42.1.10"', "network.dhcp_range_start", "10.42.0.0/24"),
        ('[network]\ndhcp_range_end = "10.42.0.255"', "network.dhcp_range_end", "host address"),
        ('[network]\ndhcp_range_end = "10.42.0.1"', "network.dhcp_range_end", "come before"),
        (
            '[network]\ndhcp_range_start = "10.42.0.1"\ndhcp_range_end = "10.42.0.9"',
            "network.dhcp_range_start",
            "leave out network.portal_address",
        ),
        ('[network]\nportal_address = "10.42.0.0"', "network.portal_address", "not its network"),
    ],
)
def test_config_error_names_the_key(toml: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(toml)
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(caught.value).startswith(key)


def test_broken_toml_is_reported_with_its_place() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_settings("[site\nname = 1")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.toml")


def test_environment_variable_points_at_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "portal.toml"
    path.write_text('[site]\nname = "Wanze"\n', encoding="utf-8")
    monkeypatch.setenv("PORTAL_CONFIG", str(path))
    assert load_settings().site.name == "Wanze"


def test_replace_validates_like_the_file() -> None:
    with pytest.raises(ConfigError, match=r"access\.session_minutes"):
        Settings().replace("access", session_minutes=1)


def run_check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_config_exits_2_and_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "portal.toml"
    path.write_text("[access]\nsession_minutes = 99999\n", encoding="utf-8")
    result = run_check_config(path)
    assert result.returncode == 2
    assert "access.session_minutes" in result.stderr
    assert "from 15 to 1440" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_accepts_the_example() -> None:
    result = run_check_config(EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
