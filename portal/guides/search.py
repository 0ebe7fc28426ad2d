"""Search over a pack's guides: SQLite FTS5 in the version folder, one table per language.

Accents are removed on both sides ("impots" finds "impôts") and every word is a
prefix ("pens" finds "pension"); Arabic is written in one form on both sides
(`search_form`: "الهويه" finds "هوية"). What a visitor types is never put in the
query as syntax: it is cut into words, each quoted. Search text is never
logged nor stored (privacy: DESIGN.md, "Statistics for communes").

Ranking, for pages that match: first the pages holding the most words in their
title, summary or tags (the guides *about* them), then, when not every page
holds every word, the pages holding the most words anywhere; bm25 orders the
rest. Words on more than half the pages ("de", "vous") are not counted: they
tell nothing about a page, and bm25 gives them no weight either. In a pack of a
dozen guides even "itsme" is in most pages' text: the counts, not bm25, keep the
itsme guide first, and put the bank guide (tags "lost card", "bank card") before
My eBox (title "My eBox") for "i lost my bank card".
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections import Counter, defaultdict
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
# A word as written: with its Arabic harakat and tatweel (marks, to Python's re), which
# search_form takes out before _WORD cuts the text.
_WRITTEN_WORD = re.compile(r"(?:[^\W_]|[\u0610-\u061A\u064B-\u065F\u0670\u0640])+")
SHOWN_WORDS = "shown_words"
"""The index's table of each language's words as the guides write them (portal.guides.spelling
shows a suggestion so): one row per indexed word of the language's own script."""


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


def build_index(
    path: Path, languages: Sequence[str], entries: Iterable[IndexEntry], prepared_format: int
) -> None:
    """Write a fresh index at `path` (the version folder's search.sqlite3), stamped with the
    format of what prepare writes (portal.guides.library.FORMAT) as its user_version."""
    entries = list(entries)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(f"PRAGMA user_version = {int(prepared_format)}")
        connection.execute(
            f"CREATE TABLE {SHOWN_WORDS} (language TEXT, term TEXT, shown TEXT, "
            "PRIMARY KEY (language, term)) WITHOUT ROWID"
        )
        for language in languages:
            connection.executemany(
                f"INSERT INTO {SHOWN_WORDS} VALUES (?, ?, ?)",  # noqa: S608 — a constant
                [
                    (language, term, shown)
                    for term, shown in shown_words(e for e in entries if e.language == language)
                ],
            )
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


def shown_words(entries: Iterable[IndexEntry]) -> list[tuple[str, str]]:
    """(indexed word, the way the pages write it most often) for one language's pages, for
    the words of the script most of their letters are in: "rente" is shown "Rente", "بطاقه"
    "بطاقة", "impots" "impôts". A word only the tags hold (a search keyword, often written
    without its accents on purpose) keeps the tags' spelling. Words of another script (the
    brand names and addresses in Ukrainian pages) are left out: never suggested."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    tagged: dict[str, Counter[str]] = defaultdict(Counter)
    scripts: Counter[str] = Counter()
    for entry in entries:
        for text, counts in (
            (entry.title, seen),
            (entry.summary, seen),
            (entry.body, seen),
            (entry.tags, tagged),
        ):
            for written in _WRITTEN_WORD.findall(text):
                # The form search matches, and as written less the prefixes search drops
                # (البطاقة is shown بطاقة, as the index holds بطاقه).
                indexed = _WORD.findall(fold(search_form(written)))
                if len(indexed) == 1:
                    counts[indexed[0]][_PREFIX.sub("", written)] += 1
            if counts is seen:
                scripts.update(script(char) for char in text if char.isalpha())
    if not scripts:
        return []
    (own, _), *_ = scripts.most_common(1)
    found = {term: forms.most_common(1)[0][0] for term, forms in tagged.items()}
    found |= {term: forms.most_common(1)[0][0] for term, forms in seen.items()}
    return sorted(
        (term, shown)
        for term, shown in found.items()
        if all(script(char) == own for char in term if char.isalpha())
    )


def script(letter: str) -> str:
    """The script a letter is written in, as Unicode names it: "LATIN", "CYRILLIC", "ARABIC"."""
    return unicodedata.name(letter, "?").split(" ", 1)[0]


def index_format(path: Path) -> int | None:
    """The format stamp of the index at `path` (0 for one made before stamps); None when it
    cannot be read."""
    try:
        with closing(sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)) as connection:
            stamp: int = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error:
        return None
    return stamp


def words(text: str) -> list[str]:
    """The words of a visitor's query in their search form: letters and digits only,
    at most MAX_WORDS."""
    found = [word for word in _WORD.findall(search_form(text[:MAX_QUERY_CHARS])) if len(word) > 1]
    return list(dict.fromkeys(found))[:MAX_WORDS]


def written_words(text: str) -> list[tuple[str, str]]:
    """The words of a visitor's query, each as typed and in its search form (as `words`
    gives them, in the same order): ("البطاقة", "بطاقه"), ("Pensoin", "Pensoin")."""
    pairs: dict[str, str] = {}
    for written in _WRITTEN_WORD.findall(text[:MAX_QUERY_CHARS]):
        for word in _WORD.findall(search_form(written)):
            if len(word) > 1 and word not in pairs:
                # One search word from one written word: the written one is what it shows.
                pairs[word] = written if len(_WORD.findall(search_form(written))) == 1 else word
    return [(written, word) for word, written in pairs.items()][:MAX_WORDS]


def fold(word: str) -> str:
    """A query word as the index holds its words: lower-case, accents removed from Latin
    letters.

    What the tokenizer does to indexed text (unicode61 remove_diacritics 2), done
    in Python to look words up in the index's vocabulary (portal.guides.spelling).
    It takes the accents off Latin letters only: Ukrainian й and ї, Arabic ئ and ؤ stay
    (search_form has folded Arabic's alef forms already on both sides).
    """
    kept: list[str] = []
    latin = False  # whether the last letter was Latin: its marks go ("İ".lower() is i + dot)
    for char in unicodedata.normalize("NFD", word.lower()):
        if not unicodedata.combining(char):
            latin = script(char) == "LATIN"
        elif latin:
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def fts_query(terms: Sequence[str], operator: str = "AND") -> str:
    """Each word as a quoted prefix: `"pens"* AND "mandat"*` (no FTS syntax gets through)."""
    # Words hold no quote (see _WORD), so quoting cannot be broken out of.
    return f" {operator} ".join(f'"{term}"*' for term in terms)


def search(folder: Path, language: str, text: str, limit: int = MAX_RESULTS) -> list[SearchHit]:
    """Best pages first (see the module's docstring); all words must match, else any does."""
    terms = words(text)
    if not terms:
        return []
    uri = (folder / INDEX_NAME).as_uri() + "?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = _ranked(connection, table_name(language), terms, "AND", limit)
            if not rows and len(terms) > 1:
                rows = _ranked(connection, table_name(language), terms, "OR", limit)
    except sqlite3.OperationalError:
        # No table for this language (an older pack), or the index gone from disk:
        # nothing found. The query text stays out of every log.
        return []
    return [SearchHit(*row) for row in rows]


def _ranked(
    connection: sqlite3.Connection, table: str, terms: Sequence[str], operator: str, limit: int
) -> list[tuple[str, str, str]]:
    """The pages matching `terms` joined by `operator`, best first: (guide_id, title, summary)."""
    holds = f"(rowid IN (SELECT rowid FROM {table} WHERE {table} MATCH ?))"  # noqa: S608
    order: list[str] = []
    parameters: list[str | int] = [fts_query(terms, operator)]
    for matches in (
        [f"{ABOUT_COLUMNS} : {fts_query([term])}" for term in terms],
        # With AND every page holds every word: only any-word counts them.
        [fts_query([term]) for term in terms] if operator == "OR" else [],
    ):
        telling = _telling(connection, table, matches)
        if telling:
            order.append(" + ".join([holds] * len(telling)) + " DESC")
            parameters += telling
    order.append(f"bm25({table}, {', '.join(map(str, WEIGHTS))})")
    sql = (
        f"SELECT guide_id, shown_title, shown_summary FROM {table} "  # noqa: S608 — checked code
        f"WHERE {table} MATCH ? ORDER BY {', '.join(order)} LIMIT ?"
    )
    rows: list[tuple[str, str, str]] = connection.execute(sql, [*parameters, limit]).fetchall()
    return rows


def _telling(connection: sqlite3.Connection, table: str, matches: Sequence[str]) -> list[str]:
    """The matches found on at most half the pages: the others ("de", "vous") say nothing
    about a page (bm25 gives them no weight either). All of them when none is."""
    count = f"SELECT count(*) FROM {table} WHERE {table} MATCH ?"  # noqa: S608
    # FTS5's own table of one row per page: counted without reading the pages' text.
    pages: int = connection.execute(f"SELECT count(*) FROM {table}_docsize").fetchone()[0]  # noqa: S608
    telling = [m for m in matches if 2 * connection.execute(count, (m,)).fetchone()[0] <= pages]
    return telling or list(matches)
