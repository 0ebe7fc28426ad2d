"""The volunteers' guide pack page: installing a signed pack by upload, refusing a bad one
with the pack in use kept, going back to the one before, and the limits around it (issue 13)."""

from __future__ import annotations

import os
import time
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal import db
from portal.admin.accounts import add_account
from portal.admin.app import create_admin_app
from portal.app import create_app
from portal.config import Settings
from portal.guides import store
from tests.conftest import FakeClock, fake_identify, phone_client
from tests.test_admin import COMMUNE, VOLUNTEER, desk, sign_in, token
from tests.test_guide_packs import Packs, trusting


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Settings:
    return trusting(tmp_path / "data", signing_key)


@pytest.fixture
def packs(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Packs:
    return Packs(tmp_path / "packs", signing_key)


@pytest.fixture
def admin(settings: Settings, clock: FakeClock, tmp_path: Path) -> Iterator[Flask]:
    app = create_admin_app(settings, clock=clock, doctor_report=tmp_path / "portal-doctor.txt")
    app.config["TESTING"] = True
    add_account(VOLUNTEER[0], "volunteer", VOLUNTEER[1])
    add_account(COMMUNE[0], "commune", COMMUNE[1])
    yield app
    db.close()


def volunteer(admin: Flask) -> FlaskClient:
    client = desk(admin)
    assert sign_in(client, *VOLUNTEER).status_code == 303
    return client


def upload(client: FlaskClient, pack: Path, **headers: str) -> TestResponse:
    form_token = token(client.get("/admin/packs/"))
    with pack.open("rb") as file:
        return client.post(
            "/admin/packs/install",
            data={"csrf_token": form_token, "pack": (file, pack.name)},
            content_type="multipart/form-data",
            headers=headers,
        )


def in_use(settings: Settings) -> str | None:
    folder = store.current_pack_dir(settings)
    return None if folder is None else store.installed_manifest(folder).info.version


def uploads_left(settings: Settings) -> list[str]:
    folder = store.guides_dir(settings) / store.DOWNLOADS
    return sorted(path.name for path in folder.glob("*")) if folder.exists() else []


def test_a_volunteer_uploads_a_signed_pack_and_villagers_see_its_guides(
    admin: Flask, settings: Settings, packs: Packs, firewall: object, clock: FakeClock
) -> None:
    client = volunteer(admin)
    empty = client.get("/admin/packs/").get_data(as_text=True)
    assert "No guide pack is installed. Villagers see no guides." in empty
    answer = upload(client, packs.build("2026.12.1"))
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin/packs/")
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert (
        "The pack passerelle-wallonie 2026.12.1 is installed. Villagers see its guides now." in page
    )
    assert "<strong>Guides to online services — Wallonia</strong>" in page
    assert "<dd>2</dd>" in page  # the two guides of the small pack
    assert in_use(settings) == "2026.12.1"
    assert uploads_left(settings) == []
    guests = create_app(settings, firewall=firewall, identify=fake_identify, clock=clock)
    guide = phone_client(guests).get("/guides/g01-eid?lang=fr")
    assert guide.status_code == 200
    # The outcome is shown once: a reload shows the packs alone.
    assert "is installed." not in client.get("/admin/packs/").get_data(as_text=True)


def test_the_same_pack_again_changes_nothing(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    pack = packs.build("2026.12.1")
    store.install_file(pack, settings)
    client = volunteer(admin)
    upload(client, pack)
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert "The pack passerelle-wallonie 2026.12.1 was already installed. Nothing changed." in page


def test_a_tampered_pack_is_refused_and_the_pack_in_use_stays(
    admin: Flask, settings: Settings, packs: Packs, tmp_path: Path
) -> None:
    store.install_file(packs.build("2026.11.1"), settings)
    good = packs.build("2026.12.1").read_bytes()
    tampered = tmp_path / "tampered.pack"
    middle = len(good) // 2
    tampered.write_bytes(good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1 :])
    client = volunteer(admin)
    upload(client, tampered)
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert "This pack was refused. The guides in use stay." in page
    assert 'data-outcome="refused"' in page
    assert in_use(settings) == "2026.11.1"
    assert uploads_left(settings) == []


def test_a_pack_signed_by_a_key_the_hotspot_does_not_trust_is_refused(
    admin: Flask, settings: Settings, tmp_path: Path
) -> None:
    stranger = Packs(tmp_path / "stranger", Ed25519PrivateKey.generate())
    client = volunteer(admin)
    upload(client, stranger.build("2026.12.1"))
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert "This pack was refused. The guides in use stay." in page
    assert "signed by an unknown key" in page
    assert in_use(settings) is None


def test_going_back_to_the_one_before(admin: Flask, settings: Settings, packs: Packs) -> None:
    for version in ("2026.11.1", "2026.12.1"):
        store.install_file(packs.build(version), settings)
    client = volunteer(admin)
    listing = client.get("/admin/packs/")
    page = listing.get_data(as_text=True)
    assert page.index('data-pack="current"') < page.index('data-pack="previous"')
    answer = client.post("/admin/packs/rollback", data={"csrf_token": token(listing)})
    assert answer.status_code == 303
    done = client.get("/admin/packs/").get_data(as_text=True)
    assert "Back to the pack passerelle-wallonie 2026.11.1. Villagers see its guides now." in done
    assert in_use(settings) == "2026.11.1"


def test_the_page_speaks_the_volunteers_language(admin: Flask, packs: Packs) -> None:
    client = volunteer(admin)
    upload(client, packs.build("2026.12.1"))
    answer = client.get("/admin/packs/", headers={"Accept-Language": "nl"})
    page = answer.get_data(as_text=True).replace("\u00ad", "")  # long words' soft hyphens
    assert "<h1>Gidsenpakketten</h1>" in page
    assert "<strong>Gidsen voor onlinediensten — Wallonië</strong>" in page
    assert "Het pakket passerelle-wallonie 2026.12.1 is geïnstalleerd." in page


def test_a_commune_account_cannot_see_or_change_the_packs(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    client = desk(admin)
    assert sign_in(client, *COMMUNE).status_code == 303
    assert client.get("/admin/packs/").status_code == 403
    home = client.get("/admin/")
    pack = packs.build("2026.12.1")
    with pack.open("rb") as file:
        answer = client.post(
            "/admin/packs/install",
            data={"csrf_token": token(home), "pack": (file, pack.name)},
            content_type="multipart/form-data",
        )
    assert answer.status_code == 403
    assert in_use(settings) is None
    assert uploads_left(settings) == []


def test_an_upload_without_signing_in_writes_nothing(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    client = desk(admin)
    pack = packs.build("2026.12.1")
    with pack.open("rb") as file:
        answer = client.post(
            "/admin/packs/install",
            data={"csrf_token": "x", "pack": (file, pack.name)},
            content_type="multipart/form-data",
        )
    assert answer.headers["Location"] == "/admin/login?next=/admin/packs/install"
    assert in_use(settings) is None
    assert uploads_left(settings) == []


def test_an_upload_without_its_form_token_is_refused(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    client = volunteer(admin)
    pack = packs.build("2026.12.1")
    with pack.open("rb") as file:
        answer = client.post(
            "/admin/packs/install",
            data={"pack": (file, pack.name)},
            content_type="multipart/form-data",
        )
    assert answer.status_code == 400
    assert in_use(settings) is None


def test_a_form_without_a_file_asks_for_one(admin: Flask) -> None:
    client = volunteer(admin)
    form_token = token(client.get("/admin/packs/"))
    client.post("/admin/packs/install", data={"csrf_token": form_token})
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert "Choose a pack file first." in page


def test_a_file_over_the_pack_limit_is_refused_before_it_is_kept(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    app = create_admin_app(settings.replace("guides", max_pack_mb=1), clock=clock)
    app.config["TESTING"] = True
    add_account(VOLUNTEER[0], "volunteer", VOLUNTEER[1])
    big = tmp_path / "big.pack"
    big.write_bytes(os.urandom(2 * 1024 * 1024))
    try:
        answer = upload(volunteer(app), big)
    finally:
        db.close()
    assert answer.status_code == 413
    assert "What you sent is too big." in answer.get_data(as_text=True)
    assert uploads_left(settings) == []


def test_a_pack_the_card_has_no_room_for_gets_a_clear_page(
    admin: Flask, settings: Settings, packs: Packs, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = volunteer(admin)
    pack = packs.build("2026.12.1")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(store.shutil, "disk_usage", lambda _path: usage(10**9, 10**9, 1000))
    answer = upload(client, pack)
    assert answer.status_code == 507
    text = answer.get_data(as_text=True)
    assert "The memory card of the hotspot is too full for this." in text
    assert in_use(settings) is None
    assert uploads_left(settings) == []


def test_an_upload_a_dead_worker_left_is_removed_at_the_next_one(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    folder = store.store_folder(settings, store.DOWNLOADS)
    stale, fresh = folder / ".upload-dead", folder / ".upload-running"
    stale.write_bytes(b"half a pack")
    fresh.write_bytes(b"another volunteer's, still coming")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    upload(volunteer(admin), packs.build("2026.12.1"))
    assert uploads_left(settings) == [".upload-running"]
