"""What a web worker tells the keeper: one small datagram per event, defined here once.

    b"count guide_views demarches-en-ligne"   a metric of EVENT_METRICS and its label
    b"count searches -"                       ("-": no label, the metric alone)
    b"count visits fr aa:bb:cc:dd:ee:ff"      ... by a device seen (one datagram for both)
    b"device aa:bb:cc:dd:ee:ff"               a device seen: the keeper counts it once a day

Datagrams go over a Unix socket in the data directory (0700: only the portal's user can
reach it), never over the network and never onto disk: a MAC crosses it only in memory,
and the keeper keeps nothing but HMAC(key of the day, MAC) in a set it empties at midnight.
The sender never waits: the socket is non-blocking, and an event the keeper cannot take
(away, restarting, its queue full) is dropped, so counting never slows or fails a request.
The keeper parses what arrives with `parse_event`, which refuses anything else.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from portal.gatekeeper.protocol import normalise_mac

SOCKET_FILE = "stats.sock"
"""The keeper's socket, in the data directory."""
MAX_SOCKET_PATH_BYTES = 107
"""The longest path a Unix socket may be bound to: sun_path holds 108 bytes with the NUL."""
LONGEST_DATA_DIR = MAX_SOCKET_PATH_BYTES - len(f"/{SOCKET_FILE}")
"""The longest data directory whose socket path still fits (96 bytes)."""
MAX_EVENT_BYTES = 128
"""The longest event: a verb, a metric and a label of at most 64 characters."""

EVENT_METRICS = frozenset({"grants", "completions", "lessons", "guide_views", "searches", "visits"})
"""The metrics web workers count (portal.models.METRICS says what each is). The others
(devices, active_hours, bytes, uplink_down_minutes, peak_devices) are the keeper's own."""
LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""A label: a lesson's slug, a guide's id, a language code; never free text."""


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_FILE


def data_dir_problem(data_dir: str) -> str | None:
    """Why the keeper could not bind its socket in `data_dir` (too long a path), else None."""
    if len(os.fsencode(data_dir.rstrip("/"))) <= LONGEST_DATA_DIR:
        return None
    return (
        f"at most {LONGEST_DATA_DIR} characters long (the statistics socket, "
        f"data_dir/{SOCKET_FILE}, must fit in a Unix socket address of at most "
        f"{MAX_SOCKET_PATH_BYTES} bytes)"
    )


class Counting(Protocol):
    """What request code calls, through `services().stats`: one call per event."""

    def count(self, metric: str, label: str = "", device: str | None = None) -> None:
        """One more of `metric` (one of EVENT_METRICS) for `label`; with `device`, that
        device was seen too (as by `device`)."""

    def device(self, mac: str) -> None:
        """A device was seen (counted once per hour and per day, never stored)."""


@dataclass(frozen=True)
class CountEvent:
    metric: str
    label: str = ""
    mac: str | None = None
    """The device that caused it, if the keeper should count it as seen."""


@dataclass(frozen=True)
class DeviceEvent:
    mac: str


Event = CountEvent | DeviceEvent


class BadEvent(ValueError):
    """A datagram that is not an event; the reason never quotes it (it may hold a MAC)."""


NO_LABEL = "-"


def check_count(metric: str, label: str, mac: str | None = None) -> CountEvent:
    if metric not in EVENT_METRICS:
        raise BadEvent("unknown metric")
    if label and not LABEL.fullmatch(label):
        raise BadEvent("a label is a slug of at most 64 characters")
    return CountEvent(metric, label, _mac(mac) if mac is not None else None)


def _mac(text: str) -> str:
    try:
        return normalise_mac(text)
    except ValueError:
        raise BadEvent("not a unicast MAC address") from None


def parse_event(data: bytes) -> Event:
    """One datagram → a checked event, or BadEvent."""
    if len(data) > MAX_EVENT_BYTES:
        raise BadEvent("event too long")
    try:
        words = data.decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise BadEvent("event is not ASCII") from None
    if words[0] == "device" and len(words) == 2:
        return DeviceEvent(_mac(words[1]))
    if words[0] == "count" and len(words) in (3, 4):
        label = "" if words[2] == NO_LABEL else words[2]
        return check_count(words[1], label, words[3] if len(words) == 4 else None)
    raise BadEvent("unknown event")


def encode_event(event: Event) -> bytes:
    """The datagram `parse_event` reads back as `event`."""
    if isinstance(event, DeviceEvent):
        return f"device {event.mac}".encode("ascii")
    words = ["count", event.metric, event.label or NO_LABEL, *([event.mac] if event.mac else [])]
    return " ".join(words).encode("ascii")


class EventSender:
    """Counting for a web worker: each event one non-blocking sendto to the keeper.

    The socket is made on first use in each process (gunicorn forks workers from a master
    that built an app too), and an event that cannot go is dropped: an absent keeper, a full
    queue or a bad label costs the request nothing but the one system call."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._socket: socket.socket | None = None
        self._pid = 0

    def count(self, metric: str, label: str = "", device: str | None = None) -> None:
        try:
            self._send(encode_event(check_count(metric, label, device)))
        except BadEvent:
            return

    def device(self, mac: str) -> None:
        try:
            self._send(encode_event(DeviceEvent(normalise_mac(mac))))
        except ValueError:
            return

    def _send(self, datagram: bytes) -> None:
        if self._socket is None or self._pid != os.getpid():
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.setblocking(False)
            self._pid = os.getpid()
        try:
            self._socket.sendto(datagram, self.path)
        except OSError:
            return  # keeper away (ENOENT, ECONNREFUSED) or busy (EAGAIN): the event is dropped
