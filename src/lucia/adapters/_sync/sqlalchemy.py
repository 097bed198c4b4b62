# Generated from src/lucia/adapters/_async/sqlalchemy.py by scripts/generate_sync.py: do not edit.
"""The SQLAlchemy driver, written once (the sync ``SQLAlchemyDriver`` is generated
from this file into ``lucia/adapters/_sync/sqlalchemy.py``); ``lucia.adapters.sqlalchemy``
explains the transactions and is where both are imported from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lucia.adapters._sqlalchemy_base import Connection, Engine, _DriverHooks
from lucia.adapters._sync.engine import Row


class SQLAlchemyDriver(_DriverHooks):
    """The SQL driver on an engine: one connection per adapter call, each statement
    committed on its own, the adapter's BEGIN..COMMIT one transaction."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(self.sync_engine_of(engine))
        self.engine = engine
        self._calls = engine.execution_options(**self.call_options)
        self.hide_parameters(self.sync_engine_of(self._calls))

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self._calls.connect() as conn:
            yield conn
            sync = self.sync_connection_of(conn)
            if sync is not None and self.write_pending(sync):  # the call succeeded
                conn.commit()

    def begin(self, conn: Connection) -> None:
        sync = self.sync_connection_of(conn)
        level = None if sync is None else self.isolation_for_transaction(sync)
        if level is not None:
            conn.execution_options(isolation_level=level)
        if self.begin_sql is not None:
            conn.exec_driver_sql(self.begin_sql)

    def commit(self, conn: Connection) -> None:
        conn.commit()

    def rollback(self, conn: Connection) -> None:
        conn.rollback()

    def fetch_one(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> Row | None:
        return (conn.execute(*self.bind(sql, params))).first()

    def fetch_all(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
        return list((conn.execute(*self.bind(sql, params))).all())

    def execute(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> int:
        return (conn.execute(*self.bind(sql, params))).rowcount

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        with self.connection() as conn:
            return self.fetch_one(conn, sql, params)
