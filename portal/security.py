"""Headers on every response, CSRF on every POST, the cap on request bodies, and HTTPS
for every portal page once a certificate is configured."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Flask, Response, redirect, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response as WerkzeugResponse

from portal.config import Settings

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

csrf = CSRFProtect()


def init_app(app: Flask, settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    # A token lives as long as the visit's session: a slow reader must not be refused.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    # On HTTPS Flask-WTF would also want a Referer from the same site, which
    # Referrer-Policy: no-referrer (below) never lets a browser send; the token in the
    # session (a Secure, SameSite cookie) is the check.
    app.config["WTF_CSRF_SSL_STRICT"] = False
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # The Wi-Fi is open: with HTTPS, the session never travels where others can read it.
    app.config["SESSION_COOKIE_SECURE"] = settings.serves_https
    if settings.serves_https:  # before the CSRF check: a plain form is sent on, not refused
        _send_plain_requests_to_https(app, settings.public_url)
    csrf.init_app(app)

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
