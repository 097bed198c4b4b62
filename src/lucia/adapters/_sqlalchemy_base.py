"""What lucia's SQLAlchemy drivers share (without I/O): the error mapping that
never passes SQLAlchemy's text on, the statements as cached ``text()`` clauses,
the transaction start; and what differs between the flavours (how to reach the
sync ``Engine``/``Connection`` under an async one), as hooks the driver
(``lucia/adapters/_async/sqlalchemy.py``, its sync twin generated) calls.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Literal

from sqlalchemy import Connection, Engine, TextClause, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine.interfaces import DBAPIConnection, IsolationLevel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from lucia.adapters.sql import Dialect
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

# Both flavours' classes under plain names, for the generator (it renames
# AsyncEngine to Engine, and there is no sqlalchemy.ext.asyncio.Engine).
__all__ = ["AsyncConnection", "AsyncEngine", "Connection", "Engine"]


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


class _AsyncDriverHooks(_DriverBase):
    """The async flavour: the sync ``Engine``/``Connection`` SQLAlchemy runs under
    an ``AsyncEngine``/``AsyncConnection``."""

    @staticmethod
    def sync_engine_of(engine: AsyncEngine) -> Engine:
        return engine.sync_engine

    @staticmethod
    def sync_connection_of(conn: AsyncConnection) -> Connection | None:
        return conn.sync_connection  # set once connected
