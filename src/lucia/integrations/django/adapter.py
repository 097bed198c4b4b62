"""lucia's adapter on Django's own database connections.

``DjangoAdapter`` is a ``SQLAdapter`` (lucia's shared statements, written once)
whose driver runs them on ``django.db.connections[using]``: the project's
database settings, connection handling and transactions. Writes that must be
atomic run in ``transaction.atomic``, so inside a view's own ``atomic`` block
they become a savepoint of it. The dialect follows ``connection.vendor``
(SQLite, PostgreSQL, MySQL); Django's cursors always take ``%s`` placeholders.

``AsyncDjangoAdapter`` serves ``AsyncLucia`` by running any sync adapter's
calls through ``asgiref``'s ``sync_to_async(thread_sensitive=True)``, the way
Django's own async ORM does: Django connections belong to a thread, and this
keeps them (and any open transaction) on Django's one sync thread.

The tables are ``lucia_user``, ``lucia_key``, ``lucia_session`` and
``lucia_token`` (not lucia's usual ``auth_*``: ``auth_user`` is
django.contrib.auth's), created by this app's migrations with lucia's own DDL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import (  # type: ignore[import-untyped]
    DatabaseError as DjangoDatabaseError,
)
from django.db import (
    IntegrityError,
    connections,
    transaction,
)

from lucia.adapters._sync_backed import SyncBackedAsyncAdapter
from lucia.adapters.base import (
    Adapter,
)
from lucia.adapters.sql import SQLITE, Dialect, Statements, Tables, ddl
from lucia.adapters.sql.engine import Row, SQLAdapter, SQLFlows
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

__all__ = ["DJANGO_TABLES", "AsyncDjangoAdapter", "DjangoAdapter", "DjangoDriver"]

P = ParamSpec("P")
R = TypeVar("R")

DJANGO_TABLES = Tables(
    user="lucia_user",
    key="lucia_key",
    session="lucia_session",
    token="lucia_token",  # noqa: S106  (a table name, not a secret)
)

# Django's cursor wrapper rewrites %s to SQLite's ? itself.
_DJANGO_SQLITE = dataclasses.replace(SQLITE, placeholder="%s")


def dialect_for(vendor: str) -> tuple[Dialect, str]:
    """lucia's ``Dialect`` and DDL name for a Django ``connection.vendor``."""
    if vendor == "sqlite":
        return _DJANGO_SQLITE, "sqlite"
    if vendor == "postgresql":
        # Imported here: the PostgreSQL adapter module needs psycopg.
        from lucia.adapters.postgres import POSTGRES

        return POSTGRES, "postgres"
    if vendor == "mysql":
        from lucia.adapters.mysql import MYSQL

        return MYSQL, "mysql"
    raise DatabaseError(f"lucia has no SQL dialect for Django's {vendor!r} database")


def _is_foreign_key_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "foreign key" in text or "foreign_key" in text


class _Handle:
    """One adapter call's cursor, plus the ``atomic`` block it may be in."""

    def __init__(self, cursor: Any, using: str) -> None:
        self.cursor = cursor
        self.using = using
        self.atomic: Any = None


class DjangoDriver:
    """``SQLDriver`` on ``django.db.connections[using]``."""

    def __init__(self, using: str) -> None:
        self.using = using

    @contextmanager
    def connection(self) -> Iterator[_Handle]:
        with connections[self.using].cursor() as cursor:
            yield _Handle(cursor, self.using)

    def begin(self, conn: _Handle) -> None:
        conn.atomic = transaction.atomic(using=self.using)
        conn.atomic.__enter__()

    def commit(self, conn: _Handle) -> None:
        atomic, conn.atomic = conn.atomic, None
        atomic.__exit__(None, None, None)

    def rollback(self, conn: _Handle) -> None:
        atomic, conn.atomic = conn.atomic, None
        if atomic is not None:
            # An exception passed in makes atomic roll back (its savepoint, when nested).
            error = RuntimeError("lucia rollback")
            atomic.__exit__(RuntimeError, error, None)

    def fetch_one(self, conn: _Handle, sql: str, params: tuple[Any, ...]) -> Row | None:
        conn.cursor.execute(sql, params)
        row: Row | None = conn.cursor.fetchone()
        return row

    def fetch_all(self, conn: _Handle, sql: str, params: tuple[Any, ...]) -> list[Row]:
        conn.cursor.execute(sql, params)
        return list(conn.cursor.fetchall())

    def execute(self, conn: _Handle, sql: str, params: tuple[Any, ...]) -> int:
        conn.cursor.execute(sql, params)
        count: int = conn.cursor.rowcount
        return count

    def map_error(self, exc: BaseException) -> Exception | None:
        if isinstance(exc, IntegrityError):
            if _is_foreign_key_failure(exc):
                return UserNotFoundError()
            return DuplicateKeyError()
        if isinstance(exc, DjangoDatabaseError):
            # The class name only in the message; the log's cause summary has
            # the driver's first line (lucia binds no secret: tokens and
            # passwords reach the database hashed).
            cause = type(exc.__cause__ or exc).__name__
            return DatabaseError(
                f"database error on Django connection {self.using!r}: {cause}",
                cause=exc.__cause__ or exc,
            )
        return None


class DjangoAdapter(SQLAdapter):
    """Sync ``Adapter`` on the Django database ``using`` (an alias of ``DATABASES``).

    The dialect is picked from the connection's vendor on first use, so the
    adapter can be built before Django's connections are usable.
    """

    driver: DjangoDriver

    def __init__(self, using: str = "default", *, tables: Tables = DJANGO_TABLES) -> None:
        self.using = using
        self.tables = tables
        self._flows: SQLFlows | None = None
        super().__init__(None, DjangoDriver(using))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"DjangoAdapter(using={self.using!r})"

    @property
    def flows(self) -> SQLFlows:
        """lucia's statements in this connection's dialect, built on first use."""
        if self._flows is None:
            dialect, ddl_name = dialect_for(connections[self.using].vendor)
            self._flows = SQLFlows(Statements(dialect, self.tables), ddl(ddl_name, self.tables))
        return self._flows

    @flows.setter
    def flows(self, value: SQLFlows | None) -> None:
        self._flows = value


class AsyncDjangoAdapter(SyncBackedAsyncAdapter):
    """``AsyncAdapter`` over a sync adapter (default: ``DjangoAdapter()``), each call
    run by ``sync_to_async(thread_sensitive=True)``.

    Django's database layer must not be called from the event loop, so reads and
    writes alike go to its sync thread. A cancelled caller does not cut a call
    short: the sync thread finishes it.
    """

    def __init__(self, sync: Adapter | None = None) -> None:
        super().__init__(DjangoAdapter() if sync is None else sync, writes_in_thread=False)

    def __repr__(self) -> str:
        return f"AsyncDjangoAdapter({self.sync!r})"

    async def _call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)

    _read = _write = _call
