# Generated from src/lucia/adapters/_async/postgres.py by scripts/generate_sync.py: do not edit.
"""The PostgreSQL driver, written once over psycopg's async API.

``lucia/adapters/_sync/postgres.py`` is generated from this file: psycopg's two
APIs have the same shape, so renaming the pool and connection classes is all it
takes. What differs between the flavours (when an owned pool opens, how a call
that outlives its deadline is cut) is in the per-flavour hooks of
``lucia.adapters._postgres_base``, as are the pool settings and the error
mapping, which do no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from lucia.adapters._postgres_base import _DriverHooks, _Health, _looks_dead
from lucia.adapters._sync.engine import Row


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
        cursor = conn.execute(sql, params)
        row: Row | None = cursor.fetchone()
        return row

    def fetch_all(
        self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]
    ) -> list[Row]:
        cursor = conn.execute(sql, params)
        return cursor.fetchall()

    def execute(self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> int:
        cursor = conn.execute(sql, params)
        return cursor.rowcount

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        with self.connection() as conn:
            return self.fetch_one(conn, sql, params)
