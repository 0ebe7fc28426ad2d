"""The `nft` firewall backend: a client of the privileged gatekeeper's Unix socket.

The web process holds no capability; it asks the gatekeeper (portal/gatekeeper)
to change the nftables set, one connection per call, so gunicorn workers and
threads never share a socket. Requests are built, and replies read, by the
gatekeeper's own protocol module: a value it would refuse is refused here, as a
ValueError, before anything is sent. Any failure to get an "ok" becomes a
GatekeeperError, which the portal turns into a "try again" page.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from portal.access.firewall import FirewallError
from portal.gatekeeper.protocol import (
    MAX_REPLY_BYTES,
    BadReply,
    CountersRequest,
    DnsRequest,
    FirewallEntry,
    GrantRequest,
    LineCutShort,
    LineReader,
    LineTooLong,
    ListRequest,
    Reply,
    Request,
    RevokeRequest,
    SyncRequest,
    encode_request,
    parse_reply,
)

DEFAULT_TIMEOUT_SECONDS = 10.0
"""A grant takes milliseconds; a sync of 10,000 devices well under a second."""


class GatekeeperError(FirewallError):
    """The gatekeeper could not be reached, did not answer in time, or refused the change."""


class GatekeeperFirewall:
    """Firewall protocol over the gatekeeper socket (`firewall.backend = "nft"`)."""

    def __init__(self, socket_path: str | Path, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.socket_path = str(socket_path)
        self.timeout = timeout

    def grant(self, mac: str, seconds: int) -> None:
        self._call(GrantRequest.checked(mac, seconds))

    def revoke(self, mac: str) -> None:
        self._call(RevokeRequest.checked(mac))

    def sync(self, grants: Mapping[str, int]) -> None:
        self._call(SyncRequest.checked(grants))

    def point_dns(self, uplink_up: bool) -> None:
        self._call(DnsRequest.for_uplink(uplink_up))

    def list(self) -> list[FirewallEntry]:
        reply = self._call(ListRequest())
        try:
            return reply.entries()
        except BadReply:
            raise GatekeeperError("gatekeeper sent a malformed list") from None

    def counters(self) -> dict[str, int]:
        """Bytes each device let through has carried (the statistics keeper's traffic)."""
        reply = self._call(CountersRequest())
        try:
            return reply.counters()
        except BadReply:
            raise GatekeeperError("gatekeeper sent malformed counters") from None

    def _call(self, request: Request) -> Reply:
        try:
            reply = parse_reply(self._exchange(encode_request(request)))
        except BadReply:
            raise GatekeeperError(f"gatekeeper sent a malformed reply to {request.verb}") from None
        if reply.error is not None:
            # The gatekeeper's reasons never quote a MAC, so they are safe to log.
            raise GatekeeperError(f"gatekeeper refused {request.verb}: {reply.error}")
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
                reader = LineReader(connection, MAX_REPLY_BYTES, deadline - time.monotonic())
                reply = reader.next_line()
            except LineTooLong:
                raise GatekeeperError("gatekeeper reply too large") from None
            except TimeoutError:
                raise GatekeeperError(
                    f"gatekeeper did not answer within {self.timeout:g} s"
                ) from None
            except LineCutShort:
                reply = None
            except OSError as error:
                reason = error.strerror or type(error).__name__
                raise GatekeeperError(
                    f"gatekeeper unreachable at {self.socket_path}: {reason}"
                ) from None
        if reply is None:
            raise GatekeeperError("gatekeeper closed the connection without a reply")
        return reply
