"""Where a villager finds a person who helps, from portal.toml, in the visitor's language.

Shown by the "human help" lesson and in every guide's help section; filled in
per request, so a volunteer's change to portal.toml shows without rebuilding.
"""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import gettext
from markupsafe import Markup, escape

from portal.config import HelpSettings, SiteSettings
from portal.config_values import NUMBER
from portal.phones import numbers_html, phone_link, tel_href


class HelpLine(NamedTuple):
    """The Walloon public services' free information line, in the help strip when
    portal.toml names no help place: what it dials, and its words."""

    href: str
    words: Markup


def help_line() -> HelpLine:
    """1718, or 1719 in German, with "(in French)" in every language but French and German:
    the catalogs say which, as they do for the lesson and the guides' help lines."""
    text = str(gettext("1718 (in French)"))
    found = NUMBER.search(text)
    number = found.group(0) if found else "1718"
    # Escaped, no <bdi>: the digits stand alone, and a short number reads left-to-right.
    return HelpLine(tel_href(number), escape(text))


def local_help_html(site: SiteSettings, help_: HelpSettings) -> Markup:
    """The help place's lines (name, address, hours, phone as a `tel:` link), escaped; or,
    with no place configured, the town hall and the federal information numbers."""
    if not help_.place:
        if site.commune:
            text = gettext(
                "Ask at the town hall of %(commune)s. "
                "Or call 1718 (in French) or 1719 (in German).",
                commune=site.commune,
            )
        else:
            text = gettext("Ask at your town hall. Or call 1718 (in French) or 1719 (in German).")
        return numbers_html(str(text))
    lines = [numbers_html(str(gettext("Ask at: %(place)s", place=help_.place)))]
    if help_.address:
        lines.append(numbers_html(help_.address))
    if help_.hours:
        lines.append(numbers_html(str(gettext("Open: %(hours)s", hours=help_.hours))))
    if help_.phone:
        call = phone_link(help_.phone)
        # The translated label is escaped first; the link, already Markup, goes in as it is.
        lines.append(escape(str(gettext("Phone: %(number)s"))) % {"number": call})
    return Markup("<br>").join(lines)
