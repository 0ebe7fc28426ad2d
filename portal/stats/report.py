"""The figures a commune reads, straight from the StatCount rows: ISO weeks built from day
rows, months from month rows, labels (guides, lessons, languages) over the months.

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
        day = self.first
        while day <= self.last:
            label = week_of(day)
            if not found or found[-1] != label:
                found.append(label)
            day += timedelta(days=1)
        return found

    def hours(self) -> int:
        return ((self.last - self.first).days + 1) * 24


class SpanRefused(ValueError):
    """An export's or a page's from/to is not a span of days; the message says why."""


def parse_span(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """from/to as given (YYYY-MM-DD, both included); by default 1 January of this year to today."""
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
    if (end - start).days > 3 * 366:
        raise SpanRefused("from and to may be at most three years apart")
    return start, end


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


class StatsReport:
    """Aggregates of StatCount over one span (peewee's analytics example): one grouped query
    for the days, one for the months and one for the months' labels, each run once."""

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
        first, last = self.span.first.isoformat(), self.span.last.isoformat()
        return self._per_start("day", first, last, WEEKLY)

    @functools.cached_property
    def _months(self) -> dict[str, dict[str, int]]:
        months = self.span.months()
        return self._per_start("month", months[0], months[-1])

    @functools.cached_property
    def _labels(self) -> dict[str, list[tuple[str, int]]]:
        months = self.span.months()
        value = fn.SUM(StatCount.value)
        query = (
            StatCount.select(StatCount.metric, StatCount.label, value.alias("value"))
            .where(self._dated("month"), StatCount.start.between(months[0], months[-1]))
            .group_by(StatCount.metric, StatCount.label)
            .order_by(StatCount.metric, value.desc(), StatCount.label)
        )
        found: dict[str, list[tuple[str, int]]] = {}
        for metric, label, total in _rows(query):
            found.setdefault(metric, []).append((str(label), int(total or 0)))
        return found

    def days(self, metric: str) -> dict[date, int]:
        """The metric (one of WEEKLY) per day, all labels together, for building weeks only."""
        return {
            date.fromisoformat(start): value for start, value in self._days.get(metric, {}).items()
        }

    def weekly(self, metric: str) -> list[tuple[str, int]]:
        """Every ISO week of the span with the metric over its days in the span (0 when none
        was counted). A week of devices is device-days: a day counts each device once."""
        weeks: dict[str, list[int]] = {label: [] for label in self.span.weeks()}
        for day, value in self.days(metric).items():
            weeks[week_of(day)].append(value)
        if metric in MAXIMA:
            return [(label, max(values, default=0)) for label, values in weeks.items()]
        return [(label, sum(values)) for label, values in weeks.items()]

    def monthly(self, metric: str) -> list[tuple[str, int]]:
        """Every month the span touches, whole, with the metric (0 when none was counted)."""
        found = self._months.get(metric, {})
        return [(month, found.get(month, 0)) for month in self.span.months()]

    def by_label(self, metric: str) -> list[tuple[str, int]]:
        """The metric per label (guide, lesson, language) over the span's months, largest
        first, then by label."""
        return list(self._labels.get(metric, []))

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
