"""Admin accounts: names, roles and argon2id password hashes; the first account handed over
from the boot partition.

argon2 (argon2-cffi) is imported only when a password is hashed or checked, and a web
worker checks in a child process (`apart`): no worker ever loads it (the Zero 2 W's memory
budget, bench/memory.py). The commands (`portal admin`, apply-config) hash in-process.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from peewee import IntegrityError

from portal.admin.apart import apart
from portal.config_values import account_name, admin_password
from portal.files import replace_file
from portal.models import ROLES, Account, writing

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ARGON2_TIME_COST = 5
ARGON2_MEMORY_KIB = 7 * 1024
ARGON2_PARALLELISM = 1
"""OWASP's argon2id choice for little memory (m=7 MiB, t=5, p=1): a check borrows 7 MiB, in a
child process that lives as long as the check (`apart`), so the workers' steady memory, what
the Zero 2 W's 80 MB budget counts, does not change."""

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


UNKNOWN_ACCOUNT_HASH = (
    "$argon2id$v=19$m=7168,t=5,p=1$gAOuiYQIVzd5sO3YE3iBmA"
    "$h+7DFRwv4Zglk2CWNTOBZ1JUwSCTKGo1dA+nCBV5y6Q"
)
"""Checked when the name is unknown, so that a wrong name takes as long as a wrong password:
the hash of a random password nobody kept, with the parameters above."""


def check_password(name: str, password: str) -> Account | None:
    """The account if `password` is its password; None otherwise (same time either way).

    The check runs in a child process (`apart`): the web worker neither stops answering
    guests while argon2 works nor keeps argon2 in its memory afterwards."""
    account = Account.get_or_none(Account.name == name)
    stored = UNKNOWN_ACCOUNT_HASH if account is None else str(account.password_hash)
    verdict = apart(_verdict, stored, password)
    if account is None or not verdict.startswith("yes"):
        return None
    rehashed = verdict.removeprefix("yes").strip()
    if rehashed:  # the parameters changed since the password was set
        with writing():
            Account.update(password_hash=rehashed).where(Account.name == account.name).execute()
    return account


def _verdict(stored: str, password: str) -> str:
    """ "yes", "no", or "yes NEW-HASH" when `stored` was made with other parameters."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return "no"
    return f"yes {hasher.hash(password)}" if hasher.check_needs_rehash(stored) else "yes"


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
