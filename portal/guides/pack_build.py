"""`portal pack build`: check a pack source folder (content/README.md), then sign it into one file.

Every problem names the file and the key, so the writer of a guide can fix it
without reading code; all problems are reported at once.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal import __version__
from portal.guides.errors import PackRejected
from portal.guides.pack_format import FileEntry, Manifest, parse_version, unsafe_path, write_pack
from portal.guides.pack_keys import key_id
from portal.guides.page import TOPICS, PageError, split_front_matter

IMAGE_SUFFIXES = (".svg", ".webp", ".png")
PACK_KEYS = ("id", "version", "languages", "default_language", "min_portal_version", "title")
PAGE_KEYS = (
    "id",
    "title",
    "summary",
    "language",
    "topic",
    "tags",
    "updated",
    "sources",
    "pictogram",
)
SHARED_KEYS = ("topic", "pictogram")
"""Keys that must be the same in every language of a guide (and the source URLs)."""

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class PackSourceError(PackRejected):
    """The source folder is not a valid pack; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the pack source:\n" + "\n".join(problems))


@dataclass(frozen=True)
class PackSource:
    """A checked source folder: pack.toml's values and the files that go into the pack."""

    folder: Path
    pack: dict[str, Any]
    files: tuple[str, ...]
    """Paths relative to `folder`, in pack order (pack.toml, pages, images)."""

    @property
    def pack_id(self) -> str:
        return str(self.pack["id"])

    @property
    def version(self) -> str:
        return str(self.pack["version"])


class _Problems:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lines: list[str] = []

    def add(self, path: Path, problem: str) -> None:
        self.lines.append(f"{path.relative_to(self.folder.parent)}: {problem}")


def _check_keys(
    path: Path, table: dict[str, Any], keys: tuple[str, ...], problems: _Problems
) -> None:
    """Every key present, none unknown."""
    for name in keys:
        if name not in table:
            problems.add(path, f"key {name!r}: missing")
    for name in table:
        if name not in keys:
            problems.add(path, f"key {name!r}: unknown; allowed: {', '.join(keys)}")


def _check_pack_toml(folder: Path, problems: _Problems) -> dict[str, Any]:
    path = folder / "pack.toml"
    try:
        pack = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        problems.add(path, f"cannot be read as TOML ({error})")
        return {}
    _check_keys(path, pack, PACK_KEYS, problems)
    if "id" in pack and not (isinstance(pack["id"], str) and _SLUG.match(pack["id"])):
        problems.add(path, "key 'id': must be lower-case letters, digits and dashes")
    for name in ("version", "min_portal_version"):
        if name in pack:
            try:
                parse_version(pack[name])
            except PackRejected as error:
                problems.add(path, f"key {name!r}: {error}")
    languages = pack.get("languages")
    if "languages" in pack and not (
        isinstance(languages, list)
        and languages
        and all(isinstance(code, str) and _LANGUAGE.match(code) for code in languages)
        and len(set(languages)) == len(languages)
    ):
        problems.add(path, "key 'languages': must be a list of language codes such as ['fr']")
        pack["languages"] = []
    codes = pack.get("languages") or []
    if "default_language" in pack and pack["default_language"] not in codes:
        problems.add(path, "key 'default_language': must be one of 'languages'")
    title = pack.get("title")
    if "title" in pack:
        if not isinstance(title, dict):
            problems.add(path, "key 'title': must be a table with one title per language")
        else:
            for code in codes:
                if not isinstance(title.get(code), str) or not title[code].strip():
                    problems.add(path, f"key 'title.{code}': missing")
    return pack


def _check_page(
    path: Path, guide: str, language: str, pictograms: set[str], problems: _Problems
) -> dict[str, Any]:
    try:
        front, body = split_front_matter(path.read_text(encoding="utf-8"), "front matter")
    except (OSError, UnicodeDecodeError, PageError) as error:
        problems.add(path, str(error))
        return {}
    _check_keys(path, front, PAGE_KEYS, problems)
    expected = {"id": guide, "language": language}
    for name, value in expected.items():
        if name in front and front[name] != value:
            problems.add(path, f"key {name!r}: must be {value!r} (from the file's place)")
    for name in ("title", "summary"):
        if name in front and (not isinstance(front[name], str) or not front[name].strip()):
            problems.add(path, f"key {name!r}: must be a line of text")
    if "topic" in front and front["topic"] not in TOPICS:
        problems.add(path, f"key 'topic': must be one of {', '.join(TOPICS)}")
    tags = front.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.add(path, "key 'tags': must be a list of strings")
    if "updated" in front and type(front["updated"]) is not datetime.date:
        problems.add(path, "key 'updated': must be a TOML date such as 2026-11-26")
    sources = front.get("sources", [])
    if not isinstance(sources, list) or not all(
        isinstance(source, dict)
        and isinstance(source.get("name"), str)
        and isinstance(source.get("url"), str)
        and source["url"].startswith("https://")
        for source in sources
    ):
        problems.add(path, "key 'sources': must be a list of {name, url} with https:// URLs")
    pictogram = front.get("pictogram")
    if "pictogram" in front and pictogram not in pictograms:
        problems.add(path, f"key 'pictogram': {pictogram!r} is not a file in images/")
    if not body.strip():
        problems.add(path, "has no text after the front matter")
    return front


def _shared(front: dict[str, Any]) -> tuple[Any, ...]:
    urls = sorted(
        str(source.get("url")) for source in front.get("sources", []) if isinstance(source, dict)
    )
    return (*(str(front.get(name)) for name in SHARED_KEYS), tuple(urls))


def _files(folder: Path, sub: str) -> Iterator[Path]:
    root = folder / sub
    if root.is_dir():
        yield from sorted(path for path in root.rglob("*") if not path.name.startswith("."))


def check_source(folder: Path) -> PackSource:
    """Check a source folder the way content/README.md describes it; PackSourceError if wrong."""
    problems = _Problems(folder)
    if not (folder / "pack.toml").is_file():
        raise PackSourceError([f"{folder}: no pack.toml (is this a pack source folder?)"])
    pack = _check_pack_toml(folder, problems)
    if not problems.lines and parse_version(pack["min_portal_version"]) > parse_version(
        __version__
    ):
        problems.add(folder / "pack.toml", f"key 'min_portal_version': newer than {__version__}")
    languages = list(pack.get("languages") or [])
    images: list[str] = []
    for path in _files(folder, "images"):
        if path.is_dir() or path.is_symlink() or path.suffix not in IMAGE_SUFFIXES:
            problems.add(path, f"images/ holds only {', '.join(IMAGE_SUFFIXES)} files")
        else:
            images.append(path.name)
    pages: list[str] = []
    guides = sorted(path for path in (folder / "guides").glob("*") if path.is_dir())
    if not guides:
        problems.add(folder / "guides", "no guide folders")
    for guide in guides:
        fronts: dict[str, dict[str, Any]] = {}
        for path in sorted(guide.iterdir()):
            if path.name.startswith("."):
                continue
            if path.suffix != ".md" or path.stem not in languages or not path.is_file():
                problems.add(path, f"a guide folder holds only <lang>.md for {languages}")
                continue
            fronts[path.stem] = _check_page(path, guide.name, path.stem, set(images), problems)
            pages.append(f"guides/{guide.name}/{path.name}")
        for language in languages:
            if language not in fronts:
                problems.add(guide / f"{language}.md", "missing (every guide has every language)")
        shared = {code: _shared(front) for code, front in fronts.items() if front}
        if len(set(shared.values())) > 1:
            problems.add(guide, "topic, pictogram and source URLs differ between languages")
    files = ("pack.toml", *pages, *(f"images/{name}" for name in images))
    for name in files:
        if problem := unsafe_path(name):
            problems.lines.append(f"{name}: {problem}")
    if problems.lines:
        raise PackSourceError(problems.lines)
    return PackSource(folder=folder, pack=pack, files=files)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def build_pack(
    folder: Path,
    out: Path,
    key: Ed25519PrivateKey,
    *,
    created: datetime.datetime | None = None,
) -> Manifest:
    """Check `folder`, then write the signed pack file `out`; return its manifest."""
    source = check_source(folder)
    pack = source.pack
    stamp = created or datetime.datetime.now(datetime.UTC)
    manifest = Manifest(
        pack_id=source.pack_id,
        version=source.version,
        languages=tuple(pack["languages"]),
        default_language=pack["default_language"],
        min_portal_version=pack["min_portal_version"],
        created=stamp.replace(microsecond=0).isoformat(),
        key_id=key_id(key.public_key()),
        title={code: pack["title"][code] for code in pack["languages"]},
        files=tuple(
            FileEntry(name, (folder / name).stat().st_size, sha256_file(folder / name))
            for name in source.files
        ),
    )
    raw = manifest.to_bytes()
    write_pack(out, raw, key.sign(raw), ((name, folder / name) for name in source.files))
    return manifest
