"""``create_tables()`` refuses another app's table under one of lucia's names.

On a Django database, ``auth_user`` is Django's (an integer id, no
``attributes``): ``CREATE TABLE IF NOT EXISTS`` used to skip it silently and
create ``auth_key`` and ``auth_session`` pointing at it. Every SQL adapter, sync
and async, now refuses with ``TableConflictError`` and creates nothing; lucia's
own tables (or other names) still work, idempotently. Each test gets a
namespace of its own on the real servers: a SQLite file, a PostgreSQL schema,
a MariaDB database.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lucia.adapters.sql import DEFAULT_TABLES, Tables
from lucia.adapters.sql.schema import COLUMNS, TableConflictError
from tests.namespaces import mysql_database, pg_schema, pg_schema_url

__all__ = ["mysql_database", "pg_schema", "pg_schema_url"]  # fixtures

# Django's auth_user, reduced to what makes it Django's.
FOREIGN_USER = (
    "CREATE TABLE auth_user (id INTEGER PRIMARY KEY, username VARCHAR(150) NOT NULL,"
    " password VARCHAR(128) NOT NULL, is_superuser BOOLEAN NOT NULL)"
)
OTHER_NAMES = Tables("lucia_user", "lucia_key", "lucia_session", "lucia_token")


@dataclass
class Namespace:
    """An empty place on one database: raw SQL outside lucia, and adapters into it."""

    execute: Callable[[str], None]
    table_names: Callable[[], set[str]]
    # (tables) -> an async context manager yielding an object with create_tables()
    adapter: Callable[[Tables], Any]


async def create_tables(adapter: Any) -> None:
    result = adapter.create_tables()
    if result is not None:
        await result


def sqlite_namespace(path: Path, flavour: str) -> Namespace:
    import sqlite3

    from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

    def execute(sql: str) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(sql)

    def table_names() -> set[str]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {row[0] for row in rows}

    @asynccontextmanager
    async def adapter(tables: Tables) -> AsyncIterator[Any]:
        made = (AsyncSQLiteAdapter if flavour == "async" else SQLiteAdapter)(path, tables=tables)
        try:
            yield made
        finally:
            made.close()

    return Namespace(execute, table_names, adapter)


def postgres_namespace(conninfo: str, flavour: str) -> Namespace:
    import psycopg

    from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter

    def execute(sql: str) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def table_names() -> set[str]:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            ).fetchall()
            return {row[0] for row in rows}

    @asynccontextmanager
    async def adapter(tables: Tables) -> AsyncIterator[Any]:
        if flavour == "async":
            made_async = AsyncPostgresAdapter(conninfo, tables=tables)
            try:
                yield made_async
            finally:
                await made_async.aclose()
        else:
            made = PostgresAdapter(conninfo, tables=tables)
            try:
                yield made
            finally:
                made.close()

    return Namespace(execute, table_names, adapter)


def mysql_namespace(url: str, flavour: str) -> Namespace:
    import pymysql

    from lucia.adapters.mysql import AsyncMySQLAdapter, MySQLAdapter

    parts = urlsplit(url)

    def connect() -> Any:
        return pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=parts.path.lstrip("/"),
            autocommit=True,
        )

    def execute(sql: str) -> None:
        with connect() as conn, conn.cursor() as cursor:
            cursor.execute(sql)

    def table_names() -> set[str]:
        with connect() as conn, conn.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            return {row[0] for row in cursor.fetchall()}

    @asynccontextmanager
    async def adapter(tables: Tables) -> AsyncIterator[Any]:
        if flavour == "async":
            made_async = AsyncMySQLAdapter(url, tables=tables)
            try:
                yield made_async
            finally:
                await made_async.aclose()
        else:
            made = MySQLAdapter(url, tables=tables)
            try:
                yield made
            finally:
                made.close()

    return Namespace(execute, table_names, adapter)


def sqlalchemy_namespace(raw: Namespace, sync_url: str, async_url: str | None) -> Namespace:
    """SQLAlchemy adapters on the database of ``raw`` (which keeps its raw SQL)."""
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine

    from lucia.adapters.sqlalchemy import AsyncSQLAlchemyAdapter, SQLAlchemyAdapter

    @asynccontextmanager
    async def adapter(tables: Tables) -> AsyncIterator[Any]:
        if async_url is not None:
            async_engine = create_async_engine(async_url)
            try:
                yield AsyncSQLAlchemyAdapter(async_engine, tables=tables)
            finally:
                await async_engine.dispose()
        else:
            engine = create_engine(sync_url)
            try:
                yield SQLAlchemyAdapter(engine, tables=tables)
            finally:
                engine.dispose()

    return Namespace(raw.execute, raw.table_names, adapter)


def django_namespace(path: Path) -> Namespace:
    """``DjangoAdapter`` on a Django database alias of its own (a SQLite file)."""
    from tests.integrations.django_project import setup

    setup()
    from django.db import connections

    from lucia.integrations.django.adapter import DjangoAdapter

    alias = f"conflicts_{secrets.token_hex(4)}"
    config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    connections.settings[alias] = connections.configure_settings({"default": config})["default"]
    raw = sqlite_namespace(path, "sync")

    @asynccontextmanager
    async def adapter(tables: Tables) -> AsyncIterator[Any]:
        try:
            yield DjangoAdapter(alias, tables=tables)
        finally:
            connections[alias].close()

    return Namespace(raw.execute, raw.table_names, adapter)


BACKENDS = [
    "sqlite",
    "sqlite-async",
    "postgres",
    "postgres-async",
    "mysql",
    "mysql-async",
    "sqlalchemy-sqlite",
    "sqlalchemy-sqlite-async",
    "sqlalchemy-postgres",
    "sqlalchemy-mysql",
    "django",
]


@pytest.fixture(params=BACKENDS)
def namespace(request: pytest.FixtureRequest, tmp_path: Path) -> Namespace:
    backend: str = request.param
    flavour = "async" if backend.endswith("-async") else "sync"
    family = backend.removesuffix("-async")
    if family == "sqlite":
        return sqlite_namespace(tmp_path / "app.db", flavour)
    if family == "django":
        # The suite's coroutines call this sync adapter on the loop's thread.
        request.getfixturevalue("monkeypatch").setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        return django_namespace(tmp_path / "app.db")
    if family == "postgres":
        return postgres_namespace(request.getfixturevalue("pg_schema"), flavour)
    if family == "mysql":
        return mysql_namespace(request.getfixturevalue("mysql_database"), flavour)
    if family == "sqlalchemy-sqlite":
        path = tmp_path / "app.db"
        async_url = f"sqlite+aiosqlite:///{path}" if flavour == "async" else None
        return sqlalchemy_namespace(sqlite_namespace(path, "sync"), f"sqlite:///{path}", async_url)
    if family == "sqlalchemy-postgres":
        conninfo = request.getfixturevalue("pg_schema")
        url = request.getfixturevalue("pg_schema_url")
        sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        return sqlalchemy_namespace(postgres_namespace(conninfo, "sync"), sa_url, None)
    url = request.getfixturevalue("mysql_database")
    sa_url = url.replace("mysql://", "mysql+pymysql://", 1)
    return sqlalchemy_namespace(mysql_namespace(url, "sync"), sa_url, None)


async def test_a_foreign_table_under_lucias_name_is_refused_and_nothing_created(
    namespace: Namespace,
) -> None:
    namespace.execute(FOREIGN_USER)
    async with namespace.adapter(DEFAULT_TABLES) as adapter:
        with pytest.raises(TableConflictError) as caught:
            await create_tables(adapter)
    error = caught.value
    assert error.table == "auth_user"
    assert error.missing == ("attributes", "created_at")
    assert "is_superuser" in {column.lower() for column in error.found}
    assert "'auth_user'" in error.message
    assert "attributes, created_at" in error.message
    assert error.code == "AUTH_TABLE_CONFLICT"
    assert namespace.table_names() == {"auth_user"}


async def test_lucias_own_tables_are_accepted_again(namespace: Namespace) -> None:
    async with namespace.adapter(DEFAULT_TABLES) as adapter:
        await create_tables(adapter)
        await create_tables(adapter)
    async with namespace.adapter(DEFAULT_TABLES) as adapter:
        await create_tables(adapter)  # a later process, the tables already there
    assert namespace.table_names() == {"auth_user", "auth_key", "auth_session", "auth_token"}


async def test_other_names_beside_a_foreign_table_are_created(namespace: Namespace) -> None:
    namespace.execute(FOREIGN_USER)
    async with namespace.adapter(OTHER_NAMES) as adapter:
        await create_tables(adapter)
        await create_tables(adapter)
    assert namespace.table_names() == {
        "auth_user",
        "lucia_user",
        "lucia_key",
        "lucia_session",
        "lucia_token",
    }


async def test_extra_columns_are_allowed_and_a_missing_token_table_is_added(
    namespace: Namespace,
) -> None:
    # A database from before the token table, whose users table the app extended.
    async with namespace.adapter(DEFAULT_TABLES) as adapter:
        await create_tables(adapter)
    namespace.execute("DROP TABLE auth_token")
    namespace.execute("ALTER TABLE auth_user ADD COLUMN nickname VARCHAR(40)")
    async with namespace.adapter(DEFAULT_TABLES) as adapter:
        await create_tables(adapter)
    assert "auth_token" in namespace.table_names()


async def test_a_foreign_session_table_is_refused_too(namespace: Namespace) -> None:
    # Not only the users table: a session table of another library (no secret_hash).
    namespace.execute(
        "CREATE TABLE auth_session (id VARCHAR(64) PRIMARY KEY, user_id VARCHAR(64),"
        " expires_at INTEGER, created_at INTEGER, attributes TEXT)"
    )
    async with namespace.adapter(DEFAULT_TABLES) as adapter:
        with pytest.raises(TableConflictError) as caught:
            await create_tables(adapter)
    assert caught.value.table == "auth_session"
    assert caught.value.missing == ("secret_hash",)
    assert namespace.table_names() == {"auth_session"}


def test_the_checked_columns_are_the_ddls(tmp_path: Path) -> None:
    # COLUMNS is written by hand: it must name exactly the columns the DDL makes.
    import sqlite3

    from lucia.adapters.sqlite import SQLiteAdapter

    adapter = SQLiteAdapter(tmp_path / "app.db")
    adapter.create_tables()
    adapter.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        for role, columns in COLUMNS.items():
            table = getattr(DEFAULT_TABLES, role)
            made = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
            assert set(made) == set(columns), table
