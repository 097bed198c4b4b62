"""What lucia's SQLite adapters are built on: the sync driver (thread-local
connections, or one shared behind a lock), the async driver over it (reads
inline, writes on one writer thread), both written by hand because they differ
in how they wait; and what the async adapter has beyond the sync one.
``lucia.adapters.sqlite`` documents them; the adapters are written once in
``lucia/adapters/_async/sqlite.py``.
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
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from lucia.adapters._sync.engine import SQLAdapter
from lucia.adapters.base import AsyncClosing, Closing
from lucia.adapters.sql import SQLITE, Statements, Tables, ddl
from lucia.adapters.sql.engine import Row
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

if TYPE_CHECKING:
    from lucia.adapters._sync.sqlite import SQLiteAdapter

P = ParamSpec("P")
R = TypeVar("R")

_FOREIGN_KEY_FAILED = 787  # SQLITE_CONSTRAINT_FOREIGNKEY

# One of SQLiteDriver's statement methods: (connection, sql, params) -> result.
_Statement = Callable[[sqlite3.Connection, str, tuple[Any, ...]], R]


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

    @classmethod
    def open(
        cls, path_or_connection: str | os.PathLike[str] | sqlite3.Connection, timeout: float
    ) -> SQLiteDriver:
        """The driver on ``path_or_connection``; SQLite's own errors as ``DatabaseError``."""
        try:
            return cls(path_or_connection, timeout)
        except sqlite3.Error as exc:
            raise DatabaseError(f"SQLite error: {exc}", cause=exc) from None

    @property
    def is_shared(self) -> bool:
        """Whether all threads share one connection (``":memory:"`` or one passed in)."""
        return self.shared is not None

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

    def local_reader(self) -> sqlite3.Cursor:
        """This thread's cursor for ``read_one``, on its connection.

        Kept, not made per read: ``Connection.execute`` makes and drops a cursor
        each time. ``read_one`` reads by a key (at most one row), and fetchone
        steps such a statement to its end, which resets it: the cursor holds no
        read snapshot between reads. A statement matching more rows would stay
        open on it, its snapshot with it, until the thread's next read.
        """
        reader: sqlite3.Cursor = self.local_connection().cursor()
        self._local.reader = reader
        return reader

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        shared = self.shared
        if shared is None:
            # The hot path (every request's session read): this thread's reading
            # cursor straight from the thread-local, no lock, no context manager.
            try:
                reader: sqlite3.Cursor = self._local.reader
            except AttributeError:
                reader = self.local_reader()
            row: Row | None = reader.execute(sql, params).fetchone()
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
        self.path = sync.path
        self.shared = self.is_shared = sync.shared is not None
        self._executor = (
            None if self.shared else ThreadPoolExecutor(1, thread_name_prefix="lucia-writer")
        )
        self._lock = asyncio.Lock()
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def open(
        cls, path_or_connection: str | os.PathLike[str] | sqlite3.Connection, timeout: float
    ) -> AsyncSQLiteDriver:
        """The driver on ``path_or_connection`` (``SQLiteDriver.open``)."""
        return cls(SQLiteDriver.open(path_or_connection, timeout))

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

    def _here(self, run: _Statement[R], sql: str, params: tuple[Any, ...]) -> R:
        """``run`` (one of ``SQLiteDriver``'s statement methods) on this thread's
        connection: the writer's own, on the writer thread."""
        return run(self.sync.local_connection(), sql, params)

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

    async def _read(self, conn: _Call, run: _Statement[R], sql: str, params: tuple[Any, ...]) -> R:
        """A read: on the writer thread inside a transaction (which it holds); under
        the lock on a shared connection; else inline."""
        if conn.in_transaction:
            return await self._write(self._here, run, sql, params)
        if self.shared:
            async with self._loop_lock():
                return self._here(run, sql, params)
        return self._here(run, sql, params)

    async def fetch_one(self, conn: _Call, sql: str, params: tuple[Any, ...]) -> Row | None:
        return await self._read(conn, self.sync.fetch_one, sql, params)

    async def fetch_all(self, conn: _Call, sql: str, params: tuple[Any, ...]) -> list[Row]:
        return await self._read(conn, self.sync.fetch_all, sql, params)

    async def execute(self, conn: _Call, sql: str, params: tuple[Any, ...]) -> int:
        if conn.in_transaction:
            return await self._write(self._here, self.sync.execute, sql, params)
        async with self._loop_lock():  # never inside another coroutine's transaction
            return await self._write(self._here, self.sync.execute, sql, params)

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        if self.shared:
            async with self._loop_lock():
                return self.sync.read_one(sql, params)
        # Every request's session read: on the event loop, as a short read is.
        return self.sync.read_one(sql, params)

    def map_error(self, exc: BaseException) -> Exception | None:
        return self.sync.map_error(exc)

    def close(self) -> None:
        """Stop the writer thread (after the writes under way) and close the connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.sync.close()


class _SQLiteAdapterHooks(Closing):
    """The sync adapter's closing: ``close()`` (written once, with the adapter)."""


class _AsyncSQLiteAdapterHooks(AsyncClosing):
    """What the async adapter has beyond the sync one: ``close()`` for sync code
    (``aclose()`` is written once, with the adapter), and ``sync``."""

    driver: AsyncSQLiteDriver
    tables: Tables

    def close(self) -> None:
        """Stop the writer thread (after the writes under way) and close every
        connection this adapter opened (not one you passed in)."""
        self.driver.close()

    @functools.cached_property
    def sync(self) -> SQLiteAdapter:
        """A ``SQLiteAdapter`` on the same database and connections, for sync code
        next to the async app (a setup script, a CLI)."""
        from lucia.adapters._sync.sqlite import SQLiteAdapter  # imports this module

        adapter = object.__new__(SQLiteAdapter)
        adapter.tables = self.tables
        SQLAdapter.__init__(
            adapter, Statements(SQLITE, self.tables), ddl("sqlite", self.tables), self.driver.sync
        )
        return adapter
