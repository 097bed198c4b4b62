"""PostgreSQL through psycopg 3 and psycopg_pool.

``PostgresAdapter`` and ``AsyncPostgresAdapter`` are the shared SQL adapter on a
connection pool: one they create from a conninfo (and close), or one you pass
in (used as is and never closed). Every call borrows a connection in
autocommit mode, so the adapter's own BEGIN/COMMIT delimit the transactions; a
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
server that is gone; its connections carry a ``statement_timeout`` (5 s) and
TCP keepalives (``connection_kwargs``), so a statement stuck on a lock or a
slow server ends after the timeout, and a host that vanished mid-call is
noticed within about 25 s instead of when TCP gives up. A server process that
is frozen answers neither: a call that holds its connection for
``statement_timeout`` + CUT_GRACE has it cut by lucia (``_Deadlines``).

The driver pair is written once (``lucia/adapters/_async/postgres.py``, the sync
one generated from it); what they share without I/O is in ``_postgres_base``.
"""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool, ConnectionPool

from lucia.adapters._async.postgres import AsyncPostgresDriver
from lucia.adapters._postgres_base import (
    CUT_GRACE,
    KEEPALIVES_IDLE,
    POSTGRES,
    STATEMENT_TIMEOUT,
    _AsyncPool,
    _driver_for,
    _SyncPool,
    _watched_async_connection_class,
    _watched_connection_class,
    connection_kwargs,
)
from lucia.adapters._sync.postgres import PostgresDriver
from lucia.adapters.sql import DEFAULT_TABLES, Statements, Tables, ddl
from lucia.adapters.sql.engine import AsyncSQLAdapter, SQLAdapter

__all__ = [
    "CUT_GRACE",
    "KEEPALIVES_IDLE",
    "POSTGRES",
    "STATEMENT_TIMEOUT",
    "AsyncPostgresAdapter",
    "AsyncPostgresDriver",
    "PostgresAdapter",
    "PostgresDriver",
    "connection_kwargs",
]

# The driver pair is generated (lucia.adapters._async/_sync.postgres); public here.
AsyncPostgresDriver.__module__ = PostgresDriver.__module__ = __name__


def _statements(tables: Tables) -> tuple[Statements, list[str]]:
    return Statements(POSTGRES, tables), ddl("postgres", tables)


class PostgresAdapter(SQLAdapter):
    """``Adapter`` on PostgreSQL through a psycopg ``ConnectionPool``.

    ``conninfo_or_pool`` is a libpq conninfo (``"host=... dbname=..."``) or a
    ``postgresql://`` URL, from which the adapter makes (and opens) a pool of
    ``min_size`` to ``max_size`` autocommit connections that ``close()`` closes;
    a call waits at most ``connect_timeout`` seconds for a connection, and the
    connections carry ``statement_timeout`` and TCP keepalives
    (``keepalives_idle``; see ``connection_kwargs``). Or it is a
    ``psycopg_pool.ConnectionPool`` of yours, used with its own settings (lucia
    sets nothing on its connections: build it with ``kwargs=connection_kwargs()``
    for the same bounds) and never closed by the adapter. The tables go into the
    first schema of the connection's ``search_path``.
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
        statement_timeout: float | None = STATEMENT_TIMEOUT,
        keepalives_idle: int | None = KEEPALIVES_IDLE,
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
            statement_timeout=statement_timeout,
            keepalives_idle=keepalives_idle,
        )
        super().__init__(*_statements(tables), driver)

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
        statement_timeout: float | None = STATEMENT_TIMEOUT,
        keepalives_idle: int | None = KEEPALIVES_IDLE,
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
            statement_timeout=statement_timeout,
            keepalives_idle=keepalives_idle,
        )
        super().__init__(*_statements(tables), driver)
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
