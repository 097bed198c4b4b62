"""The SQLAlchemy driver, written once (the sync ``SQLAlchemyDriver`` is generated
from this file into ``lucia/adapters/_sync/sqlalchemy.py``); ``lucia.adapters.sqlalchemy``
explains the transactions and is where both are imported from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lucia.adapters._async.engine import Row
from lucia.adapters._sqlalchemy_base import AsyncConnection, AsyncEngine, _AsyncDriverHooks


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
