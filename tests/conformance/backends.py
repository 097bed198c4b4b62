"""The stores the conformance suite runs over.

Each backend is a factory that yields a fresh, empty adapter (and an optional
separate session adapter) for one test, already holding lucia's tables. A new
adapter joins the suite by adding one entry to ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter


@dataclass(frozen=True)
class Stores:
    adapter: Any
    session_adapter: Any = None


@dataclass(frozen=True)
class Backend:
    name: str
    is_async: bool
    open: Callable[[Path], Any]  # a context manager factory yielding Stores

    @property
    def id(self) -> str:
        return f"{self.name}-{'async' if self.is_async else 'sync'}"


@contextmanager
def _memory(tmp: Path) -> Iterator[Stores]:
    yield Stores(MemoryAdapter())


@contextmanager
def _async_memory(tmp: Path) -> Iterator[Stores]:
    yield Stores(AsyncMemoryAdapter())


@contextmanager
def _sqlite_file(tmp: Path) -> Iterator[Stores]:
    adapter = SQLiteAdapter(tmp / "lucia.sqlite3")
    adapter.create_tables()
    yield Stores(adapter)
    adapter.close()


@contextmanager
def _async_sqlite_file(tmp: Path) -> Iterator[Stores]:
    adapter = AsyncSQLiteAdapter(tmp / "lucia.sqlite3")
    adapter.sync.create_tables()
    yield Stores(adapter)
    adapter.close()


@contextmanager
def _sqlite_memory(tmp: Path) -> Iterator[Stores]:
    adapter = SQLiteAdapter(":memory:")
    adapter.create_tables()
    yield Stores(adapter)
    adapter.close()


@contextmanager
def _async_sqlite_memory(tmp: Path) -> Iterator[Stores]:
    adapter = AsyncSQLiteAdapter(":memory:")
    adapter.sync.create_tables()
    yield Stores(adapter)
    adapter.close()


BACKENDS: list[Backend] = [
    Backend("memory", False, _memory),
    Backend("memory", True, _async_memory),
    Backend("sqlite-file", False, _sqlite_file),
    Backend("sqlite-file", True, _async_sqlite_file),
    Backend("sqlite-memory", False, _sqlite_memory),
    Backend("sqlite-memory", True, _async_sqlite_memory),
]
