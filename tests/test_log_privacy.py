"""Log lines carry no guest address, MAC or request text: gunicorn's and the portal's own."""

from __future__ import annotations

import logging
import sys

import pytest
from flask.testing import FlaskClient
from gunicorn.config import Config

from portal.context import Services
from portal.log_privacy import GUEST_PRIVACY, PrivateLogger
from tests.conftest import PHONE_IP, PHONE_MAC

MARKER = "SECRET-PATH-1234"
"""Request text a guest sent."""
SUPERSCRIPT = "\u00b2"
"""An answer "²": int() quotes it in its message."""


def rewritten(msg: str, *args: object, error: BaseException | None = None) -> str:
    """A record through GUEST_PRIVACY, formatted as a log handler would."""
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    record = logging.LogRecord("gunicorn.error", logging.DEBUG, __file__, 1, msg, args, exc_info)
    assert GUEST_PRIVACY.filter(record) is True
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        (
            f"Invalid request from ip={PHONE_IP}: Invalid HTTP Header: 'X-{MARKER}'",
            (),
            "refused a malformed request: Invalid HTTP Header",
        ),
        (
            f"Invalid request from ip={PHONE_IP}: Request Line is too large (8192 > 4094)",
            (),
            "refused a malformed request: Request Line is too large",
        ),
        (
            f"Invalid request from ip={PHONE_IP}: a future kind of error: {MARKER}",
            (),
            "refused a malformed request",
        ),
        ("%s %s", ("GET", f"/{MARKER}"), "request received"),
        ("Error handling request %s %s", ("GET", f"/{MARKER}"), "error while handling a request"),
        (
            "Ignored premature client disconnection. %s",
            (f"No more data after: b'GET /{MARKER}'",),
            "a client went away in the middle of a request",
        ),
        (
            "a line nobody foresaw from %s: %r",
            (PHONE_IP, MARKER),
            "a line nobody foresaw from [address]: '…'",
        ),
        ("device %s seen", (PHONE_MAC,), "device [MAC] seen"),
        ("peer [%s]:%d", ("fe80::1", 80), "peer [[address]]:80"),
        (
            "Listening at: %s (%s)",
            ("http://10.42.0.1:80", 12),
            "Listening at: http://10.42.0.1:80 (12)",
        ),
        ("Booting worker with pid: %s", (4242,), "Booting worker with pid: 4242"),
        ("idle since 12:30:00", (), "idle since 12:30:00"),
        ("arguments that do not fit %d from %s", ("x",), "arguments that do not fit %d from %s"),
        ("granted %s.", (PHONE_MAC,), "granted [MAC]."),
        ("%s: refused", (PHONE_MAC,), "[MAC]: refused"),
        ("from %s:51234 x", (PHONE_IP,), "from [address]:51234 x"),
        ("mac %s y", (PHONE_MAC.replace(":", "-"),), "mac [MAC] y"),
        ("%(a)s from 10.42.0.9", ({"b": 1},), "%(a)s from [address]"),
    ],
)
def test_server_lines_lose_guest_addresses_and_request_text(
    msg: str, args: tuple[object, ...], expected: str
) -> None:
    assert rewritten(msg, *args) == expected


def test_a_message_whose_text_cannot_be_made_is_written_not_raised() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError(MARKER)

    assert rewritten(Broken()) == "a log message that could not be written"  # type: ignore[arg-type]
    assert rewritten("value %s", Broken()) == "value %s"


def test_a_traceback_keeps_types_and_places_but_no_message() -> None:
    def read_answer(text: str) -> int:
        try:
            return int(text)
        except ValueError as error:
            raise RuntimeError(f"answer {text!r} from {PHONE_IP} at {MARKER}") from error

    try:
        read_answer(SUPERSCRIPT)
    except RuntimeError as error:
        text = rewritten("Error handling request %s", f"/{MARKER}", error=error)
    assert text.startswith("error while handling a request\nTraceback (most recent call last):")
    assert "ValueError (message withheld: it may quote a request)" in text
    assert "RuntimeError (message withheld: it may quote a request)" in text
    assert "test_a_traceback_keeps_types_and_places_but_no_message" in text
    assert "in read_answer" in text
    assert MARKER not in text and PHONE_IP not in text and SUPERSCRIPT not in text


def test_the_private_logger_writes_no_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    config = Config()
    config.set("accesslog", "-")
    logger = PrivateLogger(config)
    logger.access(None, None, {"REMOTE_ADDR": PHONE_IP}, None)
    sys.stdout.flush()
    assert capsys.readouterr().out == ""


def test_an_unexpected_error_is_logged_without_its_message(
    client: FlaskClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    app = client.application
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode(mac: str) -> None:
        raise ValueError(f"invalid literal for int() with base 10: {MARKER!r} ({mac})")

    services.book.seconds_left = explode
    with caplog.at_level(logging.ERROR, logger="portal"):
        assert client.get(f"/?q={MARKER}").status_code == 500
    assert "unexpected error" in caplog.text
    assert "ValueError (message withheld: it may quote a request)" in caplog.text
    assert "in explode" in caplog.text
    assert MARKER not in caplog.text
    assert PHONE_MAC not in caplog.text and PHONE_IP not in caplog.text
