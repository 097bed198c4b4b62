"""Each store's classes name the public module they are imported from (``repr()``,
error messages, the docs and Alembic's autogenerate show it), not the private
``_async``/``_sync`` or ``_*_base`` module they are written in."""

from __future__ import annotations

import pytest

PUBLIC = {
    # The store contract: declared once in _async/protocols.py (and the purges in
    # _async/purges.py), both flavours imported from lucia.adapters.base, where
    # the protocols were written until e156456.
    "lucia.adapters.base": [
        f"{flavour}{name}"
        for flavour in ("", "Async")
        for name in (
            "Adapter",
            "CreatesTables",
            "PurgesSessions",
            "PurgesTokens",
            "SessionAdapter",
            "SessionPurges",
            "SessionStore",
            "TokenAdapter",
            "TokenPurges",
            "UserAdapter",
            "UserKeyAdapter",
        )
    ],
    "lucia.adapters.memory": ["MemoryAdapter"],
    "lucia.adapters.sqlite": [
        "AsyncSQLiteAdapter",
        "AsyncSQLiteDriver",
        "SQLiteAdapter",
        "SQLiteDriver",
    ],
    "lucia.adapters.postgres": [
        "AsyncPostgresAdapter",
        "AsyncPostgresDriver",
        "PostgresAdapter",
        "PostgresDriver",
    ],
    # The pool, drivers and error mapping were written in lucia.adapters.mysql
    # until the adapters were written once: they keep naming it.
    "lucia.adapters.mysql": [
        "AiomysqlDriver",
        "AsyncMySQLAdapter",
        "ConnectionPool",
        "MySQLAdapter",
        "PyMySQLDriver",
        "map_mysql_error",
    ],
    "lucia.adapters.redis": [
        "AsyncRedisSessionAdapter",
        "AsyncSafeRetry",
        "RedisSessionAdapter",
        "SafeRetry",
    ],
    "lucia.adapters.sqlalchemy": [
        "AsyncSQLAlchemyAdapter",
        "AsyncSQLAlchemyDriver",
        "ExactString",
        "LuciaTables",
        "SQLAlchemyAdapter",
        "SQLAlchemyDriver",
        "lucia_tables",
    ],
    "lucia.adapters.sql.engine": ["AsyncSQLAdapter", "AsyncSQLDriver", "SQLAdapter", "SQLDriver"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_store_classes_are_named_after_their_public_module(module_name: str) -> None:
    # A driver's extra may be missing in a slim environment: skip that store then.
    module = pytest.importorskip(module_name)
    for name in PUBLIC[module_name]:
        assert getattr(module, name).__module__ == module_name, name
