"""SQLite, the embedded default, through the standard library's ``sqlite3``.

A file database gets one connection per thread (WAL mode, so readers never
wait for the writer), foreign keys on, and a busy timeout so concurrent
writers queue instead of failing. ``":memory:"`` or a connection you pass in is
one shared connection behind a lock. Connections run in autocommit mode; the
writes that must be atomic run in ``BEGIN IMMEDIATE`` transactions.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from lucia.adapters._sync_backed import SyncBackedAsyncAdapter
from lucia.adapters.base import SessionRecord, UserRecord
from lucia.adapters.sql import DEFAULT_TABLES, SQLITE, Statements, Tables, ddl
from lucia.adapters.sql.engine import Row, SQLAdapter, SQLFlows
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

__all__ = ["AsyncSQLiteAdapter", "SQLiteAdapter"]

_FOREIGN_KEY_FAILED = 787  # SQLITE_CONSTRAINT_FOREIGNKEY


class SQLiteDriver:
    """``SQLDriver`` for ``sqlite3``: thread-local connections, or one shared behind a lock."""

    def __init__(
        self, path_or_connection: str | os.PathLike[str] | sqlite3.Connection, timeout: float
    ) -> None:
        self.timeout = timeout
        self._opened: list[sqlite3.Connection] = []
        self._local = threading.local()
        self.shared: sqlite3.Connection | None = None
        self._guard: AbstractContextManager[Any] = nullcontext()
        if isinstance(path_or_connection, sqlite3.Connection):
            self.path = "<connection>"
            self.shared = path_or_connection
            self._configure(path_or_connection)
        else:
            self.path = os.fspath(path_or_connection)
            if self.path == ":memory:" or self.path.startswith("file::memory:"):
                self.shared = self._connect()
        if self.shared is not None:
            # One connection used by several threads: transactions must not interleave.
            self._guard = threading.RLock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=self.path.startswith("file:"),
        )
        self._configure(conn)
        self._opened.append(conn)
        return conn

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.isolation_level = None
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if self.shared is None and self.path != "<connection>":
            # WAL: readers never block the writer nor the writer readers. NORMAL
            # sync is durable across application crashes and never corrupts; a
            # power cut may lose the last commits, which for sessions means a
            # sign-in to repeat.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")

    def local_connection(self) -> sqlite3.Connection:
        """This thread's connection (the shared one, when there is one)."""
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            conn = self._local.conn = self.shared or self._connect()
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._guard:
            yield self.local_connection()

    def begin(self, conn: sqlite3.Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on the
        # busy timeout instead of deadlocking when both upgrade from a read.
        conn.execute("BEGIN IMMEDIATE")

    def commit(self, conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: sqlite3.Connection) -> None:
        conn.execute("ROLLBACK")

    def fetch_one(self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> Row | None:
        row: Row | None = conn.execute(sql, params).fetchone()
        return row

    def fetch_all(self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
        return conn.execute(sql, params).fetchall()

    def execute(self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
        return conn.execute(sql, params).rowcount

    def map_error(self, exc: BaseException) -> Exception | None:
        if isinstance(exc, sqlite3.IntegrityError):
            if getattr(exc, "sqlite_errorcode", None) == _FOREIGN_KEY_FAILED:
                return UserNotFoundError()
            if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                return DuplicateKeyError()
        if isinstance(exc, sqlite3.Error):
            # SQLite's messages name the failure (locked, no such table, disk
            # I/O), never the bound values, so they are safe to pass on.
            return DatabaseError(f"SQLite error: {exc}", cause=exc)
        return None

    def close(self) -> None:
        for conn in self._opened:
            conn.close()
        self._opened.clear()
        self._local = threading.local()


class SQLiteAdapter(SQLAdapter):
    """``Adapter`` on a SQLite file (or ``":memory:"``, or a ``sqlite3.Connection``).

    A connection you pass in is switched to autocommit mode with foreign keys on.
    """

    driver: SQLiteDriver

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection,
        *,
        tables: Tables = DEFAULT_TABLES,
        timeout: float = 10.0,
    ) -> None:
        self.tables = tables
        try:
            driver = SQLiteDriver(path_or_connection, timeout)
        except sqlite3.Error as exc:
            raise DatabaseError(f"SQLite error: {exc}", cause=exc) from None
        super().__init__(SQLFlows(Statements(SQLITE, tables), ddl("sqlite", tables)), driver)
        # Looked up once: get_session_and_user runs on every request.
        self._session_and_user_sql = self.flows.q.get_session_and_user
        self._session_and_user_from_row = self.flows.q.session_and_user_from_row

    def __repr__(self) -> str:
        return f"SQLiteAdapter({self.driver.path!r})"

    @property
    def is_shared(self) -> bool:
        """Whether all threads share one connection (``":memory:"`` or one passed in)."""
        return self.driver.shared is not None

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        # Every request runs this: a primary-key read needs neither the flow
        # machinery nor the lock of a shared connection, so the usual thread-local
        # case goes straight to the connection.
        driver = self.driver
        if driver.shared is not None:
            return super().get_session_and_user(session_id)
        try:
            row = (
                driver.local_connection()
                .execute(self._session_and_user_sql, (session_id,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise DatabaseError(f"SQLite error: {exc}", cause=exc) from None
        return None if row is None else self._session_and_user_from_row(row)

    def close(self) -> None:
        """Close every connection this adapter opened (not one you passed in)."""
        self.driver.close()


class AsyncSQLiteAdapter(SyncBackedAsyncAdapter):
    """``AsyncAdapter`` on SQLite: reads on the event loop, writes on one writer thread.

    Takes the same arguments as ``SQLiteAdapter``. An in-memory database (or a
    connection you pass in) has no other process to wait for, so its writes run
    inline too.
    """

    sync: SQLiteAdapter

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection,
        *,
        tables: Tables = DEFAULT_TABLES,
        timeout: float = 10.0,
    ) -> None:
        sync = SQLiteAdapter(path_or_connection, tables=tables, timeout=timeout)
        super().__init__(sync, writes_in_thread=not sync.is_shared)

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"
