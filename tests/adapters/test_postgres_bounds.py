"""Every PostgreSQL call is bounded (issue 14, item 9): the pools lucia makes
carry a statement timeout and TCP keepalives. A statement that waits past the
timeout (here: on a row lock another connection holds) fails with
``DatabaseError`` instead of hanging, and the pool serves the next call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from lucia.adapters.base import KeyRecord, UserRecord
from lucia.adapters.postgres import (
    AsyncPostgresAdapter,
    PostgresAdapter,
    connection_kwargs,
)
from lucia.errors import DatabaseError
from tests.namespaces import pg_schema as pg_schema

T = datetime(2026, 1, 1, tzinfo=UTC)
TIMEOUT = 0.5


@pytest.fixture
def schema(pg_schema: str) -> Iterator[str]:
    adapter = PostgresAdapter(pg_schema, max_size=1)
    adapter.create_tables()
    adapter.insert_user(UserRecord("ada", {}), KeyRecord("github", "1", "ada"), T)
    adapter.close()
    return pg_schema


@pytest.fixture
def row_locked(schema: str) -> Iterator[None]:
    """Another connection holds the lock on user "ada"'s row until the test ends."""
    with psycopg.connect(schema) as conn:
        conn.execute("SELECT id FROM auth_user WHERE id = 'ada' FOR UPDATE")
        yield
        conn.rollback()


def test_a_statement_past_the_timeout_fails_and_the_pool_goes_on(
    schema: str, row_locked: None
) -> None:
    adapter = PostgresAdapter(schema, max_size=1, statement_timeout=TIMEOUT)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="57014"):
            adapter.update_user_attributes("ada", {"x": 1})
        assert time.monotonic() - started < TIMEOUT + 2
        # The one pooled connection is usable again at once.
        assert adapter.get_user("ada") is not None
    finally:
        adapter.close()


async def test_an_async_statement_past_the_timeout_fails_and_the_pool_goes_on(
    schema: str, row_locked: None
) -> None:
    adapter = AsyncPostgresAdapter(schema, max_size=1, statement_timeout=TIMEOUT)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="57014"):
            await adapter.update_user_attributes("ada", {"x": 1})
        assert time.monotonic() - started < TIMEOUT + 2
        assert await adapter.get_user("ada") is not None
    finally:
        await adapter.aclose()


def test_the_bounds_reach_the_connections(schema: str) -> None:
    adapter = PostgresAdapter(schema, max_size=1)
    try:
        with adapter.pool.connection() as conn:
            parameters = conn.info.get_parameters()
            timeout = conn.execute("SHOW statement_timeout").fetchone()
            search_path = conn.execute("SHOW search_path").fetchone()
    finally:
        adapter.close()
    assert timeout == ("5s",)
    assert parameters["keepalives"] == "1"
    assert parameters["keepalives_idle"] == "10"
    assert parameters["keepalives_interval"] == "5"
    assert parameters["keepalives_count"] == "3"
    assert parameters["tcp_user_timeout"] == "25000"
    # The conninfo's own options (its search_path) still apply.
    assert search_path is not None
    assert search_path[0] in schema


async def test_the_bounds_reach_the_async_connections(schema: str) -> None:
    adapter = AsyncPostgresAdapter(schema, max_size=1, statement_timeout=1.5, keepalives_idle=4)
    try:
        await adapter.get_user("ada")  # opens the pool
        async with adapter.pool.connection() as conn:
            parameters = conn.info.get_parameters()
            cursor = await conn.execute("SHOW statement_timeout")
            timeout = await cursor.fetchone()
    finally:
        await adapter.aclose()
    assert timeout == ("1500ms",)
    assert parameters["keepalives_idle"] == "4"
    assert parameters["keepalives_interval"] == "2"


def test_the_conninfo_wins_and_none_turns_a_bound_off() -> None:
    mine = "host=db keepalives_idle=60 options='-c statement_timeout=30s'"
    kwargs = connection_kwargs(mine)
    assert "keepalives_idle" not in kwargs
    # Ours first, the conninfo's after: PostgreSQL applies the last one.
    assert kwargs["options"] == "-c statement_timeout=5000 -c statement_timeout=30s"
    assert connection_kwargs(statement_timeout=None, keepalives_idle=None) == {}
    with pytest.raises(ValueError, match="statement_timeout"):
        connection_kwargs(statement_timeout=0)
    with pytest.raises(ValueError, match="keepalives_idle"):
        connection_kwargs(keepalives_idle=0)


def test_a_pool_passed_in_is_left_as_it_is(schema: str) -> None:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(schema, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool:
        adapter = PostgresAdapter(pool)
        assert adapter.get_user("ada") is not None
        with pool.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
    # And built with connection_kwargs() it has the same bounds as lucia's own.
    kwargs = {"autocommit": True, **connection_kwargs(schema, statement_timeout=2)}
    with (
        ConnectionPool(schema, min_size=1, max_size=1, kwargs=kwargs) as pool,
        pool.connection() as conn,
    ):
        assert conn.execute("SHOW statement_timeout").fetchone() == ("2s",)
