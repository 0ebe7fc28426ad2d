"""Where a villager finds a person who helps, from portal.toml, in the visitor's language.

Shown by the "human help" lesson and in every guide's help section; filled in
per request, so a volunteer's change to portal.toml shows without rebuilding.
"""

from __future__ import annotations

from flask_babel import gettext

from portal.config import SiteSettings


def local_help_text(site: SiteSettings) -> str:
    """Where a person can help, from the site config, in the visitor's language."""
    if site.help_place:
        text = gettext("Ask at: %(place)s", place=site.help_place)
    elif site.commune:
        text = gettext(
            "Ask at the town hall of %(commune)s. Or call 1718 (in French) or 1719 (in German).",
            commune=site.commune,
        )
    else:
        text = gettext("Ask at your town hall. Or call 1718 (in French) or 1719 (in German).")
    return str(text)
