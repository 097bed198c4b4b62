"""The stores the conformance suite runs over.

Each backend is a factory that yields a fresh, empty adapter (and an optional
separate session adapter) for one test, already holding lucia's tables. A new
adapter joins the suite by adding one entry to ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from tests.conformance.model import Backend, Stores


@contextmanager
def _memory(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    yield Stores(MemoryAdapter())


@contextmanager
def _async_memory(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    yield Stores(AsyncMemoryAdapter())


@contextmanager
def _sqlite_file(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    adapter = SQLiteAdapter(tmp / "lucia.sqlite3")
    adapter.create_tables()
    yield Stores(adapter)
    adapter.close()


@contextmanager
def _async_sqlite_file(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    adapter = AsyncSQLiteAdapter(tmp / "lucia.sqlite3")
    adapter.sync.create_tables()
    yield Stores(adapter)
    adapter.close()


@contextmanager
def _sqlite_memory(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    adapter = SQLiteAdapter(":memory:")
    adapter.create_tables()
    yield Stores(adapter)
    adapter.close()


@contextmanager
def _async_sqlite_memory(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    adapter = AsyncSQLiteAdapter(":memory:")
    adapter.sync.create_tables()
    yield Stores(adapter)
    adapter.close()


LOCAL_BACKENDS: list[Backend] = [
    Backend("memory", False, _memory),
    Backend("memory", True, _async_memory),
    Backend("sqlite-file", False, _sqlite_file),
    Backend("sqlite-file", True, _async_sqlite_file),
    Backend("sqlite-memory", False, _sqlite_memory),
    Backend("sqlite-memory", True, _async_sqlite_memory),
]


def _all_backends() -> list[Backend]:
    # Imported here: each server module imports only its own driver.
    from tests.conformance import (
        backends_django,
        backends_mysql,
        backends_postgres,
        backends_redis,
        backends_sqlalchemy,
    )

    return [
        *LOCAL_BACKENDS,
        *backends_postgres.BACKENDS,
        *backends_mysql.BACKENDS,
        *backends_redis.BACKENDS,
        *backends_sqlalchemy.BACKENDS,
        *backends_django.BACKENDS,
    ]


BACKENDS = _all_backends()
