"""Replacing a file whole: never half-written, with its mode and owner set before it appears."""

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


__all__ = ["replace_file"]
