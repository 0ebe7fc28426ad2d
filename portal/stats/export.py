"""The published tables as CSV or JSON: the dashboard's figures, hidden the same way ("<10"),
with the span, the suppression rule and the noise (when on) stated in the file itself.

Keys and labels are the data's own (metric names, ISO weeks, months, slugs, language codes),
the same in every language; `portal stats export` and the /stats/export routes both write this.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from portal.stats.dashboard import Published
from portal.stats.report import SpanRefused, parse_span
from portal.stats.suppression import HIDDEN_TEXT, THRESHOLD, Figure

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
UNSYNCED_NOTE = "counted before the clock was set: dates unknown, in no week or month"


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


def as_json(published: Published) -> str:
    document: dict[str, Any] = {
        "from": published.span.first.isoformat(),
        "to": published.span.last.isoformat(),
        "suppression": f"counts under {THRESHOLD} are shown as {HIDDEN_TEXT!r}, and so is the "
        "next smallest count of a row or column whose total would give one away",
        "noise": noise_statement(published),
        "unsynced": UNSYNCED_NOTE,
        "tables": {
            key: {
                "metric": table.metric,
                "by": table.by,
                "unit": table.unit,
                "rows": [
                    {"label": label, "value": _value(figure, table.unit)}
                    for label, figure in table.rows
                ],
                **({"total": _value(table.total, table.unit)} if table.has_total else {}),
            }
            for key, table in published.tables.items()
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def as_csv(published: Published) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["table", "metric", "by", "label", "value", "unit"])
    about = [
        ("from", published.span.first.isoformat()),
        ("to", published.span.last.isoformat()),
        ("suppression", f"counts under {THRESHOLD} shown as {HIDDEN_TEXT}"),
        ("noise", noise_statement(published)),
        ("unsynced", UNSYNCED_NOTE),
    ]
    for label, text in about:
        writer.writerow(["about", "", "", label, text, ""])
    for key, table in published.tables.items():
        for label, figure in table.rows:
            value = _value(figure, table.unit)
            writer.writerow(
                [key, table.metric, table.by, label, "" if value is None else value, table.unit]
            )
        if table.has_total:
            writer.writerow(
                [key, table.metric, table.by, "total", _value(table.total, table.unit), table.unit]
            )
    return out.getvalue()


def render(published: Published, format_: str) -> str:
    return as_csv(published) if format_ == "csv" else as_json(published)


__all__ = ["FORMATS", "MEDIA_TYPES", "SpanRefused", "as_csv", "as_json", "parse_span", "render"]
