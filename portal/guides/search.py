"""Search over a pack's guides: SQLite FTS5 in the version folder, one table per language.

Accents are removed on both sides ("impots" finds "impôts") and every word is a
prefix ("pens" finds "pension"); Arabic is written in one form on both sides
(`search_form`: "الهويه" finds "هوية"). What a visitor types is never put in the
query as syntax: it is cut into words, each quoted. Search text is never
logged nor stored (privacy: DESIGN.md, "Statistics for communes").
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

from portal.guides.pack.names import language_problem

INDEX_NAME = "search.sqlite3"
MAX_QUERY_CHARS = 200
MAX_WORDS = 8
MAX_RESULTS = 20
TOKENIZER = "unicode61 remove_diacritics 2"
WEIGHTS = (0.0, 10.0, 5.0, 5.0, 1.0)
"""bm25 weight of guide_id, title, summary, tags, body: a word in the title counts most."""

# What unicode61 keeps as word characters: letters and digits (not "_").
_WORD = re.compile(r"[^\W_]+")


# --- Arabic: one written form for what is indexed and what is typed -------------------
# unicode61 cuts a word at every haraka (a mark, not a letter, to it) and keeps the
# alef forms, alef maksura and teh marbuta apart, while people write Arabic with or
# without them. Both sides are folded the way Lucene's ArabicNormalizer does: tashkeel
# and tatweel removed (بِطَاقَة, بطـاقة → بطاقة), alef with hamza or madda and alef wasla
# become a bare alef (إسعاف → اسعاف), alef maksura becomes yeh (مستشفى → مستشفي) and
# teh marbuta becomes heh (بطاقة → بطاقه). Heh, not the reverse: heh is what people
# type for a final teh marbuta, and the shape both share; the cost, a noun in teh
# marbuta meeting a word ending in the pronoun heh, is small in a library of guides.
# Arabic-Indic digits become the Western digits the guides use (١١٢ → 112).
_ARABIC_FOLDS = str.maketrans(
    {
        **dict.fromkeys(map(chr, range(0x064B, 0x0660)), None),  # harakat, shadda, sukun, …
        "\N{ARABIC LETTER SUPERSCRIPT ALEF}": None,
        "\N{ARABIC TATWEEL}": None,
        **dict.fromkeys(
            "\N{ARABIC LETTER ALEF WITH HAMZA ABOVE}\N{ARABIC LETTER ALEF WITH HAMZA BELOW}"
            "\N{ARABIC LETTER ALEF WITH MADDA ABOVE}\N{ARABIC LETTER ALEF WASLA}",
            "\N{ARABIC LETTER ALEF}",
        ),
        "\N{ARABIC LETTER ALEF MAKSURA}": "\N{ARABIC LETTER YEH}",
        "\N{ARABIC LETTER TEH MARBUTA}": "\N{ARABIC LETTER HEH}",
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},  # ٠١٢٣٤٥٦٧٨٩
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},  # ۰۱۲۳۴۵۶۷۸۹
    }
)
# The definite article, alone or after waw, feh, beh or kaf, and lam-lam: البطاقة,
# بالبطاقة and بطاقة are the same word; so are وابحث and ابحث. Taken off on both
# sides, as Lucene's Arabic light stemmer does: the article when two letters or more
# are left (إلى stays), the conjunction waw when three are (وقت stays). A lone beh is
# left on: بطاقة would meet طاقة.
_PREFIX = re.compile(r"\b(?:(?:[وفبك]?ال|لل)(?=[^\W\d_]{2})|و(?=[^\W\d_]{3}))")


def search_form(text: str) -> str:
    """`text` as the index holds it: Arabic folded to one form; other scripts unchanged."""
    return _PREFIX.sub("", text.translate(_ARABIC_FOLDS))


class IndexEntry(NamedTuple):
    """One page as the index sees it."""

    guide_id: str
    language: str
    title: str
    summary: str
    tags: str
    body: str


class SearchHit(NamedTuple):
    guide_id: str
    title: str
    summary: str


def table_name(language: str) -> str:
    """The FTS table of one language; the code is checked before it enters SQL."""
    if language_problem(language) is not None:
        raise ValueError(f"not a language code: {language!r}")
    return f"pages_{language}"


def build_index(path: Path, languages: Sequence[str], entries: Iterable[IndexEntry]) -> None:
    """Write a fresh index at `path` (the version folder's search.sqlite3)."""
    with closing(sqlite3.connect(path)) as connection, connection:
        for language in languages:
            table = table_name(language)
            connection.execute(
                f"CREATE VIRTUAL TABLE {table} USING fts5("
                "guide_id UNINDEXED, title, summary, tags, body, "
                # The words as written, for the results (the indexed ones are folded).
                "shown_title UNINDEXED, shown_summary UNINDEXED, "
                f"tokenize = '{TOKENIZER}', prefix = '2 3')"
            )
        for entry in entries:
            connection.execute(
                f"INSERT INTO {table_name(entry.language)} "  # noqa: S608 — checked code
                "(guide_id, title, summary, tags, body, shown_title, shown_summary) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.guide_id,
                    *map(search_form, (entry.title, entry.summary, entry.tags, entry.body)),
                    entry.title,
                    entry.summary,
                ),
            )
        for language in languages:
            table = table_name(language)
            connection.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # noqa: S608


def words(text: str) -> list[str]:
    """The words of a visitor's query in their search form: letters and digits only,
    at most MAX_WORDS."""
    found = [word for word in _WORD.findall(search_form(text[:MAX_QUERY_CHARS])) if len(word) > 1]
    return list(dict.fromkeys(found))[:MAX_WORDS]


def fts_query(terms: Sequence[str], operator: str = "AND") -> str:
    """Each word as a quoted prefix: `"pens"* AND "mandat"*` (no FTS syntax gets through)."""
    # Words hold no quote (see _WORD), so quoting cannot be broken out of.
    return f" {operator} ".join(f'"{term}"*' for term in terms)


def search(folder: Path, language: str, text: str, limit: int = MAX_RESULTS) -> list[SearchHit]:
    """Best pages first (bm25); all words must match, else any of them does."""
    terms = words(text)
    if not terms:
        return []
    table = table_name(language)
    uri = (folder / INDEX_NAME).as_uri() + "?mode=ro&immutable=1"
    sql = (
        f"SELECT guide_id, shown_title, shown_summary FROM {table} "  # noqa: S608 — checked code
        f"WHERE {table} MATCH ? ORDER BY bm25({table}, {', '.join(map(str, WEIGHTS))}) "
        "LIMIT ?"
    )
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(sql, (fts_query(terms), limit)).fetchall()
            if not rows and len(terms) > 1:
                rows = connection.execute(sql, (fts_query(terms, "OR"), limit)).fetchall()
    except sqlite3.OperationalError:
        # No table for this language (an older pack), or the index gone from disk:
        # nothing found. The query text stays out of every log.
        return []
    return [SearchHit(*row) for row in rows]
