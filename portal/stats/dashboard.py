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
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from portal.models import StatShown, writing
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
    closed: date
    """The last day published: periods ending after it are not over yet (`closed_through`)."""
    tables: dict[str, Table] = field(default_factory=dict)
    noise: bool = False
    epsilon: float = 0.0

    @property
    def span(self) -> Span:
        return Span.year(self.year)

    @property
    def over(self) -> bool:
        """Is the whole year published (its totals and label tables too)?"""
        return date(self.year, 12, 31) <= self.closed

    @property
    def totals_from(self) -> date:
        """The first day the year's totals and label tables are shown."""
        return date(self.year, 12, 31) + SETTLING

    @property
    def through(self) -> date | None:
        """The last day of the last month published; None before the year's first is over."""
        rows = self.tables["visits.month"].rows
        return _month_days(rows[-1][0])[1] if rows else None

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


SETTLING = timedelta(days=2)
"""A period is published once it is over and the next day too, so that the keeper's last
flush of it (just after midnight) is written: its figures never change after that."""


def closed_through(today: date) -> date:
    """The last day whose figures are final."""
    return today - SETTLING


def _key_text(key: Key) -> str:
    return json.dumps(key, separators=(",", ":"))


def _key_of(text: str) -> tuple[Any, ...]:
    return tuple(json.loads(text))


class Ledger:
    """Every count that can be published, over all the data, with the ones hidden.

    Only periods that are over are published (`closed_through`): a week, a month, and a
    year's totals and label tables once the year is over. A published figure then never
    changes, so a page of tomorrow shows nothing of a day that today's page did not. Every
    figure shown is recorded (StatShown) and stays shown: later data may change which
    figures the suppression would choose, and a figure hidden today shown beside one shown
    yesterday could give a third away. The years covered are those from the data's first
    to this one, and the ones asked for (a year without data adds nothing)."""

    def __init__(self, asked: Sequence[int], today: date) -> None:
        counted = sorted({*data_years(), today.year})
        self.years = sorted({*range(counted[0], counted[-1] + 1), *asked})
        self.kept_from = first_day_kept(today)
        self.closed = closed_through(today)
        self.report = StatsReport(Span.years(self.years[0], self.years[-1]))
        self.edges: dict[Key, Edge] = {}
        self.lines: list[Line] = []
        self.labels: dict[tuple[str, int], list[tuple[str, int]]] = {}
        self._noised: dict[Key, Figure] = {}
        for metric in COUNTED:
            self._time(metric)
        for year in self.years:
            if self.over(year):
                self._labelled(year)
        recorded = [(_key_of(row.key), row.value) for row in StatShown.select()]
        self.shown: dict[Key, int] = dict(recorded)
        for key, value in recorded:
            # A week whose days are no longer kept: what it showed is still known.
            if key not in self.edges and key[1] == "week":
                monday = monday_of(str(key[2]))
                self.edges[key] = self._interval(
                    str(key[0]), monday, monday + timedelta(days=6), value
                )
        self.hidden = suppress(self.edges, self.lines, forced=self.shown.keys() & self.edges)

    @staticmethod
    def _interval(metric: str, first: date, last: date, value: int) -> Edge:
        """The figure of `metric` over the days first..last."""
        return Edge(
            Boundary(metric, first.toordinal()),
            Boundary(metric, (last + timedelta(days=1)).toordinal()),
            value,
        )

    def over(self, year: int) -> bool:
        """Is `year` over and settled: its totals and label tables published?"""
        return date(year, 12, 31) <= self.closed

    def months(self, year: int) -> list[str]:
        """The months of `year` that are published: those over."""
        return [month for month in Span.year(year).months() if _month_days(month)[1] <= self.closed]

    def weeks(self, year: int) -> list[str]:
        """The weeks with a day in `year` that are published: over, and their days kept."""
        return [
            week
            for week in Span.year(year).weeks()
            if monday_of(week) >= self.kept_from
            and monday_of(week) + timedelta(days=6) <= self.closed
        ]

    def _time(self, metric: str) -> None:
        years = set(self.years)
        for week, value in self.report.weekly(metric, self.kept_from):
            monday = monday_of(week)
            if monday + timedelta(days=6) > self.closed:
                continue
            if not {monday.year, (monday + timedelta(days=6)).year} & years:
                continue
            self.edges[metric, "week", week] = self._interval(
                metric, monday, monday + timedelta(days=6), value
            )
        values = dict(self.report.monthly(metric))
        for year in self.years:
            months = self.months(year)
            for month in months:
                first, last = _month_days(month)
                self.edges[metric, "month", month] = self._interval(
                    metric, first, last, values[month]
                )
            if self.over(year):
                self.edges[metric, "year", year] = self._interval(
                    metric, date(year, 1, 1), date(year, 12, 31), sum(values[m] for m in months)
                )

    def _labelled(self, year: int) -> None:
        """The year's label tables as chains (suppression.chain) under their totals: visits'
        languages add up to the visits of the year, and the onboarding lesson's row is the
        year's completions (the same events): both ARE the time figures, not copies."""
        visits = _top(self.report.by_label("visits", year))
        self.labels["visits", year] = visits
        total = self.edges[self.label_total_key("visits", year)]
        members = [(("visits", "label", year, label), value) for label, value in visits]
        self.edges.update(chain(total.start, total.end, members, ("visits", year)))
        self.lines.append((total.start, total.end, [key for key, _ in members]))

        lessons = _top(self.report.by_label("lessons", year), named=(ONBOARDING,))
        completions = self.edges[self.label_key("lessons", year, ONBOARDING)]
        lessons[0] = (ONBOARDING, completions.value)
        self.labels["lessons", year] = lessons
        members = [(("lessons", "label", year, label), value) for label, value in lessons[1:]]
        # Without other lessons the total is the completions: the same two boundaries.
        start = ("lessons", year, "start") if members else completions.start
        self.edges["lessons", "total", year] = Edge(
            start, completions.end, sum(value for _, value in lessons)
        )
        self.edges.update(chain(start, completions.start, members, ("lessons", year)))
        named = [key for key, _ in members] + [self.label_key("lessons", year, ONBOARDING)]
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

    def remember(self, keys: Iterable[Key]) -> None:
        """Record the figures among `keys` shown for the first time (see the class)."""
        new = {key for key in keys if key not in self.hidden and key not in self.shown}
        if not new:
            return
        rows = [
            {"key": _key_text(key), "value": self.edges[key].value} for key in sorted(new, key=repr)
        ]
        with writing():
            StatShown.insert_many(rows).on_conflict_ignore().execute()
        self.shown.update((key, self.edges[key].value) for key in new)

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

    @staticmethod
    def label_key(metric: str, year: int, label: str) -> Key:
        if metric == "lessons" and label == ONBOARDING:
            return ("completions", "year", year)
        return (metric, "label", year, label)

    @staticmethod
    def label_total_key(metric: str, year: int) -> Key:
        if metric == "visits":
            return ("visits", "year", year)
        return (metric, "total", year)


def published(
    year: int,
    today: date,
    noise: Noise | None = None,
    epsilon: float = 0.0,
    ledger: Ledger | None = None,
) -> Published:
    """Every table of `year`, suppressed over all the data (`ledger`, made when not given);
    shown counts noised when `noise` is given. What it shows is recorded (Ledger.remember)."""
    found = ledger or Ledger([year], today)
    tables: dict[str, Table] = {}
    keys: list[Key] = []

    def add(table: Table) -> None:
        tables[table.key] = table

    def figure(key: Key) -> Figure:
        keys.append(key)
        return found.figure(key, noise)

    weeks, months = found.weeks(year), found.months(year)

    def monthly(metric: str) -> list[tuple[str, int]]:
        """The year's months of a metric, from the ledger's one query for all months."""
        values = dict(found.report.monthly(metric))
        return [(month, values[month]) for month in months]

    for metric in COUNTED:
        rows = [(week, figure((metric, "week", week))) for week in weeks]
        add(Table(f"{metric}.week", metric, "week", rows))
        rows = [(month, figure((metric, "month", month))) for month in months]
        over = found.over(year)
        total = figure((metric, "year", year)) if over else None
        add(Table(f"{metric}.month", metric, "month", rows, total, has_total=over))
    for metric in LABELLED:
        labels = found.labels.get((metric, year), [])
        rows = [(label, figure(found.label_key(metric, year, label))) for label, _ in labels]
        total = figure(found.label_total_key(metric, year)) if labels else None
        add(Table(f"{metric}.label", metric, "label", rows, total, has_total=bool(labels)))
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
        first, last = _month_days(month)
        observed = ((last - first).days + 1) * 24 * 60
        share = round(100 * max(0, observed - down) / observed)
        availability.append((month, share))
    add(Table("uplink.month", "uplink_down_minutes", "month", availability, unit="percent"))

    unsynced = primary([noisy(StatsReport.unsynced(metric)) for metric in UNSYNCED])
    add(Table("unsynced", "", "unsynced", list(zip(UNSYNCED, unsynced, strict=True))))
    found.remember(keys)
    return Published(year, found.kept_from, found.closed, tables, noise is not None, epsilon)
