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

A web worker never loads a dictionary: the German one alone takes 18 MB and two seconds,
more than the Pi's memory budget allows each process. The words of the catalogs and the
lessons are hyphenated once, by `python -m portal.typography` (run by `make i18n-extract`),
into a small table per language beside its catalog; a guide pack's pages are hyphenated
with the full dictionary while they are installed, and the dictionary is let go after.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from portal.resources import LESSONS, TRANSLATIONS, bundled

NON_BREAKING_HYPHEN = "\u2011"
NARROW_NO_BREAK_SPACE = "\u202f"
SOFT_HYPHEN = "\u00ad"

MIN_HYPHENATED = 12
"""Letters in the shortest word that gets soft hyphens: shorter ones fit on a phone's line
(and in an answer button), and Easy-to-Read text keeps words whole wherever it can."""

NOT_HYPHENATED = frozenset({"ar"})
"""Right-to-left Arabic script is not broken with a hyphen."""

TABLE_NAME = "hyphenation.txt"
"""The table beside a language's catalog: one hyphenated word a line, "-" at each break."""

Hyphenate = Callable[[str], str]
"""A long word → the same word with soft hyphens where it may break."""

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


def _whole(word: str) -> str:
    return word


def dictionary(language: str) -> Hyphenate:
    """pyphen's hyphenation for `language`, its dictionary loaded now and kept only as long
    as the returned function is (for a pack's install, or to build the tables)."""
    import pyphen  # here: a web worker, which never hyphenates with it, need not import it

    name = None if language in NOT_HYPHENATED else pyphen.language_fallback(language)
    if name is None:
        return _whole
    inserted = pyphen.Pyphen(lang=name, left=3, right=3).inserted
    # pyphen keeps every dictionary it loads for good; this one goes with `inserted`.
    pyphen.hdcache.pop(pyphen.LANGUAGES[name], None)
    return lambda word: inserted(word, SOFT_HYPHEN)


@cache
def table(language: str) -> Hyphenate:
    """The hyphenation of the catalogs' and lessons' words in `language`, from its table;
    a word the table lacks stays whole."""
    path = bundled(*TRANSLATIONS, language, "LC_MESSAGES", TABLE_NAME)
    try:
        lines = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return _whole
    words = {line.replace("-", ""): line.replace("-", SOFT_HYPHEN) for line in lines}
    return lambda word: words.get(word, word)


@lru_cache(maxsize=4096)
def typeset(text: str, language: str) -> str:
    """`text` (plain text, not HTML) with the typography of `language`, hyphenated from the
    language's table (the catalogs' and lessons' words)."""
    return typeset_with(text, language, table(language))


def typeset_with(text: str, language: str, hyphenate: Hyphenate) -> str:
    """`text` with the typography of `language`; web addresses, e-mail addresses, catalog
    placeholders and anything holding a digit left as they are."""
    parts = []
    last = 0
    for match in _UNTOUCHED.finditer(text):
        parts.append(_words(text[last : match.start()], language, hyphenate))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_words(text[last:], language, hyphenate))
    return "".join(parts)


def _words(text: str, language: str, hyphenate: Hyphenate) -> str:
    text = _WIFI.sub(rf"\1{NON_BREAKING_HYPHEN}\2", text)
    if language == "fr":
        text = _FRENCH_BEFORE_SIGN.sub(NARROW_NO_BREAK_SPACE, text)
        text = _FRENCH_OPENING_QUOTE.sub("«" + NARROW_NO_BREAK_SPACE, text)
        text = _FRENCH_CLOSING_QUOTE.sub(NARROW_NO_BREAK_SPACE + "»", text)
    return _LONG_WORD.sub(lambda word: hyphenate(word.group(0)), text)


# The tables, built from the catalogs and the lessons


def _lesson_texts(node: Any, language: str) -> Iterator[str]:
    """Every text of `language` in a lesson.toml tree (a table with a key per language)."""
    if isinstance(node, dict):
        if isinstance(node.get(language), str):
            yield node[language]
        for value in node.values():
            yield from _lesson_texts(value, language)
    elif isinstance(node, list):
        for value in node:
            yield from _lesson_texts(value, language)


def _texts(language: str) -> Iterator[str]:
    """What the portal shows in `language` from its package: catalog and lesson texts."""
    from babel.messages.pofile import read_po  # here: only the table builder reads a .po

    with bundled(*TRANSLATIONS, language, "LC_MESSAGES", "messages.po").open("rb") as file:
        for message in read_po(file, locale=language):
            string = message.string  # a tuple for a plural's forms
            yield from (string,) if isinstance(string, str) else (string or ())
    for lesson in sorted(bundled(*LESSONS).glob("*/lesson.toml")):
        yield from _lesson_texts(tomllib.loads(lesson.read_text(encoding="utf-8")), language)


def table_text(language: str) -> str:
    """The table of `language` as it should be: each long word of its texts, hyphenated."""
    hyphenate = dictionary(language)
    words = {word for text in _texts(language) for word in _LONG_WORD.findall(text)}
    broken = sorted({hyphenate(word).replace(SOFT_HYPHEN, "-") for word in words} - words)
    return "".join(f"{line}\n" for line in broken)


def write_tables(translations: Path) -> list[Path]:
    """Write every catalog language's table; the files written."""
    written = []
    for catalog in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        target = catalog.with_name(TABLE_NAME)
        target.write_text(table_text(catalog.parent.parent.name), encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_tables(bundled(*TRANSLATIONS)):
        print(f"wrote {path}")
