"""The counts in memory between two flushes, and the flush: one transaction that adds them.

Unique devices are told apart by HMAC(key, MAC) under a key made with `secrets` when the
day begins and wiped at its end: it is never written anywhere, so yesterday's digests
cannot be linked to today's, nor to a MAC. The day's and the hour's sets hold those
digests and nothing else, and are emptied when their period ends.

Crash safety: what was flushed is in the database; what was not is only in memory. A flush
adds the increments in ONE transaction (upsert: value + increment) and forgets them only
once it has committed, so a crash loses at most the counts since the last flush and never
counts one twice. Unique devices are written as a level, not an increment: the period's
base (its value in the database when the keeper met the period) plus the size of its set,
never lowering what is stored.

Active hours (hours with at least one device) are counted when an hour gets its first
device: one more in its day, month and year, added in the same transaction as the hour's
devices row. So an hour whose devices row is stored was counted, and one whose row is not
was not: a keeper that meets the hour again (a flush, a restart after a crash) counts it
only if its base is 0, never twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter

from peewee import EXCLUDED, fn

from portal.access.firewall import Clock
from portal.gatekeeper.protocol import normalise_mac
from portal.models import StatCount, writing
from portal.stats.clock import Periods, SyncCheck, clock_synchronised, periods_of
from portal.stats.events import check_count

Row = tuple[str, str, int, str, str]
"""A StatCount's key: period, start, synced, metric, label."""
KEY_BYTES = 32
DIGEST_BYTES = 16
"""Enough to tell a day's devices apart (collisions: 1 in 2^64 for 2^32 devices)."""
SUMMED = ("month", "year")
"""Periods whose devices are device-days: the sum of the days' unique devices."""
ACTIVE_HOUR_PERIODS = ("day", "month", "year")
"""Periods that count their hours with at least one device (an hour has no hours)."""


class DaySet:
    """The devices seen in one period: digests under the day's key, and the base."""

    def __init__(self, start: str, synced: int, base: int) -> None:
        self.start = start
        self.synced = synced
        self.base = base
        self.seen: set[bytes] = set()

    def covers(self, start: str, synced: int) -> bool:
        return self.start == start and self.synced == synced

    @property
    def level(self) -> int:
        return self.base + len(self.seen)


class Tally:
    """Counts for every period, held until `flush`; safe to call from several threads.

    The keeper process holds the one Tally of a running portal; tests and the in-process
    app use one directly (it is a `portal.stats.events.Counting`)."""

    def __init__(self, clock: Clock = time.time, synced: SyncCheck = clock_synchronised) -> None:
        self._clock = clock
        self._synced_check = synced
        self._lock = threading.RLock()
        self._added: Counter[Row] = Counter()
        self._peaks: dict[Row, int] = {}
        self._levels: dict[Row, int] = {}
        self._key = bytearray(secrets.token_bytes(KEY_BYTES))
        self._day: DaySet | None = None
        self._hour: DaySet | None = None
        self._set_aside: tuple[bytearray, DaySet, DaySet] | None = None
        """The dated day's key and sets while a clock stepped back counts apart."""
        self._believed = bool(synced())
        self._latest: str | None = None
        """The latest hour counted as dated (synced=1), read from the database at first."""
        self.synced = int(self._believed)
        self._minute = -1
        self._current = periods_of(0)

    # --- what is counted ---

    def refresh_clock(self) -> None:
        """Ask again whether the clock is synchronised (the keeper does so every minute)."""
        with self._lock:
            self._believed = bool(self._synced_check())
            self._minute = -1  # `synced` is worked out again at the next count

    def count(self, metric: str, label: str = "", device: str | None = None) -> None:
        checked = check_count(metric, label, device)
        with self._lock:
            self.add(checked.metric, 1, checked.label)
            if checked.mac is not None:
                self.device(checked.mac)

    def add(self, metric: str, amount: int, label: str = "") -> None:
        """`amount` more of `metric` in the current hour, day, month and year."""
        if amount <= 0:
            return
        with self._lock:
            for row in self._rows(self._periods(), metric, label):
                self._added[row] += amount

    def peak(self, devices: int) -> None:
        """Devices with access right now: each period keeps its largest."""
        with self._lock:
            for row in self._rows(self._periods(), "peak_devices", ""):
                self._peaks[row] = max(self._peaks.get(row, 0), devices)

    def device(self, mac: str) -> None:
        """A device seen now: one more unique device in the hour and the day if new there."""
        message = normalise_mac(mac).encode("ascii")
        with self._lock:
            periods = self._periods()
            hour, day = self._roll(periods)
            digest = hmac.new(self._key, message, hashlib.sha256).digest()[:DIGEST_BYTES]
            for period, current in (("hour", hour), ("day", day)):
                if digest in current.seen:
                    continue
                current.seen.add(digest)
                self._levels[(period, current.start, current.synced, "devices", "")] = current.level
                if current is day:  # a new device of the day: one more device-day
                    for summed in SUMMED:
                        start = periods.starts()[summed]
                        self._added[(summed, start, self.synced, "devices", "")] += 1
                elif current.level == 1:  # the hour's first device: one more active hour
                    for counted in ACTIVE_HOUR_PERIODS:
                        start = periods.starts()[counted]
                        self._added[(counted, start, self.synced, "active_hours", "")] += 1

    def _periods(self) -> Periods:
        # The same for a whole minute (hours, even with a quarter-hour time zone, begin on
        # one), so it is worked out once a minute, not at every event.
        minute = int(self._clock() // 60)
        if minute != self._minute:
            self._minute, self._current = minute, periods_of(minute * 60)
            self.synced = int(self._dated(self._current.hour))
        return self._current

    def _dated(self, hour: str) -> bool:
        """Are counts of `hour` dated (synced=1)? Only on a synchronised clock that has not
        stepped back behind the latest hour already counted as dated: an hour, a day the
        clock left is never added to again. What a clock stepped back counts is kept apart
        (synced=0) until it is back in that hour."""
        if not self._believed:
            return False
        if self._latest is None:
            self._latest = _latest_dated_hour()
        if hour < self._latest:  # hours sort like time: "2026-12-03T09" < "2026-12-03T14"
            return False
        self._latest = hour
        return True

    def _rows(self, periods: Periods, metric: str, label: str) -> list[Row]:
        starts = periods.starts().items()
        return [(period, start, self.synced, metric, label) for period, start in starts]

    def _roll(self, periods: Periods) -> tuple[DaySet, DaySet]:
        """A new day (or the clock now synchronised): a new key, an empty set; a new hour: an
        empty set. The old key is overwritten in place, so no copy of it lingers here. A
        dated day left for counts kept apart is set aside, not wiped (`_dated`), until the
        clock comes back to it or reaches a midnight."""
        if self._day is not None and self._hour is not None and self._day.synced > self.synced:
            # Dated no more (the clock stepped back): the dated day waits, with its key, for
            # the clock to come back to it, so that its devices are not counted again then.
            self._wipe_set_aside()
            self._set_aside = (self._key, self._day, self._hour)
            self._key, self._day, self._hour = bytearray(KEY_BYTES), None, None
        elif self._set_aside is not None and self.synced:
            key, day, hour = self._set_aside
            if day.covers(periods.day, self.synced):
                self._set_aside = None
                self._wipe_current()
                if self._hour is not None:
                    self._hour.seen.clear()
                self._key, self._day, self._hour = key, day, hour
            else:
                self._wipe_set_aside()
        if self._day is None or not self._day.covers(periods.day, self.synced):
            if self._day is not None:  # midnight on the clock that stepped back: no key
                self._wipe_set_aside()  # outlives a midnight
            self._wipe_current()
            self._key = bytearray(secrets.token_bytes(KEY_BYTES))
            self._day = DaySet(periods.day, self.synced, self._base("day", periods.day))
        if self._hour is None or not self._hour.covers(periods.hour, self.synced):
            if self._hour is not None:
                self._hour.seen.clear()
            self._hour = DaySet(periods.hour, self.synced, self._base("hour", periods.hour))
        return self._hour, self._day

    def _wipe_current(self) -> None:
        """Overwrite the key in place and empty the day's set (the hour's is the caller's)."""
        for index in range(len(self._key)):
            self._key[index] = 0
        if self._day is not None:
            self._day.seen.clear()

    def _wipe_set_aside(self) -> None:
        if self._set_aside is not None:
            key, day, hour = self._set_aside
            for index in range(len(key)):
                key[index] = 0
            day.seen.clear()
            hour.seen.clear()
            self._set_aside = None

    def _base(self, period: str, start: str) -> int:
        row: Row = (period, start, self.synced, "devices", "")
        if row in self._levels:
            return self._levels[row]
        stored = StatCount.get_or_none(
            StatCount.period == period,
            StatCount.start == start,
            StatCount.synced == self.synced,
            StatCount.metric == "devices",
            StatCount.label == "",
        )
        return int(stored.value) if stored is not None else 0

    def forget(self) -> None:
        """Wipe the key in place and empty everything held: for a copy of the Tally that a
        fork left in a process that must not hold it."""
        with self._lock:
            self._wipe_current()
            self._wipe_set_aside()
            if self._hour is not None:
                self._hour.seen.clear()
            self._day = self._hour = None
            self._added.clear()
            self._peaks.clear()
            self._levels.clear()

    # --- the flush ---

    def pending(self) -> int:
        """How many rows the next flush writes."""
        with self._lock:
            return len(self._added) + len(self._peaks) + len(self._levels)

    def flush(self) -> int:
        """Write everything counted since the last flush in one transaction; returns how many
        rows it touched. On any error nothing is written and everything stays for the next."""
        with self._lock:
            if not self.pending():
                return 0
            with writing():
                _upsert(self._added, StatCount.value + EXCLUDED.value)
                _upsert(self._peaks, fn.MAX(StatCount.value, EXCLUDED.value))
                _upsert(self._levels, fn.MAX(StatCount.value, EXCLUDED.value))
            written = self.pending()
            self._added.clear()
            self._peaks.clear()
            self._levels.clear()
            return written


def _latest_dated_hour() -> str:
    """The latest hour on record counted as dated, "" if none (a keeper started again
    after the clock stepped back meets it there)."""
    latest = (
        StatCount.select(fn.MAX(StatCount.start))
        .where((StatCount.period == "hour") & (StatCount.synced == 1))
        .scalar()
    )
    return str(latest or "")


ROWS_PER_STATEMENT = 100
"""Six values a row: well under SQLite's 999 host parameters of older builds."""


def _upsert(values: Counter[Row] | dict[Row, int], update: object) -> None:
    rows = [
        {
            "period": period,
            "start": start,
            "synced": synced,
            "metric": metric,
            "label": label,
            "value": value,
        }
        for (period, start, synced, metric, label), value in sorted(values.items())
    ]
    for first in range(0, len(rows), ROWS_PER_STATEMENT):
        StatCount.insert_many(rows[first : first + ROWS_PER_STATEMENT]).on_conflict(
            conflict_target=[
                StatCount.period,
                StatCount.start,
                StatCount.synced,
                StatCount.metric,
                StatCount.label,
            ],
            update={StatCount.value: update},
        ).execute()
