"""The gunicorn worker that serves guests: gevent's, with every socket wait bounded.

Greenlets, not threads: a connection that is slow, idle or half-open waits in
gevent's event loop and holds no thread, so a few hostile guests cannot take
every worker away from the phones onboarding meanwhile (issue 9). Gunicorn's
gevent worker bounds the request line and headers by `keepalive` seconds as a
whole; this worker adds a socket timeout, so a request body, or a reader of the
answer, that stays silent longer ends too. The Pi's ruleset caps what one guest
may hold at once (nftables `ct count`).
"""

from __future__ import annotations

import socket
from typing import Any

from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

SILENT_SECONDS = 15.0
"""The longest a guest's socket may stay silent while a request is read or answered."""


class GuestWorker(GeventWorker):  # type: ignore[misc]
    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        client.settimeout(SILENT_SECONDS)
        # GeventWorker.handle would make the socket wait for ever (setblocking(True)).
        AsyncWorker.handle(self, listener, client, addr)
