"""Admin accounts: names, roles and argon2id password hashes; the first account handed over
from the boot partition.

argon2 (argon2-cffi) is imported only when a password is hashed or checked: a worker that
nobody signs in to never loads it (the Zero 2 W's memory budget, bench/memory.py).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from peewee import IntegrityError

from portal.config_values import account_name, admin_password
from portal.files import replace_file
from portal.models import ROLES, Account, writing

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ARGON2_TIME_COST = 5
ARGON2_MEMORY_KIB = 7 * 1024
ARGON2_PARALLELISM = 1
"""OWASP's argon2id choice for little memory (m=7 MiB, t=5, p=1): a check borrows 7 MiB for
a moment, which the Zero 2 W's 80 MB budget can spare while nobody else can sign in at once
(one worker, and a login's check runs in its one thread)."""

FIRST_ACCOUNT_NAME = "admin-first.json"
"""In the data directory: the account the boot step took from portal.toml (name, role and
hash, never the password), until the portal files it in the database."""


class AccountError(ValueError):
    """An account command that cannot be done, in one sentence."""


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    if problem := admin_password(password):
        raise AccountError(f"the password must be {problem}")
    return str(_hasher().hash(password))


_UNKNOWN_ACCOUNT_HASH: list[str] = []
"""A hash checked when the name is unknown, so that a wrong name takes as long as a wrong
password (made once, at the first such check)."""


def check_password(name: str, password: str) -> Account | None:
    """The account if `password` is its password; None otherwise (same time either way)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    account = Account.get_or_none(Account.name == name)
    if account is None:
        if not _UNKNOWN_ACCOUNT_HASH:
            _UNKNOWN_ACCOUNT_HASH.append(str(hasher.hash(secrets.token_hex(16))))
        stored = _UNKNOWN_ACCOUNT_HASH[0]
    else:
        stored = str(account.password_hash)
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None:
        return None
    if hasher.check_needs_rehash(stored):  # the parameters changed since it was set
        with writing():
            Account.update(password_hash=hasher.hash(password)).where(
                Account.name == account.name
            ).execute()
    return account


def _checked(name: str, role: str | None = None) -> None:
    if problem := account_name(name):
        raise AccountError(f"the account name must be {problem}")
    if role is not None and role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")


def add_account(name: str, role: str, password: str) -> None:
    _checked(name, role)
    hashed = hash_password(password)
    try:
        with writing():
            Account.create(
                name=name, role=role, password_hash=hashed, session_key=secrets.token_hex(16)
            )
    except IntegrityError:
        raise AccountError(f"there is already an account named {name!r}") from None


def set_password(name: str, password: str) -> None:
    """A new password; every session of the account ends."""
    _checked(name)
    hashed = hash_password(password)
    with writing():
        changed = (
            Account.update(password_hash=hashed, session_key=secrets.token_hex(16))
            .where(Account.name == name)
            .execute()
        )
    if not changed:
        raise AccountError(f"there is no account named {name!r}")


def remove_account(name: str) -> None:
    _checked(name)
    with writing():
        if not Account.delete().where(Account.name == name).execute():
            raise AccountError(f"there is no account named {name!r}")


def end_sessions(name: str) -> None:
    """Sign the account out everywhere (its cookies name the old key)."""
    with writing():
        Account.update(session_key=secrets.token_hex(16)).where(Account.name == name).execute()


@dataclass(frozen=True)
class FirstAccount:
    """The account the volunteer wrote in portal.toml, hashed by the boot step."""

    name: str
    role: str
    password_hash: str

    def hand_over(self, data_dir: Path) -> None:
        """Leave it in the data directory for the portal (owned like the folder: the boot
        step runs as root, the portal as its own user)."""
        owner = data_dir.stat()
        content = json.dumps({"name": self.name, "role": self.role, "hash": self.password_hash})
        replace_file(
            data_dir / FIRST_ACCOUNT_NAME, content.encode(), 0o600, (owner.st_uid, owner.st_gid)
        )


def take_first_account(data_dir: Path) -> str | None:
    """File the handed-over account (a new one, or a new password for one that exists);
    the name, or None without one. Its sessions end: the password is new."""
    path = data_dir / FIRST_ACCOUNT_NAME
    try:
        given = json.loads(path.read_bytes())
        name, role, hashed = str(given["name"]), str(given["role"]), str(given["hash"])
        _checked(name, role)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AccountError):
        path.unlink(missing_ok=True)  # damaged: the volunteer writes the password again
        return None
    with writing():
        Account.insert(
            name=name, role=role, password_hash=hashed, session_key=secrets.token_hex(16)
        ).on_conflict(
            conflict_target=[Account.name],
            update={Account.password_hash: hashed, Account.session_key: secrets.token_hex(16)},
        ).execute()
        path.unlink(missing_ok=True)  # in the transaction: another worker finds it filed
    return name
