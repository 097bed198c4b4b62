"""SQLAlchemy 2 Core: lucia on an engine you already have.

    from lucia.adapters.sqlalchemy import SQLAlchemyAdapter
    auth = Lucia(SQLAlchemyAdapter(engine))          # AsyncSQLAlchemyAdapter(async_engine)

The tables are plain ``sqlalchemy.Table`` objects: ``metadata``, ``user_table``,
``key_table``, ``session_table`` and ``token_table`` here (the default names), or
``lucia_tables(your_metadata, Tables(...))`` for your own names, so Alembic's
autogenerate sees them like any other table.

The adapter runs the same statements as every other SQL adapter (written once,
in ``lucia.adapters.sql.Statements``), turned into ``sqlalchemy.text()``
clauses with bound parameters. Tested on SQLite, PostgreSQL and MariaDB, and
meant for MySQL 8.0.17+ too; any other database needs ``SELECT ... FOR UPDATE``
(SQL Server has none) and exact ``VARCHAR`` comparisons (see ``ExactString``).

Transactions: each adapter call checks out one connection from the engine's
pool in ``AUTOCOMMIT`` mode (through an ``execution_options`` copy of the
engine; yours is left as it is), so a single statement is committed on its
own, in one round trip: no BEGIN and COMMIT around every session lookup. The
calls that must be atomic switch their connection back to the engine's default
isolation level and run in one transaction, committed at the end and rolled
back on any failure: ``insert_user`` writes the user and its first key
together, ``update_user_attributes`` keeps the row lock of its
``SELECT ... FOR UPDATE`` until the merged attributes are written, and
``delete_provider_keys`` keeps the user's row lock while it counts the keys
and deletes (so two unlinks never remove a user's last keys). On SQLite
those transactions start with ``BEGIN IMMEDIATE`` (SQLite has no row locks: the
write lock is taken up front, so concurrent merges queue instead of losing
each other's keys).

Errors: a duplicate key is ``DuplicateKeyError`` and a key or session for no
user ``UserNotFoundError``, decided from the DBAPI error's code
(``classify_integrity_error``); every other failure is ``DatabaseError`` naming
the cause ("PostgreSQL unreachable: connection refused", "PostgreSQL error:
UndefinedTable (SQLSTATE 42P01)"), never SQLAlchemy's text of the error, which
holds the statement, its parameters and the server's quote of the row. The
adapter's copy of the engine also has ``hide_parameters`` set, so lucia's
parameters stay out of SQLAlchemy's logs and exception texts too.

SQLite: the adapter installs a pool ``checkout`` listener on the engine that
runs ``PRAGMA foreign_keys = ON`` once on each of its DBAPI connections (it is
off by default in SQLite, and without it deleting a user would not delete its
keys and sessions). This applies to every user of that engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    inspect,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import TypeCompiler

from lucia.adapters._async.sqlalchemy import AsyncSQLAlchemyDriver
from lucia.adapters._sqlalchemy_base import (
    _DriverBase,
    _enable_sqlite_foreign_keys,
    _to_text,
    classify_integrity_error,
    describe_error,
)
from lucia.adapters._sync.sqlalchemy import SQLAlchemyDriver
from lucia.adapters.sql import DEFAULT_TABLES, Statements, Tables
from lucia.adapters.sql.engine import AsyncSQLAdapter, SQLAdapter
from lucia.adapters.sql.schema import check_columns

__all__ = [
    "AsyncSQLAlchemyAdapter",
    "AsyncSQLAlchemyDriver",
    "ExactString",
    "LuciaTables",
    "SQLAlchemyAdapter",
    "SQLAlchemyDriver",
    "_enable_sqlite_foreign_keys",
    "_to_text",
    "classify_integrity_error",
    "describe_error",
    "key_table",
    "lucia_tables",
    "metadata",
    "session_table",
    "token_table",
    "user_table",
]


# The driver pair is generated (lucia.adapters._async/_sync.sqlalchemy); public here.
AsyncSQLAlchemyDriver.__module__ = SQLAlchemyDriver.__module__ = __name__


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


# --- The adapters -------------------------------------------------------------


def _statements(driver: _DriverBase, tables: Tables) -> Statements:
    # The DDL comes from the Table objects (create_tables is overridden), not from
    # the .sql files.
    return Statements(driver.dialect(), tables)


class SQLAlchemyAdapter(SQLAdapter):
    """``Adapter`` on a SQLAlchemy ``Engine`` (any database it supports; see the module).

    ``tables`` names the tables; ``metadata`` is the ``MetaData`` to define them
    in (by default this module's ``metadata`` for the default names, or a new one).
    The engine stays yours: the adapter never disposes of it.
    """

    driver: SQLAlchemyDriver

    def __init__(
        self,
        engine: Engine,
        *,
        tables: Tables = DEFAULT_TABLES,
        metadata: MetaData | None = None,
    ) -> None:
        self.tables = tables
        self.metadata, self.table_objects = _resolve_tables(tables, metadata)
        driver = SQLAlchemyDriver(engine)
        super().__init__(_statements(driver, tables), [], driver)

    def __repr__(self) -> str:
        return f"SQLAlchemyAdapter({self.driver.engine.url.render_as_string()!r})"

    def create_tables(self) -> None:
        """Create the tables and indexes that are missing (``metadata.create_all``);
        ``TableConflictError``, creating nothing, when another app's table has one
        of their names."""
        try:
            with self.driver.engine.begin() as conn:
                _create_tables(conn, self.metadata, self.table_objects)
        except Exception as exc:
            failure = self.driver.map_error(exc)
            if failure is None:
                raise
            raise failure from None


class AsyncSQLAlchemyAdapter(AsyncSQLAdapter):
    """``AsyncAdapter`` on a SQLAlchemy ``AsyncEngine``; the same arguments as
    ``SQLAlchemyAdapter``."""

    driver: AsyncSQLAlchemyDriver

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        tables: Tables = DEFAULT_TABLES,
        metadata: MetaData | None = None,
    ) -> None:
        self.tables = tables
        self.metadata, self.table_objects = _resolve_tables(tables, metadata)
        driver = AsyncSQLAlchemyDriver(engine)
        super().__init__(_statements(driver, tables), [], driver)

    def __repr__(self) -> str:
        return f"AsyncSQLAlchemyAdapter({self.driver.engine.url.render_as_string()!r})"

    # close() and aclose() release nothing: the engine stays yours.

    async def create_tables(self) -> None:
        """Create the tables and indexes that are missing (``metadata.create_all``);
        ``TableConflictError``, creating nothing, when another app's table has one
        of their names."""
        try:
            async with self.driver.engine.begin() as conn:
                await conn.run_sync(_create_tables, self.metadata, self.table_objects)
        except Exception as exc:
            failure = self.driver.map_error(exc)
            if failure is None:
                raise
            raise failure from None
