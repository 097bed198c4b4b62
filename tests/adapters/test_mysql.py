"""What is particular to MySQL/MariaDB: byte-exact keys, the schema, the pools, failures.

Runs against the server of ``tests/servers.py`` (a database made for this run).
Outages are made with ``TCPProxy``: the real server is never stopped.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiomysql
import pymysql
import pytest

# The registry first: it imports backends_mysql, which imports it back.
import tests.conformance.backends  # noqa: F401
from lucia import AsyncLucia, DatabaseError, DuplicateKeyError, Lucia, UserNotFoundError
from lucia.adapters import _mysql_base as mysql_module
from lucia.adapters.base import KeyRecord, UserRecord
from lucia.adapters.mysql import AsyncMySQLAdapter, MySQLAdapter
from lucia.adapters.sql import Tables
from tests.conformance.backends_mysql import fresh_tables
from tests.conftest import Harness
from tests.tcpproxy import TCPProxy

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PASSWORD = "s3cret-xyz"
Adapter = MySQLAdapter | AsyncMySQLAdapter


@contextmanager
def admin(url: str) -> Iterator[Any]:
    """A plain PyMySQL cursor on the test database, outside lucia."""
    parts = urlsplit(url)
    conn = pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/"),
        autocommit=True,
    )
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.close()


def _with_address(url: str, port: int, password: str | None = None, host: str = "127.0.0.1") -> str:
    """``url`` pointed at ``host``:``port`` (optionally with a password)."""
    parts = urlsplit(url)
    user = parts.username or "root"
    credentials = f"{user}:{password}" if password else user
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}:{port}"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shown(exc: BaseException) -> str:
    """Every message a traceback of ``exc`` would print (the chain included)."""
    shown: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        shown.append(repr(seen))
        shown.extend(traceback.format_exception_only(seen))
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return "".join(shown)


def _server(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 3306


@pytest.fixture
def url(mysql_url: str) -> str:
    fresh_tables(mysql_url)
    return mysql_url


@pytest.fixture(params=["sync", "async"])
async def adapter(request: pytest.FixtureRequest, url: str) -> AsyncIterator[Adapter]:
    if request.param == "sync":
        sync = MySQLAdapter(url)
        yield sync
        sync.close()
    else:
        async_adapter = AsyncMySQLAdapter(url)
        yield async_adapter
        await async_adapter.aclose()


@pytest.fixture
def store(adapter: Adapter) -> Harness:
    return Harness(adapter)


@pytest.fixture
def auth(adapter: Adapter) -> Harness:
    return Harness(
        AsyncLucia(adapter) if isinstance(adapter, AsyncMySQLAdapter) else Lucia(adapter)
    )


# The schema


def test_schema_compares_keys_and_ids_byte_for_byte(url: str) -> None:
    with admin(url) as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLLATION_NAME"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            " AND TABLE_NAME IN ('auth_user', 'auth_key', 'auth_session', 'auth_token')"
        )
        columns = {(t, c): (kind, collation) for t, c, kind, collation in cursor.fetchall()}
        cursor.execute(
            "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE()"
        )
        tables = {name: (engine, collation) for name, engine, collation in cursor.fetchall()}
        cursor.execute(
            "SELECT TABLE_NAME, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS"
            " WHERE CONSTRAINT_SCHEMA = DATABASE()"
        )
        cascades = sorted(cursor.fetchall())
        cursor.execute(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS"
            " WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1"
        )
        indexed = set(cursor.fetchall())
    # VARBINARY: the "binary" character set, compared byte for byte with no
    # padding (utf8mb4_bin is PAD SPACE: 'alice' = 'alice ').
    for column in [
        ("auth_user", "id"),
        ("auth_key", "provider_id"),
        ("auth_key", "provider_user_id"),
        ("auth_key", "user_id"),
        ("auth_session", "id"),
        ("auth_session", "user_id"),
        ("auth_token", "user_id"),
        ("auth_token", "purpose"),
    ]:
        assert columns[column] == ("varbinary", None), column
    assert columns["auth_session", "secret_hash"] == ("binary", None)
    assert columns["auth_token", "id_hash"] == ("binary", None)
    for column in [
        ("auth_user", "created_at"),
        ("auth_session", "expires_at"),
        ("auth_token", "expires_at"),
    ]:
        assert columns[column] == ("bigint", None)
    for column in [
        ("auth_user", "attributes"),
        ("auth_session", "attributes"),
        ("auth_token", "data"),
    ]:
        assert columns[column] == ("longtext", "utf8mb4_bin")
    for table in ("auth_user", "auth_key", "auth_session", "auth_token"):
        engine, collation = tables[table]
        assert engine == "InnoDB"
        assert collation.startswith("utf8mb4_")
    assert cascades == [
        ("auth_key", "CASCADE"),
        ("auth_session", "CASCADE"),
        ("auth_token", "CASCADE"),
    ]
    assert {
        ("auth_key", "user_id"),
        ("auth_session", "user_id"),
        ("auth_session", "expires_at"),
        ("auth_token", "user_id"),
        ("auth_token", "expires_at"),
    } <= indexed


def test_attributes_must_be_json(url: str) -> None:
    with admin(url) as cursor, pytest.raises(pymysql.err.MySQLError) as caught:
        cursor.execute("INSERT INTO auth_user VALUES ('u1', 'not json', 0)")
    assert caught.value.args[0] in {3819, 4025}  # MySQL, MariaDB: check constraint failed


def test_create_tables_is_idempotent_with_custom_names(mysql_url: str) -> None:
    tables = Tables("people", "logins", "visits")
    adapter = MySQLAdapter(mysql_url, tables=tables)
    adapter.create_tables()
    auth = Lucia(adapter)
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    adapter.create_tables()
    assert auth.validate_session(session.token) is not None
    with admin(mysql_url) as cursor:
        cursor.execute("SELECT count(*) FROM visits")
        assert cursor.fetchone() == (1,)
        for table in ("people_token", "visits", "logins", "people"):
            cursor.execute(f"DROP TABLE {table}")
    adapter.close()


# Keys are exact


async def test_sec10_case_and_trailing_spaces_make_distinct_keys(auth: Harness) -> None:
    spellings = ["Alice", "alice", "ALICE ", "alice ", "alice  "]
    users = [await auth.create_user("github", spelling) for spelling in spellings]
    assert len({user.id for user in users}) == len(spellings)
    for spelling, user in zip(spellings, users, strict=True):
        assert (await auth.get_user_by_key("github", spelling)).id == user.id
    assert await auth.get_user_by_key("github", "ALICE") is None
    assert await auth.get_user_by_key("github ", "Alice") is None
    assert await auth.get_user_by_key("GitHub", "Alice") is None
    # Ids are exact too.
    padded = await auth.create_user("email", "a@example.com", user_id="ada ")
    plain = await auth.create_user("email", "b@example.com", user_id="ada")
    assert (await auth.get_user("ada ")).id == padded.id
    assert (await auth.get_user("ada")).id == plain.id
    assert await auth.get_user("ADA") is None


async def test_unicode_keys_and_attributes_round_trip_exactly(auth: Harness) -> None:
    attributes = {"name": "Zoë ✓ 🦊", "big": 2**70, "ratio": 1.0, "nested": {"b": 1, "a": [2]}}
    user = await auth.create_user("github", "🦊" * 255, attributes=attributes)
    found = await auth.get_user_by_key("github", "🦊" * 255)
    assert found.id == user.id
    assert found.attributes == attributes
    assert type(found.attributes["ratio"]) is float


# Statement behaviour


async def test_update_key_password_with_unchanged_hash_reports_found(store: Harness) -> None:
    await store.insert_user(UserRecord("u1"), KeyRecord("email", "a@example.com", "u1", "h1"), NOW)
    # FOUND_ROWS: a row matched but left unchanged still counts.
    assert await store.update_key_password("email", "a@example.com", "h1")
    assert await store.update_key_password("email", "a@example.com", "h1")
    assert await store.update_key_password("email", "a@example.com", None)
    assert await store.update_key_password("email", "a@example.com", None)
    assert not await store.update_key_password("email", "nobody@example.com", "h1")


async def test_integrity_errors_never_quote_row_values(store: Harness) -> None:
    await store.insert_user(UserRecord("u1"), KeyRecord("github", "private-42", "u1"), NOW)
    with pytest.raises(DuplicateKeyError) as duplicate:
        await store.insert_user(UserRecord("u2"), KeyRecord("github", "private-42", "u2"), NOW)
    with pytest.raises(UserNotFoundError) as missing:
        await store.insert_key(KeyRecord("github", "private-43", "no-such-user"))
    for caught in (duplicate, missing):
        shown = _shown(caught.value)
        assert "private-4" not in shown
        assert "Duplicate entry" not in shown
    assert await store.get_user("u2") is None


async def test_too_long_values_fail_instead_of_being_truncated(
    adapter: Adapter, store: Harness
) -> None:
    async with _connection(adapter) as conn:
        mode = await _query(conn, "SELECT @@SESSION.sql_mode")
    assert "STRICT_ALL_TABLES" in mode[0][0]
    with pytest.raises(DatabaseError, match="1406"):
        await store.insert_user(UserRecord("u" * 256), KeyRecord("github", "1", "u" * 256), NOW)
    assert await store.get_user("u" * 255) is None
    assert await store.get_user_by_key("github", "1") is None


async def test_connections_are_utf8mb4_autocommit_found_rows(adapter: Adapter) -> None:
    async with _connection(adapter) as conn:
        rows = await _query(conn, "SELECT @@character_set_client, @@autocommit")
        assert rows == [("utf8mb4", 1)]
        assert conn.client_flag & pymysql.constants.CLIENT.FOUND_ROWS


# The sync pool


def _count_connects(adapter: MySQLAdapter) -> list[Any]:
    made: list[Any] = []
    connect = adapter.driver.pool._connect

    def counting() -> Any:
        conn = connect()
        made.append(conn)
        return conn

    adapter.driver.pool._connect = counting  # type: ignore[method-assign]
    return made


def test_pool_bounds_concurrent_connections(url: str) -> None:
    adapter = MySQLAdapter(url, pool_size=2)
    made = _count_connects(adapter)
    running = peak = 0
    lock = threading.Lock()
    fetch_one = adapter.driver.fetch_one

    def slow_fetch_one(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return fetch_one(conn, sql, params)

    adapter.driver.fetch_one = slow_fetch_one  # type: ignore[method-assign]
    threads = [threading.Thread(target=adapter.get_user, args=(f"u{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2
    assert len(made) == 2
    adapter.close()
    assert not any(conn.open for conn in made)


def _wait_closed_by_server(conn: Any) -> None:
    # KILL returns before the server has closed the socket.
    select.select([conn._sock], [], [], 5)


def test_pool_replaces_an_idle_connection_the_server_closed(url: str) -> None:
    adapter = MySQLAdapter(url, pool_size=1)
    made = _count_connects(adapter)
    assert adapter.get_user("u1") is None
    with admin(url) as cursor:
        cursor.execute("KILL CONNECTION %s", (made[0].thread_id(),))
    _wait_closed_by_server(made[0])
    assert adapter.get_user("u1") is None  # no error: noticed at checkout
    assert len(made) == 2
    assert not made[0].open
    adapter.close()


def test_pool_discards_a_connection_that_failed_during_a_call(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = MySQLAdapter(url, pool_size=1)
    made = _count_connects(adapter)
    adapter.get_user("u1")
    with admin(url) as cursor:
        cursor.execute("KILL CONNECTION %s", (made[0].thread_id(),))
    _wait_closed_by_server(made[0])
    # Skip the checkout test, so the call itself meets the dead connection.
    monkeypatch.setattr(mysql_module, "_idle_connection_is_sound", lambda conn: True)
    with pytest.raises(DatabaseError, match="unreachable"):
        adapter.get_user("u1")
    assert adapter.get_user("u1") is None
    assert len(made) == 2
    adapter.close()


def test_pool_wait_times_out(url: str) -> None:
    adapter = MySQLAdapter(url, pool_size=1, pool_timeout=0.2)
    with adapter.driver.connection():
        started = time.monotonic()
        with pytest.raises(DatabaseError, match=r"no MySQL connection came free within 0.2 s"):
            adapter.get_user("u1")
        assert time.monotonic() - started < 2
    assert adapter.get_user("u1") is None  # the slot came back
    adapter.close()
    with pytest.raises(DatabaseError, match="closed"):
        adapter.get_user("u1")


def test_pool_closes_a_connection_left_in_a_transaction(url: str) -> None:
    adapter = MySQLAdapter(url, pool_size=1)
    made = _count_connects(adapter)
    with adapter.driver.connection() as conn:
        adapter.driver.begin(conn)
    assert not made[0].open
    assert adapter.get_user("u1") is None
    assert len(made) == 2
    adapter.close()


# The async pool


async def test_async_pool_is_made_once_and_bounds_connections(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[Any] = []
    create_pool = aiomysql.create_pool

    async def counting_create_pool(**kwargs: Any) -> Any:
        await asyncio.sleep(0.01)  # let the other callers catch up
        pools.append(await create_pool(**kwargs))
        return pools[-1]

    monkeypatch.setattr(aiomysql, "create_pool", counting_create_pool)
    adapter = AsyncMySQLAdapter(url, pool_size=2)
    running = peak = 0
    fetch_one = adapter.driver.fetch_one

    async def slow_fetch_one(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return await fetch_one(conn, sql, params)

    adapter.driver.fetch_one = slow_fetch_one  # type: ignore[method-assign]
    assert await asyncio.gather(*(adapter.get_user(f"u{n}") for n in range(8))) == [None] * 8
    assert len(pools) == 1
    assert peak == 2
    assert pools[0].size == 2
    await adapter.aclose()
    assert pools[0].closed
    with pytest.raises(DatabaseError, match="closed"):
        await adapter.get_user("u1")


async def test_async_pool_wait_times_out(url: str) -> None:
    adapter = AsyncMySQLAdapter(url, pool_size=1, pool_timeout=0.2)
    async with adapter.driver.connection():
        started = time.monotonic()
        with pytest.raises(DatabaseError, match=r"no MySQL connection came free within 0.2 s"):
            await adapter.get_user("u1")
        assert time.monotonic() - started < 2
    assert await adapter.get_user("u1") is None
    await adapter.aclose()


async def test_async_pool_replaces_an_idle_connection_the_server_closed(url: str) -> None:
    adapter = AsyncMySQLAdapter(url, pool_size=1)
    async with adapter.driver.connection() as conn:
        first = conn.thread_id()
    with admin(url) as cursor:
        cursor.execute("KILL CONNECTION %s", (first,))
    for _ in range(50):  # until the loop has seen the server close it
        if conn._reader is None or conn._reader.at_eof() or conn._reader.exception():
            break
        await asyncio.sleep(0.02)
    assert await adapter.get_user("u1") is None
    async with adapter.driver.connection() as conn:
        assert conn.thread_id() != first
    await adapter.aclose()


async def test_cancelled_call_leaves_no_half_read_connection(url: str) -> None:
    adapter = AsyncMySQLAdapter(url, pool_size=1, pool_timeout=5)
    await adapter.insert_user(UserRecord("u1", {"a": 0}), KeyRecord("github", "1", "u1"), NOW)
    await adapter.insert_user(UserRecord("u2", {"b": 0}), KeyRecord("github", "2", "u2"), NOW)
    with admin(url) as cursor:
        # Hold u1's row lock so that the update waits inside the server.
        cursor.execute("BEGIN")
        cursor.execute("SELECT id FROM auth_user WHERE id = 'u1' FOR UPDATE")
        update = asyncio.create_task(adapter.update_user_attributes("u1", {"a": 1}))
        await asyncio.sleep(0.3)
        update.cancel()
        with pytest.raises(asyncio.CancelledError):
            await update
        cursor.execute("ROLLBACK")
    # The one connection was mid-statement: it was dropped, not handed on with
    # the update's reply still to come, and its slot came back.
    assert (await adapter.get_user("u2")).attributes == {"b": 0}
    assert (await adapter.get_user("u1")).attributes == {"a": 0}
    assert (await adapter.update_user_attributes("u1", {"a": 2})).attributes == {"a": 2}
    await adapter.aclose()


def test_async_adapter_follows_a_new_event_loop(url: str) -> None:
    adapter = AsyncMySQLAdapter(url)
    assert asyncio.run(adapter.get_user("u1")) is None
    assert asyncio.run(adapter.get_user("u1")) is None  # asyncio.run again: a new loop
    asyncio.run(adapter.aclose())
    with pytest.raises(DatabaseError, match="closed"):
        asyncio.run(adapter.get_user("u1"))


# Unreachable servers and outages


@pytest.mark.parametrize("flavour", [MySQLAdapter, AsyncMySQLAdapter])
async def test_closed_port_gives_a_quick_clean_error(flavour: type[Adapter]) -> None:
    port = _closed_port()
    adapter = flavour(f"mysql://root:{PASSWORD}@127.0.0.1:{port}/lucia", connect_timeout=3)
    started = time.monotonic()
    with pytest.raises(DatabaseError) as caught:
        await Harness(adapter).get_user("u1")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert f"MySQL unreachable at 127.0.0.1:{port}" in message
    assert "errno 2003" in message
    assert "connection refused" in message
    for shown in (
        message,
        repr(caught.value),
        _shown(caught.value),
        repr(adapter),
    ):
        assert PASSWORD not in shown
    assert repr(adapter) == f"{flavour.__name__}('mysql://root@127.0.0.1:{port}/lucia')"


@pytest.mark.parametrize("flavour", [MySQLAdapter, AsyncMySQLAdapter])
async def test_server_errors_are_named_without_their_text(url: str, flavour: type[Adapter]) -> None:
    missing = flavour(url, tables=Tables("no_user", "no_key", "no_session"))
    with pytest.raises(
        DatabaseError, match=r"MySQL error 1146 at .*: table missing; run create_tables"
    ) as caught:
        await Harness(missing).get_user("u1")
    host, port = _server(url)
    refused = flavour(_with_address(url, port, password=PASSWORD, host=host))
    with pytest.raises(
        DatabaseError, match=r"MySQL error (1045|1698) at .*: access denied"
    ) as caught:
        await Harness(refused).get_user("u1")
    assert PASSWORD not in _shown(caught.value)
    for adapter in (missing, refused):
        if isinstance(adapter, AsyncMySQLAdapter):
            await adapter.aclose()
        else:
            adapter.close()


class _Tap:
    """Wraps a driver's statement methods: notes the server sessions they use, and
    can cut the proxy right after one statement (to interrupt a transaction)."""

    def __init__(self, adapter: Adapter, proxy: TCPProxy) -> None:
        self.proxy = proxy
        self.sessions: set[int] = set()
        self.cut_after: str | None = None
        self.cut_session: int | None = None
        driver: Any = adapter.driver
        for name in ("fetch_one", "fetch_all", "execute"):
            original = getattr(driver, name)
            wrap = self._async if isinstance(adapter, AsyncMySQLAdapter) else self._sync
            setattr(driver, name, wrap(original))

    def _seen(self, conn: Any, sql: str) -> None:
        self.sessions.add(conn.thread_id())
        if sql == self.cut_after:
            self.cut_after = None
            self.cut_session = conn.thread_id()
            self.proxy.cut()

    def _sync(self, original: Any) -> Any:
        def call(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
            result = original(conn, sql, params)
            self._seen(conn, sql)
            return result

        return call

    def _async(self, original: Any) -> Any:
        async def call(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
            result = await original(conn, sql, params)
            self._seen(conn, sql)
            return result

        return call


def _kill(url: str, sessions: set[int]) -> None:
    """End these server sessions, if they still exist.

    After a real network failure a server may keep a dead client's session, and
    an interrupted transaction's locks, until TCP keepalive or wait_timeout
    notice (hours); KILL stands in for that and leaves the shared server clean.
    """
    with admin(url) as cursor:
        for session in sessions:
            with suppress(pymysql.err.MySQLError):  # already gone
                cursor.execute("KILL CONNECTION %s", (session,))


@pytest.mark.parametrize("flavour", [MySQLAdapter, AsyncMySQLAdapter])
async def test_outage_mid_run(url: str, flavour: type[Adapter]) -> None:
    with TCPProxy(*_server(url)) as proxy:
        adapter = flavour(_with_address(url, proxy.port), connect_timeout=3, pool_timeout=3)
        tap = _Tap(adapter, proxy)
        auth = Harness(AsyncLucia(adapter) if flavour is AsyncMySQLAdapter else Lucia(adapter))
        try:
            user = await auth.create_user("github", "1")
            session = await auth.create_session(user.id)

            proxy.cut()
            for call, args in [
                (auth.validate_session, (session.token,)),
                (auth.get_user, (user.id,)),
                (auth.create_user, ("github", "2")),
                (auth.validate_session, (session.token,)),
            ]:
                started = time.monotonic()
                with pytest.raises(DatabaseError, match=r"MySQL unreachable at 127\.0\.0\.1:"):
                    await call(*args)
                assert time.monotonic() - started < 2

            proxy.restore()
            assert (await auth.validate_session(session.token))[1].id == user.id
            assert (await auth.get_user(user.id)) == user

            # The link dies between the two INSERTs of one user.
            tap.cut_after = adapter.q.insert_user
            with pytest.raises(DatabaseError, match="unreachable"):
                await auth.create_user("github", "3", user_id="half-written")
            proxy.restore()
            # Neither row is there, whether or not the server has noticed yet...
            assert await auth.get_user("half-written") is None
            assert await auth.get_user_by_key("github", "3") is None
            # ... and once it drops the orphaned session, the same insert succeeds.
            assert tap.cut_session is not None
            _kill(url, {tap.cut_session})
            again = await auth.create_user("github", "3", user_id="half-written")
            assert (await auth.get_user_by_key("github", "3")).id == again.id
        finally:
            if isinstance(adapter, AsyncMySQLAdapter):
                await adapter.aclose()
            else:
                adapter.close()
            _kill(url, tap.sessions)


# URLs and arguments


def test_url_forms_and_connect_arguments(url: str) -> None:
    parts = urlsplit(url)
    for scheme in ("mysql+pymysql", "mariadb", "MySQL"):
        adapter = MySQLAdapter(urlunsplit(parts._replace(scheme=scheme)), pool_size=1)
        assert adapter.get_user("u1") is None
        adapter.close()
    params = {
        "host": parts.hostname,
        "port": parts.port or 3306,
        "user": parts.username,
        "database": parts.path.lstrip("/"),
    }
    adapter = MySQLAdapter(params, pool_size=1)
    assert adapter.get_user("u1") is None
    adapter.close()


def test_url_parsing() -> None:
    parsed = mysql_module._parse_url(
        "mysql://ada%40corp:p%40ss%3Aword@db.example:3307/app?unix_socket=/run/m.sock"
    )
    assert parsed == {
        "host": "db.example",
        "port": 3307,
        "user": "ada@corp",
        "password": "p@ss:word",
        "database": "app",
        "unix_socket": "/run/m.sock",
    }
    adapter = MySQLAdapter("mysql://ada:p%40ss@db.example:3307/app?unix_socket=/run/m.sock")
    assert repr(adapter) == "MySQLAdapter('mysql://ada@/run/m.sock/app')"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (f"postgresql://root:{PASSWORD}@127.0.0.1/app", ValueError),
        (f"mysql://root:{PASSWORD}@127.0.0.1:99999/app", ValueError),
        (f"mysql://root:{PASSWORD}@127.0.0.1/app/extra", ValueError),
        (f"mysql://root:{PASSWORD}@127.0.0.1/app?sslmode=require", ValueError),
        (f"mysql://root:{PASSWORD}@127.0.0.1/app?read_timeout=soon", ValueError),
        ({"host": "127.0.0.1", "password": PASSWORD, "colour": "blue"}, TypeError),
        (42, TypeError),
    ],
)
def test_bad_arguments_are_refused_without_echoing_the_password(bad: Any, error: type) -> None:
    for flavour in (MySQLAdapter, AsyncMySQLAdapter):
        with pytest.raises(error) as caught:
            flavour(bad)
        assert PASSWORD not in str(caught.value)


def test_async_takes_read_timeout_as_its_call_bound() -> None:
    # aiomysql has no socket timeouts: the adapter bounds each call instead.
    assert AsyncMySQLAdapter("mysql://root@127.0.0.1/app?read_timeout=5").driver.call_timeout == 5
    assert AsyncMySQLAdapter("mysql://root@127.0.0.1/app").driver.call_timeout == 10


# Helpers running one statement on a pooled connection, sync or async.


class _connection:
    """``async with _connection(adapter) as conn``: the driver's connection, either flavour."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.manager: Any = adapter.driver.connection()

    async def __aenter__(self) -> Any:
        if isinstance(self.adapter, AsyncMySQLAdapter):
            return await self.manager.__aenter__()
        return self.manager.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        if isinstance(self.adapter, AsyncMySQLAdapter):
            await self.manager.__aexit__(*exc)
        else:
            self.manager.__exit__(*exc)


async def _query(conn: Any, sql: str) -> list[Any]:
    if isinstance(conn, pymysql.connections.Connection):
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    async with conn.cursor() as cursor:
        await cursor.execute(sql)
        return list(await cursor.fetchall())
