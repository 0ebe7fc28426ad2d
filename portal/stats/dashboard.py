"""What is published for a span: every table of the dashboard, suppressed, in one place.

The dashboard, the CSV and JSON exports and the yearly report all read `published()`, so
their figures are the same by construction; only an export may add noise, before the
suppression (noise first, then totals from the noisy counts, then "<10"), so that what
it hides is decided on the figures it shows.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from portal.stats.noise import Noise
from portal.stats.report import Span, StatsReport
from portal.stats.suppression import Figure, publish_series

COUNTED = ("visits", "devices", "grants", "completions")
"""Counts of people's doings, charted per week and per month, with their totals."""
LABELLED = ("lessons", "guide_views", "visits")
"""Counts per label (lesson, guide, language) over the span."""
TOP = 10
"""Labels listed by name; the rest are added up as one "other" line."""
OTHER = "other"
UNSYNCED = ("visits", "devices", "grants", "completions", "lessons", "guide_views")


@dataclass(frozen=True)
class Table:
    """One published table: rows of (label, figure) and, for counts, their total."""

    key: str
    """What it is: "visits.week", "guide_views.label", "uplink.month", ..."""
    metric: str
    by: str
    """"week", "month", "label" or "unsynced"."""
    rows: list[tuple[str, Figure]]
    total: Figure = None
    has_total: bool = False
    unit: str = "count"
    """"count", "MB" (data volume) or "percent" (uplink availability)."""


@dataclass(frozen=True)
class Published:
    span: Span
    tables: dict[str, Table] = field(default_factory=dict)
    noise: bool = False
    epsilon: float = 0.0

    def __getitem__(self, key: str) -> Table:
        return self.tables[key]


def _series(
    key: str, metric: str, by: str, raw: list[tuple[str, int]], noise: Noise, total: bool = True
) -> Table:
    labels = [label for label, _ in raw]
    figures, summed = publish_series([noise(value) for _, value in raw], total=total)
    return Table(key, metric, by, list(zip(labels, figures, strict=True)), summed, total)


def _top(raw: list[tuple[str, int]]) -> list[tuple[str, int]]:
    if len(raw) <= TOP + 1:
        return raw
    return [*raw[:TOP], (OTHER, sum(value for _, value in raw[TOP:]))]


def _minutes_observed(month: str, today: date) -> int:
    """Minutes of `month` up to the end of `today` (all of it once it is over)."""
    year, number = int(month[:4]), int(month[5:])
    days = calendar.monthrange(year, number)[1]
    if (year, number) == (today.year, today.month):
        days = today.day
    elif (year, number) > (today.year, today.month):
        days = 0
    return days * 24 * 60


def published(
    span: Span, today: date, noise: Noise | None = None, epsilon: float = 0.0
) -> Published:
    """Every table for `span`, suppressed; counts noised first when `noise` is given."""
    noisy: Noise = noise or (lambda count: count)
    report = StatsReport(span)
    tables: dict[str, Table] = {}

    def add(table: Table) -> None:
        tables[table.key] = table

    for metric in COUNTED:
        add(_series(f"{metric}.week", metric, "week", report.weekly(metric), noisy))
        add(_series(f"{metric}.month", metric, "month", report.monthly(metric), noisy))
    for metric in LABELLED:
        add(_series(f"{metric}.label", metric, "label", _top(report.by_label(metric)), noisy))
    # Peaks are largest values: they add up to nothing, so they have no total.
    add(
        _series(
            "peak_devices.month",
            "peak_devices",
            "month",
            report.monthly("peak_devices"),
            noisy,
            total=False,
        )
    )

    # Data volume is not a count of people, but one device's volume is its own: a month's
    # is shown only when that month's device-days are.
    devices = dict(tables["devices.month"].rows)
    volume = [
        (month, None if devices[month] is None else round(value / 1_000_000))
        for month, value in report.monthly("bytes")
    ]
    add(Table("bytes.month", "bytes", "month", volume, unit="MB"))

    availability: list[tuple[str, Figure]] = []
    for month, down in report.monthly("uplink_down_minutes"):
        observed = _minutes_observed(month, today)
        share = None if not observed else round(100 * max(0, observed - down) / observed)
        availability.append((month, share))
    add(Table("uplink.month", "uplink_down_minutes", "month", availability, unit="percent"))

    unsynced = [(metric, StatsReport.unsynced(metric)) for metric in UNSYNCED]
    add(_series("unsynced", "", "unsynced", unsynced, noisy, total=False))
    return Published(span, tables, noise is not None, epsilon)
