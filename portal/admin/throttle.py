"""Growing delays between failed sign-ins, per source and per account; never a lockout.

After FREE_TRIES failures in a row, each try must wait 2, 4, 8 ... seconds after the last
failure: up to SOURCE_CAP_SECONDS for one source, but only ACCOUNT_CAP_SECONDS for one
account, so that an attacker guessing from many addresses slows an account down without
locking its owner out. A success clears both counts; a day without failures forgets them.
The source is kept only as an HMAC of its address under the site key, and logs name no
address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from portal.models import LoginFailure, writing

log = logging.getLogger(__name__)

FREE_TRIES = 3
SOURCE_CAP_SECONDS = 15 * 60
ACCOUNT_CAP_SECONDS = 60
FORGET_AFTER_SECONDS = 24 * 3600


def delay_after(failures: int, cap: int) -> int:
    """Seconds to wait after `failures` failures in a row: none after 1 or 2, then 2 after 3,
    4 after 4, 8 after 5 ... up to `cap`."""
    if failures < FREE_TRIES:
        return 0
    return int(min(2 ** (failures - FREE_TRIES + 1), cap))


@dataclass(frozen=True)
class LoginThrottle:
    """The delays of one site, with its key and clock (tests pass a fake one)."""

    site_key: bytes
    clock: Callable[[], float]

    def source(self, address: str) -> str:
        digest = hmac.new(self.site_key, b"admin source " + address.encode(), hashlib.sha256)
        return f"source:{digest.hexdigest()[:32]}"

    @staticmethod
    def account(name: str) -> str:
        return f"account:{name}"

    @staticmethod
    def _cap(subject: str) -> int:
        return ACCOUNT_CAP_SECONDS if subject.startswith("account:") else SOURCE_CAP_SECONDS

    def wait(self, *subjects: str) -> int:
        """Seconds before any of `subjects` may try again (0: now)."""
        now = int(self.clock())
        rows = list(LoginFailure.select().where(LoginFailure.subject.in_(subjects)))
        if any(int(row.last_at) > now for row in rows):
            # A failure "in the future": the clock stepped back since. Counted from now, it
            # delays by its own length, not by the step's too.
            with writing():
                LoginFailure.update(last_at=now).where(
                    LoginFailure.subject.in_(subjects) & (LoginFailure.last_at > now)
                ).execute()
        longest = 0
        for row in rows:
            last_at = min(int(row.last_at), now)  # as just written
            if now - last_at >= FORGET_AFTER_SECONDS:
                continue
            until = last_at + delay_after(int(row.failures), self._cap(row.subject))
            longest = max(longest, until - now)
        return longest

    def failed(self, *subjects: str) -> None:
        now = int(self.clock())
        with writing():
            LoginFailure.delete().where(
                LoginFailure.last_at <= now - FORGET_AFTER_SECONDS
            ).execute()
            for subject in subjects:
                LoginFailure.insert(subject=subject, failures=1, last_at=now).on_conflict(
                    conflict_target=[LoginFailure.subject],
                    update={
                        LoginFailure.failures: LoginFailure.failures + 1,
                        LoginFailure.last_at: now,
                    },
                ).execute()
        for row in LoginFailure.select().where(LoginFailure.subject.in_(subjects)):
            delay = delay_after(int(row.failures), self._cap(row.subject))
            if delay:
                # The account's name, never the source: it is an address.
                who = "a source" if row.subject.startswith("source:") else row.subject
                log.warning(
                    "admin sign-in: %s waits %d s after %d failures", who, delay, row.failures
                )

    def succeeded(self, *subjects: str) -> None:
        with writing():
            LoginFailure.delete().where(LoginFailure.subject.in_(subjects)).execute()
