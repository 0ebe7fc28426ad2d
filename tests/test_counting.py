"""Counting for communes (portal/stats): the day's key and sets in memory, the flush, the
events workers send, the keeper's minute, retention, and the pages that count."""

from __future__ import annotations

import hashlib
import hmac
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.gatekeeper.allowed_set import parse_set_bytes
from portal.gatekeeper.protocol import (
    BadReply,
    CountersRequest,
    counters_reply,
    encode_request,
    parse_reply,
    parse_request,
)
from portal.models import StatCount
from portal.stats import tally as tally_module
from portal.stats.clock import clock_synchronised, kernel_synchronised
from portal.stats.events import (
    BadEvent,
    CountEvent,
    DeviceEvent,
    EventSender,
    encode_event,
    parse_event,
)
from portal.stats.keeper import Keeper, TrafficMeter, bind_events
from portal.stats.retention import first_day_kept, forget_old_counts
from portal.stats.tally import Tally
from portal.uplink import UplinkState, write_state
from tests.conftest import (
    PHONE_MAC,
    SESSION_SECONDS,
    FakeClock,
    complete_onboarding,
    csrf_token,
    fake_identify,
    phone_client,
)

AFTERNOON = datetime(2026, 12, 3, 14, 30).timestamp()
"""Local time: the rows it falls in are 2026-12-03T14, 2026-12-03, 2026-12 and 2026."""
BEFORE_MIDNIGHT = datetime(2026, 12, 3, 23, 59).timestamp()
MAC_B = "aa:bb:cc:00:00:42"


def synced() -> bool:
    return True


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    db.prepare(tmp_path)
    yield db.database_path(tmp_path)
    db.close()


def stored(metric: str, period: str = "day", label: str = "") -> dict[tuple[str, int], int]:
    """start, synced → value of the rows of `metric` for `period`."""
    return {
        (row.start, row.synced): row.value
        for row in StatCount.select().where(
            (StatCount.metric == metric) & (StatCount.period == period) & (StatCount.label == label)
        )
    }


def test_a_flush_writes_the_hour_day_month_and_year_of_each_count(database: Path) -> None:
    tally = Tally(FakeClock(AFTERNOON), synced)
    for _ in range(3):
        tally.count("guide_views", "g04-myminfin")
    tally.count("searches")
    assert tally.flush() == 8
    assert stored("guide_views", "hour", "g04-myminfin") == {("2026-12-03T14", 1): 3}
    assert stored("guide_views", "day", "g04-myminfin") == {("2026-12-03", 1): 3}
    assert stored("guide_views", "month", "g04-myminfin") == {("2026-12", 1): 3}
    assert stored("guide_views", "year", "g04-myminfin") == {("2026", 1): 3}
    assert stored("searches") == {("2026-12-03", 1): 1}
    assert tally.flush() == 0  # nothing new: nothing written


def test_a_second_flush_adds_to_what_the_first_wrote(database: Path) -> None:
    tally = Tally(FakeClock(AFTERNOON), synced)
    tally.count("grants")
    tally.flush()
    tally.count("grants")
    tally.count("grants")
    tally.flush()
    assert stored("grants") == {("2026-12-03", 1): 3}


def test_devices_are_unique_per_day_and_months_add_up_device_days(database: Path) -> None:
    clock = FakeClock(BEFORE_MIDNIGHT)
    tally = Tally(clock, synced)
    tally.device(PHONE_MAC)
    tally.device(PHONE_MAC.upper())  # the same device, however it is written
    tally.device(MAC_B)
    clock.advance(120)  # 00:01 on the 4th
    tally.device(PHONE_MAC)
    tally.flush()
    assert stored("devices") == {("2026-12-03", 1): 2, ("2026-12-04", 1): 1}
    assert stored("devices", "hour") == {("2026-12-03T23", 1): 2, ("2026-12-04T00", 1): 1}
    assert stored("devices", "month") == {("2026-12", 1): 3}
    assert stored("devices", "year") == {("2026", 1): 3}


def test_midnight_wipes_the_key_and_empties_the_day_set(database: Path) -> None:
    clock = FakeClock(BEFORE_MIDNIGHT)
    tally = Tally(clock, synced)
    tally.device(PHONE_MAC)
    old_key, old_day = tally._key, tally._day
    assert old_day is not None
    old_set = old_day.seen
    digest = hmac.new(bytes(old_key), PHONE_MAC.encode(), hashlib.sha256).digest()[:16]
    assert old_set == {digest}
    clock.advance(120)
    tally.device(PHONE_MAC)
    assert bytes(old_key) == bytes(32)  # overwritten in place: no copy of it is left here
    assert tally._key is not old_key
    assert bytes(tally._key) != bytes(32)
    assert old_set == set()
    assert tally._day is not None and tally._day.start == "2026-12-04"
    assert digest not in tally._day.seen  # the same MAC has another digest today
    assert len(tally._day.seen) == 1


def test_a_forked_copy_forgets_the_key_the_sets_and_the_counts(database: Path) -> None:
    """What a gunicorn worker does with the copy of the master's keeper it was forked with."""
    tally = Tally(FakeClock(AFTERNOON), synced)
    tally.count("visits", "nl", PHONE_MAC)
    key, day = tally._key, tally._day
    assert day is not None and len(day.seen) == 1
    tally.forget()
    assert bytes(key) == bytes(32)  # wiped in place
    assert day.seen == set()
    assert tally.pending() == 0
    assert tally.flush() == 0
    assert stored("visits", label="nl") == {}


def test_a_crash_loses_the_unflushed_counts_and_never_counts_one_twice(database: Path) -> None:
    clock = FakeClock(AFTERNOON)
    first = Tally(clock, synced)
    first.count("visits", "fr")
    first.device(PHONE_MAC)
    first.flush()
    first.count("visits", "fr")  # never flushed: the keeper dies here
    first.device(MAC_B)
    del first
    second = Tally(clock, synced)  # the keeper started again
    second.count("visits", "fr")
    second.device(PHONE_MAC)  # new under the new key: one device more, as after any restart
    second.flush()
    second.flush()
    assert stored("visits", label="fr") == {("2026-12-03", 1): 2}
    assert stored("devices") == {("2026-12-03", 1): 2}  # the base (1) plus the new set (1)


def test_a_flush_that_fails_writes_nothing_and_keeps_everything_for_the_next(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tally = Tally(FakeClock(AFTERNOON), synced)
    tally.count("lessons", "onboarding")
    tally.peak(4)
    real = tally_module._upsert
    calls = []

    def fails_second(values: object, update: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        real(values, update)  # type: ignore[arg-type]

    monkeypatch.setattr(tally_module, "_upsert", fails_second)
    with pytest.raises(OSError, match="disk full"):
        tally.flush()
    assert stored("lessons", label="onboarding") == {}  # the first statement rolled back
    monkeypatch.setattr(tally_module, "_upsert", real)
    tally.flush()
    assert stored("lessons", label="onboarding") == {("2026-12-03", 1): 1}
    assert stored("peak_devices") == {("2026-12-03", 1): 4}


def test_the_peak_keeps_the_largest_across_flushes(database: Path) -> None:
    tally = Tally(FakeClock(AFTERNOON), synced)
    tally.peak(5)
    tally.peak(2)
    tally.flush()
    tally.peak(3)
    tally.flush()
    assert stored("peak_devices") == {("2026-12-03", 1): 5}
    assert stored("peak_devices", "year") == {("2026", 1): 5}


def test_the_keeper_counts_the_hours_of_a_day_that_had_a_device(
    tmp_path: Path, database: Path
) -> None:
    clock = FakeClock(datetime(2026, 12, 3, 9, 10).timestamp())
    with bind_events(tmp_path / "stats.sock") as listener:
        keeper = Keeper(
            Tally(clock, synced), listener, flush_seconds=300, uplink_file=tmp_path / "up.json"
        )
        for mac in (PHONE_MAC, MAC_B, PHONE_MAC):  # 09:10: two devices, still one hour
            keeper.take(encode_event(DeviceEvent(mac)))
        clock.advance(2 * 3600)  # 11:10, after an hour without anybody
        keeper.take(encode_event(CountEvent("visits", "fr", MAC_B)))
        clock.advance(3 * 3600)  # 14:10
        keeper.take(encode_event(DeviceEvent(PHONE_MAC)))
        keeper.finish()
    assert stored("active_hours") == {("2026-12-03", 1): 3}
    assert stored("active_hours", "month") == {("2026-12", 1): 3}
    assert stored("active_hours", "year") == {("2026", 1): 3}
    assert stored("active_hours", "hour") == {}  # an hour's own row is its devices


def test_an_hour_is_counted_once_across_flushes_and_crashes(database: Path) -> None:
    clock = FakeClock(AFTERNOON)  # 14:30
    first = Tally(clock, synced)
    first.device(PHONE_MAC)
    first.flush()  # in the middle of the hour
    clock.advance(600)
    first.device(MAC_B)
    first.flush()
    del first  # the keeper dies after a flush: 14:30 is on record, counted
    clock.advance(600)
    second = Tally(clock, synced)
    second.device(PHONE_MAC)  # a new device under the new key, in an hour already counted
    second.flush()
    clock.advance(1800)  # 15:20
    second.device(MAC_B)  # never flushed: the keeper dies here, and 15:00 with it
    del second
    third = Tally(clock, synced)
    third.device(MAC_B)
    third.flush()
    assert stored("active_hours") == {("2026-12-03", 1): 2}
    assert stored("active_hours", "month") == {("2026-12", 1): 2}
    assert stored("active_hours", "year") == {("2026", 1): 2}


def test_counts_before_the_clock_is_synchronised_are_kept_apart(database: Path) -> None:
    state = {"synced": False}
    clock = FakeClock(AFTERNOON)
    tally = Tally(clock, lambda: state["synced"])
    tally.count("grants")
    tally.device(PHONE_MAC)
    state["synced"] = True
    tally.refresh_clock()
    tally.count("grants")
    tally.device(PHONE_MAC)  # a new day set: unsynced devices are never merged in
    tally.flush()
    assert stored("grants") == {("2026-12-03", 0): 1, ("2026-12-03", 1): 1}
    assert stored("devices") == {("2026-12-03", 0): 1, ("2026-12-03", 1): 1}


macs = st.builds(
    # Octets that SQLite's own bytes (zeros, small lengths) cannot look like by chance.
    lambda octets: ":".join(f"{octet:02x}" for octet in [0xA6, *octets]),
    st.lists(st.integers(0x80, 0xFE), min_size=5, max_size=5),
)
events = st.lists(
    st.one_of(
        st.tuples(st.just("device"), macs),
        st.tuples(st.sampled_from(["visits", "lessons", "guide_views"]), st.just("fr")),
        st.tuples(st.just("grants"), macs),
        st.tuples(st.just("advance"), st.integers(60, 30 * 3600)),
        st.tuples(st.just("flush"), st.just("")),
    ),
    max_size=40,
)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events)
def test_no_stored_statistic_holds_a_mac_or_a_digest(sequence: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db.prepare(Path(folder))
        try:
            clock = FakeClock(BEFORE_MIDNIGHT)
            tally = Tally(clock, synced)
            seen: set[str] = set()
            digests: set[bytes] = set()
            counted = 0
            for kind, value in sequence:
                if kind == "advance":
                    clock.advance(int(str(value)))
                elif kind == "flush":
                    tally.flush()
                elif kind == "device":
                    tally.device(str(value))
                    seen.add(str(value))
                elif kind == "grants":
                    tally.count("grants", "", str(value))
                    seen.add(str(value))
                    counted += 1
                else:
                    tally.count(kind, str(value))
                    counted += 1
                if kind in ("device", "grants"):
                    digests.add(
                        hmac.new(tally._key, str(value).encode(), hashlib.sha256).digest()[:16]
                    )
            tally.flush()
            db.close()
            raw = b"".join(path.read_bytes() for path in Path(folder).iterdir() if path.is_file())
            for mac in seen:
                for form in (mac, mac.upper(), mac.replace(":", ""), mac.replace(":", "-")):
                    assert form.encode() not in raw
                assert bytes.fromhex(mac.replace(":", "")) not in raw
            for digest in digests:
                assert digest not in raw
                assert digest.hex().encode() not in raw
            yearly = StatCount.select().where(
                (StatCount.period == "year") & StatCount.metric.not_in(["devices", "active_hours"])
            )
            assert sum(row.value for row in yearly) == counted
            assert_each_hour_with_a_device_counted_once()
        finally:
            db.close()


# --- events ---


def test_events_read_back_as_they_were_sent() -> None:
    for event in (
        CountEvent("guide_views", "g04-myminfin"),
        CountEvent("searches"),
        CountEvent("visits", "ar", PHONE_MAC),
        DeviceEvent(PHONE_MAC),
    ):
        assert parse_event(encode_event(event)) == event
    assert encode_event(CountEvent("searches")) == b"count searches -"


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"count bytes -", "unknown metric"),
        (b"count visits FR", "a label is a slug of at most 64 characters"),
        (b"count visits fr 01:00:5e:00:00:01", "not a unicast MAC address"),
        (b"device aa:bb:cc:00:00", "not a unicast MAC address"),
        (b"count searches what is my pension", "unknown event"),
        (b"count visits " + b"a" * 120, "event too long"),
        ("count visits é".encode(), "event is not ASCII"),
    ],
)
def test_a_datagram_that_is_not_an_event_is_refused_without_quoting_it(
    datagram: bytes, reason: str
) -> None:
    with pytest.raises(BadEvent) as refused:
        parse_event(datagram)
    assert str(refused.value) == reason


def test_the_sender_drops_events_when_no_keeper_listens(tmp_path: Path) -> None:
    sender = EventSender(tmp_path / "stats.sock")
    sender.count("visits", "fr", PHONE_MAC)  # no socket file: dropped, no error
    listener = bind_events(tmp_path / "stats.sock")
    listener.close()  # a socket file nobody reads (a dead keeper): dropped too
    sender.count("visits", "fr")
    sender.count("visits", "Not A Label")  # refused before sending, silently


def test_the_sender_reaches_a_listening_keeper(tmp_path: Path) -> None:
    with bind_events(tmp_path / "stats.sock") as listener:
        assert (tmp_path / "stats.sock").stat().st_mode & 0o777 == 0o600
        EventSender(tmp_path / "stats.sock").count("guide_views", "g01", PHONE_MAC)
        assert listener.recv(256) == b"count guide_views g01 aa:bb:cc:00:00:23"


def test_the_keeper_binds_in_the_longest_data_dir_the_config_allows(tmp_path: Path) -> None:
    """96 characters of data_dir (portal/config_values.data_dir) leave the kernel's 107 bytes
    for data_dir/stats.sock; one more and the bind fails as the keeper would at start."""
    longest = tmp_path / ("d" * (96 - len(str(tmp_path)) - 1))
    longest.mkdir()
    assert len(str(longest / "stats.sock")) == 107
    bind_events(longest / "stats.sock").close()
    with pytest.raises(OSError, match="too long"):
        bind_events(Path(f"{longest}x") / "stats.sock")


# --- the keeper ---


def test_the_traffic_meter_counts_only_what_moved_since_it_first_looked() -> None:
    meter = TrafficMeter()
    assert meter.read({PHONE_MAC: 5000}) == (0, [])  # maybe counted by the keeper before
    assert meter.read({PHONE_MAC: 7000, MAC_B: 300}) == (2300, [PHONE_MAC, MAC_B])
    assert meter.read({PHONE_MAC: 100, MAC_B: 300}) == (100, [PHONE_MAC])  # re-granted


def test_the_keepers_minute_counts_downtime_traffic_peak_and_active_devices(
    tmp_path: Path, database: Path
) -> None:
    clock = FakeClock(AFTERNOON)
    firewall = MemoryFirewall(clock)
    firewall.grant(PHONE_MAC, 3600)
    uplink = tmp_path / "uplink.json"
    with bind_events(tmp_path / "stats.sock") as listener:
        keeper = Keeper(
            Tally(clock, synced), listener, flush_seconds=300, uplink_file=uplink, traffic=firewall
        )
        keeper.minute()
        firewall.count_traffic(PHONE_MAC, 10, 1500)
        firewall.grant(MAC_B, 3600)
        write_state(uplink, UplinkState(up=False, since=int(AFTERNOON)))
        keeper.minute()
        keeper.tally.flush()
    assert stored("bytes") == {("2026-12-03", 1): 1500}
    assert stored("uplink_down_minutes") == {("2026-12-03", 1): 1}
    assert stored("peak_devices") == {("2026-12-03", 1): 2}
    assert stored("devices") == {("2026-12-03", 1): 1}  # MAC_B carried nothing yet


def afternoon_keeper(listener: socket.socket, folder: Path) -> Keeper:
    """A keeper on `listener` whose clock says the afternoon of 3 December (synced)."""
    return Keeper(
        Tally(FakeClock(AFTERNOON), synced),
        listener,
        flush_seconds=300,
        uplink_file=folder / "uplink.json",
    )


def test_the_keeper_takes_events_and_flushes_when_stopped(tmp_path: Path, database: Path) -> None:
    with bind_events(tmp_path / "stats.sock") as listener:
        keeper = afternoon_keeper(listener, tmp_path)
        serving = threading.Thread(target=keeper.serve)
        serving.start()
        sender = EventSender(tmp_path / "stats.sock")
        sender.count("visits", "nl", PHONE_MAC)
        sender.count("visits", "nl", MAC_B)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as stranger:
            stranger.sendto(b"count visits nl; DROP TABLE", str(tmp_path / "stats.sock"))
        keeper.stop()
        serving.join(5)
        assert not serving.is_alive()
    assert stored("visits", label="nl") == {("2026-12-03", 1): 2}
    assert stored("devices") == {("2026-12-03", 1): 2}


def test_a_keeper_turn_returns_when_woken_and_takes_what_came(
    tmp_path: Path, database: Path
) -> None:
    """How gunicorn's master runs the keeper between its waits for signals."""
    with bind_events(tmp_path / "stats.sock") as listener:
        keeper = afternoon_keeper(listener, tmp_path)
        keeper.wake()  # a signal came
        started = time.monotonic()
        keeper.turn(30)
        assert time.monotonic() - started < 5  # at once, not in 30 s
        EventSender(tmp_path / "stats.sock").count("visits", "nl", PHONE_MAC)
        keeper.turn(30)
        assert keeper.tally.pending() > 0
        keeper.finish()
    assert stored("visits", label="nl") == {("2026-12-03", 1): 1}


# --- the gatekeeper's counters ---


def test_the_counters_verb_is_checked_like_the_others() -> None:
    assert parse_request(encode_request(CountersRequest())) == CountersRequest()
    assert encode_request(CountersRequest()) == b'{"verb":"counters"}\n'
    reply = parse_reply(counters_reply({PHONE_MAC: 12}).strip())
    assert reply.counters() == {PHONE_MAC: 12}
    for bad in (b'{"ok":true,"bytes":{"aa:bb":1}}', b'{"ok":true,"bytes":{"%s":-1}}'):
        with pytest.raises(BadReply):
            parse_reply(bad.replace(b"%s", PHONE_MAC.encode())).counters()


def test_nft_json_gives_each_elements_bytes() -> None:
    listing = (
        '{"nftables": [{"metainfo": {}}, {"set": {"name": "allowed", "elem": ['
        '{"elem": {"val": "AA:BB:CC:00:00:23", "timeout": 3600, "expires": 3000,'
        ' "counter": {"packets": 9, "bytes": 12345}}}, "aa:bb:cc:00:00:42"]}}]}'
    )
    assert parse_set_bytes(listing) == {PHONE_MAC: 12345, MAC_B: 0}


# --- retention ---


def test_hours_are_kept_seven_days_and_days_thirteen_months(database: Path) -> None:
    for period, start in [
        ("hour", "2026-11-26T13"),
        ("hour", "2026-11-26T14"),
        ("day", "2025-11-02"),
        ("day", "2025-11-03"),
        ("month", "2020-01"),
        ("year", "2020"),
    ]:
        StatCount.create(period=period, start=start, synced=1, metric="grants", value=1)
    assert forget_old_counts(datetime(2026, 12, 3, 14, 30)) == 2
    assert sorted((row.period, row.start) for row in StatCount.select()) == [
        ("day", "2025-11-03"),
        ("hour", "2026-11-26T14"),
        ("month", "2020-01"),
        ("year", "2020"),
    ]


def test_the_first_day_kept_is_the_one_the_housekeeping_keeps(database: Path) -> None:
    # 31 March: the same day 13 months before would be 31 February; 28 February goes.
    for day in ("2025-02-28", "2025-03-01"):
        StatCount.create(period="day", start=day, synced=1, metric="grants", value=1)
    assert forget_old_counts(datetime(2026, 3, 31, 9)) == 1
    assert [row.start for row in StatCount.select()] == ["2025-03-01"]
    assert first_day_kept(date(2026, 3, 31)) == date(2025, 3, 1)
    assert first_day_kept(date(2026, 12, 3)) == date(2025, 11, 3)
    assert first_day_kept(date(2026, 1, 15)) == date(2024, 12, 15)


# --- the pages that count ---


@pytest.fixture
def counted(settings: Settings, firewall: MemoryFirewall) -> Iterator[tuple[Flask, Tally]]:
    clock = FakeClock(AFTERNOON)
    tally = Tally(clock, synced)
    app = create_app(settings, firewall=firewall, identify=fake_identify, clock=clock, stats=tally)
    app.config["TESTING"] = True
    app.config["clock"] = clock
    yield app, tally
    db.close()


def test_the_way_online_counts_a_visit_a_completion_a_lesson_and_a_grant(
    counted: tuple[Flask, Tally],
) -> None:
    app, tally = counted
    client = phone_client(app)
    assert client.get("/?lang=de").status_code == 200
    complete_onboarding(client, "de")
    app.config["clock"].advance(SESSION_SECONDS * 0.6)  # "more time" is offered now
    page = client.get("/online?lang=de").get_data(as_text=True)
    again = client.post("/access?lang=de", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 303  # more time: not a new grant
    tally.flush()
    assert stored("visits", label="de")[("2026-12-03", 1)] >= 1
    assert stored("lessons", label="onboarding") == {("2026-12-03", 1): 1}
    assert stored("completions") == {("2026-12-03", 1): 1}
    assert stored("grants") == {("2026-12-03", 1): 1}
    assert stored("devices") == {("2026-12-03", 1): 1}


def test_probes_count_nothing(counted: tuple[Flask, Tally]) -> None:
    app, tally = counted
    client = phone_client(app)
    client.get("/generate_204", headers={"Host": "connectivitycheck.gstatic.com"})
    assert tally.pending() == 0


@pytest.mark.parametrize(
    ("language", "hours", "days"),
    [
        ("fr", "pendant 7 jours", "pendant 13 mois"),
        ("nl", "7 dagen lang", "13 maanden lang"),
        ("de", "7 Tage lang", "13 Monate lang"),
        ("en", "for 7 days", "for 13 months"),
        ("ar", "لمدة 7 أيام", "لمدة 13 شهرًا"),
        ("uk", "протягом 7 днів", "протягом 13 місяців"),
        ("tr", "7 gün", "13 ay"),
    ],
)
def test_the_privacy_page_says_how_long_the_counts_are_kept(
    counted: tuple[Flask, Tally], language: str, hours: str, days: str
) -> None:
    app, tally = counted
    html = phone_client(app).get(f"/privacy?lang={language}").get_data(as_text=True)
    assert hours in html
    assert days in html
    assert tally.pending() == 0  # reading the privacy page is not counted


def test_an_event_that_fails_costs_that_event_only(
    tmp_path: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with bind_events(tmp_path / "stats.sock") as listener:
        keeper = afternoon_keeper(listener, tmp_path)
        sender = EventSender(tmp_path / "stats.sock")
        sender.count("searches")
        with monkeypatch.context() as patched:
            patched.setattr(Tally, "_base", lambda *_: 1 / 0)  # the day's base cannot be read
            sender.count("visits", "fr", PHONE_MAC)
            keeper._drain()
        sender.count("visits", "fr", PHONE_MAC)
        keeper._drain()
        keeper.tally.flush()
    assert stored("searches") == {("2026-12-03", 1): 1}
    assert stored("visits", label="fr") == {("2026-12-03", 1): 2}  # the add came before
    assert stored("devices") == {("2026-12-03", 1): 1}


@hypothesis_settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(["visits", "grants", "searches", "flush", "crash", "fail"]), max_size=50
    )
)
def test_after_any_crashes_and_failed_flushes_each_count_is_stored_once_or_lost(
    steps: list[str],
) -> None:
    """What was flushed stays, exactly once; what a crash took is gone; a failed flush
    writes nothing and the next one writes it all."""
    with tempfile.TemporaryDirectory() as folder:
        db.prepare(Path(folder))
        try:
            clock = FakeClock(AFTERNOON)
            tally = Tally(clock, synced)
            pending = flushed = 0
            for step in steps:
                if step == "flush":
                    tally.flush()
                    flushed, pending = flushed + pending, 0
                elif step == "crash":
                    tally, pending = Tally(clock, synced), 0
                elif step == "fail" and pending:  # with nothing to write, nothing can fail
                    flush_on_a_full_disk(tally)
                elif step != "fail":
                    tally.count(step)
                    pending += 1
                    clock.advance(7)
            tally.flush()
            flushed += pending
            yearly = StatCount.select().where(StatCount.period == "year")
            assert sum(row.value for row in yearly) == flushed
        finally:
            db.close()


def _fails(values: object, update: object) -> None:
    raise OSError("disk full")


def flush_on_a_full_disk(tally: Tally) -> None:
    """A flush whose writes fail as on a full disk: it raises, and the tally keeps its counts."""
    real = tally_module._upsert
    tally_module._upsert = _fails  # type: ignore[assignment]
    try:
        with pytest.raises(OSError, match="disk full"):
            tally.flush()
    finally:
        tally_module._upsert = real


def assert_each_hour_with_a_device_counted_once() -> None:
    """Every day's active hours are its hour rows with a device, and so are its month's and
    year's: nothing counted twice, nothing counted that is not on record."""
    hours = [start for (start, _), value in stored("devices", "hour").items() if value > 0]
    for period, length in (("day", 10), ("month", 7), ("year", 4)):
        expected: dict[tuple[str, int], int] = {}
        for hour in hours:
            expected[(hour[:length], 1)] = expected.get((hour[:length], 1), 0) + 1
        assert stored("active_hours", period) == expected, period


@hypothesis_settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([PHONE_MAC, MAC_B, "later", "flush", "crash", "fail"]), max_size=40)
)
def test_after_any_crashes_and_failed_flushes_each_active_hour_is_counted_once(
    steps: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db.prepare(Path(folder))
        try:
            clock = FakeClock(AFTERNOON)
            tally = Tally(clock, synced)
            for step in steps:
                if step == "later":
                    clock.advance(1500)  # 25 minutes: sometimes the same hour, sometimes not
                elif step == "flush":
                    tally.flush()
                elif step == "crash":
                    tally = Tally(clock, synced)
                elif step == "fail" and tally.pending():
                    flush_on_a_full_disk(tally)
                elif step != "fail":
                    tally.device(step)
            tally.flush()
            assert_each_hour_with_a_device_counted_once()
        finally:
            db.close()


def test_the_clock_is_believed_once_timesyncd_or_the_kernel_says_so(tmp_path: Path) -> None:
    mark = tmp_path / "synchronized"
    kernel = kernel_synchronised()
    assert kernel in (True, False)  # adjtimex answers on Linux
    assert clock_synchronised(mark) is kernel
    mark.touch()
    assert clock_synchronised(mark) is True
