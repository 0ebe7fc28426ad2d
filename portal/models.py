"""What the portal stores. Only unexpired grants are kept: no history of who was online."""

from __future__ import annotations

from peewee import CharField, IntegerField, Model

from portal.db import database


class BaseModel(Model):
    class Meta:
        database = database


class Grant(BaseModel):
    """A device's access to the Internet, until `expires_at` (Unix seconds)."""

    mac = CharField(max_length=17, primary_key=True)
    granted_at = IntegerField()
    expires_at = IntegerField(index=True)

    class Meta:
        table_name = "grant"

    @classmethod
    def give(cls, mac: str, now: int, seconds: int) -> Grant:
        """Grant or extend access: a re-grant starts a full session from now."""
        with database.atomic():
            cls.insert(mac=mac, granted_at=now, expires_at=now + seconds).on_conflict(
                conflict_target=[cls.mac],
                update={cls.granted_at: now, cls.expires_at: now + seconds},
            ).execute()
        return cls.get_by_id(mac)

    @classmethod
    def withdraw(cls, mac: str) -> bool:
        with database.atomic():
            return bool(cls.delete().where(cls.mac == mac).execute())

    @classmethod
    def unexpired(cls, now: int) -> list[Grant]:
        return list(cls.select().where(cls.expires_at > now).order_by(cls.expires_at))

    @classmethod
    def purge_expired(cls, now: int) -> int:
        """Delete grants that have run out; returns how many."""
        with database.atomic():
            return int(cls.delete().where(cls.expires_at <= now).execute())

    def seconds_left(self, now: int) -> int:
        return max(0, int(self.expires_at) - now)
