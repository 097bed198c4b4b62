"""What lucia's PostgreSQL drivers share, and what differs between the flavours.

Shared, without I/O: the dialect, the pool settings (``connection_kwargs``), the
error mapping that never passes PostgreSQL's own text on, the idle-connection
check and the deadline that cuts a frozen server's connection. Per flavour, the
hooks the driver (``lucia/adapters/_async/postgres.py``, its sync twin generated)
calls: when an owned pool opens, and how a call's deadline is armed (one
deadline thread for sync, the event loop's timer for async).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import os
import select
import socket
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import (
    AsyncConnectionPool,
    ConnectionPool,
    PoolClosed,
    PoolTimeout,
    TooManyRequests,
)

from lucia.adapters.base import AsyncClosing, Closing
from lucia.adapters.sql import Dialect
from lucia.errors import DatabaseError, DuplicateKeyError, UserNotFoundError

STATEMENT_TIMEOUT = 5.0
"""Seconds the server lets one of lucia's statements run (or wait on a lock) by default."""

KEEPALIVES_IDLE = 10
"""Seconds of silence before TCP probes a pooled connection, by default (see
``connection_kwargs``)."""

_SyncPool = ConnectionPool[psycopg.Connection[Any]]
_AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def _aware(moment: datetime) -> datetime:
    # A naive datetime would be read in the session's TimeZone: refuse it.
    if moment.tzinfo is None:
        raise ValueError("lucia stores timezone-aware datetimes only")
    return moment


def _utc(moment: datetime) -> datetime:
    # psycopg returns TIMESTAMPTZ in the connection's TimeZone setting.
    return moment.astimezone(UTC)


POSTGRES = Dialect(
    "postgres",
    placeholder="%s",
    encode_time=_aware,
    decode_time=_utc,
    lock_suffix=" FOR UPDATE",
)

# libpq's and psycopg's messages, matched to fixed phrases: the raw text (which
# may quote values) is never passed on. The first match wins.
_PROBLEMS = (
    ("connection refused", "connection refused"),
    ("timeout expired", "connection timed out"),
    ("timed out", "connection timed out"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("password authentication failed", "authentication failed"),
    ("no password supplied", "authentication failed"),
    ("authentication failed", "authentication failed"),
    ("no pg_hba.conf entry", "connection rejected by pg_hba.conf"),
    ("too many clients", "too many connections"),
    ("too many connections", "too many connections"),
    ("the database system is starting up", "server starting up"),
    ("the database system is shutting down", "server shutting down"),
    ("server closed the connection", "server closed the connection"),
    ("connection reset", "connection reset"),
    ("broken pipe", "connection reset"),
    ("terminating connection", "server terminated the connection"),
    ("the connection is lost", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("sending query failed", "connection lost"),
    ("connection is closed", "connection closed"),
    ("ssl", "SSL error"),
)


def _problem(exc: BaseException) -> str:
    """What went wrong with a connection, as a fixed phrase (else the error class)."""
    text = str(exc).lower()
    if "database" in text and "does not exist" in text:
        return "database does not exist"
    for needle, phrase in _PROBLEMS:
        if needle in text:
            return phrase
    return type(exc).__name__


def _describe_target(conninfo: object, kwargs: object = None) -> str:
    """``host:port`` of a conninfo (never its password), for error messages."""
    params: dict[str, Any] = {}
    if isinstance(conninfo, str):
        with suppress(psycopg.Error):
            params = conninfo_to_dict(conninfo)
    if isinstance(kwargs, dict):
        params.update(kwargs)
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    return f"{host}:{port}"


class _Health:
    """Why the owned pool's last connection attempt failed (None after a success).

    The pool connects in background workers and its clients only ever see a
    timeout; this keeps the real cause for their error message.
    """

    __slots__ = ("cause",)

    def __init__(self) -> None:
        self.cause: str | None = None

    def failed(self, exc: BaseException) -> None:
        self.cause = _problem(exc)


if hasattr(select, "poll"):

    def _has_input(fd: int) -> bool:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))

else:  # pragma: no cover - Windows

    def _has_input(fd: int) -> bool:
        return bool(select.select([fd], [], [], 0)[0])


def _looks_dead(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle pooled connection may have been closed by the server.

    An idle connection has nothing to read unless the server went away (EOF,
    reset, or a FATAL message before closing) or sent an unsolicited notice.
    One non-blocking poll costs a microsecond; a ``SELECT 1`` check on every
    checkout would double the round trips of a session validation.
    """
    if conn.closed:
        return True
    try:
        return _has_input(conn.fileno())
    except (psycopg.Error, OSError, ValueError):
        return True


CUT_GRACE = 2.0
"""Seconds past ``statement_timeout`` after which lucia cuts a call's connection itself."""


class _Watch:
    """One call's connection, to be cut if the call outlives its deadline."""

    __slots__ = ("cut", "fd", "timer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.cut = False
        self.timer: asyncio.TimerHandle | None = None


def _cut(watch: _Watch) -> None:
    # Shutting the socket down wakes the call waiting on it at once with an
    # error (psycopg then marks the connection broken; the pool drops it).
    if watch.fd < 0:
        return
    with suppress(OSError):
        sock = socket.socket(fileno=os.dup(watch.fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
    watch.fd = -1
    watch.cut = True


class _Deadlines:
    """One thread that cuts the connections of sync calls past their deadline.

    The server enforces ``statement_timeout``, and the kernel of a machine that
    is up answers keepalives, so neither ends a call to a server process that
    is frozen (stopped, swapping, stuck in I/O): this does, from our side. A
    call arms a watch and disarms it when it returns its connection; both hold
    the lock the cut holds, so a cut never reaches a socket after its call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> _Watch:
        watch = _Watch(fd)
        with self._lock:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lucia-postgres-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                # The earliest deadline now (an adapter with a shorter timeout,
                # or an empty heap): the thread sleeps until a later one.
                self._wake.notify()
        return watch

    def disarm(self, watch: _Watch) -> None:
        with self._lock:
            watch.fd = -1

    def _run(self) -> None:
        heap = self._heap
        with self._lock:
            while True:
                if not heap:
                    self._wake.wait()
                    continue
                deadline, _, watch = heap[0]
                if watch.fd < 0:
                    heapq.heappop(heap)
                    continue
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(heap)
                _cut(watch)


_DEADLINES = _Deadlines()


class _PostgresDriverBase:
    """What the sync and async drivers share: the pool's identity, whether it is
    theirs and open, and the error mapping."""

    # Whether a pool the driver makes opens when made (else at the first call).
    opens_pool_at_once: ClassVar[bool]

    def __init__(
        self,
        target: str,
        timeout: float,
        health: _Health | None,
        cut_after: float | None,
        *,
        owned: bool,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.health = health
        # The longest a call may hold a connection before lucia cuts it (None: never).
        self.cut_after = cut_after
        self.owned = owned
        # A pool passed in is the application's to open.
        self.opened = self.opens_pool_at_once or not owned
        self.closed = False

    def _unanswered(self, exc: BaseException) -> DatabaseError:
        return DatabaseError(
            f"PostgreSQL at {self.target} did not answer within {self.cut_after:g} s"
            " (connection cut)",
            cause=exc,
        )

    def map_error(self, exc: BaseException) -> Exception | None:
        if isinstance(exc, PoolTimeout):
            cause = self.health.cause if self.health is not None else None
            if cause is not None:
                return DatabaseError(f"PostgreSQL unreachable at {self.target}: {cause}", cause=exc)
            return DatabaseError(
                f"PostgreSQL pool timeout: no connection to {self.target}"
                f" within {self.timeout:g} s",
                cause=exc,
            )
        if isinstance(exc, PoolClosed):
            return DatabaseError("PostgreSQL connection pool is closed (or not open)")
        if isinstance(exc, TooManyRequests):
            return DatabaseError("PostgreSQL connection pool has too many requests waiting")
        if isinstance(exc, pg_errors.UniqueViolation):
            return DuplicateKeyError()
        if isinstance(exc, pg_errors.ForeignKeyViolation):
            return UserNotFoundError()
        if not isinstance(exc, psycopg.Error):
            return None
        return DatabaseError(self._describe(exc), cause=exc)

    def _describe(self, exc: psycopg.Error) -> str:
        name = type(exc).__name__
        sqlstate = exc.sqlstate
        if sqlstate is None and isinstance(exc, psycopg.OperationalError):
            # No SQLSTATE: the connection itself failed (libpq's own message).
            if str(exc).startswith("connection failed"):
                return f"PostgreSQL unreachable at {self.target}: {_problem(exc)}"
            return f"PostgreSQL connection to {self.target} failed: {_problem(exc)}"
        if sqlstate is None:
            return f"PostgreSQL client error ({name})"
        primary = exc.diag.message_primary
        if sqlstate.startswith("42") and primary:
            # Syntax and access-rule errors name schema objects (a missing table,
            # a denied permission), never bound values: worth passing on.
            return f"PostgreSQL error {sqlstate} ({name}): {primary}"
        return f"PostgreSQL error {sqlstate} ({name})"


class _DriverHooks(_PostgresDriverBase):
    """The sync flavour's hooks: an owned pool is opened when made; a call's
    deadline is watched by the one deadline thread."""

    opens_pool_at_once = True

    def opened_here(self) -> None:
        """Never called: a sync pool is open from the start."""

    def arm(self, conn: psycopg.Connection[Any]) -> _Watch | None:
        """Watch the call now holding ``conn`` (None when nothing is cut)."""
        return None if self.cut_after is None else _DEADLINES.arm(conn.fileno(), self.cut_after)

    def disarm(self, watch: _Watch) -> None:
        _DEADLINES.disarm(watch)


class _AsyncDriverHooks(_PostgresDriverBase):
    """The async flavour's hooks: an owned pool opens in the event loop of its
    first call (an asyncio pool cannot open without one) and belongs to it; a
    call's deadline is the loop's own timer (no thread, and no cancellation:
    psycopg answers one by waiting up to 10 s for the frozen server)."""

    # An AsyncConnectionPool must open inside the loop that uses it: on first use.
    opens_pool_at_once = False
    # The loop the pool opened in (None until then).
    loop: asyncio.AbstractEventLoop | None = None

    def opened_here(self) -> None:
        """Record that the pool opened, in the running loop."""
        self.loop = asyncio.get_running_loop()
        self.opened = True

    def arm(self, conn: psycopg.AsyncConnection[Any]) -> _Watch | None:
        if self.cut_after is None:
            return None
        watch = _Watch(conn.fileno())
        watch.timer = asyncio.get_running_loop().call_later(self.cut_after, _cut, watch)
        return watch

    def disarm(self, watch: _Watch) -> None:
        if watch.timer is not None:
            watch.timer.cancel()


class _PostgresAdapterHooks(Closing):
    """The sync adapter's closing: ``close()`` (written once, with the adapter)."""


class _AsyncPostgresAdapterHooks(AsyncClosing):
    """The async adapter's closing: ``aclose()`` (written once, with the adapter),
    and ``close()`` for sync code, which must find the pool's event loop."""

    driver: _AsyncDriverHooks  # the adapter's AsyncPostgresDriver
    _closing: asyncio.Task[None] | None = None

    def close(self) -> None:
        """``aclose()`` for synchronous code (a shutdown hook, a test teardown).

        Outside the pool's event loop it runs the close to the end, in that
        loop; called from inside the running loop (where it cannot block) it
        schedules the close and returns.
        """
        driver = self.driver
        loop = driver.loop
        if not driver.owned or driver.closed:
            return
        if loop is None or loop.is_closed():
            # Never opened, or its loop is gone (and the pool's tasks with it):
            # nothing left that could run the close.
            driver.closed = True
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._closing = loop.create_task(self.aclose())
        elif loop.is_running():
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        else:
            loop.run_until_complete(self.aclose())


def connection_kwargs(
    conninfo: str = "",
    *,
    statement_timeout: float | None = STATEMENT_TIMEOUT,
    keepalives_idle: int | None = KEEPALIVES_IDLE,
) -> dict[str, Any]:
    """The libpq parameters that bound every call on a connection, as the pools
    lucia makes use them; pass them to a pool of your own:
    ``ConnectionPool(conninfo, kwargs=connection_kwargs(conninfo))``.

    - ``statement_timeout`` (seconds): the server cancels a statement that runs,
      or waits on a lock, for longer (``DatabaseError`` naming SQLSTATE 57014;
      the connection stays usable). Sent as ``options=-c statement_timeout=``,
      before any ``options`` of ``conninfo``, so a ``statement_timeout`` there wins.
    - ``keepalives_idle`` (seconds): TCP keepalives after that much silence,
      every half of it, 3 unanswered probes and the connection is dropped; and
      ``tcp_user_timeout`` (Linux) as long, for data the peer never acknowledges.
      A host that is gone (powered off, paused, cut off) then fails the call
      after about 2.5 x ``keepalives_idle`` instead of when TCP gives up (minutes
      to hours). A parameter ``conninfo`` sets itself is left to it.

    None turns either off.
    """
    given = _parse_conninfo(conninfo) if conninfo else {}
    kwargs: dict[str, Any] = {}
    if statement_timeout is not None:
        if statement_timeout <= 0:
            raise ValueError("statement_timeout must be positive (or None)")
        own = f"-c statement_timeout={max(1, round(statement_timeout * 1000))}"
        kwargs["options"] = f"{own} {given['options']}" if given.get("options") else own
    if keepalives_idle is not None:
        if isinstance(keepalives_idle, bool) or keepalives_idle < 1:
            raise ValueError("keepalives_idle must be a whole number of seconds >= 1 (or None)")
        idle = int(keepalives_idle)
        bounds = {
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": max(1, idle // 2),
            "keepalives_count": 3,
            "tcp_user_timeout": idle * 1000 * 5 // 2,
        }
        kwargs.update({name: value for name, value in bounds.items() if name not in given})
    return kwargs


def _parse_conninfo(conninfo: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(conninfo)
    except psycopg.Error:
        # psycopg's message may quote part of the string, password included.
        raise DatabaseError("invalid PostgreSQL connection string") from None


def _pool_settings(
    conninfo: str,
    min_size: int,
    max_size: int,
    connect_timeout: float,
    statement_timeout: float | None,
    keepalives_idle: int | None,
) -> tuple[str, dict[str, Any]]:
    """The target and the pool keyword arguments for an owned pool on ``conninfo``."""
    if not isinstance(conninfo, str):
        raise TypeError("expected a conninfo string or URL, or a psycopg_pool pool of the flavour")
    _parse_conninfo(conninfo)
    if connect_timeout <= 0:
        raise ValueError("connect_timeout must be positive")
    bounds = connection_kwargs(
        conninfo, statement_timeout=statement_timeout, keepalives_idle=keepalives_idle
    )
    settings: dict[str, Any] = {
        "min_size": min_size,
        "max_size": max_size,
        # The longest a call waits for a connection, free or new.
        "timeout": connect_timeout,
        # The pool retries failed connects with doubling delays; giving up after
        # one timeout's worth keeps the gap between attempts within what a
        # waiting caller tolerates, so the first call after an outage finds the
        # server again (a later caller starts a new attempt at once).
        "reconnect_timeout": connect_timeout,
        "kwargs": {
            "autocommit": True,
            # libpq counts whole seconds, at least 2.
            "connect_timeout": max(2, math.ceil(connect_timeout)),
            **bounds,
        },
        "name": "lucia",
    }
    return _describe_target(conninfo), settings


def _passed_pool_target(pool: _SyncPool | _AsyncPool) -> str:
    return _describe_target(pool.conninfo, pool.kwargs)


def _driver_for(
    conninfo_or_pool: Any,
    pool_class: Any,
    driver_class: Any,
    watched_connection_class: Any,
    *,
    min_size: int,
    max_size: int,
    connect_timeout: float,
    statement_timeout: float | None,
    keepalives_idle: int | None,
) -> Any:
    """The driver over a pool passed in (used as is), or over a pool made from a conninfo."""
    if isinstance(conninfo_or_pool, pool_class):
        return driver_class(
            conninfo_or_pool,
            owned=False,
            target=_passed_pool_target(conninfo_or_pool),
            timeout=conninfo_or_pool.timeout,
            health=None,
            cut_after=None,
        )
    target, settings = _pool_settings(
        conninfo_or_pool, min_size, max_size, connect_timeout, statement_timeout, keepalives_idle
    )
    health = _Health()
    pool = pool_class(
        conninfo_or_pool,
        connection_class=watched_connection_class(health),
        open=driver_class.opens_pool_at_once,
        **settings,
    )
    cut_after = None if statement_timeout is None else statement_timeout + CUT_GRACE
    return driver_class(
        pool,
        owned=True,
        target=target,
        timeout=connect_timeout,
        health=health,
        cut_after=cut_after,
    )
