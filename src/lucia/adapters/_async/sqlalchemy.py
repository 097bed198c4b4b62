"""The SQLAlchemy adapter and driver, written once (the sync ``SQLAlchemyAdapter``
and ``SQLAlchemyDriver`` are generated from this file into
``lucia/adapters/_sync/sqlalchemy.py``); ``lucia.adapters.sqlalchemy`` explains
the transactions and is where both flavours are imported from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData

from lucia.adapters._async.engine import AsyncSQLAdapter, Row
from lucia.adapters._sqlalchemy_base import (
    AsyncConnection,
    AsyncEngine,
    _AsyncDriverHooks,
    _create_tables,
    _resolve_tables,
    _statements,
)
from lucia.adapters.sql import DEFAULT_TABLES, Tables


class AsyncSQLAlchemyDriver(_AsyncDriverHooks):
    """The SQL driver on an engine: one connection per adapter call, each statement
    committed on its own, the adapter's BEGIN..COMMIT one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(self.sync_engine_of(engine))
        self.engine = engine
        self._calls = engine.execution_options(**self.call_options)
        self.hide_parameters(self.sync_engine_of(self._calls))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        async with self._calls.connect() as conn:
            yield conn
            sync = self.sync_connection_of(conn)
            if sync is not None and self.write_pending(sync):  # the call succeeded
                await conn.commit()

    async def begin(self, conn: AsyncConnection) -> None:
        sync = self.sync_connection_of(conn)
        level = None if sync is None else self.isolation_for_transaction(sync)
        if level is not None:
            await conn.execution_options(isolation_level=level)
        if self.begin_sql is not None:
            await conn.exec_driver_sql(self.begin_sql)

    async def commit(self, conn: AsyncConnection) -> None:
        await conn.commit()

    async def rollback(self, conn: AsyncConnection) -> None:
        await conn.rollback()

    async def fetch_one(
        self, conn: AsyncConnection, sql: str, params: tuple[Any, ...]
    ) -> Row | None:
        return (await conn.execute(*self.bind(sql, params))).first()

    async def fetch_all(
        self, conn: AsyncConnection, sql: str, params: tuple[Any, ...]
    ) -> list[Row]:
        return list((await conn.execute(*self.bind(sql, params))).all())

    async def execute(self, conn: AsyncConnection, sql: str, params: tuple[Any, ...]) -> int:
        return (await conn.execute(*self.bind(sql, params))).rowcount

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        async with self.connection() as conn:
            return await self.fetch_one(conn, sql, params)


class AsyncSQLAlchemyAdapter(AsyncSQLAdapter):
    """``Adapter`` on a SQLAlchemy engine of its flavour (an ``AsyncEngine`` for the
    async adapter), on any database it supports (see ``lucia.adapters.sqlalchemy``).

    ``tables`` names the tables; ``metadata`` is the ``MetaData`` to define them
    in (by default this module's ``metadata`` for the default names, or a new one).
    The engine stays yours: the adapter never disposes of it (closing it
    releases nothing).
    """

    driver: AsyncSQLAlchemyDriver

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        tables: Tables = DEFAULT_TABLES,
        metadata: MetaData | None = None,
    ) -> None:
        self.tables = tables
        self.metadata, self.table_objects = _resolve_tables(tables, metadata)
        driver = AsyncSQLAlchemyDriver(engine)
        # The DDL comes from the Table objects (create_tables is overridden), not
        # from the .sql files.
        super().__init__(_statements(driver, tables), [], driver)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.driver.engine.url.render_as_string()!r})"

    async def create_tables(self) -> None:
        """Create the tables and indexes that are missing (``metadata.create_all``);
        ``TableConflictError``, creating nothing, when another app's table has one
        of their names."""
        try:
            async with self.driver.engine.begin() as conn:
                await self.driver.run_ddl(conn, _create_tables, self.metadata, self.table_objects)
        except Exception as exc:
            failure = self.driver.map_error(exc)
            if failure is None:
                raise
            raise failure from None
