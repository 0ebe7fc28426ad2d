"""How long statistics are kept: hours 7 days, days 13 months, months and years for good.

Run by the housekeeping (portal/housekeeping.py `upkeep`). Periods are compared as their
`start` text, which sorts like time ("2026-12-03T14" < "2026-12-04"). Rows counted before
the clock was synchronised are judged by the date the clock gave them too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from portal.models import StatCount, writing

HOURS_KEPT_DAYS = 7
DAYS_KEPT_MONTHS = 13


def months_before(moment: datetime, months: int) -> str:
    """The month `months` before the month of `moment`, as "YYYY-MM"."""
    index = moment.year * 12 + moment.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def oldest_day_kept(today: date) -> str:
    """The `start` of the oldest day row kept on `today`: the same day 13 months before (a
    day that month lacks, like 31 February, keeps the month's last days)."""
    return months_before(datetime(today.year, today.month, today.day), DAYS_KEPT_MONTHS) + (
        today.strftime("-%d")
    )


def first_day_kept(today: date) -> date:
    """The first whole day whose day rows are still kept on `today`: weeks before it are
    not published (their days are gone or going), their months are."""
    year, month = int(oldest_day_kept(today)[:4]), int(oldest_day_kept(today)[5:7])
    try:
        return date(year, month, today.day)
    except ValueError:  # 31 February: the rows of 28 February were deleted too
        return date(year + month // 12, month % 12 + 1, 1)


def forget_old_counts(now: datetime) -> int:
    """Delete hourly rows older than 7 days and daily rows older than 13 months (local
    time `now`); returns how many."""
    oldest_hour = (now - timedelta(days=HOURS_KEPT_DAYS)).strftime("%Y-%m-%dT%H")
    oldest_day = oldest_day_kept(now.date())
    with writing():
        hours = StatCount.delete().where(
            (StatCount.period == "hour") & (StatCount.start < oldest_hour)
        )
        days = StatCount.delete().where(
            (StatCount.period == "day") & (StatCount.start < oldest_day)
        )
        return int(hours.execute()) + int(days.execute())
