"""The real servers the tests talk to, each isolated per test run.

Addresses come from environment variables with local defaults:
``LUCIA_TEST_POSTGRES``, ``LUCIA_TEST_MYSQL``, ``LUCIA_TEST_REDIS``. A server
that does not answer skips its tests with the reason, except when ``CI=true``:
then it fails them, because CI must skip nothing that matters.

Isolation: PostgreSQL gets a schema of its own per run, MariaDB a database of
its own per run, Redis a key prefix of its own per run; all are removed at the
end. Runs on the same servers never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_URL = os.environ.get("LUCIA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("LUCIA_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("LUCIA_TEST_REDIS", "redis://127.0.0.1:6379/0")
RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(server: str, reason: object) -> NoReturn:
    """Skip (on a laptop) or fail (in CI) a test whose server does not answer."""
    message = f"{server} is not available ({reason}); start it with scripts/services.sh"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_conninfo() -> Iterator[str]:
    """A conninfo whose search_path is a schema made for this run (dropped afterwards)."""
    try:
        import psycopg
        from psycopg.conninfo import make_conninfo
    except ImportError as exc:
        unavailable("PostgreSQL driver", exc)
    schema = f"lucia_test_{RUN_ID}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    yield make_conninfo(POSTGRES_URL, options=f"-c search_path={schema}")
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A mysql:// URL of a database made for this run (dropped afterwards)."""
    try:
        import pymysql
    except ImportError as exc:
        unavailable("MySQL driver", exc)
    parts = urlsplit(MYSQL_URL)
    database = f"lucia_test_{RUN_ID}"

    def connect() -> pymysql.Connection:  # type: ignore[type-arg]
        return pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=5,
            autocommit=True,
        )

    try:
        with connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    except pymysql.Error as exc:
        unavailable("MariaDB/MySQL", exc)
    yield urlunsplit(parts._replace(path=f"/{database}"))
    with connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The Redis URL, once it answers; tests use ``redis_prefix`` for their keys."""
    try:
        import redis
    except ImportError as exc:
        unavailable("Redis driver", exc)
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    yield REDIS_URL
    # Everything this run wrote lives under its prefix.
    for key in client.scan_iter(match=f"lucia-test-{RUN_ID}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> str:
    """A key prefix of this run and test: no two tests share keys."""
    return f"lucia-test-{RUN_ID}-{secrets.token_hex(4)}:"
