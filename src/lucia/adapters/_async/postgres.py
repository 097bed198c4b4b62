"""The PostgreSQL driver, written once over psycopg's async API.

``lucia/adapters/_sync/postgres.py`` is generated from this file: psycopg's two
APIs have the same shape, so renaming the pool and connection classes is all it
takes. What differs between the flavours (when an owned pool opens, how a call
that outlives its deadline is cut) is in the per-flavour hooks of
``lucia.adapters._postgres_base``, as are the pool settings and the error
mapping, which do no I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from lucia.adapters._async.engine import Row
from lucia.adapters._postgres_base import _AsyncDriverHooks, _Health, _looks_dead


class AsyncPostgresDriver(_AsyncDriverHooks):
    """The SQL driver on a psycopg connection pool: one it made (opened when the
    hooks say so) or one passed in (used as is)."""

    def __init__(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]],
        *,
        owned: bool,
        target: str,
        timeout: float,
        health: _Health | None,
        cut_after: float | None,
    ) -> None:
        super().__init__(target, timeout, health, cut_after, owned=owned)
        self.pool = pool

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        if not self.opened:
            if self.closed:
                # Never reopened: getconn() then reports the closed pool.
                return await self.pool.getconn()
            # A no-op once open, and safe to call concurrently.
            await self.pool.open()
            self.opened_here()
        pool = self.pool
        while True:
            conn = await pool.getconn()
            if not _looks_dead(conn):
                return conn
            try:
                await pool.check_connection(conn)
            except psycopg.Error:
                # Closed, it leaves the pool for good (and is replaced) when returned.
                await conn.close()
                await pool.putconn(conn)
                continue
            return conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._checkout()
        switched = False
        watch = self.arm(conn)
        try:
            if not conn.autocommit:
                await conn.set_autocommit(True)
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
                        await conn.rollback()
                    await conn.set_autocommit(False)
                except psycopg.Error:
                    # It must not go back to the application in autocommit mode.
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

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        async with self.connection() as conn:
            return await self.fetch_one(conn, sql, params)
