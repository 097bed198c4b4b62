"""The SQLAlchemy adapter: its Table objects, transactions, errors and SQLite specifics.

Its behaviour as a store is the conformance suite's (tests/conformance, backends
sqlalchemy-sqlite and sqlalchemy-postgres); these tests cover what is particular
to SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    URL,
    BigInteger,
    Column,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    make_url,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.mysql.mariadb import MariaDBDialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateTable

from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.adapters.sql import Tables
from lucia.adapters.sqlalchemy import (
    AsyncSQLAlchemyAdapter,
    ExactString,
    SQLAlchemyAdapter,
    _to_text,
    key_table,
    lucia_tables,
    metadata,
    session_table,
    token_table,
    user_table,
)
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

# The registry first: it imports backends_sqlalchemy itself, which then finds it.
from tests.conformance import backends as _registry  # noqa: F401  # isort: skip
from tests.conformance.backends_sqlalchemy import postgres_url
from tests.conftest import Harness
from tests.tcpproxy import TCPProxy

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# Not the conformance suite's PostgreSQL tables: these tests leave rows behind.
PG_TABLES = Tables("sat_user", "sat_key", "sat_session")


def user(user_id: str, **attributes: Any) -> UserRecord:
    return UserRecord(user_id, attributes)


def key(provider_user_id: str, user_id: str, provider_id: str = "github") -> KeyRecord:
    return KeyRecord(provider_id, provider_user_id, user_id)


def session(session_id: str, user_id: str) -> SessionRecord:
    return SessionRecord(
        session_id, user_id, NOW + timedelta(days=1), NOW, False, {}, secret_hash=b"h" * 32
    )


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


class Engines:
    """The engines a test makes, disposed of after it whatever happened."""

    def __init__(self) -> None:
        self.made: list[Engine | AsyncEngine] = []

    def sync(self, url: str | URL, **options: Any) -> Engine:
        engine = create_engine(url, **options)
        self.made.append(engine)
        return engine

    def asynchronous(self, url: str | URL, **options: Any) -> AsyncEngine:
        engine = create_async_engine(url, **options)
        self.made.append(engine)
        return engine

    def adapter(
        self, flavour: str, url: str | URL, async_url: str | URL | None = None, **kw: Any
    ) -> Any:
        """A ``SQLAlchemyAdapter`` on ``url`` or an ``AsyncSQLAlchemyAdapter`` on
        ``async_url`` (the same URL by default)."""
        if flavour == "sync":
            return SQLAlchemyAdapter(self.sync(url), **kw)
        return AsyncSQLAlchemyAdapter(self.asynchronous(async_url or url), **kw)

    async def dispose(self) -> None:
        for engine in self.made:
            if isinstance(engine, AsyncEngine):
                await engine.dispose()
            else:
                engine.dispose()


@pytest.fixture
async def engines() -> AsyncIterator[Engines]:
    made = Engines()
    try:
        yield made
    finally:
        await made.dispose()


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A SQLite file with lucia's tables (made through a sync engine)."""
    path = tmp_path / "lucia.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        SQLAlchemyAdapter(engine).create_tables()
    finally:
        engine.dispose()
    return path


@pytest.fixture
def sqlite_store(flavour: str, sqlite_path: Path, engines: Engines) -> Harness:
    """A sync or async adapter on ``sqlite_path``, called as ``await store.method()``."""
    return Harness(
        engines.adapter(flavour, f"sqlite:///{sqlite_path}", f"sqlite+aiosqlite:///{sqlite_path}")
    )


def empty_tables(engine: Engine, adapter: SQLAlchemyAdapter) -> None:
    with engine.begin() as conn:
        for table in reversed(adapter.table_objects.all()):
            conn.execute(delete(table))


@pytest.fixture
def pg_url(postgres_conninfo: str) -> URL:
    """This run's PostgreSQL schema, with empty ``PG_TABLES``."""
    url = postgres_url(postgres_conninfo)
    engine = create_engine(url)
    try:
        adapter = SQLAlchemyAdapter(engine, tables=PG_TABLES)
        adapter.create_tables()
        empty_tables(engine, adapter)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_store(flavour: str, pg_url: URL, engines: Engines) -> Harness:
    return Harness(engines.adapter(flavour, pg_url, tables=PG_TABLES))


# --- The Table objects -------------------------------------------------------


def test_default_tables_hold_lucias_data_model() -> None:
    # What Alembic's env.py imports as target_metadata.
    assert metadata.tables == {
        "auth_user": user_table,
        "auth_key": key_table,
        "auth_session": session_table,
        "auth_token": token_table,
    }

    def shape(table: Table) -> dict[str, tuple[type, bool]]:
        return {c.name: (type(c.type), c.nullable) for c in table.columns}  # type: ignore[misc]

    assert shape(user_table) == {
        "id": (ExactString, False),
        "attributes": (Text, False),
        "created_at": (BigInteger, False),
    }
    assert shape(key_table) == {
        "provider_id": (ExactString, False),
        "provider_user_id": (ExactString, False),
        "user_id": (ExactString, False),
        "hashed_password": (Text, True),
    }
    assert shape(session_table) == {
        "id": (ExactString, False),
        "user_id": (ExactString, False),
        "secret_hash": (LargeBinary, False),
        "expires_at": (BigInteger, False),
        "created_at": (BigInteger, False),
        "attributes": (Text, False),
    }
    assert shape(token_table) == {
        "id_hash": (LargeBinary, False),
        "user_id": (ExactString, False),
        "purpose": (ExactString, False),
        "expires_at": (BigInteger, False),
        "created_at": (BigInteger, False),
        "data": (Text, False),
    }
    assert all(
        c.type.length == 255  # type: ignore[attr-defined]
        for t in (user_table, key_table, session_table, token_table)
        for c in t.columns
        if isinstance(c.type, ExactString)
    )
    assert [c.name for c in user_table.primary_key] == ["id"]
    assert [c.name for c in key_table.primary_key] == ["provider_id", "provider_user_id"]
    assert [c.name for c in session_table.primary_key] == ["id"]
    assert [c.name for c in token_table.primary_key] == ["id_hash"]
    for table in (key_table, session_table, token_table):
        (foreign_key,) = table.foreign_keys
        assert foreign_key.parent is table.c.user_id
        assert foreign_key.column is user_table.c.id
        assert foreign_key.ondelete == "CASCADE"
    indexes = {
        (ix.name, tuple(c.name for c in ix.columns))
        for t in (key_table, session_table, token_table)
        for ix in t.indexes
    }
    assert indexes == {
        ("auth_key_user_id", ("user_id",)),
        ("auth_session_user_id", ("user_id",)),
        ("auth_session_expires_at", ("expires_at",)),
        ("auth_token_user_id_purpose", ("user_id", "purpose")),
        ("auth_token_expires_at", ("expires_at",)),
    }


@pytest.mark.parametrize(
    ("dialect", "collation"),
    [(mysql.dialect(), "utf8mb4_0900_bin"), (MariaDBDialect(), "utf8mb4_nopad_bin")],
    ids=["mysql", "mariadb"],
)
def test_sec10_ids_and_key_parts_compare_exactly_on_mysql_and_mariadb(
    dialect: Any, collation: str
) -> None:
    # Binary (case-sensitive) and NO PAD ('alice' != 'alice ').
    exact = f"VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"
    statements = {
        t.name: str(CreateTable(t).compile(dialect=dialect)) for t in metadata.sorted_tables
    }
    assert f"\tid {exact}" in statements["auth_user"]
    for column in ("provider_id", "provider_user_id", "user_id"):
        assert f"\t{column} {exact}" in statements["auth_key"]
    for column in ("id", "user_id"):
        assert f"\t{column} {exact}" in statements["auth_session"]
    for column in ("user_id", "purpose"):
        assert f"\t{column} {exact}" in statements["auth_token"]
    # A BLOB cannot be a primary key there: the token's SHA-256 is BINARY(32).
    assert "\tid_hash BINARY(32) NOT NULL" in statements["auth_token"]
    assert all("ENGINE=InnoDB" in ddl for ddl in statements.values())


async def test_lucia_tables_with_custom_names(
    tmp_path: Path, flavour: str, engines: Engines
) -> None:
    names = Tables("account", "account_key", "account_session", "account_token")
    own = MetaData()
    tables = lucia_tables(own, names)
    assert [t.name for t in tables.all()] == [
        "account",
        "account_key",
        "account_session",
        "account_token",
    ]
    assert lucia_tables(own, names) == tables  # defined once, found again
    path = tmp_path / "custom.sqlite3"
    engine = engines.sync(f"sqlite:///{path}")
    own.create_all(engine)  # as an application's own migrations would
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == {
        "account",
        "account_key",
        "account_session",
        "account_token",
    }
    assert inspector.get_foreign_keys("account_key")[0]["referred_table"] == "account"
    adapter = engines.adapter(
        flavour,
        f"sqlite:///{path}",
        f"sqlite+aiosqlite:///{path}",
        tables=names,
        metadata=own,
    )
    assert adapter.table_objects == tables
    store = Harness(adapter)
    await store.insert_user(user("u1", plan="pro"), key("ada", "u1"), NOW)
    found = await store.get_user_by_key("github", "ada")
    assert found is not None
    assert found[0] == user("u1", plan="pro")
    assert count_rows(engine, tables.user) == 1


def test_an_application_table_with_more_columns_is_used_as_it_is(
    tmp_path: Path, engines: Engines
) -> None:
    own = MetaData()
    app_user = Table(
        "auth_user",
        own,
        Column("id", String(255), primary_key=True),
        Column("attributes", Text, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("display_name", String(80)),
    )
    assert lucia_tables(own).user is app_user
    engine = engines.sync(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    adapter = SQLAlchemyAdapter(engine, metadata=own)
    adapter.create_tables()
    assert "display_name" in {c["name"] for c in inspect(engine).get_columns("auth_user")}
    adapter.insert_user(user("u1"), key("1", "u1"), NOW)
    assert adapter.get_user("u1") == user("u1")


def test_the_tables_never_take_the_metadata_schema() -> None:
    # lucia's statements name the tables unqualified.
    tables = lucia_tables(MetaData(schema="elsewhere"))
    assert [t.schema for t in tables.all()] == [None, None, None, None]


async def test_create_tables_is_idempotent_and_makes_the_metadata(
    tmp_path: Path, flavour: str, engines: Engines
) -> None:
    path = tmp_path / "fresh.sqlite3"
    store = Harness(engines.adapter(flavour, f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}"))
    await store.create_tables()
    await store.create_tables()
    inspector = inspect(engines.sync(f"sqlite:///{path}"))
    assert set(inspector.get_table_names()) == {
        "auth_user",
        "auth_key",
        "auth_session",
        "auth_token",
    }
    assert {ix["name"] for ix in inspector.get_indexes("auth_session")} == {
        "auth_session_user_id",
        "auth_session_expires_at",
    }
    assert {ix["name"] for ix in inspector.get_indexes("auth_token")} == {
        "auth_token_user_id_purpose",
        "auth_token_expires_at",
    }
    assert {ix["name"] for ix in inspector.get_indexes("auth_key")} == {"auth_key_user_id"}
    assert inspector.get_pk_constraint("auth_key")["constrained_columns"] == [
        "provider_id",
        "provider_user_id",
    ]
    for table in ("auth_key", "auth_session"):
        (foreign_key,) = inspector.get_foreign_keys(table)
        assert foreign_key["referred_table"] == "auth_user"
        assert foreign_key["options"] == {"ondelete": "CASCADE"}


def test_statements_become_text_clauses_with_named_parameters() -> None:
    clause, names = _to_text("SELECT a FROM t WHERE a = ? AND b = ?")
    assert str(clause) == "SELECT a FROM t WHERE a = :p0 AND b = :p1"
    assert names == ("p0", "p1")
    with pytest.raises(ValueError, match="':'"):
        _to_text("SELECT a::text FROM t")


def test_repr_hides_the_password() -> None:
    engine = create_engine("postgresql+psycopg://lucia:s3cret-xyz@127.0.0.1:1/test")
    assert "s3cret-xyz" not in repr(SQLAlchemyAdapter(engine))
    assert "***" in repr(SQLAlchemyAdapter(engine))


# --- SQLite specifics --------------------------------------------------------


async def test_sqlite_foreign_keys_cascade(
    sqlite_store: Harness, sqlite_path: Path, engines: Engines
) -> None:
    await sqlite_store.insert_user(user("u1"), key("1", "u1"), NOW)
    await sqlite_store.insert_key(key("alt", "u1", "google"))
    await sqlite_store.insert_session(session("s1", "u1"))
    await sqlite_store.insert_user(user("u2"), key("2", "u2"), NOW)
    await sqlite_store.insert_session(session("s2", "u2"))
    await sqlite_store.delete_user("u1")
    engine = engines.sync(f"sqlite:///{sqlite_path}")
    assert count_rows(engine, key_table) == 1  # u2's
    assert count_rows(engine, session_table) == 1
    assert await sqlite_store.get_session("s2") is not None
    # And a key for no user is refused, as the foreign key demands.
    with pytest.raises(UserNotFoundError):
        await sqlite_store.insert_key(key("x", "no-such-user"))


def test_sqlite_foreign_keys_on_connections_pooled_before_the_adapter(engines: Engines) -> None:
    engine = engines.sync("sqlite://", poolclass=StaticPool)  # one connection, reused
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    adapter = SQLAlchemyAdapter(engine)
    SQLAlchemyAdapter(engine)  # a second adapter adds no second listener
    adapter.create_tables()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    adapter.insert_user(user("u1"), key("1", "u1"), NOW)
    adapter.insert_session(session("s1", "u1"))
    adapter.delete_user("u1")
    assert count_rows(engine, session_table) == 0
    assert count_rows(engine, key_table) == 0


def test_sqlite_errors_name_the_cause(tmp_path: Path, engines: Engines) -> None:
    adapter = SQLAlchemyAdapter(engines.sync(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    with pytest.raises(DatabaseError) as caught:
        adapter.get_user("secret-user-id")
    assert str(caught.value) == "SQLite error: OperationalError: no such table: auth_user"


def test_a_pool_timeout_is_a_database_error(tmp_path: Path, engines: Engines) -> None:
    engine = engines.sync(
        f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    adapter = SQLAlchemyAdapter(engine)
    adapter.create_tables()
    with engine.connect(), pytest.raises(DatabaseError) as caught:
        adapter.get_user("u1")
    assert str(caught.value) == "SQLite error: no pooled connection free (timed out)"


# --- Transactions ------------------------------------------------------------


@pytest.mark.parametrize("where", ["create_engine", "execution_options"])
def test_an_autocommit_engine_still_writes_user_and_key_atomically(
    tmp_path: Path, where: str, engines: Engines
) -> None:
    url = f"sqlite:///{tmp_path / 'auto.sqlite3'}"
    if where == "create_engine":
        engine = engines.sync(url, isolation_level="AUTOCOMMIT")
    else:
        engine = engines.sync(url).execution_options(isolation_level="AUTOCOMMIT")
    adapter = SQLAlchemyAdapter(engine)
    adapter.create_tables()
    adapter.insert_user(user("u1"), key("1", "u1"), NOW)
    with pytest.raises(DuplicateKeyError):
        adapter.insert_user(user("u2"), key("1", "u2"), NOW)
    assert adapter.get_user("u2") is None
    assert count_rows(engine, user_table) == 1


MERGES = 12


async def _merge_concurrently(store: Harness, is_async: bool) -> dict[str, Any]:
    await store.insert_user(user("u1"), key("1", "u1"), NOW)
    if is_async:
        await asyncio.gather(
            *(store.update_user_attributes("u1", {f"k{n}": n}) for n in range(MERGES))
        )
    else:
        adapter = store.target
        barrier = threading.Barrier(MERGES)

        def merge(n: int) -> None:
            barrier.wait()
            adapter.update_user_attributes("u1", {f"k{n}": n})

        threads = [threading.Thread(target=merge, args=(n,)) for n in range(MERGES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    found = await store.get_user("u1")
    assert found is not None
    return dict(found.attributes)


async def test_concurrent_merges_lose_nothing_on_sqlite(
    sqlite_store: Harness, flavour: str
) -> None:
    # BEGIN IMMEDIATE: the read-merge-write holds SQLite's write lock.
    attributes = await _merge_concurrently(sqlite_store, flavour == "async")
    assert attributes == {f"k{n}": n for n in range(MERGES)}


async def test_concurrent_merges_lose_nothing_on_postgres(pg_store: Harness, flavour: str) -> None:
    # SELECT ... FOR UPDATE: the row stays locked until the merge commits.
    attributes = await _merge_concurrently(pg_store, flavour == "async")
    assert attributes == {f"k{n}": n for n in range(MERGES)}


# --- Errors on PostgreSQL ----------------------------------------------------


async def test_duplicate_key_error_holds_no_values(pg_store: Harness) -> None:
    await pg_store.insert_user(user("u-dup-1"), key("value-7f3a", "u-dup-1"), NOW)
    with pytest.raises(DuplicateKeyError) as caught:
        await pg_store.insert_user(user("u-dup-2"), key("value-7f3a", "u-dup-2"), NOW)
    text = f"{caught.value} {caught.value!r}"
    assert "value-7f3a" not in text
    assert "u-dup" not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert await pg_store.get_user("u-dup-2") is None
    with pytest.raises(UserNotFoundError) as missing:
        await pg_store.insert_key(key("k", "no-user-5e1b"))
    assert "no-user-5e1b" not in f"{missing.value} {missing.value!r}"


def test_other_integrity_errors_name_the_sqlstate_not_the_row(
    pg_url: URL, engines: Engines
) -> None:
    engine = engines.sync(pg_url)
    adapter = SQLAlchemyAdapter(engine, tables=PG_TABLES)
    # A NOT NULL violation, whose server message quotes the whole failing row.
    row = {"id": "row-value-91c2", "attributes": None, "created_at": 1}
    with pytest.raises(sa_exc.IntegrityError) as caught, engine.begin() as conn:
        conn.execute(insert(adapter.table_objects.user).values(row))
    assert "row-value-91c2" in str(caught.value)  # SQLAlchemy's text has it...
    error = adapter.driver.map_error(caught.value)
    assert isinstance(error, DatabaseError)
    assert str(error) == "PostgreSQL error: NotNullViolation (SQLSTATE 23502)"  # ...ours not


async def test_a_server_error_names_the_sqlstate_not_the_values(
    pg_url: URL, flavour: str, engines: Engines
) -> None:
    missing = Tables("no_such_user", "no_such_key", "no_such_session")
    store = Harness(engines.adapter(flavour, pg_url, tables=missing))
    with pytest.raises(DatabaseError) as caught:
        await store.get_user("secret-user-4d2e")
    assert str(caught.value) == "PostgreSQL error: UndefinedTable (SQLSTATE 42P01)"
    # Nor does SQLAlchemy's own exception, left as the (suppressed) context.
    assert isinstance(caught.value.__context__, sa_exc.ProgrammingError)
    assert "secret-user-4d2e" not in str(caught.value.__context__)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_postgres_gives_a_clean_error_without_password(
    flavour: str, engines: Engines
) -> None:
    url = f"postgresql+psycopg://lucia:s3cret-xyz@127.0.0.1:{_closed_port()}/test"
    store = Harness(engines.adapter(flavour, url))
    for call in (store.get_user("u1"), store.create_tables()):
        with pytest.raises(DatabaseError) as caught:
            await call
        assert str(caught.value) == "PostgreSQL unreachable: connection refused"
        assert "s3cret-xyz" not in repr(caught.value)
        assert caught.value.__cause__ is None


async def test_postgres_going_away_gives_clean_errors_and_no_partial_rows(
    pg_url: URL, flavour: str, engines: Engines
) -> None:
    with TCPProxy(pg_url.host or "127.0.0.1", pg_url.port or 5432) as proxy:
        via_proxy = pg_url.set(host="127.0.0.1", port=proxy.port)
        store = Harness(engines.adapter(flavour, via_proxy, tables=PG_TABLES))
        await store.insert_user(user("u1"), key("1", "u1"), NOW)  # a pooled connection
        proxy.cut()
        with pytest.raises(DatabaseError, match=r"^PostgreSQL unreachable: "):
            await store.get_user("u1")
        with pytest.raises(DatabaseError, match=r"^PostgreSQL unreachable: "):
            await store.insert_user(user("u2"), key("2", "u2"), NOW)
        proxy.restore()
        assert await store.get_user("u1") == user("u1")
        assert await store.get_user("u2") is None
        assert await store.get_user_by_key("github", "2") is None


# --- MariaDB -----------------------------------------------------------------


async def test_mariadb_keys_are_exact_and_errors_are_classified(
    mysql_url: str, flavour: str, engines: Engines
) -> None:
    url = make_url(mysql_url)
    names = Tables("sat_user", "sat_key", "sat_session")
    sync_engine = engines.sync(url.set(drivername="mysql+pymysql"))
    setup = SQLAlchemyAdapter(sync_engine, tables=names)
    setup.create_tables()
    empty_tables(sync_engine, setup)
    store = Harness(
        engines.adapter(
            flavour,
            url.set(drivername="mysql+pymysql"),
            url.set(drivername="mysql+aiomysql"),
            tables=names,
        )
    )
    await store.insert_user(user("upper"), key("Alice", "upper"), NOW)
    await store.insert_user(user("lower"), key("alice", "lower"), NOW)
    assert (await store.get_user_by_key("github", "Alice"))[0].id == "upper"
    assert (await store.get_user_by_key("github", "alice"))[0].id == "lower"
    assert await store.get_user_by_key("github", "ALICE") is None
    assert await store.get_user_by_key("github", "alice ") is None  # NO PAD
    await store.insert_user(user("padded"), key("alice ", "padded"), NOW)
    assert (await store.get_user_by_key("github", "alice "))[0].id == "padded"
    with pytest.raises(DuplicateKeyError):  # errno 1062
        await store.insert_user(user("third"), key("alice", "third"), NOW)
    assert await store.get_user("third") is None
    with pytest.raises(UserNotFoundError):  # errno 1452
        await store.insert_key(key("x", "no-such-user"))
    merged = await store.update_user_attributes("upper", {"plan": "pro"})
    assert merged == user("upper", plan="pro")
