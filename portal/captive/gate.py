"""The probe gate: answers every request for a host that is not the portal, before Flask.

Such requests are OS connectivity probes (every device, every few minutes) or
browsing DNAT-ed to the portal. Before access (or while the Internet is down)
they get a 302 to the portal's start page, an absolute URL from configuration,
never built from the request. After access a probe gets its operating system's
exact "online" answer. This is the hot path, so it runs as plain WSGI: no
routing, no session, no cookie, no database write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from portal.captive.probes import OnlineAnswer, find_probe, normalise_host
from portal.security import SECURITY_HEADERS

if TYPE_CHECKING:
    from portal.context import Services

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]

_STATUS_LINES = {200: "200 OK", 204: "204 No Content", 302: "302 Found"}


class ProbeGate:
    """WSGI middleware in front of the Flask app; portal hosts pass through untouched."""

    def __init__(self, app: WSGIApp, found: Services) -> None:
        self._app = app
        self._services = found
        settings = found.settings
        self._portal_hosts = settings.portal_hosts
        self._captive_headers: Headers = [
            ("Location", settings.public_url),
            ("Content-Length", "0"),
            ("Cache-Control", "no-store"),
            *SECURITY_HEADERS,
        ]
        self._online_headers: dict[OnlineAnswer, Headers] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        host = normalise_host(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
        if host in self._portal_hosts:
            return self._app(environ, start_response)
        online = self._online_answer(host, environ)
        if online is None:
            start_response(_STATUS_LINES[302], self._captive_headers)
            return [b""]
        start_response(_STATUS_LINES[online.status], self._headers_for(online))
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else online.body]

    def _online_answer(self, host: str, environ: dict[str, Any]) -> OnlineAnswer | None:
        """The probe's "online" answer if this device has access and the Internet is up."""
        probe = find_probe(host, environ.get("PATH_INFO", ""))
        if probe is None:
            return None
        found = self._services
        # The source address of the connection, never a header such as X-Forwarded-For.
        mac = found.identify(environ.get("REMOTE_ADDR", ""))
        if mac is None or found.book.seconds_left(mac) is None:
            return None
        # While the Internet is down, "captive" makes phones show the portal,
        # which says so and still offers the lessons.
        return probe.online if found.uplink.is_up() else None

    def _headers_for(self, online: OnlineAnswer) -> Headers:
        headers = self._online_headers.get(online)
        if headers is None:
            headers = [*online.headers, ("Content-Length", str(len(online.body)))]
            if online.content_type:
                headers.append(("Content-Type", online.content_type))
            headers += [("Cache-Control", "no-store"), *SECURITY_HEADERS]
            self._online_headers[online] = headers
        return headers
