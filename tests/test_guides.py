"""The guide library: rendering and sanitising, the local-help line, search, and the pages."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.context import Services
from portal.guides.library import GuideLibrary
from portal.guides.pack.names import TOPICS
from portal.guides.pack.problems import PackInvalid
from portal.guides.render import PageRenderer, dress, prepare
from portal.guides.search import fts_query, search, search_form, words
from portal.guides.views import TOPIC_NAMES
from portal.typography import dictionary
from tests.conftest import fake_identify, phone_client

CONTENT = Path(__file__).resolve().parent.parent / "content"
IMAGES = frozenset({"taxes.svg", "pension.svg"})


def install_pack(
    settings: Settings, source: Path = CONTENT, name: str = "x", prepared: bool = False
) -> Path:
    """The installed layout (see portal.guides.store): versions/<name>/ and `current` → it."""
    folder = settings.data_dir / "guides" / "versions" / name
    shutil.copytree(source, folder)
    if not prepared:
        prepare(folder, settings)
    current = settings.data_dir / "guides" / "current"
    if current.is_symlink():
        current.unlink()
    os.symlink(f"versions/{name}", current)
    return folder


@pytest.fixture(scope="module")
def prepared_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """content/ prepared once for the module; tests install copies of it."""
    folder = tmp_path_factory.mktemp("prepared") / "content"
    shutil.copytree(CONTENT, folder)
    prepare(folder, Settings())
    return folder


@pytest.fixture
def pack(settings: Settings, prepared_content: Path) -> Path:
    return install_pack(settings, prepared_content, prepared=True)


@pytest.fixture
def reader(app: Flask, pack: Path) -> FlaskClient:
    """A phone with no access yet, on a portal with the content/ pack installed."""
    return phone_client(app)


def page_text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def main_part(html: str) -> str:
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


# Rendering and sanitising


def test_a_real_page_renders_to_plain_html(pack: Path) -> None:
    html = (pack / "rendered" / "g04-myminfin" / "fr.html").read_text(encoding="utf-8")
    assert "<h2>Ce qu&#39;il vous faut</h2>" in html
    assert "<h3>Voir vos documents dans MyMinfin</h3>" in html
    assert "<li>Connectez-vous avec itsme ou avec votre carte eID.</li>" in html
    assert (
        '<a href="https://www.myminfin.be" class="url-shown" rel="noopener noreferrer">'
        "www.myminfin.be</a>" in html
    )
    assert html.count("<p>{{ local_help }}</p>") == 1
    assert (pack / "rendered" / "library.json").is_file()
    assert (pack / "search.sqlite3").is_file()


HOSTILE = {
    "script": "<script>alert('s1')</script>",
    "event handler": "<img src=x onerror=alert(2)>",
    "event handler, quoted": '<img src="taxes.svg" onerror="alert(2)" onload="alert(2)">',
    "javascript link": "[win](javascript:alert(3))",
    "javascript link, odd case": '<a href="JaVaScRiPt:alert(1)">a</a>',
    "javascript link, entity": '<a href="&#106;avascript:alert(1)">b</a>',
    "data link": "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "data image": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "inline svg": "<svg onload=alert(1)><script>alert('s4')</script></svg>",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "object": '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    "style tag": "<style>body { display: none }</style>",
    "style attribute": '<p style="position:fixed">styled</p>',
    "remote image": "![tracker](https://evil.example/pixel.png)",
    "remote raw image": '<img src="https://evil.example/pixel.png" alt="t">',
    "form": '<form action="https://evil.example/"><input name="pin"></form>',
    "onclick on a link": '<a href="https://ok.example/" onclick="alert(1)">ok</a>',
}


class Elements(HTMLParser):
    """Every element and attribute of some HTML, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


ALLOWED = {"p", "a", "img", "h2", "h3", "ul", "ol", "li", "strong", "em", "code", "pre", "br"}
ALLOWED |= {"bdi"}  # the local-help line's phone numbers


def assert_inert(html: str) -> None:
    """Only allowlisted elements, no handler, style or script URL, nothing remote loaded."""
    for tag, attributes in Elements(html).found:
        assert tag in ALLOWED, html
        assert set(attributes) <= {"href", "src", "alt", "title", "rel", "class", "lang", "dir"}
        for name in ("href", "src"):
            url = attributes.get(name, "").strip().lower()
            assert not url.startswith(("javascript:", "data:", "vbscript:")), html
        assert "evil.example" not in attributes.get("src", ""), html
    lowered = html.lower()
    for banned in ["<script", "<svg", "<iframe", "<object", "<embed", "<style", "<form"]:
        assert banned not in lowered, html


@pytest.mark.parametrize("right_to_left", [False, True], ids=["ltr", "rtl"])
@pytest.mark.parametrize("attack", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_neutralised(attack: str, right_to_left: bool) -> None:
    html = PageRenderer(IMAGES).render(f"Before.\n\n{attack}\n\nAfter.\n", right_to_left)
    assert_inert(html)
    assert "alert('s" not in html  # script content is dropped, not shown
    assert "<p>Before.</p>" in html
    assert "<p>After.</p>" in html


def test_links_keep_safe_schemes_and_get_rel() -> None:
    html = PageRenderer(IMAGES).render(
        "[a](https://www.belgium.be) [b](mailto:suspect@safeonweb.be) [c](tel:112) [d](../x)"
    )
    assert html.count('rel="noopener noreferrer"') == 4
    for href in ["https://www.belgium.be", "mailto:suspect@safeonweb.be", "tel:112", "../x"]:
        assert f'href="{href}"' in html


def test_images_only_from_the_pack() -> None:
    html = PageRenderer(IMAGES).render(
        "![Tax](taxes.svg) ![Pension](../../images/pension.svg) ![Other](other.svg)"
    )
    assert '<img src="/guides/media/taxes.svg" alt="Tax">' in html
    assert '<img src="/guides/media/pension.svg" alt="Pension">' in html
    assert "other.svg" not in html
    assert "Other" in html


def test_numbers_in_a_right_to_left_page_stay_left_to_right() -> None:
    body = "اتصل بالرقم 00800 2123 2123 أو +32 2 518 2123. [www.112.be](https://www.112.be)"
    arabic = PageRenderer(IMAGES).render(body, right_to_left=True)
    assert dress(arabic, "ar", dictionary("ar")) == (
        '<p>اتصل بالرقم <a href="tel:0080021232123"><bdi dir="ltr">00800 2123 2123</bdi></a> أو '
        '<a href="tel:+3225182123"><bdi dir="ltr">+32 2 518 2123</bdi></a>.'
        ' <a href="https://www.112.be" class="url-shown" dir="ltr" rel="noopener noreferrer">'
        'www.<bdi dir="ltr">112</bdi>.be</a></p>\n'
    )
    french = PageRenderer(IMAGES).render("Card Stop : 078 170 170.")
    assert dress(french, "fr", dictionary("fr")) == (
        '<p>Card Stop\u202f: <a href="tel:078170170"><bdi dir="ltr">078 170 170</bdi></a>.</p>\n'
    )


def test_every_topic_of_the_pack_format_has_a_heading_in_the_library() -> None:
    """The headings are written out for translation; the topics are the format's."""
    assert sorted(TOPIC_NAMES) == sorted(TOPICS)
    assert str(TOPIC_NAMES["money-taxes"]) == "Money and taxes"


def test_a_page_that_cannot_be_read_refuses_the_pack(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(CONTENT, folder)
    (folder / "guides" / "g04-myminfin" / "nl.md").write_text("no front matter\n")
    with pytest.raises(
        PackInvalid,
        match=r"^1 problem\(s\) in the pack:\nguides/g04-myminfin/nl\.md: does not start with a "
        r"\+\+\+ front matter line$",
    ):
        prepare(folder, settings)


def test_a_missing_pictogram_refuses_the_pack(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(CONTENT, folder)
    (folder / "images" / "taxes.svg").unlink()
    with pytest.raises(PackInvalid) as refused:
        prepare(folder, settings)
    assert refused.value.problems == [
        f"guides/g04-myminfin/{language}.md: key 'pictogram': 'taxes.svg' is not a file in images/"
        for language in ("fr", "nl", "de", "en", "ar", "uk", "tr")
    ]


def test_what_a_pack_ships_under_rendered_is_replaced(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(CONTENT, folder)
    planted = folder / "rendered" / "g04-myminfin" / "fr.html"
    planted.parent.mkdir(parents=True)
    planted.write_text("<script>alert(1)</script>")
    prepare(folder, settings)
    assert "<script" not in planted.read_text(encoding="utf-8")


# The local-help line


def guide_with_site(
    settings: Settings, url: str = "/guides/g04-myminfin?lang=en", commune: str = "", **help_: str
) -> str:
    """The guide page on a portal whose [help] section has the given keys."""
    changed = settings.replace("site", commune=commune).replace("help", **help_)
    install_pack(changed)
    app = create_app(changed, firewall=MemoryFirewall(), identify=fake_identify)
    try:
        return main_part(page_text(phone_client(app), url))
    finally:
        db.close()


def test_local_help_is_the_escaped_help_place(settings: Settings) -> None:
    html = guide_with_site(settings, place='<b>EPN "La Source"</b> & library, tue 14-17')
    assert "{{ local_help }}" not in html
    assert "<b>EPN" not in html
    assert "Ask at: &lt;b&gt;EPN &#34;La Source&#34;&lt;/b&gt; &amp; library" in html
    assert '<p class="local-help" lang="en" dir="ltr">' in html


def test_local_help_without_a_place_points_to_the_commune_and_1718(settings: Settings) -> None:
    html = guide_with_site(settings, commune="Durbuy")
    assert "Ask at the town hall of Durbuy." in html
    assert '<bdi dir="ltr">1718</bdi>' in html
    assert '<bdi dir="ltr">1719</bdi>' in html


def test_local_help_follows_the_visitors_language(settings: Settings) -> None:
    html = guide_with_site(
        settings, url="/guides/g04-myminfin?lang=nl", place="EPN", hours="di 9-12", phone="085 21"
    )
    assert (
        'Vraag het hier: EPN<br>Open: di <bdi dir="ltr">9-12</bdi><br>'
        'Telefoon: <a href="tel:08521"><bdi dir="ltr">085 21</bdi></a>'
    ) in html


# Search


@pytest.mark.parametrize(
    ("language", "query", "first"),
    [
        ("fr", "impots", "g04-myminfin"),
        ("fr", "impôts", "g04-myminfin"),
        ("fr", "IMPOTS", "g04-myminfin"),
        ("fr", "pension", "g06-mypension"),
        ("fr", "pens", "g06-mypension"),
        ("fr", "mandat pension", "g06-mypension"),
        ("nl", "pensioen", "g06-mypension"),
        ("nl", "belastingen", "g04-myminfin"),
        ("de", "steuern", "g04-myminfin"),
        ("en", "pension", "g06-mypension"),
        ("uk", "пенсія", "g06-mypension"),
        ("uk", "податки", "g04-myminfin"),
        ("tr", "vergi", "g04-myminfin"),
        ("tr", "sağlık", "g07-masante"),
        ("tr", "saglik", "g07-masante"),
    ],
)
def test_search_finds_without_accents_and_by_prefix(
    pack: Path, language: str, query: str, first: str
) -> None:
    hits = search(pack, language, query)
    assert hits, query
    assert hits[0].guide_id == first


@pytest.mark.parametrize(
    ("written", "indexed"),
    [
        ("بِطَاقَة", "بطاقه"),  # tashkeel
        ("بطـــاقة", "بطاقه"),  # tatweel
        ("أحمد إسعاف آلة ٱلرحمن", "احمد اسعاف اله رحمن"),  # alef forms
        ("مستشفى", "مستشفي"),
        ("البطاقة", "بطاقه"),
        ("بالبطاقة والشرطة للتقاعد", "بطاقه شرطه تقاعد"),
        ("وابحث", "ابحث"),
        ("إلى وقت", "الي وقت"),  # too short to lose a prefix
        ("بطاقة طاقة", "بطاقه طاقه"),  # a lone beh stays
        ("١١٢ ۱۷۳۳", "112 1733"),
        ("impôts d'État", "impôts d'État"),
    ],
)
def test_arabic_is_folded_to_one_form(written: str, indexed: str) -> None:
    assert search_form(written) == indexed


def test_an_arabic_query_is_folded_before_it_is_cut_into_words() -> None:
    assert words("الضَّرَائِب، بطاقة؟") == ["ضرائب", "بطاقه"]


def test_arabic_results_show_the_words_as_written(pack: Path) -> None:
    hit = search(pack, "ar", "الهويه")[0]
    assert hit.title == "بطاقة الهوية الإلكترونية (eID) ورمز PIN ورمز PUK"
    assert hit.summary == "استعمل بطاقة eID على الإنترنت، واعرف ماذا تفعل إذا أُغلق رمز PIN."


def test_search_is_per_language(pack: Path) -> None:
    french = search(pack, "fr", "pension")[0]
    dutch = search(pack, "nl", "pensioen")[0]
    assert french.title.startswith("MyPension")
    assert "pension" in french.summary.lower()
    assert "pensioen" in dutch.summary.lower()
    assert french.summary != dutch.summary
    assert search(pack, "fr", "pensioen") == []


def test_no_word_matches_nothing_and_any_word_is_a_fallback(pack: Path) -> None:
    assert search(pack, "fr", "xylophone") == []
    assert search(pack, "fr", "") == []
    hits = search(pack, "fr", "xylophone impots")
    assert hits[0].guide_id == "g04-myminfin"


def test_query_text_never_becomes_fts_syntax() -> None:
    assert words('"pens" AND NEAR(a* -b) col:x ^y') == ["pens", "AND", "NEAR", "col"]
    assert fts_query(["pens", "AND"]) == '"pens"* AND "AND"*'
    assert words("d'impôts") == ["impôts"]


HOSTILE_QUERIES = [
    '"',
    '""',
    "'",
    "AND",
    "OR OR",
    "NOT",
    "NEAR(impots pension, 2)",
    "*",
    "-",
    "impots*",
    "-impots",
    "^impots",
    "title:impots",
    "{title summary}: x",
    "'); DROP TABLE pages_fr; --",
    "\\",
    "%",
    "a" * 5000,
    "🙂 ٱلضرائب",
    "impots\x00pension",
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_are_answered_normally(reader: FlaskClient, query: str) -> None:
    response = reader.get("/guides/search", query_string={"q": query, "lang": "fr"})
    assert response.status_code == 200
    assert "<h1>" in response.get_data(as_text=True)


def test_search_page_shows_title_and_summary(reader: FlaskClient) -> None:
    html = main_part(page_text(reader, "/guides/search?q=impots&lang=fr"))
    assert 'href="/guides/g04-myminfin?lang=fr"' in html
    assert "MyMinfin et Tax-on-web\u202f: vos impôts en ligne" in html
    assert "Voir vos documents d&#39;impôts dans MyMinfin" in html
    assert 'value="impots"' in html
    assert "<script" not in html


def test_search_text_is_never_logged(reader: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for query in ["secretword", '"secretword', "secretword NEAR("]:
        reader.get("/guides/search", query_string={"q": query})
    assert "secretword" not in caplog.text


# Pages


def test_guides_by_topic_with_pictograms(reader: FlaskClient) -> None:
    html = main_part(page_text(reader, "/guides?lang=fr"))
    topics = re.findall(r'<h2 id="topic-[a-z-]+">([^<]+)</h2>', html)
    assert topics[:3] == ["Urgences", "Identité", "Argent et impôts"]
    assert len(topics) == len(set(topics)) >= 6
    assert len(re.findall(r'href="/guides/g\d\d-', html)) == 12
    assert '<img src="/guides/media/taxes.svg"' in html
    assert 'action="/guides/search?lang=fr" method="get"' in html
    assert '<input type="hidden" name="lang" value="fr">' in html  # a GET form's query


def test_the_emergencies_guide_comes_first_in_the_library(reader: FlaskClient) -> None:
    html = main_part(page_text(reader, "/guides?lang=nl"))
    guides = re.findall(r'href="/guides/(g\d\d-[a-z-]+)\?lang=nl"', html)
    assert guides[0] == "g11-emergencies"
    assert sorted(guides) == sorted(set(guides)) and len(guides) == 12


def test_a_table_of_contents_links_to_each_topic_group(reader: FlaskClient) -> None:
    html = main_part(page_text(reader, "/guides?lang=de"))
    contents = html.split('<nav class="guide-topics" aria-label="Themen">', 1)[1].split("</nav>")[0]
    links = re.findall(r'<a href="#(topic-[a-z-]+)">([^<]+)</a>', contents)
    assert links[:2] == [("topic-safety", "Notfälle"), ("topic-identity", "Identität")]
    headings = re.findall(r'<h2 id="(topic-[a-z-]+)">([^<]+)</h2>', html)
    assert links == headings


def test_the_library_lists_titles_and_search_results_add_summaries(reader: FlaskClient) -> None:
    summary = "Voir vos documents d&#39;impôts dans MyMinfin"
    library = main_part(page_text(reader, "/guides?lang=fr"))
    assert "MyMinfin et Tax-on-web\u202f: vos impôts en ligne" in library
    assert summary not in library
    assert summary in main_part(page_text(reader, "/guides/search?q=impots&lang=fr"))


def test_a_guide_in_french_and_in_dutch(reader: FlaskClient) -> None:
    french = main_part(page_text(reader, "/guides/g04-myminfin?lang=fr"))
    assert "<h1>MyMinfin et Tax-on-web\u202f: vos impôts en ligne</h1>" in french
    assert '<article class="guide" lang="fr" dir="ltr">' in french
    assert 'href="https://www.myminfin.be"' in french
    dutch = main_part(page_text(reader, "/guides/g04-myminfin?lang=nl"))
    assert '<article class="guide" lang="nl" dir="ltr">' in dutch
    assert "Tax-on-web" in dutch
    assert 'class="hint"' not in french
    assert 'class="hint"' not in dutch


def test_every_guide_has_an_arabic_page(pack: Path) -> None:
    library = GuideLibrary.load(pack)
    assert len(library.guides) == 12
    assert "ar" in library.languages
    for guide in library.guides.values():
        assert "ar" in guide.pages, guide.id
        assert (pack / "rendered" / guide.id / "ar.html").is_file()
    assert library.title["ar"] == "أدلة الخدمات على الإنترنت — والونيا"


def test_an_arabic_guide_reads_right_to_left_with_its_numbers_left_to_right(
    reader: FlaskClient,
) -> None:
    html = page_text(reader, "/guides/g01-eid?lang=ar")
    assert '<html lang="ar" dir="rtl">' in html
    main = main_part(html)
    assert '<article class="guide" lang="ar" dir="rtl">' in main
    assert "<h1>بطاقة الهوية الإلكترونية (eID) ورمز PIN ورمز PUK</h1>" in main
    assert "<h2>ما تحتاج إليه</h2>" in main
    assert (
        'رقم DOC STOP هو <a href="tel:0080021232123"><bdi dir="ltr">00800 2123 2123</bdi></a>.'
        " المكالمة مجانية."
    ) in main
    assert '<a href="tel:+3225182123"><bdi dir="ltr">+32 2 518 2123</bdi></a>' in main
    assert '<p class="local-help" lang="ar" dir="rtl">' in main
    assert '<span class="arrow" aria-hidden="true">←</span>' in main  # flipped in rtl
    assert 'class="hint"' not in main
    emergencies = main_part(page_text(reader, "/guides/g11-emergencies?lang=ar"))
    assert 'على الرقم <a href="tel:1733"><bdi dir="ltr">1733</bdi></a>' in emergencies
    banking = main_part(page_text(reader, "/guides/g12-banking-doccle?lang=ar"))
    assert 'على الرقم <a href="tel:078170170"><bdi dir="ltr">078 170 170</bdi></a>' in banking
    french = main_part(page_text(reader, "/guides/g12-banking-doccle?lang=fr"))
    assert (
        'Card Stop\u202f: <a href="tel:078170170"><bdi dir="ltr">078 170 170</bdi></a>.' in french
    )


def test_the_arabic_guide_list_shows_the_arabic_guides(reader: FlaskClient) -> None:
    html = main_part(page_text(reader, "/guides?lang=ar"))
    assert len(re.findall(r'href="/guides/g\d\d-[a-z-]+\?lang=ar"', html)) == 12
    assert "<strong>بطاقة الهوية الإلكترونية (eID) ورمز PIN ورمز PUK</strong>" in html
    assert '<p class="pack-title" lang="ar">أدلة الخدمات على الإنترنت — والونيا</p>' in html
    assert 'lang="fr"' not in html
    assert 'class="hint"' not in html


def test_an_arabic_search_page_lists_arabic_guides(reader: FlaskClient) -> None:
    html = main_part(page_text(reader, "/guides/search?q=اسعاف&lang=ar"))
    assert 'href="/guides/g11-emergencies?lang=ar"' in html
    assert (
        'حالات الطوارئ: <bdi dir="ltr">112</bdi> و <bdi dir="ltr">101</bdi> وتطبيق '
        '<bdi dir="ltr">112 BE</bdi> ورسالة SMS إلى <bdi dir="ltr">8112</bdi>'
    ) in html
    assert 'lang="fr"' not in html


@pytest.mark.parametrize(
    ("language", "title", "heading"),
    [
        ("uk", "<h1>MyMinfin і Tax-on-web: ваші податки онлайн</h1>", "<h2>Що вам потрібно</h2>"),
        ("tr", "<h1>MyMinfin ve Tax-on-web: vergileriniz internette</h1>", "<h2>Adım adım</h2>"),
    ],
)
def test_a_guide_in_ukrainian_and_in_turkish(
    reader: FlaskClient, language: str, title: str, heading: str
) -> None:
    html = main_part(page_text(reader, f"/guides/g04-myminfin?lang={language}"))
    assert f'<article class="guide" lang="{language}" dir="ltr">' in html
    assert title in html
    assert heading in html
    assert 'class="hint"' not in html  # its own language, no fallback notice


@pytest.fixture
def reader_of_a_pack_without_arabic(app: Flask, settings: Settings, tmp_path: Path) -> FlaskClient:
    """A phone on a portal whose pack has no Arabic pages (an older pack, say)."""
    source = tmp_path / "no-arabic"
    shutil.copytree(CONTENT, source)
    for page in source.glob("guides/*/ar.md"):
        page.unlink()
    manifest = source / "pack.toml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(', "ar"', ""), encoding="utf-8"
    )
    install_pack(settings, source, "no-arabic")
    return phone_client(app)


def test_arabic_falls_back_to_french_with_a_notice(
    reader_of_a_pack_without_arabic: FlaskClient,
) -> None:
    reader = reader_of_a_pack_without_arabic
    html = page_text(reader, "/guides/g04-myminfin?lang=ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert '<article class="guide" lang="fr" dir="ltr">' in html
    assert '<p class="hint" role="status">' in html
    index = page_text(reader, "/guides?lang=ar")
    assert '<p class="hint" role="status">' in index
    assert "MyMinfin et Tax-on-web" in index
    assert 'lang="fr" dir="ltr"' in index  # French cards on an Arabic page read left to right


def test_unknown_guide_is_a_404_page(reader: FlaskClient) -> None:
    html = page_text(reader, "/guides/g99-nothing?lang=en", 404)
    assert "We cannot find this page." in html


def test_no_pack_installed_is_a_friendly_page(client: FlaskClient) -> None:
    for url in ["/guides?lang=en", "/guides/search?q=impots&lang=en"]:
        html = page_text(client, url)
        assert "The guides are not here yet." in html
    assert client.get("/guides/media/taxes.svg").status_code == 404


def test_media_serves_pack_images_with_a_strict_policy(reader: FlaskClient) -> None:
    response = reader.get("/guides/media/taxes.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data == (CONTENT / "images" / "taxes.svg").read_bytes()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert response.headers["Cache-Control"] == "public, max-age=86400"


@pytest.mark.parametrize(
    "url",
    [
        "/guides/media/../pack.toml",
        "/guides/media/..%2Fpack.toml",
        "/guides/media/%2e%2e%2fpack.toml",
        "/guides/media/..",
        "/guides/media/pack.toml",
        "/guides/media/unknown.svg",
        "/guides/media/.hidden.svg",
        "/guides/media/TAXES.SVG",
    ],
)
def test_media_refuses_other_files(reader: FlaskClient, url: str) -> None:
    assert reader.get(url).status_code == 404


def test_media_refuses_a_link_in_the_pack(app: Flask, settings: Settings, pack: Path) -> None:
    (pack / "images" / "secret.svg").symlink_to("/etc/hostname")
    assert phone_client(app).get("/guides/media/secret.svg").status_code == 404


def test_guides_are_readable_before_access(reader: FlaskClient, services: Services) -> None:
    """The reader has no grant: the library is on the portal, not behind it."""
    assert reader.get("/api/captive").get_json(force=True)["captive"] is True
    for url in ["/guides", "/guides/g11-emergencies", "/guides/search?q=112"]:
        assert reader.get(url).status_code == 200


def test_header_links_to_the_guides(client: FlaskClient) -> None:
    html = page_text(client, "/lessons?lang=en")
    assert '<a class="header-link" href="/guides?lang=en">' in html
    assert client.get("/static/icons/guides.svg").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/guides?lang=fr",
        "/guides?lang=ar",
        "/guides/g01-eid?lang=ar",
        "/guides/g01-eid?lang=fr",
        "/guides/search?q=itsme&lang=fr",
        "/guides/search?q=allocations+familiales&lang=nl",
    ],
)
def test_page_weight_is_under_30_kb(reader: FlaskClient, url: str) -> None:
    html = page_text(reader, url)
    total = len(html.encode())
    assets = set(re.findall(r'(?:src|href)="(/(?:static|guides/media)/[^"]+)"', html))
    # the pictograms and the stylesheets are counted
    assert {"/static/portal.css", "/static/guides.css"} <= assets
    for asset in assets:
        answer = reader.get(asset)
        assert answer.status_code == 200, asset
        total += len(answer.data)
    assert total < 30_000


def test_print_stylesheet_shows_only_the_guide_and_its_link_addresses() -> None:
    css = (Path(__file__).resolve().parent.parent / "portal/static/guides.css").read_text()
    printed = css.split("@media print", 1)[1]
    for hidden in ["header.site", "footer.site", ".button", ".guide-search"]:
        assert hidden in printed.split("display: none")[0]
    assert 'content: " (" attr(href) ")"' in printed


@pytest.fixture
def hostile_pack(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    source = tmp_path / "hostile"
    shutil.copytree(CONTENT, source)
    page = source / "guides" / "g04-myminfin" / "fr.md"
    page.write_text(
        page.read_text(encoding="utf-8") + "\n" + "\n\n".join(HOSTILE.values()) + "\n",
        encoding="utf-8",
    )
    yield install_pack(settings, source, "hostile")


def test_a_hostile_pack_serves_no_script(app: Flask, hostile_pack: Path) -> None:
    response = phone_client(app).get("/guides/g04-myminfin?lang=fr")
    body = main_part(response.get_data(as_text=True)).split('<div class="guide-body">')[1]
    assert_inert(body.split("</div>")[0])
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_reinstalled_version_with_other_pages_is_served_and_a_removed_guide_is_a_404(
    tmp_path: Path, settings: Settings, firewall: MemoryFirewall
) -> None:
    """Workers cache a pack by its folder: a version number used again with other files
    must not bring back the pages cached under it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from portal.guides import store
    from portal.guides.pack.build import build_pack
    from portal.guides.pack_keys import public_key_text
    from tests.test_guide_packs import make_source

    key = Ed25519PrivateKey.generate()
    settings = settings.replace("guides", trusted_keys=(public_key_text(key.public_key()),))

    def pack(version: str, name: str) -> Path:
        source = make_source(tmp_path / name, version)
        if name == "fewer":
            shutil.rmtree(source / "guides" / "g11-emergencies")
            (source / "images" / "emergency.svg").unlink()
            page = source / "guides" / "g01-eid" / "fr.md"
            page.write_text(page.read_text(encoding="utf-8") + "\nLa nouvelle page.\n")
        build_pack(source, tmp_path / f"{name}.pack", key)
        return tmp_path / f"{name}.pack"

    app = create_app(settings, firewall=firewall, identify=fake_identify)
    try:
        phone = phone_client(app)
        store.install_file(pack("2026.11.1", "first"), settings)
        assert phone.get("/guides/g11-emergencies?lang=fr").status_code == 200
        assert "La nouvelle page." not in page_text(phone, "/guides/g01-eid?lang=fr")
        store.install_file(pack("2026.11.2", "second"), settings)
        store.install_file(pack("2026.11.1", "fewer"), settings)
        assert "La nouvelle page." in page_text(phone, "/guides/g01-eid?lang=fr")
        html = page_text(phone, "/guides/g11-emergencies?lang=en", 404)
        assert "We cannot find this page." in html
        assert "/guides/g11-emergencies" not in page_text(phone, "/guides?lang=fr")
    finally:
        db.close()


def test_a_guide_whose_page_is_missing_on_disk_is_a_404_not_a_500(app: Flask, pack: Path) -> None:
    (pack / "rendered" / "g11-emergencies" / "en.html").unlink()
    html = page_text(phone_client(app), "/guides/g11-emergencies?lang=en", 404)
    assert "We cannot find this page." in html


def test_search_with_its_index_gone_from_disk_finds_nothing_instead_of_a_500(
    app: Flask, pack: Path
) -> None:
    (pack / "search.sqlite3").unlink()
    html = page_text(phone_client(app), "/guides/search?q=impots&lang=en")
    assert "No guide found." in html
