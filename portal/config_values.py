"""What a configuration value may be: the checks each portal.toml key declares.

A check returns None when the value is fine, else a phrase saying what is
allowed, which the loader turns into a message naming the key. Patterns are
matched whole (`fullmatch`): with `match` and `$`, "wlan0\n" would pass, and a
value that reaches dnsmasq, nftables, hostapd or systemd must be exactly what
that program reads, with nothing after it.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from portal.guides.pack.names import pack_id_problem
from portal.stats.events import LONGEST_DATA_DIR, data_dir_problem

SUPPORTED_LANGUAGES = ("fr", "nl", "de", "en", "ar", "uk", "tr")

Check = Callable[[Any], str | None]
"""A value check returns None when the value is fine, else what is allowed."""


_INTERFACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
"""Linux takes up to 15 bytes (IFNAMSIZ less the NUL), never '/', ':' or whitespace;
nftables compares `iifname` as a string, so any other name would never match."""
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_HOST_PORT = re.compile(r"(?P<host>[^\[\]:]+|\[(?P<ipv6>[^\]]+)\]):(?P<port>\d{1,5})")
_URL = re.compile(
    r"https?://(?P<host>[A-Za-z0-9.-]+|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::(?P<port>\d{1,5}))?"
    r"(?P<rest>[/?#][A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]*)?"
)
"""An http(s) address; the rest is RFC 3986's characters except the quote."""
_PATH = re.compile(r"(?:/[A-Za-z0-9._+@-]+)+/?")
"""An absolute path systemd (ReadWritePaths=) and dnsmasq read as one word."""


def between(low: int, high: int) -> Check:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"a whole number from {low} to {high}"

    return check


def epsilon(value: float) -> str | None:
    """The privacy budget of one exported count: 0 is off; above 10 the noise is nothing."""
    return None if 0 <= value <= 10 else "a number from 0 (off) to 10, such as 1 or 0.5"


def one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else "one of " + ", ".join(repr(c) for c in choices)

    return check


def ipv4_address(value: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "an IPv4 address such as '10.42.0.1'"
    return None


def ipv4_address_or_empty(value: str) -> str | None:
    return None if value == "" else ipv4_address(value)


def listen_address(value: str) -> str | None:
    """An IPv4 address the Pi listens on: one of its own, or 0.0.0.0 for all of them."""
    if problem := ipv4_address(value):
        return problem
    address = ipaddress.IPv4Address(value)
    if address.is_multicast or address.is_link_local or address.is_reserved:
        return "one of the Pi's IPv4 addresses such as '192.168.1.20', or '0.0.0.0' for all"
    return None


ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
PASSWORD_LENGTHS = (10, 128)


def account_name(value: str) -> str | None:
    """The name of an admin account: one short word a person types."""
    if ACCOUNT_NAME.fullmatch(value) is None:
        return (
            "a name of 1 to 32 small letters, digits, '.', '_' or '-', starting with a "
            "letter or digit, such as 'epn-wanze'"
        )
    return None


def admin_password(value: str) -> str | None:
    """A password for an admin account: long enough to resist guessing; one owner for the
    rule, which `portal admin` and portal.toml's [admin] both follow."""
    shortest, longest = PASSWORD_LENGTHS
    if not shortest <= len(value) <= longest or control_character(value):
        return (
            f"a password of {shortest} to {longest} characters, without line breaks or "
            "control characters (a few words in a row are easy to type and to remember)"
        )
    return None


def wifi_side_address(value: str) -> str | None:
    """An address the Pi can hold on the Wi-Fi side and phones can be sent to.

    Loopback is a cross-key rule (only with the memory firewall): see config.py.
    """
    if problem := ipv4_address(value):
        return problem
    address = ipaddress.IPv4Address(value)
    if (
        address.is_multicast
        or address.is_unspecified
        or address.is_link_local
        or address.is_reserved  # 240/4, 255.255.255.255 (broadcast) included
    ):
        return (
            "the Pi's IPv4 address on the Wi-Fi side such as '10.42.0.1', not multicast, "
            "link-local (169.254.x.x), reserved, 0.0.0.0 or the broadcast 255.255.255.255"
        )
    return None


def dns_servers(value: tuple[str, ...]) -> str | None:
    """dnsmasq's `server=` addresses: IPv4 or IPv6, a zone only as an interface name.

    Python's ipaddress takes any text after '%' as an IPv6 zone, line breaks
    included, which would write extra directives into dnsmasq.conf.
    """
    allowed = (
        'a non-empty list of IPv4 or IPv6 addresses such as ["9.9.9.9", "1.1.1.1"], '
        "not multicast or unspecified; an IPv6 link-local address may name its "
        "interface as a zone: 'fe80::1%eth0'"
    )
    if not value or len(set(value)) != len(value):
        return allowed
    for item in value:
        address_text, percent, zone = item.partition("%")
        try:
            address = ipaddress.ip_address(address_text)
        except ValueError:
            return allowed
        if address.is_multicast or address.is_unspecified:
            return allowed
        if percent and not (
            address.version == 6 and address.is_link_local and _INTERFACE.fullmatch(zone)
        ):
            return allowed
    return None


def interface_name(value: str) -> str | None:
    if _INTERFACE.fullmatch(value) and value != "lo":
        return None
    return (
        "a network interface name such as 'wlan0': up to 15 letters, digits, '.', '_' "
        "or '-' (not 'lo')"
    )


_NUMBER_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def _is_hostname(value: str) -> bool:
    """A DNS name; one whose last label is a number is not: browsers read it as an IPv4
    address (WHATWG URL "ends in a number": "10.42.0.1", "1.2.3", "a.0x7f")."""
    return (
        len(value) <= 253
        and _HOSTNAME.fullmatch(value) is not None
        and _NUMBER_LABEL.fullmatch(value.rpartition(".")[2]) is None
    )


def hostname(value: str) -> str | None:
    if value == "" or _is_hostname(value):
        return None
    return (
        "a lower-case host name such as 'passerelle.lan' (a name, not an address), "
        'or "" to use the address'
    )


def _is_host(host: str, ipv6: str | None) -> bool:
    """A host name, an IPv4 address, or an IPv6 address in brackets (no zone)."""
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return False
        return "%" not in ipv6
    return ipv4_address(host) is None or _is_hostname(host.lower())


def _is_port(digits: str | None) -> bool:
    return digits is None or 1 <= int(digits) <= 65535


def https_url_or_empty(value: str) -> str | None:
    """A page phones are sent to by the captive-portal API, which RFC 8908 wants on HTTPS."""
    if value == "":
        return None
    match = _URL.fullmatch(value) if len(value) <= 500 else None
    if (
        match
        and value.startswith("https://")
        and match["ipv6"] is None
        and _is_hostname(match["host"].lower())  # a name: phones check certificates by name
        and _is_port(match["port"])
    ):
        return None
    return 'an https:// address under a host name, of up to 500 characters, or ""'


def languages(value: tuple[str, ...]) -> str | None:
    allowed = ", ".join(SUPPORTED_LANGUAGES)
    if not value:
        return f"a non-empty list drawn from {allowed}"
    if len(set(value)) != len(value):
        return f"a list without repeats, drawn from {allowed}"
    if any(code not in SUPPORTED_LANGUAGES for code in value):
        return f"a list drawn from {allowed}"
    return None


def host_ports(value: tuple[str, ...]) -> str | None:
    """Where the uplink monitor connects; with none it could never call the Internet down."""
    allowed = "a non-empty list of 'host:port' strings such as '1.1.1.1:443'"
    if not value:
        return allowed
    for item in value:
        match = _HOST_PORT.fullmatch(item)
        if not match or not _is_host(match["host"], match["ipv6"]) or not _is_port(match["port"]):
            return allowed
    return None


def absolute_path(
    max_length: int, *, example: str = "/var/lib/passerelle", optional: bool = False
) -> Check:
    """A path that dnsmasq and systemd units read as one word: no spaces, quotes or '..';
    `optional`: or "" (no file)."""

    def check(value: str) -> str | None:
        if optional and value == "":
            return None
        parts = value.split("/")
        if len(value) <= max_length and _PATH.fullmatch(value) and not {".", ".."} & set(parts):
            return None
        return (
            f"an absolute path of up to {max_length} characters such as '{example}': "
            "letters, digits, '.', '_', '-', '+' and '@' between the '/'s, no '..'"
            + (', or "" for none' if optional else "")
        )

    return check


def data_dir(value: str) -> str | None:
    """An absolute path short enough for the statistics socket inside it (its owner,
    portal/stats/events.py, says how long it may be)."""
    return data_dir_problem(value) or absolute_path(LONGEST_DATA_DIR)(value)


_PUBLIC_KEY = re.compile(r"ed25519:[A-Za-z0-9+/]{43}=")


def pack_id(value: str) -> str | None:
    """The guide pack format's own id rule, so a configured id can match a real pack."""
    if pack_id_problem(value) is None:
        return None
    return "lower-case letters, digits and dashes, such as 'passerelle-wallonie'"


def public_keys(value: tuple[str, ...]) -> str | None:
    allowed = 'a list of public keys as printed by `portal pack keygen`, such as ["ed25519:..."]'
    if len(set(value)) != len(value) or not all(_PUBLIC_KEY.fullmatch(item) for item in value):
        return allowed
    return None


_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Control (C0, DEL, C1), invisible formatting (e.g. right-to-left override) and
line or paragraph separators: nothing a one-line value may hold."""


def control_character(value: str) -> str | None:
    """The first control, invisible or line-breaking character of `value`, if any."""
    return next((c for c in value if unicodedata.category(c) in _CONTROL_CATEGORIES), None)


_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (a block of 249 codes reads better than 249 lines)
)
"""ISO 3166-1 alpha-2, the codes hostapd's country_code takes (the regulatory database's);
249 codes as of 2024."""


def ssid(value: str) -> str | None:
    """A Wi-Fi network name: 1 to 32 bytes (UTF-8), as 802.11 allows, printable; no space
    at either end (phones would show it, volunteers would not see it)."""
    if (
        0 < len(value.encode("utf-8")) <= 32
        and not control_character(value)
        and value == value.strip()
    ):
        return None
    return (
        "a network name of 1 to 32 bytes (letters with accents count two) such as "
        "'Passerelle Wanze', without line breaks or spaces at either end"
    )


def country_code(value: str) -> str | None:
    if value in _COUNTRIES:
        return None
    if value.upper() in _COUNTRIES:
        return f"a country code in capital letters, such as {value.upper()!r}"
    if value.upper() == "UK":
        return "the country code of the United Kingdom, 'GB' (ISO 3166)"
    return "a country code of two capital letters (ISO 3166), such as 'BE'"


NUMBER = re.compile(r"\+?[0-9](?:[0-9 ./-]*[0-9])?")
"""Digits with the separators people write (spaces, dots, slashes, dashes): the shape of a
phone number in portal.toml, and what portal.i18n keeps left-to-right in Arabic text."""


def phone_number(value: str) -> str | None:
    if value == "" or (NUMBER.fullmatch(value) and 3 <= len(dialled(value).lstrip("+")) <= 15):
        return None
    return "a phone number of 3 to 15 digits, such as '085 21 00 00' or '+32 85 21 00 00'"


def dialled(number: str) -> str:
    """What a phone dials for a number as written: its digits, and a leading '+'
    (the `tel:` URI of RFC 3966 without its visual separators)."""
    return ("+" if number.startswith("+") else "") + "".join(c for c in number if c.isdigit())


def text(max_length: int, *, optional: bool = False) -> Check:
    def check(value: str) -> str | None:
        if optional and value == "":
            return None
        if not value.strip() or len(value) > max_length or control_character(value):
            lowest = 0 if optional else 1
            return (
                f"a line of text of {lowest} to {max_length} characters, without line breaks "
                "or control characters"
            )
        return None

    return check
