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

from lucia.adapters._async.sqlite import AsyncSQLiteAdapter
from lucia.adapters._sqlite_base import AsyncSQLiteDriver, SQLiteDriver
from lucia.adapters._sync.sqlite import SQLiteAdapter
from lucia.adapters.base import publish

__all__ = ["AsyncSQLiteAdapter", "AsyncSQLiteDriver", "SQLiteAdapter", "SQLiteDriver"]

publish(__name__, AsyncSQLiteAdapter, AsyncSQLiteDriver, SQLiteAdapter, SQLiteDriver)
