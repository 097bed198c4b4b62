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
keeps them (and any open transaction) on Django's one sync thread. It wraps
every method in one place (``__getattr__``), so it forwards nothing by hand.

The tables are ``lucia_user``, ``lucia_key``, ``lucia_session`` and
``lucia_token`` (not lucia's usual ``auth_*``: ``auth_user`` is
django.contrib.auth's), created by this app's migrations with lucia's own DDL.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import sync_to_async
from django.db import (  # type: ignore[import-untyped]
    DatabaseError as DjangoDatabaseError,
)
from django.db import (
    IntegrityError,
    connections,
    transaction,
)

from lucia.adapters._async.purges import AsyncSessionPurges, AsyncTokenPurges
from lucia.adapters.base import Adapter, AsyncClosing
from lucia.adapters.sql import SQLITE, Dialect, Statements, Tables, ddl
from lucia.adapters.sql.engine import Row, SQLAdapter
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

__all__ = ["DJANGO_TABLES", "AsyncDjangoAdapter", "DjangoAdapter", "DjangoDriver"]

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

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        with self.connection() as conn:
            return self.fetch_one(conn, sql, params)

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
        self._q: Statements | None = None
        self._ddl: list[str] = []
        super().__init__(None, [], DjangoDriver(using))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"DjangoAdapter(using={self.using!r})"

    def _resolve(self) -> Statements:
        dialect, ddl_name = dialect_for(connections[self.using].vendor)
        self._q = Statements(dialect, self.tables)
        self._ddl = ddl(ddl_name, self.tables)
        return self._q

    @property
    def q(self) -> Statements:
        """lucia's statements in this connection's dialect, built on first use."""
        return self._q or self._resolve()

    @q.setter
    def q(self, value: Statements | None) -> None:
        self._q = value

    @property
    def ddl(self) -> list[str]:
        """The CREATE statements of this connection's dialect."""
        if self._q is None:
            self._resolve()
        return self._ddl

    @ddl.setter
    def ddl(self, value: list[str]) -> None:
        self._ddl = value


# The purges written once (``AsyncSessionPurges`` / ``AsyncTokenPurges``), for a
# sync adapter that deletes one batch at a time (``<name>_batch``: every SQL one).
_BATCHED_PURGES: dict[str, Callable[..., Awaitable[int]]] = {
    "delete_expired_sessions": AsyncSessionPurges.delete_expired_sessions,
    "delete_expired_tokens": AsyncTokenPurges.delete_expired_tokens,
}


def _on_django_thread(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``method`` as a coroutine function run by ``sync_to_async(thread_sensitive=True)``."""
    run = sync_to_async(method, thread_sensitive=True)

    # A coroutine function of its own, so the method reads as async to
    # inspect.iscoroutinefunction (AsyncLucia's flavour check).
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await run(*args, **kwargs)

    return call


class AsyncDjangoAdapter(AsyncClosing):
    """``AsyncAdapter`` over a sync adapter (default: ``DjangoAdapter()``), each call
    run by ``sync_to_async(thread_sensitive=True)``.

    Django's database layer must not be called from the event loop, so reads and
    writes alike go to its sync thread. A cancelled caller does not cut a call
    short: the sync thread finishes it. Every adapter method is the sync
    adapter's, wrapped on first use (``__getattr__``), and only the sync
    adapter's: it has the optional maintenance methods when that one does.
    Purges run batch by batch when the sync adapter deletes one batch at a time
    (``delete_expired_sessions_batch``, ``delete_expired_tokens_batch``: every
    SQL adapter), so other calls reach Django's thread between two batches;
    otherwise as one call.
    """

    def __init__(self, sync: Adapter | None = None) -> None:
        self.sync: Adapter = DjangoAdapter() if sync is None else sync

    def __repr__(self) -> str:
        return f"AsyncDjangoAdapter({self.sync!r})"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self.sync, name)
        if not callable(method):
            return method
        purge = _BATCHED_PURGES.get(name)
        if purge is not None and hasattr(self.sync, f"{name}_batch"):
            # Its batches come through here too, each its own call on Django's thread.
            call: Callable[..., Awaitable[Any]] = functools.partial(purge, self)
        else:
            call = _on_django_thread(method)
        # Cached on the instance: the next call finds it without __getattr__.
        setattr(self, name, call)
        return call

    @property
    def purge_rest(self) -> float:
        """The sync adapter's rest between purge batches (SQLite's, on SQLite)."""
        rest: float = getattr(self.sync, "purge_rest", 0.0)
        return rest

    async def aclose(self) -> None:
        """Close the sync adapter (on Django's thread), if it has a ``close``."""
        close = getattr(self.sync, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()

    def close(self) -> None:
        """Close the sync adapter, if it has a ``close``."""
        close = getattr(self.sync, "close", None)
        if close is not None:
            close()
