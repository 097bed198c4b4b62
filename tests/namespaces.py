"""Fixtures for tests that need a database namespace of their own (not the run's shared one).

``pg_schema``: a PostgreSQL schema (as a conninfo with that search_path, and as
a URL through ``pg_schema_url``); ``mysql_database``: a MariaDB database (a
mysql:// URL). Each is made for one test and dropped after it, so a test may
put any table, under any name, in it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from tests.servers import MYSQL_URL, POSTGRES_URL, RUN_ID, unavailable

__all__ = ["mysql_database", "pg_schema", "pg_schema_url", "schema_of"]


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A conninfo whose search_path is a schema of this test only."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg.conninfo import make_conninfo

    schema = f"lucia_test_{RUN_ID}_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    yield make_conninfo(POSTGRES_URL, options=f"-c search_path={schema}")
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def mysql_database() -> Iterator[str]:
    """A mysql:// URL of a database of this test only."""
    pymysql = pytest.importorskip("pymysql")
    parts = urlsplit(MYSQL_URL)
    database = f"lucia_test_{RUN_ID}_{secrets.token_hex(3)}"

    def connect() -> Any:
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
        cursor.execute(f"DROP DATABASE `{database}`")


def schema_of(conninfo: str) -> str:
    """The schema of a ``pg_schema`` conninfo."""
    from psycopg.conninfo import conninfo_to_dict

    options: str = conninfo_to_dict(conninfo)["options"]
    return options.split("=", 1)[1]


@pytest.fixture
def pg_schema_url(pg_schema: str) -> str:
    """``pg_schema`` as a postgresql:// URL (what ``lucia migrate`` takes)."""
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote('-csearch_path=' + schema_of(pg_schema))}"
