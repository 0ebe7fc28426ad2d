"""The gatekeeper's vocabulary: its wire format and the values it accepts.

Requests:  {"verb": "grant", "mac": "aa:bb:cc:dd:ee:ff", "seconds": 3600}
           {"verb": "revoke", "mac": "aa:bb:cc:dd:ee:ff"}
           {"verb": "list"}
           {"verb": "sync", "grants": {"aa:bb:cc:dd:ee:ff": 3600, ...}}
           {"verb": "dns", "uplink": "up"}  (or "down": portal/gatekeeper/dns_switch.py)
           {"verb": "counters"}  (bytes each element has carried: the statistics keeper's)
Replies:   {"ok": true}  ({"ok": true, "entries": [...]} for list,
           {"ok": true, "bytes": {"aa:bb:cc:dd:ee:ff": 123456, ...}} for counters)
           {"ok": false, "error": "reason"}
One JSON object per line, each way.

This is the one definition, owned by the side that must trust it: the server
parses requests with it, the portal's client (portal/access/gatekeeper_client.py)
builds them and reads replies with it, and the in-memory firewall checks its
arguments with it. Every field is checked where the bytes enter the privileged
process: unknown verbs or keys, wrong JSON types, MACs that are not unicast,
grant lengths outside 1 s to a week, integers of more than MAX_NUMBER_DIGITS
digits, NaN and Infinity, and oversized lines are refused before anything runs.
Reasons never quote the request, so they can be logged without a MAC in them.
Nothing here imports the web side (tests/test_gatekeeper.py checks).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

MAX_GRANT_SECONDS = 7 * 24 * 3600
"""Longest grant: a week. Sessions last hours; the bound keeps a mistake from lasting."""
MAX_LINE_BYTES = 1 << 20
"""Longest request line: a sync of MAX_SYNC_GRANTS entries is about 500 KiB."""
MAX_SMALL_LINE_BYTES = 1024
"""Longest grant, revoke or list request (a real one is under 100 bytes)."""
MAX_SYNC_GRANTS = 16_384
"""More devices than any hotspot serves; bounds the nft batch a sync can build."""
MAX_REPLY_BYTES = 8 << 20
"""A list of 16,384 entries is about 1 MiB; anything far larger is not our gatekeeper."""
MAX_NUMBER_DIGITS = 15
"""Longest integer in a request (a week is 6 digits); json.loads alone takes up to 4,300
and raises a bare ValueError beyond, and a huge number must not cost the parse anything."""
LINE_TOO_LONG = f"request longer than {MAX_LINE_BYTES} bytes"
"""The refusal of an oversized line, from the parser or from the server reading it."""

MAC_TEXT = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}", re.IGNORECASE)
"""What a MAC address looks like in text: six hex pairs joined by colons."""


def normalise_mac(value: str) -> str:
    """Lower-case colon form; raises ValueError for anything that is not a unicast MAC."""
    mac = value.strip().lower().replace("-", ":")
    if not MAC_TEXT.fullmatch(mac):
        raise ValueError(f"not a MAC address: {value!r}")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"not a unicast MAC address: {value!r}")
    return mac


def check_seconds(seconds: int) -> int:
    """A grant length, 1 s to MAX_GRANT_SECONDS; raises ValueError otherwise."""
    if not 1 <= seconds <= MAX_GRANT_SECONDS:
        raise ValueError(f"grant length must be 1..{MAX_GRANT_SECONDS} seconds, got {seconds}")
    return seconds


@dataclass(frozen=True)
class FirewallEntry:
    """A device let through, as a list reply carries it."""

    mac: str
    seconds_left: int
    packets: int
    """Packets counted for this device so far (the set's per-element counter)."""


# --- requests ---


class BadRequest(ValueError):
    """A request answered with an error and never executed; the reason quotes no input."""

    def __init__(self, reason: str, verb: str = "malformed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.verb = verb


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
    if not isinstance(value, Mapping):
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


@dataclass(frozen=True)
class GrantRequest:
    mac: str
    seconds: int
    verb: ClassVar[str] = "grant"

    @classmethod
    def checked(cls, mac: Any, seconds: Any) -> GrantRequest:
        """The request, its values normalised; BadRequest (a ValueError) when one is wrong."""
        return cls(_mac(mac, cls.verb), _seconds(seconds, cls.verb))


@dataclass(frozen=True)
class RevokeRequest:
    mac: str
    verb: ClassVar[str] = "revoke"

    @classmethod
    def checked(cls, mac: Any) -> RevokeRequest:
        return cls(_mac(mac, cls.verb))


@dataclass(frozen=True)
class ListRequest:
    verb: ClassVar[str] = "list"


@dataclass(frozen=True)
class SyncRequest:
    grants: Mapping[str, int]
    verb: ClassVar[str] = "sync"

    @classmethod
    def checked(cls, grants: Any) -> SyncRequest:
        return cls(_grants(grants, cls.verb))


UPLINK_STATES = {"up": True, "down": False}


@dataclass(frozen=True)
class DnsRequest:
    uplink: str
    """"up" or "down": which DNS guests get (portal/gatekeeper/dns_switch.py)."""
    verb: ClassVar[str] = "dns"

    @classmethod
    def checked(cls, uplink: Any) -> DnsRequest:
        if not isinstance(uplink, str) or uplink not in UPLINK_STATES:
            raise BadRequest('uplink must be "up" or "down"', cls.verb)
        return cls(uplink)

    @classmethod
    def for_uplink(cls, up: bool) -> DnsRequest:
        return cls("up" if up else "down")

    @property
    def up(self) -> bool:
        return UPLINK_STATES[self.uplink]


@dataclass(frozen=True)
class CountersRequest:
    """The bytes counter of every element of the set (the set is declared with `counter`)."""

    verb: ClassVar[str] = "counters"


Request = GrantRequest | RevokeRequest | ListRequest | SyncRequest | DnsRequest | CountersRequest

_KEYS = {
    kind.verb: {"verb", *(field.name for field in fields(kind))}
    for kind in (GrantRequest, RevokeRequest, ListRequest, SyncRequest, DnsRequest, CountersRequest)
}
"""Each verb's keys: the verb and its request's fields, exactly."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest("duplicate key in JSON object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise BadRequest("NaN and Infinity are not JSON numbers")


def _short_integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BadRequest(f"integers have at most {MAX_NUMBER_DIGITS} digits")
    return int(text)


def parse_request(line: bytes) -> Request:
    """One request line (without its newline) → a validated request, or BadRequest."""
    if len(line) > MAX_LINE_BYTES:
        raise BadRequest(LINE_TOO_LONG)
    try:
        message = json.loads(
            line.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constants,
            parse_int=_short_integer,
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
    if verb != SyncRequest.verb and len(line) > MAX_SMALL_LINE_BYTES:
        raise BadRequest(f"{verb} request longer than {MAX_SMALL_LINE_BYTES} bytes", verb)
    if verb == GrantRequest.verb:
        return GrantRequest.checked(message["mac"], message["seconds"])
    if verb == RevokeRequest.verb:
        return RevokeRequest.checked(message["mac"])
    if verb == ListRequest.verb:
        return ListRequest()
    if verb == DnsRequest.verb:
        return DnsRequest.checked(message["uplink"])
    if verb == CountersRequest.verb:
        return CountersRequest()
    return SyncRequest.checked(message["grants"])


def encode_request(request: Request) -> bytes:
    """The line `parse_request` reads back as `request`."""
    return _line({"verb": request.verb, **asdict(request)})


# --- replies ---


def ok_reply() -> bytes:
    return _line({"ok": True})


def list_reply(entries: Iterable[FirewallEntry]) -> bytes:
    return _line({"ok": True, "entries": [asdict(entry) for entry in entries]})


def counters_reply(counters: Mapping[str, int]) -> bytes:
    return _line({"ok": True, "bytes": dict(counters)})


def error_reply(reason: str) -> bytes:
    return _line({"ok": False, "error": reason})


class BadReply(ValueError):
    """A reply that is not what the gatekeeper sends."""


@dataclass(frozen=True)
class Reply:
    """A decoded reply: `error` is None when the gatekeeper said ok."""

    error: str | None
    message: Mapping[str, Any]

    def entries(self) -> list[FirewallEntry]:
        """The devices of a list reply; BadReply when they are not well formed."""
        items = self.message.get("entries")
        if not isinstance(items, list):
            raise BadReply("a list reply carries a list of entries")
        return [_entry(item) for item in items]

    def counters(self) -> dict[str, int]:
        """The bytes per MAC of a counters reply; BadReply when they are not well formed."""
        found = self.message.get("bytes")
        if not isinstance(found, dict):
            raise BadReply("a counters reply carries an object of MAC to bytes")
        counters: dict[str, int] = {}
        for mac, carried in found.items():
            if type(carried) is not int or carried < 0:
                raise BadReply("a counter is a non-negative integer")
            try:
                counters[normalise_mac(mac)] = carried
            except ValueError:
                raise BadReply("a counter names a malformed MAC") from None
        return counters


def parse_reply(line: bytes) -> Reply:
    """One reply line (without its newline) → a Reply, or BadReply."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise BadReply("reply is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
        raise BadReply("reply is not an object with a boolean ok")
    if message["ok"]:
        return Reply(None, message)
    error = message.get("error")
    return Reply(error if isinstance(error, str) else "?", message)


def _entry(item: Any) -> FirewallEntry:
    if not isinstance(item, dict):
        raise BadReply("a list entry is an object")
    mac, seconds_left, packets = item.get("mac"), item.get("seconds_left"), item.get("packets")
    if not isinstance(mac, str) or type(seconds_left) is not int or type(packets) is not int:
        raise BadReply("a list entry holds a MAC string and two integers")
    try:
        return FirewallEntry(normalise_mac(mac), seconds_left, packets)
    except ValueError:
        raise BadReply("a list entry holds a malformed MAC") from None


def _line(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


# --- lines on a socket ---


class LineTooLong(ValueError):
    """No newline within the limit: the rest cannot be told apart from the next line."""


class LineCutShort(ConnectionError):
    """The other side closed the connection in the middle of a line."""


class LineReader:
    """Lines from a socket, each bounded in size and in the time it may take to arrive."""

    def __init__(self, connection: socket.socket, limit: int, timeout: float) -> None:
        self._connection = connection
        self._limit = limit
        self._timeout = timeout
        self._buffer = b""

    def next_line(self) -> bytes | None:
        """The next line without its newline; None at a clean end of the connection.

        Raises LineTooLong, LineCutShort, or TimeoutError once `timeout` has passed.
        """
        deadline = time.monotonic() + self._timeout
        while b"\n" not in self._buffer:
            if len(self._buffer) > self._limit:
                raise LineTooLong
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self._connection.settimeout(remaining)
            chunk = self._connection.recv(65536)
            if not chunk:
                if self._buffer.strip():
                    raise LineCutShort("connection closed in the middle of a line")
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        if len(line) > self._limit:
            raise LineTooLong
        return line
