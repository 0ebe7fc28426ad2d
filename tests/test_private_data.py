"""MACs and secrets at rest: the data directory 0700, every file in it 0600, whatever the
umask and whichever command makes the data directory first."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.datadir import private_files
from tests.conftest import complete_onboarding, fake_identify, make_settings, phone_client
from tests.live import ROOT


def modes(data_dir: Path) -> dict[str, int]:
    """Permission bits of the data directory and of everything in it (links left out)."""
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.stat().st_mode)
    return found


def readable_by_others(found: dict[str, int]) -> dict[str, str]:
    """Everything group or others may read, write or enter, with its mode."""
    return {name: oct(mode) for name, mode in found.items() if mode & 0o077}


def config(folder: Path, more: str = "") -> str:
    path = folder / "portal.toml"
    text = f'[storage]\ndata_dir = "{folder / "data"}"\n[firewall]\nbackend = "memory"\n{more}'
    path.write_text(text, encoding="utf-8")
    return str(path)


def signed_pack(folder: Path) -> tuple[str, str]:
    """The bundled guides built into a pack; its path and the [guides] line trusting it."""
    run_with_umask_022(["pack", "keygen", "--out", "signing"], folder)
    key = (folder / "signing" / "pack-signing.pub").read_text(encoding="ascii").strip()
    run_with_umask_022(
        ["pack", "build", "guides.pack", "--key", "signing/pack-signing.key"], folder
    )
    return str(folder / "guides.pack"), f'[guides]\ntrusted_keys = ["{key}"]\n'


def install_command(folder: Path) -> list[str]:
    pack, trust = signed_pack(folder)
    return ["pack", "install", pack, "--config", config(folder, trust)]


def run_with_umask_022(argv: list[str], cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "portal.cli", *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: os.umask(0o022),
        check=True,
        capture_output=True,
        timeout=120,
    )


FIRST_COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "init-db": lambda folder: ["init-db", "--config", config(folder)],
    "housekeep --once": lambda folder: ["housekeep", "--once", "--config", config(folder)],
    "pack install": install_command,
}


@pytest.mark.parametrize("first", list(FIRST_COMMANDS))
def test_the_first_command_makes_a_private_data_directory(first: str, tmp_path: Path) -> None:
    run_with_umask_022(FIRST_COMMANDS[first](tmp_path), tmp_path)
    assert (tmp_path / "data").is_dir()
    assert readable_by_others(modes(tmp_path / "data")) == {}


def test_the_running_portal_keeps_its_files_private_under_umask_022(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        settings = make_settings(tmp_path / "data")
        app = create_app(settings, firewall=MemoryFirewall(), identify=fake_identify)
        complete_onboarding(phone_client(app))
    finally:
        os.umask(previous)
    found = modes(tmp_path / "data")
    assert {"portal.sqlite3", "portal.sqlite3-wal", "keys/site.key"} <= set(found)
    assert readable_by_others(found) == {}


def test_files_left_readable_by_an_older_version_are_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    database = data / "portal.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    run_with_umask_022(["init-db", "--config", config(tmp_path)], tmp_path)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_private_files_creates_the_database_file_0600(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        private_files(tmp_path / "db", tmp_path / "db-wal")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "db").stat().st_mode) == 0o600
    assert not (tmp_path / "db-wal").exists()
