"""MySQL 8 and MariaDB through PyMySQL (``MySQLAdapter``) and aiomysql (``AsyncMySQLAdapter``).

    adapter = MySQLAdapter("mysql://lucia:secret@db.internal:3306/app")
    adapter.create_tables()
    auth = Lucia(adapter)

The URL may also start with ``mysql+pymysql://``, ``mysql+aiomysql://`` or
``mariadb://``; percent-encode special characters in the user name and
password. Query parameters ``unix_socket``, ``read_timeout`` and
``write_timeout`` are understood. Instead of a URL you may pass a dict of
PyMySQL ``connect()`` arguments (``host``, ``port``, ``user``, ``password``,
``database``, ``ssl``, ...).

Every call is bounded: PyMySQL waits at most ``read_timeout`` for a reply and
``write_timeout`` to send (IO_TIMEOUT, 10 s, unless the URL or dict sets them),
and ``AsyncMySQLAdapter`` (aiomysql has no such settings) gives each call
``read_timeout`` in all. A server that hangs (a lock held elsewhere, a frozen
process, a vanished host) then fails the call with ``DatabaseError``, and its
connection is closed rather than reused.

Every connection runs in autocommit mode with ``utf8mb4``, ``FOUND_ROWS`` (an
UPDATE counts the rows it matched, so setting a password hash to its current
value still reports the key as found) and ``sql_mode=TRADITIONAL`` (a value too
long for its column is an error, never silently truncated into somebody else's
key). The writes that must be atomic run in transactions. Keys and ids are
compared byte for byte (see ``sql/mysql.sql``).

Failures reach the caller as ``lucia.errors``: a duplicate key is
``DuplicateKeyError``, a missing user ``UserNotFoundError``, and anything else
``DatabaseError`` naming the MySQL error number and, for a server that cannot
be reached, its address; never the password, and never the server's message
text, which quotes row values ("Duplicate entry 'github-42'").
"""

from __future__ import annotations

from lucia.adapters._async.mysql import AsyncMySQLAdapter
from lucia.adapters._mysql_base import (
    IO_TIMEOUT,
    MYSQL,
    AiomysqlDriver,
    ConnectionPool,
    PyMySQLDriver,
    map_mysql_error,
)
from lucia.adapters._sync.mysql import MySQLAdapter
from lucia.adapters.base import publish

__all__ = [
    "IO_TIMEOUT",
    "MYSQL",
    "AiomysqlDriver",
    "AsyncMySQLAdapter",
    "ConnectionPool",
    "MySQLAdapter",
    "PyMySQLDriver",
    "map_mysql_error",
]

publish(
    __name__,
    AiomysqlDriver,
    AsyncMySQLAdapter,
    ConnectionPool,
    MySQLAdapter,
    PyMySQLDriver,
    map_mysql_error,
)
