"""The volunteers' guide pack page: installing a signed pack by upload, refusing a bad one
with the pack in use kept, going back to the one before, and the limits around it (issue 13)."""

from __future__ import annotations

import os
import re
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
from portal.guides import render, store
from portal.guides.errors import PackDeferred, PackRejected, Refusal
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


# --- a refusal, in the volunteer's language ------------------------------------------------

REFUSALS = {
    "format": (
        "This file is not a guide pack, or it is damaged.",
        "Ce fichier n\u2019est pas un paquet de guides, ou il est abîmé.",
    ),
    "unsigned": (
        "This pack has no signature. The hotspot installs only signed packs.",
        "Ce paquet n\u2019a pas de signature. Le point d\u2019accès installe seulement des "
        "paquets signés.",
    ),
    "no_trusted_key": (
        "The hotspot trusts no key yet, so it installs no pack. Add the publisher&#39;s key to "
        "trusted_keys in portal.toml.",
        "Le point d\u2019accès ne connaît encore aucune clé\u202f: il n\u2019installe aucun "
        "paquet. Ajoutez la clé de l\u2019éditeur à trusted_keys dans portal.toml.",
    ),
    "untrusted": (
        "This pack is signed with a key the hotspot does not trust.",
        "Ce paquet est signé avec une clé que le point d\u2019accès ne connaît pas.",
    ),
    "signature": (
        "The signature of this pack is wrong. The pack was changed or badly signed.",
        "La signature de ce paquet est fausse. Le paquet a été modifié ou mal signé.",
    ),
    "tampered": (
        "A file in this pack was changed after it was signed.",
        "Un fichier de ce paquet a été modifié après la signature.",
    ),
    "too_large": (
        "This pack is too big for the hotspot.",
        "Ce paquet est trop gros pour le point d\u2019accès.",
    ),
    "other_pack": (
        "This is not the guide pack this hotspot uses.",
        "Ce n\u2019est pas le paquet de guides de ce point d\u2019accès.",
    ),
    "newer_portal": (
        "This pack needs a newer version of Passerelle. Update the hotspot first.",
        "Ce paquet demande une version plus récente de Passerelle. Mettez d\u2019abord le point "
        "d\u2019accès à jour.",
    ),
    "unreadable": (
        "The hotspot could not read the whole file. Send it again.",
        "Le point d\u2019accès n\u2019a pas pu lire tout le fichier. Envoyez-le encore une fois.",
    ),
    "not_prepared": (
        "The hotspot could not make this pack ready to read.",
        "Le point d\u2019accès n\u2019a pas pu préparer ce paquet pour la lecture.",
    ),
    "no_previous": (
        "There is no pack before this one to go back to.",
        "Il n\u2019y a pas de paquet d\u2019avant où revenir.",
    ),
    "no_room": (
        "The memory card of the hotspot is too full for this.",
        "La carte mémoire du point d\u2019accès est trop pleine pour cela.",
    ),
    "busy": (
        "Another pack is being installed right now.",
        "Un autre paquet est en train d\u2019être installé.",
    ),
}
"""Every kind of refusal (portal.guides.errors.Refusal): what the page says, en and fr."""
DETAIL = "signed by an unknown key 'x' (guides.trusted_keys)"


def outcome_page(client: FlaskClient, outcome: list[str], language: str) -> str:
    with client.session_transaction("/admin/packs/") as stored:  # the cookie's path
        stored["pack_outcome"] = outcome
    answer = client.get("/admin/packs/", headers={"Accept-Language": language})
    return answer.get_data(as_text=True).replace("\u00ad", "")  # long words' soft hyphens


def test_every_kind_of_refusal_has_its_sentence() -> None:
    assert set(REFUSALS) == set(Refusal)


def test_each_refusal_is_said_in_the_volunteers_language_with_the_detail_apart(
    admin: Flask,
) -> None:
    client = volunteer(admin)
    for kind, (english, french) in REFUSALS.items():
        outcome = "deferred" if kind in ("no_room", "busy") else "refused"
        for language, sentence in (("en", english), ("fr", french)):
            page = outcome_page(client, [outcome, kind, DETAIL], language)
            assert f'<p data-refusal="{kind}">{sentence}</p>' in page, (kind, language)
            assert (
                '<span lang="en" dir="ltr" data-reason>'
                "signed by an unknown key &#39;x&#39; (guides.trusted_keys)</span>"
            ) in page
        assert "Pour un technicien, en anglais\u202f:" in page


def test_no_refusal_shows_english_as_its_main_message_in_another_language(
    admin: Flask,
) -> None:
    client = volunteer(admin)
    for kind, (english, _french) in REFUSALS.items():
        for language in ("fr", "nl", "de", "ar", "uk", "tr"):
            page = outcome_page(client, ["refused", kind, DETAIL], language)
            main = re.search(rf'<p data-refusal="{kind}">([^<]+)</p>', page)
            assert main is not None, (kind, language)
            assert main[1] != english, (kind, language)


def test_a_refused_upload_says_why_in_the_volunteers_language(admin: Flask, tmp_path: Path) -> None:
    stranger = Packs(tmp_path / "stranger", Ed25519PrivateKey.generate())
    client = volunteer(admin)
    upload(client, stranger.build("2026.12.1"))
    page = client.get("/admin/packs/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<p>Ce paquet a été refusé. Les guides en service restent.</p>" in page
    assert (
        '<p data-refusal="untrusted">Ce paquet est signé avec une clé que le point d\u2019accès '
        "ne connaît pas.</p>"
    ) in page


def test_a_rollback_without_a_pack_before_says_so(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    store.install_file(packs.build("2026.12.1"), settings)
    client = volunteer(admin)
    client.post("/admin/packs/rollback", data={"csrf_token": token(client.get("/admin/packs/"))})
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert (
        '<p data-refusal="no_previous">There is no pack before this one to go back to.</p>'
    ) in page


def test_an_install_while_another_runs_is_deferred_as_busy(
    admin: Flask, settings: Settings, packs: Packs
) -> None:
    pack = packs.build("2026.12.1")
    client = volunteer(admin)
    with store._locked(store.guides_dir(settings)):  # another install holds the store
        upload(client, pack)
    page = client.get("/admin/packs/").get_data(as_text=True)
    assert 'data-outcome="deferred"' in page
    assert '<p data-refusal="busy">Another pack is being installed right now.</p>' in page
    assert in_use(settings) is None


def test_the_installers_other_refusals_have_their_kind(
    settings: Settings, packs: Packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kinds the bad packs of tests/test_guide_packs.py do not reach."""
    pack = packs.build("2026.12.1")
    with pytest.raises(PackRejected) as refused:
        store.install_file(pack, settings.replace("guides", trusted_keys=()))
    assert refused.value.kind == "no_trusted_key"
    with pytest.raises(PackRejected) as refused:
        store.install_file(tmp_path / "gone.pack", settings)
    assert refused.value.kind == "unreadable"

    def broken(_folder: Path, _settings: Settings) -> None:
        raise RuntimeError("the index could not be written")

    with monkeypatch.context() as patched:
        patched.setattr(render, "prepare", broken)
        with pytest.raises(PackRejected) as refused:
            store.install_file(pack, settings)
    assert refused.value.kind == "not_prepared"
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(store.shutil, "disk_usage", lambda _path: usage(10**9, 10**9, 1000))
    with pytest.raises(PackDeferred) as deferred:
        store.install_file(pack, settings)
    assert deferred.value.kind == "no_room"
    assert in_use(settings) is None
