"""Grant lifecycle: give, extend, expire, idle out, withdraw, and restore after a restart."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest
from flask import Flask

from portal.access.book import GrantBook
from portal.access.firewall import FirewallError, MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.context import services_of
from portal.gatekeeper.protocol import FirewallEntry
from portal.models import Grant, writing
from tests.conftest import (
    OTHER_MAC,
    PHONE_MAC,
    SESSION_SECONDS,
    FakeClock,
    fake_identify,
    phone_client,
)


def book_of(app: Flask) -> GrantBook:
    book: GrantBook = services_of(app).book
    return book


def macs(firewall: MemoryFirewall) -> list[str]:
    return [entry.mac for entry in firewall.list()]


def test_grant_is_recorded_and_enforced(app: Flask, firewall: MemoryFirewall) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    assert macs(firewall) == [PHONE_MAC]
    assert Grant.get_by_id(PHONE_MAC).expires_at - Grant.get_by_id(PHONE_MAC).granted_at == (
        SESSION_SECONDS
    )
    assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS


def test_regrant_extends_to_a_full_session(app: Flask, clock: FakeClock) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    clock.advance(600)
    assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS - 600
    book.give(PHONE_MAC)
    assert book.seconds_left(PHONE_MAC) == SESSION_SECONDS
    assert Grant.select().count() == 1


def test_expired_grant_gives_no_access_and_is_deleted(
    app: Flask, clock: FakeClock, firewall: MemoryFirewall
) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    clock.advance(SESSION_SECONDS)
    assert book.seconds_left(PHONE_MAC) is None
    assert macs(firewall) == []  # the kernel timeout (here: the memory twin) ran out too
    book.sweep()
    assert Grant.select().count() == 0  # no history of who was online


def test_idle_device_loses_access_and_active_one_keeps_it(
    app: Flask, clock: FakeClock, firewall: MemoryFirewall
) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    book.give(OTHER_MAC)
    book.sweep()  # first look at the counters
    for _ in range(45):  # portal.toml's default access.idle_minutes
        clock.advance(60)
        firewall.count_traffic(OTHER_MAC, 10)
        book.sweep()
    assert book.seconds_left(PHONE_MAC) is None
    assert book.seconds_left(OTHER_MAC) is not None
    assert macs(firewall) == [OTHER_MAC]
    assert [g.mac for g in Grant.select()] == [OTHER_MAC]


def test_withdraw_removes_record_and_firewall_entry(app: Flask, firewall: MemoryFirewall) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    book.withdraw(PHONE_MAC)
    assert book.seconds_left(PHONE_MAC) is None
    assert macs(firewall) == []
    assert Grant.select().count() == 0


def test_sweep_removes_firewall_entries_without_a_record(
    app: Flask, firewall: MemoryFirewall
) -> None:
    firewall.grant(OTHER_MAC, 3600)
    book = book_of(app)
    assert book.sweep() == []  # could be a grant whose row is about to commit
    assert book.sweep() == [OTHER_MAC]
    assert macs(firewall) == []


def test_sweep_keeps_a_grant_made_while_it_ran(app: Flask, firewall: MemoryFirewall) -> None:
    book = book_of(app)
    firewall.grant(PHONE_MAC, 3600)  # in the set, its row not yet committed
    book.sweep()
    book.give(PHONE_MAC)  # the row commits
    book.sweep()
    assert macs(firewall) == [PHONE_MAC]


def test_a_recycled_worker_leaves_the_set_alone(
    app: Flask, settings: Settings, clock: FakeClock, firewall: MemoryFirewall
) -> None:
    """A worker starting while others run must not replace the set with a stale snapshot."""
    book_of(app).give(PHONE_MAC)
    firewall.grant(OTHER_MAC, 600)  # granted by another worker, its row committing
    create_app(settings, firewall=firewall, identify=fake_identify, clock=clock)
    assert macs(firewall) == [PHONE_MAC, OTHER_MAC]


def test_restart_restores_unexpired_grants_with_remaining_time(
    app: Flask, settings: Settings, clock: FakeClock
) -> None:
    book = book_of(app)
    book.give(PHONE_MAC)
    clock.advance(1000)
    book.give(OTHER_MAC)
    clock.advance(SESSION_SECONDS - 500)  # PHONE_MAC has run out, OTHER_MAC has 500 s
    fresh = MemoryFirewall(clock)
    create_app(settings, firewall=fresh, identify=fake_identify, clock=clock)
    assert [(e.mac, e.seconds_left) for e in fresh.list()] == [(OTHER_MAC, 500)]
    assert [g.mac for g in Grant.select()] == [OTHER_MAC]


def test_failed_firewall_change_leaves_no_grant_on_record(app: Flask) -> None:
    from portal.access.firewall import FirewallError

    class BrokenFirewall(MemoryFirewall):
        def grant(self, mac: str, seconds: int) -> None:
            raise FirewallError("gatekeeper unreachable")

    book = book_of(app)
    book.firewall = BrokenFirewall()
    with pytest.raises(FirewallError):
        book.give(PHONE_MAC)
    assert Grant.select().count() == 0
    assert book.seconds_left(PHONE_MAC) is None


class GatekeeperNotYetUp(MemoryFirewall):
    """The gatekeeper's socket before the gatekeeper starts: every call fails until `up`."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.up = False
        self.syncs: list[int] = []

    def _ready(self) -> None:
        if not self.up:
            raise FirewallError("gatekeeper unreachable at /run/passerelle/gatekeeper.sock")

    def list(self) -> list[FirewallEntry]:
        self._ready()
        return super().list()

    def sync(self, grants: Mapping[str, int]) -> None:
        self._ready()
        assert len(grants) <= 16_384, "more than one sync request may carry"
        self.syncs.append(len(grants))
        super().sync(grants)


def test_portal_starts_before_its_gatekeeper_and_restores_grants_when_it_comes(
    settings: Settings, clock: FakeClock
) -> None:
    firewall = GatekeeperNotYetUp(clock)
    first = create_app(
        settings, firewall=MemoryFirewall(clock), identify=fake_identify, clock=clock
    )
    book_of(first).give(PHONE_MAC)
    app = create_app(settings, firewall=firewall, identify=fake_identify, clock=clock)
    client = phone_client(app)
    assert client.get("/?lang=en").status_code == 200
    assert client.get("/guides?lang=en").status_code == 200
    status = client.get("/status?lang=en").get_data(as_text=True)
    assert "We cannot open the Internet right now. Please try again in one minute." in status
    firewall.up = True
    # A villager taps "Go on the Internet" before this worker's next try: the grant
    # on record must still come back beside the new one.
    book_of(app).give(OTHER_MAC)
    deadline = time.monotonic() + 10
    while not book_of(app).enforcing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(macs(firewall)) == {PHONE_MAC, OTHER_MAC}
    status = client.get("/status?lang=en").get_data(as_text=True)
    assert "We cannot open the Internet right now" not in status


def test_restore_carries_more_grants_than_one_sync_request_may(
    app: Flask, clock: FakeClock
) -> None:
    now = int(clock())
    rows = [
        {
            "mac": f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}",
            "granted_at": now,
            "expires_at": now + 60,
        }
        for i in range(16_384 + 5)
    ]
    with writing():
        for start in range(0, len(rows), 500):
            Grant.insert_many(rows[start : start + 500]).execute()
    firewall = GatekeeperNotYetUp(clock)
    firewall.up = True
    book = GrantBook(firewall, book_of(app).view, session_seconds=60, idle_seconds=60, clock=clock)
    assert book.restore() == 16_389
    assert firewall.syncs == [16_384]
    assert len(firewall.list()) == 16_389
    assert book.enforcing
