"""The figures a commune reads, straight from the StatCount rows: whole ISO weeks built from
day rows, months from month rows, labels (guides, lessons, languages) over a year's months.

Days are only ever added up into weeks here: no single day is published (a day of a small
village can be one person). Rows counted before the Pi's clock was set are read apart
(`unsynced`): their dates are what a wrong clock said, so they join no week or month.
Everything returned is raw; portal/stats/dashboard.py suppresses it before anyone sees it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from peewee import fn

from portal.models import PERIODS, StatCount

WEEKLY = ("visits", "devices", "grants", "completions", "peak_devices")
"""The metrics weeks are built for: only their day rows are read."""

MAXIMA = frozenset({"peak_devices"})
"""Metrics that are a largest value: a week or a year takes their maximum, never their sum."""


@dataclass(frozen=True)
class Span:
    """The days a report covers, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("a report ends on or after the day it starts")

    @classmethod
    def year(cls, year: int) -> Span:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def years(cls, first: int, last: int) -> Span:
        """1 January of `first` to 31 December of `last`."""
        return cls(date(first, 1, 1), date(last, 12, 31))

    def months(self) -> list[str]:
        """ "YYYY-MM" of every month the span touches, in order."""
        found = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    def weeks(self) -> list[str]:
        """ISO weeks ("2026-W05") with at least one day in the span, in order."""
        found: list[str] = []
        monday = self.first - timedelta(days=self.first.weekday())
        while monday <= self.last:
            found.append(week_of(monday))
            monday += timedelta(days=7)
        return found

    def hours(self) -> int:
        return ((self.last - self.first).days + 1) * 24


class SpanRefused(ValueError):
    """A page's, an export's or a command's year or span is not one; the message says why."""


FIRST_YEAR, LAST_YEAR = 2020, 2100
"""The years a page may be asked for."""


def check_year(year: int) -> int:
    """`year`, when a page may show it."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise SpanRefused(f"year must be from {FIRST_YEAR} to {LAST_YEAR}, got {year}")
    return year


def parse_year(text: str | None, today: date) -> int:
    """?year= as given (YYYY); by default this year."""
    if not text:
        return today.year
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise SpanRefused(f"year must be a year as YYYY, got {text[:20]!r}")
    return check_year(int(text))


def parse_span(first: str | None, last: str | None, today: date) -> list[int]:
    """The years a span of days touches (YYYY-MM-DD, both included; by default 1 January of
    this year to today): figures are published for whole years only."""
    try:
        start = date.fromisoformat(first) if first else date(today.year, 1, 1)
    except ValueError:
        raise SpanRefused(f"from must be a date as YYYY-MM-DD, got {str(first)[:20]!r}") from None
    try:
        end = date.fromisoformat(last) if last else today
    except ValueError:
        raise SpanRefused(f"to must be a date as YYYY-MM-DD, got {str(last)[:20]!r}") from None
    if end < start:
        raise SpanRefused(f"to ({end}) must not come before from ({start})")
    if end.year - start.year > 2:
        raise SpanRefused("from and to may be at most three calendar years apart")
    return list(range(check_year(start.year), check_year(end.year) + 1))


TIMEZONE = "Europe/Brussels"
"""The villagers' clock, which the periods' dates follow (portal.i18n.TIMEZONE too)."""


def today() -> date:
    """Today on the villagers' clock."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def week_of(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def _combine(metric: str) -> Any:
    return fn.MAX(StatCount.value) if metric in MAXIMA else fn.SUM(StatCount.value)


def _rows(query: Any) -> list[tuple[Any, ...]]:
    """A query's rows as tuples (peewee's annotations type them as model instances)."""
    return list(query.tuples())


def monday_of(week: str) -> date:
    """The first day of an ISO week ("2026-W05")."""
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def data_years() -> list[int]:
    """The years of the dated month rows, in order: what the published system covers."""
    year = fn.SUBSTR(StatCount.start, 1, 4)
    query = (
        StatCount.select(year)
        .where((StatCount.period == "month") & (StatCount.synced == 1))
        .distinct()
    )
    return sorted(int(found) for (found,) in _rows(query) if str(found).isdigit())


class StatsReport:
    """Aggregates of StatCount over the whole years of a span (peewee's analytics example):
    one grouped query for the days of its weeks, one for the months and one for the labels
    per year, each run once."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def _dated(self, period: str, metric: str | None = None) -> Any:
        condition = (StatCount.period == period) & (StatCount.synced == 1)
        return condition if metric is None else condition & (StatCount.metric == metric)

    def _per_start(
        self, period: str, first: str, last: str, metrics: tuple[str, ...] | None = None
    ) -> dict[str, dict[str, int]]:
        """{metric: {start: value}} over every metric at once, labels added up (a maximum's
        largest label)."""
        query = (
            StatCount.select(
                StatCount.metric,
                StatCount.start,
                fn.SUM(StatCount.value).alias("total"),
                fn.MAX(StatCount.value).alias("largest"),
            )
            .where(
                self._dated(period),
                StatCount.start.between(first, last),
                True if metrics is None else StatCount.metric.in_(metrics),
            )
            .group_by(StatCount.metric, StatCount.start)
        )
        found: dict[str, dict[str, int]] = {}
        for metric, start, total, largest in _rows(query):
            found.setdefault(metric, {})[start] = int((largest if metric in MAXIMA else total) or 0)
        return found

    @functools.cached_property
    def _days(self) -> dict[str, dict[str, int]]:
        weeks = self.span.weeks()
        first, last = monday_of(weeks[0]), monday_of(weeks[-1]) + timedelta(days=6)
        return self._per_start("day", first.isoformat(), last.isoformat(), WEEKLY)

    @functools.cached_property
    def _months(self) -> dict[str, dict[str, int]]:
        months = self.span.months()
        return self._per_start("month", months[0], months[-1])

    @functools.cached_property
    def _labels(self) -> dict[tuple[str, int], list[tuple[str, int]]]:
        months = self.span.months()
        value = fn.SUM(StatCount.value)
        year = fn.SUBSTR(StatCount.start, 1, 4)
        query = (
            StatCount.select(StatCount.metric, year, StatCount.label, value.alias("value"))
            .where(self._dated("month"), StatCount.start.between(months[0], months[-1]))
            .group_by(StatCount.metric, year, StatCount.label)
            .order_by(StatCount.metric, year, value.desc(), StatCount.label)
        )
        found: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for metric, in_year, label, total in _rows(query):
            found.setdefault((metric, int(in_year)), []).append((str(label), int(total or 0)))
        return found

    def days(self, metric: str) -> dict[date, int]:
        """The metric (one of WEEKLY) per day, all labels together, for building weeks only."""
        return {
            date.fromisoformat(start): value for start, value in self._days.get(metric, {}).items()
        }

    def weekly(self, metric: str, kept_from: date) -> list[tuple[str, int]]:
        """Every ISO week with a day in the span, whole (its days outside the span too), from
        the first that starts on or after `kept_from`, with the metric over its days (0 when
        none was counted). A week of devices is device-days: a day counts each device once."""
        weeks: dict[str, list[int]] = {
            label: [] for label in self.span.weeks() if monday_of(label) >= kept_from
        }
        for day, value in self.days(metric).items():
            if week_of(day) in weeks:
                weeks[week_of(day)].append(value)
        if metric in MAXIMA:
            return [(label, max(values, default=0)) for label, values in weeks.items()]
        return [(label, sum(values)) for label, values in weeks.items()]

    def monthly(self, metric: str) -> list[tuple[str, int]]:
        """Every month the span touches, whole, with the metric (0 when none was counted)."""
        found = self._months.get(metric, {})
        return [(month, found.get(month, 0)) for month in self.span.months()]

    def by_label(self, metric: str, year: int) -> list[tuple[str, int]]:
        """The metric per label (guide, lesson, language) over the months of `year`, largest
        first, then by label."""
        return list(self._labels.get((metric, year), []))

    @staticmethod
    def unsynced(metric: str) -> int:
        """The metric over the rows counted before the clock was set, whatever their date.

        The same events may be filed under several periods (an hour, its day, ...): per
        period they add up to the same figure, so the largest per-period figure is taken,
        never their sum.
        """
        per_period = (
            StatCount.select(StatCount.period, _combine(metric).alias("value"))
            .where((StatCount.synced == 0) & (StatCount.metric == metric))
            .group_by(StatCount.period)
        )
        figures = [int(total or 0) for period, total in _rows(per_period) if period in PERIODS]
        return max(figures, default=0)
