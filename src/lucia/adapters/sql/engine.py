"""Every SQL adapter method written once, as a flow of SQL operations.

A flow yields what it needs (fetch one row, fetch all rows, execute and count,
begin, commit) and receives the result. ``SQLAdapter`` runs flows on a sync
driver, ``AsyncSQLAdapter`` on an async one; a database then only supplies a
driver: how to get a connection, run a statement, delimit a transaction and
name its errors. The statements come from ``Statements`` (written once too).
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, suppress
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from lucia.adapters._purge import (
    PURGE_BATCH_SIZE,
    PurgeProgress,
    apurge_in_batches,
    purge_in_batches,
)
from lucia.adapters.base import ConsumedToken, KeyRecord, SessionRecord, TokenRecord, UserRecord
from lucia.adapters.sql import Statements, decode_json, encode_json, schema

__all__ = ["AsyncSQLAdapter", "AsyncSQLDriver", "SQLAdapter", "SQLDriver", "SQLFlows"]

T = TypeVar("T")
Row = Sequence[Any]

_ONE, _ALL, _EXEC, _BEGIN, _COMMIT = range(5)
_Op = tuple[int, str, tuple[Any, ...]]
_Flow = Generator[_Op, Any, T]
_NO_PARAMS: tuple[Any, ...] = ()


class SQLDriver(Protocol):
    """What a sync database driver provides to ``SQLAdapter``."""

    def connection(self) -> AbstractContextManager[Any]:
        """A connection for one adapter call (from a pool, a thread, ...), in autocommit mode."""

    def begin(self, conn: Any) -> None: ...
    def commit(self, conn: Any) -> None: ...
    def rollback(self, conn: Any) -> None: ...
    def fetch_one(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Row | None: ...
    def fetch_all(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[Row]: ...
    def execute(self, conn: Any, sql: str, params: tuple[Any, ...]) -> int:
        """Run a statement; the number of rows it matched."""

    def map_error(self, exc: BaseException) -> Exception | None:
        """The ``LuciaError`` for a driver error (duplicate key, missing user, database
        down), or None for an exception that is not the driver's."""


class AsyncSQLDriver(Protocol):
    """``SQLDriver`` for an asyncio driver."""

    def connection(self) -> AbstractAsyncContextManager[Any]: ...
    async def begin(self, conn: Any) -> None: ...
    async def commit(self, conn: Any) -> None: ...
    async def rollback(self, conn: Any) -> None: ...
    async def fetch_one(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Row | None: ...
    async def fetch_all(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[Row]: ...
    async def execute(self, conn: Any, sql: str, params: tuple[Any, ...]) -> int: ...
    def map_error(self, exc: BaseException) -> Exception | None: ...


class SQLFlows:
    """The adapter interface as flows over ``Statements``."""

    def __init__(self, statements: Statements, ddl: list[str]) -> None:
        self.q = statements
        self.ddl = ddl

    def create_tables(self) -> _Flow[None]:
        yield (_BEGIN, "", _NO_PARAMS)
        # Another app's table under one of lucia's names (Django's auth_user) is
        # refused before anything is created: IF NOT EXISTS would skip it silently.
        check = schema.columns_query(self.q.dialect, self.q.tables)
        if check is not None:
            schema.check_columns(self.q.tables, (yield (_ALL, *check)))
        for statement in self.ddl:
            yield (_EXEC, statement, _NO_PARAMS)
        yield (_COMMIT, "", _NO_PARAMS)

    def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> _Flow[None]:
        q = self.q
        yield (_BEGIN, "", _NO_PARAMS)
        yield (_EXEC, q.insert_user, q.user_params(user, created_at))
        yield (_EXEC, q.insert_key, q.key_params(key))
        yield (_COMMIT, "", _NO_PARAMS)

    def get_user(self, user_id: str) -> _Flow[UserRecord | None]:
        row = yield (_ONE, self.q.get_user, (user_id,))
        return None if row is None else self.q.user_from_row(row)

    def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> _Flow[tuple[UserRecord, KeyRecord] | None]:
        row = yield (_ONE, self.q.get_user_by_key, (provider_id, provider_user_id))
        if row is None:
            return None
        return self.q.user_and_key_from_row(row, provider_id, provider_user_id)

    def update_user_attributes(
        self, user_id: str, attributes: dict[str, Any]
    ) -> _Flow[UserRecord | None]:
        q = self.q
        # Read, merge and write under the row's lock (FOR UPDATE, or SQLite's
        # immediate transaction), so concurrent merges never lose each other's keys.
        yield (_BEGIN, "", _NO_PARAMS)
        row = yield (_ONE, q.lock_user_attributes, (user_id,))
        if row is None:
            yield (_COMMIT, "", _NO_PARAMS)
            return None
        merged = decode_json(row[0]) | attributes
        yield (_EXEC, q.update_user_attributes, (encode_json(merged), user_id))
        yield (_COMMIT, "", _NO_PARAMS)
        return UserRecord(user_id, merged)

    def delete_user(self, user_id: str) -> _Flow[None]:
        yield (_EXEC, self.q.delete_user, (user_id,))

    def insert_key(self, key: KeyRecord) -> _Flow[None]:
        yield (_EXEC, self.q.insert_key, self.q.key_params(key))

    def get_user_keys(self, user_id: str) -> _Flow[list[KeyRecord]]:
        rows = yield (_ALL, self.q.get_user_keys, (user_id,))
        return [self.q.key_from_row(row) for row in rows]

    def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> _Flow[bool]:
        params = (hashed_password, provider_id, provider_user_id)
        count = yield (_EXEC, self.q.update_key_password, params)
        return bool(count > 0)

    def delete_key(self, provider_id: str, provider_user_id: str) -> _Flow[bool]:
        count = yield (_EXEC, self.q.delete_key, (provider_id, provider_user_id))
        return bool(count > 0)

    def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> _Flow[int | None]:
        q = self.q
        # Count and delete under the user's row lock (FOR UPDATE, or SQLite's
        # immediate transaction): two concurrent unlinks of a user's last two
        # providers run one after the other, and the second finds one key left.
        yield (_BEGIN, "", _NO_PARAMS)
        if (yield (_ONE, q.lock_user, (user_id,))) is None:
            yield (_COMMIT, "", _NO_PARAMS)
            return 0
        rows = yield (_ALL, q.lock_user_key_ids, (user_id,))
        matching = sum(
            1
            for row in rows
            if row[0] == provider_id and (provider_user_id is None or row[1] == provider_user_id)
        )
        if matching == 0 or matching == len(rows):
            yield (_COMMIT, "", _NO_PARAMS)
            return 0 if matching == 0 else None
        if provider_user_id is None:
            count: int = yield (_EXEC, q.delete_provider_keys, (user_id, provider_id))
        else:
            # The key is the user's (it was among the rows just locked).
            count = yield (_EXEC, q.delete_key, (provider_id, provider_user_id))
        yield (_COMMIT, "", _NO_PARAMS)
        return count

    def insert_session(self, session: SessionRecord) -> _Flow[None]:
        yield (_EXEC, self.q.insert_session, self.q.session_params(session))

    def get_session(self, session_id: str) -> _Flow[SessionRecord | None]:
        row = yield (_ONE, self.q.get_session, (session_id,))
        return None if row is None else self.q.session_from_row(row)

    def get_session_and_user(
        self, session_id: str
    ) -> _Flow[tuple[SessionRecord, UserRecord] | None]:
        row = yield (_ONE, self.q.get_session_and_user, (session_id,))
        return None if row is None else self.q.session_and_user_from_row(row)

    def get_user_sessions(self, user_id: str) -> _Flow[list[SessionRecord]]:
        rows = yield (_ALL, self.q.get_user_sessions, (user_id,))
        return [self.q.session_from_row(row) for row in rows]

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> _Flow[None]:
        encoded = self.q.dialect.encode_time(expires_at)
        yield (_EXEC, self.q.update_session_expiry, (encoded, session_id))

    def delete_session(self, session_id: str) -> _Flow[None]:
        yield (_EXEC, self.q.delete_session, (session_id,))

    def delete_user_sessions(self, user_id: str) -> _Flow[None]:
        yield (_EXEC, self.q.delete_user_sessions, (user_id,))

    def delete_expired_sessions(self, now: datetime, limit: int) -> _Flow[int]:
        """One batch of a purge: at most ``limit`` expired sessions."""
        encoded = self.q.dialect.encode_time(now)
        count: int = yield (_EXEC, self.q.delete_expired_sessions, (encoded, limit))
        return count

    def insert_token(self, token: TokenRecord) -> _Flow[None]:
        yield (_EXEC, self.q.insert_token, self.q.token_params(token))

    def consume_token(
        self, id_hash: bytes, purpose: str, now: datetime
    ) -> _Flow[ConsumedToken | None]:
        q = self.q
        row = yield (_ONE, q.get_token, (id_hash, purpose))
        if row is None:
            return None
        # Two statements, no transaction: of concurrent consumers that all read
        # the row, the database lets exactly one DELETE remove it (the others
        # wait on its row lock, then find nothing), and only that one wins.
        count = yield (_EXEC, q.delete_token, (id_hash, purpose))
        if count != 1:
            return None
        consumed = q.consumed_token_from_row(row)
        if consumed[1] <= now:
            return None  # expired: deleted all the same, never accepted
        return consumed

    def delete_user_tokens(self, user_id: str, purpose: str) -> _Flow[None]:
        yield (_EXEC, self.q.delete_user_tokens, (user_id, purpose))

    def delete_expired_tokens(self, now: datetime, limit: int) -> _Flow[int]:
        """One batch of a purge: at most ``limit`` expired tokens."""
        encoded = self.q.dialect.encode_time(now)
        count: int = yield (_EXEC, self.q.delete_expired_tokens, (encoded, limit))
        return count


def _failure(driver: SQLDriver | AsyncSQLDriver, exc: Exception) -> Exception:
    mapped = driver.map_error(exc)
    return exc if mapped is None else mapped


class SQLAdapter:
    """A sync ``Adapter`` that runs ``SQLFlows`` on a ``SQLDriver``."""

    def __init__(self, flows: SQLFlows, driver: SQLDriver) -> None:
        self.flows = flows
        self.driver = driver

    def _run(self, flow: _Flow[T]) -> T:
        driver = self.driver
        in_transaction = False
        try:
            with driver.connection() as conn:
                try:
                    op = flow.send(None)
                    while True:
                        kind, sql, params = op
                        if kind == _ONE:
                            result: Any = driver.fetch_one(conn, sql, params)
                        elif kind == _EXEC:
                            result = driver.execute(conn, sql, params)
                        elif kind == _ALL:
                            result = driver.fetch_all(conn, sql, params)
                        elif kind == _BEGIN:
                            driver.begin(conn)
                            result = None
                            in_transaction = True
                        else:
                            driver.commit(conn)
                            result = None
                            in_transaction = False
                        op = flow.send(result)
                except StopIteration as stop:
                    return cast(T, stop.value)
                except BaseException:
                    if in_transaction:
                        _rollback_quietly(driver, conn)
                    raise
        except Exception as exc:
            failure = _failure(driver, exc)
            if failure is exc:
                raise
            raise failure from None

    def create_tables(self) -> None:
        self._run(self.flows.create_tables())

    def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        self._run(self.flows.insert_user(user, key, created_at))

    def get_user(self, user_id: str) -> UserRecord | None:
        return self._run(self.flows.get_user(user_id))

    def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        return self._run(self.flows.get_user_by_key(provider_id, provider_user_id))

    def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> UserRecord | None:
        return self._run(self.flows.update_user_attributes(user_id, attributes))

    def delete_user(self, user_id: str) -> None:
        self._run(self.flows.delete_user(user_id))

    def insert_key(self, key: KeyRecord) -> None:
        self._run(self.flows.insert_key(key))

    def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        return self._run(self.flows.get_user_keys(user_id))

    def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        flow = self.flows.update_key_password(provider_id, provider_user_id, hashed_password)
        return self._run(flow)

    def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        return self._run(self.flows.delete_key(provider_id, provider_user_id))

    def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        return self._run(self.flows.delete_provider_keys(user_id, provider_id, provider_user_id))

    def insert_session(self, session: SessionRecord) -> None:
        self._run(self.flows.insert_session(session))

    def get_session(self, session_id: str) -> SessionRecord | None:
        return self._run(self.flows.get_session(session_id))

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        return self._run(self.flows.get_session_and_user(session_id))

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        return self._run(self.flows.get_user_sessions(user_id))

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        self._run(self.flows.update_session_expiry(session_id, expires_at))

    def delete_session(self, session_id: str) -> None:
        self._run(self.flows.delete_session(session_id))

    def delete_user_sessions(self, user_id: str) -> None:
        self._run(self.flows.delete_user_sessions(user_id))

    def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the sessions expired at ``now`` in batches of ``batch_size``, each
        its own statement and transaction; ``progress`` gets each batch's count."""
        return purge_in_batches(
            functools.partial(self.delete_expired_sessions_batch, now),
            batch_size,
            progress,
            self.purge_rest,
        )

    def delete_expired_sessions_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` sessions expired at ``now``; how many went."""
        return self._run(self.flows.delete_expired_sessions(now, limit))

    @property
    def purge_rest(self) -> float:
        """How long a purge rests after each batch, per second the batch took."""
        return self.flows.q.dialect.purge_rest

    def insert_token(self, token: TokenRecord) -> None:
        self._run(self.flows.insert_token(token))

    def consume_token(self, id_hash: bytes, purpose: str, now: datetime) -> ConsumedToken | None:
        return self._run(self.flows.consume_token(id_hash, purpose, now))

    def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        self._run(self.flows.delete_user_tokens(user_id, purpose))

    def delete_expired_tokens(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the tokens expired at ``now`` in batches (as ``delete_expired_sessions``)."""
        return purge_in_batches(
            functools.partial(self.delete_expired_tokens_batch, now),
            batch_size,
            progress,
            self.purge_rest,
        )

    def delete_expired_tokens_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` tokens expired at ``now``; how many went."""
        return self._run(self.flows.delete_expired_tokens(now, limit))


class AsyncSQLAdapter:
    """An ``AsyncAdapter`` that runs ``SQLFlows`` on an ``AsyncSQLDriver``."""

    def __init__(self, flows: SQLFlows, driver: AsyncSQLDriver) -> None:
        self.flows = flows
        self.driver = driver

    async def _run(self, flow: _Flow[T]) -> T:
        driver = self.driver
        in_transaction = False
        try:
            async with driver.connection() as conn:
                try:
                    op = flow.send(None)
                    while True:
                        kind, sql, params = op
                        if kind == _ONE:
                            result: Any = await driver.fetch_one(conn, sql, params)
                        elif kind == _EXEC:
                            result = await driver.execute(conn, sql, params)
                        elif kind == _ALL:
                            result = await driver.fetch_all(conn, sql, params)
                        elif kind == _BEGIN:
                            await driver.begin(conn)
                            result = None
                            in_transaction = True
                        else:
                            await driver.commit(conn)
                            result = None
                            in_transaction = False
                        op = flow.send(result)
                except StopIteration as stop:
                    return cast(T, stop.value)
                except BaseException:
                    if in_transaction:
                        await _arollback_quietly(driver, conn)
                    raise
        except Exception as exc:
            failure = _failure(driver, exc)
            if failure is exc:
                raise
            raise failure from None

    async def create_tables(self) -> None:
        await self._run(self.flows.create_tables())

    async def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        await self._run(self.flows.insert_user(user, key, created_at))

    async def get_user(self, user_id: str) -> UserRecord | None:
        return await self._run(self.flows.get_user(user_id))

    async def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        return await self._run(self.flows.get_user_by_key(provider_id, provider_user_id))

    async def update_user_attributes(
        self, user_id: str, attributes: dict[str, Any]
    ) -> UserRecord | None:
        return await self._run(self.flows.update_user_attributes(user_id, attributes))

    async def delete_user(self, user_id: str) -> None:
        await self._run(self.flows.delete_user(user_id))

    async def insert_key(self, key: KeyRecord) -> None:
        await self._run(self.flows.insert_key(key))

    async def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        return await self._run(self.flows.get_user_keys(user_id))

    async def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        flow = self.flows.update_key_password(provider_id, provider_user_id, hashed_password)
        return await self._run(flow)

    async def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        return await self._run(self.flows.delete_key(provider_id, provider_user_id))

    async def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        flow = self.flows.delete_provider_keys(user_id, provider_id, provider_user_id)
        return await self._run(flow)

    async def insert_session(self, session: SessionRecord) -> None:
        await self._run(self.flows.insert_session(session))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._run(self.flows.get_session(session_id))

    async def get_session_and_user(
        self, session_id: str
    ) -> tuple[SessionRecord, UserRecord] | None:
        return await self._run(self.flows.get_session_and_user(session_id))

    async def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        return await self._run(self.flows.get_user_sessions(user_id))

    async def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        await self._run(self.flows.update_session_expiry(session_id, expires_at))

    async def delete_session(self, session_id: str) -> None:
        await self._run(self.flows.delete_session(session_id))

    async def delete_user_sessions(self, user_id: str) -> None:
        await self._run(self.flows.delete_user_sessions(user_id))

    async def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """See ``SQLAdapter.delete_expired_sessions``."""
        return await apurge_in_batches(
            functools.partial(self.delete_expired_sessions_batch, now),
            batch_size,
            progress,
            self.purge_rest,
        )

    async def delete_expired_sessions_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` sessions expired at ``now``; how many went."""
        return await self._run(self.flows.delete_expired_sessions(now, limit))

    @property
    def purge_rest(self) -> float:
        """See ``SQLAdapter.purge_rest``."""
        return self.flows.q.dialect.purge_rest

    async def insert_token(self, token: TokenRecord) -> None:
        await self._run(self.flows.insert_token(token))

    async def consume_token(
        self, id_hash: bytes, purpose: str, now: datetime
    ) -> ConsumedToken | None:
        return await self._run(self.flows.consume_token(id_hash, purpose, now))

    async def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        await self._run(self.flows.delete_user_tokens(user_id, purpose))

    async def delete_expired_tokens(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """See ``SQLAdapter.delete_expired_tokens``."""
        return await apurge_in_batches(
            functools.partial(self.delete_expired_tokens_batch, now),
            batch_size,
            progress,
            self.purge_rest,
        )

    async def delete_expired_tokens_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` tokens expired at ``now``; how many went."""
        return await self._run(self.flows.delete_expired_tokens(now, limit))


def _rollback_quietly(driver: SQLDriver, conn: Any) -> None:
    # The original error is what the caller must see; a failed rollback (the
    # connection died) adds nothing, and the pool discards broken connections.
    with suppress(Exception):
        driver.rollback(conn)


async def _arollback_quietly(driver: AsyncSQLDriver, conn: Any) -> None:
    with suppress(Exception):
        await driver.rollback(conn)
