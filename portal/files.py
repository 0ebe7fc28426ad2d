"""Replacing a file whole: never half-written, with its mode and owner set before it appears;
the folders such files go into."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(
    path: Path, content: bytes, mode: int = 0o644, owner: tuple[int, int] | None = None
) -> None:
    """Write `content` to a new file beside `path` and rename it over `path`.

    Mode and owner are set on the open file, never by path afterwards: in a folder
    another user can write, a name may be swapped for a link between two calls. The
    data is on the disk before the rename, and the rename before this returns (a Pi
    may lose power, a volunteer may pull the card, a FAT partition is left clean).
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fchmod(stream.fileno(), mode)
            if owner is not None:
                os.fchown(stream.fileno(), *owner)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def readable_folder(path: Path) -> None:
    """Make `path` (and missing parents) if it is not a folder yet, readable by all (0755):
    the portal command's umask (077) would leave it closed to everyone else. A folder that
    is already there keeps its mode."""
    if not path.is_dir():
        path.mkdir(parents=True)
        path.chmod(0o755)


__all__ = ["readable_folder", "replace_file"]
