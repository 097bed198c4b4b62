"""examples/databases: each script the database pages of the docs show, run against
the real servers (this run's schema, database and key prefix).

Each script asserts as it goes (a session validates, a signed-out one does not,
MySQL keys are case-sensitive...), so running it is the test; the tables are
then checked from outside, so a script that silently did nothing would fail.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest

from tests.examples.conftest import load_example


def test_sqlite_example(tmp_path: Path) -> None:
    example = load_example("databases/sqlite.py")
    database = tmp_path / "app.sqlite3"
    example.main(str(database))
    asyncio.run(example.amain(str(database)))
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {"auth_user", "auth_key", "auth_session"} <= tables
        # Both users were deleted at the end, with their keys and sessions.
        assert conn.execute("SELECT count(*) FROM auth_key").fetchone() == (0,)


@pytest.fixture
def example_conninfo(postgres_conninfo: str) -> Iterator[str]:
    """A schema of the example's own: the script's fixed emails collide with nothing."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"lucia_example_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(postgres_conninfo, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(postgres_conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_postgres_example(example_conninfo: str) -> None:
    import psycopg

    example = load_example("databases/postgres.py")
    example.main(example_conninfo)
    asyncio.run(example.amain(example_conninfo))
    with psycopg.connect(example_conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM auth_user").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM auth_session").fetchone() == (0,)


@pytest.fixture
def example_mysql_url(mysql_url: str) -> Iterator[str]:
    """A database of the example's own, next to this run's."""
    import pymysql

    parts = urlsplit(mysql_url)
    name = f"lucia_example_{secrets.token_hex(4)}"
    params = {"host": parts.hostname, "port": parts.port or 3306, "user": parts.username or "root"}
    if parts.password:
        params["password"] = unquote(parts.password)
    conn = pymysql.connect(**params, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        yield urlunsplit(parts._replace(path=f"/{name}"))
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name}")
    finally:
        conn.close()


# The adapter's idempotent CREATE TABLE IF NOT EXISTS makes MariaDB note "already exists".
@pytest.mark.filterwarnings("ignore:Table .* already exists")
def test_mysql_example(example_mysql_url: str) -> None:
    example = load_example("databases/mysql.py")
    example.main(example_mysql_url)
    asyncio.run(example.amain(example_mysql_url))


def test_redis_example(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    import redis

    example = load_example("databases/redis_sessions.py")
    database = str(tmp_path / "users.sqlite3")
    example.main(redis_url, database, prefix=redis_prefix)
    asyncio.run(example.amain(redis_url, database, prefix=redis_prefix))
    client = redis.Redis.from_url(redis_url)
    try:
        # Every session the script made was revoked or deleted with its user.
        assert list(client.scan_iter(f"{redis_prefix}session:*")) == []
    finally:
        client.close()


def test_sqlalchemy_example(tmp_path: Path) -> None:
    pytest.importorskip("aiosqlite")
    example = load_example("databases/sqlalchemy_engine.py")
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    example.main(url)
    asyncio.run(example.amain(url.replace("sqlite://", "sqlite+aiosqlite://", 1)))
    with sqlite3.connect(tmp_path / "app.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM auth_user").fetchone() == (0,)
