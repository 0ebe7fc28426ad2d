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
"""

from __future__ import annotations

import socket
from typing import Any

from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

SILENT_SECONDS = 15.0
"""The longest a guest's socket may stay silent while a request is read or answered."""


class GuestWorker(GeventWorker):  # type: ignore[misc]
    """Gunicorn's gevent worker; every guest socket times out after SILENT_SECONDS."""

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        client.settimeout(SILENT_SECONDS)
        # GeventWorker.handle would make the socket wait for ever (setblocking(True)).
        AsyncWorker.handle(self, listener, client, addr)
