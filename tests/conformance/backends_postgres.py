"""Conformance backends on PostgreSQL: the sync and the async adapter, each on
its own pool over this run's schema, with lucia's tables emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter
from tests.conformance.model import Backend, Stores


def empty_tables(conninfo: str) -> None:
    """Remove every row of lucia's tables (they exist: create_tables ran)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE auth_token, auth_session, auth_key, auth_user CASCADE")


@contextmanager
def _postgres(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    conninfo: str = request.getfixturevalue("postgres_conninfo")
    adapter = PostgresAdapter(conninfo)
    try:
        adapter.create_tables()
        empty_tables(conninfo)
        yield Stores(adapter)
    finally:
        adapter.close()


def keep_event_loop_until_teardown(request: pytest.FixtureRequest) -> None:
    """Have pytest tear the requesting fixture down before the test's event loop.

    pytest-asyncio sets the loop up after a test's other fixtures, so it would
    close it (cancelling the pool's tasks) before this backend's teardown, and
    a psycopg_pool worker cancelled while connecting swallows the cancellation:
    the loop's shutdown then waits forever. A fixture requested from inside
    another one is torn down after it, so asking for the loop's runner here
    leaves the loop alive for ``adapter.close()`` (which runs ``aclose()`` in it).
    """
    for name in request.fixturenames:
        if name.endswith("_scoped_runner"):  # pytest-asyncio's loop runner fixture
            request.getfixturevalue(name)


@contextmanager
def _async_postgres(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    conninfo: str = request.getfixturevalue("postgres_conninfo")
    keep_event_loop_until_teardown(request)
    # The async pool opens in the test's event loop, which is not running yet:
    # the tables are made through a sync adapter on the same database.
    setup = PostgresAdapter(conninfo, max_size=1)
    try:
        setup.create_tables()
    finally:
        setup.close()
    empty_tables(conninfo)
    adapter = AsyncPostgresAdapter(conninfo)
    try:
        yield Stores(adapter)
    finally:
        adapter.close()


BACKENDS: list[Backend] = [
    Backend("postgres", False, _postgres),
    Backend("postgres", True, _async_postgres),
]
