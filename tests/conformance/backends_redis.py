"""Conformance backends on Redis: sessions in Redis, users in memory or SQLite.

Every backend gets the test's own key prefix (``redis_prefix``), so tests never
share keys, and the run's prefix is swept away at the end (tests/servers.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from tests.conformance.model import Backend, Stores


def _redis(request: pytest.FixtureRequest) -> RedisSessionAdapter:
    return RedisSessionAdapter(
        request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix")
    )


def _async_redis(request: pytest.FixtureRequest) -> AsyncRedisSessionAdapter:
    return AsyncRedisSessionAdapter(
        request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix")
    )


def _close_on_test_loop(request: pytest.FixtureRequest) -> Callable[[Any], None]:
    # The async client's connections live on the test's event loop, which
    # pytest-asyncio closes before a sync fixture's teardown unless its runner
    # was set up first; asking for it here does that, so aclose() can run on it.
    try:
        runner = request.getfixturevalue("_function_scoped_runner")
    except pytest.FixtureLookupError:  # another pytest-asyncio: leave it to the GC
        return lambda coroutine: coroutine.close()
    return lambda coroutine: runner.run(coroutine)


@contextmanager
def _redis_memory(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    sessions = _redis(request)
    yield Stores(MemoryAdapter(), sessions)
    sessions.close()


@contextmanager
def _async_redis_memory(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    close = _close_on_test_loop(request)
    sessions = _async_redis(request)
    yield Stores(AsyncMemoryAdapter(), sessions)
    with contextlib.suppress(RuntimeError):  # a loop the test left unusable
        close(sessions.aclose())


@contextmanager
def _redis_sqlite(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    users = SQLiteAdapter(tmp / "lucia.sqlite3")
    users.create_tables()
    sessions = _redis(request)
    yield Stores(users, sessions)
    sessions.close()
    users.close()


@contextmanager
def _async_redis_sqlite(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    close = _close_on_test_loop(request)
    users = AsyncSQLiteAdapter(tmp / "lucia.sqlite3")
    users.sync.create_tables()
    sessions = _async_redis(request)
    yield Stores(users, sessions)
    with contextlib.suppress(RuntimeError):
        close(sessions.aclose())
    users.close()


BACKENDS: list[Backend] = [
    Backend("redis+memory", False, _redis_memory),
    Backend("redis+memory", True, _async_redis_memory),
    Backend("redis+sqlite", False, _redis_sqlite),
    Backend("redis+sqlite", True, _async_redis_sqlite),
]
