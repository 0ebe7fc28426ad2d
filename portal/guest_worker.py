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
phones' probes must stay on plain HTTP. So the app names one port (`https_port`)
and its context (`https_context()`), and this worker wraps only that listener's
sockets. The handshake, like the request line and headers, must be done within
`keepalive` seconds as a whole; requests on it are `https` to the app.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import gevent
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

SILENT_SECONDS = 15.0
"""The longest a guest's socket may stay silent while a request is read or answered."""


class GuestWorker(GeventWorker):  # type: ignore[misc]
    """Gunicorn's gevent worker; every guest socket times out after SILENT_SECONDS, and the
    app's HTTPS port speaks TLS."""

    https_port: int | None = None
    https: ssl.SSLContext | None = None

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # After the fork and gevent's patching, so the context makes cooperative sockets.
        port = getattr(self.app, "https_port", None)
        if port is not None:
            self.https_port, self.https = port, self.app.https_context()

    def _is_https(self, address: Any) -> bool:
        return self.https is not None and address[1] == self.https_port

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        client.settimeout(SILENT_SECONDS)
        if self.https is not None and self._is_https(listener.getsockname()):
            try:
                # keepalive = 0 (an override file) would time out at once: then 15 s.
                with gevent.Timeout(self.cfg.keepalive or SILENT_SECONDS):
                    client = self.https.wrap_socket(client, server_side=True)
            except (gevent.Timeout, OSError):  # ssl.SSLError is an OSError
                client.close()  # a failed or stalled handshake: nothing to answer
                return
        # GeventWorker.handle would make the socket wait for ever (setblocking(True)).
        AsyncWorker.handle(self, listener, client, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        if self._is_https(listener_name):
            req.scheme = "https"  # gunicorn sets it from its own TLS settings, which are off
        super().handle_request(listener_name, req, sock, addr)
