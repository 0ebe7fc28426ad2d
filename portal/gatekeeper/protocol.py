"""The gatekeeper's wire format: one JSON object per line, each way, validated on arrival.

Requests:  {"verb": "grant", "mac": "aa:bb:cc:dd:ee:ff", "seconds": 3600}
           {"verb": "revoke", "mac": "aa:bb:cc:dd:ee:ff"}
           {"verb": "list"}
           {"verb": "sync", "grants": {"aa:bb:cc:dd:ee:ff": 3600, ...}}
Replies:   {"ok": true}  ({"ok": true, "entries": [...]} for list)
           {"ok": false, "error": "reason"}

Every field is checked here, where the bytes enter the privileged process:
unknown verbs or keys, wrong JSON types, MACs and grant lengths outside what
the portal itself accepts, and oversized lines are refused before anything runs.
Reasons never quote the request, so they can be logged without a MAC in them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.access.firewall import check_seconds, normalise_mac

MAX_LINE_BYTES = 1 << 20
"""Longest request line: a sync of MAX_SYNC_GRANTS entries is about 500 KiB."""
MAX_SMALL_LINE_BYTES = 1024
"""Longest grant, revoke or list request (a real one is under 100 bytes)."""
MAX_SYNC_GRANTS = 16_384
"""More devices than any hotspot serves; bounds the nft batch a sync can build."""


class BadRequest(ValueError):
    """A request answered with an error and never executed; the reason quotes no input."""

    def __init__(self, reason: str, verb: str = "malformed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.verb = verb


@dataclass(frozen=True)
class GrantRequest:
    mac: str
    seconds: int
    verb = "grant"


@dataclass(frozen=True)
class RevokeRequest:
    mac: str
    verb = "revoke"


@dataclass(frozen=True)
class ListRequest:
    verb = "list"


@dataclass(frozen=True)
class SyncRequest:
    grants: Mapping[str, int]
    verb = "sync"


Request = GrantRequest | RevokeRequest | ListRequest | SyncRequest

_KEYS = {
    "grant": {"verb", "mac", "seconds"},
    "revoke": {"verb", "mac"},
    "list": {"verb"},
    "sync": {"verb", "grants"},
}


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest("duplicate key in JSON object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise BadRequest("NaN and Infinity are not JSON numbers")


def _mac(value: Any, verb: str, field: str = "mac") -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string", verb)
    try:
        return normalise_mac(value)
    except ValueError:
        # normalise_mac's own message quotes the value: keep MACs out of the reason.
        raise BadRequest(f"{field} is not a unicast MAC address", verb) from None


def _seconds(value: Any, verb: str, field: str = "seconds") -> int:
    if type(value) is not int:  # bool is an int subclass; 1.5 and "60" are not lengths
        raise BadRequest(f"{field} must be an integer", verb)
    try:
        return check_seconds(value)
    except ValueError as error:
        raise BadRequest(f"{field}: {error}", verb) from None


def _grants(value: Any, verb: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise BadRequest("grants must be an object of MAC to seconds", verb)
    if len(value) > MAX_SYNC_GRANTS:
        raise BadRequest(f"grants holds more than {MAX_SYNC_GRANTS} entries", verb)
    grants: dict[str, int] = {}
    for mac, seconds in value.items():
        key = _mac(mac, verb, "grants key")
        if key in grants:
            raise BadRequest("grants names the same MAC twice", verb)
        grants[key] = _seconds(seconds, verb, "grants value")
    return grants


def parse_request(line: bytes) -> Request:
    """One request line (without its newline) → a validated request, or BadRequest."""
    if len(line) > MAX_LINE_BYTES:
        raise BadRequest(f"request longer than {MAX_LINE_BYTES} bytes")
    try:
        message = json.loads(
            line.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constants
        )
    except UnicodeDecodeError:
        raise BadRequest("request is not UTF-8") from None
    except RecursionError:
        raise BadRequest("request nests too deeply") from None
    except json.JSONDecodeError:
        raise BadRequest("request is not valid JSON") from None
    if not isinstance(message, dict):
        raise BadRequest("request must be a JSON object")
    verb = message.get("verb")
    if not isinstance(verb, str) or verb not in _KEYS:
        raise BadRequest("unknown verb")
    if set(message) != _KEYS[verb]:
        raise BadRequest(f"{verb} takes exactly the keys {', '.join(sorted(_KEYS[verb]))}", verb)
    if verb != "sync" and len(line) > MAX_SMALL_LINE_BYTES:
        raise BadRequest(f"{verb} request longer than {MAX_SMALL_LINE_BYTES} bytes", verb)
    if verb == "grant":
        return GrantRequest(_mac(message["mac"], verb), _seconds(message["seconds"], verb))
    if verb == "revoke":
        return RevokeRequest(_mac(message["mac"], verb))
    if verb == "list":
        return ListRequest()
    return SyncRequest(_grants(message["grants"], verb))


def encode(message: Mapping[str, Any]) -> bytes:
    """One reply (or request) as a compact JSON line."""
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def error_reply(reason: str) -> bytes:
    return encode({"ok": False, "error": reason})
