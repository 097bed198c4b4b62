"""Fixtures shared by every test: an injectable clock and a sync/async harness."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.servers import mysql_url, postgres_conninfo, redis_prefix, redis_url

__all__ = ["mysql_url", "postgres_conninfo", "redis_prefix", "redis_url"]


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Harness:
    """Calls a sync or an async object the same way: ``await harness.method(...)``.

    One test body then covers ``Lucia`` and ``AsyncLucia`` (or a sync and an
    async adapter) alike.
    """

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        attribute = getattr(self.target, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return call


@pytest.fixture
def clock() -> Clock:
    return Clock()
