"""lucia's three tables as (unmanaged) Django models, for the admin and ORM reads.

The tables themselves are made by this app's migration with lucia's own DDL, so
their columns are exactly what every lucia SQL adapter expects (on SQLite,
times are Unix seconds; on PostgreSQL, ``timestamptz``; attributes are JSON).
Write through ``Lucia`` (``create_user``, ``create_session``, ...), never
through these models: lucia hashes secrets and checks invariants that an ORM
``save()`` would skip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models  # type: ignore[import-untyped]


class LuciaTimeField(models.DateTimeField):  # type: ignore[misc]
    """A moment stored the way lucia stores it: Unix seconds on SQLite, a datetime elsewhere."""

    def get_internal_type(self) -> str:
        # Keeps the backends' datetime converters (which parse strings) off
        # SQLite's integers; from_db_value below reads both forms.
        return "BigIntegerField"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromtimestamp(int(value), tz=UTC)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, datetime) and connection.vendor == "sqlite":
            return int(value.timestamp())
        return super().get_db_prep_value(value, connection, prepared)


class _LuciaRow(models.Model):  # type: ignore[misc]
    """What lucia's models share: unmanaged (lucia's migration makes the tables,
    with lucia's DDL), shown by their primary key."""

    class Meta:
        abstract = True
        managed = False

    def __str__(self) -> str:
        return str(self.pk)


class LuciaUser(_LuciaRow):
    """A row of ``lucia_user``."""

    id = models.CharField(primary_key=True, max_length=255)
    attributes = models.JSONField(default=dict)
    created_at = LuciaTimeField()

    class Meta(_LuciaRow.Meta):
        db_table = "lucia_user"
        verbose_name = "lucia user"


class LuciaKey(_LuciaRow):
    """A row of ``lucia_key``: an identity (provider, user id there) of a user."""

    pk = models.CompositePrimaryKey("provider_id", "provider_user_id")
    provider_id = models.CharField(max_length=255)
    provider_user_id = models.CharField(max_length=255)
    user = models.ForeignKey(
        LuciaUser, on_delete=models.CASCADE, db_column="user_id", related_name="keys"
    )
    hashed_password = models.TextField(null=True)

    class Meta(_LuciaRow.Meta):
        db_table = "lucia_key"
        verbose_name = "lucia key"

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.provider_user_id}"


class LuciaSession(_LuciaRow):
    """A row of ``lucia_session`` (the token's secret is stored only as its hash)."""

    id = models.CharField(primary_key=True, max_length=255)
    user = models.ForeignKey(
        LuciaUser, on_delete=models.CASCADE, db_column="user_id", related_name="sessions"
    )
    secret_hash = models.BinaryField()
    expires_at = LuciaTimeField()
    created_at = LuciaTimeField()
    attributes = models.JSONField(default=dict)

    class Meta(_LuciaRow.Meta):
        db_table = "lucia_session"
        verbose_name = "lucia session"
