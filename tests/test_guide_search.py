"""Search that forgives: the villagers' query table, ranking, "Did you mean …?", French results."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from portal.guides.library import FORMAT
from portal.guides.search import INDEX_NAME, IndexEntry, build_index, fold, search, shown_words
from portal.guides.spelling import Vocabulary, load_vocabulary, suggest
from tests.test_guides import main_part, pack, page_text, prepared_content, reader  # noqa: F401 — fixtures

QUERIES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parent / "search_queries.toml").read_text(encoding="utf-8")
)["queries"]


def first_offered(folder: Path, language: str, query: str) -> str | None:
    """The guide a villager reaches first: the first result, else the first result of
    the "Did you mean …?" link (one tap)."""
    hits = search(folder, language, query)
    if not hits and (suggestion := suggest(folder, language, query)) is not None:
        hits = search(folder, language, suggestion)
    return hits[0].guide_id if hits else None


def test_the_query_table_is_large_and_in_every_language_of_the_pack() -> None:
    assert len(QUERIES) >= 30
    assert {row["language"] for row in QUERIES} == {"fr", "nl", "de", "en", "ar", "uk", "tr"}
    assert all(set(row) == {"query", "language", "expected"} for row in QUERIES)


def test_the_arabic_queries_find_every_guide() -> None:
    found = {row["expected"] for row in QUERIES if row["language"] == "ar"}
    assert len(found) == 12


@pytest.mark.parametrize(
    "row", QUERIES, ids=[f"{row['language']}-{row['query']}" for row in QUERIES]
)
def test_a_villagers_query_finds_the_right_guide_first(
    prepared_content: Path,  # noqa: F811
    row: dict[str, Any],
) -> None:
    assert first_offered(prepared_content, row["language"], row["query"]) == row["expected"]


# Ranking


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en"])
def test_guides_about_itsme_come_before_guides_that_mention_it(
    prepared_content: Path,  # noqa: F811
    language: str,
) -> None:
    """Other guides say "log in with itsme": they stay in the results, after the itsme guide."""
    hits = [hit.guide_id for hit in search(prepared_content, language, "itsme")]
    assert hits[0] == "g02-itsme"
    assert "g06-mypension" in hits[1:]


def test_a_guide_about_a_word_ranks_above_one_that_repeats_it_in_its_text(
    tmp_path: Path,
) -> None:
    """bm25 alone would put the page saying "itsme" six times first."""
    build_index(
        tmp_path / INDEX_NAME,
        ["fr"],
        [
            IndexEntry(
                "g06-mypension", "fr", "MyPension", "Votre pension.", "pension", "itsme " * 6
            ),
            IndexEntry("g02-itsme", "fr", "itsme", "Prouver qui vous êtes.", "", "Un texte. " * 40),
        ],
        FORMAT,
    )
    assert [hit.guide_id for hit in search(tmp_path, "fr", "itsme")] == [
        "g02-itsme",
        "g06-mypension",
    ]


def test_a_stolen_card_finds_card_stop_and_doc_stop(prepared_content: Path) -> None:  # noqa: F811
    hits = [hit.guide_id for hit in search(prepared_content, "fr", "carte volée")]
    assert sorted(hits[:2]) == ["g01-eid", "g12-banking-doccle"]


@pytest.mark.parametrize(
    ("language", "card"),
    [("tr", "kart"), ("uk", "картка"), ("en", "card"), ("fr", "carte")],
)
def test_the_guides_about_a_card_come_before_those_that_mention_one(
    prepared_content: Path,  # noqa: F811
    language: str,
    card: str,
) -> None:
    """Every guide says "log in with your eID card": the eID, bank, MOBIB and health
    insurance card guides first."""
    hits = [hit.guide_id for hit in search(prepared_content, language, card)]
    assert hits[0] == "g01-eid"
    assert set(hits[:4]) == {"g01-eid", "g12-banking-doccle", "g10-tec-sncb-mobib", "g07-masante"}


def test_words_found_in_no_guide_do_not_bring_every_guide(prepared_content: Path) -> None:  # noqa: F811
    """ "de" is on every page: "permis de conduire" must not list them all."""
    hits = [hit.guide_id for hit in search(prepared_content, "fr", "permis de conduire")]
    assert hits == ["g09-commune-cpas"]


# Did you mean …?


TERMS = ("101", "112", "doccle", "pension", "pensioen", "pensions", "telephone")
VOCABULARY = Vocabulary(
    terms=TERMS,
    pages={"101": 1, "112": 3, "doccle": 1, "pension": 4, "pensioen": 1, "pensions": 2}
    | {"telephone": 1},
    shown={term: term for term in TERMS},
)


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [
        ("pensoin", "pension"),  # two letters swapped: one edit
        ("pensiom", "pension"),
        ("docle", "doccle"),
        ("pansion", "pension"),
        ("xylophone", None),  # three edits from "telephone": too far
        ("100", None),  # a number one digit off is another number
        ("113", None),
        ("pn", None),  # too short to guess
    ],
)
def test_the_nearest_word(typed: str, nearest: str | None) -> None:
    assert VOCABULARY.nearest(typed) == nearest


def test_a_word_is_known_when_an_indexed_word_starts_with_it() -> None:
    assert VOCABULARY.knows("pens")
    assert VOCABULARY.knows("pensions")
    assert not VOCABULARY.knows("pensionn")
    assert not VOCABULARY.knows("zzz")


def test_suggestions_correct_only_the_unknown_words(prepared_content: Path) -> None:  # noqa: F811
    assert suggest(prepared_content, "fr", "pensoin") == "pension"
    assert suggest(prepared_content, "fr", "pensoin mandat") == "pension mandat"
    assert suggest(prepared_content, "fr", "Pensoin xylophone") == "pension"
    assert suggest(prepared_content, "fr", "déclaration impots") is None
    assert suggest(prepared_content, "fr", "xylophone") is None
    assert suggest(prepared_content, "nl", "pensioenn") == "pensioen"
    assert suggest(prepared_content, "fr", "") is None


@pytest.mark.parametrize(
    ("language", "typed", "suggested"),
    [
        ("de", "Steuererklarrung", "Steuererklärung"),  # a German noun keeps its capital
        ("de", "Krankenkase", "Krankenkasse"),
        ("fr", "impois", "impôts"),  # the accent back on
        ("fr", "docle", "Doccle"),  # a brand as the guides write it
        ("ar", "بتاقة", "بطاقة"),  # teh marbuta, not the heh the index holds
        ("ar", "الضرايب", "ضرائب"),  # ئ, not the bare yeh
        ("uk", "пенсиа", "пенсію"),
        ("nl", "ziekenfons", "ziekenfonds"),
    ],
)
def test_a_suggestion_is_written_as_the_guides_write_it(
    prepared_content: Path,  # noqa: F811
    language: str,
    typed: str,
    suggested: str,
) -> None:
    assert suggest(prepared_content, language, typed) == suggested


def test_known_words_stay_as_typed_beside_a_corrected_one(prepared_content: Path) -> None:  # noqa: F811
    assert suggest(prepared_content, "ar", "البطاقة بنكيا") == "البطاقة بنكية"
    assert suggest(prepared_content, "de", "Ihre Steuererklarrung") == "Ihre Steuererklärung"


def test_ukrainian_suggestions_are_ukrainian_words(prepared_content: Path) -> None:  # noqa: F811
    """Brand names and web addresses in the Ukrainian pages are searched, never suggested."""
    vocabulary = load_vocabulary(prepared_content, "uk")
    assert vocabulary.knows("itsme")
    assert vocabulary.shown  # the Ukrainian words themselves
    assert [word for word in vocabulary.shown.values() if re.search("[a-zA-Z]", word)] == []
    assert suggest(prepared_content, "uk", "itsmee") is None
    assert suggest(prepared_content, "uk", "itsme пенсиа") == "itsme пенсію"
    assert suggest(prepared_content, "fr", "itsmee") == "itsme"  # Latin in a Latin language


def test_shown_words_prefer_the_pages_text_over_the_tags_and_keep_one_script() -> None:
    pages = [
        IndexEntry("g1", "uk", "Податки", "Ваші податки.", "podatky податкі", "MyMinfin податки"),
        IndexEntry("g2", "uk", "Пенсія", "Ваша пенсія.", "pensiya", "Пенсія, пенсію."),
    ]
    assert shown_words(pages) == [
        ("ваша", "Ваша"),
        ("ваші", "Ваші"),
        ("пенсію", "пенсію"),
        ("пенсія", "Пенсія"),
        ("податки", "податки"),  # "податки" twice, "Податки" once
        ("податкі", "податкі"),  # in the tags only: as the tags write it
    ]


@pytest.mark.parametrize(
    ("word", "indexed"),
    [
        ("Déclaration", "declaration"),
        ("İŞ", "is"),  # Turkish capital dotted I
        ("пенсії", "пенсії"),  # unicode61 keeps ї and й
        ("Йти", "йти"),
        ("ضرائب", "ضرائب"),  # and ئ
    ],
)
def test_fold_takes_the_accents_off_as_the_index_does(word: str, indexed: str) -> None:
    assert fold(word) == indexed


def test_the_vocabulary_is_read_once_per_pack(pack: Path) -> None:  # noqa: F811
    assert suggest(pack, "fr", "pensoin") == "pension"
    (pack / "search.sqlite3").unlink()
    assert suggest(pack, "fr", "itsmee") == "itsme"
    assert suggest(pack, "nl", "pensioenn") is None  # not read before: the index is gone


def test_a_typo_gets_a_did_you_mean_link_in_the_visitors_language(
    reader: FlaskClient,  # noqa: F811
) -> None:
    html = main_part(page_text(reader, "/guides/search?q=pensoin+mandat&lang=en"))
    # The known word stays as typed; "mandat" alone (a prefix of "mandate") finds the guide.
    assert 'href="/guides/search?q=pension+mandat&amp;lang=en"' in html
    assert 'href="/guides/g06-mypension?lang=en"' in html


def test_nothing_found_shows_the_corrected_words_results_under_a_heading_saying_so(
    reader: FlaskClient,  # noqa: F811
) -> None:
    html = main_part(page_text(reader, "/guides/search?q=pensoin&lang=fr"))
    assert "Aucun guide trouvé" not in html
    assert "<h1>Guides trouvés pour pension\u202f: 2</h1>" in html
    assert '<p class="hint" role="status">Rien trouvé pour pensoin.</p>' in html
    assert 'href="/guides/g06-mypension?lang=fr"' in html
    assert "Vous vouliez dire" not in html  # the page shows its results already
    html = main_part(page_text(reader, "/guides/search?q=Steuererklarrung&lang=de"))
    assert "<h1>Gefundene Leitfäden für Steuererklärung: 1</h1>" in html
    assert 'href="/guides/g04-myminfin?lang=de"' in html


def test_no_suggestion_when_every_word_was_found(reader: FlaskClient) -> None:  # noqa: F811
    html = main_part(page_text(reader, "/guides/search?q=pension&lang=fr"))
    assert "Vous vouliez dire" not in html


# Nothing in the visitor's language: the pack's default language


def test_nothing_found_in_dutch_offers_the_french_results_labelled_in_dutch(
    reader: FlaskClient,  # noqa: F811
) -> None:
    html = main_part(page_text(reader, "/guides/search?q=allocations+familiales&lang=nl"))
    assert "<h1>Gevonden gidsen in het Frans: 1</h1>" in html
    assert "Geen gids in uw taal met deze woorden. In het Frans:" in html
    # The French card, marked French; it opens the guide in Dutch.
    assert '<a class="lesson-card" href="/guides/g09-commune-cpas?lang=nl" lang="fr"' in html
    assert "Votre commune et votre CPAS" in html


def test_found_in_the_visitors_language_shows_no_french(reader: FlaskClient) -> None:  # noqa: F811
    html = main_part(page_text(reader, "/guides/search?q=kinderbijslag&lang=nl"))
    assert "In het Frans" not in html
    assert 'href="/guides/g09-commune-cpas?lang=nl"' in html


def test_nothing_found_anywhere_says_so(reader: FlaskClient) -> None:  # noqa: F811
    html = main_part(page_text(reader, "/guides/search?q=xylophone&lang=de"))
    assert "<h1>Kein Leitfaden gefunden.</h1>" in html
    assert "Auf Französisch" not in html
    assert "lesson-card" not in html
