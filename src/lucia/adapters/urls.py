"""Open an adapter from a database URL (for the command line and quick starts).

``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``,
``postgresql://user@host:5432/db`` (or ``postgres://``), ``mysql://user@host/db``
(or ``mariadb://``). Each driver is imported only when its URL is used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from lucia.adapters.sql import DEFAULT_TABLES, Tables

__all__ = ["DIALECTS", "open_adapter", "redact_url"]

DIALECTS = ("sqlite", "postgres", "mysql")
_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "postgresql+psycopg": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
}


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return "<unparseable URL>"


def dialect_of(url: str) -> str:
    """``sqlite``, ``postgres`` or ``mysql`` for a database URL; ValueError otherwise."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    try:
        return _SCHEMES[scheme]
    except KeyError:
        raise ValueError(
            f"unsupported database URL {redact_url(url)!r}: use sqlite:///path,"
            " postgresql://... or mysql://..."
        ) from None


def open_adapter(url: str, *, tables: Tables = DEFAULT_TABLES) -> Any:
    """A sync adapter for ``url``; the caller closes it with ``close()``."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        from lucia.adapters.sqlite import SQLiteAdapter

        path = unquote(urlsplit(url).path)
        if not path.startswith("/") or path == "/":
            raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        return SQLiteAdapter(path[1:], tables=tables)
    if dialect == "postgres":
        from lucia.adapters.postgres import PostgresAdapter

        return PostgresAdapter(url.replace("postgresql+psycopg://", "postgresql://"), tables=tables)
    from lucia.adapters.mysql import MySQLAdapter

    return MySQLAdapter(url, tables=tables)
