"""Which language a visitor sees: ?lang=, then the session, then Accept-Language, then the site's.

The iOS captive mini-browser keeps no cookies across visits, so every visit
starts from Accept-Language and the language picker is always one tap away.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request, session
from flask_babel import Babel, get_locale
from markupsafe import Markup, escape

Texts = dict[str, str]
"""One sentence in several languages: language code → text."""

RIGHT_TO_LEFT = frozenset({"ar", "fa", "prs", "he", "ur"})

NATIVE_NAMES = {
    "fr": "Français",
    "nl": "Nederlands",
    "de": "Deutsch",
    "en": "English",
    "ar": "العربية",
}


def offered_languages() -> tuple[str, ...]:
    languages: tuple[str, ...] = current_app.config["PORTAL_SETTINGS"].site.languages
    return languages


def select_locale() -> str:
    offered = offered_languages()
    asked = request.args.get("lang", "")
    if asked in offered:
        if session.get("lang") != asked:
            session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in offered:
        return str(remembered)
    best = request.accept_languages.best_match(offered)
    if best:
        return best
    default: str = current_app.config["PORTAL_SETTINGS"].site.default_language
    return default


def current_language() -> str:
    return str(get_locale() or current_app.config["PORTAL_SETTINGS"].site.default_language)


def pick(texts: Texts) -> str:
    """A lesson's text in the visitor's language, else in the site's default language."""
    default: str = current_app.config["PORTAL_SETTINGS"].site.default_language
    return texts.get(current_language()) or texts[default]


_NUMBER = re.compile(r"\+?\d(?:[\d ./-]*\d)?")


def ltr_numbers(text: str) -> Markup:
    """Phone numbers and other digit runs kept left-to-right inside right-to-left text."""
    parts = []
    last = 0
    for match in _NUMBER.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<bdi dir="ltr">%s</bdi>') % match.group(0))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def text_direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale)
    app.add_template_filter(ltr_numbers)
    app.add_template_global(text_direction)

    @app.context_processor
    def language_context() -> dict[str, object]:
        language = current_language()
        return {
            "lang": language,
            "dir": text_direction(language),
            "languages": [(code, NATIVE_NAMES[code]) for code in offered_languages()],
            "pick": pick,
        }
