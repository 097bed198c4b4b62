"""An async adapter built on a sync one, for stores whose reads never wait.

SQLite and the in-memory store answer a primary-key read in microseconds,
while shipping it to a worker thread costs tens to hundreds of microseconds
(the hop, not the query, is what aiosqlite pays for). So reads run on the
event loop's own thread. Writes can wait on SQLite's file lock (another
process, or a checkpoint), so for a file database they go to one dedicated
writer thread: the loop never blocks on a lock, and SQLite, which allows one
writer at a time anyway, sees them in order.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress, apurge_in_batches
from lucia.adapters.base import (
    Adapter,
    ConsumedToken,
    KeyRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)

P = ParamSpec("P")
R = TypeVar("R")


class SyncBackedAsyncAdapter:
    """``AsyncAdapter`` over a sync ``Adapter``: every read goes through ``_read``
    and every write through ``_write``. By default reads run inline and writes on
    a writer thread (or inline, without ``writes_in_thread``); a subclass whose
    store must not be called on the loop at all overrides both.
    """

    def __init__(self, sync: Adapter, *, writes_in_thread: bool) -> None:
        self.sync = sync
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="lucia-writer")
            if writes_in_thread
            else None
        )
        # Reads run inline unless a subclass says otherwise: then the session
        # read every request awaits can skip the _read coroutine (~0.3 µs).
        self._inline_reads = type(self)._read is SyncBackedAsyncAdapter._read

    async def _read(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)

    async def _write(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._executor is None:
            return fn(*args, **kwargs)
        # A cancelled caller does not stop the write half-way: the thread finishes
        # its transaction, so the database never holds half of one.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def create_tables(self) -> None:
        await self._write(self.sync.create_tables)

    async def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        await self._write(self.sync.insert_user, user, key, created_at)

    async def get_user(self, user_id: str) -> UserRecord | None:
        return await self._read(self.sync.get_user, user_id)

    async def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        return await self._read(self.sync.get_user_by_key, provider_id, provider_user_id)

    async def update_user_attributes(
        self, user_id: str, attributes: dict[str, Any]
    ) -> UserRecord | None:
        return await self._write(self.sync.update_user_attributes, user_id, attributes)

    async def delete_user(self, user_id: str) -> None:
        await self._write(self.sync.delete_user, user_id)

    async def insert_key(self, key: KeyRecord) -> None:
        await self._write(self.sync.insert_key, key)

    async def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        return await self._read(self.sync.get_user_keys, user_id)

    async def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        return await self._write(
            self.sync.update_key_password, provider_id, provider_user_id, hashed_password
        )

    async def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        return await self._write(self.sync.delete_key, provider_id, provider_user_id)

    async def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        return await self._write(
            self.sync.delete_provider_keys, user_id, provider_id, provider_user_id
        )

    async def insert_session(self, session: SessionRecord) -> None:
        await self._write(self.sync.insert_session, session)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._read(self.sync.get_session, session_id)

    async def get_session_and_user(
        self, session_id: str
    ) -> tuple[SessionRecord, UserRecord] | None:
        if self._inline_reads:
            return self.sync.get_session_and_user(session_id)
        return await self._read(self.sync.get_session_and_user, session_id)

    async def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        return await self._read(self.sync.get_user_sessions, user_id)

    async def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        await self._write(self.sync.update_session_expiry, session_id, expires_at)

    async def delete_session(self, session_id: str) -> None:
        await self._write(self.sync.delete_session, session_id)

    async def delete_user_sessions(self, user_id: str) -> None:
        await self._write(self.sync.delete_user_sessions, user_id)

    async def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        # Batch by batch through _write: the writer thread takes other writes
        # (sign-ins) between two batches instead of queueing them behind the purge.
        batch = getattr(self.sync, "delete_expired_sessions_batch", None)
        if batch is None:
            return await self._write(self.sync.delete_expired_sessions, now)
        return await apurge_in_batches(
            functools.partial(self._write, batch, now),
            batch_size,
            progress,
            getattr(self.sync, "purge_rest", 0.0),
        )

    # Token writes go to the writer thread like every write; consume_token is a
    # write too (its DELETE decides who wins).

    async def insert_token(self, token: TokenRecord) -> None:
        await self._write(self.sync.insert_token, token)

    async def consume_token(
        self, id_hash: bytes, purpose: str, now: datetime
    ) -> ConsumedToken | None:
        return await self._write(self.sync.consume_token, id_hash, purpose, now)

    async def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        await self._write(self.sync.delete_user_tokens, user_id, purpose)

    async def delete_expired_tokens(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        batch = getattr(self.sync, "delete_expired_tokens_batch", None)
        if batch is None:
            return await self._write(self.sync.delete_expired_tokens, now)
        return await apurge_in_batches(
            functools.partial(self._write, batch, now),
            batch_size,
            progress,
            getattr(self.sync, "purge_rest", 0.0),
        )

    def close(self) -> None:
        """Stop the writer thread (after the writes under way) and close the sync adapter."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        close = getattr(self.sync, "close", None)
        if close is not None:
            close()
