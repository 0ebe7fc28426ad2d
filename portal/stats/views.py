"""The commune's pages: the /stats dashboard, its CSV and JSON exports, the printable yearly
report (HTML and PDF) and the methodology page.

Every page and export is one calendar year (`?year=`, this year by default), whole: the
figures are fixed quantities (portal/stats/dashboard.py), never cut to a span of days.

A blueprint for the admin app, which registers it for the `commune` role; the portal the
villagers reach never does. Pages are in the admin app's language (`?lang=`, the browser's,
the site's), lessons and guides under their titles (portal/stats/titles.py). Every figure
comes from portal/stats/dashboard.py, suppressed; only the exports may carry noise
([stats] export_epsilon).
"""

from __future__ import annotations

import calendar
import logging
from datetime import date
from typing import Any

from flask import Blueprint, Response, g, render_template, request, url_for
from flask_babel import format_date, get_locale, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal.admin.app import admin_services, error_page
from portal.i18n import NATIVE_NAMES
from portal.resources import MissingLibrary, bundled
from portal.stats.charts import bar_chart
from portal.stats.dashboard import OTHER, Table, published
from portal.stats.export import MEDIA_TYPES, render
from portal.stats.noise import noise_for
from portal.stats.report import (
    FIRST_YEAR,
    LAST_YEAR,
    Span,
    SpanRefused,
    StatsReport,
    check_year,
    parse_year,
    today,
)
from portal.stats.suppression import HIDDEN_TEXT, THRESHOLD, Figure, primary
from portal.stats.titles import CountedTitles

log = logging.getLogger(__name__)

stats = Blueprint("stats", __name__, url_prefix="/stats")

TITLES = {
    "visits": _l("Visits (start pages opened)"),
    "devices": _l("Devices (device-days)"),
    "grants": _l("Internet access given"),
    "completions": _l("First lesson finished"),
    "lessons.label": _l("Lessons learned"),
    "guide_views.label": _l("Guides read"),
    "visits.label": _l("Languages chosen"),
    "peak_devices.month": _l("Most devices at the same time"),
    "bytes.month": _l("Data volume (MB)"),
    "uplink.month": _l("Internet available (percent of the time)"),
    "unsynced": _l("Counted before the clock was set"),
}
BY = {"week": _l("per week"), "month": _l("per month")}


@stats.context_processor
def stats_context() -> dict[str, object]:
    return {
        "hidden_text": HIDDEN_TEXT,
        "this_year": today().year,
        "first_year": FIRST_YEAR,
        "last_year": LAST_YEAR,
        "format_date": format_date,
    }


@stats.errorhandler(SpanRefused)
def year_refused(_error: SpanRefused) -> tuple[str, int]:
    message = gettext(
        "We cannot show this year. Choose a year from %(first)s to %(last)s.",
        first=FIRST_YEAR,
        last=LAST_YEAR,
    )
    return error_page(400, message)


def _year() -> int:
    return parse_year(request.args.get("year"), today())


def figure_text(figure: Figure, unit: str = "count") -> str:
    if figure is None:  # a count hidden, or a volume or share not shown with it
        return HIDDEN_TEXT if unit == "count" else "—"
    return f"{figure} %" if unit == "percent" else str(figure)


def counted_titles() -> CountedTitles:
    """The titles of the lessons and guides on this hotspot, once per request."""
    if "counted_titles" not in g:
        g.counted_titles = CountedTitles.installed(admin_services().settings)
    titles: CountedTitles = g.counted_titles
    return titles


def row_label(table: Table, label: str) -> str:
    """A row's label as the reader says it: a month's name, a language's own name, a
    lesson's or a guide's title, ..."""
    if table.by == "month":
        return str(format_date(date(int(label[:4]), int(label[5:]), 1), "MMM yyyy"))
    if table.by == "week":
        return label
    if label == OTHER:
        return str(_l("Other"))
    if table.metric == "visits":
        return NATIVE_NAMES.get(label, label)
    if table.by == "unsynced":
        return str(TITLES.get(label) or TITLES.get(f"{label}.label") or label)
    title = counted_titles().title(table.metric, label, str(get_locale()))
    if title is not None and not title.installed:
        return str(_l("%(name)s (no longer on this hotspot)", name=title.text))
    return label if title is None else title.text


def axis_label(table: Table, label: str) -> str:
    if table.by == "week":
        return label[5:]  # "W05"
    if table.by == "month":
        return str(format_date(date(int(label[:4]), int(label[5:]), 1), "MMM"))
    return row_label(table, label)


def title_of(table: Table) -> str:
    if table.key in TITLES:
        return str(TITLES[table.key])
    return f"{TITLES[table.metric]}, {BY[table.by]}"


def chart_of(table: Table) -> Markup:
    bars = [(axis_label(table, label), figure) for label, figure in table.rows]
    return bar_chart(table.key.replace(".", "-"), title_of(table), bars)


HELPERS = {
    "chart_of": chart_of,
    "title_of": title_of,
    "row_label": row_label,
    "figure_text": figure_text,
}


@stats.get("")
def dashboard() -> str:
    year = _year()
    figures = published(year, today())
    return render_template(
        "admin/stats/dashboard.html",
        figures=figures,
        year=year,
        weeks_cut=Span.year(year).first < figures.kept_from,
        language=str(get_locale()),
        **HELPERS,
    )


def _export(format_: str) -> Response:
    epsilon = admin_services().settings.stats.export_epsilon
    year = _year()
    figures = published(year, today(), noise_for(epsilon) if epsilon else None, epsilon)
    name = f"passerelle-stats-{year}.{format_}"
    return Response(
        render([figures], format_, counted_titles()),
        mimetype=MEDIA_TYPES[format_].split(";")[0],
        headers={
            "Content-Type": MEDIA_TYPES[format_],
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@stats.get("/export.csv")
def export_csv() -> Response:
    return _export("csv")


@stats.get("/export.json")
def export_json() -> Response:
    return _export("json")


@stats.get("/methodology")
def methodology() -> str:
    epsilon = admin_services().settings.stats.export_epsilon
    return render_template("admin/stats/methodology.html", threshold=THRESHOLD, epsilon=epsilon)


def yearly_context(year: int) -> dict[str, Any]:
    """What the yearly report shows, in the words of the Walloon EPN evaluations."""
    span = Span.year(check_year(year))
    now = today()
    figures = published(year, now)
    # Over the months published, as every figure of the report: a count of hours that grew
    # every day would give a day's.
    months = {label for label, _ in figures["visits.month"].rows}
    hours = sum(calendar.monthrange(year, int(month[5:]))[1] * 24 for month in months)
    report = StatsReport(span)

    def over_months(metric: str) -> int:
        return sum(value for month, value in report.monthly(metric) if month in months)

    down = over_months("uplink_down_minutes")
    # Each day's hours with a device, added up from the month rows: kept for good, where
    # the hour rows are kept 7 days. A count like any other, under 10 hidden.
    [active_hours] = primary([over_months("active_hours")])
    return {
        "figures": figures,
        "year": year,
        "span": span,
        "hours_up": max(0, hours - round(down / 60)),
        "hours_observed": hours,
        "active_hours": active_hours,
        "printed": format_date(now, "long"),
        **HELPERS,
    }


@stats.get("/report/<int:year>")
def yearly_report(year: int) -> str:
    return render_template("admin/stats/report.html", **yearly_context(year))


@stats.get("/report/<int:year>.pdf")
def yearly_report_pdf(year: int) -> Response | tuple[str, int]:
    from portal.poster import render_pdf

    css = Markup(bundled("static", "admin", "admin.css").read_text(encoding="utf-8"))  # noqa: S704 — package data
    html = render_template("admin/stats/report.html", inline_css=css, **yearly_context(year))
    # The layout's link to the stylesheet: the PDF has it inline, and fetches nothing.
    link = f'<link rel="stylesheet" href="{url_for("static", filename="admin.css")}">'
    html = html.replace(link, "", 1)
    try:
        pdf = render_pdf(html)
    except MissingLibrary as error:
        log.warning("no PDF of the yearly report: %s", error)
        message = gettext("This hotspot cannot make the PDF. You can print the report page.")
        return error_page(503, message)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="passerelle-{year}.pdf"'},
    )
