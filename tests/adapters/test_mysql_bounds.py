"""Every MySQL/MariaDB call is bounded (issue 14, item 9): PyMySQL connections
have read and write timeouts by default, and the async adapter (aiomysql has
none) bounds each call by ``read_timeout``. A statement that waits past it
(here: on a row lock another connection holds, which InnoDB would wait 50 s
for) fails with ``DatabaseError``, and the pool serves the next call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lucia.adapters.base import KeyRecord, UserRecord
from lucia.adapters.mysql import IO_TIMEOUT, AsyncMySQLAdapter, MySQLAdapter
from lucia.errors import DatabaseError
from tests.adapters.test_mysql import NOW, admin
from tests.conformance.backends_mysql import fresh_tables

TIMEOUT = 0.5


@pytest.fixture
def url(mysql_url: str) -> str:
    fresh_tables(mysql_url)
    adapter = MySQLAdapter(mysql_url, pool_size=1)
    adapter.insert_user(UserRecord("ada", {}), KeyRecord("github", "1", "ada"), NOW)
    adapter.close()
    separator = "&" if "?" in mysql_url else "?"
    return f"{mysql_url}{separator}read_timeout={TIMEOUT}"


@pytest.fixture
def row_locked(url: str) -> Iterator[None]:
    """Another connection holds the lock on user "ada"'s row until the test ends."""
    with admin(url.split("?")[0]) as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT id FROM auth_user WHERE id = 'ada' FOR UPDATE")
        yield
        cursor.execute("ROLLBACK")


def test_a_call_past_the_read_timeout_fails_and_the_pool_goes_on(
    url: str, row_locked: None
) -> None:
    adapter = MySQLAdapter(url, pool_size=1)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="MySQL"):
            adapter.update_user_attributes("ada", {"x": 1})
        assert time.monotonic() - started < TIMEOUT + 2
        assert adapter.get_user("ada") is not None
    finally:
        adapter.close()


async def test_an_async_call_past_the_read_timeout_fails_and_the_pool_goes_on(
    url: str, row_locked: None
) -> None:
    adapter = AsyncMySQLAdapter(url, pool_size=1)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="timed out"):
            await adapter.update_user_attributes("ada", {"x": 1})
        assert time.monotonic() - started < TIMEOUT + 2
        assert await adapter.get_user("ada") is not None
    finally:
        await adapter.aclose()


def test_the_timeouts_reach_the_connections(mysql_url: str) -> None:
    adapter = MySQLAdapter(mysql_url, pool_size=1)
    try:
        with adapter.driver.pool.connection() as conn:
            assert conn._read_timeout == IO_TIMEOUT
            assert conn._write_timeout == IO_TIMEOUT
    finally:
        adapter.close()
    separator = "&" if "?" in mysql_url else "?"
    adapter = MySQLAdapter(f"{mysql_url}{separator}read_timeout=3&write_timeout=4", pool_size=1)
    try:
        with adapter.driver.pool.connection() as conn:
            assert (conn._read_timeout, conn._write_timeout) == (3, 4)
    finally:
        adapter.close()
