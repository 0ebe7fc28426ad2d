"""Why a guide pack is refused: one exception, turned into a message in `portal.cli.main`
(its English text) and on the volunteers' pack page (its kind, in their language)."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    """The kinds of refusal a volunteer is told apart (portal/admin/packs.py says each)."""

    FORMAT = "format"
    """Not a guide pack, or one damaged or breaking the format."""
    UNSIGNED = "unsigned"
    """No signature in the pack."""
    NO_TRUSTED_KEY = "no_trusted_key"
    """The hotspot trusts no key (guides.trusted_keys is empty)."""
    UNTRUSTED = "untrusted"
    """Signed by a key the hotspot does not trust."""
    SIGNATURE = "signature"
    """The signature does not match the manifest: altered or badly signed."""
    TAMPERED = "tampered"
    """A file differs from what the signed manifest says of it."""
    TOO_LARGE = "too_large"
    """Over guides.max_pack_mb, or too many files."""
    OTHER_PACK = "other_pack"
    """A pack of another id than guides.pack_id."""
    NEWER_PORTAL = "newer_portal"
    """The pack needs a newer portal."""
    UNREADABLE = "unreadable"
    """The file could not be read (whole)."""
    NOT_PREPARED = "not_prepared"
    """The verified pack could not be made ready for reading."""
    NO_PREVIOUS = "no_previous"
    """A rollback without a pack before the one in use."""
    NO_ROOM = "no_room"
    """Deferred: the card lacks the space to install it."""
    BUSY = "busy"
    """Deferred: another install or rollback is running."""


class PackRejected(Exception):
    """A pack that must not be installed; the message says why, for the volunteer who reads
    English (the command line), and `kind` which kind of refusal it is."""

    def __init__(self, message: str, kind: Refusal = Refusal.FORMAT) -> None:
        super().__init__(message)
        self.kind = kind


class PackDeferred(PackRejected):
    """Not now, but maybe later: the disk is full or another install is running."""
