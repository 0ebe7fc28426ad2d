"""Numbers a visitor sends (path segments, form fields): plain ASCII digits, short, or nothing.

Python's `int()` takes Arabic-Indic and fullwidth digits, " 12 ", "+1" and "1_000",
and raises ValueError on "²" (which `str.isdigit()` accepts) or on more than
4,300 digits; Werkzeug's `<int:…>` matches any Unicode digit. Every number in a
request goes through `visitor_number` instead, so an Arabic-Indic one is not step 1 and "²" is
a 4xx page rather than a 500. The app's `int` route converter is replaced by
`VisitorNumberConverter` (`init_app`), so every `<int:…>` route gets the rule.
"""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.routing import BaseConverter, ValidationError

MAX_DIGITS = 6
"""Far more than any step, answer or page the portal has; keeps every parse tiny."""

_NUMBER = re.compile(rf"0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}}", re.ASCII)
"""One spelling per number: no sign, no space, no separator, no leading zero."""


def visitor_number(text: str) -> int | None:
    """The number `text` spells in plain ASCII digits, or None for anything else."""
    if _NUMBER.fullmatch(text) is None:
        return None
    return int(text)


class VisitorNumberConverter(BaseConverter):
    """`<int:…>` for the portal: a segment `visitor_number` refuses does not match (404)."""

    regex = "[0-9]+"  # ASCII: Werkzeug's own `\\d+` matches every script's digits

    def to_python(self, value: str) -> int:
        number = visitor_number(value)
        if number is None:
            raise ValidationError
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: its rules pick the converter when they are added."""
    app.url_map.converters["int"] = VisitorNumberConverter
