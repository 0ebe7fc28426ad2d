"""Search over a pack's guides: SQLite FTS5 in the version folder, one table per language.

Accents are removed on both sides ("impots" finds "impôts") and every word is a
prefix ("pens" finds "pension"). What a visitor types is never put in the
query as syntax: it is cut into words, each quoted. Search text is never
logged nor stored (privacy: DESIGN.md, "Statistics for communes").

Ranking: pages whose title, summary or tags hold every word (the guides *about*
it) come first, then pages that only mention it in their text; bm25 orders
each group. In a pack of a dozen guides a word such as "itsme" is in most
pages, where bm25's weight for it falls to almost nothing: the group, not the
score, keeps the itsme guide first.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
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
WEIGHTS = (0.0, 10.0, 5.0, 10.0, 1.0)
"""bm25 weight of guide_id, title, summary, tags, body: the title and the tags (the
writer's search words) count most, the body least."""
ABOUT_COLUMNS = "{title summary tags}"
"""The columns that say what a page is about (an FTS5 column filter)."""

# What unicode61 keeps as word characters: letters and digits (not "_").
_WORD = re.compile(r"[^\W_]+")


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
                f"tokenize = '{TOKENIZER}', prefix = '2 3')"
            )
        for entry in entries:
            connection.execute(
                f"INSERT INTO {table_name(entry.language)} "  # noqa: S608 — checked code
                "(guide_id, title, summary, tags, body) VALUES (?, ?, ?, ?, ?)",
                (entry.guide_id, entry.title, entry.summary, entry.tags, entry.body),
            )
        for language in languages:
            table = table_name(language)
            connection.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # noqa: S608


def words(text: str) -> list[str]:
    """The words of a visitor's query: letters and digits only, at most MAX_WORDS."""
    found = [word for word in _WORD.findall(text[:MAX_QUERY_CHARS]) if len(word) > 1]
    return list(dict.fromkeys(found))[:MAX_WORDS]


def fold(word: str) -> str:
    """A query word as the index holds its words: lower-case, accents removed.

    What the tokenizer does to indexed text (unicode61 remove_diacritics 2), done
    in Python to look words up in the index's vocabulary (portal.guides.spelling).
    A language's own normalisation (e.g. Arabic letter forms) belongs here.
    """
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fts_query(terms: Sequence[str], operator: str = "AND") -> str:
    """Each word as a quoted prefix: `"pens"* AND "mandat"*` (no FTS syntax gets through)."""
    # Words hold no quote (see _WORD), so quoting cannot be broken out of.
    return f" {operator} ".join(f'"{term}"*' for term in terms)


def search(folder: Path, language: str, text: str, limit: int = MAX_RESULTS) -> list[SearchHit]:
    """Best pages first (see the module's docstring); all words must match, else any does."""
    terms = words(text)
    if not terms:
        return []
    table = table_name(language)
    uri = (folder / INDEX_NAME).as_uri() + "?mode=ro&immutable=1"
    sql = (
        f"SELECT guide_id, title, summary FROM {table} "  # noqa: S608 — checked code
        f"WHERE {table} MATCH ? "
        f"ORDER BY rowid NOT IN (SELECT rowid FROM {table} WHERE {table} MATCH ?), "
        f"bm25({table}, {', '.join(map(str, WEIGHTS))}) LIMIT ?"
    )

    def ranked(connection: sqlite3.Connection, operator: str) -> list[tuple[str, str, str]]:
        match = fts_query(terms, operator)
        about = f"{ABOUT_COLUMNS} : ({match})"
        return connection.execute(sql, (match, about, limit)).fetchall()

    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = ranked(connection, "AND")
            if not rows and len(terms) > 1:
                rows = ranked(connection, "OR")
    except sqlite3.OperationalError:
        # No table for this language (an older pack), or the index gone from disk:
        # nothing found. The query text stays out of every log.
        return []
    return [SearchHit(*row) for row in rows]
