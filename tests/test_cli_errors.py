"""Every `portal` command, made to fail: one plain sentence on stderr and its documented exit code.

Each case runs the real command in its own process, from a folder of its own,
so a traceback anywhere (even after the handler) would show.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import ROOT

Setup = Callable[[Path], list[str]]
"""Prepares the failing situation in a folder; returns the command's arguments."""


def config(folder: Path, body: str = "") -> str:
    path = folder / "portal.toml"
    path.write_text(f'[storage]\ndata_dir = "{folder / "data"}"\n{body}', encoding="utf-8")
    return str(path)


def unknown_key(folder: Path) -> str:
    path = folder / "portal.toml"
    path.write_text('[network]\nwifi_iface = "wlan0"\n', encoding="utf-8")
    return str(path)


def data_dir_under_a_file(folder: Path) -> str:
    (folder / "not-a-folder").write_text("x", encoding="utf-8")
    path = folder / "portal.toml"
    path.write_text(f'[storage]\ndata_dir = "{folder / "not-a-folder" / "data"}"\n')
    return str(path)


def gatekeeper_absent(folder: Path) -> str:
    return config(folder, f'[firewall]\ngatekeeper_socket = "{folder / "gk.sock"}"\n')


def damaged_site_key(folder: Path) -> str:
    keys = folder / "data" / "keys"
    keys.mkdir(parents=True)
    (keys / "site.key").write_text("not hex\n", encoding="ascii")
    return config(folder, '[firewall]\nbackend = "memory"\n')


def broken_lessons(folder: Path) -> str:
    lessons = folder / "lessons"
    (lessons / "onboarding").mkdir(parents=True)
    (lessons / "path.toml").write_text('order = ["onboarding"]\n', encoding="utf-8")
    (lessons / "onboarding" / "lesson.toml").write_text("[[steps]]\n", encoding="utf-8")
    return str(lessons)


def existing_key(folder: Path) -> str:
    (folder / "keys").mkdir()
    (folder / "keys" / "pack-signing.key").write_text("secret", encoding="ascii")
    return str(folder / "keys")


def gunicorn_tls_override(folder: Path) -> str:
    # Not gunicorn.py: `python -m` runs from this folder, and the name would hide gunicorn.
    (folder / "overrides.py").write_text('certfile = "/etc/ssl/cert.pem"\n', encoding="utf-8")
    return "overrides.py"  # the command runs in `folder`


def database_is_a_folder(folder: Path) -> str:
    (folder / "data" / "portal.sqlite3").mkdir(parents=True)
    return config(folder)


def database_is_no_database(folder: Path) -> str:
    (folder / "data").mkdir()
    (folder / "data" / "portal.sqlite3").write_bytes(b"not SQLite at all" * 512)
    return config(folder)


def binary_key_file(folder: Path) -> str:
    (folder / "key.pub").write_bytes(b"\xff\xfe\x00binary")
    return str(folder / "key.pub")


def source_with_a_bad_version_and_image(folder: Path) -> str:
    source = folder / "source"
    shutil.copytree(ROOT / "content", source)
    pack_toml = source / "pack.toml"
    text = pack_toml.read_text(encoding="utf-8")
    pack_toml.write_text(
        text.replace('version = "2026.12.1"', 'version = "2026.11.1.1.1"'), encoding="utf-8"
    )
    (source / "images" / "eid.svg").rename(source / "images" / "Eid.svg")
    return str(source)


def file_in_the_way(folder: Path) -> str:
    (folder / "file").write_text("x", encoding="utf-8")
    return str(folder / "file")


def not_a_pack(folder: Path) -> str:
    (folder / "fake.pack").write_bytes(b"this is not a tar file" * 100)
    return str(folder / "fake.pack")


PROGRESS = ("verify: ", "INFO ")


@dataclass(frozen=True)
class Case:
    name: str
    setup: Setup
    code: int
    starts: str
    env: dict[str, str] | None = None


CASES = [
    Case(
        "check-config with an unknown key",
        lambda f: ["check-config", unknown_key(f)],
        2,
        "configuration error: network.wifi_iface: unknown key; [network] allows ",
    ),
    Case(
        "init-db with the data directory under a file",
        lambda f: ["init-db", "--config", data_dir_under_a_file(f)],
        4,
        "system: Not a directory: ",
    ),
    Case(
        "render-config with an unknown key",
        lambda f: ["render-config", "--out", str(f / "out"), "--config", unknown_key(f)],
        2,
        "configuration error: network.wifi_iface: unknown key",
    ),
    Case(
        "serve with gunicorn's own TLS in an override file",
        lambda f: ["serve", "--config", config(f), "--gunicorn-config", gunicorn_tls_override(f)],
        2,
        "configuration error: overrides.py: certfile: cannot be set here: the portal's own"
        " worker serves HTTPS",
    ),
    Case(
        "serve with a damaged site key",
        lambda f: ["serve", "--config", damaged_site_key(f)],
        2,
        "keys: ",
    ),
    Case(
        "serve with an unknown key",
        lambda f: ["serve", "--config", unknown_key(f)],
        2,
        "configuration error: network.wifi_iface: unknown key",
    ),
    Case(
        "demo with its data directory under a file",
        lambda f: ["demo", "--port", "1", "--data-dir", file_in_the_way(f)],
        4,
        "system: ",
    ),
    Case(
        "init-db where the database file is a folder",
        lambda f: ["init-db", "--config", database_is_a_folder(f)],
        4,
        "system: Is a directory: ",
    ),
    Case(
        "init-db where the database file is no database",
        lambda f: ["init-db", "--config", database_is_no_database(f)],
        4,
        "database: file is not a database",
    ),
    Case(
        "housekeep --once without a gatekeeper",
        lambda f: ["housekeep", "--once", "--config", gatekeeper_absent(f)],
        3,
        "firewall: gatekeeper unreachable at ",
    ),
    Case(
        "poster with an unknown key",
        lambda f: ["poster", "--out", str(f / "out"), "--config", unknown_key(f)],
        2,
        "configuration error: network.wifi_iface: unknown key",
    ),
    Case(
        "poster into a folder under a file",
        lambda f: ["poster", "--config", config(f), "--out", f"{file_in_the_way(f)}/poster"],
        4,
        "system: Not a directory: ",
    ),
    Case(
        "lessons check of a broken lesson",
        lambda f: ["lessons", "check", "--lessons-dir", broken_lessons(f)],
        1,
        "",
    ),
    Case(
        "lessons narrate without espeak-ng",
        lambda f: ["lessons", "narrate", "--config", config(f)],
        3,
        "narration: espeak-ng is not installed: install the Debian package 'espeak-ng'",
        env={"PATH": "/nonexistent"},
    ),
    Case(
        "pack keygen over an existing key",
        lambda f: ["pack", "keygen", "--out", existing_key(f)],
        2,
        "pack refused: ",
    ),
    Case(
        "pack build with an unreadable key",
        lambda f: ["pack", "build", str(f / "out.pack"), "--key", str(f / "none.key")],
        2,
        "pack refused: ",
    ),
    Case(
        "pack verify of a file that is no pack",
        lambda f: ["pack", "verify", not_a_pack(f), "--config", config(f)],
        2,
        "pack refused: ",
    ),
    Case(
        "pack verify trusting a file that is no key",
        lambda f: ["pack", "verify", not_a_pack(f), "--trust", binary_key_file(f)],
        2,
        "pack refused: ",
    ),
    Case(
        "pack install of a missing file",
        lambda f: ["pack", "install", str(f / "none.pack"), "--config", config(f)],
        2,
        "pack refused: ",
    ),
    Case(
        "pack rollback with nothing to go back to",
        lambda f: ["pack", "rollback", "--config", config(f)],
        2,
        "pack refused: there is no previous pack to roll back to",
    ),
    Case(
        "stats export with a day that does not exist",
        lambda f: ["stats", "export", "--config", config(f), "--from", "2026-02-30"],
        2,
        "statistics: from must be a date as YYYY-MM-DD, got '2026-02-30'",
    ),
    Case(
        "stats export ending before it starts",
        lambda f: [
            "stats",
            "export",
            "--config",
            config(f),
            "--from",
            "2026-03-01",
            "--to",
            "2026-02-01",
        ],
        2,
        "statistics: to (2026-02-01) must not come before from (2026-03-01)",
    ),
    Case(
        "stats export with an epsilon out of range",
        lambda f: ["stats", "export", "--config", config(f, "[stats]\nexport_epsilon = 50.0\n")],
        2,
        "configuration error: stats.export_epsilon: must be a number from 0 (off) to 10",
    ),
    Case(
        "stats export with the data directory under a file",
        lambda f: ["stats", "export", "--config", data_dir_under_a_file(f)],
        4,
        "system: Not a directory: ",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_failing_command_prints_one_sentence_and_its_exit_code(case: Case, tmp_path: Path) -> None:
    argv = case.setup(tmp_path)
    env = {name: value for name, value in os.environ.items() if name != "PORTAL_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    env.update(case.env or {})
    done = subprocess.run(
        [sys.executable, "-m", "portal.cli", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == case.code, done.stderr
    if case.code == 1:  # a check: its problems on stdout, a count at the end
        assert done.stdout.splitlines()[0] == (
            "lesson onboarding, step 1: pictogram must be a file name like 'wifi.svg'"
        )
        assert done.stdout.splitlines()[-1].startswith("6 problem(s) in ")
        return
    *progress, sentence = done.stderr.splitlines()
    assert sentence.startswith(case.starts)
    # Before the sentence, at most the progress of the step that failed.
    assert all(line.startswith(PROGRESS) for line in progress), done.stderr


def test_pack_build_lists_every_problem_of_the_source(tmp_path: Path) -> None:
    source_with_a_bad_version_and_image(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    portal = [sys.executable, "-m", "portal.cli", "pack"]
    keygen = [*portal, "keygen", "--out", "keys"]
    subprocess.run(keygen, cwd=tmp_path, env=env, check=True, capture_output=True)
    done = subprocess.run(
        [*portal, "build", "source", "out.pack", "--key", "keys/pack-signing.key"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pack refused: 9 problem(s) in the pack source",
        "  source/images/Eid.svg: 'Eid.svg' is not an image name: lower-case letters, digits, "
        "'.', '_' and '-', ending in .svg, .webp, .png, .jpg, .jpeg",
        "  source/pack.toml: key 'version': '2026.11.1.1.1' is not dotted numbers such as "
        "'2026.11.1'",
        "  source/guides/g01-eid/ar.md: key 'pictogram': 'eid.svg' is not a file in images/",
        "  source/guides/g01-eid/de.md: key 'pictogram': 'eid.svg' is not a file in images/",
        "  source/guides/g01-eid/en.md: key 'pictogram': 'eid.svg' is not a file in images/",
        "  source/guides/g01-eid/fr.md: key 'pictogram': 'eid.svg' is not a file in images/",
        "  source/guides/g01-eid/nl.md: key 'pictogram': 'eid.svg' is not a file in images/",
        "  source/guides/g01-eid/tr.md: key 'pictogram': 'eid.svg' is not a file in images/",
        "  source/guides/g01-eid/uk.md: key 'pictogram': 'eid.svg' is not a file in images/",
    ]
    assert not (tmp_path / "out.pack").exists()


def test_help_documents_the_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "portal.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "exit codes:\n  0  done\n  1  a check found problems" in done.stdout
    assert "  3  something the command needs is missing or down" in done.stdout


def test_demo_takes_a_data_dir_given_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.cli import demo_settings

    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    settings = demo_settings("127.0.0.1", 8080, Path("../demo"))
    assert settings.data_dir == (tmp_path / "demo").resolve()
