"""The signed manifest: the pack's values, then the size and SHA-256 of every file.

`Manifest.parse` is the reader's check of a manifest, and the builder runs it on
the manifest it is about to sign: a manifest that is signed is one every
hotspot with default limits can read.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from portal.config import Settings
from portal.guides.errors import PackRejected, Refusal
from portal.guides.pack.info import PackInfo, check_info
from portal.guides.pack.layout import PACK_TOML, path_problem
from portal.guides.pack.problems import Problems

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = 1
SIGNATURE_SIZE = 64
MANIFEST_LIMIT = 1 << 20
MAX_FILES = 10_000
MEGABYTE = 1 << 20
CONTENT_DIGEST_CHARS = 12

_HEX = re.compile(r"[0-9a-f]+")


def amount(size: int) -> str:
    """A size as a volunteer reads it: '2,048 MB', or bytes under a megabyte."""
    return f"{size / MEGABYTE:,.0f} MB" if size >= MEGABYTE else f"{size:,} bytes"


def check_manifest_size(size: int) -> None:
    """Refuse a manifest over MANIFEST_LIMIT (checked on the archive header before reading)."""
    if size > MANIFEST_LIMIT:
        raise PackRejected(
            f"{MANIFEST} is {size:,} bytes, over {MANIFEST_LIMIT:,} (too many or too long paths)",
            Refusal.TOO_LARGE,
        )


@dataclass(frozen=True)
class Limits:
    """How big a pack may be: bytes of all files together (and so of any one) and file count."""

    max_bytes: int
    max_files: int = MAX_FILES

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_bytes=settings.guides.max_pack_mb * MEGABYTE)

    @classmethod
    def default(cls) -> Limits:
        """What a hotspot accepts unless its portal.toml raises guides.max_pack_mb."""
        return cls.from_settings(Settings())


UNLIMITED = Limits(max_bytes=1 << 62, max_files=1 << 30)
"""For reading back a manifest that was checked against the real limits at install."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    info: PackInfo
    """The values of the pack's pack.toml, repeated so they are signed."""
    created: str
    key_id: str
    files: tuple[FileEntry, ...]
    raw: bytes = field(default=b"", compare=False, repr=False)

    def folder_name(self, prepared_format: int) -> str:
        """The store folder of this content as `prepare` writes it in `prepared_format`
        (portal.guides.library.FORMAT): a version number re-used with other files, or the
        same files prepared by a portal that writes them otherwise, gets another folder, so
        no reader's cache keyed by path serves the old pages, and the switch to it is a
        rename like any install's."""
        listing = "".join(f"{e.path}\0{e.size}\0{e.sha256}\n" for e in self.files)
        digest = hashlib.sha256(listing.encode("utf-8")).hexdigest()[:CONTENT_DIGEST_CHARS]
        return f"{self.info.id}-{self.info.version}-{digest}-f{prepared_format}"

    def to_bytes(self) -> bytes:
        """The canonical JSON the builder signs."""
        document = {
            "format": FORMAT,
            "pack_id": self.info.id,
            "version": self.info.version,
            "languages": list(self.info.languages),
            "default_language": self.info.default_language,
            "min_portal_version": self.info.min_portal_version,
            "created": self.created,
            "key_id": self.key_id,
            "title": self.info.title,
            "files": [
                {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
                for entry in self.files
            ],
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, raw: bytes, limits: Limits) -> Manifest:
        """Check every field of a (signed) manifest; PackRejected names the first bad one."""
        check_manifest_size(len(raw))
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise PackRejected(f"{MANIFEST} is not valid JSON: {error}") from error
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise PackRejected(f"{MANIFEST} is not a format {FORMAT} guide pack manifest")
        problems = Problems()
        info = check_info(document, MANIFEST, problems, id_key="pack_id")
        for name in ("created", "key_id"):
            value = document.get(name)
            if (
                not isinstance(value, str)
                or not value
                or (name == "key_id" and not _HEX.fullmatch(value))
            ):
                problems.key(MANIFEST, name, "missing or malformed")
        if info is None or problems.lines:
            raise PackRejected(problems.lines[0])
        files = _parse_files(document.get("files"), limits)
        return cls(info, document["created"], document["key_id"], files, raw)


def _parse_files(files: Any, limits: Limits) -> tuple[FileEntry, ...]:
    if not isinstance(files, list):
        raise PackRejected(f"{MANIFEST}: 'files' must be a list")
    if len(files) > limits.max_files:
        raise PackRejected(
            f"too many files: {len(files)}, at most {limits.max_files}", Refusal.TOO_LARGE
        )
    entries: dict[str, FileEntry] = {}
    total = 0
    for item in files:
        if not isinstance(item, dict):
            raise PackRejected(f"{MANIFEST}: a 'files' entry is not a table")
        path, size, digest = item.get("path"), item.get("size"), item.get("sha256")
        if not isinstance(path, str) or (problem := path_problem(path)):
            raise PackRejected(f"{MANIFEST}: file {path!r} {problem or 'has no path'}")
        if type(size) is not int or size < 0:
            raise PackRejected(f"{MANIFEST}: file {path!r} has no valid size")
        if size > limits.max_bytes:
            raise PackRejected(
                f"file {path!r} is declared at {amount(size)}, over the limit of "
                f"{amount(limits.max_bytes)} (guides.max_pack_mb)",
                Refusal.TOO_LARGE,
            )
        if not isinstance(digest, str) or len(digest) != 64 or not _HEX.fullmatch(digest):
            raise PackRejected(f"{MANIFEST}: file {path!r} has no valid SHA-256")
        if path in entries:
            raise PackRejected(f"{MANIFEST}: file {path!r} is listed twice")
        entries[path] = FileEntry(path, size, digest)
        total += size
    if total > limits.max_bytes:
        raise PackRejected(
            f"the pack's files add up to {amount(total)}, over the limit of "
            f"{amount(limits.max_bytes)} (guides.max_pack_mb)",
            Refusal.TOO_LARGE,
        )
    if PACK_TOML not in entries:
        raise PackRejected(f"{MANIFEST}: lists no {PACK_TOML}")
    return tuple(entries.values())
