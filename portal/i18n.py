"""Which language a visitor sees: ?lang=, then the one a returning device chose, then
Accept-Language, then the site's.

No cookie carries it: the iOS captive mini-browser keeps none across visits, and some
phones keep none at all. The language travels in every link and form instead (Flask's
URL defaults add `lang=` to every page's address), and a device that finished a lesson
finds its language again next to its learning path (portal/onboarding/path.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from flask import Flask, has_request_context, request
from flask_babel import (
    Babel,
    Domain,
    format_date,
    format_time,
    get_locale,
    ngettext,
    to_user_timezone,
)
from markupsafe import Markup

from portal.config import ConfigError, SiteSettings
from portal.context import client_mac, services
from portal.onboarding.lessons import Texts
from portal.phones import numbers_html, tel_href
from portal.resources import TRANSLATIONS, bundled
from portal.typography import typeset

RIGHT_TO_LEFT = frozenset({"ar", "fa", "prs", "he", "ur"})

NATIVE_NAMES = {
    "fr": "Français",
    "nl": "Nederlands",
    "de": "Deutsch",
    "en": "English",
    "ar": "العربية",
    "uk": "Українська",
    "tr": "Türkçe",
}


TIMEZONE = "Europe/Brussels"
"""The villagers' clock: every hotspot is in Wallonia (Babel's own default is UTC)."""


def _site() -> SiteSettings:
    return services().settings.site


NOT_PAGES = frozenset(
    {
        "static",
        "onboarding.pictogram",
        "guides.media",
        "speaker.clip",
        "speaker.answer_clip",
        "speaker.page_clip",
        "captive.captive_api",
    }
)
"""Endpoints that answer files or JSON, the same in every language: no `lang=` added."""


def select_locale() -> str:
    offered = _site().languages
    asked = request.args.get("lang", "").lower()  # "AR" typed by hand is Arabic too
    if asked in offered:
        return asked
    remembered = services().paths.language_of(client_mac())
    if remembered in offered:
        return str(remembered)
    best = request.accept_languages.best_match(offered)
    if best:
        return best
    return _site().default_language


def current_language() -> str:
    return str(get_locale() or _site().default_language)


def pick(texts: Texts) -> str:
    """A lesson's text in the visitor's language, else in the site's default language."""
    return texts.get(current_language()) or texts[_site().default_language]


def shown(text: str, language: str | None = None, *, links: bool = True) -> Markup:
    """A lesson's or a guide's text as a villager sees it: typeset for its language (the
    page's by default), escaped, its numbers left-to-right and its phone numbers one tap
    away (`links=False` inside a button or a link). Narration reads the lesson's own
    text, never this."""
    return numbers_html(typeset(text, language or current_language()), links=links)


class TypesetDomain(Domain):  # type: ignore[misc]  # flask_babel is untyped
    """The catalogs, typeset once per language when Flask-Babel first loads them: every
    translated string a page, a form or the poster shows gets portal.typography's rules,
    and no request pays for them again."""

    def get_translations(self) -> NullTranslations:
        key = (str(get_locale()), self.domain[0])
        fresh = key not in self.cache
        translations: NullTranslations = super().get_translations()
        if fresh and isinstance(translations, Translations):
            catalog = translations._catalog  # gettext's own table: it has no API
            for msgid, msgstr in catalog.items():
                if msgid and isinstance(msgstr, str):  # "" is the header
                    catalog[msgid] = typeset(msgstr, key[0])
        return translations


def clock_time(epoch: float) -> str:
    """A moment on the Belgian clock, "18:45", in every language: the 24-hour clock of the
    village's clocks, timetables and phones (English and Arabic would otherwise say
    "6:45 PM", "6:45 م")."""
    return str(format_time(datetime.fromtimestamp(epoch, UTC), "HH:mm"))


def clock_moment(epoch: float, now: float) -> str:
    """A past moment as clock_time says it, "08:00" when it was today; the day before it,
    "14 janvier 08:00", when it was not (a clock time alone would say today)."""
    then, today = (to_user_timezone(datetime.fromtimestamp(t, UTC)) for t in (epoch, now))
    if then.date() == today.date():
        return clock_time(epoch)
    return f"{format_date(then, 'd MMMM')} {clock_time(epoch)}"


def duration(minutes: int) -> str:
    """A length of time in words, plural right in every language: whole hours in hours
    ("4 hours"), anything else in minutes ("90 minutes": easier than "1 h 30 min")."""
    if minutes % 60 == 0:
        return str(ngettext("%(num)d hour", "%(num)d hours", minutes // 60))
    return str(ngettext("%(num)d minute", "%(num)d minutes", minutes))


def text_direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def check_catalogs(site: SiteSettings) -> Path:
    """The compiled catalogs' folder; ConfigError naming a configured language without one.

    Flask-Babel would quietly show the English source text under `lang="fr"`;
    a hotspot must rather refuse to start.
    """
    folder = bundled(*TRANSLATIONS)
    for language in site.languages:
        if not (folder / language / "LC_MESSAGES" / "messages.mo").is_file():
            raise ConfigError(
                "site.languages",
                f"{language!r} has no compiled translation catalog in {folder} "
                "(reinstall the package; in a checkout run `make i18n`)",
            )
    return folder


PORTAL_CATALOGS = TypesetDomain()
"""The bundled catalogs as the guest portal and the admin pages show them: loaded and typeset
once per process, whichever of the two apps a worker serves asks first."""


def init_babel(app: Flask, domain: TypesetDomain | None = None, **options: Any) -> Babel:
    """Flask-Babel on `app` with typeset catalogs (`domain`'s, else a domain of its own): for
    the portal's pages and the poster."""
    babel = Babel(app, **options)
    babel.domain_instance = domain or TypesetDomain()
    return babel


def catalog_app(folder: Path, *, typeset: bool) -> Flask:
    """A Flask app for templates and the catalogs in `folder` only (no database, no secrets,
    no routes), outside the portal: the poster prints the typeset texts, the narration
    builder speaks the plain ones (no soft hyphen, no no-break space)."""
    app = Flask("portal")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(folder)
    if typeset:
        init_babel(app)
    else:
        Babel(app)
    return app


def init_app(app: Flask, site: SiteSettings) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(check_catalogs(site))
    app.config["BABEL_DEFAULT_TIMEZONE"] = TIMEZONE
    init_babel(app, PORTAL_CATALOGS, locale_selector=select_locale)
    app.add_template_filter(shown)
    app.add_template_global(tel_href)  # the help strip's link (base.html)
    app.add_template_global(text_direction)

    @app.url_defaults
    def language_in_every_link(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint not in NOT_PAGES and "lang" not in values and has_request_context():
            values["lang"] = current_language()

    @app.context_processor
    def language_context() -> dict[str, object]:
        language = current_language()
        return {
            "lang": language,
            "dir": text_direction(language),
            "languages": [(code, NATIVE_NAMES[code]) for code in _site().languages],
            "pick": pick,
        }
