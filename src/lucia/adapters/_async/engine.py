"""Every SQL adapter method, written once over a driver.

Written as async source in ``lucia/adapters/_async/engine.py``, from which
``scripts/generate_sync.py`` generates the sync twin in ``_sync/``: both
flavours run the same code. A database supplies only a driver: how to get a
connection, run a statement, delimit a transaction and name its errors. The
statements come from ``Statements`` (written once too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import datetime
from typing import Any, Protocol

from lucia.adapters._async.purges import AsyncSessionPurges, AsyncTokenPurges
from lucia.adapters.base import (
    AsyncClosing,
    ConsumedToken,
    KeyRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)
from lucia.adapters.sql import Statements, decode_json, encode_json, schema

Row = Sequence[Any]


class AsyncSQLDriver(Protocol):
    """What a database driver provides to the SQL adapter."""

    def connection(self) -> AbstractAsyncContextManager[Any]:
        """A connection for one adapter call (from a pool, a thread, ...), in autocommit mode."""

    async def begin(self, conn: Any) -> None: ...
    async def commit(self, conn: Any) -> None: ...
    async def rollback(self, conn: Any) -> None: ...
    async def fetch_one(self, conn: Any, sql: str, params: tuple[Any, ...]) -> Row | None: ...
    async def fetch_all(self, conn: Any, sql: str, params: tuple[Any, ...]) -> list[Row]: ...
    async def execute(self, conn: Any, sql: str, params: tuple[Any, ...]) -> int:
        """Run a statement; the number of rows it matched."""

    async def read_one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        """One statement outside any transaction, on the cheapest connection (the
        session read of every request): no connection context around it."""

    def map_error(self, exc: BaseException) -> Exception | None:
        """The ``LuciaError`` for a driver error (duplicate key, missing user, database
        down), or None for an exception that is not the driver's."""


class AsyncSQLAdapter(AsyncClosing, AsyncSessionPurges, AsyncTokenPurges):
    """The adapter interface over ``Statements``, on a driver; a context manager
    that closes it at the end of the block (``AsyncClosing``)."""

    def __init__(self, statements: Statements, ddl: list[str], driver: AsyncSQLDriver) -> None:
        self.q = statements
        self.ddl = ddl
        self.driver = driver

    def _failure(self, exc: Exception) -> Exception:
        mapped = self.driver.map_error(exc)
        return exc if mapped is None else mapped

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """One call's connection; a driver error leaving it becomes lucia's error."""
        try:
            async with self.driver.connection() as conn:
                yield conn
        except Exception as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        """One call's connection inside a transaction, committed at the end of the block."""
        async with self._connection() as conn:
            await self.driver.begin(conn)
            try:
                yield conn
            except BaseException:
                # The original error is what the caller must see; a failed rollback
                # (the connection died) adds nothing, and pools drop broken connections.
                with suppress(Exception):
                    await self.driver.rollback(conn)
                raise
            await self.driver.commit(conn)

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        async with self._connection() as conn:
            return await self.driver.fetch_one(conn, sql, params)

    async def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        async with self._connection() as conn:
            return await self.driver.fetch_all(conn, sql, params)

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        async with self._connection() as conn:
            return await self.driver.execute(conn, sql, params)

    async def create_tables(self) -> None:
        q = self.q
        async with self._transaction() as conn:
            # Another app's table under one of lucia's names (Django's auth_user) is
            # refused before anything is created: IF NOT EXISTS would skip it silently.
            check = schema.columns_query(q.dialect, q.tables)
            if check is not None:
                schema.check_columns(q.tables, await self.driver.fetch_all(conn, *check))
            for statement in self.ddl:
                await self.driver.execute(conn, statement, ())

    async def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        q = self.q
        async with self._transaction() as conn:
            await self.driver.execute(conn, q.insert_user, q.user_params(user, created_at))
            await self.driver.execute(conn, q.insert_key, q.key_params(key))

    async def get_user(self, user_id: str) -> UserRecord | None:
        row = await self._one(self.q.get_user, (user_id,))
        return None if row is None else self.q.user_from_row(row)

    async def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        row = await self._one(self.q.get_user_by_key, (provider_id, provider_user_id))
        if row is None:
            return None
        return self.q.user_and_key_from_row(row, provider_id, provider_user_id)

    async def update_user_attributes(
        self, user_id: str, attributes: dict[str, Any]
    ) -> UserRecord | None:
        q = self.q
        # Read, merge and write under the row's lock (FOR UPDATE, or SQLite's
        # immediate transaction), so concurrent merges never lose each other's keys.
        async with self._transaction() as conn:
            row = await self.driver.fetch_one(conn, q.lock_user_attributes, (user_id,))
            if row is None:
                return None
            merged = decode_json(row[0]) | attributes
            await self.driver.execute(
                conn, q.update_user_attributes, (encode_json(merged), user_id)
            )
        return UserRecord(user_id, merged)

    async def delete_user(self, user_id: str) -> None:
        await self._execute(self.q.delete_user, (user_id,))

    async def insert_key(self, key: KeyRecord) -> None:
        await self._execute(self.q.insert_key, self.q.key_params(key))

    async def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        rows = await self._all(self.q.get_user_keys, (user_id,))
        return [self.q.key_from_row(row) for row in rows]

    async def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        params = (hashed_password, provider_id, provider_user_id)
        return await self._execute(self.q.update_key_password, params) > 0

    async def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        q = self.q
        # Count and delete under the user's row lock (FOR UPDATE, or SQLite's
        # immediate transaction): two concurrent unlinks of a user's last two
        # providers run one after the other, and the second finds one key left.
        async with self._transaction() as conn:
            if await self.driver.fetch_one(conn, q.lock_user, (user_id,)) is None:
                return 0
            rows = await self.driver.fetch_all(conn, q.lock_user_key_ids, (user_id,))
            matching = sum(
                1
                for row in rows
                if row[0] == provider_id
                and (provider_user_id is None or row[1] == provider_user_id)
            )
            if matching == 0 or matching == len(rows):
                return 0 if matching == 0 else None
            if provider_user_id is None:
                params: tuple[Any, ...] = (user_id, provider_id)
                return await self.driver.execute(conn, q.delete_provider_keys, params)
            # The key is the user's (it was among the rows just locked).
            params = (provider_id, provider_user_id)
            return await self.driver.execute(conn, q.delete_key, params)

    async def insert_session(self, session: SessionRecord) -> None:
        await self._execute(self.q.insert_session, self.q.session_params(session))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = await self._one(self.q.get_session, (session_id,))
        return None if row is None else self.q.session_from_row(row)

    async def get_session_and_user(
        self, session_id: str
    ) -> tuple[SessionRecord, UserRecord] | None:
        # Every request runs this: one statement through read_one, with no
        # connection context (nor its generator frames) around it.
        q = self.q
        try:
            row = await self.driver.read_one(q.get_session_and_user, (session_id,))
        except Exception as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from None
        return None if row is None else q.session_and_user_from_row(row)

    async def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        rows = await self._all(self.q.get_user_sessions, (user_id,))
        return [self.q.session_from_row(row) for row in rows]

    async def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        encoded = self.q.dialect.encode_time(expires_at)
        await self._execute(self.q.update_session_expiry, (encoded, session_id))

    async def delete_session(self, session_id: str) -> None:
        await self._execute(self.q.delete_session, (session_id,))

    async def delete_user_sessions(self, user_id: str) -> None:
        await self._execute(self.q.delete_user_sessions, (user_id,))

    async def delete_expired_sessions_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` sessions expired at ``now``; how many went."""
        encoded = self.q.dialect.encode_time(now)
        return await self._execute(self.q.delete_expired_sessions, (encoded, limit))

    @property
    def purge_rest(self) -> float:
        """How long a purge rests after each batch, per second the batch took (the
        dialect's: SQLite's writers wait on one lock for the whole file)."""
        return self.q.dialect.purge_rest

    async def insert_token(self, token: TokenRecord) -> None:
        await self._execute(self.q.insert_token, self.q.token_params(token))

    async def consume_token(
        self, id_hash: bytes, purpose: str, now: datetime
    ) -> ConsumedToken | None:
        q = self.q
        async with self._connection() as conn:
            row = await self.driver.fetch_one(conn, q.get_token, (id_hash, purpose))
            if row is None:
                return None
            # Two statements, no transaction: of concurrent consumers that all read
            # the row, the database lets exactly one DELETE remove it (the others
            # wait on its row lock, then find nothing), and only that one wins.
            if await self.driver.execute(conn, q.delete_token, (id_hash, purpose)) != 1:
                return None
        consumed = q.consumed_token_from_row(row)
        if consumed[1] <= now:
            return None  # expired: deleted all the same, never accepted
        return consumed

    async def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        await self._execute(self.q.delete_user_tokens, (user_id, purpose))

    async def delete_expired_tokens_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` tokens expired at ``now``; how many went."""
        encoded = self.q.dialect.encode_time(now)
        return await self._execute(self.q.delete_expired_tokens, (encoded, limit))
