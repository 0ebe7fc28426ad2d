"""What a hotspot survives when its clock jumps (portal/wallclock.py): a Pi boots in 1970 or
at fake-hwclock's saved time, NTP then moves its clock on by months, and can step it back.

Two clocks per test: the wall clock, which jumps, and the kernel's monotonic clock, which
counts the set's timeouts and never jumps. `elapse` moves both (time passes), `step` the
wall clock alone (NTP, or a volunteer's `date`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask

from portal import db
from portal.access.book import GrantBook
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.context import services_of
from portal.gatekeeper.protocol import FirewallEntry
from portal.housekeeping import upkeep
from portal.models import Grant, LearningPath, StatCount, writing
from portal.stats.tally import Tally
from portal.wallclock import ClockSteps
from tests.conftest import (
    OTHER_MAC,
    PHONE_MAC,
    SESSION_SECONDS,
    FakeClock,
    FlaskTransport,
    complete_onboarding,
    fake_identify,
    phone_client,
)
from tests.walker import LESSONS, walk_lesson

DAY = 24 * 3600
MONTHS = 90 * DAY
IN_1970 = 1_000.0
"""A Pi without fake-hwclock boots at the epoch: 1970-01-01 00:16 UTC, a while after."""
SYNCED = 1_800_000_000.0
"""What NTP says: 2027-01-15 08:00 UTC."""
IDLE_SECONDS = 45 * 60
"""portal.toml's default access.idle_minutes."""


@dataclass
class Clocks:
    wall: FakeClock
    kernel: FakeClock

    def elapse(self, seconds: float) -> None:
        self.wall.advance(seconds)
        self.kernel.advance(seconds)

    def step(self, seconds: float) -> None:
        self.wall.advance(seconds)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks(FakeClock(SYNCED), FakeClock(50.0))


@pytest.fixture
def firewall(clocks: Clocks) -> MemoryFirewall:
    return MemoryFirewall(clocks.kernel)


@pytest.fixture
def app(settings: Settings, firewall: MemoryFirewall, clocks: Clocks) -> Iterator[Flask]:
    application = create_app(settings, firewall=firewall, identify=fake_identify, clock=clocks.wall)
    yield application
    db.close()


@pytest.fixture
def book(app: Flask) -> GrantBook:
    found: GrantBook = services_of(app).book
    return found


def in_the_set(firewall: MemoryFirewall) -> dict[str, int]:
    return {entry.mac: entry.seconds_left for entry in firewall.list()}


# --- grants: a session of real elapsed time, as the kernel's timeout counts it ---


def test_a_grant_made_in_1970_keeps_its_time_when_ntp_jumps_to_2027(
    book: GrantBook, firewall: MemoryFirewall, clocks: Clocks
) -> None:
    clocks.wall.now = IN_1970
    book.give(PHONE_MAC)
    clocks.elapse(600)
    clocks.step(SYNCED - clocks.wall.now)  # NTP answers
    book.sweep()
    assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS - 600
    assert Grant.get_by_id(PHONE_MAC).expires_at == SYNCED + SESSION_SECONDS - 600
    assert in_the_set(firewall) == {PHONE_MAC: SESSION_SECONDS - 600}
    clocks.elapse(SESSION_SECONDS - 601)
    firewall.count_traffic(PHONE_MAC, 10)  # in use, not idle
    book.sweep()
    assert book.seconds_left(PHONE_MAC) == 1
    clocks.elapse(1)
    book.sweep()
    assert book.seconds_left(PHONE_MAC) is None
    assert (Grant.select().count(), in_the_set(firewall)) == (0, {})


def test_a_grant_ends_on_time_after_the_clock_steps_back_three_hours(
    book: GrantBook, firewall: MemoryFirewall, clocks: Clocks
) -> None:
    book.give(PHONE_MAC)
    clocks.elapse(600)
    clocks.step(-3 * 3600)
    book.sweep()
    assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS - 600
    assert Grant.get_by_id(PHONE_MAC).expires_at == SYNCED - 3 * 3600 + SESSION_SECONDS
    clocks.elapse(SESSION_SECONDS - 600)  # the kernel's timeout runs out: so does the grant
    book.sweep()
    assert book.seconds_left(PHONE_MAC) is None
    assert Grant.select().count() == 0


def test_a_jump_forward_makes_no_grant_idle_and_idleness_still_counts(
    book: GrantBook, firewall: MemoryFirewall, clocks: Clocks
) -> None:
    book.give(PHONE_MAC)
    book.sweep()  # the first look at its counter
    clocks.elapse(60)
    clocks.step(MONTHS)
    assert book.sweep() == []
    clocks.elapse(IDLE_SECONDS - 61)
    assert book.sweep() == []
    clocks.elapse(1)
    assert book.sweep() == [PHONE_MAC]


def test_a_grant_on_record_is_put_back_with_one_session_at_most_by_a_clock_behind(
    settings: Settings, clocks: Clocks
) -> None:
    """After a power cut, the Pi boots in 1970: by its clock the grant on record has 57 years
    left, which the gatekeeper would refuse. It gets a session; after NTP, what its
    element has left."""
    db.prepare(settings.data_dir)
    Grant.give(PHONE_MAC, int(SYNCED) - 600, SESSION_SECONDS)
    db.close()
    clocks.wall.now = IN_1970
    firewall = MemoryFirewall(clocks.kernel)
    app = create_app(settings, firewall=firewall, identify=fake_identify, clock=clocks.wall)
    try:
        assert in_the_set(firewall) == {PHONE_MAC: SESSION_SECONDS}
        clocks.elapse(60)
        clocks.step(SYNCED + 7200 - clocks.wall.now)  # NTP: it was off for two hours
        book: GrantBook = services_of(app).book
        book.sweep()
        assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS - 60
        clocks.elapse(SESSION_SECONDS - 60)
        book.sweep()
        assert (book.seconds_left(PHONE_MAC), Grant.select().count()) == (None, 0)
    finally:
        db.close()


class RegrantedWhileListed(MemoryFirewall):
    """Another worker gives the phone a new session while a sweep lists the set."""

    def __init__(self, clock: FakeClock, wall: FakeClock) -> None:
        super().__init__(clock)
        self.wall = wall
        self.regrant = False

    def list(self) -> list[FirewallEntry]:
        if self.regrant:
            self.regrant = False
            self.grant(PHONE_MAC, SESSION_SECONDS)
            Grant.give(PHONE_MAC, int(self.wall()), SESSION_SECONDS)
        return super().list()


def test_a_sweep_never_moves_a_grant_given_again_while_it_listed_the_set(
    settings: Settings, clocks: Clocks
) -> None:
    firewall = RegrantedWhileListed(clocks.kernel, clocks.wall)
    app = create_app(settings, firewall=firewall, identify=fake_identify, clock=clocks.wall)
    try:
        book: GrantBook = services_of(app).book
        book.give(PHONE_MAC)
        clocks.elapse(SESSION_SECONDS - 10)
        firewall.regrant = True
        book.sweep()
        assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS
        assert Grant.get_by_id(PHONE_MAC).expires_at == SYNCED + 2 * SESSION_SECONDS - 10
    finally:
        db.close()


def test_rows_within_a_minute_of_their_element_are_not_rewritten(
    book: GrantBook, clocks: Clocks
) -> None:
    book.give(PHONE_MAC)
    clocks.step(59)  # not a step: what writing the row and the element took
    book.sweep()
    assert Grant.get_by_id(PHONE_MAC).expires_at == SYNCED + SESSION_SECONDS


# --- statistics: dated only by a clock that can be believed and has not gone back ---

AFTERNOON = datetime(2026, 12, 3, 14, 30).timestamp()
"""Local time; its rows: 2026-12-03T14, 2026-12-03, 2026-12, 2026."""


@pytest.fixture
def database(tmp_path: Path) -> Iterator[None]:
    db.prepare(tmp_path)
    yield
    db.close()


def stored(metric: str, period: str = "day") -> dict[tuple[str, int], int]:
    """start, synced → value of the rows of `metric` for `period`."""
    rows = StatCount.select().where((StatCount.metric == metric) & (StatCount.period == period))
    return {(row.start, row.synced): row.value for row in rows}


def test_counts_from_1970_stay_apart_when_ntp_jumps_the_clock_on(database: None) -> None:
    clock = FakeClock(datetime(1970, 1, 1, 10, 5).timestamp())
    state = {"synced": False}
    tally = Tally(clock, lambda: state["synced"])
    tally.count("grants", device=PHONE_MAC)
    clock.now = AFTERNOON  # NTP
    state["synced"] = True
    tally.refresh_clock()
    tally.count("grants", device=PHONE_MAC)
    tally.flush()
    assert stored("grants") == {("1970-01-01", 0): 1, ("2026-12-03", 1): 1}
    assert stored("devices") == {("1970-01-01", 0): 1, ("2026-12-03", 1): 1}
    assert stored("devices", "hour") == {("1970-01-01T10", 0): 1, ("2026-12-03T14", 1): 1}
    assert stored("grants", "month") == {("1970-01", 0): 1, ("2026-12", 1): 1}


def test_a_clock_stepped_back_three_hours_adds_nothing_to_the_hours_it_left(
    database: None,
) -> None:
    clock = FakeClock(AFTERNOON)
    tally = Tally(clock, lambda: True)
    tally.count("grants", device=PHONE_MAC)
    clock.advance(-3 * 3600)  # 11:30, a synchronised clock all along
    tally.count("grants", device=PHONE_MAC)
    tally.device(OTHER_MAC)
    tally.flush()
    assert stored("grants", "hour") == {("2026-12-03T14", 1): 1, ("2026-12-03T11", 0): 1}
    assert stored("grants") == {("2026-12-03", 1): 1, ("2026-12-03", 0): 1}
    assert stored("devices") == {("2026-12-03", 1): 1, ("2026-12-03", 0): 2}
    clock.advance(3 * 3600 + 600)  # 14:40: dated again, the day's devices as they were
    tally.device(PHONE_MAC)  # seen at 14:30 already
    tally.device(OTHER_MAC)
    tally.count("grants")
    tally.flush()
    assert stored("devices") == {("2026-12-03", 1): 2, ("2026-12-03", 0): 2}
    assert stored("devices", "hour") == {("2026-12-03T14", 1): 2, ("2026-12-03T11", 0): 2}
    assert stored("grants") == {("2026-12-03", 1): 2, ("2026-12-03", 0): 1}
    assert stored("devices", "month") == {("2026-12", 1): 2, ("2026-12", 0): 2}


def test_a_step_back_over_midnight_never_adds_to_the_day_before(database: None) -> None:
    clock = FakeClock(datetime(2026, 12, 3, 22, 0).timestamp())
    tally = Tally(clock, lambda: True)
    tally.count("visits", "fr", PHONE_MAC)
    clock.advance(2.5 * 3600)  # 00:30 on the 4th: a new day, a new key
    tally.count("visits", "fr", PHONE_MAC)
    clock.advance(-2 * 3600)  # back to 22:30 on the 3rd
    tally.count("visits", "fr", PHONE_MAC)
    clock.advance(100 * 60)  # 00:10 on the 4th, the hour counted last: dated again
    tally.count("visits", "fr", PHONE_MAC)  # the 4th's device already
    tally.flush()
    assert stored("visits") == {
        ("2026-12-03", 1): 1,
        ("2026-12-04", 1): 2,
        ("2026-12-03", 0): 1,
    }
    assert stored("devices") == {
        ("2026-12-03", 1): 1,
        ("2026-12-04", 1): 1,
        ("2026-12-03", 0): 1,
    }
    assert stored("active_hours") == {
        ("2026-12-03", 1): 1,
        ("2026-12-04", 1): 1,
        ("2026-12-03", 0): 1,
    }


def test_the_day_set_aside_keeps_its_key_no_longer_than_a_midnight(database: None) -> None:
    clock = FakeClock(AFTERNOON)
    tally = Tally(clock, lambda: True)
    tally.device(PHONE_MAC)
    dated_key = tally._key
    clock.advance(-2 * DAY)  # the 1st, 14:30
    tally.device(PHONE_MAC)
    assert tally._set_aside is not None and tally._set_aside[0] is dated_key
    clock.advance(10 * 3600)  # midnight on the clock that stepped back
    tally.device(PHONE_MAC)
    assert tally._set_aside is None
    assert bytes(dated_key) == bytes(32)  # wiped in place
    clock.advance(DAY + 14 * 3600 + 600)  # the 3rd, 14:40: dated again, a new key
    tally.device(PHONE_MAC)
    tally.flush()
    assert stored("devices") == {
        ("2026-12-03", 1): 2,  # seen again under a new key: too many, never too few
        ("2026-12-01", 0): 1,
        ("2026-12-02", 0): 1,
    }


def test_a_keeper_started_again_after_a_step_back_counts_apart(database: None) -> None:
    clock = FakeClock(AFTERNOON)
    first = Tally(clock, lambda: True)
    first.count("searches")
    first.flush()
    clock.advance(-2 * DAY)
    second = Tally(clock, lambda: True)  # the portal restarted meanwhile
    second.count("searches")
    second.flush()
    assert stored("searches") == {("2026-12-03", 1): 1, ("2026-12-01", 0): 1}


# --- learning paths: 90 days of the device's absence ---


def test_a_path_begun_in_1970_is_kept_90_days_after_ntp_jumps_the_clock_on(
    settings: Settings, clocks: Clocks
) -> None:
    clocks.wall.now = IN_1970
    app = create_app(
        settings, firewall=MemoryFirewall(clocks.kernel), identify=fake_identify, clock=clocks.wall
    )
    try:
        book: GrantBook = services_of(app).book
        steps = ClockSteps(clocks.wall, clocks.kernel)
        complete_onboarding(phone_client(app), "en")
        assert LearningPath.get().last_seen == date(1970, 1, 1)
        clocks.step(SYNCED - clocks.wall.now)  # NTP: 2027-01-15
        upkeep(book, clocks.wall, steps)
        assert LearningPath.get().last_seen == date(2027, 1, 15)
        clocks.elapse(90 * DAY)
        upkeep(book, clocks.wall, steps)
        assert LearningPath.select().count() == 1
        clocks.elapse(DAY)
        upkeep(book, clocks.wall, steps)
        assert LearningPath.select().count() == 0
    finally:
        db.close()


def test_a_jump_forward_moves_no_path_the_old_clock_had_not_reached(
    app: Flask, book: GrantBook, clocks: Clocks
) -> None:
    """A path from before the reboot, dated by a clock that was right, keeps its date:
    moved on with the jump from 1970, it would be kept for 57 years."""
    with writing():
        LearningPath.create(device="d" * 64, lessons="onboarding", last_seen=date(2026, 12, 1))
    clocks.wall.now = IN_1970
    steps = ClockSteps(clocks.wall, clocks.kernel)
    clocks.step(SYNCED - IN_1970)
    upkeep(book, clocks.wall, steps)
    assert LearningPath.get().last_seen == date(2026, 12, 1)
    clocks.elapse(46 * DAY)  # 2027-03-02: 91 days after 2026-12-01
    upkeep(book, clocks.wall, steps)
    assert LearningPath.select().count() == 0


def test_a_visit_on_a_clock_stepped_back_never_dates_a_path_earlier(
    app: Flask, clocks: Clocks
) -> None:
    complete_onboarding(phone_client(app), "en")
    clocks.step(-30 * DAY)
    walk_lesson(FlaskTransport(phone_client(app)), LESSONS["touchscreen"])
    assert LearningPath.get().lessons == "onboarding touchscreen"
    assert LearningPath.get().last_seen == date(2027, 1, 15)


def test_clock_steps_are_told_from_time_passing_and_small_corrections(clocks: Clocks) -> None:
    steps = ClockSteps(clocks.wall, clocks.kernel)
    clocks.elapse(MONTHS)
    assert steps.stepped() == 0
    clocks.step(59)
    assert steps.stepped() == 0
    clocks.step(-3600)
    assert steps.stepped() == -3600
    clocks.step(MONTHS)
    assert steps.stepped() == MONTHS
    assert steps.stepped() == 0
