"""Ed25519 keys that sign guide packs: made by `portal pack keygen`, trusted in portal.toml.

A public key is written as `ed25519:` and its 32 raw bytes in base64, the form
guides.trusted_keys holds; a manifest names its key by a short key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal.guides.errors import PackRejected

PUBLIC_KEY_PREFIX = "ed25519:"
PRIVATE_KEY_FILE = "pack-signing.key"
PUBLIC_KEY_FILE = "pack-signing.pub"


def public_key_text(key: Ed25519PublicKey) -> str:
    """The form guides.trusted_keys holds: 'ed25519:' and the raw key in base64."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        if not text.startswith(PUBLIC_KEY_PREFIX):
            raise ValueError(text)
        raw = base64.b64decode(text.removeprefix(PUBLIC_KEY_PREFIX), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error) as error:
        raise PackRejected(f"{text!r} is not an Ed25519 public key 'ed25519:...'") from error


def key_id(key: Ed25519PublicKey) -> str:
    """A short name for a key, written into manifests: 16 hex digits of its SHA-256."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keys(folder: Path) -> tuple[Path, str]:
    """Write a new private key (0600, PEM) and its public key; return the path and public text."""
    folder.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_path = folder / PRIVATE_KEY_FILE
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    public = public_key_text(private.public_key())
    (folder / PUBLIC_KEY_FILE).write_text(public + "\n", encoding="ascii")
    return private_path, public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise PackRejected(f"{path}: not a readable Ed25519 private key ({error})") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise PackRejected(f"{path}: not an Ed25519 private key")
    return key
