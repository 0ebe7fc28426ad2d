"""Writing a pack file: one uncompressed ustar archive, manifest and signature first.

Members, in this order: `manifest.json`, `manifest.sig` (the 64-byte detached
Ed25519 signature of the exact manifest bytes), then the files in the
manifest's order. Uncompressed, because pages are small and WebP pictures are
compressed already, and because a reader then has no decompression bomb to defuse.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path

from portal.guides.pack.manifest import MANIFEST, SIGNATURE


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
            archive.addfile(_regular(MANIFEST, len(manifest_raw), mtime), io.BytesIO(manifest_raw))
            if signature is not None:
                archive.addfile(_regular(SIGNATURE, len(signature), mtime), io.BytesIO(signature))
            for name, source in files:
                with source.open("rb") as data:
                    archive.addfile(_regular(name, source.stat().st_size, mtime), data)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
