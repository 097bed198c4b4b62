# Generated from src/lucia/adapters/_async/redis.py by scripts/generate_sync.py: do not edit.
"""The Redis session adapter, written once (the sync ``RedisSessionAdapter`` and
``SafeRetry`` are generated from this file into ``lucia/adapters/_sync/redis.py``);
``lucia.adapters.redis`` explains the key layout and is where both are imported from.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff

from lucia._json import encode_json
from lucia.adapters._redis_compat import Call, Redis, RedisCluster, Retry
from lucia.adapters._redis_hooks import (
    _EXPIRE,
    _FIELDS,
    _INSERT,
    _PRUNE_ON_INSERT,
    _RENEW,
    Batch,
    Command,
    _expiry_ids,
    _from_url,
    _may_retry,
    _RedisHooks,
    _text,
    _url_secrets,
    clock_skew_ms,
    database_error,
    decode_session,
    decode_time,
    encode_time,
    expiry_member,
    key_deadline_ms,
    to_millis,
)
from lucia.adapters._sync.purges import SessionPurges
from lucia.adapters.base import SessionRecord

T = TypeVar("T")


class SafeRetry(Retry):
    """redis-py ``Retry`` for the clients the adapter makes: one immediate retry of a
    connection error that came within RETRY_WINDOW; never a timeout."""

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))

    def call_with_retry(
        self,
        do: Call[T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        started = time.monotonic()
        for attempt in (1, 2):
            try:
                return do()
            except redis.ConnectionError as error:
                # fail() drops the broken connection, so a retry gets a new one.
                (fail(error, attempt) if with_failure_count else fail(error))
                if attempt == 2 or not _may_retry(error, started, is_retryable):
                    raise
        raise AssertionError("unreachable")


class RedisSessionAdapter(_RedisHooks, SessionPurges):
    """The session adapter on Redis (see ``lucia.adapters.redis``).

    ``client_or_url``: a Redis or RedisCluster client of this flavour that you
    keep (the adapter never closes it, and its retry policy is its own: see
    ``SafeRetry``), or a ``redis://`` / ``rediss://`` / ``unix://`` URL for a
    client the adapter owns (``close()`` it), with SOCKET_TIMEOUT timeouts
    unless the URL's query sets others, and ``SafeRetry``.
    """

    def __init__(
        self,
        client_or_url: Redis | RedisCluster | str,
        *,
        prefix: str = "lucia:",
    ) -> None:
        if isinstance(client_or_url, str):
            client = _from_url(Redis.from_url, client_or_url, SafeRetry())
            super().__init__(client, prefix, True, _url_secrets(client_or_url))
        else:
            super().__init__(client_or_url, prefix, False, ())

    def _send(self, batch: Batch) -> list[Any]:
        """The replies to a batch of commands, in order (one round trip)."""
        # try/except rather than self._errors(): this runs on every validation.
        try:
            if len(batch) == 1:
                return [self.client.execute_command(*batch[0])]
            pipe = self.client.pipeline(transaction=False)
            for command in batch:
                pipe.execute_command(*command)
            results: list[Any] = pipe.execute()
        except redis.RedisError as exc:
            raise database_error(exc, self._secrets) from None
        return results

    def close(self) -> None:
        """Close the client if the adapter made it (from a URL); a client you passed stays open."""
        if self.owns_client:
            self.client.close()

    def create_tables(self) -> None:
        """Nothing to create: keys appear as sessions are written."""

    def insert_session(self, session: SessionRecord) -> None:
        """Index first, then the session (see the module docstring for why)."""
        keys = self.keys
        index = keys.user(session.user_id)
        expires = encode_time(session.expires_at)
        _, _, expired = self._send(
            [
                ("ZADD", keys.expiries, expires, expiry_member(session.id, session.user_id)),
                ("ZADD", index, expires, session.id),
                (
                    "ZRANGEBYSCORE",
                    *(index, "-inf", encode_time(session.created_at)),
                    *("LIMIT", 0, _PRUNE_ON_INSERT),
                ),
            ]
        )
        expired = [_text(sid) for sid in expired]
        if expired:
            # Expired by lucia's clock and verified gone: an insert still running
            # has a later score, so it is never pruned from under its session.
            exists = self._send([("EXISTS", keys.session(sid)) for sid in expired])
            gone = [sid for sid, found in zip(expired, exists, strict=True) if not found]
            if gone:
                self._send([("ZREM", index, *gone)])
        local_now = int(time.time() * 1000)
        fields = {
            "u": session.user_id,
            "h": base64.b64encode(session.secret_hash).decode(),
            "e": encode_time(session.expires_at),
            "c": encode_time(session.created_at),
            "a": encode_json(session.attributes),
            "s": str(clock_skew_ms(session.created_at, local_now)),
            "l": str(to_millis(session.expires_at) - to_millis(session.created_at)),
        }
        deadline = key_deadline_ms(session.expires_at, session.created_at, local_now)
        pairs = [item for field in fields.items() for item in field]
        self._send([("EVAL", _INSERT, 1, keys.session(session.id), deadline, *pairs)])

    def get_session(self, session_id: str) -> SessionRecord | None:
        """One HMGET: the whole of validation's work in Redis."""
        (values,) = self._send([("HMGET", self.keys.session(session_id), *_FIELDS)])
        return decode_session(session_id, values)

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        """The sessions in the user's index that still exist, oldest first."""
        (ids,) = self._send([("ZRANGE", self.keys.user(user_id), 0, -1)])
        ids = [_text(sid) for sid in ids]
        if not ids:
            return []
        rows = self._send([("HMGET", self.keys.session(sid), *_FIELDS) for sid in ids])
        records = [decode_session(sid, row) for sid, row in zip(ids, rows, strict=True)]
        found = [r for r in records if r is not None and r.user_id == user_id]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        """Move the expiry and the key's TTL, if the session still exists."""
        self._send(
            [
                (
                    "EVAL",
                    *(_RENEW, 1, self.keys.session(session_id)),
                    *(encode_time(expires_at), to_millis(expires_at), int(time.time() * 1000)),
                )
            ]
        )

    def delete_session(self, session_id: str) -> None:
        """Delete the session key (its index entry is pruned later)."""
        self._send([("DEL", self.keys.session(session_id))])

    def delete_user_sessions(self, user_id: str) -> None:
        """Delete every session the user's index lists."""
        (ids,) = self._send([("ZRANGE", self.keys.user(user_id), 0, -1)])
        if ids:
            self._send([("DEL", self.keys.session(_text(sid))) for sid in ids])

    def delete_expired_sessions_batch(self, now: datetime, limit: int) -> tuple[int, int]:
        """One batch of a purge: the first ``limit`` entries of ``expiries`` scored at
        or before ``now``. Returns (session keys deleted, entries examined); the
        purge's total is the session keys deleted (see the module docstring).

        Entries whose session is gone (deleted now, or before) leave ``expiries``
        and their user's index; those of sessions renewed since get the new score.
        """
        keys = self.keys
        cutoff = encode_time(now)
        (members,) = self._send(
            [("ZRANGEBYSCORE", keys.expiries, "-inf", cutoff, "LIMIT", 0, limit)]
        )
        if not members:
            return 0, 0
        entries = [(member, _expiry_ids(member)) for member in members]
        valid = [(member, ids) for member, ids in entries if ids is not None]
        outcomes = self._send(
            [("EVAL", _EXPIRE, 1, keys.session(session_id), cutoff) for _, (session_id, _) in valid]
        )
        deleted = 0
        # Members no session of this adapter's stands behind are dropped too.
        gone: list[Any] = [member for member, ids in entries if ids is None]
        unindexed: dict[str, list[str]] = {}
        rescored: list[Command] = []
        for (member, (session_id, user_id)), outcome in zip(valid, outcomes, strict=True):
            # Every entry examined leaves the range (removed or rescored), so the
            # next batch reads new ones.
            score = None
            if isinstance(outcome, bytes | str):
                with suppress(ValueError):
                    score = encode_time(decode_time(_text(outcome)))
            if score is not None:
                rescored.append(("ZADD", keys.expiries, "XX", score, member))
                rescored.append(("ZADD", keys.user(user_id), "XX", score, session_id))
                continue
            gone.append(member)
            if outcome in (0, 1):
                deleted += outcome
                unindexed.setdefault(user_id, []).append(session_id)
            # A key this adapter did not write stays in its user's index, so
            # revoking the user's sessions still deletes it.
        batch: Batch = [("ZREM", keys.expiries, *gone)] if gone else []
        batch += [("ZREM", keys.user(user_id), *ids) for user_id, ids in unindexed.items()]
        batch += rescored
        if batch:
            self._send(batch)
        return deleted, len(members)
