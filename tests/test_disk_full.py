"""A full card (issue 14): a pack install, a statistics flush and a grant on a real small
filesystem filled to the brim. Each says so clearly, corrupts nothing, and the portal goes
on: the old pack serves, probes are answered, and all works again once room is freed.

The data directory is a tmpfs of a fixed size, mounted for each test (root only, as in CI).
The portal runs on it as on a Pi: its grant view holds a read-only connection, which keeps
SQLite's -shm file (a WAL database cannot be read without one, nor one made on a full disk).
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.admin.accounts import add_account
from portal.admin.app import create_admin_app
from portal.app import create_app
from portal.cli import main
from portal.config import Settings
from portal.guides import store
from portal.guides.library import load_library
from portal.models import Grant, StatCount
from portal.stats.events import CountEvent, encode_event
from portal.stats.keeper import Keeper, bind_events
from portal.stats.tally import Tally
from tests.conftest import (
    OTHER_IP,
    OTHER_MAC,
    PHONE_IP,
    PHONE_MAC,
    SESSION_SECONDS,
    FakeClock,
    FlaskTransport,
    complete_onboarding,
    fake_identify,
    phone_client,
)
from tests.test_admin import VOLUNTEER, desk, sign_in, token
from tests.test_guide_packs import Packs, trusting
from tests.walker import (
    ONBOARDING,
    Reply,
    answer_form,
    csrf_token,
    form_action,
    get_page,
    language_link,
    walk_to_access,
    walk_to_check,
)

CARD_BYTES = 16 * 1024 * 1024
OLD, NEW = "2026.11.1", "2026.12.1"
ANDROID_PROBE = {"Host": "connectivitycheck.gstatic.com"}
FULL_FR = "La carte mémoire du point d\u2019accès est pleine. Essayez plus tard."
AFTERNOON = datetime(2026, 12, 3, 14, 30).timestamp()


class Card:
    """A tmpfs of CARD_BYTES at `root`, and a filler file that takes its room."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Write the filler until the kernel says ENOSPC, then give back `leave` bytes."""
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = 1 << 20
            while chunk:
                try:
                    os.write(descriptor, bytes(chunk))
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
            size = os.fstat(descriptor).st_size
            os.ftruncate(descriptor, max(0, size - leave))
        finally:
            os.close(descriptor)

    def empty(self) -> None:
        """A volunteer frees the room."""
        self.filler.unlink()


@pytest.fixture
def card(tmp_path: Path) -> Iterator[Card]:
    root = tmp_path / "card"
    root.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={CARD_BYTES},mode=0700", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        if "permission denied" in mounted.stderr.lower():
            pytest.skip(f"mount refused (EPERM): {mounted.stderr.strip()}")
        raise AssertionError(f"mount failed: {mounted.stderr.strip()}")
    try:
        yield Card(root)
    finally:
        db.close()
        # Lazy: the grant views' connections close when their apps are collected.
        subprocess.run(["umount", "--lazy", str(root)], check=True)


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def packs(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Packs:
    """Built outside the card: a pack comes from a USB stick or a download."""
    return Packs(tmp_path / "packs", signing_key)


@pytest.fixture
def settings(card: Card, signing_key: Ed25519PrivateKey) -> Settings:
    return trusting(card.root / "data", signing_key).replace("firewall", backend="memory")


@pytest.fixture
def config_file(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "portal.toml"
    keys = ", ".join(f'"{key}"' for key in settings.guides.trusted_keys)
    path.write_text(
        f'[storage]\ndata_dir = "{settings.data_dir}"\n[firewall]\nbackend = "memory"\n'
        f"[guides]\ntrusted_keys = [{keys}]\n",
        encoding="utf-8",
    )
    return path


def start_portal(settings: Settings, firewall: MemoryFirewall, clock: FakeClock) -> Flask:
    """A guest portal on the card, answering as a running one does: a probe has opened its
    grant view's connection."""
    app = create_app(settings, firewall=firewall, identify=fake_identify, clock=clock)
    phone_client(app, OTHER_IP).get("/generate_204", headers=ANDROID_PROBE)
    db.close()
    return app


@pytest.fixture
def portal(settings: Settings, firewall: MemoryFirewall, clock: FakeClock) -> Flask:
    return start_portal(settings, firewall, clock)


def no_room_in_the_wal(settings: Settings) -> None:
    """SQLite writes its WAL over the room of earlier, checkpointed frames: on a full disk a
    write fails once it needs more than that. Truncated, the next write needs room at once."""
    with sqlite3.connect(db.database_path(settings.data_dir)) as connection:
        assert connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    connection.close()


def integrity(settings: Settings) -> list[tuple[str]]:
    uri = f"{db.database_path(settings.data_dir).as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as connection:
        rows: list[tuple[str]] = connection.execute("PRAGMA integrity_check").fetchall()
    connection.close()
    return rows


def serving(settings: Settings) -> str | None:
    folder = store.current_pack_dir(settings)
    return None if folder is None else store.installed_manifest(folder).info.version


def versions_kept(settings: Settings) -> list[str]:
    return sorted(os.listdir(store.guides_dir(settings) / store.VERSIONS))


def staging_left(settings: Settings) -> list[str]:
    return os.listdir(store.guides_dir(settings) / store.STAGING)


def assert_guides_answer(app: Flask) -> None:
    """A villager reads a guide of the pack and finds it by searching."""
    reader = phone_client(app)
    page = reader.get("/guides/g01-eid?lang=fr")
    assert page.status_code == 200
    assert "code PUK" in page.get_data(as_text=True)
    found = reader.get("/guides/search", query_string={"q": "PUK", "lang": "fr"})
    assert found.status_code == 200
    assert 'href="/guides/g01-eid?lang=fr"' in found.get_data(as_text=True)


# --- a pack install -----------------------------------------------------------------------


def test_a_pack_install_on_a_full_card_is_deferred_in_one_sentence_and_the_old_pack_serves(
    card: Card,
    settings: Settings,
    config_file: Path,
    packs: Packs,
    portal: Flask,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store.install_file(packs.build(OLD), settings)
    kept = versions_kept(settings)
    card.fill()
    assert card.free_bytes() == 0
    assert main(["pack", "install", str(packs.build(NEW)), "--config", str(config_file)]) == 3
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1
    assert said[0].startswith("pack not installed now: not enough free space in ")
    assert (serving(settings), versions_kept(settings), staging_left(settings)) == (OLD, kept, [])
    assert_guides_answer(portal)


def test_a_card_that_fills_half_way_through_an_install_defers_it_and_gives_the_room_back(
    card: Card,
    settings: Settings,
    config_file: Path,
    packs: Packs,
    portal: Flask,
    firewall: MemoryFirewall,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store.install_file(packs.build(OLD), settings)
    kept = versions_kept(settings)
    new = packs.build(NEW)
    # Room for the free-space check (3 times the pack), not for what prepare() writes.
    card.fill(leave=4 * new.stat().st_size)
    before = card.free_bytes()
    assert before > store.SPACE_FACTOR * new.stat().st_size
    assert main(["pack", "install", str(new), "--config", str(config_file)]) == 3
    said = capsys.readouterr().err.splitlines()  # the progress lines, then the outcome
    assert said[-1] == (
        f"pack not installed now: the disk of {store.guides_dir(settings)} became full while "
        f"installing {new.name}; the pack in use stays: free some room, then install it again"
    )
    assert (serving(settings), versions_kept(settings), staging_left(settings)) == (OLD, kept, [])
    assert card.free_bytes() == before  # nothing half-written holds the card's room
    assert_guides_answer(portal)
    # A restarted portal reads the old pack from the card again (no version kept in memory).
    load_library.cache_clear()
    assert_guides_answer(start_portal(settings, firewall, clock))
    card.empty()
    assert main(["pack", "install", str(new), "--config", str(config_file)]) == 0
    assert serving(settings) == NEW


@pytest.fixture
def volunteer_desk(settings: Settings, clock: FakeClock, tmp_path: Path) -> FlaskClient:
    """The admin pages, a volunteer signed in (before the card is full)."""
    admin = create_admin_app(settings, clock=clock, doctor_report=tmp_path / "doctor.txt")
    admin.config["TESTING"] = True
    add_account(VOLUNTEER[0], "volunteer", VOLUNTEER[1])
    client = desk(admin)
    assert sign_in(client, *VOLUNTEER).status_code == 303
    db.close()
    return client


def upload(client: FlaskClient, pack: Path) -> tuple[int, str]:
    form_token = token(client.get("/admin/packs/"))
    with pack.open("rb") as file:
        answer = client.post(
            "/admin/packs/install",
            data={"csrf_token": form_token, "pack": (file, pack.name)},
            content_type="multipart/form-data",
        )
    return answer.status_code, answer.get_data(as_text=True)


def downloads_left(settings: Settings) -> list[str]:
    folder = store.guides_dir(settings) / store.DOWNLOADS
    return os.listdir(folder) if folder.exists() else []


def test_an_upload_to_a_full_card_gets_a_clear_page_and_the_old_pack_serves(
    card: Card, settings: Settings, packs: Packs, portal: Flask, volunteer_desk: FlaskClient
) -> None:
    store.install_file(packs.build(OLD), settings)
    card.fill()
    status, page = upload(volunteer_desk, packs.build(NEW))
    assert status == 507
    assert "The memory card of the hotspot is too full for this." in page
    assert "Traceback" not in page
    assert (serving(settings), downloads_left(settings), staging_left(settings)) == (OLD, [], [])
    assert_guides_answer(portal)


def test_an_upload_the_card_fills_up_with_while_installing_is_deferred_on_the_page(
    card: Card, settings: Settings, packs: Packs, portal: Flask, volunteer_desk: FlaskClient
) -> None:
    store.install_file(packs.build(OLD), settings)
    kept = versions_kept(settings)
    new = packs.build(NEW)
    # The upload's check and the install's pass (3 times the pack each), prepare() does not.
    card.fill(leave=5 * new.stat().st_size)
    status, _ = upload(volunteer_desk, new)
    assert status == 303
    page = volunteer_desk.get("/admin/packs/").get_data(as_text=True)
    assert 'data-outcome="deferred"' in page
    assert '<p data-refusal="no_room">The memory card of the hotspot is too full for this.</p>' in (
        page
    )
    assert "became full while installing" in page  # the detail, for a technician
    assert (serving(settings), versions_kept(settings)) == (OLD, kept)
    assert (downloads_left(settings), staging_left(settings)) == ([], [])
    assert_guides_answer(portal)


# --- a statistics flush -------------------------------------------------------------------


def visits_on_record() -> dict[str, int]:
    """The afternoon's day rows of visits, by language."""
    rows = StatCount.select().where((StatCount.metric == "visits") & (StatCount.period == "day"))
    return {row.label: row.value for row in rows}


def test_a_flush_on_a_full_card_keeps_the_counts_for_the_next_one_and_corrupts_nothing(
    card: Card,
    settings: Settings,
    portal: Flask,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with bind_events(tmp_path / "stats.sock") as listener:
        keeper = Keeper(
            Tally(FakeClock(AFTERNOON), lambda: True),
            listener,
            flush_seconds=300,
            uplink_file=tmp_path / "uplink.json",
        )

        def visit(language: str, mac: str) -> None:
            keeper.take(encode_event(CountEvent("visits", language, mac)))

        visit("fr", PHONE_MAC)
        keeper.flush()
        assert visits_on_record() == {"fr": 1}
        no_room_in_the_wal(settings)
        card.fill()
        visit("fr", OTHER_MAC)
        visit("ar", OTHER_MAC)
        with caplog.at_level(logging.WARNING, logger="portal.stats.keeper"):
            keeper.flush()  # returns: the keeper lives on
        assert [record.getMessage() for record in caplog.records] == [
            "statistics not written, the disk is full: 12 rows kept for the next flush"
        ]
        assert PHONE_MAC not in caplog.text and OTHER_MAC not in caplog.text
        assert visits_on_record() == {"fr": 1}
        assert integrity(settings) == [("ok",)]
        card.empty()
        keeper.flush()
        db.close()
    assert visits_on_record() == {"fr": 2, "ar": 1}
    assert integrity(settings) == [("ok",)]


# --- a grant ------------------------------------------------------------------------------


def grants_on_record() -> list[str]:
    macs = [grant.mac for grant in Grant.select()]
    db.close()
    return macs


def access_form(page: Reply) -> tuple[str, dict[str, str]]:
    return form_action(page), {"csrf_token": csrf_token(page)}


def test_a_grant_on_a_full_card_gets_a_clear_page_and_leaves_no_access_enforced(
    card: Card,
    settings: Settings,
    portal: Flask,
    firewall: MemoryFirewall,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = phone_client(portal, OTHER_IP)
    complete_onboarding(other)  # a neighbour online before the card filled up
    phone = phone_client(portal, PHONE_IP)
    action, form = access_form(walk_to_access(FlaskTransport(phone), "fr"))
    no_room_in_the_wal(settings)
    card.fill()
    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        refused = phone.post(action, data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 503
    assert FULL_FR in page and 'lang="fr"' in page
    assert "Traceback" not in page
    assert [record.getMessage() for record in caplog.records] == [
        "the data directory's disk is full: OperationalError"
    ]
    assert [entry.mac for entry in firewall.list()] == [OTHER_MAC]
    assert grants_on_record() == [OTHER_MAC]
    assert other.get("/generate_204", headers=ANDROID_PROBE).status_code == 204
    assert phone.get("/generate_204", headers=ANDROID_PROBE).status_code == 302
    assert integrity(settings) == [("ok",)]
    card.empty()
    granted = phone.post(action, data=form)
    assert (granted.status_code, granted.headers["Location"]) == (303, "/online?lang=fr")
    assert sorted(entry.mac for entry in firewall.list()) == [PHONE_MAC, OTHER_MAC]
    assert sorted(grants_on_record()) == [PHONE_MAC, OTHER_MAC]
    assert phone.get("/generate_204", headers=ANDROID_PROBE).status_code == 204


def test_more_time_on_a_full_card_leaves_the_access_on_record_in_the_firewall(
    card: Card, settings: Settings, portal: Flask, firewall: MemoryFirewall, clock: FakeClock
) -> None:
    phone = phone_client(portal, PHONE_IP)
    action, form = access_form(walk_to_access(FlaskTransport(phone), "fr"))
    assert phone.post(action, data=form).status_code == 303
    clock.advance(SESSION_SECONDS - 3600)  # an hour left: "Get more time"
    no_room_in_the_wal(settings)
    card.fill()
    assert phone.post(action, data=form).status_code == 503
    assert [(entry.mac, entry.seconds_left) for entry in firewall.list()] == [(PHONE_MAC, 3600)]
    card.empty()
    assert phone.post(action, data=form).status_code == 303
    assert [(entry.mac, entry.seconds_left) for entry in firewall.list()] == [
        (PHONE_MAC, SESSION_SECONDS)
    ]


def test_finishing_the_lesson_on_a_full_card_gets_a_clear_page_and_works_once_room_is_freed(
    card: Card, settings: Settings, portal: Flask
) -> None:
    transport = FlaskTransport(phone_client(portal, PHONE_IP))
    first = language_link(get_page(transport, "/"), "fr")
    check = walk_to_check(transport, ONBOARDING, first)
    action, form = form_action(check), answer_form(check, ONBOARDING.right)
    no_room_in_the_wal(settings)
    card.fill()
    refused = transport.post(action, form)
    assert refused.status == 503
    assert FULL_FR in refused.body and "Traceback" not in refused.body
    card.empty()
    answered = transport.post(action, form)
    assert (answered.status, answered.location) == (303, "/lesson/onboarding/done?lang=fr")
