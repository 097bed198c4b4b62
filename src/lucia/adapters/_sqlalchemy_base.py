"""What lucia's SQLAlchemy adapters and drivers share: lucia's ``Table`` objects
and how they are created, the error mapping that never passes SQLAlchemy's text
on, the statements as cached ``text()`` clauses, the transaction start; and what
differs between the flavours (how to reach the sync ``Engine``/``Connection``
under an async one, how DDL runs on it), as hooks the adapter and driver
(``lucia/adapters/_async/sqlalchemy.py``, their sync twins generated) call.
``lucia.adapters.sqlalchemy`` documents them and is where they are imported from.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BLANK_SCHEMA,
    BigInteger,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TextClause,
    event,
    inspect,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql
from sqlalchemy.engine.interfaces import DBAPIConnection, IsolationLevel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.compiler import TypeCompiler

from lucia.adapters.sql import DEFAULT_TABLES, Dialect, Statements, Tables
from lucia.adapters.sql.schema import check_columns
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

# Both flavours' classes under plain names, for the generator (it renames
# AsyncEngine to Engine, and there is no sqlalchemy.ext.asyncio.Engine).
__all__ = ["AsyncConnection", "AsyncEngine", "Connection", "Engine"]


# --- The tables ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LuciaTables:
    """lucia's ``Table`` objects."""

    user: Table
    key: Table
    session: Table
    token: Table

    def all(self) -> list[Table]:
        """The tables, parents first (the order to create them in)."""
        return [self.user, self.key, self.session, self.token]


class ExactString(String):
    """``VARCHAR`` compared exactly, byte for byte, on every database.

    Ids and key parts must be: ("github", "Alice"), ("github", "alice") and
    ("github", "alice ") are three keys, and a session id differing in case is
    another id. PostgreSQL, SQLite and Oracle compare ``VARCHAR`` that way
    already. MySQL and MariaDB ignore case by default, and their ``utf8mb4_bin``
    is PAD SPACE ('alice' = 'alice '), so there the column gets the binary NO PAD
    collation of the server: ``utf8mb4_0900_bin`` on MySQL 8,
    ``utf8mb4_nopad_bin`` on MariaDB (chosen when the DDL is compiled).
    """


@compiles(ExactString, "mysql")
@compiles(ExactString, "mariadb")
def _exact_string_on_mysql(type_: ExactString, compiler: TypeCompiler, **kw: Any) -> str:
    mariadb = getattr(compiler.dialect, "is_mariadb", False)
    collation = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
    return f"VARCHAR({type_.length}) CHARACTER SET utf8mb4 COLLATE {collation}"


def lucia_tables(metadata: MetaData, tables: Tables = DEFAULT_TABLES) -> LuciaTables:
    """lucia's tables in ``metadata``, defined there unless a table of that name exists.

    A table already in ``metadata`` under one of these names is used as it is,
    so an application may define ``auth_user`` itself with extra columns. The
    tables never take ``metadata.schema``: lucia's statements name them
    unqualified, so they live in the connection's default schema (set the
    search path, or the database in the URL, to place them elsewhere).

    Columns: ids and key parts ``ExactString(255)`` (a ``VARCHAR`` with a
    binary NO PAD collation on MySQL/MariaDB), attributes JSON as ``Text``,
    times ``BigInteger`` Unix seconds (UTC), the secret's SHA-256
    ``LargeBinary``; keys and sessions reference their user ``ON DELETE CASCADE``.
    One-time tokens are keyed on the token's SHA-256 (``LargeBinary``, and
    ``BINARY(32)`` on MySQL/MariaDB, where a BLOB cannot be a primary key) and
    reference their user ``ON DELETE CASCADE`` too.
    """
    options: dict[str, Any] = {
        "schema": BLANK_SCHEMA,
        "sqlite_with_rowid": False,
        # InnoDB for the foreign keys; utf8mb4 for all of Unicode in attributes.
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mariadb_engine": "InnoDB",
        "mariadb_charset": "utf8mb4",
    }

    def table(name: str, *items: Any) -> Table:
        existing = metadata.tables.get(name)
        return existing if existing is not None else Table(name, metadata, *items, **options)

    user_ref = f"{tables.user}.id"
    user = table(
        tables.user,
        Column("id", ExactString(255), primary_key=True),
        Column("attributes", Text, nullable=False),
        Column("created_at", BigInteger, nullable=False),
    )
    key = table(
        tables.key,
        Column("provider_id", ExactString(255), nullable=False),
        Column("provider_user_id", ExactString(255), nullable=False),
        Column(
            "user_id", ExactString(255), ForeignKey(user_ref, ondelete="CASCADE"), nullable=False
        ),
        Column("hashed_password", Text, nullable=True),
        PrimaryKeyConstraint("provider_id", "provider_user_id"),
        # The same index names as lucia's own DDL files.
        Index(f"{tables.key}_user_id", "user_id"),
    )
    session = table(
        tables.session,
        Column("id", ExactString(255), primary_key=True),
        Column(
            "user_id", ExactString(255), ForeignKey(user_ref, ondelete="CASCADE"), nullable=False
        ),
        Column("secret_hash", LargeBinary, nullable=False),
        Column("expires_at", BigInteger, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("attributes", Text, nullable=False),
        Index(f"{tables.session}_user_id", "user_id"),
        Index(f"{tables.session}_expires_at", "expires_at"),
    )
    digest = LargeBinary().with_variant(mysql.BINARY(32), "mysql", "mariadb")
    token = table(
        tables.token,
        Column("id_hash", digest, primary_key=True),
        Column(
            "user_id", ExactString(255), ForeignKey(user_ref, ondelete="CASCADE"), nullable=False
        ),
        Column("purpose", ExactString(255), nullable=False),
        Column("expires_at", BigInteger, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("data", Text, nullable=False),
        Index(f"{tables.token}_user_id_purpose", "user_id", "purpose"),
        Index(f"{tables.token}_expires_at", "expires_at"),
    )
    return LuciaTables(user, key, session, token)


metadata = MetaData()
"""The ``MetaData`` holding lucia's tables under their default names (for Alembic)."""
_DEFAULT_TABLES = lucia_tables(metadata)
user_table = _DEFAULT_TABLES.user
key_table = _DEFAULT_TABLES.key
session_table = _DEFAULT_TABLES.session
token_table = _DEFAULT_TABLES.token


def _resolve_tables(tables: Tables, metadata_: MetaData | None) -> tuple[MetaData, LuciaTables]:
    if metadata_ is not None:
        return metadata_, lucia_tables(metadata_, tables)
    if tables == DEFAULT_TABLES:
        return metadata, _DEFAULT_TABLES
    own = MetaData()
    return own, lucia_tables(own, tables)


def _create_tables(conn: Connection, metadata_: MetaData, tables: LuciaTables) -> None:
    """``metadata_.create_all`` for lucia's tables, after refusing any existing table
    under their names that lacks lucia's columns (``TableConflictError``)."""
    inspector = inspect(conn)
    columns = [
        (table.name, column["name"])
        for table in tables.all()
        if inspector.has_table(table.name, schema=table.schema)
        for column in inspector.get_columns(table.name, schema=table.schema)
    ]
    names = Tables(*(table.name for table in tables.all()))
    check_columns(names, columns)
    metadata_.create_all(conn, tables=tables.all())


def _statements(driver: _DriverBase, tables: Tables) -> Statements:
    return Statements(driver.dialect(), tables)


# --- Errors -------------------------------------------------------------------

# SQLSTATE (PostgreSQL and every DBAPI that reports one), SQLite's extended
# result codes, MySQL/MariaDB's errnos: which integrity failure it was.
_DUPLICATE_SQLSTATE, _NO_PARENT_SQLSTATE = "23505", "23503"
_SQLITE_DUPLICATE = {1555, 2067}  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
_SQLITE_NO_PARENT = {787}  # SQLITE_CONSTRAINT_FOREIGNKEY
_MYSQL_DUPLICATE = {1062, 1586}  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
_MYSQL_NO_PARENT = {1216, 1452}  # ER_NO_REFERENCED_ROW, ER_NO_REFERENCED_ROW_2

# Server messages quote the offending row's values, so they are never passed on;
# only these known causes are named (first match wins). Those in _UNREACHABLE
# mean the server cannot be used at all.
_CAUSES = (
    ("connection refused", "connection refused"),
    ("timeout expired", "connection timed out"),
    ("timed out", "connection timed out"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("name resolution", "unknown host"),
    ("password authentication failed", "authentication failed"),
    ("access denied", "authentication failed"),
    ("too many clients", "too many connections"),
    ("too many connections", "too many connections"),
    ("server closed the connection", "connection lost"),
    ("connection reset", "connection lost"),
    ("lost connection", "connection lost"),
    ("server has gone away", "connection lost"),
    ("terminating connection", "connection lost"),
    ("connection is closed", "connection lost"),
    ("connection is lost", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("socket closed", "connection lost"),
    ("connection is bad", "connection lost"),
    ("no connection to the server", "connection lost"),
    ("could not receive data", "connection lost"),
    ("could not send data", "connection lost"),
    ("broken pipe", "connection lost"),
    ("deadlock", "deadlock"),
    ("could not serialize", "serialization failure"),
    ("lock wait timeout", "lock wait timeout"),
)
_UNREACHABLE = {
    "connection refused",
    "connection timed out",
    "unknown host",
    "authentication failed",
    "too many connections",
    "connection lost",
}

_LABELS = {
    "postgresql": "PostgreSQL",
    "sqlite": "SQLite",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "oracle": "Oracle",
    "mssql": "SQL Server",
}


def _sqlstate(orig: BaseException) -> str | None:
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def _mysql_errno(orig: BaseException) -> int | None:
    # PyMySQL, aiomysql and mysqlclient: args == (errno, message).
    first = orig.args[0] if orig.args else None
    return first if isinstance(first, int) and not isinstance(first, bool) else None


def classify_integrity_error(orig: BaseException) -> Literal["duplicate", "no_parent"] | None:
    """Which integrity failure a DBAPI error is: a duplicate primary key or unique
    value (``"duplicate"``), a missing referenced row (``"no_parent"``), or None.

    Decided from codes, never from message text: the SQLSTATE (23505 / 23503;
    PostgreSQL and any DBAPI exposing ``sqlstate`` or ``pgcode``), SQLite's
    extended result code (1555, 2067 / 787) and MySQL/MariaDB's errno
    (1062, 1586 / 1216, 1452).
    """
    sqlstate = _sqlstate(orig)
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    errno = _mysql_errno(orig)
    if (
        sqlstate == _DUPLICATE_SQLSTATE
        or sqlite_code in _SQLITE_DUPLICATE
        or errno in _MYSQL_DUPLICATE
    ):
        return "duplicate"
    if (
        sqlstate == _NO_PARENT_SQLSTATE
        or sqlite_code in _SQLITE_NO_PARENT
        or errno in _MYSQL_NO_PARENT
    ):
        return "no_parent"
    return None


def _known_cause(message: str) -> str | None:
    lowered = message.lower()
    for needle, cause in _CAUSES:
        if needle in lowered:
            return cause
    return None


def describe_error(label: str, exc: sa_exc.DBAPIError) -> str:
    """A message naming what went wrong, with no row value, SQL or password in it.

    SQLAlchemy's ``str(exc)`` holds the statement and its parameters, and server
    messages quote the duplicate row, so neither is used: the message names the
    DBAPI error class, its SQLSTATE or errno, and a known cause. SQLite's own
    messages name tables and constraints but never bound values, so they are kept.
    """
    orig = exc.orig
    if orig is None:
        return f"{label} error: {type(exc).__name__}"
    if getattr(orig, "sqlite_errorcode", None) is not None or label == "SQLite":
        return f"{label} error: {type(orig).__name__}: {orig}"
    cause = _known_cause(str(orig))
    if exc.connection_invalidated or cause in _UNREACHABLE:
        return f"{label} unreachable: {cause or 'connection lost'}"
    detail = type(orig).__name__
    sqlstate, errno = _sqlstate(orig), _mysql_errno(orig)
    if sqlstate:
        detail += f" (SQLSTATE {sqlstate})"
    elif errno is not None:
        detail += f" (error {errno})"
    if cause:
        detail += f": {cause}"
    return f"{label} error: {detail}"


# --- The drivers --------------------------------------------------------------


def _to_text(sql: str) -> tuple[TextClause, tuple[str, ...]]:
    # The shared statements use "?" placeholders and hold no other "?" or ":"
    # (every value is a parameter), so this is a plain split.
    if ":" in sql:
        raise ValueError("a shared statement must not contain ':'")
    parts = sql.split("?")
    names = tuple(f"p{index}" for index in range(len(parts) - 1))
    source = "".join(part + f":{name}" for part, name in zip(parts, names, strict=False))
    return text(source + parts[-1]), names


def _enable_sqlite_foreign_keys(
    dbapi_connection: DBAPIConnection,
    record: ConnectionPoolEntry,
    proxy: PoolProxiedConnection,
) -> None:
    # On checkout rather than on connect, so connections that were already in
    # the pool before the adapter existed get it too; once per DBAPI connection
    # (record.info is cleared when a connection is replaced).
    if not record.info.get("lucia_foreign_keys"):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()
        record.info["lucia_foreign_keys"] = True


class _DriverBase:
    """What the sync and async drivers share: the engine's dialect, the statements as
    cached ``text()`` clauses, the transaction start, and the error mapping."""

    def __init__(self, sync_engine: Engine) -> None:
        self.dialect_name = dialect_name = sync_engine.dialect.name
        self.is_sqlite = dialect_name == "sqlite"
        self.label = _LABELS.get(dialect_name, dialect_name)
        # SQLite has no row locks: its transactions take the write lock up front.
        self.begin_sql = "BEGIN IMMEDIATE" if self.is_sqlite else None
        # The execution options of the adapter's copy of the engine. A server's
        # DBAPI begins a transaction before any statement: in AUTOCOMMIT mode a
        # lookup is one round trip instead of three (BEGIN, SELECT, COMMIT).
        # SQLite's begins one only before a write, and switching its isolation
        # level costs a PRAGMA (and, with aiosqlite, thread hops) each way, so
        # there the engine runs as it is and a call's write commits at its end.
        self.call_options: dict[str, Any] = (
            {} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        )
        self._clauses: dict[str, tuple[TextClause, tuple[str, ...]]] = {}
        if self.is_sqlite and not event.contains(
            sync_engine, "checkout", _enable_sqlite_foreign_keys
        ):
            event.listen(sync_engine, "checkout", _enable_sqlite_foreign_keys)

    @staticmethod
    def hide_parameters(own_engine: Engine) -> None:
        """Keep lucia's parameters (ids, hashes) out of SQLAlchemy's exception texts
        and logs, on the adapter's own ``execution_options`` copy of the engine only."""
        own_engine.hide_parameters = True

    def write_pending(self, conn: Connection) -> bool:
        """Whether SQLite's DBAPI holds the transaction it opened before a single
        write, to commit at the end of the call. (It opens none before a read, so
        a lookup ends without a COMMIT; in AUTOCOMMIT mode nothing is ever left.)"""
        return self.is_sqlite and bool(
            getattr(conn.connection.driver_connection, "in_transaction", False)
        )

    def dialect(self) -> Dialect:
        """The ``Dialect`` for ``Statements``: "?" placeholders (turned into binds here)."""
        return Dialect(
            "sqlalchemy",
            lock_suffix="" if self.is_sqlite else " FOR UPDATE",
            delete_limit=self.dialect_name in ("mysql", "mariadb"),
            purge_rest=1.0 if self.is_sqlite else 0.0,
        )

    def bind(self, sql: str, params: tuple[Any, ...]) -> tuple[TextClause, dict[str, Any]]:
        """The cached ``text()`` clause of a shared statement, and its parameters by name."""
        try:
            clause, names = self._clauses[sql]
        except KeyError:
            clause, names = self._clauses[sql] = _to_text(sql)
        return clause, dict(zip(names, params, strict=True))

    @staticmethod
    def isolation_for_transaction(conn: Connection) -> IsolationLevel | None:
        """The isolation level to switch ``conn`` to before a transaction: its default
        one when the engine or connection is in AUTOCOMMIT mode, else None."""
        # Dialects that cannot tell: the execution option is what SQLAlchemy sets.
        autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection is not None:
            with suppress(NotImplementedError):
                autocommit = conn.dialect.detect_autocommit_setting(dbapi_connection)
        return conn.default_isolation_level if autocommit else None

    def map_error(self, exc: BaseException) -> Exception | None:
        """The ``LuciaError`` for a SQLAlchemy error, or None for any other exception."""
        if isinstance(exc, sa_exc.IntegrityError) and exc.orig is not None:
            kind = classify_integrity_error(exc.orig)
            if kind == "duplicate":
                return DuplicateKeyError()
            if kind == "no_parent":
                return UserNotFoundError()
        if isinstance(exc, sa_exc.DBAPIError):
            return DatabaseError(describe_error(self.label, exc), cause=exc.orig or exc)
        if isinstance(exc, sa_exc.TimeoutError):
            return DatabaseError(f"{self.label} error: no pooled connection free (timed out)")
        if isinstance(exc, sa_exc.SQLAlchemyError):
            # Other SQLAlchemy errors (a StatementError's text holds the
            # parameters): the class names the cause.
            return DatabaseError(f"{self.label} error: {type(exc).__name__}")
        return None


class _DriverHooks(_DriverBase):
    """The sync flavour: the engine and connections are the sync ones already."""

    @staticmethod
    def sync_engine_of(engine: Engine) -> Engine:
        return engine

    @staticmethod
    def sync_connection_of(conn: Connection) -> Connection | None:
        return conn

    @staticmethod
    def run_ddl(conn: Connection, create: Callable[..., None], *args: Any) -> None:
        """Run ``create(connection, *args)`` on ``conn``."""
        create(conn, *args)


class _AsyncDriverHooks(_DriverBase):
    """The async flavour: the sync ``Engine``/``Connection`` SQLAlchemy runs under
    an ``AsyncEngine``/``AsyncConnection``."""

    @staticmethod
    def sync_engine_of(engine: AsyncEngine) -> Engine:
        return engine.sync_engine

    @staticmethod
    def sync_connection_of(conn: AsyncConnection) -> Connection | None:
        return conn.sync_connection  # set once connected

    @staticmethod
    async def run_ddl(conn: AsyncConnection, create: Callable[..., None], *args: Any) -> None:
        """Run ``create(connection, *args)`` on the sync connection under ``conn``."""
        await conn.run_sync(create, *args)
