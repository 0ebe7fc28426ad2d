"""Every failure becomes a page in the visitor's language: never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.access.firewall import FirewallError
from portal.log_privacy import GUEST_PRIVACY

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
EXPIRED_FORM = _l("This page was open too long. Please go back and try again.")


def error_page(status: int, message: object | None = None) -> tuple[str, int]:
    fallback = MESSAGES[500] if status >= 500 else MESSAGES[400]
    text = message if message is not None else MESSAGES.get(status, fallback)
    return render_template("error.html", status=status, message=text), status


def init_app(app: Flask) -> None:
    # A traceback keeps its types and code locations, never a message quoting a request;
    # app.logger is Flask's own, for an error in an error handler ("Exception on /path").
    log.addFilter(GUEST_PRIVACY)
    app.logger.addFilter(GUEST_PRIVACY)

    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError) -> tuple[str, int]:
        return error_page(400, EXPIRED_FORM)

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
        log.exception("unexpected error", exc_info=error)
        return error_page(InternalServerError.code)
