""" "Did you mean …?": the nearest indexed words to the words a search did not know.

The vocabulary is the index's own (an fts5vocab table over one language's pages):
the words exactly as the search matches them, accents removed. A suggestion is one
of the words of the language's own script, shown as the guides write it ("Rente",
"impôts", "بطاقة": the index's shown_words, made with it). It is read once per pack
version and language (a version folder never changes), so a request only compares
words. The edit distance (optimal string alignment: a swap of two
letters, "pensoin", is one edit) comes from rapidfuzz, imported only when a word is
unknown: it holds about 4.6 MB, and a Pi Zero's worker has under 2 MB to spare.
"""

from __future__ import annotations

import functools
import sqlite3
from bisect import bisect_left
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from portal.guides.search import INDEX_NAME, SHOWN_WORDS, fold, table_name, written_words

MIN_LENGTH = 3
"""Shorter words are left as they are: one edit away from too many others."""


def allowed_edits(word: str) -> int:
    """How far a suggestion may be from a word: one edit up to 4 letters, else two.

    Three would turn "xylophone" into "telephone".
    """
    return 1 if len(word) <= 4 else 2


@dataclass(frozen=True)
class Vocabulary:
    """The words of one language's pages, sorted; the ones a suggestion may be, each with
    the number of pages it is on and the way the pages write it."""

    terms: tuple[str, ...]
    pages: dict[str, int]
    shown: dict[str, str]
    """The words a suggestion may be (the language's own script): indexed form → as written."""

    def knows(self, word: str) -> bool:
        """Whether the search can match `word` (folded): some indexed word starts with it."""
        at = bisect_left(self.terms, word)
        return at < len(self.terms) and self.terms[at].startswith(word)

    def nearest(self, word: str) -> str | None:
        """The indexed word fewest edits away from `word` (folded), on most pages; None if far."""
        if len(word) < MIN_LENGTH or any(char.isdigit() for char in word):
            # A number one digit off is another number (100 is not 101, the police).
            return None
        # Here, not at the top: most searches never need it (see the module's docstring).
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        found = process.extract(
            word,
            tuple(self.shown),
            scorer=OSA.distance,
            score_cutoff=allowed_edits(word),
            limit=None,
        )
        if not found:
            return None
        term, _, _ = min(found, key=lambda match: (match[1], -self.pages[match[0]], match[0]))
        return term


@functools.lru_cache(maxsize=16)
def load_vocabulary(folder: Path, language: str) -> Vocabulary:
    """The vocabulary of a resolved version folder's index, read once per language.

    sqlite3.Error (no index, no table for the language) is raised, never kept.
    """
    uri = (folder / INDEX_NAME).as_uri() + "?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        # In the connection's own temp schema: the index file is opened read-only.
        connection.execute(
            "CREATE VIRTUAL TABLE temp.vocabulary "
            f"USING fts5vocab(main, {table_name(language)}, 'row')"
        )
        rows: list[tuple[str, int, str | None]] = connection.execute(
            "SELECT vocabulary.term, doc, shown FROM temp.vocabulary "  # noqa: S608 — a constant
            f"LEFT JOIN {SHOWN_WORDS} ON language = ? AND {SHOWN_WORDS}.term = vocabulary.term "
            "ORDER BY vocabulary.term",
            (language,),
        ).fetchall()
    return Vocabulary(
        terms=tuple(term for term, _, _ in rows),
        pages={term: pages for term, pages, shown in rows if shown is not None},
        shown={term: shown for term, _, shown in rows if shown is not None},
    )


def suggest(folder: Path, language: str, text: str) -> str | None:
    """The query with each unknown word replaced by its nearest indexed word, as the guides
    write it.

    None when every word is known (the search matched them as typed) or none has a
    near word. Known words stay as typed; unknown words with no near word are left out.
    """
    typed = written_words(text)
    if not typed:
        return None
    try:
        vocabulary = load_vocabulary(folder, language)
    except sqlite3.Error:
        return None
    suggested: list[str] = []
    corrected = False
    for written, word in typed:
        if vocabulary.knows(fold(word)):
            suggested.append(written)
        elif (near := vocabulary.nearest(fold(word))) is not None:
            suggested.append(vocabulary.shown[near])
            corrected = True
    return " ".join(dict.fromkeys(suggested)) if corrected else None
