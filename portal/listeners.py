"""Which app answers a request: the one for the listening socket it came in on.

The guest portal listens on the Wi-Fi side (network.portal_address, its ports), the admin
pages on network.admin_address:admin_port. A request's Host header is the client's to
write, so it decides nothing: gunicorn puts a TCP listener's own address in SERVER_NAME and
SERVER_PORT (`gunicorn.http.wsgi.create` takes them from `listener.getsockname()`; only a
Unix socket's come from Host), so SERVER_PORT names the listener. tests/test_admin_serving.py
pins it with a real gunicorn and a Host header that names the other port.

So /admin on the portal's port is the guest app's 404 page in the visitor's language, and
no guest page, probe or API answers on the admin port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ByListener:
    """The admin app for requests on the admin port, the guest portal for every other."""

    def __init__(self, portal: WsgiApp, admin: WsgiApp, admin_port: int) -> None:
        self.portal = portal
        self.admin = admin
        self.admin_port = str(admin_port)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("SERVER_PORT") == self.admin_port:
            return self.admin(environ, start_response)
        return self.portal(environ, start_response)
