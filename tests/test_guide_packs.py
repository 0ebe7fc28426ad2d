"""Guide packs: build, sign, verify, install, roll back — and every bad pack refused, harmlessly."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.cli import main
from portal.config import Settings, parse_settings
from portal.guides import store
from portal.guides.errors import PackRejected
from portal.guides.library import load_library
from portal.guides.pack.build import build_pack
from portal.guides.pack.manifest import MANIFEST, SIGNATURE, Limits
from portal.guides.pack.problems import PackInvalid
from portal.guides.pack.read import read_pack
from portal.guides.pack_keys import generate_keys, key_id, load_private_key, public_key_text
from portal.guides.pack_sources import install, partial_path
from portal.uplink import UplinkState, state_path, write_state

CONTENT = Path(__file__).resolve().parent.parent / "content"
GUIDES = ("g01-eid", "g11-emergencies")
PICTOGRAMS = ("eid.svg", "emergency.svg")
GIB2 = 2 * 1024**3


# --- fixtures and helpers ---------------------------------------------------------------


def make_source(folder: Path, version: str = "2026.11.1", **pack_changes: str) -> Path:
    """A small pack source: two guides of content/ in every language, their pictograms."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "guides").mkdir(parents=True)
    (folder / "images").mkdir()
    for guide in GUIDES:
        shutil.copytree(CONTENT / "guides" / guide, folder / "guides" / guide)
    for picture in PICTOGRAMS:
        shutil.copy(CONTENT / "images" / picture, folder / "images" / picture)
    text = (CONTENT / "pack.toml").read_text(encoding="utf-8")
    for name, value in {"version": version, **pack_changes}.items():
        text = re.sub(rf'(?m)^{name} = ".*"$', f'{name} = "{value}"', text)
    (folder / "pack.toml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Ed25519PrivateKey:
    private, _public = generate_keys(tmp_path_factory.mktemp("keys"))
    return load_private_key(private)


def trusting(data_dir: Path, key: Ed25519PrivateKey) -> Settings:
    """Default settings with their data in `data_dir`, trusting packs signed with `key`."""
    return (
        Settings()
        .replace("storage", data_dir=str(data_dir))
        .replace("guides", trusted_keys=(public_key_text(key.public_key()),))
    )


@pytest.fixture
def settings(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Settings:
    return trusting(tmp_path / "data", signing_key)


@pytest.fixture
def config_file(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "portal.toml"
    keys = ", ".join(f'"{key}"' for key in settings.guides.trusted_keys)
    path.write_text(
        f'[storage]\ndata_dir = "{settings.data_dir}"\n[guides]\ntrusted_keys = [{keys}]\n',
        encoding="utf-8",
    )
    return path


class Packs:
    """Builds real signed packs of the small source, by version, in a temporary folder."""

    def __init__(self, folder: Path, key: Ed25519PrivateKey) -> None:
        self.folder = folder
        self.key = key

    def build(self, version: str, name: str | None = None) -> Path:
        source = make_source(self.folder / f"src-{version}", version)
        out = self.folder / (name or f"wallonie-{version}.pack")
        build_pack(source, out, self.key)
        return out

    def files(self, version: str = "2026.12.1") -> dict[str, bytes]:
        """The files of a valid pack, by pack path, to forge bad packs from."""
        source = make_source(self.folder / f"forge-{version}", version)
        return {
            str(path.relative_to(source)): path.read_bytes()
            for path in sorted(source.rglob("*"))
            if path.is_file()
        }


@pytest.fixture
def packs(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Packs:
    return Packs(tmp_path / "packs", signing_key)


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def forge(
    out: Path,
    signer: Ed25519PrivateKey,
    files: dict[str, bytes],
    *,
    members: list[tuple[tarfile.TarInfo, bytes]] | None = None,
    declared: dict[str, int] | None = None,
    fields: dict[str, Any] | None = None,
    signature: bytes | str | None = "sign",
    claimed: Ed25519PrivateKey | None = None,
) -> Path:
    """Write a pack by hand: a manifest of `files` (sizes overridden by `declared`) with the
    values of their pack.toml (overridden by `fields`), signed by `signer` (claiming
    `claimed`'s key id), and the tar members given (default: `files`)."""
    pack = tomllib.loads(files["pack.toml"].decode())
    entries = [
        {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, data in files.items()
    ]
    for path, size in (declared or {}).items():
        entries = [entry for entry in entries if entry["path"] != path]
        entries.append({"path": path, "size": size, "sha256": "0" * 64})
    document = {
        "format": 1,
        "pack_id": pack["id"],
        **{name: pack[name] for name in ("version", "languages", "default_language")},
        "min_portal_version": pack["min_portal_version"],
        "created": "2026-12-01T00:00:00+00:00",
        "key_id": key_id((claimed or signer).public_key()),
        "title": pack["title"],
        "files": entries,
        **(fields or {}),
    }
    raw = json.dumps(document).encode()
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(*_member(MANIFEST, raw))
        if signature == "sign":
            archive.addfile(*_member(SIGNATURE, signer.sign(raw)))
        elif isinstance(signature, bytes):
            archive.addfile(*_member(SIGNATURE, signature))
        for info, data in members if members is not None else map(_pair, files.items()):
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info, _ = regular(name, data)
    return info, io.BytesIO(data)


def _pair(item: tuple[str, bytes]) -> tuple[tarfile.TarInfo, bytes]:
    return regular(*item)


def snapshot(settings: Settings) -> tuple[str, dict[str, str]]:
    """Where `current` points, and the SHA-256 of every file of the pack it serves."""
    link = os.readlink(store.guides_dir(settings) / store.CURRENT)
    folder = store.current_pack_dir(settings)
    assert folder is not None
    digests = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    return link, digests


def installed_store(folder: Path, key: Ed25519PrivateKey, *versions: str) -> Path:
    """The guide store of a data dir in `folder` where `versions` were installed in turn."""
    settings = trusting(folder / "data", key)
    built = Packs(folder, key)
    for version in versions:
        store.install_file(built.build(version), settings)
    return store.guides_dir(settings)


def served_copy(guides: Path, settings: Settings) -> tuple[str, dict[str, str]]:
    """A copy of the store `guides` (its links are relative) as `settings`' own; its snapshot."""
    shutil.copytree(guides, store.guides_dir(settings), symlinks=True)
    return snapshot(settings)


@pytest.fixture(scope="module")
def installed_once(
    tmp_path_factory: pytest.TempPathFactory, signing_key: Ed25519PrivateKey
) -> Path:
    """A store where version 2026.11.1 was installed (once: prepare takes a while)."""
    return installed_store(tmp_path_factory.mktemp("installed"), signing_key, "2026.11.1")


@pytest.fixture
def installed(settings: Settings, installed_once: Path) -> tuple[str, dict[str, str]]:
    """Version 2026.11.1 installed and served; its snapshot."""
    return served_copy(installed_once, settings)


@pytest.fixture(scope="module")
def two_installed_once(
    tmp_path_factory: pytest.TempPathFactory, signing_key: Ed25519PrivateKey
) -> Path:
    """A store where 2026.11.1 then 2026.11.2 were installed: previous and current."""
    return installed_store(
        tmp_path_factory.mktemp("two-installed"), signing_key, "2026.11.1", "2026.11.2"
    )


@pytest.fixture
def two_installed(settings: Settings, two_installed_once: Path) -> tuple[str, dict[str, str]]:
    """2026.11.2 served, 2026.11.1 kept for rollback; the snapshot of what is served."""
    return served_copy(two_installed_once, settings)


def staged_by_a_killed_process(code: str, marker: Path, *args: str) -> Path:
    """Runs `code` (given `args` and `marker`), which writes to `marker` the staged folder
    it is stuck on; kills it there. The folder it had staged."""
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args, str(marker)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = time.monotonic() + 15
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        return Path(marker.read_text())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def staging_is_empty(settings: Settings) -> bool:
    staging = store.guides_dir(settings) / store.STAGING
    return not staging.exists() or not any(staging.iterdir())


# --- keys, build, verify ----------------------------------------------------------------


def test_keygen_prints_a_key_config_accepts_and_keeps_the_private_key_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pack", "keygen", "--out", str(tmp_path / "keys")]) == 0
    printed = capsys.readouterr().out
    line = re.search(r'trusted_keys = \["(ed25519:[^"]+)"\]', printed)
    assert line is not None
    assert parse_settings(f'[guides]\ntrusted_keys = ["{line[1]}"]').guides.trusted_keys
    private = tmp_path / "keys" / "pack-signing.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert main(["pack", "keygen", "--out", str(tmp_path / "keys")]) == 2  # never overwritten


def test_build_then_verify_round_trip(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "k"
    _private, public = generate_keys(keys)
    out = tmp_path / "content.pack"
    built = main(["pack", "build", str(CONTENT), str(out), "--key", str(keys / "pack-signing.key")])
    assert built == 0
    assert "passerelle-wallonie 2026.12.1" in capsys.readouterr().out
    with tarfile.open(out) as archive:
        names = archive.getnames()
    assert names[:3] == [MANIFEST, SIGNATURE, "pack.toml"]
    assert "guides/g04-myminfin/fr.md" in names and "images/taxes.svg" in names
    manifest = read_pack(out, [public], Limits(max_bytes=10**8))
    assert manifest.info.languages == ("fr", "nl", "de", "en", "ar", "uk", "tr")
    assert len([entry for entry in manifest.files if entry.path.endswith(".md")]) == 84
    # Not trusted by the config file; trusted when named on the command line.
    assert main(["pack", "verify", str(out), "--config", str(config_file)]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main(["pack", "verify", str(out), "--config", str(config_file), "--trust", public]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: (s / "guides/g01-eid/nl.md").unlink(), r"g01-eid/nl\.md: missing"),
        (
            lambda s: _edit(s / "guides/g01-eid/fr.md", 'summary = "', 'summery = "'),
            r"g01-eid/fr\.md: key 'summary': missing",
        ),
        (
            lambda s: _edit(
                s / "guides/g11-emergencies/en.md", "updated = 2026", "updated = [2026"
            ),
            r"g11-emergencies/en\.md: front matter is not valid TOML .*line",
        ),
        (
            lambda s: (s / "images/eid.svg").unlink(),
            r"g01-eid/(de|en|fr|nl)\.md: key 'pictogram': 'eid\.svg' is not a file in images/",
        ),
        (
            lambda s: _edit(s / "pack.toml", 'default_language = "fr"', 'default_language = "it"'),
            r"pack\.toml: key 'default_language'",
        ),
        (
            lambda s: _edit(s / "pack.toml", 'min_portal_version = "0.1.0"', ""),
            r"pack\.toml: key 'min_portal_version': missing",
        ),
        (
            lambda s: _edit(s / "guides/g01-eid/de.md", 'topic = "identity"', 'topic = "x"'),
            r"g01-eid/de\.md: key 'topic': must be one of",
        ),
    ],
    ids=[
        "missing-language",
        "missing-key",
        "bad-toml",
        "missing-pictogram",
        "bad-default",
        "no-min-version",
        "bad-topic",
    ],
)
def test_build_refuses_a_bad_source_naming_file_and_key(
    tmp_path: Path, signing_key: Ed25519PrivateKey, change: Any, words: str
) -> None:
    source = make_source(tmp_path / "src")
    change(source)
    with pytest.raises(PackInvalid, match=words):
        build_pack(source, tmp_path / "out.pack", signing_key)
    assert not (tmp_path / "out.pack").exists()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- one format: what builds, installs ----------------------------------------------------


def _rename_pictogram(source: Path, old: str, new: str, guide: str = "g01-eid") -> None:
    """Rename an image and point every page of `guide` at the new name."""
    (source / "images" / old).rename(source / "images" / new)
    for page in (source / "guides" / guide).glob("*.md"):
        _edit(page, f'pictogram = "{old}"', f'pictogram = "{new}"')


def _rename_guide(source: Path, old: str, new: str) -> None:
    (source / "guides" / old).rename(source / "guides" / new)
    for page in (source / "guides" / new).glob("*.md"):
        _edit(page, f'id = "{old}"', f'id = "{new}"')


def _set_in_pack_toml(source: Path, line: str, new: str) -> None:
    _edit(source / "pack.toml", line, new)


def _drop_body(page: Path) -> None:
    """Keep the front matter only."""
    front = page.read_text(encoding="utf-8").split("+++\n")[1]
    page.write_text(f"+++\n{front}+++\n", encoding="utf-8")


def _in_every_page(source: Path, old: str, new: str, guide: str = "g01-eid") -> None:
    for page in sorted((source / "guides" / guide).glob("*.md")):
        _edit(page, old, new)


IMAGE_RULE = "is not an image name: lower-case letters, digits, '.', '_' and '-', ending in "
IMAGE_RULE += ".svg, .webp, .png, .jpg, .jpeg"
GUIDE_ID_RULE = "must be lower-case letters, digits and dashes, such as 'g13-short-name'"
LANGS = ("ar", "de", "en", "fr", "nl", "tr", "uk")
"""The order in which a guide folder's pages are listed (sorted)."""
PACK_ORDER = ("fr", "nl", "de", "en", "ar", "uk", "tr")
"""The order in which a guide's pages are checked (pack.toml's languages)."""
LONG_ID = "g" + "x" * 62


class Installs:
    """The build succeeds and every hotspot installs the pack: these guides, these pictograms."""

    def __init__(self, pictograms: dict[str, str], pack_id: str = "passerelle-wallonie") -> None:
        self.pictograms = pictograms
        self.pack_id = pack_id


SERVED = {"g01-eid": "eid.svg", "g11-emergencies": "emergency.svg"}

EDGE_SOURCES: dict[str, tuple[Any, list[str] | Installs]] = {
    "capital-in-pictogram": (
        lambda s: _rename_pictogram(s, "eid.svg", "Eid.svg"),
        [
            f"src/images/Eid.svg: 'Eid.svg' {IMAGE_RULE}",
            *(
                f"src/guides/g01-eid/{code}.md: key 'pictogram': 'Eid.svg' {IMAGE_RULE}"
                for code in PACK_ORDER
            ),
        ],
    ),
    "capital-in-pictogram-key-only": (
        lambda s: _in_every_page(s, 'pictogram = "eid.svg"', 'pictogram = "EID.svg"'),
        [
            f"src/guides/g01-eid/{code}.md: key 'pictogram': 'EID.svg' {IMAGE_RULE}"
            for code in PACK_ORDER
        ],
    ),
    "upper-case-suffix": (
        lambda s: _rename_pictogram(s, "eid.svg", "eid.SVG"),
        [
            f"src/images/eid.SVG: 'eid.SVG' {IMAGE_RULE}",
            *(
                f"src/guides/g01-eid/{code}.md: key 'pictogram': 'eid.SVG' {IMAGE_RULE}"
                for code in PACK_ORDER
            ),
        ],
    ),
    "underscore-in-pictogram": (
        lambda s: _rename_pictogram(s, "eid.svg", "e_id.svg"),
        Installs({**SERVED, "g01-eid": "e_id.svg"}),
    ),
    "jpeg-picture": (
        lambda s: _rename_pictogram(s, "eid.svg", "eid.jpeg"),
        Installs({**SERVED, "g01-eid": "eid.jpeg"}),
    ),
    "picture-in-a-sub-folder": (
        lambda s: shutil.copytree(s / "images", s / "images/more"),
        ["src/images/more: is a folder where the pack has none"],
    ),
    "capital-in-guide-folder": (
        lambda s: _rename_guide(s, "g01-eid", "G01-eid"),
        [
            f"src/guides/G01-eid/{code}.md: is in a guide folder whose name {GUIDE_ID_RULE}"
            for code in LANGS
        ],
    ),
    "guide-named-like-a-route": (
        lambda s: _rename_guide(s, "g01-eid", "search"),
        [
            f"src/guides/search/{code}.md: is in a guide folder whose name 'search' is taken "
            "by the library's own pages; choose another"
            for code in LANGS
        ],
    ),
    "longest-guide-id": (
        lambda s: _rename_guide(s, "g01-eid", LONG_ID),
        Installs({LONG_ID: "eid.svg", "g11-emergencies": "emergency.svg"}),
    ),
    "guide-id-one-too-long": (
        lambda s: _rename_guide(s, "g01-eid", LONG_ID + "x"),
        [
            f"src/guides/{LONG_ID}x/{code}.md: is in a guide folder whose name {GUIDE_ID_RULE}"
            for code in LANGS
        ],
    ),
    "upper-case-language": (
        lambda s: _set_in_pack_toml(s, '"nl",', '"NL",'),
        [
            "src/pack.toml: key 'languages': must be a list of different language codes "
            "such as ['fr', 'nl']"
        ],
    ),
    "region-in-language": (
        lambda s: _set_in_pack_toml(s, '"nl",', '"nl-BE",'),
        [
            "src/pack.toml: key 'languages': must be a list of different language codes "
            "such as ['fr', 'nl']"
        ],
    ),
    "page-in-another-language": (
        lambda s: shutil.copy(s / "guides/g01-eid/fr.md", s / "guides/g01-eid/it.md"),
        [
            "src/guides/g01-eid/it.md: a guide folder holds only <lang>.md "
            "for ['fr', 'nl', 'de', 'en', 'ar', 'uk', 'tr']"
        ],
    ),
    "notes-in-a-guide-folder": (
        lambda s: (s / "guides/g01-eid/notes.txt").write_text("to do"),
        [
            "src/guides/g01-eid/notes.txt: is not a page: a guide folder holds only "
            "<language>.md files, such as fr.md"
        ],
    ),
    "capital-in-pack-id": (
        lambda s: _set_in_pack_toml(s, 'id = "passerelle-wallonie"', 'id = "Passerelle"'),
        [
            "src/pack.toml: key 'id': must be lower-case letters, digits and dashes, "
            "such as 'passerelle-wallonie'"
        ],
    ),
    "other-pack-id": (
        lambda s: _set_in_pack_toml(s, 'id = "passerelle-wallonie"', 'id = "namur-2"'),
        Installs(SERVED, pack_id="namur-2"),
    ),
    "two-part-version": (
        lambda s: _set_in_pack_toml(s, '"2026.11.1"', '"2026.11"'),
        Installs(SERVED),
    ),
    "five-part-version": (
        lambda s: _set_in_pack_toml(s, '"2026.11.1"', '"2026.11.1.2.3"'),
        ["src/pack.toml: key 'version': '2026.11.1.2.3' is not dotted numbers such as '2026.11.1'"],
    ),
    "newline-after-version": (
        lambda s: _set_in_pack_toml(s, '"2026.11.1"', '"2026.11.1\\n"'),
        ["src/pack.toml: key 'version': '2026.11.1\\n' is not dotted numbers such as '2026.11.1'"],
    ),
    "needs-a-newer-portal": (
        lambda s: _set_in_pack_toml(s, '"0.1.0"', '"99.0"'),
        [
            "src/pack.toml: key 'min_portal_version': the pack needs portal 99.0 or newer; "
            "this is portal 0.1.0"
        ],
    ),
    "updated-with-a-time": (
        lambda s: _edit(
            s / "guides/g01-eid/nl.md", "updated = 2026-12-02", "updated = 2026-12-02T10:00:00"
        ),
        ["src/guides/g01-eid/nl.md: key 'updated': must be a TOML date such as 2026-11-26"],
    ),
    "unknown-topic": (
        lambda s: _in_every_page(s, 'topic = "identity"', 'topic = "Identity"'),
        [
            f"src/guides/g01-eid/{code}.md: key 'topic': must be one of identity, money-taxes, "
            "health, work, family-home, transport, safety, commune"
            for code in PACK_ORDER
        ],
    ),
    "no-body": (
        lambda s: _drop_body(s / "guides/g01-eid/de.md"),
        ["src/guides/g01-eid/de.md: has no text after the front matter"],
    ),
}


@pytest.mark.parametrize("case", list(EDGE_SOURCES))
def test_a_pack_that_builds_installs(
    case: str, tmp_path: Path, settings: Settings, signing_key: Ed25519PrivateKey
) -> None:
    """Every source is either refused by the build, naming file and key, or installs."""
    change, outcome = EDGE_SOURCES[case]
    source = make_source(tmp_path / "src")
    change(source)
    out = tmp_path / "edge.pack"
    if isinstance(outcome, list):
        with pytest.raises(PackInvalid) as refused:
            build_pack(source, out, signing_key)
        assert refused.value.problems == outcome
        assert not out.exists()
        return
    build_pack(source, out, signing_key)
    result = store.install_file(out, settings.replace("guides", pack_id=outcome.pack_id))
    library = load_library(result.folder)
    served = {guide.id: guide.pictogram for guide in library.guides.values()}
    assert served == outcome.pictograms
    for guide_id, pictogram in outcome.pictograms.items():
        assert (result.folder / "images" / pictogram).is_file()
        assert library.body(guide_id, "fr")


def test_build_refuses_a_manifest_the_reader_would_refuse(
    tmp_path: Path, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portal.guides.pack.manifest.MANIFEST_LIMIT", 1000)
    with pytest.raises(PackRejected, match=r"^manifest\.json is 3,\d{3} bytes, over 1,000 "):
        build_pack(make_source(tmp_path / "src"), tmp_path / "out.pack", signing_key)
    assert not (tmp_path / "out.pack").exists()


def test_verify_install_and_build_refuse_a_bad_page_in_the_same_words(
    tmp_path: Path,
    settings: Settings,
    packs: Packs,
    signing_key: Ed25519PrivateKey,
    installed: tuple[str, dict[str, str]],
) -> None:
    files = packs.files()
    page = "guides/g01-eid/de.md"
    files[page] = files[page].replace(b'topic = "identity"', b'topic = "x"')
    signed = forge(tmp_path / "hand-made.pack", signing_key, files)
    problem = (
        "guides/g01-eid/de.md: key 'topic': must be one of identity, money-taxes, health, "
        "work, family-home, transport, safety, commune"
    )
    trusted = settings.guides.trusted_keys
    with pytest.raises(PackInvalid) as verified:
        read_pack(signed, trusted, Limits.from_settings(settings))
    with pytest.raises(PackInvalid) as installing:
        store.install_file(signed, settings)
    source = make_source(tmp_path / "src", "2026.12.1")
    _edit(source / page, 'topic = "identity"', 'topic = "x"')
    with pytest.raises(PackInvalid) as built:
        build_pack(source, tmp_path / "out.pack", signing_key)
    assert verified.value.problems == installing.value.problems == [problem]
    assert built.value.problems == [f"src/{problem}"]
    assert snapshot(settings) == installed
    assert staging_is_empty(settings)


def test_a_signed_manifest_that_disagrees_with_its_pack_toml_is_refused(
    tmp_path: Path, settings: Settings, packs: Packs, signing_key: Ed25519PrivateKey
) -> None:
    signed = forge(
        tmp_path / "odd.pack", signing_key, packs.files(), fields={"version": "2026.12.2"}
    )
    with pytest.raises(PackInvalid) as refused:
        store.install_file(signed, settings)
    assert refused.value.problems == [
        "pack.toml: key 'version': '2026.12.1', but manifest.json says '2026.12.2'"
    ]
    assert store.current_pack_dir(settings) is None


# --- bad packs: refused with the reason, the served pack untouched ------------------------


def _flip_byte_in_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    spot = data.index("Votre carte d'identité a une puce".encode())
    data[spot] ^= 0x01
    path.write_bytes(bytes(data))


BAD_PACKS = {
    "flipped-byte": (r"'guides/g01-eid/fr\.md': SHA-256 does not match", "tampered"),
    "wrong-signature": (r"wrong signature", "signature"),
    "no-signature": (r"no signature", "unsigned"),
    "unknown-key": (r"signed by an unknown key", "untrusted"),
    "dot-dot-member": (r"member '\.\./evil\.md' leaves the pack folder", "format"),
    "dot-dot-in-manifest": (r"file 'guides/\.\./\.\./evil\.md' leaves the pack folder", "format"),
    "absolute-member": (r"member '/tmp/evil\.md' is an absolute path", "format"),
    "symlink-member": (r"member 'images/eid\.svg' is a symbolic link", "format"),
    "hardlink-member": (r"member 'images/eid\.svg' is a hard link", "format"),
    "fifo-member": (r"member 'images/eid\.svg' is a device or a FIFO", "format"),
    "unlisted-member": (r"member 'images/extra\.svg' is not listed in the manifest", "tampered"),
    "missing-member": (r"lists 'images/eid\.svg' but the pack does not hold it", "tampered"),
    "2gb-declared": (
        r"'images/huge\.webp' is declared at 2,048 MB, over the limit of 200 MB",
        "too_large",
    ),
    "2gb-member-header": (
        r"member 'images/eid\.svg' is 2,147,483,648 bytes but the manifest",
        "tampered",
    ),
    "too-new": (r"needs portal 99\.0 or newer", "newer_portal"),
    "other-pack-id": (r"this pack is 'another-pack'", "other_pack"),
    "not-a-pack": (r"not a guide pack|damaged", "format"),
}
"""Each bad pack: the installer's English words, and the kind of refusal the volunteer's
page says in their language (portal.guides.errors.Refusal)."""


def bad_pack(kind: str, packs: Packs, key: Ed25519PrivateKey, out: Path) -> Path:
    files = packs.files()
    other = Ed25519PrivateKey.generate()
    page = files["images/eid.svg"]
    without_eid = {path: data for path, data in files.items() if path != "images/eid.svg"}
    members = [regular(path, data) for path, data in without_eid.items()]

    def link(kind_code: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo("images/eid.svg")
        info.type, info.linkname = kind_code, "/etc/passwd"
        return info

    if kind == "flipped-byte":
        built = packs.build("2026.12.1", "flipped.pack")
        _flip_byte_in_page(built)
        return built
    if kind == "wrong-signature":
        return forge(out, other, files, claimed=key)
    if kind == "no-signature":
        return forge(out, key, files, signature=None)
    if kind == "unknown-key":
        return forge(out, other, files)
    if kind == "dot-dot-member":
        return forge(
            out, key, files, members=[*map(_pair, files.items()), regular("../evil.md", b"x")]
        )
    if kind == "dot-dot-in-manifest":
        return forge(out, key, {**files, "guides/../../evil.md": b"x"})
    if kind == "absolute-member":
        return forge(out, key, files, members=[regular("/tmp/evil.md", b"x"), *members])
    if kind in ("symlink-member", "hardlink-member", "fifo-member"):
        code = {"symlink-member": tarfile.SYMTYPE, "hardlink-member": tarfile.LNKTYPE}
        return forge(
            out, key, files, members=[*members, (link(code.get(kind, tarfile.FIFOTYPE)), b"")]
        )
    if kind == "unlisted-member":
        return forge(
            out, key, files, members=[*map(_pair, files.items()), regular("images/extra.svg", page)]
        )
    if kind == "missing-member":
        return forge(out, key, files, members=members)
    if kind == "2gb-declared":
        return forge(out, key, files, declared={"images/huge.webp": GIB2})
    if kind == "2gb-member-header":
        # The header claims 2 GB and no data follows: refused on the header, nothing read.
        huge = tarfile.TarInfo("images/eid.svg")
        huge.size = GIB2
        forge(out, key, files, members=members)
        data = out.read_bytes().rstrip(b"\0")
        padded = data + b"\0" * (-len(data) % 512)
        out.write_bytes(padded + huge.tobuf(tarfile.GNU_FORMAT))
        return out
    if kind == "too-new":
        return forge(out, key, files, fields={"min_portal_version": "99.0"})
    if kind == "other-pack-id":
        return forge(out, key, files, fields={"pack_id": "another-pack"})
    if kind == "not-a-pack":
        out.write_bytes(b"PK\x03\x04 this is a zip, not a pack" * 100)
        return out
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", list(BAD_PACKS))
def test_bad_pack_is_refused_with_its_reason_and_the_served_pack_is_unchanged(
    kind: str,
    tmp_path: Path,
    settings: Settings,
    packs: Packs,
    signing_key: Ed25519PrivateKey,
    installed: tuple[str, dict[str, str]],
) -> None:
    path = bad_pack(kind, packs, signing_key, tmp_path / f"{kind}.pack")
    started = time.monotonic()
    words, refusal = BAD_PACKS[kind]
    with pytest.raises(PackRejected, match=words) as refused:
        store.install_file(path, settings)
    assert refused.value.kind == refusal
    assert time.monotonic() - started < 2, "refused without reading a 2 GB member"
    assert snapshot(settings) == installed
    assert staging_is_empty(settings)
    assert not list(tmp_path.rglob("evil.md"))


def test_cli_refusal_names_the_reason_with_exit_code_2(
    tmp_path: Path,
    config_file: Path,
    packs: Packs,
    signing_key: Ed25519PrivateKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = bad_pack("unknown-key", packs, signing_key, tmp_path / "unknown.pack")
    assert main(["pack", "install", str(path), "--config", str(config_file)]) == 2
    assert "pack refused: signed by an unknown key" in capsys.readouterr().err


def test_not_enough_free_space_is_refused_before_anything_is_read(
    settings: Settings,
    packs: Packs,
    installed: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = packs.build("2026.12.1")
    usage = shutil.disk_usage(path.parent)
    monkeypatch.setattr(
        store.shutil, "disk_usage", lambda _p: usage._replace(free=path.stat().st_size * 2)
    )
    with pytest.raises(PackRejected, match="not enough free space"):
        store.install_file(path, settings)
    assert snapshot(settings) == installed


# --- sources: file, folder, URL -----------------------------------------------------------


def test_install_from_a_file_serves_it_and_same_version_again_is_a_no_op(
    settings: Settings, packs: Packs
) -> None:
    assert store.current_pack_dir(settings) is None
    result = install(str(packs.build("2026.11.1")), settings)
    assert result.changed
    folder = store.current_pack_dir(settings)
    assert folder is not None and folder.parent == store.guides_dir(settings) / "versions"
    assert re.fullmatch(r"passerelle-wallonie-2026\.11\.1-[0-9a-f]{12}-f3", folder.name)
    assert (folder / "guides/g01-eid/fr.md").read_bytes() == (
        CONTENT / "guides/g01-eid/fr.md"
    ).read_bytes()
    assert json.loads((folder / MANIFEST).read_text())["version"] == "2026.11.1"
    assert os.readlink(store.guides_dir(settings) / "current") == "slots/current"
    assert os.readlink(store.guides_dir(settings) / "slots" / "current") == (
        f"../versions/{folder.name}"
    )
    again = install(str(packs.build("2026.11.1", "again.pack")), settings)
    assert not again.changed


def test_install_from_a_folder_takes_the_highest_valid_version_of_the_configured_pack(
    tmp_path: Path, settings: Settings, packs: Packs, signing_key: Ed25519PrivateKey
) -> None:
    stick = tmp_path / "usb"
    stick.mkdir()
    for version in ("2026.9.1", "2026.11.2", "2026.10.4"):
        shutil.move(packs.build(version), stick / f"wallonie-{version}.pack")
    forge(
        stick / "zz-newest-but-unknown-key.pack",
        Ed25519PrivateKey.generate(),
        packs.files(),
        fields={"version": "2027.1.1"},
    )
    forge(
        stick / "other.pack",
        signing_key,
        packs.files(),
        fields={"pack_id": "another", "version": "2030.1.1"},
    )
    (stick / "notes.txt").write_text("not a pack")
    result = install(str(stick), settings)
    assert result.manifest.info.version == "2026.11.2"
    assert store.current_pack_dir(settings) == result.folder


class PackServer(http.server.BaseHTTPRequestHandler):
    """Serves one pack; with `fail_once`, the first answer stops halfway through."""

    body = b""
    fail_once = False
    ranges: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        asked = self.headers.get("Range")
        type(self).ranges.append(asked)
        start = int(re.match(r"bytes=(\d+)-", asked)[1]) if asked else 0  # type: ignore[index]
        self.send_response(206 if asked else 200)
        if asked:
            end = len(self.body) - 1
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(self.body)}")
        self.send_header("Content-Length", str(len(self.body) - start))
        self.end_headers()
        if type(self).fail_once:
            type(self).fail_once = False
            self.wfile.write(self.body[start : len(self.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(self.body[start:])

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def pack_server() -> Iterator[tuple[str, type[PackServer]]]:
    handler = type("Handler", (PackServer,), {"ranges": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wallonie.pack", handler
    finally:
        server.shutdown()
        server.server_close()


def test_install_from_a_url_resumes_an_interrupted_download(
    settings: Settings, packs: Packs, pack_server: tuple[str, type[PackServer]]
) -> None:
    url, handler = pack_server
    handler.body = packs.build("2026.11.1").read_bytes()
    handler.fail_once = True
    with pytest.raises(PackRejected, match=r"download interrupted .* run the install again"):
        install(url, settings)
    part = partial_path(settings, url)
    assert part.stat().st_size == len(handler.body) // 2
    assert store.current_pack_dir(settings) is None
    result = install(url, settings)
    assert result.manifest.info.version == "2026.11.1"
    assert handler.ranges == [None, f"bytes={len(handler.body) // 2}-"]
    assert not part.exists()
    assert store.current_pack_dir(settings) is not None


def test_url_is_not_tried_while_the_uplink_is_down(
    settings: Settings, pack_server: tuple[str, type[PackServer]]
) -> None:
    url, handler = pack_server
    state_path(settings).parent.mkdir(parents=True)
    write_state(state_path(settings), UplinkState(up=False, since=1))
    with pytest.raises(PackRejected, match="the Internet is down"):
        install(url, settings)
    assert handler.ranges == []


def test_only_http_urls_are_used(settings: Settings) -> None:
    with pytest.raises(PackRejected, match="only http:// and https://"):
        install("file:///etc/passwd", settings)


# --- interrupted installs, rollback, list -------------------------------------------------


def test_failing_prepare_refuses_the_pack_and_leaves_the_old_one_serving(
    settings: Settings,
    packs: Packs,
    installed: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(folder: Path, _settings: Settings) -> None:
        (folder / "rendered").mkdir()
        raise RuntimeError("cannot render page g01-eid/fr")

    monkeypatch.setattr("portal.guides.render.prepare", broken)
    with pytest.raises(PackRejected, match=r"could not be prepared.*g01-eid/fr"):
        store.install_file(packs.build("2026.12.1"), settings)
    assert snapshot(settings) == installed
    assert staging_is_empty(settings)
    assert [pack.manifest.info.version for pack in store.installed_packs(settings)] == ["2026.11.1"]


KILLED_INSTALL = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import portal.guides.render as render
    from portal.config import load_settings
    from portal.guides.store import install_file

    def stuck(folder, settings):
        Path(sys.argv[3]).write_text(str(folder))
        time.sleep(60)

    render.prepare = stuck
    install_file(Path(sys.argv[1]), load_settings(sys.argv[2]))
    """
)


def test_install_killed_midway_leaves_the_old_pack_serving_and_is_cleaned_next_time(
    tmp_path: Path,
    settings: Settings,
    config_file: Path,
    packs: Packs,
    installed: tuple[str, dict[str, str]],
) -> None:
    new = packs.build("2026.12.1")
    staged = staged_by_a_killed_process(
        KILLED_INSTALL, tmp_path / "staged", str(new), str(config_file)
    )
    assert (staged / "guides/g01-eid/fr.md").exists()  # verified files staged
    assert snapshot(settings) == installed
    assert staged.exists()
    store.install_file(new, settings)
    assert not staged.exists()
    assert staging_is_empty(settings)
    current = store.current_pack_dir(settings)
    assert current is not None and current.name.startswith("passerelle-wallonie-2026.12.1-")


def test_rollback_switches_back_and_forth_and_only_two_versions_are_kept(
    settings: Settings, packs: Packs
) -> None:
    with pytest.raises(PackRejected, match="no previous pack"):
        store.rollback(settings)

    def versions() -> list[str]:
        return [pack.manifest.info.version for pack in store.installed_packs(settings)]

    for version in ("2026.11.1", "2026.11.2"):
        store.install_file(packs.build(version), settings)
    assert versions() == ["2026.11.2", "2026.11.1"]
    store.rollback(settings)
    assert versions() == ["2026.11.1", "2026.11.2"]
    current = store.current_pack_dir(settings)
    assert current is not None and current.name.startswith("passerelle-wallonie-2026.11.1-")
    store.rollback(settings)
    assert versions() == ["2026.11.2", "2026.11.1"]
    store.install_file(packs.build("2026.11.3"), settings)
    assert versions() == ["2026.11.3", "2026.11.2"]
    kept = sorted(path.name[:-16] for path in (store.guides_dir(settings) / "versions").iterdir())
    assert kept == ["passerelle-wallonie-2026.11.2", "passerelle-wallonie-2026.11.3"]


def test_rollback_refuses_a_previous_pack_it_cannot_read_back(
    settings: Settings, two_installed: tuple[str, dict[str, str]]
) -> None:
    previous = store.installed_packs(settings)[1].folder
    (previous / MANIFEST).unlink()
    with pytest.raises(
        PackRejected,
        match=r"^passerelle-wallonie-2026\.11\.1-[0-9a-f]{12}-f3: manifest\.json cannot be read "
        r"\(No such file or directory\)$",
    ):
        store.rollback(settings)
    current = store.current_pack_dir(settings)
    assert current is not None and current.name.startswith("passerelle-wallonie-2026.11.2-")


def test_list_and_rollback_commands(
    config_file: Path, settings: Settings, packs: Packs, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pack", "list", "--config", str(config_file)]) == 0
    assert "no guide pack installed" in capsys.readouterr().out
    for version in ("2026.11.1", "2026.11.2"):
        assert (
            main(["pack", "install", str(packs.build(version)), "--config", str(config_file)]) == 0
        )
    assert "installed passerelle-wallonie 2026.11.2" in capsys.readouterr().out
    assert main(["pack", "list", "--config", str(config_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.match(
        r"current +passerelle-wallonie 2026\.11\.2 \(fr, nl, de, en, ar, uk, tr; 14 pages", lines[0]
    )
    assert re.match(r"previous +passerelle-wallonie 2026\.11\.1 ", lines[1])
    assert main(["pack", "rollback", "--config", str(config_file)]) == 0
    assert "now serving passerelle-wallonie 2026.11.1" in capsys.readouterr().out


def test_demo_pack_is_built_from_content_signed_trusted_and_installed(tmp_path: Path) -> None:
    from portal.cli import demo_settings
    from portal.guides.pack_cli import install_demo_pack

    settings = install_demo_pack(demo_settings("127.0.0.1", 8080, tmp_path))
    assert len(settings.guides.trusted_keys) == 1
    packs = store.installed_packs(settings)
    assert [pack.manifest.info.id for pack in packs] == ["passerelle-wallonie"]
    assert packs[0].manifest.key_id == key_id(
        load_private_key(tmp_path / "demo-pack-key" / "pack-signing.key").public_key()
    )
    # A kept data dir: the same key, the same pack, nothing to do.
    assert install_demo_pack(demo_settings("127.0.0.1", 8080, tmp_path)) == settings


def test_too_many_files_are_refused_from_the_manifest(
    tmp_path: Path, packs: Packs, signing_key: Ed25519PrivateKey
) -> None:
    path = packs.build("2026.11.1")
    trusted = [public_key_text(signing_key.public_key())]
    with pytest.raises(PackRejected, match="too many files: 17, at most 5"):
        read_pack(path, trusted, Limits(max_bytes=10**8, max_files=5))
    with pytest.raises(
        PackRejected, match=r"add up to [\d,]+ bytes, over the limit of 10,000 bytes"
    ):
        read_pack(path, trusted, Limits(max_bytes=10_000))


def test_progress_is_one_line_per_stage_off_a_terminal() -> None:
    from portal.guides.progress import TerminalProgress

    out = io.StringIO()
    progress = TerminalProgress(out)
    progress.stage("verify", 2_000_000)
    progress.advance(2_000_000)
    progress.stage("prepare")
    progress.finish()
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["verify", "prepare"]
    assert "2.0 MB done" in lines[0]


# --- the store trusts nothing on disk -----------------------------------------------------


@pytest.mark.parametrize("folder", ["versions", "staging", "downloads"])
def test_a_store_folder_linked_outside_the_data_dir_is_replaced_and_its_target_untouched(
    folder: str,
    tmp_path: Path,
    settings: Settings,
    packs: Packs,
    signing_key: Ed25519PrivateKey,
    installed: tuple[str, dict[str, str]],
    pack_server: tuple[str, type[PackServer]],
) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "precious").mkdir(parents=True)
    (outside / "precious" / "photo.jpg").write_bytes(b"family photo")
    link = store.guides_dir(settings) / folder
    shutil.rmtree(link, ignore_errors=True)
    link.symlink_to(outside)
    url, handler = pack_server
    handler.body = bad_pack("unknown-key", packs, signing_key, tmp_path / "u.pack").read_bytes()
    with pytest.raises(PackRejected, match="signed by an unknown key"):
        install(url, settings)
    handler.body = packs.build("2026.12.1").read_bytes()
    install(url, settings)
    assert (outside / "precious" / "photo.jpg").read_bytes() == b"family photo"
    assert sorted(path.name for path in outside.rglob("*")) == ["photo.jpg", "precious"]
    assert not link.is_symlink()
    assert store.installed_packs(settings)[0].manifest.info.version == "2026.12.1"


def test_a_current_link_pointing_outside_the_store_is_not_served_and_is_replaced(
    tmp_path: Path, settings: Settings, packs: Packs
) -> None:
    outside = tmp_path / "elsewhere" / "versions" / "passerelle-wallonie-2026.11.1"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text("not a pack")
    guides = store.guides_dir(settings)
    guides.mkdir(parents=True)
    (guides / "current").symlink_to(outside)
    assert store.current_pack_dir(settings) is None
    store.install_file(packs.build("2026.12.1"), settings)
    assert (outside / "secret.txt").read_text() == "not a pack"
    assert [pack.manifest.info.version for pack in store.installed_packs(settings)] == ["2026.12.1"]


def test_a_download_part_linked_elsewhere_is_not_written_through(
    tmp_path: Path, settings: Settings, packs: Packs, pack_server: tuple[str, type[PackServer]]
) -> None:
    url, handler = pack_server
    handler.body = packs.build("2026.11.1").read_bytes()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    part = partial_path(settings, url)
    part.parent.mkdir(parents=True)
    part.symlink_to(victim)
    assert install(url, settings).manifest.info.version == "2026.11.1"
    assert victim.read_text() == "keep me"


def _damage(folder: Path, how: str) -> None:
    if how == "altered-page":
        _flip_byte_in_page(folder / "guides/g01-eid/fr.md")
    elif how == "rendered-page-missing":
        (folder / "rendered/g01-eid/fr.html").unlink()
    elif how == "library-missing":
        (folder / "rendered/library.json").unlink()
    elif how == "search-index-missing":
        (folder / "search.sqlite3").unlink()
    elif how == "search-index-of-another-portal":
        with closing(sqlite3.connect(folder / "search.sqlite3")) as index:
            index.execute("PRAGMA user_version = 1")
    else:
        raise AssertionError(how)


ROLLBACK_DAMAGE = {
    "altered-page": r"'guides/g01-eid/fr\.md': SHA-256 does not match the manifest",
    "rendered-page-missing": r"rendered/g01-eid/fr\.html is missing",
    "library-missing": r"rendered/library\.json cannot be read",
    "search-index-missing": r"search\.sqlite3 is missing",
    "search-index-of-another-portal": r"search\.sqlite3 was made by another portal version",
}


@pytest.mark.parametrize("how", list(ROLLBACK_DAMAGE))
def test_rollback_to_a_damaged_previous_pack_is_refused_and_the_current_keeps_serving(
    how: str, settings: Settings, two_installed: tuple[str, dict[str, str]]
) -> None:
    before = two_installed
    previous = store.installed_packs(settings)[1].folder
    _damage(previous, how)
    with pytest.raises(PackRejected, match=ROLLBACK_DAMAGE[how]):
        store.rollback(settings)
    assert snapshot(settings) == before
    assert [pack.manifest.info.version for pack in store.installed_packs(settings)] == [
        "2026.11.2",
        "2026.11.1",
    ]


def test_rollback_is_one_rename_so_a_failure_leaves_both_slots_as_they_were(
    settings: Settings,
    two_installed: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renames: list[str] = []
    real_replace = os.replace

    def counted(source: Any, target: Any, **descriptors: int) -> None:
        renames.append(Path(target).name)
        real_replace(source, target, **descriptors)

    monkeypatch.setattr(store.os, "replace", counted)
    store.rollback(settings)
    assert renames == ["slots"]
    assert [pack.manifest.info.version for pack in store.installed_packs(settings)] == [
        "2026.11.1",
        "2026.11.2",
    ]

    def failing(source: Any, target: Any, **descriptors: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "replace", failing)
    with pytest.raises(OSError, match="No space left"):
        store.rollback(settings)
    assert [pack.manifest.info.version for pack in store.installed_packs(settings)] == [
        "2026.11.1",
        "2026.11.2",
    ]


def test_reinstalling_a_stored_version_with_other_files_gets_a_folder_of_its_own(
    tmp_path: Path, settings: Settings, packs: Packs, signing_key: Ed25519PrivateKey
) -> None:
    first = store.install_file(packs.build("2026.11.1"), settings)
    store.install_file(packs.build("2026.11.2"), settings)
    source = make_source(tmp_path / "fewer", "2026.11.1")
    shutil.rmtree(source / "guides" / "g11-emergencies")
    (source / "images" / "emergency.svg").unlink()
    build_pack(source, tmp_path / "fewer.pack", signing_key)
    again = store.install_file(tmp_path / "fewer.pack", settings)
    assert again.changed
    assert again.folder != first.folder
    assert not (again.folder / "guides" / "g11-emergencies").exists()
    assert sorted(load_library(again.folder).guides) == ["g01-eid"]
    assert [pack.manifest.info.version for pack in store.installed_packs(settings)] == [
        "2026.11.1",
        "2026.11.2",
    ]


MEGABYTES_50 = 50 * 1024 * 1024

MEASURED_READ = textwrap.dedent(
    """
    import re, sys
    from pathlib import Path
    from portal.guides.errors import PackRejected
    from portal.guides.pack.manifest import Limits
    from portal.guides.pack.read import read_pack

    def peak():  # this process's high-water RSS (ru_maxrss would carry the parent's over exec)
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status)[1]) * 1024

    before = peak()
    try:
        read_pack(Path(sys.argv[1]), [sys.argv[2]], Limits.default(), manifest_only=True)
        outcome = "accepted"
    except PackRejected as error:
        outcome = f"refused: {error}"
    print(peak() - before)
    print(outcome)
    """
)


def test_a_huge_pax_header_before_the_manifest_is_refused_in_bounded_memory(
    tmp_path: Path, packs: Packs, signing_key: Ed25519PrivateKey
) -> None:
    signed = forge(tmp_path / "signed.pack", signing_key, packs.files())
    out = tmp_path / "pax.pack"
    with tarfile.open(signed) as source, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as pack:
        for number, member in enumerate(source.getmembers()):
            if number == 0:
                member.pax_headers = {"comment": "x" * MEGABYTES_50}
            pack.addfile(member, source.extractfile(member))
    assert out.stat().st_size > MEGABYTES_50
    trusted = public_key_text(signing_key.public_key())
    result = subprocess.run(
        [sys.executable, "-c", MEASURED_READ, str(out), trusted],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    grown, outcome = result.stdout.splitlines()
    assert outcome == (
        "refused: pax.pack: a member's headers are over 65,536 bytes (reading stopped at "
        "byte 86,016; not a guide pack, or a damaged one)"
    )
    assert int(grown) < 8 * 1024 * 1024, f"peak memory grew by {int(grown):,} bytes"


def test_a_million_tiny_records_before_the_manifest_are_refused_after_a_bounded_read(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    """A FIFO stands in for a slow USB stick: the writer counts what the reader took."""
    fifo = tmp_path / "tiny.pack"
    os.mkfifo(fifo)
    record = tarfile.TarInfo("x").create_pax_global_header({"comment": "y"})
    written = [0]

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:
            for _ in range(1_000_000):
                pipe.write(record)
                written[0] += len(record)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    trusted = [public_key_text(signing_key.public_key())]
    refusal = r"^tiny\.pack: a member's headers are over 65,536 bytes"
    with pytest.raises(PackRejected, match=refusal):
        read_pack(fifo, trusted, Limits.default(), manifest_only=True)
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert written[0] < 4 * 1024 * 1024


def test_a_store_laid_out_before_slots_keeps_serving_and_becomes_previous(
    settings: Settings, packs: Packs
) -> None:
    """A Pi upgraded from the layout where `current` named the version folder itself."""
    store.install_file(packs.build("2026.11.1"), settings)
    guides = store.guides_dir(settings)
    old = store.current_pack_dir(settings)
    assert old is not None
    legacy = guides / "versions" / "passerelle-wallonie-2026.11.1"
    old.rename(legacy)
    for name in ("current", "previous", "slots"):
        (guides / name).unlink(missing_ok=True)
    shutil.rmtree(next(guides.glob("slots.*")))
    (guides / "current").symlink_to("versions/passerelle-wallonie-2026.11.1")
    assert store.current_pack_dir(settings) == legacy
    store.install_file(packs.build("2026.11.2"), settings)
    assert [
        (pack.slot, pack.manifest.info.version) for pack in store.installed_packs(settings)
    ] == [
        ("current", "2026.11.2"),
        ("previous", "2026.11.1"),
    ]
    assert os.readlink(guides / "current") == "slots/current"
    assert os.readlink(guides / "previous") == "slots/previous"
    store.rollback(settings)
    assert store.current_pack_dir(settings) == legacy


def test_a_fifo_named_like_a_pack_on_the_stick_is_skipped_not_waited_on(
    tmp_path: Path, settings: Settings, packs: Packs
) -> None:
    stick = tmp_path / "usb"
    stick.mkdir()
    shutil.move(packs.build("2026.11.1"), stick / "wallonie-2026.11.1.pack")
    os.mkfifo(stick / "zz-fifo.pack")
    results: list[store.InstallResult] = []
    worker = threading.Thread(target=lambda: results.append(install(str(stick), settings)))
    worker.start()
    worker.join(timeout=10)
    waited = worker.is_alive()
    if waited:  # release the reader blocked on the FIFO
        os.close(os.open(stick / "zz-fifo.pack", os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
    assert not waited
    assert [result.manifest.info.version for result in results] == ["2026.11.1"]
