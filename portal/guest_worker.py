"""The gunicorn worker that serves guests: gevent's, with every socket wait bounded.

Greenlets, not threads: a connection that is slow, idle or half-open waits in
gevent's event loop and holds no thread, so a few hostile guests cannot take
every worker away from the phones onboarding meanwhile (issue 9). Gunicorn's
gevent worker bounds the request line and headers by `keepalive` seconds as a
whole (so keepalive must stay above 0); this worker adds a socket timeout: each
read of a request body must bring data within SILENT_SECONDS, and each write of
the answer must be done within it. Files (narration, pictograms) go out 8 KiB per
write, a rendered page in one write, so a page of 60 KB needs about 32 kbit/s.
The Pi's ruleset caps the connections one guest may hold (nftables `ct count`),
and `worker_connections` what a worker serves at once.

HTTPS (issue 10): gunicorn's own TLS settings would wrap every listener, and the
phones' probes must stay on plain HTTP. So the app (portal.serving.PortalServer)
names the HTTPS port (and the admin port, issue 13) and its context (`https`, an
HttpsListener), and this worker wraps only those listeners' sockets. The
handshake, like the request line and headers, must be done within `keepalive`
seconds as a whole; requests on them are `https` to the app.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any

import gevent
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

SILENT_SECONDS = 15.0
"""The longest a guest's socket may stay silent while a request is read or answered."""


@dataclass(frozen=True)
class HttpsListener:
    ports: frozenset[int]
    """The portal's HTTPS port and, with it, the admin port."""
    context: ssl.SSLContext
    """Made by gevent's SSLContext class, so its sockets wait cooperatively."""


class GuestWorker(GeventWorker):  # type: ignore[misc]
    """Gunicorn's gevent worker; every guest socket times out after SILENT_SECONDS, and the
    app's HTTPS port speaks TLS."""

    https: HttpsListener | None = None

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.https = getattr(self.app, "https", None)

    def _https_on(self, address: Any) -> HttpsListener | None:
        """The HTTPS listener if `address` (host, port, ...) is its, else None."""
        https = self.https
        return https if https is not None and address[1] in https.ports else None

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        client.settimeout(SILENT_SECONDS)
        # Without [tls], no system call more per connection (the probes' hot path).
        https = self.https and self._https_on(listener.getsockname())
        if https is not None:
            secure = https.context.wrap_socket(
                client, server_side=True, do_handshake_on_connect=False
            )
            try:
                # keepalive = 0 (an override file) would time out at once: then 15 s.
                with gevent.Timeout(self.cfg.keepalive or SILENT_SECONDS):
                    secure.do_handshake()
            except (gevent.Timeout, OSError):  # ssl.SSLError is an OSError
                secure.close()  # a failed or stalled handshake: nothing to answer
                return
            client = secure
        # GeventWorker.handle would make the socket wait for ever (setblocking(True)).
        AsyncWorker.handle(self, listener, client, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        if self._https_on(listener_name) is not None:
            req.scheme = "https"  # gunicorn sets it from its own TLS settings, which are off
        super().handle_request(listener_name, req, sock, addr)
