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
        # Browsers read these as IPv4 addresses: never announced, never in a link.
        ('[network]\nportal_hostname = "10.42.0.1"', "network.portal_hostname", "not an address"),
        ('[network]\nportal_hostname = "wifi.1"', "network.portal_hostname", "not an address"),
        ('[network]\nportal_hostname = "a.0x7f"', "network.portal_hostname", "not an address"),
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
        ("[network]\nportal_port = 22", "network.portal_port", "SSH"),
        ("[network]\nportal_port = 53", "network.portal_port", "DNS"),
        ("[network]\nportal_port = 67", "network.portal_port", "DHCP"),
        ("[network]\nadmin_port = 22", "network.admin_port", "SSH"),
        ("[network]\nadmin_port = 68", "network.admin_port", "DHCP"),
        ('[network]\nportal_address = "127.0.0.1"', "network.portal_address", "loopback"),
        ('[network]\nportal_address = "224.0.0.1"', "network.portal_address", "multicast"),
        ('[network]\nportal_address = "0.0.0.0"', "network.portal_address", "0.0.0.0"),  # noqa: S104
        ('[network]\nportal_address = "169.254.0.1"', "network.portal_address", "link-local"),
        (
            '[network]\nportal_address = "255.255.255.255"\nprefix_length = 16',
            "network.portal_address",
            "broadcast",
        ),
        ('[network]\nportal_address = "240.0.0.1"', "network.portal_address", "reserved"),
        ("[uplink]\ncheck_targets = []", "uplink.check_targets", "non-empty"),
        ('[uplink]\ncheck_targets = ["[fe80::1%eth0]:53"]', "uplink.check_targets", "host:port"),
        ('[uplink]\ncheck_targets = ["[1:2]:53"]', "uplink.check_targets", "host:port"),
        ('[uplink]\ncheck_targets = ["-.-:53"]', "uplink.check_targets", "host:port"),
        ('[network]\nuplink_interface = "wlan0"', "network.uplink_interface", "differ"),
        ('[network]\nwifi_interface = "wlan0123456789ab"', "network.wifi_interface", "15"),
        ('[network]\nwifi_interface = "wlan/0"', "network.wifi_interface", "interface"),
        ('[network]\nwifi_interface = "wlan0:1"', "network.wifi_interface", "interface"),
        ('[network]\nuplink_interface = "lo"', "network.uplink_interface", "not 'lo'"),
        ('[network]\ndns_upstreams = ["9.9.9.9%eth0"]', "network.dns_upstreams", "zone"),
        ('[network]\ndns_upstreams = ["fe80::1%"]', "network.dns_upstreams", "zone"),
        ('[network]\ndns_upstreams = ["fe80::1%wlan0 x"]', "network.dns_upstreams", "zone"),
        (
            '[network]\ndns_upstreams = ["fe80::1%x\\nserver=6.6.6.6"]',
            "network.dns_upstreams",
            "zone",
        ),
        ('[network]\ndns_upstreams = ["0.0.0.0"]', "network.dns_upstreams", "multicast"),
        ('[network]\ndns_upstreams = ["ff02::1"]', "network.dns_upstreams", "multicast"),
        ('[storage]\ndata_dir = "var/lib/passerelle"', "storage.data_dir", "absolute"),
        ('[storage]\ndata_dir = "/var/lib/../../etc"', "storage.data_dir", "absolute"),
        ('[storage]\ndata_dir = "/home/marie/Mes donnees"', "storage.data_dir", "absolute"),
        ('[firewall]\ngatekeeper_socket = "gk.sock"', "firewall.gatekeeper_socket", "absolute"),
        ('[site]\nvenue_info_url = "http://[fe80::1%25eth0]/"', "site.venue_info_url", "http"),
        ('[site]\nvenue_info_url = "http://exa mple.org/"', "site.venue_info_url", "http"),
        ('[site]\nvenue_info_url = "http://example.org:99999/"', "site.venue_info_url", "http"),
        # Nesting the schema does not have: a table or a list of tables for a plain value.
        ("[network.wifi_interface.deeper]\nx = 1", "network.wifi_interface", "got a table"),
        ("[[network.portal_port]]\nx = 1", "network.portal_port", "got a list"),
        ("[[site]]\nname = 'x'", "site", "got a list"),
        ("[site]\nname = {a = {b = {c = 1}}}", "site.name", "got a table"),
        ('[site]\nlanguages = [["fr"]]', "site.languages", "list of strings in quotes"),
        ('[network]\ndns_upstreams = [{a = "9.9.9.9"}]', "network.dns_upstreams", "got a list"),
        ('[network]\n"wifi\\ninterface" = 1', "network.'wifi\\ninterface'", "unknown key"),
        ('["net\\nwork"]\nx = 1', "'net\\nwork'", "unknown section"),
    ],
)
def test_config_error_names_the_key(toml: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(toml)
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(caught.value).startswith(key)


WHOLE_VALUES = [
    ("network", "wifi_interface", '"wlan0{}"', "interface"),
    ("network", "uplink_interface", '"eth0{}"', "interface"),
    ("network", "portal_address", '"10.42.0.1{}"', "IPv4"),
    ("network", "dhcp_range_start", '"10.42.0.10{}"', "IPv4"),
    ("network", "dhcp_range_end", '"10.42.0.200{}"', "IPv4"),
    ("network", "dns_upstreams", '["9.9.9.9{}"]', "IPv4 or IPv6"),
    ("network", "dns_upstreams", '["fe80::1%eth0{}"]', "zone"),
    ("network", "portal_hostname", '"passerelle.lan{}"', "host name"),
    ("storage", "data_dir", '"/var/lib/passerelle{}"', "absolute"),
    ("firewall", "gatekeeper_socket", '"/run/passerelle/gatekeeper.sock{}"', "absolute"),
    ("uplink", "check_targets", '["1.1.1.1:443{}"]', "host:port"),
    ("uplink", "dns_check_name", '"wallonie.be{}"', "host name"),
    ("site", "venue_info_url", '"https://example.org/{}"', "http"),
    ("guides", "trusted_keys", '["ed25519:' + "A" * 43 + '={}"]', "public keys"),
    ("guides", "pack_id", '"passerelle-wallonie{}"', "dashes"),
]
"""Every string key a program reads, with a valid value to spoil and the message's words."""
SPOILERS = {
    "newline": "\\n",
    "crlf": "\\r\\n",
    "tab": "\\t",
    "nul": "\\u0000",
    "del": "\\u007f",
    "c1-next-line": "\\u0085",
    "line-separator": "\\u2028",
    "right-to-left-override": "\\u202e",
    "double-quote": '\\"',
    "single-quote": "'",
    "backslash": "\\\\",
    "space": " x",
}
"""What a value may not end with, as TOML escapes."""


@pytest.mark.parametrize("spoiler", SPOILERS)
@pytest.mark.parametrize(
    ("section", "name", "template", "words"),
    WHOLE_VALUES,
    ids=[f"{section}.{name}" for section, name, _, _ in WHOLE_VALUES],
)
def test_value_read_by_another_program_is_checked_whole(
    section: str, name: str, template: str, words: str, spoiler: str
) -> None:
    good = f"[{section}]\n{name} = {template.format('')}"
    parse_settings(good)
    with pytest.raises(ConfigError) as caught:
        parse_settings(f"[{section}]\n{name} = {template.format(SPOILERS[spoiler])}")
    assert caught.value.key == f"{section}.{name}"
    assert words in str(caught.value)


@pytest.mark.parametrize("spoiler", ["\\n", "\\r", "\\t", "\\u007f", "\\u0085", "\\u2028"])
@pytest.mark.parametrize(
    "dotted", ["site.name", "site.commune", "help.place", "help.address", "help.hours"]
)
def test_site_text_is_one_line_without_control_characters(dotted: str, spoiler: str) -> None:
    section, name = dotted.split(".")
    place = 'place = "EPN"\n' if section == "help" and name != "place" else ""
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[{section}]\n{place}{name} = "Wanze{spoiler}"')
    assert caught.value.key == dotted
    assert "line of text" in str(caught.value)


def test_site_text_may_hold_quotes_and_accents() -> None:
    site = parse_settings('[site]\nname = "L\'Escale \\"Épinal\\""').site
    assert site.name == 'L\'Escale "Épinal"'


def test_link_local_dns_upstream_with_an_interface_zone_is_accepted() -> None:
    settings = parse_settings('[network]\ndns_upstreams = ["fe80::1%eth0", "9.9.9.9"]')
    assert settings.network.dns_upstreams == ("fe80::1%eth0", "9.9.9.9")


def test_loopback_portal_address_is_only_for_identity_by_address() -> None:
    settings = parse_settings(
        '[network]\nportal_address = "127.0.0.1"\nclient_identity = "address"'
    )
    assert settings.public_url == "http://passerelle.lan/"
    with pytest.raises(ConfigError, match="loopback"):
        settings.replace("network", client_identity="mac")


def test_absurdly_deep_value_is_refused_naming_its_key() -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[site]\nname = "x"\nlanguages = {deep}\n')
    assert caught.value.key == "site.languages"
    assert "nested too deeply" in str(caught.value)


def test_absurdly_deep_inline_table_is_refused_naming_its_key() -> None:
    deep = "{a = " * 2000 + "1" + "}" * 2000
    with pytest.raises(ConfigError) as caught:
        parse_settings(f"[network]\nwifi_interface = {deep}\n")
    assert caught.value.key == "network.wifi_interface"


def test_long_wrong_value_is_shown_shortened() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[network]\nwifi_interface = "{"w" * 5000}"')
    assert len(str(caught.value)) < 300


def test_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "portal.toml"
    path.write_text('[site]\nname = "Wanze"\n', encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_settings(path).site.name == "Wanze"
    result = run_check_config(path)
    assert result.returncode == 0, result.stderr


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


FITTING_DATA_DIR = (
    "/media/passerelle/cle-usb-de-la-bibliotheque-communale"
    "/donnees-du-point-wifi/la-salle-du-village"
)
"""96 characters: its stats.sock is 107 bytes, the longest a Unix socket address holds."""


def test_data_dir_whose_statistics_socket_just_fits_is_accepted() -> None:
    settings = parse_settings(f'[storage]\ndata_dir = "{FITTING_DATA_DIR}"')
    assert settings.data_dir == Path(FITTING_DATA_DIR)


def test_data_dir_too_long_for_the_statistics_socket_is_refused_in_one_sentence() -> None:
    too_long = FITTING_DATA_DIR + "s"
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[storage]\ndata_dir = "{too_long}"')
    assert caught.value.key == "storage.data_dir"
    assert str(caught.value).startswith(
        "storage.data_dir: must be at most 96 characters long (the statistics socket, "
        "data_dir/stats.sock, must fit in a Unix socket address of at most 107 bytes), got "
    )


def test_check_config_refuses_a_data_dir_too_long_for_the_statistics_socket(
    tmp_path: Path,
) -> None:
    path = tmp_path / "portal.toml"
    path.write_text(f'[storage]\ndata_dir = "{FITTING_DATA_DIR}/s"\n', encoding="utf-8")
    result = run_check_config(path)
    assert result.returncode == 2
    assert "storage.data_dir: must be at most 96 characters long" in result.stderr
    assert "Traceback" not in result.stderr


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


def test_check_config_says_why_dhcp_announces_no_captive_api() -> None:
    result = run_check_config(EXAMPLE)
    assert result.stdout.splitlines()[1] == (
        "note: DHCP does not announce the captive-portal API (option 114): phones accept it"
        " only on HTTPS, with a certificate for the portal's name. To announce it, set"
        " [tls] certificate_file and key_file. Meanwhile phones find the portal by their probes."
    )
    assert "OK" in result.stdout


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("XX", "a country code of two capital letters (ISO 3166), such as 'BE'"),
        ("be", "a country code in capital letters, such as 'BE'"),
        ("UK", "the country code of the United Kingdom, 'GB' (ISO 3166)"),
        ("BEL", "a country code of two capital letters (ISO 3166), such as 'BE'"),
    ],
)
def test_wifi_country_must_be_an_iso_3166_code(code: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[wifi]\ncountry_code = "{code}"')
    assert caught.value.key == "wifi.country_code"
    assert words in str(caught.value)


@pytest.mark.parametrize("code", ["BE", "NL", "DE", "LU", "FR", "GB", "UA", "TR"])
def test_wifi_country_of_neighbours_and_newcomers_is_accepted(code: str) -> None:
    assert parse_settings(f'[wifi]\ncountry_code = "{code}"').wifi.country_code == code


@pytest.mark.parametrize("number", ["085 21 00 00", "+32 85 21 00 00", "085/21.00.00", "112"])
def test_help_phone_as_people_write_it_is_accepted(number: str) -> None:
    settings = parse_settings(f'[help]\nplace = "EPN"\nphone = "{number}"')
    assert settings.help.phone == number


@pytest.mark.parametrize("number", ["12", "call 085", "085 21 00 00 ext 3", "+", "0" * 16, "-085"])
def test_help_phone_that_is_not_a_number_is_refused(number: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[help]\nplace = "EPN"\nphone = "{number}"')
    assert caught.value.key == "help.phone"
    assert "a phone number of 3 to 15 digits" in str(caught.value)


@pytest.mark.parametrize("name", ["address", "hours", "phone"])
def test_help_details_need_the_place_they_describe(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(f'[help]\n{name} = "085 21 00 00"')
    assert str(caught.value) == f"help.{name}: needs help.place: the name of the place"


def test_export_noise_is_off_by_default_and_takes_a_number() -> None:
    assert Settings().stats.export_epsilon == 0.0
    assert parse_settings("[stats]\nexport_epsilon = 0.5\n").stats.export_epsilon == 0.5
    assert parse_settings("[stats]\nexport_epsilon = 1\n").stats.export_epsilon == 1.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "-1.0",
            "stats.export_epsilon: must be a number from 0 (off) to 10, such as 1 or 0.5, got -1.0",
        ),
        ('"1"', "stats.export_epsilon: must be a number, got '1'"),
        ("true", "stats.export_epsilon: must be a number, got True"),
    ],
)
def test_a_wrong_export_epsilon_is_named(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_settings(f"[stats]\nexport_epsilon = {value}\n")
    assert str(refused.value) == message
