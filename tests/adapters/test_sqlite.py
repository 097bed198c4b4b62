"""What is particular to SQLite: pragmas, connections, threads, failures."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lucia import AsyncLucia, DatabaseError, DuplicateKeyError, Lucia
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


async def test_async_cancelled_transaction_is_rolled_back_and_the_writer_stays_usable(
    tmp_path: Path,
) -> None:
    adapter = AsyncSQLiteAdapter(tmp_path / "a.db")
    await adapter.create_tables()
    sync = adapter.driver.sync
    real_execute = sync.execute
    release = threading.Event()
    reached = threading.Event()

    def held_execute(*args: Any) -> int:
        # The first statement of the transaction waits, so the caller is
        # cancelled with its transaction open on the writer thread.
        reached.set()
        release.wait(5)
        return real_execute(*args)

    sync.execute = held_execute  # type: ignore[method-assign]
    user = UserRecord("u1", {})
    task = asyncio.create_task(adapter.insert_user(user, KeyRecord("github", "1", "u1"), NOW))
    await asyncio.to_thread(reached.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    sync.execute = real_execute  # type: ignore[method-assign]
    # Its statements ran, then the ROLLBACK queued behind them: nothing is left,
    # and the writer thread takes the next transaction.
    assert await adapter.get_user("u1") is None
    await adapter.insert_user(UserRecord("u2", {}), KeyRecord("github", "2", "u2"), NOW)
    assert await adapter.get_user("u2") is not None
    adapter.close()


async def test_async_shared_connection_reads_never_see_a_transaction_half_done() -> None:
    adapter = AsyncSQLiteAdapter(":memory:")
    await adapter.create_tables()
    await adapter.insert_user(UserRecord("u1", {}), KeyRecord("github", "1", "u1"), NOW)
    driver = adapter.driver
    real_write = driver._write

    async def yielding_write(fn: Any, *args: Any) -> Any:
        # Lets other coroutines run between a transaction's statements, as a
        # statement waiting on a lock would.
        await asyncio.sleep(0.001)
        return await real_write(fn, *args)

    driver._write = yielding_write  # type: ignore[method-assign]
    seen: list[object] = []
    # The user is written, then its key collides and the whole insert rolls back.
    doomed = adapter.insert_user(UserRecord("u2", {}), KeyRecord("github", "1", "u2"), NOW)
    insert = asyncio.create_task(doomed)

    async def reader() -> None:
        while not insert.done():
            seen.append(await adapter.get_user("u2"))
            await asyncio.sleep(0)

    await asyncio.gather(reader(), return_exceptions=True)
    with pytest.raises(DuplicateKeyError):
        await insert
    assert seen
    assert seen == [None] * len(seen)
    adapter.close()


def test_async_adapter_serves_one_event_loop_after_another(tmp_path: Path) -> None:
    adapter = AsyncSQLiteAdapter(tmp_path / "a.db")

    async def burst(round_: int) -> None:
        await adapter.create_tables()
        # Concurrent transactions: they wait for each other on the driver's lock.
        await asyncio.gather(
            *(
                adapter.insert_user(
                    UserRecord(f"u{round_}-{n}", {}),
                    KeyRecord("github", f"{round_}-{n}", f"u{round_}-{n}"),
                    NOW,
                )
                for n in range(5)
            )
        )

    asyncio.run(burst(1))
    asyncio.run(burst(2))  # a lock bound to the first loop would refuse this one
    assert len(adapter.sync.get_user_keys("u2-4")) == 1
    adapter.close()
