"""The published tables as CSV or JSON: the dashboard's figures, hidden the same way ("<10"),
with the span, the suppression rule and the noise (when on) stated in the file itself.

Keys and labels are the data's own (metric names, ISO weeks, months, slugs, language codes),
the same in every language; a lesson's or guide's title comes beside its slug, in the site's
default language (portal/stats/titles.py). `portal stats export` and the /stats/export
routes both write this.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from portal.stats.dashboard import Published
from portal.stats.report import SpanRefused, parse_span
from portal.stats.suppression import HIDDEN_TEXT, THRESHOLD, Figure
from portal.stats.titles import TITLED, CountedTitles

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
UNSYNCED_NOTE = (
    "counted while the clock was not set, or had gone back: dates unknown, in no week or month"
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
        "count, added before suppression; totals are sums of the noised counts"
    )


def as_json(published: Published, titles: CountedTitles) -> str:
    document: dict[str, Any] = {
        "from": published.span.first.isoformat(),
        "to": published.span.last.isoformat(),
        "suppression": f"counts under {THRESHOLD} are shown as {HIDDEN_TEXT!r}, and so is the "
        "next smallest count of a row or column whose total would give one away",
        "noise": noise_statement(published),
        "unsynced": UNSYNCED_NOTE,
        "titles": titles_note(titles),
        "tables": {
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
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def as_csv(published: Published, titles: CountedTitles) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["table", "metric", "by", "label", "value", "unit", "title"])
    about = [
        ("from", published.span.first.isoformat()),
        ("to", published.span.last.isoformat()),
        ("suppression", f"counts under {THRESHOLD} shown as {HIDDEN_TEXT}"),
        ("noise", noise_statement(published)),
        ("unsynced", UNSYNCED_NOTE),
        ("titles", titles_note(titles)),
    ]
    for label, text in about:
        writer.writerow(["about", "", "", label, text, "", ""])
    for key, table in published.tables.items():
        for label, figure in table.rows:
            value = _value(figure, table.unit)
            title = titles.in_default_language(table.metric, label)
            cell = "" if value is None else value
            writer.writerow([key, table.metric, table.by, label, cell, table.unit, title])
        if table.has_total:
            total = _value(table.total, table.unit)
            writer.writerow([key, table.metric, table.by, "total", total, table.unit, ""])
    return out.getvalue()


def render(published: Published, format_: str, titles: CountedTitles) -> str:
    return as_csv(published, titles) if format_ == "csv" else as_json(published, titles)


__all__ = ["FORMATS", "MEDIA_TYPES", "SpanRefused", "as_csv", "as_json", "parse_span", "render"]
