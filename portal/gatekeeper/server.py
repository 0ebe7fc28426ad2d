"""The gatekeeper's socket: who may call (SO_PEERCRED), how long a call may take, what it does.

Each connection gets its own thread, a bounded number of them, and a deadline
for every line, so a stuck or slow client only ever holds up itself; beyond the
bound, callers wait in the kernel's listen queue for the next free slot. Requests
on one connection are answered in order; changes to the set are serialised by
`AllowedSet`. Logs name the verb and the reason, never a MAC (privacy).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass

from portal.gatekeeper.allowed_set import AllowedSet, SetError
from portal.gatekeeper.dns_switch import DnsSwitch, DnsSwitchError
from portal.gatekeeper.protocol import (
    LINE_TOO_LONG,
    MAX_LINE_BYTES,
    BadRequest,
    CountersRequest,
    DnsRequest,
    GrantRequest,
    LineCutShort,
    LineReader,
    LineTooLong,
    ListRequest,
    Request,
    RevokeRequest,
    SyncRequest,
    counters_reply,
    error_reply,
    list_reply,
    ok_reply,
    parse_request,
)

log = logging.getLogger(__name__)

CONNECTION_TIMEOUT_SECONDS = 5.0
"""Time a client has to send each complete request line (idle connections included)."""
MAX_CONNECTIONS = 16
"""Connections served at once; the portal opens one per call. Others wait their turn."""
_UCRED = struct.Struct("3i")  # struct ucred: pid_t pid, uid_t uid, gid_t gid


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int


def peer_of(connection: socket.socket) -> Peer:
    """The kernel's record of who opened `connection` (cannot be forged by the client)."""
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return Peer(*_UCRED.unpack(raw))


def caller_allowed(peer: Peer, allowed_uid: int) -> bool:
    """Only the portal's uid, and root (an administrator's `portal doctor`), may call."""
    return peer.uid in (0, allowed_uid)


class GatekeeperServer:
    def __init__(
        self,
        listener: socket.socket,
        allowed: AllowedSet,
        allowed_uid: int,
        *,
        connection_timeout: float = CONNECTION_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
        dns: DnsSwitch | None = None,
    ) -> None:
        self._listener = listener
        self._allowed = allowed
        self._dns = dns
        self.allowed_uid = allowed_uid
        self.connection_timeout = connection_timeout
        self.max_connections = max_connections
        self._count = 0
        self._count_lock = threading.Lock()
        self._stop = threading.Event()
        # A socket pair, not a pipe: a send after close fails instead of hitting a reused fd.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_writer.setblocking(False)
        self._wake_reader.setblocking(False)

    def serve_forever(self) -> None:
        """Accept connections until `shutdown()`; each one is served on its own thread.

        With `max_connections` open, no more are accepted: callers wait in the
        listen queue, in the order they came, and get the first slot that frees.
        Every slot frees within `connection_timeout` of its last request, so
        idle callers can delay a caller, never turn it away.
        """
        self._listener.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_reader, selectors.EVENT_READ)
            listening = False
            while not self._stop.is_set():
                full = self._open_connections() >= self.max_connections
                if listening and full:
                    selector.unregister(self._listener)
                elif not listening and not full:
                    selector.register(self._listener, selectors.EVENT_READ)
                listening = not full
                for key, _ in selector.select():
                    if key.fileobj is self._wake_reader:
                        with contextlib.suppress(BlockingIOError):
                            self._wake_reader.recv(4096)
                    elif not self._stop.is_set():
                        self._accept()
        self._wake_reader.close()
        self._wake_writer.close()

    def _open_connections(self) -> int:
        with self._count_lock:
            return self._count

    def _accept(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except BlockingIOError:
            return  # another wake-up took it, or the client gave up
        except OSError as error:
            log.error("accept failed: %s", error.strerror)
            time.sleep(0.1)  # e.g. out of file descriptors: do not spin
            return
        connection.setblocking(True)
        with self._count_lock:
            self._count += 1
        threading.Thread(target=self._serve_connection, args=(connection,), daemon=True).start()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already stopped: the wake-up socket is closed
            self._wake_writer.send(b"\0")

    def shutdown(self) -> None:
        """Stop accepting (safe from a signal handler); open connections finish on their own."""
        self._stop.set()
        self._wake()

    def _refuse(self, connection: socket.socket, reason: str) -> None:
        with connection:
            connection.settimeout(self.connection_timeout)
            with contextlib.suppress(OSError):  # the caller may already be gone
                connection.sendall(error_reply(reason))

    def _serve_connection(self, connection: socket.socket) -> None:
        try:
            with connection:
                peer = peer_of(connection)
                if not caller_allowed(peer, self.allowed_uid):
                    log.warning("refused a caller with uid %d (pid %d)", peer.uid, peer.pid)
                    self._refuse(connection, "caller not allowed")
                    return
                self._serve_requests(connection)
        except OSError as error:
            log.info("connection ended: %s", error.strerror or type(error).__name__)
        finally:
            with self._count_lock:
                self._count -= 1
            self._wake()  # a slot is free: the accept loop listens again

    def _serve_requests(self, connection: socket.socket) -> None:
        reader = LineReader(connection, MAX_LINE_BYTES, self.connection_timeout)
        while True:
            try:
                line = reader.next_line()
            except LineTooLong:
                # The rest of the line cannot be told apart from the next request: hang up.
                log.warning("refused a request: longer than %d bytes", MAX_LINE_BYTES)
                connection.sendall(error_reply(LINE_TOO_LONG))
                return
            except TimeoutError:
                log.info("closed a connection that sent no complete request in time")
                return
            except LineCutShort:
                log.info("connection ended in the middle of a request")
                return
            if line is None:
                return
            connection.settimeout(self.connection_timeout)
            connection.sendall(self.handle_line(line))

    def handle_line(self, line: bytes) -> bytes:
        """One request line → one reply line; bad requests are answered, never executed."""
        try:
            request = parse_request(line)
        except BadRequest as error:
            log.warning("refused a %s request: %s", error.verb, error.reason)
            return error_reply(error.reason)
        except Exception as error:
            # A parser bug must still be a refusal on this connection, not a dead thread.
            log.error("could not read a request: %s", type(error).__name__)
            return error_reply("request could not be read")
        try:
            return self.execute(request)
        except (SetError, DnsSwitchError) as error:
            log.error("%s failed: %s", request.verb, error)
            return error_reply(str(error))
        except Exception as error:
            # The message could quote a value; the type is enough to start looking.
            log.error("%s failed unexpectedly: %s", request.verb, type(error).__name__)
            return error_reply("internal error in the gatekeeper")

    def execute(self, request: Request) -> bytes:
        """Apply a validated request; its reply line."""
        if isinstance(request, GrantRequest):
            self._allowed.grant(request.mac, request.seconds)
            log.info("granted access for %d s", request.seconds)
        elif isinstance(request, RevokeRequest):
            self._allowed.revoke(request.mac)
            log.info("revoked access")
        elif isinstance(request, SyncRequest):
            self._allowed.sync(request.grants)
            log.info("synced %d grants", len(request.grants))
        elif isinstance(request, ListRequest):
            entries = self._allowed.entries()
            log.debug("listed %d entries", len(entries))
            return list_reply(entries)
        elif isinstance(request, CountersRequest):
            counters = self._allowed.counters()
            log.debug("read %d counters", len(counters))
            return counters_reply(counters)
        elif isinstance(request, DnsRequest):
            if self._dns is None:
                return error_reply("DNS switching is not set up (--dns-folder)")
            if self._dns.apply(request.up):
                log.info("DNS switched for an uplink that is %s", request.uplink)
        return ok_reply()
