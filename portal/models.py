"""What the portal stores: unexpired grants and pseudonymous learning paths, nothing more."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from peewee import (
    EXCLUDED,
    CharField,
    CompositeKey,
    DateField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
    _ConnectionState,
    fn,
)


class PortalDatabase(SqliteDatabase):
    """SQLite whose connections belong to each thread, or each greenlet, of the process that
    opens it; with one lock for this process's writers (see `writing`)."""

    def init(self, database: str | None, *args: Any, **kwargs: Any) -> None:
        super().init(database, *args, **kwargs)
        # peewee made its per-thread connection state and its lock when this module was
        # imported, in gunicorn's master, before the gevent worker patched threading:
        # every greenlet of a worker would share one connection and one transaction.
        # Made again here, in the worker, they are each greenlet's own and yield.
        local_state = type("ConnectionLocal", (_ConnectionState, threading.local), {})
        self._state = local_state()
        self._lock = threading.Lock()
        self.writer = threading.RLock()


database = PortalDatabase(None)
"""The process's one database, deferred: `portal.db.open_database` points it at the data
directory. Module state on purpose (peewee's deferred pattern): one data directory per
process; a test that builds several apps re-points it, one at a time."""


@contextmanager
def writing() -> Iterator[None]:
    """A write transaction that takes SQLite's write lock at BEGIN (waiting busy_timeout).

    In WAL mode a deferred transaction that reads and then writes cannot wait for
    the lock: if another connection committed in between, SQLite fails at once
    with "database is locked". Every write path uses this, nested ones as savepoints.

    Writers of this process first queue on the database's own lock, which yields to
    other greenlets: SQLite's busy wait sleeps inside C, so a greenlet waiting there
    would stop the whole worker, the greenlet holding the write lock included (a
    restore waits for the gatekeeper inside its transaction), until busy_timeout ran
    out. Across processes the busy wait stays, so no transaction may wait on anything
    slow but that restore, which runs when a worker starts.
    """
    with database.writer, database.atomic("IMMEDIATE"):
        yield


class BaseModel(Model):
    class Meta:
        database = database


class Grant(BaseModel):
    """A device's access to the Internet, until `expires_at` (Unix seconds)."""

    mac = CharField(max_length=17, primary_key=True)
    granted_at = IntegerField()
    expires_at = IntegerField(index=True)

    class Meta:
        table_name = "grant"

    @classmethod
    def give(cls, mac: str, now: int, seconds: int) -> Grant:
        """Grant or extend access: a re-grant starts a full session from now."""
        with writing():
            cls.insert(mac=mac, granted_at=now, expires_at=now + seconds).on_conflict(
                conflict_target=[cls.mac],
                update={cls.granted_at: now, cls.expires_at: now + seconds},
            ).execute()
        return cls.get_by_id(mac)

    @classmethod
    def withdraw(cls, mac: str) -> bool:
        with writing():
            return bool(cls.delete().where(cls.mac == mac).execute())

    @classmethod
    def unexpired(cls, now: int) -> list[Grant]:
        return list(cls.select().where(cls.expires_at > now).order_by(cls.expires_at))

    @classmethod
    def expiry_query(cls, now: int) -> tuple[str, list[object]]:
        """SQL and parameters for (mac, expires_at) of unexpired grants, for other connections."""
        query = cls.select(cls.mac, cls.expires_at).where(cls.expires_at > now)
        sql, params = query.sql()
        return str(sql), list(params)

    @classmethod
    def expiries(cls) -> list[tuple[str, int]]:
        """(mac, expires_at) of every grant on record, expired or not."""
        rows: Any = cls.select(cls.mac, cls.expires_at).tuples()
        return [(str(mac), int(expires)) for mac, expires in rows]

    @classmethod
    def shift(cls, mac: str, expires_at: int, seconds: int) -> int:
        """Move a grant that still expires at `expires_at` `seconds` later (earlier if
        negative): the clock it was written on stepped since (portal.access.book); returns
        how many rows moved (0, or 1)."""
        with writing():
            moved = cls.update(
                granted_at=cls.granted_at + seconds, expires_at=cls.expires_at + seconds
            ).where((cls.mac == mac) & (cls.expires_at == expires_at))
            return int(moved.execute())

    @classmethod
    def purge_expired(cls, now: int) -> int:
        """Delete grants that have run out; returns how many."""
        with writing():
            return int(cls.delete().where(cls.expires_at <= now).execute())

    def seconds_left(self, now: int) -> int:
        return max(0, int(self.expires_at) - now)


class LearningPath(BaseModel):
    """Which lessons a device has finished, filed under HMAC(site key, MAC), never the MAC.

    Kept 90 days after the device was last seen; the date is a day, not a time, and never
    goes back (portal/wallclock.py).
    """

    device = CharField(max_length=64, primary_key=True)
    lessons = TextField(default="")
    """Finished lesson slugs, in the order they were finished, separated by spaces."""
    last_seen = DateField(index=True)
    language = CharField(max_length=8, default="")
    """The language the device last finished a lesson in: its pages open in it again."""

    class Meta:
        table_name = "learning_path"

    @classmethod
    def finished(cls, device: str) -> list[str]:
        row = cls.get_or_none(cls.device == device)
        return str(row.lessons).split() if row else []

    @classmethod
    def language_of(cls, device: str) -> str:
        row = cls.get_or_none(cls.device == device)
        return str(row.language) if row else ""

    @classmethod
    def record(cls, device: str, lesson: str, today: date, language: str) -> None:
        """Add a finished lesson (once); refresh the device's date and language."""
        with writing():
            done = cls.finished(device)
            if lesson not in done:
                done.append(lesson)
            lessons = " ".join(done)
            cls.insert(
                device=device, lessons=lessons, last_seen=today, language=language
            ).on_conflict(
                conflict_target=[cls.device],
                update={
                    cls.lessons: lessons,
                    # Never earlier than it was: a clock stepped back forgets no path sooner.
                    cls.last_seen: fn.MAX(cls.last_seen, EXCLUDED.last_seen),
                    cls.language: language,
                },
            ).execute()

    @classmethod
    def move_forward(cls, up_to: date, days: int) -> int:
        """Move the date of every path last seen on or before `up_to` `days` later; returns
        how many moved."""
        with writing():
            moved = cls.update(last_seen=fn.DATE(cls.last_seen, f"+{int(days)} days"))
            return int(moved.where(cls.last_seen <= up_to).execute())

    @classmethod
    def forget_before(cls, day: date) -> int:
        """Delete paths not seen since before `day`; returns how many."""
        with writing():
            return int(cls.delete().where(cls.last_seen < day).execute())


PERIODS = ("hour", "day", "month", "year")
"""The periods a statistic is kept for. `StatCount.start` names one in local time:
"2026-12-03T14" (the hour from 14:00), "2026-12-03", "2026-12", "2026"."""

METRICS = {
    "devices": "unique devices (hour, day); a month or year adds up its days (device-days)",
    "grants": "new grants of access",
    "completions": "onboarding lessons finished (the mandatory lesson, before access)",
    "lessons": "lessons finished, per lesson (label: the lesson's slug)",
    "guide_views": "guide pages read, per guide (label: the guide's slug)",
    "searches": "searches of the guides (a count, never the text)",
    "visits": "start pages opened, per language (label: the language code)",
    "bytes": "data forwarded for granted devices (the nftables set counters)",
    "uplink_down_minutes": "minutes the uplink was down",
    "peak_devices": "most devices with access at the same time (the largest, never a sum)",
    "active_hours": "hours with at least one device (day); a month or year adds up its days",
}
"""Every statistic kept, and what it counts. None is ever per device."""


class StatCount(BaseModel):
    """One aggregate: the value of `metric` (for `label`) over one period.

    Rows counted while the Pi's clock was not yet synchronised, or had stepped back behind
    an hour already counted, have `synced` false: their `start` is only what the clock
    said, and they are never merged into a dated period (portal/wallclock.py).
    Retention (portal/stats): hours 7 days, days 13 months, months and years kept.
    """

    period = CharField(max_length=5)
    start = CharField(max_length=13)
    synced = IntegerField()
    metric = CharField(max_length=24)
    label = CharField(max_length=64, default="")
    value = IntegerField()

    class Meta:
        table_name = "stat_count"
        primary_key = CompositeKey("period", "start", "synced", "metric", "label")


class StatShown(BaseModel):
    """A published figure that has been shown (on a page, in an export), with its value:
    what anybody may know from then on. Suppression keeps it shown (portal/stats/dashboard.py),
    so that no later page hides it again and shows another one that, with it, gives a hidden
    count away. Kept as long as the figures it protects: always. Nothing of who saw it."""

    key = CharField(max_length=120, primary_key=True)
    """The figure's key as JSON: ["visits", "week", "2026-W05"], ..."""
    value = IntegerField()

    class Meta:
        table_name = "stat_shown"


ROLES = ("commune", "volunteer")
"""Who may do what on the admin pages, from least to most: a `commune` reads the
statistics; a `volunteer` also manages guide packs and sees the hotspot's status."""


class Account(BaseModel):
    """A person who signs in to the admin pages: a name, a role and an argon2id hash.

    `session_key` is in every session cookie of the account: changing it (a new password,
    signing out) ends them all."""

    name = CharField(max_length=32, primary_key=True)
    role = CharField(max_length=16)
    password_hash = CharField(max_length=200)
    session_key = CharField(max_length=32)

    class Meta:
        table_name = "account"


class LoginFailure(BaseModel):
    """Failed sign-ins of one account (`account:NAME`) or one source (`source:HMAC`, the
    address only as an HMAC under the site key), forgotten a day after the last one.

    In the database so that every worker process sees the same count."""

    subject = CharField(max_length=80, primary_key=True)
    failures = IntegerField()
    last_at = IntegerField(index=True)
    """Unix seconds of the last failure."""

    class Meta:
        table_name = "login_failure"
