"""A purge rests between batches where writers poll for one lock (SQLite), as
long as each batch took, and not at all on servers (issue 14, item 12)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import sqlalchemy

from lucia.adapters import _purge
from lucia.adapters.mysql import MYSQL
from lucia.adapters.postgres import POSTGRES
from lucia.adapters.sql import SQLITE
from lucia.adapters.sqlalchemy import SQLAlchemyAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter


class FakeClock:
    """``time.monotonic`` and ``time.sleep`` of the purge: each batch takes 0.01 s."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def _batches(clock: FakeClock, counts: list[int]) -> Callable[[int], int]:
    remaining = iter(counts)

    def delete_batch(limit: int) -> int:
        clock.now += 0.01
        return next(remaining)

    return delete_batch


@pytest.mark.parametrize(("rest", "pauses"), [(1.0, [0.01, 0.01]), (0.0, [])])
def test_a_purge_rests_as_long_as_each_batch_took(
    monkeypatch: pytest.MonkeyPatch, rest: float, pauses: list[float]
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(_purge.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_purge.time, "sleep", clock.sleep)
    total = _purge.purge_in_batches(_batches(clock, [10, 10, 3]), 10, None, rest)
    assert total == 23
    # No rest after the last (short) batch.
    assert clock.slept == pauses


def test_an_async_purge_rests_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock.now += seconds

    monkeypatch.setattr(_purge.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_purge.asyncio, "sleep", fake_sleep)
    batches = _batches(clock, [5, 5, 0])

    async def delete_batch(limit: int) -> int:
        return batches(limit)

    assert asyncio.run(_purge.apurge_in_batches(delete_batch, 5, None, 1.0)) == 10
    assert slept == [0.01, 0.01]


def test_sqlite_stores_rest_and_servers_do_not() -> None:
    assert (SQLITE.purge_rest, POSTGRES.purge_rest, MYSQL.purge_rest) == (1.0, 0.0, 0.0)
    sqlite = SQLiteAdapter(":memory:")
    assert sqlite.purge_rest == 1.0
    assert getattr(AsyncSQLiteAdapter(":memory:").sync, "purge_rest", None) == 1.0
    assert SQLAlchemyAdapter(sqlalchemy.create_engine("sqlite://")).purge_rest == 1.0
    sqlite.close()


def test_each_store_purges_with_its_own_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The purge a store inherits (``SessionPurges``/``TokenPurges``) rests as the store
    says: on SQLite, through the async adapter and Django's async wrapper too; never
    for the memory store. Three expired sessions in batches of one: a rest after each
    of the three full batches."""
    from datetime import timedelta

    from lucia import AsyncLucia, Lucia
    from lucia.adapters.memory import MemoryAdapter
    from lucia.integrations.django.adapter import AsyncDjangoAdapter
    from lucia.sessions import utc_now

    rests: list[float] = []

    async def loop_sleep(seconds: float) -> None:
        rests.append(seconds)

    monkeypatch.setattr(_purge.time, "sleep", rests.append)
    monkeypatch.setattr(_purge.asyncio, "sleep", loop_sleep)
    later = utc_now() + timedelta(days=400)

    def sync_purges(store: SQLiteAdapter | MemoryAdapter) -> list[int]:
        store.create_tables()
        auth = Lucia(store)
        user = auth.create_user("github", "1")
        for _ in range(3):
            auth.create_session(user.id)
            auth.create_token(user.id, "verify", expires_in=timedelta(hours=1))
        return [store.delete_expired_sessions(later, 1), store.delete_expired_tokens(later, 1)]

    async def async_purges(store: AsyncSQLiteAdapter | AsyncDjangoAdapter) -> list[int]:
        await store.create_tables()
        auth = AsyncLucia(store)
        user = await auth.create_user("github", "1")
        for _ in range(3):
            await auth.create_session(user.id)
            await auth.create_token(user.id, "verify", expires_in=timedelta(hours=1))
        purged: list[int] = [
            await store.delete_expired_sessions(later, 1),
            await store.delete_expired_tokens(later, 1),
        ]
        return purged

    expected = {"memory": 0, "sqlite": 6, "async sqlite": 6, "django on sqlite": 6}
    for name, run in (
        ("memory", lambda: sync_purges(MemoryAdapter())),
        ("sqlite", lambda: sync_purges(SQLiteAdapter(":memory:"))),
        ("async sqlite", lambda: asyncio.run(async_purges(AsyncSQLiteAdapter(":memory:")))),
        (
            "django on sqlite",
            lambda: asyncio.run(async_purges(AsyncDjangoAdapter(SQLiteAdapter(":memory:")))),
        ),
    ):
        rests.clear()
        assert run() == [3, 3], name
        assert len(rests) == expected[name], name
