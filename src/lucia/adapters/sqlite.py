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
from datetime import datetime
from typing import Any

from lucia.adapters._sync_backed import SyncBackedAsyncAdapter
from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.adapters.sql import (
    DEFAULT_TABLES,
    SQLITE,
    Statements,
    Tables,
    ddl,
    decode_json,
    encode_json,
)
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

__all__ = ["AsyncSQLiteAdapter", "SQLiteAdapter"]

_FOREIGN_KEY_FAILED = 787  # SQLITE_CONSTRAINT_FOREIGNKEY


class SQLiteAdapter:
    """``Adapter`` on a SQLite file (or ``":memory:"``, or a ``sqlite3.Connection``)."""

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection,
        *,
        tables: Tables = DEFAULT_TABLES,
        timeout: float = 10.0,
    ) -> None:
        self.tables = tables
        self._q = Statements(SQLITE, tables)
        self._timeout = timeout
        self._all: list[sqlite3.Connection] = []
        self._shared: sqlite3.Connection | None = None
        self._local = threading.local()
        self._guard: AbstractContextManager[Any] = nullcontext()
        if isinstance(path_or_connection, sqlite3.Connection):
            self._path = "<connection>"
            self._shared = path_or_connection
            self._configure(path_or_connection)
        else:
            self._path = os.fspath(path_or_connection)
            if self._path == ":memory:" or self._path.startswith("file::memory:"):
                self._shared = self._connect()
        if self._shared is not None:
            # One connection used by several threads: transactions must not interleave.
            self._guard = threading.RLock()

    def __repr__(self) -> str:
        return f"SQLiteAdapter({self._path!r})"

    # Connections

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=self._path.startswith("file:"),
            )
            self._configure(conn)
        except sqlite3.Error as exc:
            raise _database_error(exc) from None
        self._all.append(conn)
        return conn

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.isolation_level = None
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        if self._path not in (":memory:", "<connection>"):
            # WAL: readers never block the writer nor the writer readers. NORMAL
            # sync is durable across application crashes and never corrupts; a
            # power cut may lose the last commits, which for sessions means a
            # sign-in to repeat.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")

    def _conn(self) -> sqlite3.Connection:
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            conn = self._local.conn = self._shared or self._connect()
        return conn

    def close(self) -> None:
        """Close every connection this adapter opened (not one you passed in)."""
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._local = threading.local()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two writers queue on the
        # busy timeout instead of deadlocking when both upgrade from a read.
        with self._guard:
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _database_error(exc) from None
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._guard:
            try:
                return self._conn().execute(sql, params).fetchone()
            except sqlite3.Error as exc:
                raise _database_error(exc) from None

    def _all_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._guard:
            try:
                return self._conn().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _database_error(exc) from None

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._guard:
            try:
                return self._conn().execute(sql, params).rowcount
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc) from None
            except sqlite3.Error as exc:
                raise _database_error(exc) from None

    # Adapter

    def create_tables(self) -> None:
        with self._transaction() as conn:
            for statement in ddl("sqlite", self.tables):
                conn.execute(statement)

    def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        try:
            with self._transaction() as conn:
                conn.execute(self._q.insert_user, self._q.user_params(user, created_at))
                conn.execute(self._q.insert_key, self._q.key_params(key))
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(exc) from None
        except sqlite3.Error as exc:
            raise _database_error(exc) from None

    def get_user(self, user_id: str) -> UserRecord | None:
        row = self._one(self._q.get_user, (user_id,))
        return None if row is None else self._q.user_from_row(row)

    def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        row = self._one(self._q.get_user_by_key, (provider_id, provider_user_id))
        if row is None:
            return None
        return self._q.user_and_key_from_row(row, provider_id, provider_user_id)

    def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> UserRecord | None:
        try:
            with self._transaction() as conn:
                row = conn.execute(self._q.lock_user_attributes, (user_id,)).fetchone()
                if row is None:
                    return None
                merged = decode_json(row[0]) | attributes
                conn.execute(self._q.update_user_attributes, (encode_json(merged), user_id))
        except sqlite3.Error as exc:
            raise _database_error(exc) from None
        return UserRecord(user_id, merged)

    def delete_user(self, user_id: str) -> None:
        self._write(self._q.delete_user, (user_id,))

    def insert_key(self, key: KeyRecord) -> None:
        self._write(self._q.insert_key, self._q.key_params(key))

    def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        return [
            self._q.key_from_row(row) for row in self._all_rows(self._q.get_user_keys, (user_id,))
        ]

    def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        params = (hashed_password, provider_id, provider_user_id)
        return self._write(self._q.update_key_password, params) > 0

    def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        return self._write(self._q.delete_key, (provider_id, provider_user_id)) > 0

    def insert_session(self, session: SessionRecord) -> None:
        self._write(self._q.insert_session, self._q.session_params(session))

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self._one(self._q.get_session, (session_id,))
        return None if row is None else self._q.session_from_row(row)

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        # The hot path of every request: _one() inlined, and no guard to enter for
        # the usual thread-local connection.
        try:
            if self._shared is None:
                try:
                    conn: sqlite3.Connection = self._local.conn
                except AttributeError:
                    conn = self._conn()
                row = conn.execute(self._q.get_session_and_user, (session_id,)).fetchone()
            else:
                row = self._one(self._q.get_session_and_user, (session_id,))
        except sqlite3.Error as exc:
            raise _database_error(exc) from None
        return None if row is None else self._q.session_and_user_from_row(row)

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        rows = self._all_rows(self._q.get_user_sessions, (user_id,))
        return [self._q.session_from_row(row) for row in rows]

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        self._write(self._q.update_session_expiry, (SQLITE.encode_time(expires_at), session_id))

    def delete_session(self, session_id: str) -> None:
        self._write(self._q.delete_session, (session_id,))

    def delete_user_sessions(self, user_id: str) -> None:
        self._write(self._q.delete_user_sessions, (user_id,))

    def delete_expired_sessions(self, now: datetime) -> int:
        return self._write(self._q.delete_expired_sessions, (SQLITE.encode_time(now),))


class AsyncSQLiteAdapter(SyncBackedAsyncAdapter):
    """``AsyncAdapter`` on SQLite: reads on the event loop, writes on one writer thread.

    Takes the same arguments as ``SQLiteAdapter``. An in-memory database has no
    lock to wait on, so its writes run inline too.
    """

    def __init__(
        self,
        path_or_connection: str | os.PathLike[str] | sqlite3.Connection,
        *,
        tables: Tables = DEFAULT_TABLES,
        timeout: float = 10.0,
    ) -> None:
        sync = SQLiteAdapter(path_or_connection, tables=tables, timeout=timeout)
        super().__init__(sync, writes_in_thread=sync._shared is None)

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"


def _integrity_error(exc: sqlite3.IntegrityError) -> Exception:
    if getattr(exc, "sqlite_errorcode", None) == _FOREIGN_KEY_FAILED:
        return UserNotFoundError()
    if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
        return DuplicateKeyError()
    return _database_error(exc)


def _database_error(exc: sqlite3.Error) -> DatabaseError:
    # SQLite's messages name the failure (locked, no such table, disk I/O), never
    # the bound values, so they are safe to pass on.
    return DatabaseError(f"SQLite error: {exc}")
