"""Every failure becomes a page in the visitor's language: never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from portal.access.firewall import FirewallError
from portal.datadir import disk_full
from portal.log_privacy import GUEST_PRIVACY
from portal.security import FormExpired

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("Something went wrong with this page. Please try again."),
    403: _l("This page is not for visitors."),
    404: _l("We cannot find this page."),
    405: _l("This page cannot be used like that."),
    413: _l("What you sent is too big."),
    500: _l("Sorry, something broke on our side. Please try again."),
    503: _l("We cannot open the Internet right now. Please try again in one minute."),
}
EXPIRED_FORM = _l("This page was open too long. Please try again.")
DISK_FULL = _l("The memory card of the hotspot is full. Please try again later.")


def error_page(
    status: int, message: object | None = None, retry: str | None = None
) -> tuple[str, int]:
    fallback = MESSAGES[500] if status >= 500 else MESSAGES[400]
    text = message if message is not None else MESSAGES.get(status, fallback)
    page = render_template("error.html", status=status, message=text, retry=retry)
    return page, status


def _page_of_form() -> str | None:
    """The page a refused form was on (the same address, asked for again), if there is one:
    it comes back with a fresh token."""
    try:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        endpoint, values = adapter.match(request.path, method="GET")
    except (NotFound, MethodNotAllowed):
        return None
    return url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    # A traceback keeps its types and code locations, never a message quoting a request;
    # app.logger is Flask's own, for an error in an error handler ("Exception on /path").
    log.addFilter(GUEST_PRIVACY)
    app.logger.addFilter(GUEST_PRIVACY)

    @app.errorhandler(FormExpired)
    def expired_form(error: FormExpired) -> tuple[str, int]:
        return error_page(400, EXPIRED_FORM, retry=_page_of_form())

    @app.errorhandler(FirewallError)
    def firewall_down(error: FirewallError) -> tuple[str, int]:
        log.error("firewall refused a change: %s", error)
        return error_page(503)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return error_page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        if isinstance(error, HTTPException):
            return http_error(error)
        if disk_full(error):
            # Expected until a volunteer frees room: one line, no traceback at every request.
            log.error("the data directory's disk is full: %s", type(error).__name__)
            return error_page(503, DISK_FULL)
        log.exception("unexpected error", exc_info=error)
        return error_page(InternalServerError.code)
