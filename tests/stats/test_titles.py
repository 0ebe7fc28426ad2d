"""Lessons and guides under their titles: on the dashboard and the yearly report in the
officer's language, in the exports beside the slug in the site's language, and a lesson or
guide no longer installed under its slug, said so."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.config import Settings
from portal.guides.library import Guide, GuideLibrary, PageInfo
from portal.guides.render import prepare
from portal.onboarding.lessons import BUNDLED_LESSONS, installed_lessons
from portal.stats.titles import CountedTitle, CountedTitles
from tests.stats.test_publishing import count, exported, values
from tests.test_guides import CONTENT, install_pack

YEAR = "year=2026"
GUIDES = ("g04-myminfin", "g09-commune-cpas")


@pytest.fixture(scope="module")
def two_guides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """content/ with two of its guides, prepared once for the module."""
    folder = tmp_path_factory.mktemp("two-guides") / "content"
    shutil.copytree(CONTENT, folder)
    for guide in (folder / "guides").iterdir():
        if guide.name not in GUIDES:
            shutil.rmtree(guide)
    prepare(folder, Settings())
    return folder


@pytest.fixture
def counted_village(
    commune: FlaskClient, stats_settings: Settings, two_guides: Path
) -> FlaskClient:
    """A March of lessons and guides on a hotspot with the two-guide pack installed."""
    install_pack(stats_settings, two_guides, prepared=True)
    # The onboarding lesson's row is the completions' count: both are counted on one event.
    count("month", "2026-03", "completions", 25)
    count("month", "2026-03", "lessons", 25, label="onboarding")
    count("month", "2026-03", "lessons", 30, label="scams")
    count("month", "2026-03", "lessons", 12, label="eid-card")  # a lesson since removed
    count("month", "2026-03", "guide_views", 40, label="g04-myminfin")
    count("month", "2026-03", "guide_views", 15, label="g02-old-guide")  # not in the pack
    return commune


def row_headers(page: str, caption: str) -> list[str]:
    table = page.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    return [cell.split("</bdi>")[0] for cell in table.split('<th scope="row"><bdi>')[1:]]


def test_the_dashboard_lists_lessons_and_guides_by_title_in_the_officers_language(
    counted_village: FlaskClient,
) -> None:
    english = counted_village.get(f"/admin/stats?{YEAR}&lang=en").get_data(as_text=True)
    assert row_headers(english, "Lessons learned") == [
        "Welcome to the Wi-Fi",
        "Watch out for scams",
        "eid-card (no longer on this hotspot)",
    ]
    assert row_headers(english, "Guides read") == [
        "MyMinfin and Tax-on-web: your taxes online",
        "g02-old-guide (no longer on this hotspot)",
    ]
    dutch = counted_village.get(f"/admin/stats?{YEAR}&lang=nl").get_data(as_text=True)
    assert row_headers(dutch, "Geleerde lessen")[1] == "Pas op voor oplichting"
    assert "MyMinfin en Tax-on-web: uw belastingen online" in dutch


def test_the_yearly_report_lists_them_by_title_too(counted_village: FlaskClient) -> None:
    page = counted_village.get("/admin/stats/report/2026?lang=de").get_data(as_text=True)
    assert "<bdi>Vorsicht vor Betrug</bdi>" in page
    assert "<bdi>MyMinfin und Tax-on-web: Ihre Steuern online</bdi>" in page
    assert "g04-myminfin" not in page and ">scams<" not in page


def test_the_exports_keep_the_slug_and_add_the_title_in_the_site_language(
    counted_village: FlaskClient,
) -> None:
    document = exported(counted_village)
    assert document["tables"]["guide_views.label"]["rows"] == [
        {
            "label": "g04-myminfin",
            "value": 40,
            "title": "MyMinfin et Tax-on-web : vos impôts en ligne",
        },
        {"label": "g02-old-guide", "value": 15, "title": ""},
    ]
    assert values(document["tables"]["lessons.label"]) == [
        ("onboarding", 25),
        ("scams", 30),
        ("eid-card", 12),
    ]
    assert document["tables"]["lessons.label"]["rows"][1]["title"] == "Attention aux arnaques"
    assert "title" not in document["tables"]["visits.month"]["rows"][0]
    lines = counted_village.get(f"/admin/stats/export.csv?{YEAR}").get_data(as_text=True)
    rows = lines.split("\r\n")
    assert "lessons.label,lessons,label,scams,30,count,Attention aux arnaques" in rows
    assert "lessons.label,lessons,label,eid-card,12,count," in rows
    assert "lessons.label,lessons,label,total,67,count," in rows
    assert "visits.month,visits,month,2026-03,<10,count," in rows


def test_the_command_writes_the_same_titles(
    counted_village: FlaskClient,
    stats_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from portal.cli import main

    config = tmp_path / "portal.toml"
    config.write_text(f'[storage]\ndata_dir = "{stats_settings.data_dir}"\n', encoding="utf-8")
    argv = [
        "stats",
        "export",
        "--config",
        str(config),
        "--from",
        "2026-01-01",
        "--to",
        "2026-04-30",
    ]
    assert main([*argv, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["tables"]["lessons.label"]["rows"][1] == {
        "label": "scams",
        "value": 30,
        "title": "Attention aux arnaques",
    }
    assert document == exported(counted_village)


def test_a_guide_without_the_officers_language_falls_back_to_the_sites() -> None:
    def page(language: str, title: str) -> PageInfo:
        return PageInfo(language, title, "", date(2026, 12, 1), ())

    pages = {"fr": page("fr", "Votre pension"), "nl": page("nl", "Uw pensioen")}
    library = GuideLibrary(
        folder=Path("/nonexistent"),
        languages=("fr", "nl"),
        default_language="nl",
        title={},
        guides={"g06-mypension": Guide("g06-mypension", "money-taxes", "pension.svg", pages)},
    )
    languages = ("fr", "nl", "de", "en", "ar", "uk", "tr")
    titles = CountedTitles(installed_lessons(BUNDLED_LESSONS, languages), library, "fr")
    assert titles.title("guide_views", "g06-mypension", "nl") == CountedTitle("Uw pensioen", True)
    assert titles.title("guide_views", "g06-mypension", "uk") == CountedTitle("Votre pension", True)
    assert titles.title("lessons", "scams", "uk") == CountedTitle("Обережно: шахраї", True)
    assert titles.title("visits", "fr", "en") is None  # a language code is no lesson or guide
    without_pack = CountedTitles(installed_lessons(BUNDLED_LESSONS, languages), None, "fr")
    assert without_pack.title("guide_views", "g06-mypension", "fr") == CountedTitle(
        "g06-mypension", False
    )
    assert without_pack.in_default_language("guide_views", "g06-mypension") == ""
