"""What a log line may hold: never a guest's address, MAC or request text, at any level.

Gunicorn writes "Invalid request from ip=…: Invalid HTTP Header: '…'" for every
malformed request, the request line at debug level, and the bytes a client left
behind when it went away; an exception's message can quote a form field. The
`GUEST_PRIVACY` filter rewrites such records where they are made: known
per-request lines become a fixed sentence ("refused a malformed request: Invalid
HTTP Header"), any other line has addresses, MACs and quoted text masked, and a
traceback keeps its exception types and code locations but not their messages.
`PrivateLogger` is the gunicorn logger class that applies it and writes no access
log; portal.errors applies it to the app's own loggers.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import traceback
from types import TracebackType
from typing import Any

from gunicorn.glogging import Logger

from portal.gatekeeper.protocol import MAC_TEXT

MALFORMED = "Invalid request from ip="
"""How gunicorn's worker starts its line about a request it could not parse."""
MALFORMED_LINE = "refused a malformed request"

GUNICORN_PARSE_ERRORS = (
    "Invalid HTTP request line",
    "Invalid HTTP method",
    "Invalid HTTP Version",
    "Invalid HTTP Header",
    "Invalid HTTP header name",
    "Obsolete line folding is unacceptable",
    "Unsupported transfer coding",
    "Invalid chunk size",
    "Invalid chunk terminator",
    "Invalid chunk extension",
    "Request Line is too large",
    "limit request headers fields",
    "limit request headers fields size",
    "limit request trailer section size",
    "max buffer headers",
    "Unable to comply with expectation",
    "Invalid PROXY line",
    "Invalid PROXY header",
    "Contradictory scheme headers",
    "Expected HTTP/2 connection preface",
)
"""The fixed first words of gunicorn.http.errors' messages; what follows quotes the request."""

REQUEST_LINES = {
    "Error handling request": "error while handling a request",
    "Ignored premature client disconnection": "a client went away in the middle of a request",
    "Closing connection": "closing a connection",
    "%s %s": "request received",  # gunicorn's default pre_request hook: method and path
    "WSGI app sent body bytes on a no-body response": "dropped the body of a no-body response",
    "HTTP/2 ": "HTTP/2 connection problem",
    "Exception on ": "unexpected error while answering a request",  # Flask's log_exception
}
"""Templates of lines made while answering one request (their arguments are the request's)."""

SERVER_LINES = ("Listening at: ",)
"""Lines that name the server's own configured address: left as they are."""

_QUOTED = re.compile(r"""b?'[^']*'|b?"[^"]*\"""")
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f.:-]*[.:-][0-9A-Fa-f.:-]+")


def _mask_address(match: re.Match[str]) -> str:
    text = match.group(0)
    # "from 10.42.0.23: …" ends a sentence; "10.42.0.23:51234" carries a port.
    for candidate in (text, text.rstrip(":."), text.rpartition(":")[0].rstrip(":.")):
        if MAC_TEXT.fullmatch(candidate.replace("-", ":")):
            return "[MAC]" + text[len(candidate) :]
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            continue
        return "[address]" + text[len(candidate) :]
    return text


def masked(text: str) -> str:
    """`text` with IP addresses, MACs and quoted strings replaced."""
    return _ADDRESS_LIKE.sub(_mask_address, _QUOTED.sub("'…'", text))


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def exception_outline(error: BaseException) -> str:
    """A traceback without messages: each exception's type and where it was raised.

    The message of an exception may quote what a guest sent ("invalid literal
    for int() with base 10: '²'"); its type and the code locations are enough
    to start looking.
    """
    blocks = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        blocks.append(
            f"Traceback (most recent call last):\n{frames}{type(current).__qualname__}"
            " (message withheld: it may quote a request)"
        )
        current = current.__cause__ or current.__context__
    return "\n\nwhile handling that, or caused by:\n".join(reversed(blocks))


class GuestPrivacy(logging.Filter):
    """Rewrites a record so that it carries nothing a guest sent and no guest's address."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            template = str(record.msg)
        except Exception:  # a message object whose str() fails: say so, never raise
            template = "a log message that could not be written"
        line = self._request_line(record, template)
        if line is not None:
            record.msg, record.args = line, ()
        elif not template.startswith(SERVER_LINES):
            try:
                text = record.getMessage()
            except Exception:  # arguments that do not fit: the template alone
                text = template
            record.msg, record.args = masked(text), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = exception_outline(record.exc_info[1])
            record.exc_info = None
        return True

    @staticmethod
    def _request_line(record: logging.LogRecord, template: str) -> str | None:
        if template.startswith(MALFORMED):
            error = template.partition(": ")[2]
            kind = next((k for k in GUNICORN_PARSE_ERRORS if error.startswith(k)), None)
            return f"{MALFORMED_LINE}: {kind}" if kind else MALFORMED_LINE
        for prefix, line in REQUEST_LINES.items():
            if template.startswith(prefix):
                return line
        return None


GUEST_PRIVACY = GuestPrivacy()

WSGI_LOGGER = "gunicorn.http.wsgi"
"""Gunicorn's module logger for responses; it does not go through the logger class."""


class PrivateLogger(Logger):  # type: ignore[misc]
    """Gunicorn's logger (`logger_class`) with GUEST_PRIVACY on, and no access log ever:
    an access line is a guest's address, request line and user agent."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(GUEST_PRIVACY)
        logging.getLogger(WSGI_LOGGER).addFilter(GUEST_PRIVACY)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Never written, whatever `accesslog` a gunicorn config file sets."""
