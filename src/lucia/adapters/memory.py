"""An in-memory store for tests and experiments; everything is lost with the process.

It keeps the same promises as the SQL adapters (atomic user creation, unique
keys, case-sensitive lookups, cascading deletes) under one lock, and hands out
copies so callers cannot change what is stored behind its back.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from lucia.adapters._sync_backed import SyncBackedAsyncAdapter
from lucia.adapters.base import ConsumedToken, KeyRecord, SessionRecord, TokenRecord, UserRecord
from lucia.errors import DuplicateKeyError, UserNotFoundError

__all__ = ["AsyncMemoryAdapter", "MemoryAdapter"]


def _user(record: UserRecord) -> UserRecord:
    return UserRecord(record.id, copy.deepcopy(record.attributes))


def _session(record: SessionRecord) -> SessionRecord:
    return replace(record, attributes=copy.deepcopy(record.attributes))


class MemoryAdapter:
    """``Adapter`` keeping users, keys and sessions in dicts."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, UserRecord] = {}
        self._keys: dict[tuple[str, str], KeyRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._tokens: dict[bytes, TokenRecord] = {}

    def __repr__(self) -> str:
        return f"MemoryAdapter(users={len(self._users)}, sessions={len(self._sessions)})"

    def create_tables(self) -> None:
        """Nothing to create."""

    def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        with self._lock:
            if (key.provider_id, key.provider_user_id) in self._keys:
                raise DuplicateKeyError()
            self._users[user.id] = _user(user)
            self._keys[(key.provider_id, key.provider_user_id)] = replace(key)

    def get_user(self, user_id: str) -> UserRecord | None:
        with self._lock:
            user = self._users.get(user_id)
            return None if user is None else _user(user)

    def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        with self._lock:
            key = self._keys.get((provider_id, provider_user_id))
            if key is None:
                return None
            return _user(self._users[key.user_id]), replace(key)

    def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> UserRecord | None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            user.attributes.update(copy.deepcopy(attributes))
            return _user(user)

    def delete_user(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)
            for key_id in [k for k, key in self._keys.items() if key.user_id == user_id]:
                del self._keys[key_id]
            self.delete_user_sessions(user_id)
            for id_hash in [h for h, t in self._tokens.items() if t.user_id == user_id]:
                del self._tokens[id_hash]

    def insert_key(self, key: KeyRecord) -> None:
        with self._lock:
            if key.user_id not in self._users:
                raise UserNotFoundError()
            if (key.provider_id, key.provider_user_id) in self._keys:
                raise DuplicateKeyError()
            self._keys[(key.provider_id, key.provider_user_id)] = replace(key)

    def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        with self._lock:
            keys = [replace(key) for key in self._keys.values() if key.user_id == user_id]
        return sorted(keys, key=lambda key: (key.provider_id, key.provider_user_id))

    def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        with self._lock:
            key = self._keys.get((provider_id, provider_user_id))
            if key is None:
                return False
            key.hashed_password = hashed_password
            return True

    def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        with self._lock:
            return self._keys.pop((provider_id, provider_user_id), None) is not None

    def delete_provider_keys(
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

    def insert_session(self, session: SessionRecord) -> None:
        with self._lock:
            if session.user_id not in self._users:
                raise UserNotFoundError()
            self._sessions[session.id] = _session(session)

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self._lock:
            session = self._sessions.get(session_id)
            return None if session is None else _session(session)

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            return _session(session), _user(self._users[session.user_id])

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        with self._lock:
            sessions = [_session(s) for s in self._sessions.values() if s.user_id == user_id]
        return sorted(sessions, key=lambda s: (s.created_at, s.id))

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.expires_at = expires_at

    def delete_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def delete_user_sessions(self, user_id: str) -> None:
        with self._lock:
            for session_id in [i for i, s in self._sessions.items() if s.user_id == user_id]:
                del self._sessions[session_id]

    def delete_expired_sessions(self, now: datetime) -> int:
        with self._lock:
            expired = [i for i, s in self._sessions.items() if s.expires_at <= now]
            for session_id in expired:
                del self._sessions[session_id]
            return len(expired)

    def insert_token(self, token: TokenRecord) -> None:
        with self._lock:
            if token.user_id not in self._users:
                raise UserNotFoundError()
            if token.id_hash in self._tokens:
                raise DuplicateKeyError()
            self._tokens[token.id_hash] = replace(token, data=copy.deepcopy(token.data))

    def consume_token(self, id_hash: bytes, purpose: str, now: datetime) -> ConsumedToken | None:
        with self._lock:
            token = self._tokens.get(id_hash)
            if token is None or token.purpose != purpose:
                return None
            del self._tokens[id_hash]
        if token.expires_at <= now:
            return None
        return token.user_id, token.expires_at, copy.deepcopy(token.data)

    def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        with self._lock:
            for id_hash in [
                h for h, t in self._tokens.items() if t.user_id == user_id and t.purpose == purpose
            ]:
                del self._tokens[id_hash]

    def delete_expired_tokens(self, now: datetime) -> int:
        with self._lock:
            expired = [h for h, t in self._tokens.items() if t.expires_at <= now]
            for id_hash in expired:
                del self._tokens[id_hash]
            return len(expired)


class AsyncMemoryAdapter(SyncBackedAsyncAdapter):
    """``AsyncAdapter`` keeping users, keys and sessions in dicts (nothing ever waits)."""

    def __init__(self, sync: MemoryAdapter | None = None) -> None:
        super().__init__(sync or MemoryAdapter(), writes_in_thread=False)

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"
