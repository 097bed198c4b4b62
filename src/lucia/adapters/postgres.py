"""PostgreSQL through psycopg 3 and psycopg_pool.

``PostgresAdapter`` and ``AsyncPostgresAdapter`` run the shared SQL flows on a
connection pool: one they create from a conninfo (and close), or one you pass
in (used as is and never closed). Every call borrows a connection in
autocommit mode, so the flows' own BEGIN/COMMIT delimit the transactions; a
connection of a pool passed in that is not in autocommit mode is switched for
the call and switched back before it returns to the pool, so the rest of the
application still gets the connections it configured.

Attributes are JSONB: the shared statements send JSON text, which psycopg
passes as an untyped parameter that PostgreSQL casts to the column's jsonb;
psycopg reads jsonb back as dicts, which ``decode_json`` accepts. Times are
TIMESTAMPTZ, sent as aware datetimes and read back in UTC.

Repeated statements are prepared by psycopg on each connection after
``prepare_threshold`` executions (5 by default), so a session validation is one
round trip running a prepared primary-key join. A pooled connection the server
closed while it sat idle (a restart, an idle timeout) is noticed with a
non-blocking poll of its socket and replaced before use, not with an extra
round trip per call.

Failures never pass PostgreSQL's own message on (it quotes the duplicate key's
values): a unique violation is ``DuplicateKeyError``, a foreign key violation
``UserNotFoundError``, and everything else ``DatabaseError`` naming the cause
(connection refused, pool timeout, SQLSTATE and error class) and the server's
host:port, never a password. A pool made from a conninfo waits at most
``connect_timeout`` seconds for a connection, so a call never hangs on a
server that is gone.
"""

from __future__ import annotations

import asyncio
import math
import os
import select
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Self

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import (
    AsyncConnectionPool,
    ConnectionPool,
    PoolClosed,
    PoolTimeout,
    TooManyRequests,
)

from lucia.adapters.sql import DEFAULT_TABLES, Dialect, Statements, Tables, ddl
from lucia.adapters.sql.engine import AsyncSQLAdapter, Row, SQLAdapter, SQLFlows
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

__all__ = ["POSTGRES", "AsyncPostgresAdapter", "PostgresAdapter"]

_SyncPool = ConnectionPool[psycopg.Connection[Any]]
_AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def _aware(moment: datetime) -> datetime:
    # A naive datetime would be read in the session's TimeZone: refuse it.
    if moment.tzinfo is None:
        raise ValueError("lucia stores timezone-aware datetimes only")
    return moment


def _utc(moment: datetime) -> datetime:
    # psycopg returns TIMESTAMPTZ in the connection's TimeZone setting.
    return moment.astimezone(UTC)


POSTGRES = Dialect(
    "postgres",
    placeholder="%s",
    encode_time=_aware,
    decode_time=_utc,
    lock_suffix=" FOR UPDATE",
)

# libpq's and psycopg's messages, matched to fixed phrases: the raw text (which
# may quote values) is never passed on. The first match wins.
_PROBLEMS = (
    ("connection refused", "connection refused"),
    ("timeout expired", "connection timed out"),
    ("timed out", "connection timed out"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("password authentication failed", "authentication failed"),
    ("no password supplied", "authentication failed"),
    ("authentication failed", "authentication failed"),
    ("no pg_hba.conf entry", "connection rejected by pg_hba.conf"),
    ("too many clients", "too many connections"),
    ("too many connections", "too many connections"),
    ("the database system is starting up", "server starting up"),
    ("the database system is shutting down", "server shutting down"),
    ("server closed the connection", "server closed the connection"),
    ("connection reset", "connection reset"),
    ("broken pipe", "connection reset"),
    ("terminating connection", "server terminated the connection"),
    ("the connection is lost", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("sending query failed", "connection lost"),
    ("connection is closed", "connection closed"),
    ("ssl", "SSL error"),
)


def _problem(exc: BaseException) -> str:
    """What went wrong with a connection, as a fixed phrase (else the error class)."""
    text = str(exc).lower()
    if "database" in text and "does not exist" in text:
        return "database does not exist"
    for needle, phrase in _PROBLEMS:
        if needle in text:
            return phrase
    return type(exc).__name__


def _describe_target(conninfo: object, kwargs: object = None) -> str:
    """``host:port`` of a conninfo (never its password), for error messages."""
    params: dict[str, Any] = {}
    if isinstance(conninfo, str):
        with suppress(psycopg.Error):
            params = conninfo_to_dict(conninfo)
    if isinstance(kwargs, dict):
        params.update(kwargs)
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    return f"{host}:{port}"


class _Health:
    """Why the owned pool's last connection attempt failed (None after a success).

    The pool connects in background workers and its clients only ever see a
    timeout; this keeps the real cause for their error message.
    """

    __slots__ = ("cause",)

    def __init__(self) -> None:
        self.cause: str | None = None

    def failed(self, exc: BaseException) -> None:
        self.cause = _problem(exc)


# The pool's public hook for how it connects (``connection_class``): a subclass per
# adapter that reports each attempt's outcome to that adapter's _Health.


def _watched_connection_class(health: _Health) -> type[psycopg.Connection[Any]]:
    class WatchedConnection(psycopg.Connection[Any]):
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


def _watched_async_connection_class(health: _Health) -> type[psycopg.AsyncConnection[Any]]:
    class WatchedAsyncConnection(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
            try:
                conn = await super().connect(conninfo, **kwargs)
            except psycopg.Error as exc:
                health.failed(exc)
                raise
            health.cause = None
            return conn

    return WatchedAsyncConnection


if hasattr(select, "poll"):

    def _has_input(fd: int) -> bool:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))

else:  # pragma: no cover - Windows

    def _has_input(fd: int) -> bool:
        return bool(select.select([fd], [], [], 0)[0])


def _looks_dead(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle pooled connection may have been closed by the server.

    An idle connection has nothing to read unless the server went away (EOF,
    reset, or a FATAL message before closing) or sent an unsolicited notice.
    One non-blocking poll costs a microsecond; a ``SELECT 1`` check on every
    checkout would double the round trips of a session validation.
    """
    if conn.closed:
        return True
    try:
        return _has_input(conn.fileno())
    except (psycopg.Error, OSError, ValueError):
        return True


class _PostgresDriverBase:
    """What the sync and async drivers share: the pool's identity and error mapping."""

    def __init__(self, target: str, timeout: float, health: _Health | None) -> None:
        self.target = target
        self.timeout = timeout
        self.health = health

    def map_error(self, exc: BaseException) -> Exception | None:
        if isinstance(exc, PoolTimeout):
            cause = self.health.cause if self.health is not None else None
            if cause is not None:
                return DatabaseError(f"PostgreSQL unreachable at {self.target}: {cause}", cause=exc)
            return DatabaseError(
                f"PostgreSQL pool timeout: no connection to {self.target}"
                f" within {self.timeout:g} s",
                cause=exc,
            )
        if isinstance(exc, PoolClosed):
            return DatabaseError("PostgreSQL connection pool is closed (or not open)")
        if isinstance(exc, TooManyRequests):
            return DatabaseError("PostgreSQL connection pool has too many requests waiting")
        if isinstance(exc, pg_errors.UniqueViolation):
            return DuplicateKeyError()
        if isinstance(exc, pg_errors.ForeignKeyViolation):
            return UserNotFoundError()
        if not isinstance(exc, psycopg.Error):
            return None
        return DatabaseError(self._describe(exc), cause=exc)

    def _describe(self, exc: psycopg.Error) -> str:
        name = type(exc).__name__
        sqlstate = exc.sqlstate
        if sqlstate is None and isinstance(exc, psycopg.OperationalError):
            # No SQLSTATE: the connection itself failed (libpq's own message).
            if str(exc).startswith("connection failed"):
                return f"PostgreSQL unreachable at {self.target}: {_problem(exc)}"
            return f"PostgreSQL connection to {self.target} failed: {_problem(exc)}"
        if sqlstate is None:
            return f"PostgreSQL client error ({name})"
        primary = exc.diag.message_primary
        if sqlstate.startswith("42") and primary:
            # Syntax and access-rule errors name schema objects (a missing table,
            # a denied permission), never bound values: worth passing on.
            return f"PostgreSQL error {sqlstate} ({name}): {primary}"
        return f"PostgreSQL error {sqlstate} ({name})"


class PostgresDriver(_PostgresDriverBase):
    """``SQLDriver`` on a psycopg ``ConnectionPool``."""

    def __init__(
        self,
        pool: _SyncPool,
        *,
        owned: bool,
        target: str,
        timeout: float,
        health: _Health | None,
    ) -> None:
        super().__init__(target, timeout, health)
        self.pool = pool
        self.owned = owned

    def _checkout(self) -> psycopg.Connection[Any]:
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
        try:
            if not conn.autocommit:
                conn.autocommit = True
                switched = True
            yield conn
        finally:
            if switched and not conn.closed:
                try:
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        conn.rollback()
                    conn.autocommit = False
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
        row: Row | None = conn.execute(sql, params).fetchone()
        return row

    def fetch_all(
        self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]
    ) -> list[Row]:
        return conn.execute(sql, params).fetchall()

    def execute(self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> int:
        return conn.execute(sql, params).rowcount


class AsyncPostgresDriver(_PostgresDriverBase):
    """``AsyncSQLDriver`` on a psycopg ``AsyncConnectionPool``, opened on first use."""

    def __init__(
        self,
        pool: _AsyncPool,
        *,
        owned: bool,
        target: str,
        timeout: float,
        health: _Health | None,
    ) -> None:
        super().__init__(target, timeout, health)
        self.pool = pool
        self.owned = owned
        # A pool passed in is the application's to open; ours opens in the first
        # caller's event loop (an asyncio pool cannot open without one).
        self.opened = not owned
        self.closed = False
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _open(self) -> None:
        if self.closed:
            return  # getconn() then reports the closed pool
        # AsyncConnectionPool.open() takes its own lock and is a no-op once open,
        # so concurrent first calls are safe.
        await self.pool.open()
        self.loop = asyncio.get_running_loop()
        self.opened = True

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        if not self.opened:
            await self._open()
        pool = self.pool
        while True:
            conn = await pool.getconn()
            if not _looks_dead(conn):
                return conn
            try:
                await pool.check_connection(conn)
            except psycopg.Error:
                await conn.close()
                await pool.putconn(conn)
                continue
            return conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._checkout()
        switched = False
        try:
            if not conn.autocommit:
                await conn.set_autocommit(True)
                switched = True
            yield conn
        finally:
            if switched and not conn.closed:
                try:
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        await conn.rollback()
                    await conn.set_autocommit(False)
                except psycopg.Error:
                    await conn.close()
            await self.pool.putconn(conn)

    async def begin(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("BEGIN")

    async def commit(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("COMMIT")

    async def rollback(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("ROLLBACK")

    async def fetch_one(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: tuple[Any, ...]
    ) -> Row | None:
        cursor = await conn.execute(sql, params)
        row: Row | None = await cursor.fetchone()
        return row

    async def fetch_all(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: tuple[Any, ...]
    ) -> list[Row]:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()

    async def execute(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: tuple[Any, ...]
    ) -> int:
        cursor = await conn.execute(sql, params)
        return cursor.rowcount


def _pool_settings(
    conninfo: str, min_size: int, max_size: int, connect_timeout: float
) -> tuple[str, dict[str, Any]]:
    """The target and the pool keyword arguments for an owned pool on ``conninfo``."""
    if not isinstance(conninfo, str):
        raise TypeError("expected a conninfo string or URL, or a psycopg_pool pool of the flavour")
    try:
        conninfo_to_dict(conninfo)
    except psycopg.Error:
        # psycopg's message may quote part of the string, password included.
        raise DatabaseError("invalid PostgreSQL connection string") from None
    if connect_timeout <= 0:
        raise ValueError("connect_timeout must be positive")
    settings: dict[str, Any] = {
        "min_size": min_size,
        "max_size": max_size,
        # The longest a call waits for a connection, free or new.
        "timeout": connect_timeout,
        # The pool retries failed connects with doubling delays; giving up after
        # one timeout's worth keeps the gap between attempts within what a
        # waiting caller tolerates, so the first call after an outage finds the
        # server again (a later caller starts a new attempt at once).
        "reconnect_timeout": connect_timeout,
        "kwargs": {
            "autocommit": True,
            # libpq counts whole seconds, at least 2.
            "connect_timeout": max(2, math.ceil(connect_timeout)),
        },
        "name": "lucia",
    }
    return _describe_target(conninfo), settings


def _passed_pool_target(pool: _SyncPool | _AsyncPool) -> str:
    return _describe_target(pool.conninfo, pool.kwargs)


def _flows(tables: Tables) -> SQLFlows:
    return SQLFlows(Statements(POSTGRES, tables), ddl("postgres", tables))


def _driver_for(
    conninfo_or_pool: Any,
    pool_class: Any,
    driver_class: Any,
    watched_connection_class: Any,
    *,
    open_now: bool,
    min_size: int,
    max_size: int,
    connect_timeout: float,
) -> Any:
    """The driver over a pool passed in (used as is), or over a pool made from a conninfo."""
    if isinstance(conninfo_or_pool, pool_class):
        return driver_class(
            conninfo_or_pool,
            owned=False,
            target=_passed_pool_target(conninfo_or_pool),
            timeout=conninfo_or_pool.timeout,
            health=None,
        )
    target, settings = _pool_settings(conninfo_or_pool, min_size, max_size, connect_timeout)
    health = _Health()
    pool = pool_class(
        conninfo_or_pool,
        connection_class=watched_connection_class(health),
        open=open_now,
        **settings,
    )
    return driver_class(pool, owned=True, target=target, timeout=connect_timeout, health=health)


class PostgresAdapter(SQLAdapter):
    """``Adapter`` on PostgreSQL through a psycopg ``ConnectionPool``.

    ``conninfo_or_pool`` is a libpq conninfo (``"host=... dbname=..."``) or a
    ``postgresql://`` URL, from which the adapter makes (and opens) a pool of
    ``min_size`` to ``max_size`` autocommit connections that ``close()`` closes;
    a call waits at most ``connect_timeout`` seconds for a connection. Or it is
    a ``psycopg_pool.ConnectionPool`` of yours, used with its own settings and
    never closed by the adapter. The tables go into the first schema of the
    connection's ``search_path``.
    """

    driver: PostgresDriver

    def __init__(
        self,
        conninfo_or_pool: str | _SyncPool,
        *,
        tables: Tables = DEFAULT_TABLES,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
    ) -> None:
        self.tables = tables
        driver: PostgresDriver = _driver_for(
            conninfo_or_pool,
            ConnectionPool,
            PostgresDriver,
            _watched_connection_class,
            open_now=True,
            min_size=min_size,
            max_size=max_size,
            connect_timeout=connect_timeout,
        )
        super().__init__(_flows(tables), driver)

    def __repr__(self) -> str:
        return f"PostgresAdapter({self.driver.target!r})"

    @property
    def pool(self) -> _SyncPool:
        """The connection pool (yours, or the one this adapter made)."""
        return self.driver.pool

    def close(self) -> None:
        """Close the pool this adapter made; a pool you passed in stays open."""
        if self.driver.owned:
            self.driver.pool.close()


class AsyncPostgresAdapter(AsyncSQLAdapter):
    """``AsyncAdapter`` on PostgreSQL through a psycopg ``AsyncConnectionPool``.

    Takes the same arguments as ``PostgresAdapter`` (an ``AsyncConnectionPool``
    instead of a ``ConnectionPool``). A pool made from a conninfo opens in the
    event loop of the first call and belongs to that loop; close it with
    ``await adapter.aclose()`` (or ``close()`` outside the loop) before the loop
    ends: psycopg_pool's workers ignore a cancellation that lands while they
    connect, so a loop shut down around an open pool can wait forever. A pool
    you pass in must be open and stays yours.
    """

    driver: AsyncPostgresDriver

    def __init__(
        self,
        conninfo_or_pool: str | _AsyncPool,
        *,
        tables: Tables = DEFAULT_TABLES,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
    ) -> None:
        self.tables = tables
        # An AsyncConnectionPool must open inside the loop that uses it: on first use.
        driver: AsyncPostgresDriver = _driver_for(
            conninfo_or_pool,
            AsyncConnectionPool,
            AsyncPostgresDriver,
            _watched_async_connection_class,
            open_now=False,
            min_size=min_size,
            max_size=max_size,
            connect_timeout=connect_timeout,
        )
        super().__init__(_flows(tables), driver)
        self._closing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"AsyncPostgresAdapter({self.driver.target!r})"

    @property
    def pool(self) -> _AsyncPool:
        """The connection pool (yours, or the one this adapter made)."""
        return self.driver.pool

    async def aclose(self) -> None:
        """Close the pool this adapter made; a pool you passed in stays open."""
        driver = self.driver
        if not driver.owned or driver.closed:
            return
        driver.closed = True
        if driver.opened:
            await driver.pool.close()

    def close(self) -> None:
        """``aclose()`` for synchronous code (a shutdown hook, a test teardown).

        Outside the pool's event loop it runs the close to the end, in that
        loop; called from inside the running loop (where it cannot block) it
        schedules the close and returns.
        """
        driver = self.driver
        loop = driver.loop
        if not driver.owned or driver.closed:
            return
        if loop is None or loop.is_closed():
            # Never opened, or its loop is gone (and the pool's tasks with it):
            # nothing left that could run the close.
            driver.closed = True
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._closing = loop.create_task(self.aclose())
        elif loop.is_running():
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        else:
            loop.run_until_complete(self.aclose())
