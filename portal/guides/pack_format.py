"""The guide pack file: one uncompressed ustar archive, signed with Ed25519.

Members, in this order: `manifest.json` (pack id, version, languages, the size
and SHA-256 of every file), `manifest.sig` (the 64-byte detached Ed25519
signature of the exact manifest bytes), then the files (`pack.toml`,
`guides/<id>/<lang>.md`, `images/<name>`). Uncompressed, because pages are small
and WebP pictures are compressed already, and because a reader then trusts
nothing it has not checked: the signed manifest comes first, every member
header is compared with it before a byte of data is read, and there is no
decompression bomb to defuse.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature

from portal.config import Settings
from portal.guides.errors import PackRejected
from portal.guides.pack_keys import key_id, load_public_key
from portal.guides.progress import Progress, SilentProgress

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = 1
SIGNATURE_SIZE = 64
MANIFEST_LIMIT = 1 << 20
MAX_FILES = 10_000
MEGABYTE = 1 << 20
CHUNK = 1 << 16

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
_VERSION = re.compile(r"^\d{1,9}(\.\d{1,9}){0,3}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_HEX = re.compile(r"^[0-9a-f]+$")
TOP_LEVEL = ("pack.toml", "guides", "images")


def amount(size: int) -> str:
    """A size as a volunteer reads it: '2,048 MB', or bytes under a megabyte."""
    return f"{size / MEGABYTE:,.0f} MB" if size >= MEGABYTE else f"{size:,} bytes"


def parse_version(text: str) -> tuple[int, ...]:
    """'2026.11.1' → (2026, 11, 1); PackRejected unless dotted whole numbers."""
    if not isinstance(text, str) or not _VERSION.match(text):
        raise PackRejected(f"version {text!r} is not dotted numbers such as '2026.11.1'")
    return tuple(int(part) for part in text.split("."))


def unsafe_path(path: str) -> str | None:
    """Why a member path may not be written under the pack folder, or None if it may."""
    if not path:
        return "has an empty path"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "is an absolute path"
    if "\\" in path or "\x00" in path:
        return "has a backslash or NUL in its path"
    parts = path.split("/")
    if ".." in parts:
        return "leaves the pack folder ('..' in its path)"
    if len(path) > 200 or len(parts) > 4:
        return "has a path too long or too deep"
    if not all(_PART.match(part) for part in parts):
        return "has an empty, hidden or oddly named part in its path"
    if parts[0] not in TOP_LEVEL or (parts[0] == "pack.toml") != (len(parts) == 1):
        return "is outside pack.toml, guides/ and images/"
    return None


# --- manifest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How big a pack may be: bytes of all files together (and so of any one) and file count."""

    max_bytes: int
    max_files: int = MAX_FILES

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_bytes=settings.guides.max_pack_mb * MEGABYTE)


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    pack_id: str
    version: str
    languages: tuple[str, ...]
    default_language: str
    min_portal_version: str
    created: str
    key_id: str
    title: dict[str, str]
    files: tuple[FileEntry, ...]
    raw: bytes = field(default=b"", compare=False, repr=False)

    @property
    def folder_name(self) -> str:
        return f"{self.pack_id}-{self.version}"

    def to_bytes(self) -> bytes:
        """The canonical JSON the builder signs."""
        document = {
            "format": FORMAT,
            "pack_id": self.pack_id,
            "version": self.version,
            "languages": list(self.languages),
            "default_language": self.default_language,
            "min_portal_version": self.min_portal_version,
            "created": self.created,
            "key_id": self.key_id,
            "title": self.title,
            "files": [
                {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
                for entry in self.files
            ],
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, raw: bytes, limits: Limits) -> Manifest:
        """Check every field of a (signed) manifest; PackRejected names the first bad one."""
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise PackRejected(f"{MANIFEST} is not valid JSON: {error}") from error
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise PackRejected(f"{MANIFEST} is not a format {FORMAT} guide pack manifest")

        def text(name: str, pattern: re.Pattern[str] | None = None) -> str:
            value = document.get(name)
            if not isinstance(value, str) or (pattern and not pattern.match(value)):
                raise PackRejected(f"{MANIFEST}: {name!r} is missing or malformed")
            return value

        languages = document.get("languages")
        if not isinstance(languages, list) or not languages:
            raise PackRejected(f"{MANIFEST}: 'languages' must be a non-empty list")
        if not all(isinstance(code, str) and _LANGUAGE.match(code) for code in languages):
            raise PackRejected(f"{MANIFEST}: 'languages' holds a malformed language code")
        title = document.get("title")
        if not isinstance(title, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in title.items()
        ):
            raise PackRejected(f"{MANIFEST}: 'title' must map languages to text")
        manifest = cls(
            pack_id=text("pack_id", _SLUG),
            version=text("version", _VERSION),
            languages=tuple(languages),
            default_language=text("default_language"),
            min_portal_version=text("min_portal_version", _VERSION),
            created=text("created"),
            key_id=text("key_id", _HEX),
            title=title,
            files=_parse_files(document.get("files"), limits),
            raw=raw,
        )
        if manifest.default_language not in manifest.languages:
            raise PackRejected(f"{MANIFEST}: 'default_language' is not one of 'languages'")
        return manifest


def _parse_files(files: Any, limits: Limits) -> tuple[FileEntry, ...]:
    if not isinstance(files, list):
        raise PackRejected(f"{MANIFEST}: 'files' must be a list")
    if len(files) > limits.max_files:
        raise PackRejected(f"too many files: {len(files)}, at most {limits.max_files}")
    entries: dict[str, FileEntry] = {}
    total = 0
    for item in files:
        if not isinstance(item, dict):
            raise PackRejected(f"{MANIFEST}: a 'files' entry is not a table")
        path, size, digest = item.get("path"), item.get("size"), item.get("sha256")
        if not isinstance(path, str) or (problem := unsafe_path(path)):
            raise PackRejected(f"{MANIFEST}: file {path!r} {problem or 'has no path'}")
        if type(size) is not int or size < 0:
            raise PackRejected(f"{MANIFEST}: file {path!r} has no valid size")
        if size > limits.max_bytes:
            raise PackRejected(
                f"file {path!r} is declared at {amount(size)}, over the limit of "
                f"{amount(limits.max_bytes)} (guides.max_pack_mb)"
            )
        if not isinstance(digest, str) or len(digest) != 64 or not _HEX.match(digest):
            raise PackRejected(f"{MANIFEST}: file {path!r} has no valid SHA-256")
        if path in entries:
            raise PackRejected(f"{MANIFEST}: file {path!r} is listed twice")
        entries[path] = FileEntry(path, size, digest)
        total += size
    if total > limits.max_bytes:
        raise PackRejected(
            f"the pack's files add up to {amount(total)}, over the limit of "
            f"{amount(limits.max_bytes)} (guides.max_pack_mb)"
        )
    if "pack.toml" not in entries:
        raise PackRejected(f"{MANIFEST}: lists no pack.toml")
    return tuple(entries.values())


# --- writing ----------------------------------------------------------------------------


def _regular(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_pack(
    out: Path, manifest_raw: bytes, signature: bytes | None, files: Iterable[tuple[str, Path]]
) -> None:
    """Write the archive (atomically: a temporary file, then a rename).

    Takes the manifest bytes and signature as given, so tests can write broken packs.
    """
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    mtime = 0
    try:
        with tarfile.open(temporary, "w", format=tarfile.USTAR_FORMAT) as archive:
            archive.addfile(_regular(MANIFEST, len(manifest_raw), mtime), _bytes(manifest_raw))
            if signature is not None:
                archive.addfile(_regular(SIGNATURE, len(signature), mtime), _bytes(signature))
            for name, source in files:
                with source.open("rb") as data:
                    archive.addfile(_regular(name, source.stat().st_size, mtime), data)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def _bytes(data: bytes) -> IO[bytes]:
    return io.BytesIO(data)


# --- reading and verifying --------------------------------------------------------------


class _CountingReader:
    """A file wrapper that reports every byte tarfile reads (the verify progress bar)."""

    def __init__(self, inner: IO[bytes], progress: Progress) -> None:
        self._inner = inner
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._progress.advance(len(data))
        return data


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "is a symbolic link"
    if member.islnk():
        return "is a hard link"
    if member.isdev():
        return "is a device or a FIFO"
    if member.isdir():
        return "is a directory entry"
    return "is not a regular file"


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = archive.extractfile(member)
    if stream is None:
        raise PackRejected(f"member {member.name!r} {_kind(member)}")
    return stream.read()


def _signed_manifest(
    archive: tarfile.TarFile, trusted_keys: Sequence[str], limits: Limits
) -> Manifest:
    first = archive.next()
    if first is None or first.name != MANIFEST or not first.isreg():
        raise PackRejected(f"not a guide pack: it does not start with {MANIFEST}")
    if first.size > MANIFEST_LIMIT:
        raise PackRejected(f"{MANIFEST} is {first.size:,} bytes, over {MANIFEST_LIMIT:,}")
    raw = _read_member(archive, first)
    second = archive.next()
    if second is None or second.name != SIGNATURE:
        raise PackRejected(f"the pack has no signature ({SIGNATURE} missing)")
    if not second.isreg() or second.size != SIGNATURE_SIZE:
        raise PackRejected(f"{SIGNATURE} is not a {SIGNATURE_SIZE}-byte Ed25519 signature")
    signature = _read_member(archive, second)
    try:
        claimed = json.loads(raw.decode("utf-8")).get("key_id")
    except (UnicodeDecodeError, ValueError, AttributeError) as error:
        raise PackRejected(f"{MANIFEST} is not valid JSON") from error
    if not trusted_keys:
        raise PackRejected(
            "no trusted keys are configured (guides.trusted_keys is empty): "
            "add the publisher's public key to portal.toml"
        )
    keys = {key_id(key): key for key in map(load_public_key, trusted_keys)}
    if claimed not in keys:
        raise PackRejected(
            f"signed by an unknown key {claimed!r}; trusted key ids: {', '.join(sorted(keys))} "
            "(guides.trusted_keys)"
        )
    try:
        keys[claimed].verify(signature, raw)
    except InvalidSignature as error:
        raise PackRejected(
            f"wrong signature: {SIGNATURE} does not match {MANIFEST} for key {claimed} "
            "(the pack was altered or badly signed)"
        ) from error
    return Manifest.parse(raw, limits)


def _write_file(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o644), "wb")


def _check_members(archive: tarfile.TarFile, manifest: Manifest, dest: Path | None) -> None:
    """Compare every member with the manifest; copy into `dest` (when given) while hashing."""
    expected = {entry.path: entry for entry in manifest.files}
    seen: set[str] = set()
    # next(), not iteration: iterating a TarFile starts again at its first member.
    while (member := archive.next()) is not None:
        name = member.name
        if problem := unsafe_path(name):
            raise PackRejected(f"member {name!r} {problem}")
        if not member.isreg():
            raise PackRejected(f"member {name!r} {_kind(member)}")
        entry = expected.get(name)
        if entry is None:
            raise PackRejected(f"member {name!r} is not listed in the manifest")
        if name in seen:
            raise PackRejected(f"member {name!r} appears twice")
        seen.add(name)
        if member.size != entry.size:
            # Checked on the header, before reading: a 2 GB member costs nothing.
            raise PackRejected(
                f"member {name!r} is {member.size:,} bytes but the manifest says {entry.size:,}"
            )
        _copy_member(archive, member, entry, dest)
    missing = sorted(set(expected) - seen)
    if missing:
        raise PackRejected(f"the manifest lists {missing[0]!r} but the pack does not hold it")


def _copy_member(
    archive: tarfile.TarFile, member: tarfile.TarInfo, entry: FileEntry, dest: Path | None
) -> None:
    stream = archive.extractfile(member)
    assert stream is not None  # noqa: S101 — a regular file always has a stream
    digest = hashlib.sha256()
    out = _write_file(dest / entry.path) if dest is not None else None
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    if digest.hexdigest() != entry.sha256:
        raise PackRejected(f"{entry.path!r}: SHA-256 does not match the manifest (altered file)")


def read_pack(
    path: Path,
    trusted_keys: Sequence[str],
    limits: Limits,
    *,
    dest: Path | None = None,
    progress: Progress | None = None,
    manifest_only: bool = False,
) -> Manifest:
    """Verify a pack file: signature first, then every member against the manifest.

    With `dest`, the files are written there as they are checked (a staging folder:
    the caller deletes it when this raises). `manifest_only` stops after the signature.
    """
    progress = progress or SilentProgress()
    try:
        with path.open("rb") as raw:
            reader = _CountingReader(raw, progress)
            with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
                manifest = _signed_manifest(archive, trusted_keys, limits)
                if not manifest_only:
                    _check_members(archive, manifest, dest)
    except tarfile.TarError as error:
        raise PackRejected(f"{path.name} is damaged or not a guide pack ({error})") from error
    except OSError as error:
        raise PackRejected(f"{path.name}: {error.strerror or error}") from error
    return manifest
