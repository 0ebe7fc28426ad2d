"""The commune's statistics pages and exports: one calendar year each, whole weeks from days,
months, labels, "<10", the unsynced rows apart, the same figures on the page, in the files
and from the command line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.config import Settings
from portal.models import StatCount, StatShown, writing
from tests.stats.conftest import pin, stats_desk

YEAR = "year=2026"


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


def exported(client: FlaskClient, query: str = YEAR) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/admin/stats/export.json?{query}")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))  # type: ignore[no-any-return]


def values(table: dict) -> list[tuple[str, object]]:  # type: ignore[type-arg]
    return [(row["label"], row["value"]) for row in table["rows"]]


def test_a_week_adds_up_its_days_and_no_day_is_published(village: FlaskClient) -> None:
    tables = exported(village)["tables"]
    weeks = values(tables["devices.week"])
    assert len(weeks) == 53 and weeks[0] == ("2026-W01", "<10")
    assert weeks[8:11] == [
        ("2026-W09", "<10"),  # nothing counted
        ("2026-W10", 21),  # Monday 2 to Sunday 8 March
        ("2026-W11", 12),
    ]
    assert "total" not in tables["devices.week"]  # the year's total is the month table's
    text = village.get(f"/admin/stats/export.csv?{YEAR}").get_data(as_text=True)
    assert "2026-03-02" not in text and "2026-03-09" not in text


def test_the_week_table_lists_the_weeks_of_the_year_whole(commune: FlaskClient) -> None:
    # 2026-W53 ends on Sunday 3 January 2027, 2026-W01 began on Monday 29 December 2025.
    count("day", "2025-12-29", "devices", 7)
    count("day", "2026-01-01", "devices", 5)
    count("day", "2027-01-03", "devices", 30)
    weeks_2025 = values(exported(commune, "year=2025")["tables"]["devices.week"])
    weeks_2026 = values(exported(commune)["tables"]["devices.week"])
    assert weeks_2025[-1] == ("2026-W01", 12) and weeks_2026[0] == ("2026-W01", 12)
    assert weeks_2026[-1][0] == "2026-W53"


def test_small_months_are_hidden_and_the_total_gives_no_one_back(village: FlaskClient) -> None:
    visits = exported(village)["tables"]["visits.month"]
    assert values(visits)[:5] == [
        ("2026-01", 40),
        ("2026-02", "<10"),
        ("2026-03", 25),
        ("2026-04", 12),  # 80 - 40 - 25 - 12 is February with the eight empty months after it
        ("2026-05", "<10"),
    ]
    assert visits["total"] == 80


def test_a_lone_small_month_under_its_total_takes_the_next_smallest(commune: FlaskClient) -> None:
    for month in range(1, 13):
        count("month", f"2025-{month:02d}", "visits", 3 if month == 5 else 20 + month)
    visits = exported(commune, "year=2025")["tables"]["visits.month"]
    # May = the year - the eleven others: the smallest of them, January, is hidden with it.
    assert values(visits)[:5] == [
        ("2025-01", "<10"),
        ("2025-02", 22),
        ("2025-03", 23),
        ("2025-04", 24),
        ("2025-05", "<10"),
    ]
    assert visits["total"] == 3 + sum(20 + month for month in range(1, 13) if month != 5)


def test_labels_are_summed_over_the_months_largest_first(village: FlaskClient) -> None:
    guides = exported(village)["tables"]["guide_views.label"]
    assert values(guides) == [("g04-myminfin", 30), ("g02-tax", "<10"), ("g09-itsme", "<10")]
    assert guides["total"] == 45


def test_a_period_is_shown_from_the_second_day_after_it_ends(
    village: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin(monkeypatch, date(2026, 12, 1))  # Sunday 29 November is over and settled
    tables = exported(village)["tables"]
    assert values(tables["devices.week"])[-1][0] == "2026-W48"
    assert values(tables["visits.month"])[-1][0] == "2026-10"
    pin(monkeypatch, date(2026, 12, 2))
    tables = exported(village)["tables"]
    assert values(tables["visits.month"])[-1] == ("2026-11", "<10")
    # The year is not over: no total, lesson, guide or language yet, not even those counted.
    assert "total" not in tables["visits.month"]
    assert values(tables["guide_views.label"]) == [] and "total" not in tables["guide_views.label"]
    page = village.get(f"/admin/stats?{YEAR}&lang=en").get_data(as_text=True)
    assert "are shown once the whole year is over: from January 2, 2027." in page
    report = village.get("/admin/stats/report/2026?lang=en").get_data(as_text=True)
    assert "The year so far: January to November" in report and "Guides read" not in report
    pin(monkeypatch, date(2027, 1, 1))
    assert values(exported(village)["tables"]["guide_views.label"]) == []
    pin(monkeypatch, date(2027, 1, 2))
    tables = exported(village)["tables"]
    assert values(tables["guide_views.label"])[0] == ("g04-myminfin", 30)
    assert tables["visits.month"]["total"] == 80


def test_a_figure_shown_once_stays_shown_when_new_data_would_hide_it(
    commune: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # February 2027 is four whole weeks, Monday 1 to Sunday 28: its weeks add up to it.
    for day, devices in (("01", 12), ("08", 3), ("15", 15), ("22", 20)):
        count("day", f"2027-02-{day}", "devices", devices)
    count("month", "2027-02", "devices", 50)
    pin(monkeypatch, date(2027, 2, 10))
    weeks = values(exported(commune, "year=2027")["tables"]["devices.week"])
    assert weeks[0][0] == "2026-W53" and weeks[5] == ("2027-W05", 12)
    pin(monkeypatch, date(2027, 3, 3))
    weeks = values(exported(commune, "year=2027")["tables"]["devices.week"])
    # Week 6 is under 10: February less three of its weeks would give it. Week 5's 12 was
    # shown, so it stays, and the next smallest, week 7, is hidden.
    assert weeks[5:9] == [
        ("2027-W05", 12),
        ("2027-W06", "<10"),
        ("2027-W07", "<10"),
        ("2027-W08", 20),
    ]
    # Without the record of what was shown, the smallest would go: week 5, and week 7 shown.
    with writing():
        StatShown.delete().execute()
    weeks = values(exported(commune, "year=2027")["tables"]["devices.week"])
    assert weeks[5:9] == [
        ("2027-W05", "<10"),
        ("2027-W06", "<10"),
        ("2027-W07", 15),
        ("2027-W08", 20),
    ]


def test_rows_counted_before_the_clock_was_set_stay_apart(village: FlaskClient) -> None:
    document = exported(village)
    assert values(document["tables"]["unsynced"])[:3] == [
        ("visits", 15),  # its hour and its day are the same fifteen, not thirty
        ("devices", "<10"),
        ("grants", "<10"),
    ]
    assert document["unsynced"] == (
        "counted while the clock was not set, or had gone back: dates unknown, in no week or month"
    )


def section_cells(page: str, key: str) -> list[str]:
    section = page.split(f'aria-labelledby="{key.replace(".", "-")}-heading"', 1)[1]
    section = section.split("</section>", 1)[0]
    return [cell.replace("&lt;", "<") for cell in re.findall(r"<td>([^<]*)</td>", section)]


@pytest.mark.parametrize("key", ["visits.month", "devices.week", "guide_views.label"])
def test_the_dashboard_shows_the_export_figures(village: FlaskClient, key: str) -> None:
    page = village.get(f"/admin/stats?{YEAR}").get_data(as_text=True)
    table = exported(village)["tables"][key]
    expected = [str(value) for _, value in values(table)]
    expected += [str(table["total"])] if "total" in table else []
    assert section_cells(page, key) == expected


def test_each_chart_is_an_image_with_a_title_beside_its_table(village: FlaskClient) -> None:
    page = village.get(f"/admin/stats?{YEAR}&lang=en").get_data(as_text=True)
    assert (
        '<svg class="chart" role="img" aria-labelledby="visits-month-title"' in page
        and '<title id="visits-month-title">Visits (start pages opened), per month</title>' in page
    )
    assert "<script" not in page


def test_pages_are_in_the_site_language_or_the_one_asked_for(village: FlaskClient) -> None:
    french = village.get(f"/admin/stats?{YEAR}").get_data(as_text=True).replace("\u00ad", "")
    assert '<html lang="fr" dir="ltr">' in french and "<h1>Statistiques</h1>" in french
    dutch = village.get(f"/admin/stats?{YEAR}&lang=nl").get_data(as_text=True).replace("\u00ad", "")
    assert '<html lang="nl" dir="ltr">' in dutch and "<h1>Statistieken</h1>" in dutch
    unknown = village.get(f"/admin/stats?{YEAR}&lang=xx").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in unknown


def test_the_csv_export_states_its_year_rule_and_noise(village: FlaskClient) -> None:
    response = village.get(f"/admin/stats/export.csv?{YEAR}")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="passerelle-stats-2026.csv"'
    )
    lines = response.get_data(as_text=True).split("\r\n")
    assert lines[:10] == [
        "table,metric,by,label,value,unit,title",
        "about,,,from,2026-01-01,,",
        "about,,,to,2026-12-31,,",
        'about,,,periods,"whole calendar years, periods that are over only: whole ISO weeks '
        "(those with a day in the year, never cut) and whole months that ended on or before "
        "closed_through; totals and labels over the whole year once it is over; a figure "
        'once shown never changes",,',
        "about,,,closed_through,2027-01-04,,",
        "about,,,suppression,\"counts under 10 are shown as '<10', and so are others wherever "
        "a sum or difference of shown figures, of this file or of any other year's, would give "
        'one away",,',
        "about,,,noise,none,,",
        'about,,,unsynced,"counted while the clock was not set, or had gone back: dates unknown, '
        'in no week or month",,',
        "about,,,titles,\"title: the lesson's or guide's title in 'fr'; empty for a lesson or "
        'guide no longer installed, and for other labels",,',
        "about,,,year,2026,,",
    ]
    assert "visits.month,visits,month,2026-02,<10,count," in lines
    assert "visits.month,visits,month,total,80,count," in lines


@pytest.mark.parametrize(
    "path",
    ["/admin/stats?year=20x6", "/admin/stats/export.json?year=1999", "/admin/stats/report/1700"],
)
def test_a_wrong_year_gets_the_error_page_in_the_officers_language(
    village: FlaskClient, path: str
) -> None:
    response = village.get(path)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True).replace("\u00ad", "")
    assert '<html lang="fr" dir="ltr">' in page
    assert (
        "<h1>Nous ne pouvons pas montrer cette année. Choisissez une année de 2020 à 2100.</h1>"
        in page
    )
    english = village.get(f"{path}{'&' if '?' in path else '?'}lang=en").get_data(as_text=True)
    assert "<h1>We cannot show this year. Choose a year from 2020 to 2100.</h1>" in english


def test_a_pdf_without_its_library_gets_the_error_page(
    village: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal import poster
    from portal.resources import MissingLibrary

    def no_library(_html: str) -> bytes:
        raise MissingLibrary("weasyprint needs pango")

    monkeypatch.setattr(poster, "render_pdf", no_library)
    response = village.get("/admin/stats/report/2026.pdf?lang=en")
    assert response.status_code == 503 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1>This hotspot cannot make the PDF. You can print the report page.</h1>" in page
    assert "pango" not in page


def test_export_noise_is_stated_and_stays_out_of_the_dashboard(stats_settings: Settings) -> None:
    noisy = stats_desk(stats_settings.replace("stats", export_epsilon=0.5))
    count("month", "2025-01", "visits", 4, label="fr")
    for month in range(2, 13):
        count("month", f"2025-{month:02d}", "visits", 500, label="fr")
    document = exported(noisy, "year=2025")
    assert document["noise"] == (
        "two-sided geometric (discrete Laplace) noise, epsilon 0.5 per count, added to each "
        "shown count on its own; what is hidden is decided on the counts without noise, and a "
        "noised count under the threshold is hidden too"
    )
    page = noisy.get("/admin/stats?year=2025").get_data(as_text=True)
    on_the_page = section_cells(page, "visits.month")
    # January (4) and, with it, the smallest month that the total would give it by.
    assert on_the_page[:3] == ["<10", "<10", "500"] and on_the_page[-1] == "5504"
    table = document["tables"]["visits.month"]
    in_the_file = [str(value) for _, value in values(table)] + [str(table["total"])]
    assert [figure == "<10" for figure in in_the_file] == [
        figure == "<10" for figure in on_the_page
    ]
    assert all(400 < int(value) < 600 for value in in_the_file[2:-1])
    assert 5400 < int(in_the_file[-1]) < 5600
    # One figure, noised once: the year's visits and its languages' total are the same.
    assert document["tables"]["visits.label"]["total"] == table["total"]
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
        "A page shows one calendar year. It shows whole weeks (Monday to Sunday), whole months",
        "two pages one day apart would give the count of that one day",
        "not from other pages or other years",
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
    count("month", "2024-02", "active_hours", 7)
    quiet = village.get("/admin/stats/report/2024?lang=fr").get_data(as_text=True)
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
    argv = ["stats", "export", "--config", str(config), "--from", "2026-03-01"]
    assert main([*argv, "--to", "2026-04-30", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == exported(village)
    assert main([*argv, "--to", "2026-04-30", "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text == village.get(f"/admin/stats/export.csv?{YEAR}").get_data(as_text=True)
    # A span one day longer: the same year, the same file; nothing to take one from the other.
    assert main([*argv, "--to", "2026-05-01", "--format", "csv"]) == 0
    assert capsys.readouterr().out == csv_text


def test_the_command_writes_every_year_a_span_touches_whole(
    village: FlaskClient,
    stats_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from portal.cli import main

    for month in range(1, 13):
        count("month", f"2025-{month:02d}", "visits", 30)
    config = tmp_path / "portal.toml"
    config.write_text(f'[storage]\ndata_dir = "{stats_settings.data_dir}"\n', encoding="utf-8")
    argv = [
        "stats",
        "export",
        "--config",
        str(config),
        "--from",
        "2025-12-30",
        "--to",
        "2026-01-02",
    ]
    assert main([*argv, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["from"], document["to"]) == ("2025-01-01", "2026-12-31")
    assert [year["year"] for year in document["years"]] == [2025, 2026]
    assert document["years"][0]["tables"] == exported(village, "year=2025")["tables"]
    assert document["years"][1]["tables"] == exported(village)["tables"]
    assert document["total_over_the_years"]["visits"] == 360 + 80
    assert document["total_over_the_years"]["grants"] == "<10"  # no year's total is shown


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
    from tests.stats_year import fill

    with commune.application.app_context():
        fill(date(2026, 12, 2))
    document = exported(commune)
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
    # The year has both: the rule had work to do (December's last weeks counted nothing).
    assert (shown, hidden) == (274, 41)
    rare = dict(values(document["tables"]["guide_views.label"]))
    assert rare["other"] != "<10"  # the long tail of rare guides, added up


def test_uplink_share_and_data_volume_per_month(village: FlaskClient) -> None:
    count("month", "2026-02", "uplink_down_minutes", 4032)  # a tenth of February's minutes
    count("month", "2026-01", "bytes", 5_000_000_000)
    count("month", "2026-02", "bytes", 700_000_000)
    tables = exported(village)["tables"]
    assert values(tables["uplink.month"])[:4] == [
        ("2026-01", 100),
        ("2026-02", 90),
        ("2026-03", 100),
        ("2026-04", 100),
    ]
    # February's three devices are hidden, so is what they downloaded.
    assert values(tables["bytes.month"])[:2] == [("2026-01", 5000), ("2026-02", None)]
    page = village.get(f"/admin/stats?{YEAR}&lang=en").get_data(as_text=True)
    assert section_cells(page, "bytes.month")[:2] == ["5000", "—"]
    assert section_cells(page, "uplink.month")[:2] == ["100 %", "90 %"]


def test_weeks_past_retention_are_not_published_and_the_page_says_so(
    commune: FlaskClient,
) -> None:
    # On 6 January 2027 day rows are kept from 6 December 2025 (13 months).
    count("day", "2025-10-28", "devices", 40)
    count("month", "2025-10", "devices", 400)
    weeks = values(exported(commune, "year=2025")["tables"]["devices.week"])
    assert weeks[0][0] == "2025-W50" and weeks[-1][0] == "2026-W01"
    assert values(exported(commune, "year=2025")["tables"]["devices.month"])[9] == ("2025-10", 400)
    page = commune.get("/admin/stats?year=2025&lang=en").get_data(as_text=True)
    assert "Weeks before December 6, 2025 are no longer kept. Their months are." in page
    assert "no longer kept" not in commune.get("/admin/stats?lang=en").get_data(as_text=True)
