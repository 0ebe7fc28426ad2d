"""Reading and verifying a pack file: it trusts nothing it has not checked.

The signed manifest comes first; every member header is compared with it before
a byte of data is read; every file's SHA-256 is checked as it streams; then the
contents get the checks the builder ran (portal.guides.pack.contents).

Every read is bounded before what it reads is checked: tarfile reads a PAX or GNU
long-name record whole, so the file it reads from stops at a limit — one header
allowance per member, then the data size its checked header gives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidSignature

from portal.datadir import FILE_MODE
from portal.guides.errors import PackRejected, Refusal
from portal.guides.pack.contents import check_contents
from portal.guides.pack.info import PackInfo
from portal.guides.pack.layout import GUIDES, PACK_TOML, path_problem
from portal.guides.pack.manifest import (
    MANIFEST,
    SIGNATURE,
    SIGNATURE_SIZE,
    FileEntry,
    Limits,
    Manifest,
    check_manifest_size,
)
from portal.guides.pack.problems import Problems
from portal.guides.pack_keys import key_id, load_public_key
from portal.guides.progress import Progress, SilentProgress

CHUNK = 1 << 16
HEADER_ALLOWANCE = 64 * 1024
"""Bytes of headers one member may have (ustar is 512; PAX records from other tar tools)."""
READ_AHEAD = 2 * tarfile.RECORDSIZE
"""tarfile's stream reads whole records, so it may be this far ahead of the member it parses."""


class _BoundedReader:
    """The pack file as tarfile sees it: it reports every byte read (the progress bar)
    and refuses to read past `limit`, which the reader raises as each step is checked."""

    def __init__(self, inner: IO[bytes], progress: Progress, name: str) -> None:
        self._inner = inner
        self._progress = progress
        self._name = name
        self.position = 0
        self.limit, self.stage = 0, ""
        self.headers_from(0)  # tarfile.open reads the first member's headers

    def headers_from(self, offset: int) -> None:
        """Let tarfile read the next member's headers, which start at `offset`."""
        self.limit = offset + HEADER_ALLOWANCE + READ_AHEAD
        self.stage = f"a member's headers are over {HEADER_ALLOWANCE:,} bytes"

    def data_until(self, end: int) -> None:
        """Let tarfile read a member's data, whose size its header gave and a check accepted."""
        self.limit = end + READ_AHEAD
        self.stage = "a member's data runs past its size"

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self.position
        if room <= 0:
            raise PackRejected(
                f"{self._name}: {self.stage} (reading stopped at byte {self.limit:,}; "
                "not a guide pack, or a damaged one)"
            )
        data = self._inner.read(room if size < 0 else min(size, room))
        self.position += len(data)
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
    archive: tarfile.TarFile, reader: _BoundedReader, trusted_keys: Sequence[str], limits: Limits
) -> Manifest:
    first = archive.next()
    if first is None or first.name != MANIFEST or not first.isreg():
        raise PackRejected(f"not a guide pack: it does not start with {MANIFEST}")
    check_manifest_size(first.size)
    reader.data_until(archive.offset)
    raw = _read_member(archive, first)
    reader.headers_from(archive.offset)
    second = archive.next()
    if second is None or second.name != SIGNATURE:
        raise PackRejected(f"the pack has no signature ({SIGNATURE} missing)", Refusal.UNSIGNED)
    if not second.isreg() or second.size != SIGNATURE_SIZE:
        raise PackRejected(
            f"{SIGNATURE} is not a {SIGNATURE_SIZE}-byte Ed25519 signature", Refusal.SIGNATURE
        )
    reader.data_until(archive.offset)
    signature = _read_member(archive, second)
    try:
        claimed = json.loads(raw.decode("utf-8")).get("key_id")
    except (UnicodeDecodeError, ValueError, AttributeError) as error:
        raise PackRejected(f"{MANIFEST} is not valid JSON") from error
    if not trusted_keys:
        raise PackRejected(
            "no trusted keys are configured (guides.trusted_keys is empty): "
            "add the publisher's public key to portal.toml",
            Refusal.NO_TRUSTED_KEY,
        )
    keys = {key_id(key): key for key in map(load_public_key, trusted_keys)}
    if claimed not in keys:
        raise PackRejected(
            f"signed by an unknown key {claimed!r}; trusted key ids: {', '.join(sorted(keys))} "
            "(guides.trusted_keys)",
            Refusal.UNTRUSTED,
        )
    try:
        keys[claimed].verify(signature, raw)
    except InvalidSignature as error:
        raise PackRejected(
            f"wrong signature: {SIGNATURE} does not match {MANIFEST} for key {claimed} "
            "(the pack was altered or badly signed)",
            Refusal.SIGNATURE,
        ) from error
    return Manifest.parse(raw, limits)


def new_file(path: Path) -> IO[bytes]:
    """A file of a staging folder, made by this process: never one there already, nor a link."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, FILE_MODE), "wb")


def _is_text(path: str) -> bool:
    """The files the content checks read (the images are checked by name only)."""
    return path == PACK_TOML or path.startswith(f"{GUIDES}/")


def _check_members(
    archive: tarfile.TarFile, reader: _BoundedReader, manifest: Manifest, dest: Path | None
) -> dict[str, bytes]:
    """Compare every member with the manifest; copy into `dest` (when given) while hashing.

    Without `dest`, returns the text files (pack.toml and pages) for the content checks.
    """
    expected = {entry.path: entry for entry in manifest.files}
    seen: set[str] = set()
    texts: dict[str, bytes] = {}
    # next(), not iteration: iterating a TarFile starts again at its first member.
    while True:
        # archive.offset: the end of the last member's data, where the next header starts.
        reader.headers_from(archive.offset)
        if (member := archive.next()) is None:
            break
        name = member.name
        if problem := path_problem(name):
            raise PackRejected(f"member {name!r} {problem}")
        if not member.isreg():
            raise PackRejected(f"member {name!r} {_kind(member)}")
        entry = expected.get(name)
        if entry is None:
            raise PackRejected(f"member {name!r} is not listed in the manifest", Refusal.TAMPERED)
        if name in seen:
            raise PackRejected(f"member {name!r} appears twice", Refusal.TAMPERED)
        seen.add(name)
        if member.size != entry.size:
            # Checked on the header, before reading: a 2 GB member costs nothing.
            raise PackRejected(
                f"member {name!r} is {member.size:,} bytes but the manifest says {entry.size:,}",
                Refusal.TAMPERED,
            )
        reader.data_until(archive.offset)
        kept = _copy_member(archive, member, entry, dest, keep=dest is None and _is_text(name))
        if kept is not None:
            texts[name] = kept
    missing = sorted(set(expected) - seen)
    if missing:
        raise PackRejected(
            f"the manifest lists {missing[0]!r} but the pack does not hold it", Refusal.TAMPERED
        )
    return texts


def _copy_member(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    entry: FileEntry,
    dest: Path | None,
    *,
    keep: bool,
) -> bytes | None:
    stream = archive.extractfile(member)
    assert stream is not None  # noqa: S101 — a regular file always has a stream
    digest = hashlib.sha256()
    out = new_file(dest / entry.path) if dest is not None else None
    chunks: list[bytes] = []
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
            if keep:
                chunks.append(chunk)
    finally:
        if out is not None:
            out.close()
    check_digest(entry, digest.hexdigest())
    return b"".join(chunks) if keep else None


def check_digest(entry: FileEntry, sha256: str) -> None:
    """The file's SHA-256 is the one the signed manifest lists (install and rollback)."""
    if sha256 != entry.sha256:
        raise PackRejected(
            f"{entry.path!r}: SHA-256 does not match the manifest (altered file)", Refusal.TAMPERED
        )


def _check_contents(manifest: Manifest, dest: Path | None, texts: dict[str, bytes]) -> None:
    """The builder's checks on the verified files, and pack.toml agreeing with the manifest."""

    def read(path: str) -> bytes:
        return (dest / path).read_bytes() if dest is not None else texts[path]

    problems = Problems()
    contents = check_contents((entry.path for entry in manifest.files), read, problems)
    if contents is not None:
        for key in dataclasses.fields(PackInfo):
            said, signed = getattr(contents.info, key.name), getattr(manifest.info, key.name)
            if said != signed:
                problems.key(PACK_TOML, key.name, f"{said!r}, but {MANIFEST} says {signed!r}")
    problems.raise_if_any()


def read_pack(
    path: Path,
    trusted_keys: Sequence[str],
    limits: Limits,
    *,
    dest: Path | None = None,
    progress: Progress | None = None,
    manifest_only: bool = False,
) -> Manifest:
    """Verify a pack file: signature first, then every member against the manifest,
    then its contents with the builder's checks.

    With `dest`, the files are written there as they are checked (a staging folder:
    the caller deletes it when this raises). `manifest_only` stops after the signature.
    """
    progress = progress or SilentProgress()
    try:
        with path.open("rb") as raw:
            reader = _BoundedReader(raw, progress, path.name)
            with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
                manifest = _signed_manifest(archive, reader, trusted_keys, limits)
                if manifest_only:
                    return manifest
                texts = _check_members(archive, reader, manifest, dest)
        _check_contents(manifest, dest, texts)
    except tarfile.TarError as error:
        raise PackRejected(f"{path.name} is damaged or not a guide pack ({error})") from error
    except OSError as error:
        raise PackRejected(f"{path.name}: {error.strerror or error}", Refusal.UNREADABLE) from error
    return manifest
