"""The app factory, generated secrets, the database and the translation catalogs."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import ConfigError, Settings
from portal.context import services_of
from portal.migrations import migrate, schema_version
from portal.models import database
from portal.onboarding.lessons import BUNDLED_LESSONS, LessonError, LessonLibrary
from tests.conftest import fake_identify, make_settings
from tests.test_gatekeeper import modules_loaded_by

TRANSLATIONS = Path(__file__).resolve().parent.parent / "portal" / "translations"


def test_factory_builds_an_app_with_every_blueprint(app: Flask) -> None:
    assert set(app.blueprints) == {"captive", "onboarding", "speaker", "pages", "guides"}
    assert services_of(app).settings.firewall.backend == "memory"


def test_the_web_side_loads_rapidfuzz_only_when_a_word_is_unknown() -> None:
    """About 4.6 MB in every worker, whose Pi Zero budget leaves under 2 MB: only the
    "Did you mean …?" of an unknown word may load it (portal.guides.spelling)."""
    loaded = modules_loaded_by("portal.app", "portal.serving", "portal.guides.views")
    assert "portal.guides.spelling" in loaded
    assert {name for name in loaded if name.split(".")[0] == "rapidfuzz"} == set()


def test_secrets_are_generated_private_and_kept(settings: Settings) -> None:
    first = create_app(settings, firewall=MemoryFirewall(), identify=fake_identify)
    keys = Path(settings.data_dir) / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in keys.iterdir()}
    assert modes == {"flask-secret.key": 0o600, "site.key": 0o600}
    second = create_app(settings, firewall=MemoryFirewall(), identify=fake_identify)
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) == 32


def test_two_sites_get_different_secrets(tmp_path: Path) -> None:
    one = create_app(make_settings(tmp_path / "a"), firewall=MemoryFirewall())
    two = create_app(make_settings(tmp_path / "b"), firewall=MemoryFirewall())
    assert one.secret_key != two.secret_key


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    assert db.prepare(tmp_path) == 6
    assert migrate() == 6
    assert schema_version() == 6
    assert set(database.get_tables()) == {
        "account",
        "grant",
        "learning_path",
        "login_failure",
        "stat_count",
        "stat_shown",
    }
    pragmas = {
        name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "foreign_keys")
    }
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1}


def test_a_database_from_before_languages_were_remembered_gets_the_column(
    tmp_path: Path,
) -> None:
    import sqlite3

    old = sqlite3.connect(db.database_path(tmp_path))
    old.executescript(
        'CREATE TABLE "learning_path" ("device" VARCHAR(64) NOT NULL PRIMARY KEY,'
        ' "lessons" TEXT NOT NULL, "last_seen" DATE NOT NULL);'
        "INSERT INTO learning_path VALUES ('ab', 'onboarding', '2026-11-30');"
        'CREATE TABLE "grant" ("mac" VARCHAR(17) NOT NULL PRIMARY KEY);'
        "PRAGMA user_version = 2;"
    )
    old.close()
    assert db.prepare(tmp_path) == 6
    columns = [column.name for column in database.get_columns("learning_path")]
    assert columns == ["device", "lessons", "last_seen", "language"]
    kept = database.execute_sql("SELECT lessons, language FROM learning_path").fetchall()
    assert kept == [("onboarding", "")]


def test_init_db_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from portal.cli import main

    config = tmp_path / "portal.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert main(["init-db", "--config", str(config)]) == 0
    assert "schema version 6" in capsys.readouterr().out
    assert (tmp_path / "data" / "portal.sqlite3").exists()


def test_missing_translation_of_a_bundled_lesson_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "onboarding"
    broken.mkdir()
    source = BUNDLED_LESSONS / "onboarding"
    for path in source.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    toml = (broken / "lesson.toml").read_text(encoding="utf-8")
    (broken / "lesson.toml").write_text(
        toml.replace('de = "Dieses WLAN ist kostenlos. Es ist für alle."\n', ""),
        encoding="utf-8",
    )
    with pytest.raises(
        LessonError, match="lesson onboarding, step 1, text, de: missing translation"
    ):
        LessonLibrary.load(tmp_path, ("fr", "nl", "de", "en", "ar"))


def test_a_lesson_whose_last_step_has_no_check_is_refused(tmp_path: Path) -> None:
    # Its right answer is what finishes a lesson: without it nobody could go online.
    broken = tmp_path / "onboarding"
    broken.mkdir()
    for path in (BUNDLED_LESSONS / "onboarding").iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    toml = (broken / "lesson.toml").read_text(encoding="utf-8")
    (broken / "lesson.toml").write_text(toml[: toml.index("[steps.check")], encoding="utf-8")
    with pytest.raises(
        LessonError, match="lesson onboarding, step 5: the last step needs a check question"
    ):
        LessonLibrary.load(tmp_path, ("fr", "nl", "de", "en", "ar"))


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en", "ar", "uk", "tr"])
def test_every_visible_string_is_translated(language: str) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert template - translated == set()


def test_catalog_template_is_up_to_date(tmp_path: Path) -> None:
    """A visible string added to code or a template must reach messages.pot (make i18n-extract)."""
    from babel.messages.frontend import CommandLineInterface

    root = TRANSLATIONS.parent.parent
    fresh = tmp_path / "fresh.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(root / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(fresh),
            str(root / "portal"),
        ]
    )
    with fresh.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        committed = {m.id for m in read_po(handle) if m.id}
    assert extracted == committed


def test_a_language_without_its_compiled_catalog_stops_start_up(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogs = tmp_path / "translations"
    for language in ("fr", "de", "en", "ar"):
        compiled = catalogs / language / "LC_MESSAGES" / "messages.mo"
        compiled.parent.mkdir(parents=True)
        compiled.write_bytes((TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").read_bytes())
    monkeypatch.setattr("portal.i18n.bundled", lambda *parts: catalogs)
    with pytest.raises(ConfigError) as refused:
        create_app(settings, firewall=MemoryFirewall(), identify=fake_identify)
    assert refused.value.key == "site.languages"
    assert str(refused.value).startswith(
        f"site.languages: 'nl' has no compiled translation catalog in {catalogs} "
    )
