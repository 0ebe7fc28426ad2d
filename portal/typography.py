"""Typography of what villagers read: words that never break in the wrong place.

One owner, applied where texts are shown: the catalogs (portal.i18n's domain typesets
every translation once, when its language is loaded), lesson texts (the `shown` filter)
and guide pages (portal.guides.render, at install). Narration, attribute values, web
addresses, numbers and phone links are never touched.

- "Wi-Fi" takes a non-breaking hyphen (U+2011): "Wi-" alone at a line's end is lost.
- French puts a narrow no-break space (U+202F) before : ; ! ? and inside « »: the sign
  never starts a line.
- Long words get soft hyphens (U+00AD) from pyphen's dictionaries: a phone's narrow screen
  with large letters breaks them at a syllable instead of overflowing. CSS
  `hyphens: auto` would need the browser's dictionaries, and Debian's Chromium has none.
  Arabic is not hyphenated (and pyphen has no dictionary for it, nor for Turkish).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import pyphen

NON_BREAKING_HYPHEN = "\u2011"
NARROW_NO_BREAK_SPACE = "\u202f"
SOFT_HYPHEN = "\u00ad"

MIN_HYPHENATED = 12
"""Letters in the shortest word that gets soft hyphens: shorter ones fit on any line of a
phone, and Easy-to-Read text keeps words whole wherever it can."""

NOT_HYPHENATED = frozenset({"ar"})
"""Right-to-left Arabic script is not broken with a hyphen."""

_UNTOUCHED = re.compile(
    r"(?:https?://|www\.)\S+"  # a web address, as typed
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|%\(\w+\)[sd]|%%"  # a catalog's placeholder: its name is a key, not a word
    r"|\S*\d\S*",  # a token with a number in it: a time, a date, a phone number, a code
    re.ASCII,
)
_WIFI = re.compile(r"\b(Wi)-(Fi)\b", re.IGNORECASE)
_FRENCH_BEFORE_SIGN = re.compile(r"[ \u00a0]+(?=[:;!?])")
_FRENCH_OPENING_QUOTE = re.compile(r"«[ \u00a0]*")
_FRENCH_CLOSING_QUOTE = re.compile(r"[ \u00a0]*»")
_LONG_WORD = re.compile(rf"[^\W\d_]{{{MIN_HYPHENATED},}}")


@cache
def _hyphenator(language: str) -> pyphen.Pyphen | None:
    """One dictionary per language, loaded once per process (the hot path never reloads)."""
    if language in NOT_HYPHENATED:
        return None
    dictionary = pyphen.language_fallback(language)
    return pyphen.Pyphen(lang=dictionary, left=3, right=3) if dictionary else None


@lru_cache(maxsize=4096)
def typeset(text: str, language: str) -> str:
    """`text` (plain text, not HTML) with the typography of `language`; web addresses,
    e-mail addresses, catalog placeholders and anything holding a digit left as they are."""
    parts = []
    last = 0
    for match in _UNTOUCHED.finditer(text):
        parts.append(_words(text[last : match.start()], language))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_words(text[last:], language))
    return "".join(parts)


def _words(text: str, language: str) -> str:
    text = _WIFI.sub(rf"\1{NON_BREAKING_HYPHEN}\2", text)
    if language == "fr":
        text = _FRENCH_BEFORE_SIGN.sub(NARROW_NO_BREAK_SPACE, text)
        text = _FRENCH_OPENING_QUOTE.sub("«" + NARROW_NO_BREAK_SPACE, text)
        text = _FRENCH_CLOSING_QUOTE.sub(NARROW_NO_BREAK_SPACE + "»", text)
    hyphenator = _hyphenator(language)
    if hyphenator is not None:
        inserted = hyphenator.inserted
        text = _LONG_WORD.sub(lambda word: inserted(word.group(0), SOFT_HYPHEN), text)
    return text
