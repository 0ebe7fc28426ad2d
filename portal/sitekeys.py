"""Secrets generated on the device on first start; there is no default secret in code."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from portal.datadir import private_folder

KEY_BYTES = 32


class SiteKeyError(ValueError):
    """A stored secret is unreadable or damaged."""


@dataclass(frozen=True)
class SiteKeys:
    """The device's own secrets, read from `<data_dir>/keys/` (mode 0600)."""

    flask_secret: bytes
    site_key: bytes
    """HMAC key for learning paths: a device's progress is filed under HMAC(site_key, MAC)."""

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SiteKeys:
        folder = private_folder(private_folder(data_dir) / "keys")
        return cls(
            flask_secret=_load_or_create(folder / "flask-secret.key"),
            site_key=_load_or_create(folder / "site.key"),
        )


def _load_or_create(path: Path) -> bytes:
    """Read a key, creating it first if needed.

    Several gunicorn workers may start at once: the key is written to a private
    temporary file and then hard-linked into place, which fails if another worker
    won the race, so nobody ever reads a half-written key.
    """
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(KEY_BYTES) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another worker won: use its key
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SiteKeyError(
            f"{path} does not hold a {KEY_BYTES}-byte key; delete it to make a new one"
        )
    return key
