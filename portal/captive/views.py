"""Answers for requests that are not for the portal: OS probes and hijacked browsing.

Before access (or while the uplink is down) everything gets a 302 to the
portal's start page, an absolute URL from configuration, never built from the
request. After access a probe gets its operating system's exact "online" answer.
Nothing here writes to the database: this is the hot path.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from portal.captive.probes import find_probe, normalise_host
from portal.context import client_mac, services

captive = Blueprint("captive", __name__)


def redirect_to_portal() -> Response:
    response = Response(status=302)
    response.headers["Location"] = services().settings.public_url
    response.headers["Cache-Control"] = "no-store"
    return response


@captive.before_app_request
def answer_foreign_hosts() -> Response | None:
    """Requests whose Host is not the portal are probes or DNAT-ed browsing."""
    found = services()
    host = normalise_host(request.host)
    if host in found.settings.portal_hosts:
        return None
    probe = find_probe(host, request.path)
    mac = client_mac()
    if (
        probe is None
        or mac is None
        # While the Internet is down, "captive" makes phones show the portal,
        # which says so and still offers the lessons and guides.
        or not found.uplink.is_up()
        or found.book.seconds_left(mac) is None
    ):
        return redirect_to_portal()
    online = probe.online
    response = Response(online.body, status=online.status, headers=list(online.headers))
    if online.content_type:
        response.headers["Content-Type"] = online.content_type
    else:
        response.headers.remove("Content-Type")
    response.headers["Cache-Control"] = "no-store"
    return response


@captive.get("/api/captive")
def captive_api() -> Response:
    """RFC 8908 captive-portal API, announced by DHCP option 114 (RFC 8910)."""
    found = services()
    mac = client_mac()
    left = found.book.seconds_left(mac) if mac else None
    body: dict[str, object] = {
        "captive": left is None or not found.uplink.is_up(),
        "user-portal-url": found.settings.public_url,
        "venue-info-url": found.settings.site.venue_info_url or found.settings.public_url,
    }
    if left is not None:
        body["seconds-remaining"] = left
        body["can-extend-session"] = True
    return Response(
        json.dumps(body),
        content_type="application/captive+json",
        headers={"Cache-Control": "private, no-store"},
    )
