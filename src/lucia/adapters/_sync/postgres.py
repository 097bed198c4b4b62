# Generated from src/lucia/adapters/_async/postgres.py by scripts/generate_sync.py: do not edit.
"""The PostgreSQL adapter and driver, written once over psycopg's async API.

``lucia/adapters/_sync/postgres.py`` is generated from this file: psycopg's two
APIs have the same shape, so renaming the pool and connection classes is all it
takes. What differs between the flavours (when an owned pool opens, how a call
that outlives its deadline is cut, closing from sync code) is in the
per-flavour hooks of ``lucia.adapters._postgres_base``, as are the pool
settings and the error mapping, which do no I/O. ``lucia.adapters.postgres``
documents the adapters and is where both flavours are imported from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from lucia.adapters._postgres_base import (
    KEEPALIVES_IDLE,
    POSTGRES,
    STATEMENT_TIMEOUT,
    _driver_for,
    _DriverHooks,
    _Health,
    _looks_dead,
    _PostgresAdapterHooks,
)
from lucia.adapters._sync.engine import Row, SQLAdapter
from lucia.adapters.sql import DEFAULT_TABLES, Statements, Tables, ddl


class _OwnCursorConnection(psycopg.Connection[Any]):
    """A connection of a pool lucia makes, with one cursor that runs every
    statement lucia sends on it (``_statements``)."""

    lucia_cursor: psycopg.Cursor[Any] | None = None


def _statements(
    conn: psycopg.Connection[Any],
) -> psycopg.Connection[Any] | psycopg.Cursor[Any]:
    """What runs a statement on ``conn``: its own cursor on a connection lucia made,
    else the connection itself (a new cursor per statement).

    A connection's execute() makes and frees a cursor, with a copy of the
    connection's adapters, each time: about a third of the client's instructions
    for validate_session's one read. A pooled connection serves one call at a
    time, and each call reads its rows before its next statement. A pool passed
    in keeps the connection's execute(): its connections may change their
    adapters, which a cursor copies when it is made."""
    if not isinstance(conn, _OwnCursorConnection):
        return conn
    cursor = conn.lucia_cursor
    if cursor is None or cursor.closed:
        cursor = conn.lucia_cursor = conn.cursor()
    return cursor


def _watched_connection_class(health: _Health) -> type[psycopg.Connection[Any]]:
    """The connection class of a pool lucia makes: each connect reports its outcome
    to ``health`` (the pool's public hook for how it connects; the pool's clients
    only ever see a timeout)."""

    class WatchedConnection(_OwnCursorConnection):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
            try:
                conn = super().connect(conninfo, **kwargs)
            except psycopg.Error as exc:
                health.failed(exc)
                raise
            health.cause = None
            return conn

    return WatchedConnection


class PostgresDriver(_DriverHooks):
    """The SQL driver on a psycopg connection pool: one it made (opened when the
    hooks say so) or one passed in (used as is)."""

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[Any]],
        *,
        owned: bool,
        target: str,
        timeout: float,
        health: _Health | None,
        cut_after: float | None,
    ) -> None:
        super().__init__(target, timeout, health, cut_after, owned=owned)
        self.pool = pool

    def _checkout(self) -> psycopg.Connection[Any]:
        if not self.opened:
            if self.closed:
                # Never reopened: getconn() then reports the closed pool.
                return self.pool.getconn()
            # A no-op once open, and safe to call concurrently.
            self.pool.open()
            self.opened_here()
        pool = self.pool
        while True:
            conn = pool.getconn()
            if not _looks_dead(conn):
                return conn
            try:
                pool.check_connection(conn)
            except psycopg.Error:
                # Closed, it leaves the pool for good (and is replaced) when returned.
                conn.close()
                pool.putconn(conn)
                continue
            return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self._checkout()
        switched = False
        watch = self.arm(conn)
        try:
            if not conn.autocommit:
                conn.set_autocommit(True)
                switched = True
            yield conn
        except psycopg.Error as exc:
            if watch is not None and watch.cut:
                raise self._unanswered(exc) from None
            raise
        finally:
            if watch is not None:
                self.disarm(watch)
            if switched and not conn.closed:
                try:
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        conn.rollback()
                    conn.set_autocommit(False)
                except psycopg.Error:
                    # It must not go back to the application in autocommit mode.
                    conn.close()
            self.pool.putconn(conn)

    def begin(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("BEGIN")

    def commit(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("ROLLBACK")

    def fetch_one(
        self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]
    ) -> Row | None:
        cursor = _statements(conn).execute(sql, params)
        row: Row | None = cursor.fetchone()
        return row

    def fetch_all(
        self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]
    ) -> list[Row]:
        cursor = _statements(conn).execute(sql, params)
        return cursor.fetchall()

    def execute(self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> int:
        cursor = _statements(conn).execute(sql, params)
        return cursor.rowcount

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        with self.connection() as conn:
            return self.fetch_one(conn, sql, params)

    def close(self) -> None:
        """Close the pool if this driver made it (once); a pool passed in stays open."""
        if not self.owned or self.closed:
            return
        self.closed = True
        if self.opened:
            self.pool.close()


class PostgresAdapter(_PostgresAdapterHooks, SQLAdapter):
    """``Adapter`` on PostgreSQL through a psycopg connection pool of its flavour
    (psycopg_pool's ``ConnectionPool`` for the sync adapter, its async pool for
    the async one).

    ``conninfo_or_pool`` is a libpq conninfo (``"host=... dbname=..."``) or a
    ``postgresql://`` URL, from which the adapter makes a pool of ``min_size``
    to ``max_size`` autocommit connections that closing the adapter closes; a
    call waits at most ``connect_timeout`` seconds for a connection, and the
    connections carry ``statement_timeout`` and TCP keepalives
    (``keepalives_idle``; see ``connection_kwargs``). Or it is a pool of yours,
    used with its own settings (lucia sets nothing on its connections: build it
    with ``kwargs=connection_kwargs()`` for the same bounds) and never closed by
    the adapter. The tables go into the first schema of the connection's
    ``search_path``.

    A sync pool made from a conninfo opens at once. An async one opens in the
    event loop of the first call and belongs to that loop; close it with
    ``await adapter.close()`` (or ``close()`` outside the loop) before the
    loop ends: psycopg_pool's workers ignore a cancellation that lands while
    they connect, so a loop shut down around an open pool can wait forever. An
    async pool you pass in must be open.
    """

    driver: PostgresDriver

    def __init__(
        self,
        conninfo_or_pool: str | ConnectionPool[psycopg.Connection[Any]],
        *,
        tables: Tables = DEFAULT_TABLES,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = STATEMENT_TIMEOUT,
        keepalives_idle: int | None = KEEPALIVES_IDLE,
    ) -> None:
        self.tables = tables
        driver: PostgresDriver = _driver_for(
            conninfo_or_pool,
            ConnectionPool,
            PostgresDriver,
            _watched_connection_class,
            min_size=min_size,
            max_size=max_size,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
            keepalives_idle=keepalives_idle,
        )
        super().__init__(Statements(POSTGRES, tables), ddl("postgres", tables), driver)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.driver.target!r})"

    @property
    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """The connection pool (yours, or the one this adapter made)."""
        return self.driver.pool

    def close(self) -> None:
        """Close the pool this adapter made; a pool you passed in stays open."""
        self.driver.close()
