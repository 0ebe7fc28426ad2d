"""create_admin_app(settings): the admin pages, a Flask app of their own, served only on
network.admin_port (portal/listeners.py routes by listener).

Deny by default, as SecureDrop's journalist interface does: every view needs a signed-in
account whose role its blueprint names (`serve`), but the few in PUBLIC_ENDPOINTS (the
sign-in page and its stylesheet). A blueprint served without a role answers nobody.
A signed-in account below a page's role gets 403 and "Your account cannot open this page":
it knows the page exists (the admin pages are no secret to those who may sign in), and a
404 would send a commune's officer looking for a broken link.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal import db, i18n, security
from portal.admin.accounts import take_first_account
from portal.admin.throttle import LoginThrottle
from portal.config import Settings
from portal.log_privacy import GUEST_PRIVACY
from portal.models import ROLES, Account
from portal.netconfig.systemd import BOOT_PARTITION
from portal.sitekeys import SiteKeys
from portal.uplink import UplinkStatus, state_path
from portal.wallclock import CLOCK_STEP_SECONDS

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/admin"
SESSION_COOKIE = "passerelle_admin"
"""The admin session's cookie: guests get none at all (portal/security.py)."""
SESSION_SECONDS = 12 * 3600
"""A sign-in lasts a working day at most, whatever the browser keeps."""
PUBLIC_ENDPOINTS = frozenset({"admin.login", "static", "front_door"})
"""The only admin views anybody may open without signing in: the sign-in page, its
stylesheet, and the port's "/", which only sends the browser on to /admin/."""
DOCTOR_REPORT = BOOT_PARTITION / "portal-doctor.txt"
"""What portal-report.timer's `portal doctor --write` left (portal/doctor)."""

MESSAGES = {
    400: _l("Something went wrong with this page. Please try again."),
    403: _l("Your account cannot open this page."),
    404: _l("We cannot find this page."),
    405: _l("This page cannot be used like that."),
    413: _l("What you sent is too big."),
    507: _l("The memory card of the hotspot is too full for this."),
}
EXPIRED_FORM = _l("This page was open too long. Please try again.")
BROKEN = _l("Sorry, something broke on our side. Please try again.")


@dataclass(frozen=True)
class AdminServices:
    settings: Settings
    throttle: LoginThrottle
    clock: Callable[[], float]
    uplink: UplinkStatus
    doctor_report: Path
    roles: dict[str, str]
    """Blueprint name → the least role that may open its views (`serve`)."""
    body_limits: dict[str, Callable[[], int]]
    """Endpoint → the largest body it takes, once its account is signed in
    (`allow_large_body`); every other request's stays under portal/security.py's cap."""


def admin_services() -> AdminServices:
    found: AdminServices = current_app.extensions["passerelle-admin"]
    return found


def allows(role: str, needed: str) -> bool:
    """Whether `role` may open what `needed` may: each role may do all that those before
    it in ROLES may."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def serve(app: Flask, blueprint: Blueprint, role: str) -> None:
    """Serve `blueprint`'s views under /admin to accounts of `role` or above: the one line
    another part of the portal needs (the statistics: `serve(app, stats, "commune")`)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    app.register_blueprint(blueprint, url_prefix=ADMIN_PREFIX + (blueprint.url_prefix or ""))
    admin_services_of(app).roles[blueprint.name] = role


def allow_large_body(app: Flask, endpoint: str, limit: Callable[[], int]) -> None:
    """Let `endpoint` (a form with a file) take a body of up to `limit()` bytes, checked
    before its form is read: only for an account its blueprint's role allows."""
    admin_services_of(app).body_limits[endpoint] = limit


def admin_services_of(app: Flask) -> AdminServices:
    found: AdminServices = app.extensions["passerelle-admin"]
    return found


def signed_in() -> Account | None:
    """The account this browser signed in to, if its session is still good."""
    name = session.get("account")
    if not isinstance(name, str):
        return None
    started = session.get("at")
    if not isinstance(started, int):
        return None
    # Begun "in the future", the clock stepped back since: ended, not lengthened by the step.
    if not -CLOCK_STEP_SECONDS < admin_services().clock() - started <= SESSION_SECONDS:
        return None
    account = Account.get_or_none(Account.name == name)
    key = session.get("key")
    if account is None or not isinstance(key, str):
        return None
    return account if hmac.compare_digest(str(account.session_key), key) else None


def session_forms() -> str:
    """Admin forms belong to the browser's session (a random nonce in its cookie)."""
    if "nonce" not in session:
        session["nonce"] = secrets.token_hex(16)
    return f"admin {session['nonce']}"


def admin_locale() -> str:
    """?lang=, then the browser's languages, then the site's: a desk's browser keeps cookies,
    but its language is already the person's."""
    site = admin_services().settings.site
    asked = request.args.get("lang", "").lower()
    if asked in site.languages:
        return asked
    return request.accept_languages.best_match(site.languages) or site.default_language


def create_admin_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    doctor_report: Path = DOCTOR_REPORT,
) -> Flask:
    """Build the admin app; the account the boot step handed over is filed now."""
    from portal.admin.packs import UploadRequest, packs, upload_limit
    from portal.admin.views import pages, status_pages
    from portal.stats.views import stats

    app = Flask("portal", static_folder="static/admin", static_url_path=f"{ADMIN_PREFIX}/static")
    app.request_class = UploadRequest
    keys = SiteKeys.load_or_create(settings.data_dir)
    # Its own secret: nothing signed for guests is worth anything here, nor the reverse.
    app.config["SECRET_KEY"] = hmac.new(keys.flask_secret, b"admin", hashlib.sha256).digest()
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_PATH=ADMIN_PREFIX,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # With [tls] the admin port speaks HTTPS too (portal/serving.py).
        SESSION_COOKIE_SECURE=settings.serves_https,
        BABEL_TRANSLATION_DIRECTORIES=str(i18n.check_catalogs(settings.site)),
        BABEL_DEFAULT_TIMEZONE=i18n.TIMEZONE,
    )
    db.init_app(app, settings.data_dir)
    taken = take_first_account(settings.data_dir)
    if taken:
        log.info("admin account %s is ready: its password is kept only as a hash", taken)
    i18n.init_babel(app, i18n.PORTAL_CATALOGS, locale_selector=admin_locale)
    app.extensions["passerelle-admin"] = AdminServices(
        settings=settings,
        throttle=LoginThrottle(keys.site_key, clock),
        clock=clock,
        uplink=UplinkStatus(state_path(settings), clock),
        doctor_report=doctor_report,
        roles={},
        body_limits={},
    )
    wifi_side = None if settings.wifi_network.is_loopback else settings.wifi_network

    @app.before_request
    def deny_by_default() -> Response | None:
        if wifi_side is not None and _source_in(wifi_side):
            abort(404)  # the ruleset drops it first: this is the second lock
        if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
            return None  # a 404 or 405 page, or a public view
        account = signed_in()
        if account is None:
            return redirect(url_for("admin.login", next=request.path))
        needed = admin_services().roles.get(request.blueprint or "")
        if needed is None or not allows(str(account.role), needed):
            abort(403)
        g.account = account
        if limit := admin_services().body_limits.get(request.endpoint or ""):
            request.max_content_length = limit()
        return None

    security.protect(app, session_forms)
    _errors(app)
    serve(app, pages, "commune")
    serve(app, status_pages, "volunteer")
    serve(app, stats, "commune")
    serve(app, packs, "volunteer")
    allow_large_body(app, "packs.install", upload_limit)
    app.add_url_rule("/", "front_door", lambda: redirect(url_for("admin.home")))

    @app.context_processor
    def admin_context() -> dict[str, object]:
        language = str(get_locale() or settings.site.default_language)
        return {
            "site_name": settings.site.name,
            "lang": language,
            "dir": i18n.text_direction(language),
            "account": g.get("account"),
            "allows": allows,
        }

    return app


def _source_in(network: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "") in network
    except ValueError:
        return False


def error_page(status: int, message: object) -> tuple[str, int]:
    """The admin side's error page, in the account's language: every refusal uses it."""
    from flask import render_template

    return render_template("admin/error.html", status=status, message=message), status


def _errors(app: Flask) -> None:
    log.addFilter(GUEST_PRIVACY)
    app.logger.addFilter(GUEST_PRIVACY)
    page = error_page

    @app.errorhandler(security.FormExpired)
    def expired_form(_error: security.FormExpired) -> tuple[str, int]:
        return page(400, EXPIRED_FORM)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return page(code, MESSAGES.get(code, BROKEN if code >= 500 else MESSAGES[400]))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unexpected error on an admin page", exc_info=error)
        return page(500, BROKEN)
