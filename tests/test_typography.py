"""Typography of what villagers read (portal.typography): where words may and may not break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.context import Services
from portal.guides.render import PageRenderer, dress
from portal.onboarding.narration import step_speech
from portal.typography import TABLE_NAME, dictionary, table_text, typeset, typeset_with
from tests.conftest import complete_onboarding

NBH = "\u2011"  # non-breaking hyphen
NNBSP = "\u202f"  # narrow no-break space
SHY = "\u00ad"  # soft hyphen


def test_wifi_never_breaks_at_its_hyphen_in_any_language() -> None:
    for language in ("fr", "nl", "de", "en", "ar", "uk", "tr"):
        assert typeset("Free Wi-Fi, wi-fi", language) == f"Free Wi{NBH}Fi, wi{NBH}fi"


def test_french_signs_and_quotes_stay_with_their_word() -> None:
    assert typeset("Besoin d'aide ? Oui ! Attention : « ici » ; fin", "fr") == (
        f"Besoin d'aide{NNBSP}? Oui{NNBSP}! Attention{NNBSP}: «{NNBSP}ici{NNBSP}»{NNBSP}; fin"
    )
    assert typeset("«ici»", "fr") == f"«{NNBSP}ici{NNBSP}»"


def test_other_languages_keep_their_spaces() -> None:
    assert typeset("Need help ? Yes : here", "en") == "Need help ? Yes : here"


def test_long_words_get_soft_hyphens_by_language() -> None:
    def hyphenated(word: str, language: str) -> str:
        return typeset_with(word, language, dictionary(language))

    assert hyphenated("Gemeindeverwaltung", "de") == f"Gemein{SHY}de{SHY}ver{SHY}wal{SHY}tung"
    assert hyphenated("telefoonnummer", "nl") == f"tele{SHY}foon{SHY}num{SHY}mer"
    assert hyphenated("informatiquement", "fr") == f"infor{SHY}ma{SHY}ti{SHY}que{SHY}ment"
    assert hyphenated("Telefonnummer", "de") == f"Tele{SHY}fon{SHY}num{SHY}mer"
    assert hyphenated("Bankkarte", "de") == "Bankkarte"  # shorter words stay whole


def test_arabic_and_turkish_are_not_hyphenated() -> None:
    assert typeset_with("والاستشاريين", "ar", dictionary("ar")) == "والاستشاريين"
    assert typeset_with("güvenliğinizden", "tr", dictionary("tr")) == "güvenliğinizden"


def test_pages_hyphenate_from_the_tables_without_loading_a_dictionary(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a web worker loaded a hyphenation dictionary")

    monkeypatch.setattr("pyphen.Pyphen", refused)
    typeset.cache_clear()
    html = client.post("/online", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert f"Diese Seite funk{SHY}tio{SHY}niert so nicht." in html
    assert client.get("/lesson/touchscreen/1?lang=de").status_code == 200
    assert typeset("Gemeindeverwaltung", "de") == "Gemeindeverwaltung"  # not in the table


CATALOGS = sorted(Path("portal/translations").glob("*/LC_MESSAGES/messages.po"))


@pytest.mark.parametrize("catalog", CATALOGS, ids=[path.parts[2] for path in CATALOGS])
def test_hyphenation_tables_hold_every_long_word_of_catalogs_and_lessons(catalog: Path) -> None:
    shipped = catalog.with_name(TABLE_NAME)
    assert shipped.is_file(), f"{shipped}: run make i18n-extract"
    language = catalog.parts[2]
    assert shipped.read_text(encoding="utf-8") == table_text(language), "make i18n-extract"


def test_addresses_numbers_and_placeholders_are_left_as_written() -> None:
    text = (
        "https://www.myminfin.be/Gemeindeverwaltung www.belgium.be/Gemeindeverwaltung "
        "hilfe@gemeindeverwaltung.be %(Gemeindeverwaltung)s 18:45 02/12/2026"
    )
    assert typeset_with(text, "de", dictionary("de")) == text
    assert typeset("https://x.be/a : b", "fr") == f"https://x.be/a{NNBSP}: b"


def test_guide_html_is_typeset_in_its_text_only() -> None:
    html = PageRenderer(frozenset()).render(
        '<p title="Wi-Fi : Gemeindeverwaltung">Wi-Fi : oui</p>\n\n'
        "`Wi-Fi : 112` [Wi-Fi : 112](https://www.112.be)\n"
    )
    assert dress(html, "fr", dictionary("fr")) == (
        f'<p title="Wi-Fi : Gemeindeverwaltung">Wi{NBH}Fi{NNBSP}: oui</p>\n'
        '<p><code>Wi-Fi : 112</code> <a href="https://www.112.be" rel="noopener noreferrer">'
        f'Wi{NBH}Fi{NNBSP}: <bdi dir="ltr">112</bdi></a></p>\n'
    )


def test_catalog_strings_are_typeset_and_attributes_are_not(client: FlaskClient) -> None:
    html = client.get("/?lang=fr").get_data(as_text=True)
    assert f"<h1>Wi{NBH}Fi gratuit</h1>" in html
    page = client.get("/lesson/onboarding/4?lang=fr").get_data(as_text=True)
    assert f"Besoin d&#39;aide{NNBSP}?" in page
    # The pictogram's description is an attribute: no typography there.
    assert 'alt="' in page and NNBSP not in page.split('alt="')[1].split('"')[0]


def test_narration_reads_the_lesson_text_untouched(services: Services) -> None:
    steps = services.lessons.onboarding.steps
    assert step_speech(steps[0], "fr") == "Ce Wi-Fi est gratuit. Il est pour tout le monde."
    assert step_speech(steps[3], "fr") == (
        "Besoin d'aide ? Demandez à une personne ici, ou appelez le dix-sept dix-huit."
    )


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en", "ar", "uk", "tr"])
def test_no_attribute_of_the_flows_pages_carries_typography(
    client: FlaskClient, language: str
) -> None:
    complete_onboarding(client, language)
    pages = ["/", "/online", "/privacy", "/status", "/lessons", "/guides"]
    pages += [f"/lesson/onboarding/{number}" for number in range(1, 6)]
    pages += [f"/lesson/human-help/{number}" for number in range(1, 7)]
    for page in pages:
        html = client.get(f"{page}?lang={language}").get_data(as_text=True)
        for value in re.findall(r'="([^"]*)"', html):
            assert not {SHY, NNBSP, NBH} & set(value), (page, value)


def test_a_dictionary_is_let_go_with_its_hyphenation() -> None:
    import pyphen

    hyphenate = dictionary("de")
    assert hyphenate("Gemeindeverwaltung") == f"Gemein{SHY}de{SHY}ver{SHY}wal{SHY}tung"
    assert pyphen.hdcache == {}  # only `hyphenate` holds the 18 MB German dictionary
