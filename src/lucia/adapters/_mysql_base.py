"""What lucia's MySQL and MariaDB adapters are built on: the URL and its
arguments, the error mapping, PyMySQL's connection pool and driver, and
aiomysql's driver (their client libraries differ, so the drivers are written
by hand), and the per-flavour part of closing. ``lucia.adapters.mysql``
documents the adapters (written once in ``lucia/adapters/_async/mysql.py``)
and is where they are imported from.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import select
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql  # type: ignore[import-untyped,unused-ignore]
from pymysql import converters  # type: ignore[import-untyped,unused-ignore]
from pymysql.constants import (  # type: ignore[import-untyped,unused-ignore]
    CLIENT,
    FIELD_TYPE,
    SERVER_STATUS,
)

from lucia.adapters.base import AsyncClosing, Closing
from lucia.adapters.sql import Dialect
from lucia.adapters.sql.engine import Row
from lucia.errors import DatabaseError, DuplicateKeyError, LuciaError, UserNotFoundError

MYSQL = Dialect("mysql", placeholder="%s", lock_suffix=" FOR UPDATE", delete_limit=True)

_SCHEMES = frozenset(
    {"mysql", "mysql+pymysql", "mysql+aiomysql", "mariadb", "mariadb+pymysql", "mariadb+aiomysql"}
)
_URL_OPTIONS: dict[str, Callable[[str], Any]] = {
    "unix_socket": str,
    "read_timeout": float,
    "write_timeout": float,
}

IO_TIMEOUT = 10.0
"""Seconds a call waits for MySQL to answer (or to take what it sends), by default."""

_DUPLICATE = frozenset({1062})  # ER_DUP_ENTRY
_NO_PARENT = frozenset({1216, 1452})  # ER_NO_REFERENCED_ROW, ER_NO_REFERENCED_ROW_2
# Client-side (CR_*) error numbers: the connection itself failed.
_CLIENT_ERRORS = range(2000, 3000)
_CLIENT_CAUSES = {
    2003: "cannot connect",
    2006: "server has gone away",
    2013: "connection lost",
    2014: "commands out of sync",
    2055: "connection lost",
}
# Fixed descriptions of the server errors worth naming. The server's own text is
# never passed on: several messages quote the values of the row.
_SERVER_CAUSES = {
    1040: "too many connections",
    1044: "access denied to the database",
    1045: "access denied",
    1046: "no database selected",
    1048: "a required column is NULL",
    1049: "unknown database",
    1146: "table missing; run create_tables()",
    1205: "lock wait timeout",
    1213: "deadlock",
    1290: "the server is read-only",
    1366: "invalid value for its column",
    1406: "value too long for its column",
    1698: "access denied",
    1836: "the server is read-only",
    3819: "check constraint failed",
    4025: "check constraint failed",
}


def _as_text(value: bytes | str) -> str:
    # VARBINARY ids and keys arrive as bytes; lucia stored them as UTF-8 text.
    return value.decode("utf-8") if isinstance(value, bytes) else value


# VARCHAR and VARBINARY share the VAR_STRING wire type; the secret hash is
# BINARY(32) (STRING) and the attributes LONGTEXT (BLOB), so they are untouched.
_CONVERSIONS: dict[Any, Any] = {**converters.conversions, FIELD_TYPE.VAR_STRING: _as_text}


@dataclass(frozen=True)
class _Target:
    """Where to connect: the PyMySQL arguments, and the address for messages."""

    params: dict[str, Any] = field(repr=False)
    where: str
    display: str


def _target(url_or_params: str | Mapping[str, Any], connect_timeout: float) -> _Target:
    if isinstance(url_or_params, str):
        params = _parse_url(url_or_params)
    elif isinstance(url_or_params, Mapping):
        params = dict(url_or_params)
        if "db" in params:
            params.setdefault("database", params.pop("db"))
        if "passwd" in params:
            params.setdefault("password", params.pop("passwd"))
    else:
        raise TypeError("expected a mysql:// URL or a dict of PyMySQL connect() arguments")
    # What lucia's statements rely on; a caller's value would break them.
    params.update(
        autocommit=True,
        charset="utf8mb4",
        client_flag=int(params.get("client_flag", 0)) | CLIENT.FOUND_ROWS,
        conv=_CONVERSIONS,
        cursorclass=pymysql.cursors.Cursor,
        connect_timeout=connect_timeout,
    )
    params.setdefault("sql_mode", "TRADITIONAL")
    params.setdefault("read_timeout", IO_TIMEOUT)
    params.setdefault("write_timeout", IO_TIMEOUT)
    host = params.get("host") or "localhost"
    if params.get("unix_socket"):
        where = str(params["unix_socket"])
    else:
        where = f"{host}:{params.get('port') or 3306}"
    user = params.get("user") or ""
    display = f"mysql://{user}{'@' if user else ''}{where}/{params.get('database') or ''}"
    return _Target(params, where, display)


def _parse_url(url: str) -> dict[str, Any]:
    # Error messages here never repeat the URL: it may hold the password.
    shape = "expected mysql://user:password@host:port/database"
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        raise ValueError(f"not a MySQL URL: {shape}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid port in the MySQL URL: {shape}") from None
    database = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if "/" in database:
        raise ValueError(f"invalid database name in the MySQL URL: {shape}")
    params: dict[str, Any] = {}
    if parts.hostname:
        params["host"] = parts.hostname
    if port:
        params["port"] = port
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    if database:
        params["database"] = database
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _URL_OPTIONS:
            known = ", ".join(sorted(_URL_OPTIONS))
            raise ValueError(f"unknown MySQL URL parameter {name!r} (known: {known})")
        try:
            params[name] = _URL_OPTIONS[name](value)
        except ValueError:
            raise ValueError(f"invalid value for the MySQL URL parameter {name!r}") from None
    return params


def _check_arguments(params: Mapping[str, Any], accepted: Callable[..., Any], driver: str) -> None:
    # Refuse a misspelt or unsupported argument now, not at the first connection.
    known = inspect.signature(accepted).parameters
    for name in params:
        if name not in known:
            raise TypeError(f"{driver} does not accept the connection argument {name!r}")


def _errno(exc: BaseException) -> int | None:
    code = exc.args[0] if exc.args else None
    return code if isinstance(code, int) else None


def map_mysql_error(exc: BaseException, where: str) -> Exception | None:
    """The ``LuciaError`` for a PyMySQL/aiomysql (or socket) error; None for any other."""
    if isinstance(exc, LuciaError):
        return None
    if isinstance(exc, pymysql.err.MySQLError):
        code = _errno(exc)
        if code in _DUPLICATE:
            return DuplicateKeyError()
        if code in _NO_PARENT:
            return UserNotFoundError()
        if code is None or code in _CLIENT_ERRORS or isinstance(exc, pymysql.err.InterfaceError):
            cause = _CLIENT_CAUSES.get(code or 0, "connection failed")
            reason = _os_reason(exc)
            detail = f"{cause}: {reason}" if reason else cause
            return DatabaseError(
                f"MySQL unreachable at {where} (errno {code}: {detail})", cause=exc
            )
        cause = _SERVER_CAUSES.get(code, type(exc).__name__)
        return DatabaseError(f"MySQL error {code} at {where}: {cause}", cause=exc)
    if isinstance(exc, OSError):  # TimeoutError included
        reason = _os_reason(exc) or type(exc).__name__
        return DatabaseError(f"MySQL unreachable at {where} ({reason})", cause=exc)
    return None


def _os_reason(exc: BaseException) -> str:
    """The socket error behind a failure ("connection refused"), if there is one."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        if isinstance(seen, OSError):
            # From the error number: asyncio's strerror is "Connect call failed (...)".
            if seen.errno:
                return os.strerror(seen.errno).lower()
            return "timed out" if isinstance(seen, TimeoutError) else ""
        seen = getattr(seen, "original_exception", None) or seen.__cause__
    return ""


def _server_reported(exc: BaseException | None) -> bool:
    """Whether a call failed with an error the server reported: the connection is sound."""
    if exc is None:
        return True
    if isinstance(exc, pymysql.err.MySQLError) and not isinstance(exc, pymysql.err.InterfaceError):
        code = _errno(exc)
        return code is not None and code not in _CLIENT_ERRORS
    return False


def _in_transaction(conn: Any) -> bool:
    return bool(conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)


if hasattr(select, "poll"):

    def _has_input(sock: Any) -> bool:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))

else:  # pragma: no cover - Windows has no poll()

    def _has_input(sock: Any) -> bool:
        return bool(select.select([sock], [], [], 0)[0])


def _idle_connection_is_sound(conn: Any) -> bool:
    # An idle connection has nothing to read. Anything readable means the server
    # closed it (wait_timeout, a restart, KILL) or the network reset it: one
    # poll() instead of a ping's round trip on every checkout.
    sock = getattr(conn, "_sock", None)
    if sock is None:
        return False
    try:
        return not _has_input(sock)
    except (OSError, ValueError):
        return False


def _close_quietly(conn: Any) -> None:
    with suppress(Exception):
        conn.close()


class ConnectionPool:
    """A bounded, thread-safe pool of PyMySQL connections.

    At most ``size`` connections exist at once; a caller waits up to ``timeout``
    seconds for one to come free, then gets ``DatabaseError``. Connections are
    made on demand. A connection that failed (or was left inside a transaction)
    is closed instead of being returned, and an idle one the server has closed
    is noticed at checkout and replaced.
    """

    def __init__(self, connect: Callable[[], Any], size: int, timeout: float) -> None:
        if size < 1:
            raise ValueError("pool_size must be at least 1")
        self._connect = connect
        self.size = size
        self.timeout = timeout
        # A slot is the right to hold a connection; idle ones wait in _idle, so
        # connections in use plus idle never exceed size.
        self._slots = threading.BoundedSemaphore(size)
        # deque append/pop are atomic; LIFO keeps the warmest connection in use.
        self._idle: deque[Any] = deque()
        self.closed = False

    def acquire(self) -> Any:
        """A connection for the caller alone, until ``release``."""
        if self.closed:
            raise DatabaseError("the MySQL adapter is closed")
        if not self._slots.acquire(timeout=self.timeout):
            raise DatabaseError(
                f"no MySQL connection came free within {self.timeout:g} s (pool_size={self.size})"
            )
        try:
            if self.closed:
                raise DatabaseError("the MySQL adapter is closed")
            while self._idle:
                try:
                    conn = self._idle.pop()
                except IndexError:  # another thread took the last one
                    break
                if _idle_connection_is_sound(conn):
                    return conn
                _close_quietly(conn)
            return self._connect()
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: Any, reusable: bool) -> None:
        """Give a connection back; it is closed unless ``reusable`` and still sound."""
        try:
            if reusable and not self.closed and conn.open and not _in_transaction(conn):
                self._idle.append(conn)
                if self.closed:  # close() ran meanwhile and may have missed it
                    self._drain()
            else:
                _close_quietly(conn)
        finally:
            self._slots.release()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """``acquire`` and ``release`` around a block; a failed connection is discarded."""
        conn = self.acquire()
        failure: BaseException | None = None
        try:
            yield conn
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self.release(conn, _server_reported(failure))

    def close(self) -> None:
        """Close the idle connections now, and the others when they are released."""
        self.closed = True
        self._drain()

    def _drain(self) -> None:
        while self._idle:
            with suppress(IndexError):
                _close_quietly(self._idle.pop())


class PyMySQLDriver:
    """``SQLDriver`` for PyMySQL over a ``ConnectionPool``."""

    def __init__(self, target: _Target, pool_size: int, pool_timeout: float) -> None:
        _check_arguments(target.params, pymysql.connections.Connection.__init__, "PyMySQL")
        self.target = target
        self.pool = ConnectionPool(self._connect, pool_size, pool_timeout)

    def _connect(self) -> Any:
        return pymysql.connect(**self.target.params)

    def connection(self) -> Any:
        return self.pool.connection()

    def begin(self, conn: Any) -> None:
        conn.begin()

    def commit(self, conn: Any) -> None:
        conn.commit()

    def rollback(self, conn: Any) -> None:
        conn.rollback()

    def fetch_one(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Row | None:
        with conn.cursor() as cursor:
            # None, not (): PyMySQL would %-format the SQL even for no parameters.
            cursor.execute(sql, params or None)
            row: Row | None = cursor.fetchone()
            return row

    def fetch_all(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[Row]:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall())

    def execute(self, conn: Any, sql: str, params: tuple[Any, ...]) -> int:
        with conn.cursor() as cursor:
            count: int = cursor.execute(sql, params or None)
            return count

    def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        with self.connection() as conn:
            return self.fetch_one(conn, sql, params)

    def map_error(self, exc: BaseException) -> Exception | None:
        return map_mysql_error(exc, self.target.where)

    def close(self) -> None:
        """Close the pool's connections (those in use as they are released)."""
        self.pool.close()


@dataclass
class _LoopPool:
    """The aiomysql pool of one event loop, with the slots bounding its callers."""

    loop: asyncio.AbstractEventLoop
    slots: asyncio.Semaphore
    lock: asyncio.Lock
    pool: Any = None


class AiomysqlDriver:
    """``AsyncSQLDriver`` for aiomysql over its pool, created lazily in the running loop."""

    def __init__(self, target: _Target, pool_size: int, pool_timeout: float) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        import aiomysql  # type: ignore[import-untyped,unused-ignore]

        self._aiomysql = aiomysql
        self.target = target
        params = dict(target.params)
        if "database" in params:
            params["db"] = params.pop("database")
        params["cursorclass"] = aiomysql.Cursor
        # aiomysql has no socket timeouts: read_timeout bounds each call instead.
        self.call_timeout = float(params.pop("read_timeout"))
        params.pop("write_timeout")
        if params.get("sql_mode") is not None:
            # aiomysql sends "SET sql_mode=<value>" unquoted; PyMySQL binds it.
            params["sql_mode"] = "'" + converters.escape_string(str(params["sql_mode"])) + "'"
        _check_arguments(params, aiomysql.Connection.__init__, "aiomysql")
        self._params = params
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout
        self._state: _LoopPool | None = None
        self.closed = False

    async def _ready(self) -> _LoopPool:
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop:
            if self.closed:
                raise DatabaseError("the MySQL adapter is closed")
            if state is not None:
                _abandon(state)
            # No await between the check above and this assignment, so tasks
            # starting together all see the same state (and its lock).
            state = self._state = _LoopPool(loop, asyncio.Semaphore(self.pool_size), asyncio.Lock())
        if state.pool is None:
            async with state.lock:
                if state.pool is None:
                    # minsize=0: connections are opened on demand, by the callers.
                    state.pool = await self._aiomysql.create_pool(
                        minsize=0, maxsize=self.pool_size, **self._params
                    )
        return state

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        state = await self._ready()
        # Callers queue on our semaphore, which has a timeout, rather than inside
        # aiomysql's pool, which has none and does not wake waiters when a broken
        # connection is dropped. A slot holder always finds room in the pool.
        try:
            async with asyncio.timeout(self.pool_timeout):
                await state.slots.acquire()
        except TimeoutError:
            raise DatabaseError(
                f"no MySQL connection came free within {self.pool_timeout:g} s"
                f" (pool_size={self.pool_size})"
            ) from None
        try:
            if self.closed:
                raise DatabaseError("the MySQL adapter is closed")
            conn = await state.pool.acquire()
            failure: BaseException | None = None
            try:
                # A hung server fails the call (TimeoutError: the connection is
                # then closed below, never reused with a reply still to come).
                async with asyncio.timeout(self.call_timeout):
                    yield conn
            except BaseException as exc:
                failure = exc
                raise
            finally:
                # A cancelled or failed call may leave a reply unread or a
                # transaction open: such a connection is closed, never reused.
                if not _server_reported(failure) or _in_transaction(conn):
                    conn.close()
                state.pool.release(conn)
        finally:
            state.slots.release()

    async def begin(self, conn: Any) -> None:
        await conn.begin()

    async def commit(self, conn: Any) -> None:
        await conn.commit()

    async def rollback(self, conn: Any) -> None:
        await conn.rollback()

    async def fetch_one(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Row | None:
        async with conn.cursor() as cursor:
            await cursor.execute(_bind(conn, sql, params))
            row: Row | None = await cursor.fetchone()
            return row

    async def fetch_all(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[Row]:
        async with conn.cursor() as cursor:
            await cursor.execute(_bind(conn, sql, params))
            return list(await cursor.fetchall())

    async def execute(self, conn: Any, sql: str, params: tuple[Any, ...]) -> int:
        async with conn.cursor() as cursor:
            count: int = await cursor.execute(_bind(conn, sql, params))
            return count

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        async with self.connection() as conn:
            return await self.fetch_one(conn, sql, params)

    def map_error(self, exc: BaseException) -> Exception | None:
        return map_mysql_error(exc, self.target.where)

    async def aclose(self) -> None:
        """Close the pool, waiting for the connections in use to be released."""
        self.closed = True
        state, self._state = self._state, None
        if state is None or state.pool is None:
            return
        if state.loop is not asyncio.get_running_loop():
            _abandon(state)
            return
        state.pool.close()
        await state.pool.wait_closed()


def _bind(conn: Any, sql: str, params: tuple[Any, ...]) -> str:
    """The statement with its parameters as literals, as aiomysql's ``execute`` would do.

    aiomysql 0.3.2 cannot escape bytes with PyMySQL >= 1.2.3 (aio-libs/aiomysql#1080),
    so bytes (the secret hash) become a hex literal here and the rest goes
    through the connection's own escaping.
    """
    if not params:
        return sql
    return sql % tuple(
        f"_binary X'{value.hex()}'" if isinstance(value, bytes) else conn.escape(value)
        for value in params
    )


def _abandon(state: _LoopPool) -> None:
    """Drop the pool of another event loop (``asyncio.run`` called again, say)."""
    if state.loop.is_running():
        raise RuntimeError(
            "this AsyncMySQLAdapter is in use by another running event loop;"
            " create one adapter per event loop"
        )
    if state.pool is None:
        return
    # aiomysql has no synchronous close for a pool; these are its connections.
    for conn in [*state.pool._free, *state.pool._used]:
        writer = conn._writer
        if writer is None:
            continue
        if state.loop.is_closed():
            # A closed loop cannot finish the transport's close (the socket then
            # goes with the garbage collector); shutting it down still ends the
            # session on the server at once.
            with suppress(Exception):
                writer.transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        # On a closed loop this raises after marking the transport closing, which
        # is what keeps aiomysql's __del__ from raising the same error later.
        with suppress(Exception):
            conn.close()


class _MySQLAdapterHooks(Closing):
    """The sync adapter's closing: ``close()`` (written once, with the adapter)."""


class _AsyncMySQLAdapterHooks(AsyncClosing):
    """The async adapter's closing: ``aclose()`` (written once, with the adapter),
    and ``close()`` for sync code, which must find the pool's event loop."""

    driver: AiomysqlDriver
    _closing: asyncio.Task[None] | None = None

    def close(self) -> None:
        """``aclose()`` for synchronous code (a shutdown hook, a test teardown).

        Outside the pool's event loop it drops the pool's connections at once;
        called from inside that running loop (where it cannot block) it
        schedules ``aclose()`` and returns.
        """
        driver = self.driver
        state = driver._state
        if state is not None and state.loop.is_running():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is state.loop:
                self._closing = running.create_task(self.aclose())
            else:
                asyncio.run_coroutine_threadsafe(self.aclose(), state.loop).result()
            return
        driver.closed = True
        driver._state = None
        if state is not None:
            _abandon(state)
