"""Conformance backends on MySQL/MariaDB: ``MySQLAdapter`` and ``AsyncMySQLAdapter``.

Each test gets lucia's tables, emptied, in the database made for this run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from lucia.adapters.mysql import AsyncMySQLAdapter, MySQLAdapter
from tests.conformance.model import Backend, Stores


def fresh_tables(url: str) -> None:
    """Create lucia's tables if needed and empty them (TRUNCATE is refused with foreign keys)."""
    setup = MySQLAdapter(url, pool_size=1)
    setup.create_tables()
    with setup.driver.connection() as conn, conn.cursor() as cursor:
        for table in ("auth_token", "auth_session", "auth_key", "auth_user"):
            cursor.execute(f"DELETE FROM {table}")
    setup.close()


@contextlib.contextmanager
def _mysql(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    url: str = request.getfixturevalue("mysql_url")
    fresh_tables(url)
    adapter = MySQLAdapter(url)
    yield Stores(adapter)
    adapter.close()


@contextlib.contextmanager
def _async_mysql(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    url: str = request.getfixturevalue("mysql_url")
    fresh_tables(url)
    adapter = AsyncMySQLAdapter(url)
    yield Stores(adapter)
    close_async_adapter(adapter)


def close_async_adapter(adapter: AsyncMySQLAdapter) -> None:
    """``aclose()`` from synchronous teardown.

    pytest-asyncio has usually closed the test's loop by now; ``aclose()`` then
    drops the pool's connections without it (the loop is used when still open).
    """
    state = adapter.driver._state
    if state is not None and not state.loop.is_closed() and not state.loop.is_running():
        state.loop.run_until_complete(adapter.aclose())
    else:
        with contextlib.suppress(RuntimeError):
            asyncio.run(adapter.aclose())


BACKENDS: list[Backend] = [
    Backend("mysql", False, _mysql),
    Backend("mysql", True, _async_mysql),
]
