"""Sessions in Redis (redis-py), sync and asyncio; users stay in another adapter.

    auth = Lucia(SQLiteAdapter("app.db"), session_adapter=RedisSessionAdapter("redis://..."))

Works with one Redis server (or the master client of a Sentinel setup) and with
Redis Cluster: pass a ``redis.cluster.RedisCluster`` or
``redis.asyncio.cluster.RedisCluster``. Redis 5 or later (tested on 7.0).

Key layout (``prefix`` defaults to ``lucia:``):

- ``<prefix>session:{<session id>}`` -- a hash, one per session: ``u`` user id,
  ``h`` base64 SHA-256 of the secret, ``e`` expires_at and ``c`` created_at (Unix
  seconds), ``a`` attributes (compact JSON), and for the TTL's bookkeeping ``s``
  (lucia's clock minus this machine's, ms; see below) and ``l`` (the session's
  full life, ms). Validation is one ``HMGET`` of this key: one round trip.
- ``<prefix>user:{<user id>}:sessions`` -- a sorted set per user, the index: its
  members are the user's session ids, scored by expires_at (Unix seconds) as it
  was at creation (renewals leave the score behind; it is only a hint, see below).
- ``<prefix>expiries`` -- one sorted set of every session, ``[session id, user
  id]`` (JSON) scored by expires_at like the user indexes: the purge's work
  list, so a purge reads what expired (by score, a batch at a time) instead of
  walking every user. On a Cluster it is one key on one node, written once per
  session insert (in the same pipeline).

Redis Cluster. No command, pipeline-transaction or script ever touches two keys:
every script gets exactly one key, the rest are single-key commands sent in
plain (non-transactional) pipelines, which redis-py splits by slot. So nothing
can fail with CROSSSLOT, and the hash tags pin each key's slot to the id alone.
A session's key cannot share its user's slot: validation knows only the session
id, and looking up the user first would cost a second round trip. What would
need a multi-key transaction is made safe by ordering instead:

- Insert adds the id to the user's index first, then writes the session (one
  script: HSET and PEXPIREAT together, so a session never exists without TTL).
  A session is never valid without being in its user's index; a crash between
  the two leaves only an index entry without a session, which pruning removes.
- Renewal is a script on the session key that does nothing when the key is
  gone: a renewal can never bring back a deleted session.
- ``delete_user_sessions`` reads the index, then deletes every session it
  lists. A session valid when the index was read is gone when it returns; one
  that became valid later (its insert still running) was created after the
  revocation started, stays in the index, and the next revocation finds it.
- Index entries (a user's and ``expiries``) are removed only when their
  session key is verified gone *and* their score (expiry) has passed by lucia's
  clock, by ``delete_expired_sessions`` and, a few at a time, by
  ``insert_session``. Revocation and sign-out leave their entries for those to
  prune. So no race, and no redis-py retry that
  replays a write, can leave a live session outside its user's index: every live
  session stays revocable.

TTL. A session key expires exactly at expires_at (``PEXPIREAT``), set on insert
and on every renewal: Redis drops sessions by itself and a key never outlives
its session. That holds when lucia runs on this machine's clock, the default.
Tests inject clocks that are months away from the real one; an expiry computed
from such a clock would be long past, or far too late, for Redis. So on insert
the adapter compares lucia's ``created_at`` with this machine's clock. When
lucia's trails by at most CLOCK_TOLERANCE (created_at is rounded down to the
second and read a moment before the insert) they are the same clock, and the
expiry is used as is. Otherwise lucia keeps time of its own, and the key is
given the session's life by lucia's clock: expires_at - created_at from now on
insert; on renewal, the new expiry shifted by the clock offset measured at
insert, and never more than that full life from now. lucia itself checks
expires_at on every validation, whatever the TTL, so the TTL decides only when
Redis frees the memory, never whether a session is valid. Redis applies the
expiry with its own clock: keep the servers on NTP.

``delete_expired_sessions(now)`` takes the entries of ``expiries`` scored at or
before ``now``, ``batch_size`` at a time (one ZRANGEBYSCORE ... LIMIT), deletes
those sessions that Redis still holds, and removes the entries of sessions that
are gone from ``expiries`` and from their user's index (a renewed session's
entries get its new score). It returns how many session keys it deleted; with
lucia on the machine's clock that is usually 0, because Redis has already
expired them. Running it now and then (``lucia sessions purge``) keeps the
indexes of users who no longer sign in from keeping stale entries; its cost is
the number of expired entries, not the number of users.

Waits: a client made from a URL has SOCKET_TIMEOUT socket timeouts and the
``SafeRetry`` policy: a timeout is never retried, a connection error that came
at once is retried once on a new connection. So a hung Redis fails a call after
one timeout and a down one at once.

Errors: any redis-py error becomes ``DatabaseError`` naming the cause; a
password from the URL or client never appears in a message or ``repr()``. A
session record that is not what this adapter writes (garbage under its key) is
a ``DatabaseError`` too, never a session.
"""

from __future__ import annotations

from lucia.adapters._async.redis import AsyncRedisSessionAdapter, AsyncSafeRetry

# The documented limits, and what lucia.throttle's RedisThrottleStore shares.
from lucia.adapters._redis_hooks import (
    CLOCK_TOLERANCE,
    RETRY_WINDOW,
    SOCKET_TIMEOUT,
    RedisKeys,
    _client_secrets,
    _describe,
    database_error,
)
from lucia.adapters._sync.redis import RedisSessionAdapter, SafeRetry
from lucia.adapters.base import publish

__all__ = [
    "CLOCK_TOLERANCE",
    "RETRY_WINDOW",
    "SOCKET_TIMEOUT",
    "AsyncRedisSessionAdapter",
    "AsyncSafeRetry",
    "RedisKeys",
    "RedisSessionAdapter",
    "SafeRetry",
    "_client_secrets",
    "_describe",
    "database_error",
]

publish(__name__, AsyncRedisSessionAdapter, AsyncSafeRetry, RedisSessionAdapter, SafeRetry)
