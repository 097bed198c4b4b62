"""Is a table under one of lucia's names lucia's own? Checked before creating anything.

``CREATE TABLE IF NOT EXISTS auth_user`` skips a table of that name whatever
its columns, so on a Django database (whose ``auth_user`` has an integer id
and no ``attributes``) lucia would create ``auth_key`` and ``auth_session``
pointing at Django's users and fail at its first sign-up. ``create_tables()``
therefore first reads the columns of any existing relation under lucia's four
names, in one catalog query, and refuses with ``TableConflictError`` when one
lacks a column lucia uses; then it creates nothing. A table with extra columns
is lucia's (applications may add columns); a missing table is created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lucia.adapters.sql import Dialect, Tables
from lucia.errors import LuciaError

__all__ = ["COLUMNS", "TableConflictError", "check_columns", "columns_query"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("id", "attributes", "created_at"),
    "key": ("provider_id", "provider_user_id", "user_id", "hashed_password"),
    "session": ("id", "user_id", "secret_hash", "expires_at", "created_at", "attributes"),
    "token": ("id_hash", "user_id", "purpose", "expires_at", "created_at", "data"),
}
"""The columns lucia reads and writes, per table (``Tables`` field name)."""

# (table name, column name) of every relation named like one of the four
# tables, in the schema where CREATE TABLE would put them. Table names are
# matched in lower case: SQLite's are case-insensitive, PostgreSQL folds
# unquoted names, and MySQL's follow the server's lower_case_table_names.
_QUERIES = {
    # pragma_table_info as a table-valued function (SQLite 3.16+).
    "sqlite": "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p"
    " WHERE m.type IN ('table', 'view') AND lower(m.name) IN (?, ?, ?, ?)",
    # pg_catalog rather than information_schema, which hides tables the role has
    # no privilege on (they would block CREATE TABLE all the same). Any relation
    # (a view, a sequence) under the name counts; current_schema() is where
    # CREATE TABLE puts a table and where IF NOT EXISTS looks.
    "postgres": "SELECT c.relname, a.attname FROM pg_catalog.pg_class AS c"
    " JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid"
    " AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE c.relnamespace = current_schema()::regnamespace"
    " AND lower(c.relname) IN (?, ?, ?, ?)",
    "mysql": "SELECT table_name, column_name FROM information_schema.columns"
    " WHERE table_schema = DATABASE() AND lower(table_name) IN (?, ?, ?, ?)",
}


class TableConflictError(LuciaError):
    """A table under one of lucia's names exists and is not lucia's; nothing was created.

    ``table`` is its name, ``missing`` the columns lucia needs that it lacks,
    ``found`` the columns it has. Give lucia other table names (``Tables(...)``,
    ``lucia migrate --tables``).
    """

    code = "AUTH_TABLE_CONFLICT"
    default_message = "a table under one of lucia's names is not lucia's"

    def __init__(self, table: str, missing: Sequence[str], found: Sequence[str]) -> None:
        self.table = table
        self.missing = tuple(missing)
        self.found = tuple(found)
        super().__init__(
            f"the table {table!r} exists but is not lucia's (it has no "
            f"{', '.join(self.missing)} column{'s' if len(self.missing) > 1 else ''});"
            " nothing was created: give lucia other table names"
        )


def _names(tables: Tables) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each table's name in lower case: its configured name and the columns it must have."""
    named = ((getattr(tables, role), columns) for role, columns in COLUMNS.items())
    return {name.lower(): (name, columns) for name, columns in named}


def columns_query(dialect: Dialect, tables: Tables) -> tuple[str, tuple[Any, ...]] | None:
    """The catalog query (and its parameters) of ``dialect`` listing the columns of
    existing relations under ``tables``' names; None for a dialect it does not know."""
    sql = _QUERIES.get(dialect.name)
    if sql is None:
        return None
    return sql.replace("?", dialect.placeholder), tuple(_names(tables))


def check_columns(tables: Tables, rows: Iterable[Sequence[Any]]) -> None:
    """``TableConflictError`` for the first of ``tables`` that ``rows`` (table name,
    column name) show to exist without all of lucia's columns."""
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(_text(table).lower(), []).append(_text(column))
    for lowered, (name, required) in _names(tables).items():
        columns = found.get(lowered)
        if columns is None:
            continue  # to be created
        have = {column.lower() for column in columns}
        missing = [column for column in required if column not in have]
        if missing:
            raise TableConflictError(name, missing, columns)


def _text(value: Any) -> str:
    # MySQL's information_schema comes back as bytes through some drivers.
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)
