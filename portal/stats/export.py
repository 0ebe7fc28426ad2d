"""The published tables as CSV or JSON: the dashboard's figures, hidden the same way ("<10"),
with the year, the suppression rule and the noise (when on) stated in the file itself.

A file holds whole calendar years, one after the other (the dashboard's exports: one; `portal
stats export`: every year its span touches). With several years, a total over them is
shown only when every year's total in it is shown, so it tells nothing the years do not.
Keys and labels are the data's own (metric names, ISO weeks, months, slugs, language codes),
the same in every language; a lesson's or guide's title comes beside its slug, in the site's
default language (portal/stats/titles.py). `portal stats export` and the /stats/export
routes both write this.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from portal.stats.dashboard import COUNTED, Published
from portal.stats.suppression import HIDDEN_TEXT, THRESHOLD, Figure
from portal.stats.titles import TITLED, CountedTitles

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
UNSYNCED_NOTE = (
    "counted while the clock was not set, or had gone back: dates unknown, in no week or month"
)
SUPPRESSION = (
    f"counts under {THRESHOLD} are shown as {HIDDEN_TEXT!r}, and so are others wherever a sum "
    "or difference of shown figures, of this file or of any other year's, would give one away"
)
PERIODS = (
    "whole calendar years, periods that are over only: whole ISO weeks (those with a day in "
    "the year, never cut) and whole months that ended on or before closed_through; totals "
    "and labels over the whole year once it is over; a figure once shown never changes"
)


def titles_note(titles: CountedTitles) -> str:
    return (
        f"title: the lesson's or guide's title in {titles.default_language!r}; empty for a "
        "lesson or guide no longer installed, and for other labels"
    )


def _value(figure: Figure, unit: str) -> int | str | None:
    if figure is None:  # a volume or a share is not a count: left empty, never "<10"
        return HIDDEN_TEXT if unit == "count" else None
    return figure


def noise_statement(published: Published) -> str:
    if not published.noise:
        return "none"
    return (
        f"two-sided geometric (discrete Laplace) noise, epsilon {published.epsilon:g} per "
        "count, added to each shown count on its own; what is hidden is decided on the counts "
        "without noise, and a noised count under the threshold is hidden too"
    )


def over_the_years(years: Sequence[Published]) -> dict[str, Figure]:
    """Each counted metric's total over `years`: shown only when every year's total is."""
    found: dict[str, Figure] = {}
    for metric in COUNTED:
        totals = [published[f"{metric}.month"].total for published in years]
        found[metric] = None if None in totals else sum(total or 0 for total in totals)
    return found


def _tables(published: Published, titles: CountedTitles) -> dict[str, Any]:
    return {
        key: {
            "metric": table.metric,
            "by": table.by,
            "unit": table.unit,
            "rows": [
                {
                    "label": label,
                    "value": _value(figure, table.unit),
                    **(
                        {"title": titles.in_default_language(table.metric, label)}
                        if table.metric in TITLED
                        else {}
                    ),
                }
                for label, figure in table.rows
            ],
            **({"total": _value(table.total, table.unit)} if table.has_total else {}),
        }
        for key, table in published.tables.items()
    }


def as_json(years: Sequence[Published], titles: CountedTitles) -> str:
    document: dict[str, Any] = {
        "from": years[0].span.first.isoformat(),
        "to": years[-1].span.last.isoformat(),
        "periods": PERIODS,
        "closed_through": years[0].closed.isoformat(),
        "suppression": SUPPRESSION,
        "noise": noise_statement(years[0]),
        "unsynced": UNSYNCED_NOTE,
        "titles": titles_note(titles),
    }
    if len(years) == 1:
        document["year"] = years[0].year
        document["tables"] = _tables(years[0], titles)
    else:
        document["years"] = [
            {"year": published.year, "tables": _tables(published, titles)} for published in years
        ]
        document["total_over_the_years"] = {
            metric: _value(total, "count") for metric, total in over_the_years(years).items()
        }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def as_csv(years: Sequence[Published], titles: CountedTitles) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["table", "metric", "by", "label", "value", "unit", "title"])
    about = [
        ("from", years[0].span.first.isoformat()),
        ("to", years[-1].span.last.isoformat()),
        ("periods", PERIODS),
        ("closed_through", years[0].closed.isoformat()),
        ("suppression", SUPPRESSION),
        ("noise", noise_statement(years[0])),
        ("unsynced", UNSYNCED_NOTE),
        ("titles", titles_note(titles)),
    ]
    for label, text in about:
        writer.writerow(["about", "", "", label, text, "", ""])
    for published in years:
        # Every year's tables after its own "year" line: keys repeat from one year to the next.
        writer.writerow(["about", "", "", "year", published.year, "", ""])
        for key, table in published.tables.items():
            for label, figure in table.rows:
                value = _value(figure, table.unit)
                title = titles.in_default_language(table.metric, label)
                cell = "" if value is None else value
                writer.writerow([key, table.metric, table.by, label, cell, table.unit, title])
            if table.has_total:
                total = _value(table.total, table.unit)
                writer.writerow([key, table.metric, table.by, "total", total, table.unit, ""])
    if len(years) > 1:
        span = f"{years[0].year}-{years[-1].year}"
        for metric, total in over_the_years(years).items():
            writer.writerow(
                [f"{metric}.years", metric, "years", span, _value(total, "count"), "count", ""]
            )
    return out.getvalue()


def render(years: Sequence[Published], format_: str, titles: CountedTitles) -> str:
    """`years` (one Published each, in order) as a CSV or JSON document."""
    return as_csv(years, titles) if format_ == "csv" else as_json(years, titles)


__all__ = ["FORMATS", "MEDIA_TYPES", "as_csv", "as_json", "render"]
