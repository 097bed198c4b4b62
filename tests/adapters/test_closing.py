"""Every adapter closes the same way: a sync one is a context manager with
``close()``; an async one an async context manager with ``aclose()``, and
``close()`` for sync code."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.adapters.mysql import AsyncMySQLAdapter, MySQLAdapter
from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter
from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.adapters.sqlalchemy import AsyncSQLAlchemyAdapter, SQLAlchemyAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from lucia.integrations.django.adapter import AsyncDjangoAdapter, DjangoAdapter

SYNC = [
    MemoryAdapter,
    SQLiteAdapter,
    PostgresAdapter,
    MySQLAdapter,
    RedisSessionAdapter,
    SQLAlchemyAdapter,
    DjangoAdapter,
]
ASYNC = [
    AsyncMemoryAdapter,
    AsyncSQLiteAdapter,
    AsyncPostgresAdapter,
    AsyncMySQLAdapter,
    AsyncRedisSessionAdapter,
    AsyncSQLAlchemyAdapter,
    AsyncDjangoAdapter,
]


@pytest.mark.parametrize("cls", SYNC, ids=lambda cls: cls.__name__)
def test_every_sync_adapter_is_a_context_manager_with_close(cls: type) -> None:
    for name in ("__enter__", "__exit__", "close"):
        assert callable(getattr(cls, name, None)), name


@pytest.mark.parametrize("cls", ASYNC, ids=lambda cls: cls.__name__)
def test_every_async_adapter_is_an_async_context_manager_with_aclose_and_close(cls: type) -> None:
    for name in ("__aenter__", "__aexit__", "aclose"):
        assert asyncio.iscoroutinefunction(getattr(cls, name, None)), name
    assert callable(getattr(cls, "close", None))
    assert not asyncio.iscoroutinefunction(cls.close)


def _closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_with_closes_a_sync_adapter(tmp_path: Path) -> None:
    with SQLiteAdapter(tmp_path / "a.db") as adapter:
        adapter.create_tables()
        conn = adapter.driver.local_connection()
        assert not _closed(conn)
    assert _closed(conn)


async def test_async_with_closes_an_async_adapter(tmp_path: Path) -> None:
    async with AsyncSQLiteAdapter(tmp_path / "a.db") as adapter:
        await adapter.create_tables()  # a write: the writer thread starts
        conn = adapter.driver.sync.local_connection()
        assert not _closed(conn)
    assert _closed(conn)
    assert adapter.driver._executor is not None
    with pytest.raises(RuntimeError):  # the writer thread is stopped
        adapter.driver._executor.submit(print)


async def test_async_with_closes_a_django_wrapper_and_its_adapter() -> None:
    closed: list[str] = []

    class Store(MemoryAdapter):
        def close(self) -> None:
            closed.append("closed")

    async with AsyncDjangoAdapter(Store()) as adapter:
        assert isinstance(adapter, AsyncDjangoAdapter)
    assert closed == ["closed"]
    adapter.close()
    assert closed == ["closed", "closed"]


def _recording_aclose(adapter: Any) -> list[str]:
    calls: list[str] = []

    async def aclose() -> None:
        calls.append("aclose")

    adapter.client.aclose = aclose
    return calls


def test_async_redis_close_from_sync_code_runs_aclose() -> None:
    adapter = AsyncRedisSessionAdapter("redis://127.0.0.1:1/0")  # connects on first use only
    calls = _recording_aclose(adapter)
    adapter.close()
    assert calls == ["aclose"]


async def test_async_redis_close_inside_the_loop_schedules_aclose() -> None:
    adapter = AsyncRedisSessionAdapter("redis://127.0.0.1:1/0")
    calls = _recording_aclose(adapter)
    adapter.close()
    assert calls == []
    assert adapter._closing is not None
    await adapter._closing
    assert calls == ["aclose"]


def test_async_redis_close_leaves_a_client_passed_in_open() -> None:
    import redis.asyncio

    adapter = AsyncRedisSessionAdapter(redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0"))
    calls = _recording_aclose(adapter)
    adapter.close()
    assert calls == []


def test_async_mysql_close_from_sync_code_drops_the_pool(mysql_url: str) -> None:
    adapter = AsyncMySQLAdapter(mysql_url, pool_size=1)

    async def use() -> None:
        await adapter.create_tables()
        assert await adapter.get_user("nobody") is None

    asyncio.run(use())
    assert adapter.driver._state is not None
    adapter.close()
    assert adapter.driver._state is None
    assert adapter.driver.closed


def test_sqlalchemy_adapters_leave_the_engine_alone(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with SQLAlchemyAdapter(engine) as adapter:
        adapter.create_tables()
    with engine.connect() as conn:  # still usable
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()

    async def use() -> None:
        async_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
        async with AsyncSQLAlchemyAdapter(async_engine) as async_adapter:
            await async_adapter.create_tables()
        async with async_engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        await async_engine.dispose()

    asyncio.run(use())
