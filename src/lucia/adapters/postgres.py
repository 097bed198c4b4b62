"""PostgreSQL through psycopg 3 and psycopg_pool.

``PostgresAdapter`` and ``AsyncPostgresAdapter`` are the shared SQL adapter on a
connection pool: one they create from a conninfo (and close), or one you pass
in (used as is and never closed). Every call borrows a connection in
autocommit mode, so the adapter's own BEGIN/COMMIT delimit the transactions; a
connection of a pool passed in that is not in autocommit mode is switched for
the call and switched back before it returns to the pool, so the rest of the
application still gets the connections it configured.

Attributes are JSONB: the shared statements send JSON text, which psycopg
passes as an untyped parameter that PostgreSQL casts to the column's jsonb;
psycopg reads jsonb back as dicts, which ``decode_json`` accepts. Times are
TIMESTAMPTZ, sent as aware datetimes and read back in UTC.

Repeated statements are prepared by psycopg on each connection after
``prepare_threshold`` executions (5 by default), so a session validation is one
round trip running a prepared primary-key join. A pooled connection the server
closed while it sat idle (a restart, an idle timeout) is noticed with a
non-blocking poll of its socket and replaced before use, not with an extra
round trip per call.

Failures never pass PostgreSQL's own message on (it quotes the duplicate key's
values): a unique violation is ``DuplicateKeyError``, a foreign key violation
``UserNotFoundError``, and everything else ``DatabaseError`` naming the cause
(connection refused, pool timeout, SQLSTATE and error class) and the server's
host:port, never a password. A pool made from a conninfo waits at most
``connect_timeout`` seconds for a connection, so a call never hangs on a
server that is gone; its connections carry a ``statement_timeout`` (5 s) and
TCP keepalives (``connection_kwargs``), so a statement stuck on a lock or a
slow server ends after the timeout, and a host that vanished mid-call is
noticed within about 25 s instead of when TCP gives up. A server process that
is frozen answers neither: a call that holds its connection for
``statement_timeout`` + CUT_GRACE has it cut by lucia (``_Deadlines``).

The adapters and drivers are written once (``lucia/adapters/_async/postgres.py``,
the sync ones generated from it); what they share without I/O is in
``_postgres_base``.
"""

from __future__ import annotations

from lucia.adapters._async.postgres import AsyncPostgresAdapter, AsyncPostgresDriver
from lucia.adapters._postgres_base import (
    CUT_GRACE,
    KEEPALIVES_IDLE,
    POSTGRES,
    STATEMENT_TIMEOUT,
    connection_kwargs,
)
from lucia.adapters._sync.postgres import PostgresAdapter, PostgresDriver
from lucia.adapters.base import publish

__all__ = [
    "CUT_GRACE",
    "KEEPALIVES_IDLE",
    "POSTGRES",
    "STATEMENT_TIMEOUT",
    "AsyncPostgresAdapter",
    "AsyncPostgresDriver",
    "PostgresAdapter",
    "PostgresDriver",
    "connection_kwargs",
]

publish(__name__, AsyncPostgresAdapter, AsyncPostgresDriver, PostgresAdapter, PostgresDriver)
