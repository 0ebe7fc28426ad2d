"""`portal pack build`: check a pack source folder (content/README.md), then sign it into one file.

The checks are the format's own (portal.guides.pack.contents and the manifest's
parser), the ones every hotspot runs again at install: what builds, installs.
Every problem names the file and the key, and all are reported at once.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.guides.pack.contents import PackContents, check_folder
from portal.guides.pack.layout import PACK_TOML, image_path, page_path
from portal.guides.pack.manifest import FileEntry, Limits, Manifest
from portal.guides.pack.names import portal_version_problem
from portal.guides.pack.problems import PackInvalid, Problems
from portal.guides.pack.write import write_pack
from portal.guides.pack_keys import key_id

SOURCE = "the pack source"


@dataclass(frozen=True)
class PackSource:
    """A checked source folder: its contents and the files that go into the pack."""

    folder: Path
    contents: PackContents
    files: tuple[str, ...]
    """Pack paths, relative to `folder`, in pack order (pack.toml, pages, images)."""


def check_source(folder: Path) -> PackSource:
    """Check a source folder the way every hotspot checks the pack; PackInvalid if wrong."""
    if not (folder / PACK_TOML).is_file():
        raise PackInvalid([f"{folder}: no {PACK_TOML} (is this a pack source folder?)"], SOURCE)
    prefix = f"{folder.name}/"
    try:
        contents = check_folder(folder, prefix, SOURCE)
    except OSError as error:
        raise PackInvalid(
            [f"{error.filename}: cannot be read ({error.strerror})"], SOURCE
        ) from error
    if problem := portal_version_problem(contents.info.min_portal_version):
        problems = Problems(prefix)
        problems.key(PACK_TOML, "min_portal_version", problem)
        problems.raise_if_any(SOURCE)
    pages = [
        page_path(guide.id, page.language) for guide in contents.guides for page in guide.pages
    ]
    files = (PACK_TOML, *pages, *map(image_path, sorted(contents.images)))
    return PackSource(folder=folder, contents=contents, files=files)


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
    stamp = created or datetime.datetime.now(datetime.UTC)
    manifest = Manifest(
        source.contents.info,
        created=stamp.replace(microsecond=0).isoformat(),
        key_id=key_id(key.public_key()),
        files=tuple(
            FileEntry(name, (folder / name).stat().st_size, sha256_file(folder / name))
            for name in source.files
        ),
    )
    raw = manifest.to_bytes()
    # The reader's own check of what is about to be signed: sizes, file count, every field.
    Manifest.parse(raw, Limits.default())
    write_pack(out, raw, key.sign(raw), ((name, folder / name) for name in source.files))
    return manifest
