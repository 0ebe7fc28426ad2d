"""Packs an older portal prepared: prepared again from their checked files after an upgrade,
by `portal pack refresh` and before `portal serve` starts; nothing lost on the way."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import textwrap
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.cli import main
from portal.config import Settings
from portal.guides import store
from portal.guides.errors import PackRejected
from portal.guides.library import check_prepared, load_library
from portal.guides.search import search
from tests.test_guide_packs import (  # noqa: F401 — fixtures
    Packs,
    _flip_byte_in_page,
    config_file,
    packs,
    served_copy,
    settings,
    signing_key,
    snapshot,
    staged_by_a_killed_process,
    staging_is_empty,
    trusting,
    two_installed_once,
)

VERSIONS = ("2026.11.1", "2026.11.2")
OLD_NAME = r"passerelle-wallonie-{version}-[0-9a-f]{{12}}"


def as_the_format_1_portal_left_it(site: Settings) -> dict[str, str]:
    """What the portal of FORMAT 1 left in each slot's folder: library.json of format 1, an
    index without the display columns and without a stamp, a folder name without the format.
    Returns the old folder's name by slot."""
    slots = store.guides_dir(site) / "slots"
    names = {}
    for pack in store.installed_packs(site):
        library = pack.folder / "rendered" / "library.json"
        raw = json.loads(library.read_text(encoding="utf-8"))
        library.write_text(json.dumps({**raw, "format": 1}), encoding="utf-8")
        index = pack.folder / "search.sqlite3"
        index.unlink()
        with closing(sqlite3.connect(index)) as connection, connection:
            for language in raw["pack"]["languages"]:
                connection.execute(
                    f"CREATE VIRTUAL TABLE pages_{language} USING fts5("
                    "guide_id UNINDEXED, title, summary, tags, body, "
                    "tokenize = 'unicode61 remove_diacritics 2')"
                )
                connection.execute(
                    f"INSERT INTO pages_{language} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
                    ("g01-eid", "carte d'identite", "", "", ""),
                )
        name = pack.folder.name.removesuffix("-f3")
        pack.folder.rename(pack.folder.with_name(name))
        (slots / pack.slot).unlink()
        (slots / pack.slot).symlink_to(f"../versions/{name}")
        names[pack.slot] = name
    return names


@pytest.fixture(scope="module")
def old_store(
    tmp_path_factory: pytest.TempPathFactory,
    signing_key: Ed25519PrivateKey,  # noqa: F811
    two_installed_once: Path,  # noqa: F811
) -> Path:
    """The two versions test_guide_packs installs once, left as FORMAT 1 left them."""
    site = trusting(tmp_path_factory.mktemp("old") / "data", signing_key)
    served_copy(two_installed_once, site)
    assert [pack.manifest.info.version for pack in store.installed_packs(site)] == list(
        VERSIONS[::-1]
    )
    as_the_format_1_portal_left_it(site)
    return store.guides_dir(site)


@pytest.fixture
def stale(settings: Settings, old_store: Path) -> tuple[str, dict[str, str]]:  # noqa: F811
    """A copy of the old store; its snapshot."""
    return served_copy(old_store, settings)


def slots(settings: Settings) -> list[tuple[str, str, str]]:  # noqa: F811
    return [
        (pack.slot, pack.manifest.info.version, pack.folder.name)
        for pack in store.installed_packs(settings)
    ]


def test_the_old_preparation_is_what_upgrades_broke(
    settings: Settings,  # noqa: F811
    stale: tuple[str, dict[str, str]],
) -> None:
    """The failure the refresh puts right: search finds nothing, the library does not load."""
    current = store.current_pack_dir(settings)
    assert current is not None
    assert search(current, "fr", "carte") == []
    with pytest.raises(ValueError, match="rendered with another portal version"):
        load_library(current)
    with pytest.raises(PackRejected, match=r"library\.json cannot be read"):
        check_prepared(current)


def test_refresh_prepares_both_packs_again_and_prunes_the_stale_folders(
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    packs: Packs,  # noqa: F811
    stale: tuple[str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = {slot: name for slot, _, name in slots(settings)}
    assert main(["pack", "refresh", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("prepared again current   passerelle-wallonie 2026.11.2 (fr, nl")
    assert out[1].startswith("prepared again previous  passerelle-wallonie 2026.11.1 (fr, nl")
    assert out[2].startswith("for this portal version, in ")
    assert slots(settings) == [
        ("current", "2026.11.2", f"{old['current']}-f3"),
        ("previous", "2026.11.1", f"{old['previous']}-f3"),
    ]
    versions = store.guides_dir(settings) / "versions"
    assert sorted(path.name for path in versions.iterdir()) == sorted(
        [f"{old['current']}-f3", f"{old['previous']}-f3"]
    )
    assert staging_is_empty(settings)
    current = store.current_pack_dir(settings)
    assert current is not None
    assert sorted(load_library(current).guides) == ["g01-eid", "g11-emergencies"]
    assert [hit.guide_id for hit in search(current, "fr", "carte identite")][:1] == ["g01-eid"]
    store.rollback(settings)
    assert [version for _, version, _ in slots(settings)] == ["2026.11.1", "2026.11.2"]
    store.rollback(settings)
    # The refreshed pack is the one the pack file installs: nothing to do.
    assert (
        main(["pack", "install", str(packs.build("2026.11.2")), "--config", str(config_file)]) == 0
    )
    assert "already installed: passerelle-wallonie 2026.11.2" in capsys.readouterr().out


def test_refresh_with_nothing_stale_does_nothing(
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    stale: tuple[str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.refresh(settings)
    guides = store.guides_dir(settings)
    before = snapshot(settings), sorted(os.listdir(guides))

    def no_work(folder: Path, settings: Settings) -> None:
        raise AssertionError("prepared again")

    monkeypatch.setattr("portal.guides.render.prepare", no_work)
    with (guides / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # an install running: not waited for
        assert main(["pack", "refresh", "--config", str(config_file)]) == 0
    nothing = "the guide packs are prepared for this portal version: nothing to do\n"
    assert capsys.readouterr().out == nothing
    assert (snapshot(settings), sorted(os.listdir(guides))) == before


def test_refresh_with_no_pack_installed_does_nothing_and_makes_no_folder(
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pack", "refresh", "--config", str(config_file)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert not store.guides_dir(settings).exists()


def test_failing_prepare_leaves_the_old_packs_in_place(
    settings: Settings,  # noqa: F811
    stale: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = slots(settings)

    def broken(folder: Path, _settings: Settings) -> None:
        (folder / "rendered").mkdir()
        raise RuntimeError("cannot render page g01-eid/fr")

    monkeypatch.setattr("portal.guides.render.prepare", broken)
    with pytest.raises(
        PackRejected,
        match=r"^the current pack is kept as it was: the pack could not be prepared for "
        r"reading: cannot render page g01-eid/fr$",
    ):
        store.refresh(settings)
    assert snapshot(settings) == stale
    assert slots(settings) == before
    assert staging_is_empty(settings)


KILLED_REFRESH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import portal.guides.render as render
    from portal.config import load_settings
    from portal.guides.store import refresh

    def stuck(folder, settings):
        Path(sys.argv[2]).write_text(str(folder))
        time.sleep(60)

    render.prepare = stuck
    refresh(load_settings(sys.argv[1]))
    """
)


def test_refresh_killed_midway_leaves_the_old_pack_serving_and_is_done_next_time(
    tmp_path: Path,
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    stale: tuple[str, dict[str, str]],
) -> None:
    staged = staged_by_a_killed_process(KILLED_REFRESH, tmp_path / "staged", str(config_file))
    assert (staged / "guides/g01-eid/fr.md").exists()  # the checked copy
    assert snapshot(settings) == stale
    store.refresh(settings)
    assert not staged.exists()
    assert staging_is_empty(settings)
    assert [name.endswith("-f3") for _, _, name in slots(settings)] == [True, True]


@pytest.mark.parametrize("slot", ["current", "previous"])
def test_an_altered_stored_file_is_refused_by_name_and_its_pack_kept(
    slot: str,
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    stale: tuple[str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = {name: (version, folder) for name, version, folder in slots(settings)}
    altered = store.guides_dir(settings) / "versions" / before[slot][1]
    _flip_byte_in_page(altered / "guides/g01-eid/fr.md")
    assert main(["pack", "refresh", "--config", str(config_file)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"pack refused: the {slot} pack is kept as it was: {before[slot][1]}: "
        "'guides/g01-eid/fr.md': SHA-256 does not match the manifest (altered file)"
    )
    other = "previous" if slot == "current" else "current"
    after = {name: (version, folder) for name, version, folder in slots(settings)}
    assert after == {slot: before[slot], other: (before[other][0], f"{before[other][1]}-f3")}
    assert altered.is_dir()
    assert staging_is_empty(settings)


def test_serve_prepares_the_packs_again_before_the_server_runs(
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    stale: tuple[str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[list[tuple[str, str, str]]] = []
    monkeypatch.setattr("portal.serving.handed_listeners", lambda *_: None)  # binds nothing
    monkeypatch.setattr(
        "portal.serving.PortalServer.run", lambda _server: served.append(slots(settings))
    )
    assert main(["serve", "--config", str(config_file)]) == 0
    assert [[(slot, name[-3:]) for slot, _, name in pair] for pair in served] == [
        [("current", "-f3"), ("previous", "-f3")]
    ]
    assert "prepared again current   passerelle-wallonie 2026.11.2" in capsys.readouterr().out


def test_serve_starts_when_a_pack_cannot_be_prepared_again(
    settings: Settings,  # noqa: F811
    config_file: Path,  # noqa: F811
    stale: tuple[str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    current = store.current_pack_dir(settings)
    assert current is not None
    _flip_byte_in_page(current / "guides/g01-eid/fr.md")
    served: list[bool] = []
    monkeypatch.setattr("portal.serving.handed_listeners", lambda *_: None)  # binds nothing
    monkeypatch.setattr("portal.serving.PortalServer.run", lambda _server: served.append(True))
    assert main(["serve", "--config", str(config_file)]) == 0
    assert served == [True]
    assert capsys.readouterr().err.startswith(
        f"warning: guide packs: the current pack is kept as it was: {current.name}: "
        "'guides/g01-eid/fr.md': SHA-256 does not match"
    )
    assert store.current_pack_dir(settings) == current


def test_installing_the_same_pack_over_one_prepared_by_the_old_portal_keeps_the_previous(
    settings: Settings,  # noqa: F811
    packs: Packs,  # noqa: F811
    stale: tuple[str, dict[str, str]],
) -> None:
    old = {slot: name for slot, _, name in slots(settings)}
    result = store.install_file(packs.build("2026.11.2"), settings)
    assert result.changed
    assert slots(settings) == [
        ("current", "2026.11.2", f"{old['current']}-f3"),
        ("previous", "2026.11.1", old["previous"]),
    ]


def test_a_damaged_folder_of_this_format_is_refused_not_replaced_under_the_readers(
    settings: Settings,  # noqa: F811
    stale: tuple[str, dict[str, str]],
) -> None:
    store.refresh(settings)
    current = store.current_pack_dir(settings)
    assert current is not None
    (current / "search.sqlite3").unlink()
    with pytest.raises(
        PackRejected,
        match=rf"^the current pack is kept as it was: {current.name}: what prepare\(\) wrote "
        r"is damaged; install the pack again$",
    ):
        store.refresh(settings)
    assert store.current_pack_dir(settings) == current
    assert (current / "guides/g01-eid/fr.md").is_file()
