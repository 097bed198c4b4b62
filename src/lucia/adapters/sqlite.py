"""SQLite, the embedded default, through the standard library's ``sqlite3``.

A file database gets one connection per thread (WAL mode, so readers never
wait for the writer), foreign keys on, and a busy timeout so concurrent
writers queue instead of failing. ``":memory:"`` or a connection you pass in is
one shared connection behind a lock. Connections run in autocommit mode; the
writes that must be atomic run in ``BEGIN IMMEDIATE`` transactions.

``AsyncSQLiteAdapter`` is the same SQL adapter (``lucia.adapters._async.engine``)
on ``AsyncSQLiteDriver``: a primary-key read costs microseconds and a thread hop
tens, so reads outside a transaction run inline on the event loop; everything
that can wait on SQLite's file lock (a write, and every statement of a
transaction) runs on one writer thread, so the loop never blocks on the lock.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from lucia.adapters._async.engine import AsyncSQLAdapter
from lucia.adapters._sync.engine import SQLAdapter
from lucia.adapters.sql import DEFAULT_TABLES, SQLITE, Statements, Tables, ddl
from lucia.adapters.sql.engine import Row
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

__all__ = ["AsyncSQLiteAdapter", "AsyncSQLiteDriver", "SQLiteAdapter", "SQLiteDriver"]

P = ParamSpec("P")
R = TypeVar("R")

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

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        shared = self.shared
        if shared is None:
            # The hot path (every request's session read): this thread's connection
            # straight from the thread-local, no lock, no context manager.
            try:
                conn: sqlite3.Connection = self._local.conn
            except AttributeError:
                conn = self.local_connection()
            row: Row | None = conn.execute(sql, params).fetchone()
            return row
        with self._guard:
            row = shared.execute(sql, params).fetchone()
        return row

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
        super().__init__(Statements(SQLITE, tables), ddl("sqlite", tables), driver)

    def __repr__(self) -> str:
        return f"SQLiteAdapter({self.driver.path!r})"

    @property
    def is_shared(self) -> bool:
        """Whether all threads share one connection (``":memory:"`` or one passed in)."""
        return self.driver.shared is not None

    def close(self) -> None:
        """Close every connection this adapter opened (not one you passed in)."""
        self.driver.close()


class _Call:
    """One adapter call on ``AsyncSQLiteDriver`` (its "connection"): whether its
    statements belong to a transaction, and so run on the writer thread."""

    __slots__ = ("in_transaction",)

    def __init__(self) -> None:
        self.in_transaction = False

    async def __aenter__(self) -> _Call:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def _end_transaction(conn: sqlite3.Connection, statement: str) -> None:
    # Only when one is open: a BEGIN whose caller was cancelled still ran on the
    # writer thread, and one that failed left none.
    if conn.in_transaction:
        conn.execute(statement)


class AsyncSQLiteDriver:
    """``AsyncSQLDriver`` for SQLite, over the sync ``SQLiteDriver`` (its connections).

    Reads outside a transaction run inline on the event loop's thread. A write,
    ``BEGIN IMMEDIATE`` and every statement of a transaction run on one writer
    thread with its own connection; an ``asyncio.Lock`` keeps the transactions
    and writes of concurrent coroutines from interleaving there. ``":memory:"``
    or a connection passed in is one shared connection with no other process
    to wait for: there everything runs inline, and reads take the same lock, so
    a read never sees another coroutine's transaction half done.

    A cancelled caller's transaction is rolled back, not half kept: its
    statements and the ROLLBACK are queued on the writer thread in order, and
    the ROLLBACK runs even when the caller is gone.
    """

    def __init__(self, sync: SQLiteDriver) -> None:
        self.sync = sync
        self.shared = sync.shared is not None
        self._executor = (
            None if self.shared else ThreadPoolExecutor(1, thread_name_prefix="lucia-writer")
        )
        self._lock = asyncio.Lock()
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _loop_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to the loop it first waited in: an adapter used
        # by one loop after another (asyncio.run twice, a test per loop) gets a
        # lock per loop.
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def _write(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._executor is None:
            return fn(*args, **kwargs)
        # Submitted at once: if the caller is cancelled while waiting, the statement
        # still runs, in order, before whatever is queued after it (a ROLLBACK).
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def _writer_execute(self, sql: str, params: tuple[Any, ...]) -> int:
        sync = self.sync  # on the writer thread: its own connection
        return sync.execute(sync.local_connection(), sql, params)

    def _writer_fetch_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        sync = self.sync
        return sync.fetch_one(sync.local_connection(), sql, params)

    def _writer_fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        sync = self.sync
        return sync.fetch_all(sync.local_connection(), sql, params)

    def _writer_statement(self, statement: str) -> None:
        self.sync.local_connection().execute(statement)

    def _writer_end(self, statement: str) -> None:
        _end_transaction(self.sync.local_connection(), statement)

    def connection(self) -> _Call:
        return _Call()

    async def begin(self, conn: _Call) -> None:
        lock = self._loop_lock()
        await lock.acquire()
        try:
            await self._write(self._writer_statement, "BEGIN IMMEDIATE")
        except BaseException:
            try:
                # Cancelled while BEGIN was queued: it runs all the same; end it.
                await asyncio.shield(self._write(self._writer_end, "ROLLBACK"))
            finally:
                lock.release()
            raise
        conn.in_transaction = True

    async def _end(self, conn: _Call, statement: str) -> None:
        conn.in_transaction = False
        try:
            await self._write(self._writer_end, statement)
        finally:
            self._lock.release()

    async def commit(self, conn: _Call) -> None:
        await self._end(conn, "COMMIT")

    async def rollback(self, conn: _Call) -> None:
        await self._end(conn, "ROLLBACK")

    async def fetch_one(self, conn: _Call, sql: str, params: tuple[Any, ...]) -> Row | None:
        if conn.in_transaction:
            return await self._write(self._writer_fetch_one, sql, params)
        if self.shared:
            async with self._loop_lock():
                return self.sync.fetch_one(self.sync.local_connection(), sql, params)
        return self.sync.fetch_one(self.sync.local_connection(), sql, params)

    async def fetch_all(self, conn: _Call, sql: str, params: tuple[Any, ...]) -> list[Row]:
        if conn.in_transaction:
            return await self._write(self._writer_fetch_all, sql, params)
        if self.shared:
            async with self._loop_lock():
                return self.sync.fetch_all(self.sync.local_connection(), sql, params)
        return self.sync.fetch_all(self.sync.local_connection(), sql, params)

    async def execute(self, conn: _Call, sql: str, params: tuple[Any, ...]) -> int:
        if conn.in_transaction:
            return await self._write(self._writer_execute, sql, params)
        async with self._loop_lock():  # never inside another coroutine's transaction
            return await self._write(self._writer_execute, sql, params)

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        if self.shared:
            async with self._loop_lock():
                return self.sync.read_one(sql, params)
        # Every request's session read: SQLiteDriver.read_one inlined (a call less).
        try:
            conn: sqlite3.Connection = self.sync._local.conn
        except AttributeError:
            conn = self.sync.local_connection()
        row: Row | None = conn.execute(sql, params).fetchone()
        return row

    def map_error(self, exc: BaseException) -> Exception | None:
        return self.sync.map_error(exc)

    def close(self) -> None:
        """Stop the writer thread (after the writes under way) and close the connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.sync.close()


class AsyncSQLiteAdapter(AsyncSQLAdapter):
    """``AsyncAdapter`` on SQLite: reads on the event loop, writes on one writer thread.

    Takes the same arguments as ``SQLiteAdapter``. An in-memory database (or a
    connection you pass in) has no other process to wait for, so its writes run
    inline too. ``sync`` is a ``SQLiteAdapter`` on the same database and
    connections, for sync code next to the async app (a setup script, a CLI).
    """

    driver: AsyncSQLiteDriver

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection,
        *,
        tables: Tables = DEFAULT_TABLES,
        timeout: float = 10.0,
    ) -> None:
        self.tables = tables
        self.sync = SQLiteAdapter(path_or_connection, tables=tables, timeout=timeout)
        super().__init__(self.sync.q, self.sync.ddl, AsyncSQLiteDriver(self.sync.driver))

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"

    @property
    def is_shared(self) -> bool:
        """Whether every call shares one connection (``":memory:"`` or one passed in)."""
        return self.driver.shared

    def close(self) -> None:
        """Stop the writer thread (after the writes under way) and close every
        connection this adapter opened (not one you passed in)."""
        self.driver.close()
