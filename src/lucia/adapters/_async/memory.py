"""The in-memory store, written once (the sync ``MemoryAdapter`` is generated
from this file into ``lucia/adapters/_sync/memory.py``); ``lucia.adapters.memory``
is where both are imported from.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import math
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from lucia.adapters._async.purges import AsyncSessionPurges, AsyncTokenPurges
from lucia.adapters.base import (
    AsyncClosing,
    ConsumedToken,
    KeyRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)
from lucia.errors import DuplicateKeyError, UserNotFoundError


def _user(record: UserRecord) -> UserRecord:
    return UserRecord(record.id, copy.deepcopy(record.attributes))


def _session(record: SessionRecord) -> SessionRecord:
    return replace(record, attributes=copy.deepcopy(record.attributes))


def _second(moment: datetime) -> int:
    # The Unix second that contains ``moment`` (floor, also before 1970).
    return math.floor(moment.timestamp())


class AsyncMemoryAdapter(AsyncClosing, AsyncSessionPurges, AsyncTokenPurges):
    """The adapter keeping users, keys and sessions in dicts (nothing ever waits:
    every method runs inline, under one ``threading`` lock)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, UserRecord] = {}
        self._keys: dict[tuple[str, str], KeyRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        # user id -> that user's session ids (a dict as an ordered set).
        self._user_sessions: dict[str, dict[str, None]] = {}
        # Unix second of expiry -> the session ids expiring in it, and a heap of
        # those seconds (an entry may outlive its bucket: skipped when met).
        self._expiry_buckets: dict[int, dict[str, None]] = {}
        self._expiry_seconds: list[int] = []
        self._tokens: dict[bytes, TokenRecord] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(users={len(self._users)}, sessions={len(self._sessions)})"

    async def create_tables(self) -> None:
        """Nothing to create."""

    async def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        with self._lock:
            if (key.provider_id, key.provider_user_id) in self._keys:
                raise DuplicateKeyError()
            self._users[user.id] = _user(user)
            self._keys[(key.provider_id, key.provider_user_id)] = replace(key)

    async def get_user(self, user_id: str) -> UserRecord | None:
        with self._lock:
            user = self._users.get(user_id)
            return None if user is None else _user(user)

    async def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        with self._lock:
            key = self._keys.get((provider_id, provider_user_id))
            if key is None:
                return None
            return _user(self._users[key.user_id]), replace(key)

    async def update_user_attributes(
        self, user_id: str, attributes: dict[str, Any]
    ) -> UserRecord | None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            user.attributes.update(copy.deepcopy(attributes))
            return _user(user)

    async def delete_user(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)
            for key_id in [k for k, key in self._keys.items() if key.user_id == user_id]:
                del self._keys[key_id]
            self._drop_user_sessions(user_id)
            for id_hash in [h for h, t in self._tokens.items() if t.user_id == user_id]:
                del self._tokens[id_hash]

    async def insert_key(self, key: KeyRecord) -> None:
        with self._lock:
            if key.user_id not in self._users:
                raise UserNotFoundError()
            if (key.provider_id, key.provider_user_id) in self._keys:
                raise DuplicateKeyError()
            self._keys[(key.provider_id, key.provider_user_id)] = replace(key)

    async def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        with self._lock:
            keys = [replace(key) for key in self._keys.values() if key.user_id == user_id]
        return sorted(keys, key=lambda key: (key.provider_id, key.provider_user_id))

    async def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        with self._lock:
            key = self._keys.get((provider_id, provider_user_id))
            if key is None:
                return False
            key.hashed_password = hashed_password
            return True

    async def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        # Counted and deleted under the one lock: no other write comes between.
        with self._lock:
            owned = [key_id for key_id, key in self._keys.items() if key.user_id == user_id]
            matching = [
                key_id
                for key_id in owned
                if key_id[0] == provider_id
                and (provider_user_id is None or key_id[1] == provider_user_id)
            ]
            if not matching:
                return 0
            if len(matching) == len(owned):
                return None
            for key_id in matching:
                del self._keys[key_id]
            return len(matching)

    async def insert_session(self, session: SessionRecord) -> None:
        with self._lock:
            if session.user_id not in self._users:
                raise UserNotFoundError()
            old = self._sessions.get(session.id)
            if old is not None:
                self._unindex(old)
            stored = self._sessions[session.id] = _session(session)
            self._user_sessions.setdefault(stored.user_id, {})[stored.id] = None
            self._add_expiry(stored)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        with self._lock:
            session = self._sessions.get(session_id)
            return None if session is None else _session(session)

    async def get_session_and_user(
        self, session_id: str
    ) -> tuple[SessionRecord, UserRecord] | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            return _session(session), _user(self._users[session.user_id])

    async def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        with self._lock:
            ids = self._user_sessions.get(user_id, ())
            sessions = [_session(self._sessions[session_id]) for session_id in ids]
        return sorted(sessions, key=lambda s: (s.created_at, s.id))

    async def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                self._remove_expiry(session)
                session.expires_at = expires_at
                self._add_expiry(session)

    async def delete_session(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is not None:
                self._unindex(session)

    async def delete_user_sessions(self, user_id: str) -> None:
        self._drop_user_sessions(user_id)

    def _drop_user_sessions(self, user_id: str) -> None:
        with self._lock:
            for session_id in self._user_sessions.pop(user_id, ()):
                self._remove_expiry(self._sessions.pop(session_id))

    async def delete_expired_sessions_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` sessions expired at ``now`` (one hold of the
        lock); how many went."""
        deleted = 0
        with self._lock:
            buckets, seconds = self._expiry_buckets, self._expiry_seconds
            last = _second(now)
            while deleted < limit and seconds and seconds[0] <= last:
                second = seconds[0]
                bucket = buckets.get(second)
                if not bucket:
                    heapq.heappop(seconds)  # a bucket emptied by revocations
                    continue
                if second < last:
                    # All of it expired. popitem() takes from the end: deleting
                    # from the front would leave holes every later batch walks.
                    sessions, by_user = self._sessions, self._user_sessions
                    while bucket and deleted < limit:
                        session_id, _ = bucket.popitem()
                        # _unindex() without its bucket lookup: the hot loop.
                        user_id = sessions.pop(session_id).user_id
                        ids = by_user[user_id]
                        del ids[session_id]
                        if not ids:
                            del by_user[user_id]
                        deleted += 1
                    if not bucket:
                        del buckets[second]
                    continue
                # The current second: only the part of it that has passed.
                chosen = [i for i in bucket if self._sessions[i].expires_at <= now]
                for session_id in chosen[: limit - deleted]:
                    self._unindex(self._sessions.pop(session_id))
                    deleted += 1
                break
        return deleted

    def _unindex(self, session: SessionRecord) -> None:
        ids = self._user_sessions.get(session.user_id)
        if ids is not None:
            ids.pop(session.id, None)
            if not ids:
                del self._user_sessions[session.user_id]
        self._remove_expiry(session)

    def _add_expiry(self, session: SessionRecord) -> None:
        second = _second(session.expires_at)
        bucket = self._expiry_buckets.get(second)
        if bucket is None:
            bucket = self._expiry_buckets[second] = {}
            seconds = self._expiry_seconds
            if len(seconds) > 2 * len(self._expiry_buckets) + 1024:
                # Mostly seconds whose buckets are gone: keep the live ones.
                seconds[:] = list(self._expiry_buckets)
                heapq.heapify(seconds)
            else:
                heapq.heappush(seconds, second)
        bucket[session.id] = None

    def _remove_expiry(self, session: SessionRecord) -> None:
        second = _second(session.expires_at)
        bucket = self._expiry_buckets.get(second)
        if bucket is not None:
            bucket.pop(session.id, None)
            if not bucket:
                del self._expiry_buckets[second]  # its heap entry is skipped later

    def check_indexes(self) -> None:
        """AssertionError unless the by-user and by-expiry indexes match the
        sessions exactly (for tests)."""
        with self._lock:
            by_user: dict[str, set[str]] = {}
            by_second: dict[int, set[str]] = {}
            for session_id, session in self._sessions.items():
                by_user.setdefault(session.user_id, set()).add(session_id)
                by_second.setdefault(_second(session.expires_at), set()).add(session_id)
            indexed = {user_id: set(ids) for user_id, ids in self._user_sessions.items()}
            assert indexed == by_user, "the by-user index does not match the sessions"
            buckets = {second: set(ids) for second, ids in self._expiry_buckets.items()}
            assert buckets == by_second, "the expiry index does not match the sessions"
            assert set(buckets) <= set(self._expiry_seconds), "an expiry second is not queued"

    async def insert_token(self, token: TokenRecord) -> None:
        with self._lock:
            if token.user_id not in self._users:
                raise UserNotFoundError()
            if token.id_hash in self._tokens:
                raise DuplicateKeyError()
            self._tokens[token.id_hash] = replace(token, data=copy.deepcopy(token.data))

    async def consume_token(
        self, id_hash: bytes, purpose: str, now: datetime
    ) -> ConsumedToken | None:
        with self._lock:
            token = self._tokens.get(id_hash)
            if token is None or token.purpose != purpose:
                return None
            del self._tokens[id_hash]
        if token.expires_at <= now:
            return None
        return token.user_id, token.expires_at, copy.deepcopy(token.data)

    async def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        with self._lock:
            for id_hash in [
                h for h, t in self._tokens.items() if t.user_id == user_id and t.purpose == purpose
            ]:
                del self._tokens[id_hash]

    async def delete_expired_tokens_batch(self, now: datetime, limit: int) -> int:
        """Delete at most ``limit`` tokens expired at ``now``; how many went."""
        with self._lock:
            # Tokens are few and short-lived, and the oldest (first in the dict)
            # expire first: no index needed.
            expired = list(
                itertools.islice((h for h, t in self._tokens.items() if t.expires_at <= now), limit)
            )
            for id_hash in expired:
                del self._tokens[id_hash]
            return len(expired)
