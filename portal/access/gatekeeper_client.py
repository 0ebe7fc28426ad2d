"""The `nft` firewall backend: a client of the privileged gatekeeper's Unix socket.

The web process holds no capability; it asks the gatekeeper (portal/gatekeeper)
to change the nftables set, one connection per call, so gunicorn workers and
threads never share a socket. Any failure to get an "ok" becomes a
GatekeeperError, which the portal turns into a "try again" page.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portal.access.firewall import FirewallEntry, FirewallError, check_seconds, normalise_mac

DEFAULT_TIMEOUT_SECONDS = 10.0
"""A grant takes milliseconds; a sync of 10,000 devices well under a second."""
MAX_REPLY_BYTES = 8 << 20
"""A list of 16,384 entries is about 1 MiB; anything far larger is not our gatekeeper."""


class GatekeeperError(FirewallError):
    """The gatekeeper could not be reached, did not answer in time, or refused the change."""


class GatekeeperFirewall:
    """Firewall protocol over the gatekeeper socket (`firewall.backend = "nft"`)."""

    def __init__(self, socket_path: str | Path, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.socket_path = str(socket_path)
        self.timeout = timeout

    def grant(self, mac: str, seconds: int) -> None:
        self._call({"verb": "grant", "mac": normalise_mac(mac), "seconds": check_seconds(seconds)})

    def revoke(self, mac: str) -> None:
        self._call({"verb": "revoke", "mac": normalise_mac(mac)})

    def sync(self, grants: Mapping[str, int]) -> None:
        checked = {normalise_mac(mac): check_seconds(s) for mac, s in grants.items()}
        self._call({"verb": "sync", "grants": checked})

    def list(self) -> list[FirewallEntry]:
        reply = self._call({"verb": "list"})
        try:
            return [_entry(item) for item in reply["entries"]]
        except (KeyError, TypeError, ValueError):
            raise GatekeeperError("gatekeeper sent a malformed list") from None

    def _call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        verb = request["verb"]
        raw = self._exchange(json.dumps(request, separators=(",", ":")).encode() + b"\n")
        try:
            reply = json.loads(raw)
        except ValueError:
            raise GatekeeperError(f"gatekeeper sent a malformed reply to {verb}") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise GatekeeperError(f"gatekeeper sent a malformed reply to {verb}")
        if not reply["ok"]:
            # The gatekeeper's reasons never quote a MAC, so they are safe to log.
            raise GatekeeperError(f"gatekeeper refused {verb}: {reply.get('error', '?')}")
        return reply

    def _exchange(self, line: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            try:
                connection.settimeout(self.timeout)
                connection.connect(self.socket_path)
                # Refused before reading (e.g. a wrong uid): its reason may still be waiting.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    connection.sendall(line)
                received = b""
                while b"\n" not in received:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    connection.settimeout(remaining)
                    chunk = connection.recv(65536)
                    if not chunk:
                        raise GatekeeperError("gatekeeper closed the connection without a reply")
                    received += chunk
                    if len(received) > MAX_REPLY_BYTES:
                        raise GatekeeperError("gatekeeper reply too large")
            except TimeoutError:
                raise GatekeeperError(
                    f"gatekeeper did not answer within {self.timeout:g} s"
                ) from None
            except OSError as error:
                reason = error.strerror or type(error).__name__
                raise GatekeeperError(
                    f"gatekeeper unreachable at {self.socket_path}: {reason}"
                ) from None
        return received.partition(b"\n")[0]


def _entry(item: Any) -> FirewallEntry:
    mac, seconds_left, packets = item["mac"], item["seconds_left"], item["packets"]
    if type(seconds_left) is not int or type(packets) is not int:
        raise TypeError("seconds_left and packets must be integers")
    return FirewallEntry(normalise_mac(mac), seconds_left, packets)
