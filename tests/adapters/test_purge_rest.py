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
