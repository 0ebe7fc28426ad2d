"""The RFC 8908 captive-portal API (requests for other hosts are answered by the probe gate)."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from portal.context import client_mac, services

captive = Blueprint("captive", __name__)


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
