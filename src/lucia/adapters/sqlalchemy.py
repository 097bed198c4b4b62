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

from lucia.adapters._async.sqlalchemy import AsyncSQLAlchemyAdapter, AsyncSQLAlchemyDriver
from lucia.adapters._sqlalchemy_base import (
    ExactString,
    LuciaTables,
    _enable_sqlite_foreign_keys,
    _to_text,
    classify_integrity_error,
    describe_error,
    key_table,
    lucia_tables,
    metadata,
    session_table,
    token_table,
    user_table,
)
from lucia.adapters._sync.sqlalchemy import SQLAlchemyAdapter, SQLAlchemyDriver
from lucia.adapters.base import publish

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

publish(
    __name__,
    AsyncSQLAlchemyAdapter,
    AsyncSQLAlchemyDriver,
    ExactString,
    LuciaTables,
    SQLAlchemyAdapter,
    SQLAlchemyDriver,
    lucia_tables,
)
