"""The commune's statistics pages and exports: weeks from days, months, labels, "<10", the
unsynced rows apart, the same figures on the page, in the files and from the command line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.config import Settings
from portal.models import StatCount, writing
from tests.stats.conftest import stats_desk

SPAN = "from=2026-01-01&to=2026-04-30"


def count(
    period: str, start: str, metric: str, value: int, label: str = "", synced: int = 1
) -> None:
    with writing():
        StatCount.create(
            period=period, start=start, synced=synced, metric=metric, label=label, value=value
        )


@pytest.fixture
def village(commune: FlaskClient) -> FlaskClient:
    """Four months of a small village, a week of days, and a morning before the clock was set."""
    for month, visits in (("2026-01", 40), ("2026-02", 3), ("2026-03", 25), ("2026-04", 12)):
        count("month", month, "visits", visits, label="fr")
        count("month", month, "devices", visits)
    count("month", "2026-03", "guide_views", 30, label="g04-myminfin")
    count("month", "2026-03", "guide_views", 4, label="g09-itsme")
    count("month", "2026-03", "guide_views", 11, label="g02-tax")
    for day in range(2, 9):  # Monday 2 to Sunday 8 March: ISO week 10
        count("day", f"2026-03-{day:02d}", "devices", 3)
    count("day", "2026-03-09", "devices", 12)  # Monday of week 11
    count("day", "1970-01-01", "visits", 15, label="fr", synced=0)
    count("hour", "1970-01-01T00", "visits", 15, label="fr", synced=0)
    count("day", "1970-01-01", "devices", 6, synced=0)
    return commune


def exported(client: FlaskClient, query: str = SPAN) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/admin/stats/export.json?{query}")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))  # type: ignore[no-any-return]


def values(table: dict) -> list[tuple[str, object]]:  # type: ignore[type-arg]
    return [(row["label"], row["value"]) for row in table["rows"]]


def test_a_week_adds_up_its_days_and_no_day_is_published(village: FlaskClient) -> None:
    tables = exported(village, "from=2026-03-01&to=2026-03-15")["tables"]
    assert values(tables["devices.week"]) == [
        ("2026-W09", "<10"),  # Sunday 1 March alone: nothing counted
        ("2026-W10", 21),
        ("2026-W11", "<10"),  # 12, hidden with it: the total would give the 0 away
    ]
    assert tables["devices.week"]["total"] == 33
    text = village.get("/admin/stats/export.csv?from=2026-03-01&to=2026-03-15").get_data(
        as_text=True
    )
    assert "2026-03-02" not in text and "2026-03-09" not in text


def test_small_months_are_hidden_with_the_next_smallest_under_a_total(village: FlaskClient) -> None:
    visits = exported(village)["tables"]["visits.month"]
    assert values(visits) == [
        ("2026-01", 40),
        ("2026-02", "<10"),
        ("2026-03", 25),
        ("2026-04", "<10"),  # 12 alone would be 80 - 40 - 25 - (3)
    ]
    assert visits["total"] == 80


def test_labels_are_summed_over_the_months_largest_first(village: FlaskClient) -> None:
    guides = exported(village)["tables"]["guide_views.label"]
    assert values(guides) == [("g04-myminfin", 30), ("g02-tax", "<10"), ("g09-itsme", "<10")]
    assert guides["total"] == 45


def test_rows_counted_before_the_clock_was_set_stay_apart(village: FlaskClient) -> None:
    document = exported(village, "from=1970-01-01&to=1970-12-31")
    assert values(document["tables"]["unsynced"])[:3] == [
        ("visits", 15),  # its hour and its day are the same fifteen, not thirty
        ("devices", "<10"),
        ("grants", "<10"),
    ]
    assert values(document["tables"]["visits.month"])[0] == ("1970-01", "<10")
    assert document["unsynced"] == (
        "counted while the clock was not set, or had gone back: dates unknown, in no week or month"
    )


def section_cells(page: str, key: str) -> list[str]:
    section = page.split(f'aria-labelledby="{key.replace(".", "-")}-heading"', 1)[1]
    section = section.split("</section>", 1)[0]
    return [cell.replace("&lt;", "<") for cell in re.findall(r"<td>([^<]*)</td>", section)]


@pytest.mark.parametrize("key", ["visits.month", "devices.week", "guide_views.label"])
def test_the_dashboard_shows_the_export_figures(village: FlaskClient, key: str) -> None:
    page = village.get(f"/admin/stats?{SPAN}").get_data(as_text=True)
    table = exported(village)["tables"][key]
    expected = [str(value) for _, value in values(table)] + [str(table["total"])]
    assert section_cells(page, key) == expected


def test_each_chart_is_an_image_with_a_title_beside_its_table(village: FlaskClient) -> None:
    page = village.get(f"/admin/stats?{SPAN}&lang=en").get_data(as_text=True)
    assert (
        '<svg class="chart" role="img" aria-labelledby="visits-month-title"' in page
        and '<title id="visits-month-title">Visits (start pages opened), per month</title>' in page
    )
    assert "<script" not in page


def test_pages_are_in_the_site_language_or_the_one_asked_for(village: FlaskClient) -> None:
    french = village.get(f"/admin/stats?{SPAN}").get_data(as_text=True).replace("\u00ad", "")
    assert '<html lang="fr" dir="ltr">' in french and "<h1>Statistiques</h1>" in french
    dutch = village.get(f"/admin/stats?{SPAN}&lang=nl").get_data(as_text=True).replace("\u00ad", "")
    assert '<html lang="nl" dir="ltr">' in dutch and "<h1>Statistieken</h1>" in dutch
    unknown = village.get(f"/admin/stats?{SPAN}&lang=xx").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in unknown


def test_the_csv_export_states_its_span_rule_and_noise(village: FlaskClient) -> None:
    response = village.get(f"/admin/stats/export.csv?{SPAN}")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="passerelle-stats-2026-01-01-2026-04-30.csv"'
    )
    lines = response.get_data(as_text=True).split("\r\n")
    assert lines[:5] == [
        "table,metric,by,label,value,unit,title",
        "about,,,from,2026-01-01,,",
        "about,,,to,2026-04-30,,",
        "about,,,suppression,counts under 10 shown as <10,,",
        "about,,,noise,none,,",
    ]
    assert "visits.month,visits,month,2026-02,<10,count," in lines
    assert "visits.month,visits,month,total,80,count," in lines


def test_a_wrong_date_is_refused_in_one_sentence(village: FlaskClient) -> None:
    response = village.get("/admin/stats/export.json?from=2026-02-30")
    assert response.status_code == 400
    assert response.get_data(as_text=True) == (
        "from must be a date as YYYY-MM-DD, got '2026-02-30'\n"
    )
    backwards = village.get("/admin/stats?from=2026-03-01&to=2026-02-01")
    assert (
        backwards.get_data(as_text=True)
        == "to (2026-02-01) must not come before from (2026-03-01)\n"
    )


def test_export_noise_is_stated_and_stays_out_of_the_dashboard(stats_settings: Settings) -> None:
    noisy = stats_desk(stats_settings.replace("stats", export_epsilon=0.5))
    for month in ("2026-01", "2026-02", "2026-03"):
        count("month", month, "visits", 500, label="fr")
    document = exported(noisy, "from=2026-01-01&to=2026-03-31")
    assert document["noise"] == (
        "two-sided geometric (discrete Laplace) noise, epsilon 0.5 per count, added before "
        "suppression; totals are sums of the noised counts"
    )
    figures = [value for _, value in values(document["tables"]["visits.month"])]
    assert document["tables"]["visits.month"]["total"] == sum(figures)  # type: ignore[arg-type]
    page = noisy.get("/admin/stats?from=2026-01-01&to=2026-03-31").get_data(as_text=True)
    assert section_cells(page, "visits.month") == ["500", "500", "500", "1500"]
    method = noisy.get("/admin/stats/methodology?lang=en").get_data(as_text=True)
    assert "epsilon 0.5" in method


def test_the_methodology_page_says_what_is_kept_and_for_how_long(commune: FlaskClient) -> None:
    page = commune.get("/admin/stats/methodology?lang=en").get_data(as_text=True)
    for words in (
        "HMAC",
        "kept only in memory",
        "Figures per hour: 7 days. Figures per day: 13 months.",
        "the hours with at least one visitor",
        "(MAC), its Internet address (IP), its browser (user agent)",
        "No noise is added",
    ):
        assert words in page


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        (
            "en",
            "When the portal restarts, it makes a new key: the old one was only in memory. "
            "A device seen before and after a restart on the same day is then counted twice "
            "that day. So the number of devices can be a little too high, never too low.",
        ),
        (
            "fr",
            "Quand le portail redémarre, il crée une nouvelle clé\u202f: l\u2019ancienne était "
            "seulement en mémoire. Un appareil vu avant et après un redémarrage le même jour "
            "compte alors deux fois ce jour-là. Le nombre d\u2019appareils peut donc être un peu "
            "trop haut, jamais trop bas.",
        ),
    ],
)
def test_the_methodology_page_says_a_restart_counts_a_device_twice_that_day(
    commune: FlaskClient, lang: str, sentence: str
) -> None:
    page = commune.get(f"/admin/stats/methodology?lang={lang}").get_data(as_text=True)
    assert f"<p>{sentence}</p>" in page


def test_the_yearly_report_sums_the_year(village: FlaskClient) -> None:
    page = village.get("/admin/stats/report/2026?lang=en").get_data(as_text=True)
    assert "<h1>Yearly report 2026</h1>" in page
    assert '<tr><th scope="row">Visits</th><td>80</td></tr>' in page
    assert '<tr><th scope="row">Guides read</th><td>45</td></tr>' in page
    assert village.get("/admin/stats/report/1700").status_code == 404


def test_the_yearly_report_counts_the_hours_with_a_visitor_over_the_whole_year(
    village: FlaskClient,
) -> None:
    # Months long past, whose hour rows (kept 7 days) are gone: their days' active hours stay.
    count("month", "2026-01", "active_hours", 41)
    count("month", "2026-03", "active_hours", 23)
    count("month", "2025-12", "active_hours", 50)  # another year
    count("hour", "2026-03-04T10", "devices", 2)  # an hour row counts nothing here
    page = village.get("/admin/stats/report/2026?lang=en").get_data(as_text=True)
    assert '<tr><th scope="row">Hours with at least one visitor</th><td>64</td></tr>' in page
    count("month", "2027-02", "active_hours", 7)
    quiet = village.get("/admin/stats/report/2027?lang=fr").get_data(as_text=True)
    assert '<tr><th scope="row">Heures avec au moins un visiteur</th><td>&lt;10</td></tr>' in quiet


def test_the_yearly_report_prints_as_a_pdf(village: FlaskClient, tmp_path: Path) -> None:
    response = village.get("/admin/stats/report/2026.pdf?lang=fr")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Rapport annuel 2026" in text
    assert "Visites" in text


def test_the_command_writes_what_the_page_exports(
    village: FlaskClient,
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
    assert json.loads(capsys.readouterr().out) == exported(village)
    assert main([*argv, "--format", "csv"]) == 0
    assert capsys.readouterr().out == village.get(f"/admin/stats/export.csv?{SPAN}").get_data(
        as_text=True
    )


def test_the_command_refuses_a_wrong_date_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from portal.cli import EXIT_REFUSED, main

    config = tmp_path / "portal.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    code = main(["stats", "export", "--config", str(config), "--from", "2026-13-01"])
    assert code == EXIT_REFUSED
    assert capsys.readouterr().err == (
        "statistics: from must be a date as YYYY-MM-DD, got '2026-13-01'\n"
    )


def test_over_a_year_of_village_data_no_shown_count_is_under_ten(commune: FlaskClient) -> None:
    from datetime import date

    from tests.stats_year import fill

    with commune.application.app_context():
        fill(date(2026, 12, 2))
    document = exported(commune, "from=2025-12-01&to=2026-12-02")
    shown = hidden = 0
    for table in document["tables"].values():
        if table["unit"] != "count":
            continue
        figures = [row["value"] for row in table["rows"]] + [table.get("total", "<10")]
        for figure in figures:
            if figure == "<10":
                hidden += 1
            else:
                assert figure >= 10
                shown += 1
    assert (shown, hidden) == (311, 9)  # the year has both: the rule had work to do
    rare = dict(values(document["tables"]["guide_views.label"]))
    assert rare["other"] != "<10"  # the long tail of rare guides, added up


def test_uplink_share_and_data_volume_per_month(village: FlaskClient) -> None:
    count("month", "2026-02", "uplink_down_minutes", 4032)  # a tenth of February's minutes
    count("month", "2026-01", "bytes", 5_000_000_000)
    count("month", "2026-02", "bytes", 700_000_000)
    tables = exported(village)["tables"]
    assert values(tables["uplink.month"]) == [
        ("2026-01", 100),
        ("2026-02", 90),
        ("2026-03", 100),
        ("2026-04", 100),
    ]
    # February's three devices are hidden, so is what they downloaded.
    assert values(tables["bytes.month"])[:2] == [("2026-01", 5000), ("2026-02", None)]
    page = village.get(f"/admin/stats?{SPAN}&lang=en").get_data(as_text=True)
    assert section_cells(page, "bytes.month")[:2] == ["5000", "—"]
    assert section_cells(page, "uplink.month")[:2] == ["100 %", "90 %"]
