"""The SQLite adapter, written once (the sync ``SQLiteAdapter`` is generated from
this file into ``lucia/adapters/_sync/sqlite.py``); ``lucia.adapters.sqlite``
documents both and is where they are imported from. The drivers, which differ
in how they wait, are in ``_sqlite_base``.
"""

from __future__ import annotations

import os
import sqlite3

from lucia.adapters._async.engine import AsyncSQLAdapter
from lucia.adapters._sqlite_base import AsyncSQLiteDriver, _AsyncSQLiteAdapterHooks
from lucia.adapters.sql import DEFAULT_TABLES, SQLITE, Statements, Tables, ddl


class AsyncSQLiteAdapter(_AsyncSQLiteAdapterHooks, AsyncSQLAdapter):
    """``Adapter`` on a SQLite file (or ``":memory:"``, or a ``sqlite3.Connection``).

    A connection you pass in is switched to autocommit mode with foreign keys
    on. The async adapter reads on the event loop and writes on one writer
    thread; an in-memory database (or a connection you pass in) has no other
    process to wait for, so its writes run inline too. Its ``sync`` is a sync
    adapter on the same database and connections, for sync code next to the
    async app (a setup script, a CLI).
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
        driver = AsyncSQLiteDriver.open(path_or_connection, timeout)
        super().__init__(Statements(SQLITE, tables), ddl("sqlite", tables), driver)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.driver.path!r})"

    @property
    def is_shared(self) -> bool:
        """Whether every call shares one connection (``":memory:"`` or one passed in)."""
        return self.driver.is_shared

    async def aclose(self) -> None:
        """Close every connection this adapter opened (not one you passed in), after
        the writes under way."""
        self.driver.close()
