"""What is published for a calendar year: every table of the dashboard, suppressed, in one
place.

Only fixed quantities are published, the same whatever is asked: whole ISO weeks, whole
months, labels over a whole year, totals of whole years. Which of them are hidden is decided
once over ALL the data (`Ledger`: every kept week, every month and every year of every
metric, and the label tables of every year, as one system of edges, portal/stats/suppression.py),
so that no page, and no set of pages together, lets a hidden count be worked out; a year's
page shows its slice.

The dashboard, the CSV and JSON exports and the yearly report all read `published()`, so
their figures are the same by construction. Only an export may add noise: to the figures
shown, each on its own; what is hidden is decided on the counts without it, the same as
on the dashboard, and a noised count under 10 is hidden too.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from portal.onboarding.lessons import ONBOARDING
from portal.stats.noise import Noise
from portal.stats.report import Span, StatsReport, data_years, monday_of
from portal.stats.retention import first_day_kept
from portal.stats.suppression import (
    THRESHOLD,
    Boundary,
    Edge,
    Figure,
    Key,
    Line,
    chain,
    primary,
    suppress,
)

COUNTED = ("visits", "devices", "grants", "completions")
"""Counts of people's doings, charted per week and per month, with the year's total."""
LABELLED = ("lessons", "guide_views", "visits")
"""Counts per label (lesson, guide, language) over a year."""
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
    year: int
    kept_from: date
    """Weeks starting before this day are not published: their days are no longer kept."""
    tables: dict[str, Table] = field(default_factory=dict)
    noise: bool = False
    epsilon: float = 0.0

    @property
    def span(self) -> Span:
        return Span.year(self.year)

    def __getitem__(self, key: str) -> Table:
        return self.tables[key]


def _month_days(month: str) -> tuple[date, date]:
    year, number = int(month[:4]), int(month[5:])
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def _top(raw: list[tuple[str, int]], named: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """`named` labels first (0 when not counted), then the largest others up to TOP in all,
    the rest added up as OTHER (unless it is one label: then by its name)."""
    values = dict(raw)
    first = [(label, values.get(label, 0)) for label in named]
    others = [(label, value) for label, value in raw if label not in named]
    room = TOP - len(first)
    if len(others) <= room + 1:
        return first + others
    return [*first, *others[:room], (OTHER, sum(value for _, value in others[room:]))]


class Ledger:
    """Every count that can be published, over all the data, with the ones hidden.

    The years covered are those from the data's first to this one, and the ones asked for
    (a year without data adds only zeros, hidden already, so it changes nothing elsewhere)."""

    def __init__(self, asked: Sequence[int], today: date) -> None:
        counted = sorted({*data_years(), today.year})
        self.years = sorted({*range(counted[0], counted[-1] + 1), *asked})
        self.kept_from = first_day_kept(today)
        self.tomorrow = today + timedelta(days=1)
        self.report = StatsReport(Span.years(self.years[0], self.years[-1]))
        self.edges: dict[Key, Edge] = {}
        self.lines: list[Line] = []
        self.labels: dict[tuple[str, int], list[tuple[str, int]]] = {}
        self._noised: dict[Key, Figure] = {}
        for metric in COUNTED:
            self._time(metric)
        for year in self.years:
            self._labelled(year)
        self.hidden = suppress(self.edges, self.lines)

    def _interval(self, metric: str, first: date, last: date, value: int) -> Edge:
        """The figure of `metric` over the days first..last. Days after today are known to
        everybody to count nothing, so their boundaries are all tomorrow's: a week or a
        month not over yet is what it is, its days so far."""

        def boundary(day: date) -> Boundary:
            return Boundary(metric, min(day, self.tomorrow).toordinal())

        return Edge(boundary(first), boundary(last + timedelta(days=1)), value)

    def _time(self, metric: str) -> None:
        years = set(self.years)
        for week, value in self.report.weekly(metric, self.kept_from):
            monday = monday_of(week)
            if not {monday.year, (monday + timedelta(days=6)).year} & years:
                continue
            self.edges[metric, "week", week] = self._interval(
                metric, monday, monday + timedelta(days=6), value
            )
        months = [
            (month, value)
            for month, value in self.report.monthly(metric)
            if int(month[:4]) in years
        ]
        for month, value in months:
            self.edges[metric, "month", month] = self._interval(metric, *_month_days(month), value)
        for year in self.years:
            total = sum(value for month, value in months if month.startswith(f"{year:04d}-"))
            self.edges[metric, "year", str(year)] = self._interval(
                metric, date(year, 1, 1), date(year, 12, 31), total
            )

    def _labelled(self, year: int) -> None:
        """The year's label tables as chains (suppression.chain) under their totals: visits'
        languages add up to the visits of the year, and the onboarding lesson's row is the
        year's completions (the same events): both ARE the time figures, not copies."""
        visits = _top(self.report.by_label("visits", year))
        self.labels["visits", year] = visits
        total = self.edges["visits", "year", str(year)]
        members = [(("visits", "label", year, label), value) for label, value in visits]
        self.edges.update(chain(total.start, total.end, members, ("visits", year)))
        self.lines.append((total.start, total.end, [key for key, _ in members]))

        lessons = _top(self.report.by_label("lessons", year), named=(ONBOARDING,))
        completions = self.edges["completions", "year", str(year)]
        lessons[0] = (ONBOARDING, completions.value)
        self.labels["lessons", year] = lessons
        members = [(("lessons", "label", year, label), value) for label, value in lessons[1:]]
        # Without other lessons the total is the completions: the same two boundaries.
        start = ("lessons", year, "start") if members else completions.start
        self.edges["lessons", "total", year] = Edge(
            start, completions.end, sum(value for _, value in lessons)
        )
        self.edges.update(chain(start, completions.start, members, ("lessons", year)))
        named = [key for key, _ in members] + [("completions", "year", str(year))]
        self.lines.append((start, completions.end, named))

        guides = _top(self.report.by_label("guide_views", year))
        self.labels["guide_views", year] = guides
        start, end = ("guide_views", year, "start"), ("guide_views", year, "end")
        self.edges["guide_views", "total", year] = Edge(
            start, end, sum(value for _, value in guides)
        )
        members = [(("guide_views", "label", year, label), value) for label, value in guides]
        self.edges.update(chain(start, end, members, ("guide_views", year)))
        self.lines.append((start, end, [key for key, _ in members]))

    def figure(self, key: Key, noise: Noise | None = None) -> Figure:
        """A figure as published: None when hidden, noised when asked (and hidden when the
        noise takes it under THRESHOLD). A figure is noised once a ledger, so one figure on
        several tables or years (the visits of a year and its languages' total, a week of two
        years) is the same everywhere in one file."""
        if key in self.hidden:
            return None
        value = self.edges[key].value
        if noise is None:
            return value
        if key not in self._noised:
            noised = noise(value)
            self._noised[key] = None if noised < THRESHOLD else noised
        return self._noised[key]

    def label_key(self, metric: str, year: int, label: str) -> Key:
        if metric == "lessons" and label == ONBOARDING:
            return ("completions", "year", str(year))
        return (metric, "label", year, label)

    def label_total_key(self, metric: str, year: int) -> Key:
        return ("visits", "year", str(year)) if metric == "visits" else (metric, "total", year)


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
    year: int,
    today: date,
    noise: Noise | None = None,
    epsilon: float = 0.0,
    ledger: Ledger | None = None,
) -> Published:
    """Every table of `year`, suppressed over all the data (`ledger`, made when not given);
    shown counts noised when `noise` is given."""
    found = ledger or Ledger([year], today)
    tables: dict[str, Table] = {}

    def add(table: Table) -> None:
        tables[table.key] = table

    def figure(key: Key) -> Figure:
        return found.figure(key, noise)

    weeks = [week for week in Span.year(year).weeks() if monday_of(week) >= found.kept_from]
    months = Span.year(year).months()

    def monthly(metric: str) -> list[tuple[str, int]]:
        """The year's months of a metric, from the ledger's one query for all months."""
        values = dict(found.report.monthly(metric))
        return [(month, values[month]) for month in months]

    for metric in COUNTED:
        rows = [(week, figure((metric, "week", week))) for week in weeks]
        add(Table(f"{metric}.week", metric, "week", rows))
        rows = [(month, figure((metric, "month", month))) for month in months]
        total = figure((metric, "year", str(year)))
        add(Table(f"{metric}.month", metric, "month", rows, total, has_total=True))
    for metric in LABELLED:
        rows = [
            (label, figure(found.label_key(metric, year, label)))
            for label, _ in found.labels[metric, year]
        ]
        total = figure(found.label_total_key(metric, year))
        add(Table(f"{metric}.label", metric, "label", rows, total, has_total=True))
    # Peaks are largest values: they add up to nothing, so they have no total.
    peaks = monthly("peak_devices")
    noisy = noise or (lambda count: count)
    figures = primary([noisy(value) for _, value in peaks])
    add(
        Table(
            "peak_devices.month", "peak_devices", "month", list(zip(months, figures, strict=True))
        )
    )

    # Data volume is not a count of people, but one device's volume is its own: a month's
    # is shown only when that month's device-days are.
    devices = dict(tables["devices.month"].rows)
    volume = [
        (month, None if devices[month] is None else round(value / 1_000_000))
        for month, value in monthly("bytes")
    ]
    add(Table("bytes.month", "bytes", "month", volume, unit="MB"))

    availability: list[tuple[str, Figure]] = []
    for month, down in monthly("uplink_down_minutes"):
        observed = _minutes_observed(month, today)
        share = None if not observed else round(100 * max(0, observed - down) / observed)
        availability.append((month, share))
    add(Table("uplink.month", "uplink_down_minutes", "month", availability, unit="percent"))

    unsynced = primary([noisy(StatsReport.unsynced(metric)) for metric in UNSYNCED])
    add(Table("unsynced", "", "unsynced", list(zip(UNSYNCED, unsynced, strict=True))))
    return Published(year, found.kept_from, tables, noise is not None, epsilon)
