"""What is particular to SQLite: pragmas, connections, threads, failures."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lucia import AsyncLucia, DatabaseError, Lucia
from lucia.adapters.base import KeyRecord, UserRecord
from lucia.adapters.sql import Tables
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_create_tables_is_idempotent_and_keeps_rows(tmp_path: Path) -> None:
    adapter = SQLiteAdapter(tmp_path / "a.db")
    adapter.create_tables()
    adapter.insert_user(UserRecord("u1"), KeyRecord("github", "1", "u1"), NOW)
    adapter.create_tables()
    assert adapter.get_user("u1") is not None
    adapter.close()


def test_file_database_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    adapter = SQLiteAdapter(tmp_path / "a.db")
    adapter.create_tables()
    conn = adapter.driver.local_connection()
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (10_000,)
    adapter.close()


def test_each_thread_has_its_own_connection(tmp_path: Path) -> None:
    adapter = SQLiteAdapter(tmp_path / "a.db")
    adapter.create_tables()
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(adapter.driver.local_connection()))
    thread.start()
    thread.join()
    assert seen[0] is not adapter.driver.local_connection()
    adapter.close()


def test_connection_passed_in(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "a.db", check_same_thread=False)
    adapter = SQLiteAdapter(conn)
    assert adapter.is_shared
    adapter.create_tables()
    assert conn.isolation_level is None  # autocommit, so lucia's transactions are its own
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    auth = Lucia(adapter)
    user = auth.create_user("github", "1")
    assert auth.get_user(user.id) == user
    adapter.close()  # not ours to close
    assert conn.execute("SELECT count(*) FROM auth_user").fetchone() == (1,)


def test_custom_table_names(tmp_path: Path) -> None:
    adapter = SQLiteAdapter(tmp_path / "a.db", tables=Tables("people", "logins", "visits"))
    adapter.create_tables()
    auth = Lucia(adapter)
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    assert auth.validate_session(session.token) is not None
    conn = adapter.driver.local_connection()
    assert conn.execute("SELECT count(*) FROM visits").fetchone() == (1,)
    with pytest.raises(ValueError, match="invalid table name"):
        Tables(user="auth_user; DROP TABLE x")


def test_missing_tables_give_database_error(tmp_path: Path) -> None:
    auth = Lucia(SQLiteAdapter(tmp_path / "a.db"))
    with pytest.raises(DatabaseError, match="no such table"):
        auth.get_user("u1")
    with pytest.raises(DatabaseError, match="no such table"):
        auth.validate_session("A" * 20 + "." + "B" * 43)


def test_unopenable_path_gives_database_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="SQLite error"):
        SQLiteAdapter(tmp_path / "missing" / "dir" / "a.db").create_tables()


def test_failed_second_insert_leaves_no_user(tmp_path: Path) -> None:
    adapter = SQLiteAdapter(tmp_path / "a.db")
    adapter.create_tables()
    adapter.insert_user(UserRecord("u1"), KeyRecord("github", "1", "u1"), NOW)
    from lucia import DuplicateKeyError

    with pytest.raises(DuplicateKeyError):
        adapter.insert_user(UserRecord("u2"), KeyRecord("github", "1", "u2"), NOW)
    assert adapter.get_user("u2") is None
    conn = adapter.driver.local_connection()
    assert not conn.in_transaction
    adapter.close()


def test_writer_busy_elsewhere_is_waited_for(tmp_path: Path) -> None:
    # Another process holds the write lock for a moment: lucia waits (busy
    # timeout) instead of failing.
    adapter = SQLiteAdapter(tmp_path / "a.db")
    adapter.create_tables()
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    timer.start()
    Lucia(adapter).create_user("github", "1")
    timer.join()
    assert adapter.get_user_by_key("github", "1") is not None
    adapter.close()


async def test_async_reads_inline_and_writes_on_the_writer_thread(tmp_path: Path) -> None:
    adapter = AsyncSQLiteAdapter(tmp_path / "a.db")
    await adapter.create_tables()
    threads: dict[str, set[int]] = {"read": set(), "write": set()}
    sync = adapter.sync
    real_one, real_execute = sync.driver.fetch_one, sync.driver.execute

    def fetch_one(*args: object) -> object:
        threads["read"].add(threading.get_ident())
        return real_one(*args)  # type: ignore[arg-type]

    def execute(*args: object) -> int:
        threads["write"].add(threading.get_ident())
        return real_execute(*args)  # type: ignore[arg-type]

    sync.driver.fetch_one = fetch_one  # type: ignore[method-assign]
    sync.driver.execute = execute  # type: ignore[method-assign]
    auth = AsyncLucia(adapter)
    user = await auth.create_user("github", "1")
    assert await auth.get_user(user.id) == user
    loop_thread = threading.get_ident()
    assert threads["read"] == {loop_thread}
    assert len(threads["write"]) == 1
    assert loop_thread not in threads["write"]
    adapter.close()


async def test_async_memory_database_writes_inline() -> None:
    adapter = AsyncSQLiteAdapter(":memory:")
    await adapter.create_tables()
    auth = AsyncLucia(adapter)
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    assert (await auth.validate_session(session.token)) is not None
    adapter.close()
