"""Phone numbers in what a villager reads: one tap calls them.

Every digit run is kept left-to-right (inside right-to-left text too); the ones that are
phone numbers also become a `tel:` link, so a person who needs help does not have to copy
a number. One owner for the rule: templates (the `shown` filter of portal.i18n), the
local-help lines and the guide pages (portal.guides.render) all call `numbers_html`.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from portal.config_values import NUMBER, dialled

SERVICE_NUMBERS = frozenset({"112", "101", "1718", "1719", "1733"})
"""Belgian short numbers the lessons and guides give: emergencies, police, the Walloon
information lines (French, German) and the doctor on call."""

SMS_ONLY = frozenset({"8112"})
"""The emergency number for deaf, hard-of-hearing or speech-impaired people takes text
messages only: a `tel:` link would open the dialler for a line nobody answers, so the link
opens a new text message (`sms:`, understood by Android and iOS) instead."""

_LONG_DIGITS = range(9, 16)
"""A full number as written in Belgium: 9 digits ("02 518 21 23", "078 170 170"), 10 for
a mobile; with "+" or "00" in front, up to the 15 of E.164 ("00800 2123 2123")."""

_NOT_BEFORE = re.compile(r"[\w.+/-]")
"""Glued to a word, a web address or another number: "www.112.be", "v1.101"."""

_NOT_AFTER = re.compile(r"\w|[.,/-]\w|\s?BE\b")
"""Glued to a word or an address ("112.be"), or the name of the official "112 BE" app."""


_DIGIT_RUN = re.compile(rf"{NUMBER.pattern}(?::[0-9]{{2}})*(?: BE\b)?")
"""A number as portal.config_values spells it, a clock time ("18:45") or the name of the
"112 BE" app: one isolate, so right-to-left text does not swap its hours and minutes, nor
show the app as "BE 112"."""


def phone_href(text: str, before: str = "", after: str = "") -> str | None:
    """The `tel:` (or `sms:`) address of `text`, a NUMBER match seen between `before` and
    `after`; None when it is no phone number (a year, a date, a postcode, a step, a time).

    A short number counts only when it is one of the service numbers and stands alone; a
    long one only when it starts as Belgian numbers do (0, 00 or +): "4520" (a postcode),
    "2026" and "02-12-2026" (8 digits) are not dialled.
    """
    if _NOT_BEFORE.fullmatch(before[-1:]) or _NOT_AFTER.match(after):
        return None
    digits = dialled(text)
    if text in SMS_ONLY:
        return f"sms:{digits}"
    if text in SERVICE_NUMBERS or (text[0] in "0+" and len(digits.lstrip("+")) in _LONG_DIGITS):
        return tel_href(text)
    return None


def tel_href(number: str) -> str:
    """The `tel:` address of a phone number as written: its digits, and a leading "+"."""
    return f"tel:{dialled(number)}"


def phone_link(number: str, href: str | None = None) -> Markup:
    """`number` as written, left-to-right, linked to `href` (by default its `tel:`)."""
    shown = Markup('<bdi dir="ltr">%s</bdi>') % number
    return Markup('<a href="%s">%s</a>') % (href or tel_href(number), shown)


def numbers_html(text: str, *, links: bool = True) -> Markup:
    """`text` escaped, its digit runs kept left-to-right, its phone numbers linked.

    `links=False` where a link cannot go: inside another link or a button (HTML forbids
    nesting them, and tapping an answer must answer, not dial).
    """
    parts = []
    last = 0
    for match in _DIGIT_RUN.finditer(text):
        start, end = match.span()
        parts.append(escape(text[last:start]))
        number = match.group(0)
        href = phone_href(number, text[start - 1 : start], text[end : end + 4]) if links else None
        parts.append(
            phone_link(number, href) if href else Markup('<bdi dir="ltr">%s</bdi>') % number
        )
        last = end
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
