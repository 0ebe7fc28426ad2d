"""What a configuration value may be: the checks each portal.toml key declares.

A check returns None when the value is fine, else a phrase saying what is
allowed, which the loader turns into a message naming the key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from portal.guides.pack.names import pack_id_problem

SUPPORTED_LANGUAGES = ("fr", "nl", "de", "en", "ar")

Check = Callable[[Any], str | None]
"""A value check returns None when the value is fine, else what is allowed."""


def between(low: int, high: int) -> Check:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"a whole number from {low} to {high}"

    return check


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


def ip_addresses(value: tuple[str, ...]) -> str | None:
    allowed = 'a non-empty list of IPv4 or IPv6 addresses such as ["9.9.9.9", "1.1.1.1"]'
    if not value or len(set(value)) != len(value):
        return allowed
    try:
        for item in value:
            ipaddress.ip_address(item)
    except ValueError:
        return allowed
    return None


_INTERFACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")


def interface_name(value: str) -> str | None:
    return None if _INTERFACE.match(value) else "a network interface name such as 'wlan0'"


def hostname(value: str) -> str | None:
    if value == "" or _HOSTNAME.match(value):
        return None
    return "a lower-case host name such as 'passerelle.lan', or \"\" to use the address"


def http_url_or_empty(value: str) -> str | None:
    if value == "" or re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        return None
    return 'an http:// or https:// address, or ""'


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
    for item in value:
        match = _HOST_PORT.match(item)
        if not match or not 1 <= int(match["port"]) <= 65535:
            return "a list of 'host:port' strings such as '1.1.1.1:443'"
    return None


_PUBLIC_KEY = re.compile(r"^ed25519:[A-Za-z0-9+/]{43}=$")


def pack_id(value: str) -> str | None:
    """The guide pack format's own id rule, so a configured id can match a real pack."""
    if pack_id_problem(value) is None:
        return None
    return "lower-case letters, digits and dashes, such as 'passerelle-wallonie'"


def public_keys(value: tuple[str, ...]) -> str | None:
    allowed = 'a list of public keys as printed by `portal pack keygen`, such as ["ed25519:..."]'
    if len(set(value)) != len(value) or not all(_PUBLIC_KEY.match(item) for item in value):
        return allowed
    return None


def text(max_length: int, *, optional: bool = False) -> Check:
    def check(value: str) -> str | None:
        if optional and value == "":
            return None
        if not value.strip() or len(value) > max_length or any(ord(c) < 32 for c in value):
            lowest = 0 if optional else 1
            return f"a line of text of {lowest} to {max_length} characters"
        return None

    return check
