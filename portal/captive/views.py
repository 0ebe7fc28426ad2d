"""The RFC 8908 captive-portal API (requests for other hosts are answered by the probe gate)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, make_response, request

from portal.context import client_mac, services
from portal.pages import status

captive = Blueprint("captive", __name__)

CAPTIVE_JSON = "application/captive+json"
PAGE_TYPES = ("text/html", "application/xhtml+xml")
"""What a browser asks for first."""
NEVER_CACHED = {"Cache-Control": "private, no-store", "Vary": "Accept"}


@captive.get("/api/captive")
def captive_api() -> Response:
    """RFC 8908 captive-portal API: JSON, whatever the Accept header, unless a web page is
    what the client asks for first (a person who opened the address): the status page."""
    if request.accept_mimetypes.best in PAGE_TYPES:
        page = make_response(status())
        page.headers.update(NEVER_CACHED)
        return page
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
    return Response(json.dumps(body), content_type=CAPTIVE_JSON, headers=NEVER_CACHED)
