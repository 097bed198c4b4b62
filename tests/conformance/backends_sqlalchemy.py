"""Conformance backends on SQLAlchemy: SQLite files and PostgreSQL, sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, delete
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lucia.adapters.sql import DEFAULT_TABLES, Tables
from lucia.adapters.sqlalchemy import AsyncSQLAlchemyAdapter, SQLAlchemyAdapter
from tests.conformance.model import Backend, Stores

# Distinct from the plain PostgreSQL adapter's tables, which live in the same
# per-run schema.
POSTGRES_TABLES = Tables("sa_user", "sa_key", "sa_session", "sa_token")


def postgres_url(conninfo: str) -> URL:
    """A ``postgresql+psycopg`` URL with every part of a libpq conninfo (its
    ``options``, and so the run's search_path, included)."""
    from psycopg.conninfo import conninfo_to_dict

    params = {key: str(value) for key, value in conninfo_to_dict(conninfo).items()}
    port = params.pop("port", None)
    return URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        query=params,
    )


def _empty(engine: Engine, adapter: SQLAlchemyAdapter) -> None:
    with engine.begin() as conn:
        for table in reversed(adapter.table_objects.all()):
            conn.execute(delete(table))


_WAIT = {"timeout": 30}


@contextmanager
def _sqlite(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    # SQLite's 5 s lock wait is pysqlite's default; lucia's own SQLiteAdapter waits
    # 10 s. 1,000 concurrent writers on a busy 2-core machine can wait longer.
    engine = create_engine(f"sqlite:///{tmp / 'lucia.sqlite3'}", connect_args=_WAIT)
    try:
        adapter = SQLAlchemyAdapter(engine)
        adapter.create_tables()
        yield Stores(adapter)
    finally:
        engine.dispose()


@contextmanager
def _async_sqlite(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    _prepare(f"sqlite:///{tmp / 'lucia.sqlite3'}")
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp / 'lucia.sqlite3'}", connect_args=_WAIT)
    try:
        yield Stores(AsyncSQLAlchemyAdapter(engine))
    finally:
        _dispose(engine)


@contextmanager
def _postgres(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    url = postgres_url(request.getfixturevalue("postgres_conninfo"))
    engine = create_engine(url)
    try:
        adapter = SQLAlchemyAdapter(engine, tables=POSTGRES_TABLES)
        adapter.create_tables()
        _empty(engine, adapter)
        yield Stores(adapter)
    finally:
        engine.dispose()


@contextmanager
def _async_postgres(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    url = postgres_url(request.getfixturevalue("postgres_conninfo"))
    _prepare(url, POSTGRES_TABLES)
    engine = create_async_engine(url)
    try:
        yield Stores(AsyncSQLAlchemyAdapter(engine, tables=POSTGRES_TABLES))
    finally:
        _dispose(engine)


def _prepare(url: str | URL, tables: Tables = DEFAULT_TABLES) -> None:
    # The async engine's connections belong to the test's event loop, which is
    # not running yet: the tables are made and emptied through a sync engine.
    engine = create_engine(url)
    try:
        adapter = SQLAlchemyAdapter(engine, tables=tables)
        adapter.create_tables()
        _empty(engine, adapter)
    finally:
        engine.dispose()


def _dispose(engine: AsyncEngine) -> None:
    # Called after the test's event loop has finished: closing the pooled
    # connections needs a loop of its own.
    asyncio.run(engine.dispose())


BACKENDS: list[Backend] = [
    Backend("sqlalchemy-sqlite", False, _sqlite),
    Backend("sqlalchemy-sqlite", True, _async_sqlite),
    Backend("sqlalchemy-postgres", False, _postgres),
    Backend("sqlalchemy-postgres", True, _async_postgres),
]
