"""A year of a village hotspot's statistics, as the counting would leave it, for tests and the
dashboard benchmark: StatCount rows of every period, seeded so every run gets the same.

The shape is a small Walloon village: busy Tuesday to Friday mornings (the EPN's hours),
quiet Sundays, a dip in July and August; mostly French, some Dutch, German, English,
Arabic, Ukrainian and Turkish; a few popular guides and lessons and a long tail of rare
ones (small counts, so the suppression has work to do); a few uplink outages; a morning
counted before the clock was set. Hour rows for the last 7 days, day rows for 13 months,
month and year rows for everything, as the retention rules keep them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

from portal.models import StatCount, writing

LESSONS = ("onboarding", "digital-keys", "scams", "video-calls", "human-help", "touchscreen")
GUIDES = tuple(f"g{number:02d}-guide" for number in range(1, 19))
LANGUAGES = {"fr": 0.78, "nl": 0.05, "de": 0.04, "en": 0.05, "ar": 0.04, "uk": 0.03, "tr": 0.01}
WEEKDAY_FACTOR = (0.6, 1.3, 1.4, 1.3, 1.2, 0.7, 0.3)
"""Monday to Sunday."""
SEASON = {7: 0.6, 8: 0.55, 12: 0.85}


Key = tuple[str, str, int, str, str]


def _split(rng: random.Random, total: int, weights: dict[str, float]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    names, shares = list(weights), list(weights.values())
    for name in rng.choices(names, shares, k=total):
        counts[name] += 1
    return counts


def year_of_rows(last: date, seed: int = 13) -> dict[Key, int]:
    """Every row's value for the 13 months up to `last` (a year and a month of days)."""
    rng = random.Random(seed)  # noqa: S311 — test data, not a secret
    rows: dict[Key, int] = defaultdict(int)
    first = date(last.year - 1, last.month, 1)
    guide_weights = {slug: 1 / (rank + 1) ** 1.3 for rank, slug in enumerate(GUIDES)}
    lesson_weights = {slug: 1 / (rank + 1) for rank, slug in enumerate(LESSONS[1:])}
    day = first
    while day <= last:
        factor = WEEKDAY_FACTOR[day.weekday()] * SEASON.get(day.month, 1.0)
        devices = max(0, round(rng.gauss(22 * factor, 4)))
        visits = devices + rng.randint(0, devices // 2 + 1)
        grants = round(devices * rng.uniform(0.7, 0.9))
        completions = round(grants * rng.uniform(0.3, 0.5))
        values = {
            "devices": devices,
            "grants": grants,
            "completions": completions,
            "searches": rng.randint(0, devices),
            "bytes": devices * rng.randint(60, 250) * 1_000_000,
            "uplink_down_minutes": rng.choice([0] * 40 + [5, 20, 90, 300]),
            "peak_devices": min(devices, rng.randint(2, 12)),
        }
        labelled = {
            "visits": _split(rng, visits, LANGUAGES),
            "guide_views": _split(rng, rng.randint(0, devices), guide_weights),
            "lessons": {
                "onboarding": completions,
                **_split(rng, rng.randint(0, devices // 3), lesson_weights),
            },
        }
        periods = [
            ("day", day.isoformat()),
            ("month", day.isoformat()[:7]),
            ("year", str(day.year)),
        ]
        for period, start in periods:
            for metric, value in values.items():
                key = (period, start, 1, metric, "")
                rows[key] = max(rows[key], value) if metric == "peak_devices" else rows[key] + value
            for metric, counts in labelled.items():
                for label, value in counts.items():
                    rows[period, start, 1, metric, label] += value
        if (last - day).days < 7:
            for hour in range(24):
                open_now = 8 <= hour <= 20
                hourly = rng.randint(0, max(1, devices // 4)) if open_now else 0
                rows["hour", f"{day.isoformat()}T{hour:02d}", 1, "devices", ""] = hourly
        day += timedelta(days=1)
    # A morning after a power cut without Internet: the clock said 1970.
    for period, start in (("hour", "1970-01-01T00"), ("day", "1970-01-01")):
        rows[period, start, 0, "devices", ""] = 6
        rows[period, start, 0, "visits", "fr"] = 7
        rows[period, start, 0, "grants", ""] = 5
    return dict(rows)


def fill(last: date, seed: int = 13) -> int:
    """Write a year of rows up to `last` into the open database; returns how many."""
    rows = [
        {"period": p, "start": s, "synced": y, "metric": m, "label": label, "value": value}
        for (p, s, y, m, label), value in year_of_rows(last, seed).items()
    ]
    with writing():
        for chunk in range(0, len(rows), 500):
            StatCount.insert_many(rows[chunk : chunk + 500]).execute()
    return len(rows)
