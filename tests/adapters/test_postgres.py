"""What is particular to PostgreSQL: the schema, times and JSON, the pools, failures.

Runs against the server of ``tests/servers.py`` (this run's own schema, through
``postgres_conninfo``). Outages are made with ``TCPProxy``: the real server is
never stopped. Each behaviour that can differ by flavour runs on
``PostgresAdapter`` and ``AsyncPostgresAdapter``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from lucia import DatabaseError, DuplicateKeyError, UserNotFoundError
from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.adapters.postgres import POSTGRES, AsyncPostgresAdapter, PostgresAdapter
from lucia.adapters.sql import Tables
from tests.conftest import Harness
from tests.tcpproxy import TCPProxy

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
PASSWORD = "s3cret-xyz"
Adapter = PostgresAdapter | AsyncPostgresAdapter


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@asynccontextmanager
async def opened(flavour: str, conninfo_or_pool: Any, **options: Any) -> AsyncIterator[Adapter]:
    """An adapter of the flavour, closed afterwards (in the running loop when async)."""
    adapter: Adapter
    if flavour == "async":
        adapter = AsyncPostgresAdapter(conninfo_or_pool, **options)
    else:
        adapter = PostgresAdapter(conninfo_or_pool, **options)
    try:
        yield adapter
    finally:
        if isinstance(adapter, AsyncPostgresAdapter):
            await adapter.aclose()
        else:
            adapter.close()


def query(conninfo: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a statement run outside lucia, on a connection of its own."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def with_option(conninfo: str, option: str) -> str:
    """The conninfo with one more ``-c`` server option (keeping the run's search_path)."""
    options = conninfo_to_dict(conninfo).get("options", "")
    return make_conninfo(conninfo, options=f"{options} {option}".strip())


def new_user(attributes: dict[str, Any] | None = None) -> tuple[UserRecord, KeyRecord]:
    user_id = f"u-{secrets.token_hex(6)}"
    return UserRecord(user_id, attributes or {}), KeyRecord("github", user_id, user_id)


def new_session(user_id: str, **changes: Any) -> SessionRecord:
    fields: dict[str, Any] = {
        "id": f"s-{secrets.token_hex(6)}",
        "user_id": user_id,
        "expires_at": NOW + timedelta(hours=1),
        "created_at": NOW,
        "secret_hash": b"\x00" * 32,
    }
    fields.update(changes)
    return SessionRecord(**fields)


def user_count(conninfo: str, user_id: str) -> int:
    return int(query(conninfo, "SELECT count(*) FROM auth_user WHERE id = %s", (user_id,))[0][0])


def closed_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def tables_ready(postgres_conninfo: str) -> str:
    """The run's conninfo, with lucia's default tables created."""
    adapter = PostgresAdapter(postgres_conninfo, max_size=1)
    try:
        adapter.create_tables()
    finally:
        adapter.close()
    return postgres_conninfo


@contextmanager
def proxied(conninfo: str) -> Iterator[tuple[TCPProxy, str]]:
    """A TCPProxy in front of the server and the conninfo that goes through it.

    A cut resets the proxy's sockets, but a pump thread blocked reading the
    server's side keeps that socket open, so the server may never learn that
    its client went away (as behind a real partition, until TCP keepalives
    fire). On exit the server sessions that came through the proxy are ended,
    as the server would end them, so no orphaned transaction holds locks.
    """
    params = conninfo_to_dict(conninfo)
    host = str(params.get("host") or "127.0.0.1")
    if host.startswith("/"):
        pytest.skip("the PostgreSQL server is reached through a Unix socket; TCPProxy needs TCP")
    name = f"lucia-test-proxy-{secrets.token_hex(4)}"
    try:
        with TCPProxy(host, int(params.get("port") or 5432)) as proxy:
            yield (
                proxy,
                make_conninfo(
                    conninfo,
                    host="127.0.0.1",
                    hostaddr="",
                    port=str(proxy.port),
                    application_name=name,
                ),
            )
    finally:
        end_sessions(conninfo, name)


def end_sessions(conninfo: str, application_name: str) -> None:
    """Terminate the server sessions of ``application_name`` and wait until they are gone."""
    sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
    deadline = time.monotonic() + 10
    while query(conninfo, sql, (application_name,)) and time.monotonic() < deadline:
        time.sleep(0.02)


# --- the schema -------------------------------------------------------------


def test_ddl_is_the_data_model(postgres_conninfo: str) -> None:
    tables = Tables("ddl_user", "ddl_key", "ddl_session")
    adapter = PostgresAdapter(postgres_conninfo, tables=tables, max_size=1)
    try:
        adapter.create_tables()
        adapter.create_tables()  # idempotent
    finally:
        adapter.close()

    columns = {
        (table, column): (data_type, nullable, default)
        for table, column, data_type, nullable, default in query(
            postgres_conninfo,
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name IN ('ddl_user', 'ddl_key', 'ddl_session', 'ddl_token')",
        )
    }
    jsonb_default = "'{}'::jsonb"
    assert columns == {
        ("ddl_user", "id"): ("text", "NO", None),
        ("ddl_user", "attributes"): ("jsonb", "NO", jsonb_default),
        ("ddl_user", "created_at"): ("timestamp with time zone", "NO", None),
        ("ddl_key", "provider_id"): ("text", "NO", None),
        ("ddl_key", "provider_user_id"): ("text", "NO", None),
        ("ddl_key", "user_id"): ("text", "NO", None),
        ("ddl_key", "hashed_password"): ("text", "YES", None),
        ("ddl_session", "id"): ("text", "NO", None),
        ("ddl_session", "user_id"): ("text", "NO", None),
        ("ddl_session", "secret_hash"): ("bytea", "NO", None),
        ("ddl_session", "expires_at"): ("timestamp with time zone", "NO", None),
        ("ddl_session", "created_at"): ("timestamp with time zone", "NO", None),
        ("ddl_session", "attributes"): ("jsonb", "NO", jsonb_default),
        ("ddl_token", "id_hash"): ("bytea", "NO", None),
        ("ddl_token", "user_id"): ("text", "NO", None),
        ("ddl_token", "purpose"): ("text", "NO", None),
        ("ddl_token", "expires_at"): ("timestamp with time zone", "NO", None),
        ("ddl_token", "created_at"): ("timestamp with time zone", "NO", None),
        ("ddl_token", "data"): ("jsonb", "NO", jsonb_default),
    }

    primary_keys = query(
        postgres_conninfo,
        "SELECT tc.table_name, string_agg(k.column_name, ',' ORDER BY k.ordinal_position)"
        " FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)"
        " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()"
        " AND tc.table_name LIKE 'ddl_%%' GROUP BY tc.table_name ORDER BY tc.table_name",
    )
    assert primary_keys == [
        ("ddl_key", "provider_id,provider_user_id"),
        ("ddl_session", "id"),
        ("ddl_token", "id_hash"),
        ("ddl_user", "id"),
    ]

    foreign_keys = query(
        postgres_conninfo,
        "SELECT conrelid::regclass::text, confrelid::regclass::text, confdeltype"
        " FROM pg_constraint WHERE contype = 'f'"
        " AND connamespace = current_schema()::regnamespace"
        " AND conrelid::regclass::text LIKE 'ddl_%%' ORDER BY 1",
    )
    # confdeltype 'c': ON DELETE CASCADE.
    assert foreign_keys == [
        ("ddl_key", "ddl_user", "c"),
        ("ddl_session", "ddl_user", "c"),
        ("ddl_token", "ddl_user", "c"),
    ]

    indexes = query(
        postgres_conninfo,
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename LIKE 'ddl_%%' AND indexname NOT LIKE '%%_pkey' ORDER BY indexname",
    )
    definitions = [row[0].split(" USING ")[1] for row in indexes]
    assert definitions == [
        "btree (user_id)",
        "btree (expires_at)",
        "btree (user_id)",
        "btree (expires_at)",
        "btree (user_id, purpose)",
    ]

    # Exact, case-sensitive keys: deterministic collations only.
    nondeterministic = query(
        postgres_conninfo,
        "SELECT a.attname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation"
        " WHERE a.attrelid = 'ddl_key'::regclass AND NOT c.collisdeterministic",
    )
    assert nondeterministic == []


def test_concurrent_create_tables_do_not_collide(postgres_conninfo: str) -> None:
    # IF NOT EXISTS alone races in the catalog; the DDL takes an advisory lock.
    tables = Tables(*(f"race_{secrets.token_hex(3)}_{name}" for name in ("u", "k", "s")))
    adapters = [PostgresAdapter(postgres_conninfo, tables=tables, max_size=1) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(adapters))

    def create(adapter: PostgresAdapter) -> None:
        barrier.wait()
        try:
            adapter.create_tables()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(a,)) for a in adapters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for adapter in adapters:
        adapter.close()
    assert errors == []
    assert query(postgres_conninfo, f"SELECT count(*) FROM {tables.session}") == [(0,)]


# --- times and JSON -------------------------------------------------------------


async def test_times_come_back_in_utc_whatever_the_session_time_zone(
    flavour: str, tables_ready: str
) -> None:
    tokyo = with_option(tables_ready, "-c TimeZone=Asia/Tokyo")
    user, key = new_user({"name": "Ada ✓", "nested": {"list": [1, 2.5, None, True]}})
    session = new_session(user.id, attributes={"ip": "::1"})
    async with opened(flavour, tokyo) as adapter:
        store = Harness(adapter)
        await store.insert_user(user, key, NOW)
        await store.insert_session(session)
        found = await store.get_session_and_user(session.id)
        listed = await store.get_user_sessions(user.id)
    assert found is not None
    stored, stored_user = found
    assert stored.expires_at == session.expires_at
    assert stored.expires_at.tzinfo is UTC
    assert stored.created_at.tzinfo is UTC
    assert listed[0].expires_at.tzinfo is UTC
    assert stored.attributes == {"ip": "::1"}
    assert stored_user.attributes == {"name": "Ada ✓", "nested": {"list": [1, 2.5, None, True]}}
    assert stored.secret_hash == b"\x00" * 32
    # Stored as an instant: PostgreSQL itself sees the same moment.
    (row,) = query(tables_ready, "SELECT expires_at FROM auth_session WHERE id = %s", (session.id,))
    assert row[0] == session.expires_at


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        POSTGRES.encode_time(datetime(2026, 1, 1))


# --- pools ------------------------------------------------------------------------


async def test_a_pool_passed_in_is_used_and_never_closed(flavour: str, tables_ready: str) -> None:
    user, key = new_user()
    pool: Any
    if flavour == "async":
        pool = AsyncConnectionPool(tables_ready, min_size=1, max_size=2, open=False)
        await pool.open()
    else:
        pool = ConnectionPool(tables_ready, min_size=1, max_size=2, open=True)
    try:
        async with opened(flavour, pool) as adapter:
            assert adapter.pool is pool
            await Harness(adapter).insert_user(user, key, NOW)
            assert await Harness(adapter).get_user(user.id) == user
        # The adapter is closed; the pool is still the application's, and open.
        assert not pool.closed
        if isinstance(pool, AsyncConnectionPool):
            async with pool.connection() as conn:
                cursor = await conn.execute("SELECT 1")
                assert await cursor.fetchone() == (1,)
        else:
            with pool.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        if isinstance(pool, AsyncConnectionPool):
            await pool.close()
        else:
            pool.close()


async def test_a_non_autocommit_pool_still_gets_atomic_and_committed_writes(
    flavour: str, tables_ready: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The pool's connections are not in autocommit mode (psycopg's default): the
    # adapter switches each one for its call and back before returning it.
    user, key = new_user()
    intruder = UserRecord(f"u-{secrets.token_hex(6)}", {})
    pool: Any
    if flavour == "async":
        pool = AsyncConnectionPool(tables_ready, min_size=1, max_size=1, open=False)
        await pool.open()
    else:
        pool = ConnectionPool(tables_ready, min_size=1, max_size=1, open=True)
    try:
        async with opened(flavour, pool) as adapter:
            store = Harness(adapter)
            await store.insert_user(user, key, NOW)
            with pytest.raises(DuplicateKeyError):
                await store.insert_user(intruder, key, NOW)
            await store.update_user_attributes(user.id, {"plan": "pro"})
            with caplog.at_level(logging.INFO, logger="psycopg.pool"):
                assert await store.get_user(user.id) is not None
        # In autocommit mode for the call, a read leaves no transaction for the
        # pool to roll back when the connection comes back.
        assert not [r for r in caplog.records if "rolling back" in r.getMessage()]
        # Committed (another connection sees it), and the failed insert left nothing.
        assert user_count(tables_ready, user.id) == 1
        assert user_count(tables_ready, intruder.id) == 0
        assert query(
            tables_ready, "SELECT attributes FROM auth_user WHERE id = %s", (user.id,)
        ) == [({"plan": "pro"},)]
        # The application gets its connection back as it configured it, idle.
        if isinstance(pool, AsyncConnectionPool):
            async with pool.connection() as conn:
                assert conn.autocommit is False
                assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        else:
            with pool.connection() as conn:
                assert conn.autocommit is False
                assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        if isinstance(pool, AsyncConnectionPool):
            await pool.close()
        else:
            pool.close()


async def test_a_busy_pool_times_out_with_a_clean_error(flavour: str, tables_ready: str) -> None:
    async with opened(flavour, tables_ready, max_size=1, connect_timeout=0.5) as adapter:
        store = Harness(adapter)
        await store.get_user("warm-up")
        pool = Harness(adapter.pool)
        held = await pool.getconn()
        try:
            started = time.monotonic()
            with pytest.raises(DatabaseError) as caught:
                await store.get_user("nobody")
            assert time.monotonic() - started < 5
        finally:
            await pool.putconn(held)
        assert "pool timeout" in str(caught.value)
        assert adapter.driver.target in str(caught.value)
        assert await store.get_user("nobody") is None


async def test_concurrent_first_calls_open_the_async_pool_once(tables_ready: str) -> None:
    adapter = AsyncPostgresAdapter(tables_ready, max_size=3)
    try:
        results = await asyncio.gather(*(adapter.get_user(f"nobody-{n}") for n in range(20)))
        assert results == [None] * 20
        assert adapter.driver.loop is asyncio.get_running_loop()
    finally:
        await adapter.aclose()
    assert adapter.pool.closed
    with pytest.raises(DatabaseError, match="closed"):
        await adapter.get_user("nobody")


def test_async_adapter_closes_from_sync_code_after_its_loop_stopped(tables_ready: str) -> None:
    adapter = AsyncPostgresAdapter(tables_ready, max_size=2)
    with asyncio.Runner() as runner:
        assert runner.run(adapter.get_user("nobody")) is None
        adapter.close()  # the loop is not running: close() runs aclose() in it
        assert adapter.pool.closed
    never_opened = AsyncPostgresAdapter(tables_ready)
    never_opened.close()
    assert never_opened.driver.closed


async def test_sync_close_inside_the_loop_schedules_the_close(tables_ready: str) -> None:
    adapter = AsyncPostgresAdapter(tables_ready, max_size=2)
    assert await adapter.get_user("nobody") is None
    adapter.close()
    for _ in range(100):
        if adapter.pool.closed:
            break
        await asyncio.sleep(0.01)
    assert adapter.pool.closed


async def test_statements_are_prepared_on_the_connection(flavour: str, tables_ready: str) -> None:
    user, key = new_user()
    session = new_session(user.id)
    async with opened(flavour, tables_ready, min_size=1, max_size=1) as adapter:
        store = Harness(adapter)
        await store.insert_user(user, key, NOW)
        await store.insert_session(session)
        for _ in range(8):
            assert await store.get_session_and_user(session.id) is not None
        # The pool's only connection: the one that ran the validations.
        pool = Harness(adapter.pool)
        conn = await pool.getconn()
        try:
            cursor = await Harness(conn).execute("SELECT statement FROM pg_prepared_statements")
            rows = await Harness(cursor).fetchall()
        finally:
            await pool.putconn(conn)
    expected = adapter.q.get_session_and_user.replace("%s", "$1")
    assert expected in [row[0] for row in rows]


# --- errors -------------------------------------------------------------------------


async def test_duplicate_second_insert_leaves_no_user_and_no_values_in_message(
    flavour: str, tables_ready: str
) -> None:
    user, key = new_user()
    key.provider_user_id = f"secret-identity-{secrets.token_hex(4)}"
    second = UserRecord(f"u-{secrets.token_hex(6)}", {})
    async with opened(flavour, tables_ready) as adapter:
        store = Harness(adapter)
        await store.insert_user(user, key, NOW)
        with pytest.raises(DuplicateKeyError) as caught:
            await store.insert_user(second, key, NOW)
    assert key.provider_user_id not in str(caught.value)
    assert caught.value.__cause__ is None
    assert user_count(tables_ready, second.id) == 0
    assert user_count(tables_ready, user.id) == 1


async def test_rows_of_a_missing_user_are_user_not_found(flavour: str, tables_ready: str) -> None:
    missing = f"missing-{secrets.token_hex(4)}"
    async with opened(flavour, tables_ready) as adapter:
        store = Harness(adapter)
        with pytest.raises(UserNotFoundError) as caught:
            await store.insert_key(KeyRecord("github", missing, missing))  # a key no other test has
        assert missing not in str(caught.value)
        with pytest.raises(UserNotFoundError):
            await store.insert_session(new_session(missing))


async def test_errors_name_the_cause_never_the_values(flavour: str, postgres_conninfo: str) -> None:
    tables = Tables("nowhere_user", "nowhere_key", "nowhere_session")
    async with opened(flavour, postgres_conninfo, tables=tables) as adapter:
        store = Harness(adapter)
        with pytest.raises(DatabaseError) as caught:
            await store.get_user("someone")
        assert "42P01" in str(caught.value)
        assert 'relation "nowhere_user" does not exist' in str(caught.value)
        # A NUL cannot be stored in TEXT: refused without quoting the value.
        with pytest.raises(DatabaseError) as refused:
            await store.get_user("evil\x00value")
        assert "evil" not in str(refused.value)


@pytest.mark.parametrize("form", ["conninfo", "url"])
async def test_unreachable_server_fails_quickly_without_the_password(
    flavour: str, form: str
) -> None:
    port = closed_port()
    if form == "url":
        conninfo = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/test"
    else:
        conninfo = f"host=127.0.0.1 port={port} user=postgres password={PASSWORD} dbname=test"
    started = time.monotonic()
    async with opened(flavour, conninfo, connect_timeout=1) as adapter:
        assert PASSWORD not in repr(adapter)
        with pytest.raises(DatabaseError) as caught:
            await Harness(adapter).get_user("someone")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message == f"PostgreSQL unreachable at 127.0.0.1:{port}: connection refused"
    assert PASSWORD not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_malformed_conninfo_is_refused_without_quoting_it() -> None:
    with pytest.raises(DatabaseError) as caught:
        PostgresAdapter(f"host=127.0.0.1 password={PASSWORD} broken")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(TypeError):
        PostgresAdapter(42)  # type: ignore[arg-type]


# --- outages --------------------------------------------------------------------------


async def test_outage_gives_clean_errors_and_recovers(flavour: str, tables_ready: str) -> None:
    user, key = new_user()
    # Long enough for a new connection on a loaded machine once the proxy is back.
    timeout = 2.0
    with proxied(tables_ready) as (proxy, through_proxy):
        async with opened(flavour, through_proxy, max_size=2, connect_timeout=timeout) as adapter:
            store = Harness(adapter)
            await store.insert_user(user, key, NOW)
            proxy.cut()
            # The pooled connections fail as they are used; then no new one can
            # be made and the wait for one ends at the pool timeout.
            messages: list[str] = []
            for _ in range(4):
                started = time.monotonic()
                with pytest.raises(DatabaseError) as caught:
                    await store.get_user(user.id)
                # Bounded by the pool timeout (plus libpq's 2 s connect minimum).
                assert time.monotonic() - started < timeout + 4
                messages.append(str(caught.value))
                if "unreachable" in messages[-1]:
                    break
            assert messages[-1].startswith(f"PostgreSQL unreachable at 127.0.0.1:{proxy.port}: ")
            assert all(f"127.0.0.1:{proxy.port}" in message for message in messages)
            proxy.restore()
            assert await store.get_user(user.id) == user
            assert await store.get_user_by_key(key.provider_id, key.provider_user_id) is not None


@pytest.mark.parametrize("cut_after", ["insert_user", "insert_key"])
async def test_insert_user_cut_midway_leaves_no_half_written_user(
    flavour: str, tables_ready: str, cut_after: str
) -> None:
    user, key = new_user()
    with proxied(tables_ready) as (proxy, through_proxy):
        async with opened(flavour, through_proxy, connect_timeout=1) as adapter:
            statement = getattr(adapter.q, cut_after)
            _cut_after_statement(adapter, proxy, statement)
            with pytest.raises(DatabaseError):
                await Harness(adapter).insert_user(user, key, NOW)
            proxy.restore()
            # Nothing was committed half-way...
            assert user_count(tables_ready, user.id) == 0
    # ...and once the server has ended the orphaned session, it rolled back: neither row.
    assert user_count(tables_ready, user.id) == 0
    keys = query(tables_ready, "SELECT count(*) FROM auth_key WHERE user_id = %s", (user.id,))
    assert keys == [(0,)]


def _cut_after_statement(adapter: Adapter, proxy: TCPProxy, statement: str) -> None:
    """Make the server go away right after ``statement`` ran, mid-transaction."""
    driver: Any = adapter.driver
    execute = driver.execute
    if inspect.iscoroutinefunction(execute):

        async def cutting(conn: Any, sql: str, params: tuple[Any, ...]) -> int:
            count: int = await execute(conn, sql, params)
            if sql == statement:
                proxy.cut()
            return count

        driver.execute = cutting
    else:

        def cutting_sync(conn: Any, sql: str, params: tuple[Any, ...]) -> int:
            count: int = execute(conn, sql, params)
            if sql == statement:
                proxy.cut()
            return count

        driver.execute = cutting_sync


async def test_idle_connection_closed_by_the_server_is_replaced(
    flavour: str, tables_ready: str
) -> None:
    # The server (a restart, an idle timeout, an administrator) closes a pooled
    # connection while it sits idle: the next call gets a fresh one instead of an error.
    async with opened(flavour, tables_ready, min_size=1, max_size=1) as adapter:
        store = Harness(adapter)
        assert await store.get_user("nobody") is None
        pool = Harness(adapter.pool)
        conn = await pool.getconn()
        pid = conn.info.backend_pid
        await pool.putconn(conn)
        assert query(tables_ready, "SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
        for _ in range(100):  # until the server has closed its end
            if not query(tables_ready, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)):
                break
            await asyncio.sleep(0.01)
        assert await store.get_user("nobody") is None
