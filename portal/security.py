"""Headers on every response, CSRF on every POST, the cap on request bodies, and HTTPS
for every portal page once a certificate is configured.

The anti-forgery token needs no cookie (some phones keep none): it is signed with the
portal's secret key, bound to the device (its pseudonym, in the signature, not in the
token) and valid for a day, the longest access lasts. Another site's page cannot read
it, and a token taken from one device is worth nothing on another. The admin pages bind
their tokens to the browser's session instead (`protect`'s `form_owner`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlencode

from flask import Flask, Response, current_app, redirect, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as WerkzeugResponse

from portal.config import Settings
from portal.context import client_mac, services

MAX_BODY_BYTES = 64 * 1024

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
"""On every response, the probe gate's included."""

CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE_SECONDS = 24 * 3600
"""A slow reader is never refused: a page's forms work for a day, the longest access."""


class FormExpired(BadRequest):
    """A POST whose anti-forgery token is missing, forged, another device's or too old."""


FormOwner = Callable[[], str]
"""Whose forms a token is for: the same string when the page is made and when it is sent."""


def visiting_device() -> str:
    """A guest's forms belong to the device (its pseudonym)."""
    mac = client_mac()
    return services().paths.device(mac) if mac else "unidentified"


def _signer() -> URLSafeTimedSerializer:
    owner: FormOwner = current_app.extensions["form_owner"]
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=f"form {owner()}")


def csrf_token() -> str:
    """The token for this device's forms (a template global)."""
    return str(_signer().dumps(1))


def check_csrf() -> None:
    try:
        _signer().loads(request.form.get(CSRF_FIELD, ""), max_age=CSRF_MAX_AGE_SECONDS)
    except BadData:
        raise FormExpired() from None


def init_app(app: Flask, settings: Settings) -> None:
    """The guest portal's protections."""
    # Nothing keeps a session (the language and a lesson's trail travel in its links):
    # Flask sets no cookie. Were one ever set, it would stay out of scripts' and other
    # sites' reach, and off plain HTTP once the portal has HTTPS (the Wi-Fi is open).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.serves_https
    if settings.serves_https:  # before the CSRF check: a plain form is sent on, not refused
        _send_plain_requests_to_https(app, settings.public_url)
    protect(app, visiting_device)


def protect(app: Flask, form_owner: FormOwner) -> None:
    """What every app of the portal has: the body caps, the CSRF check on every POST (its
    tokens for `form_owner`) and the security headers."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.extensions["form_owner"] = form_owner
    app.add_template_global(csrf_token)

    @app.before_request
    def forms_come_from_our_pages() -> None:
        # An address no view answers is a 404 or a 405 page, not a refused form.
        if request.method == "POST" and request.routing_exception is None:
            check_csrf()

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        for name, value in SECURITY_HEADERS:
            # A view may set its own policy (the SVG pictograms do).
            if name not in headers:
                headers[name] = value
        if "Cache-Control" not in headers and not request.path.startswith("/static/"):
            # Captive pages change as access changes: never serve them from a cache.
            headers["Cache-Control"] = "no-store"
        return response


def _send_plain_requests_to_https(app: Flask, https_url: str) -> None:
    """A page asked for over plain HTTP is sent to the same path on the portal's HTTPS
    name (from configuration, never from the request); a form is sent on with its method
    (307). Probes never get here: other hosts are answered by the probe gate."""

    @app.before_request
    def to_https() -> WerkzeugResponse | None:
        if request.scheme == "https":
            return None
        target = https_url.removesuffix("/") + quote(request.path, safe="/")
        if request.args:
            target += "?" + urlencode(list(request.args.items(multi=True)))
        response = redirect(target, 302 if request.method in ("GET", "HEAD") else 307)
        response.headers["Cache-Control"] = "no-store"
        return response
