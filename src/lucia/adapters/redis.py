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

import base64
import binascii
import json
import re
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
import redis.retry
from redis.backoff import NoBackoff

from lucia._json import decode_json, encode_json
from lucia.adapters._purge import (
    PURGE_BATCH_SIZE,
    PurgeProgress,
    apurge_in_batches,
    purge_in_batches,
)
from lucia.adapters.base import SessionRecord
from lucia.errors import DatabaseError

__all__ = ["AsyncRedisSessionAdapter", "AsyncSafeRetry", "RedisSessionAdapter", "SafeRetry"]

T = TypeVar("T")

CLOCK_TOLERANCE = timedelta(minutes=1)
"""How far lucia's clock may lag this machine's and still count as the same clock."""

SOCKET_TIMEOUT = 5.0
"""Seconds a client the adapter creates waits to connect, and for a reply."""

RETRY_WINDOW = 0.25
"""A connection error is retried (once) only when it came this soon (seconds)."""

_PRUNE_ON_INSERT = 20  # expired index entries an insert checks, at most
_FIELDS = ("u", "h", "e", "c", "a")
_SECRET_HASH_BYTES = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,6})?")

# A command as redis-py's execute_command takes it, and a batch of them sent
# together (one round trip: a plain pipeline, split by slot on a Cluster).
Command = tuple[Any, ...]
Batch = list[Command]
Flow = Generator[Batch, list[Any], T]

# Each script touches exactly the one key it is given (Cluster-safe), and
# numbers go back to Redis through %.0f: never in exponent notation.

# KEYS[1] session; ARGV: deadline ms, then the fields and values to store.
_INSERT = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""

# KEYS[1] session; ARGV: expires_at (text), expires_at ms, this machine's now ms.
# A gone key stays gone: no renewal resurrects a deleted session.
_RENEW = """
local kept = redis.call('HMGET', KEYS[1], 's', 'l')
if not kept[1] then return 0 end
local skew, life = tonumber(kept[1]), tonumber(kept[2])
local at = tonumber(ARGV[2]) - skew
if skew ~= 0 then at = math.min(at, tonumber(ARGV[3]) + life) end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', at))
return 1
"""

# KEYS[1] session; ARGV[1] now (lucia's clock, Unix seconds). Returns 1 when it
# deleted the (expired) session, 0 when the key is gone, the session's expiry
# when it is still alive, -1 for a key this adapter did not write (left alone).
_EXPIRE = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return 0 end
if kind ~= 'hash' then return -1 end
local e = redis.call('HGET', KEYS[1], 'e')
if not e or not tonumber(e) then return -1 end
if tonumber(e) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return e
"""


def encode_time(moment: datetime) -> str:
    """Unix seconds as exact decimal text: ``"1767268800"`` or ``"1767268800.25"``.

    The text is the number itself, so Redis scores and Lua compare it correctly.
    """
    delta = moment - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    seconds, fraction = divmod(abs(micros), 1_000_000)
    sign = "-" if micros < 0 else ""
    return f"{sign}{seconds}.{fraction:06d}".rstrip("0") if fraction else f"{sign}{seconds}"


def decode_time(text: str) -> datetime:
    """The inverse of ``encode_time``; ValueError for anything else."""
    if text.isascii() and text.isdigit():  # whole seconds, what lucia writes: the fast way
        return datetime.fromtimestamp(int(text), UTC)
    if not _TIME.fullmatch(text):
        raise ValueError("not a Unix time")
    seconds, _, fraction = text.lstrip("-").partition(".")
    micros = int(seconds) * 1_000_000 + int(fraction.ljust(6, "0"))
    return _EPOCH + timedelta(microseconds=-micros if text.startswith("-") else micros)


def to_millis(moment: datetime) -> int:
    """Unix milliseconds, rounded down."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def clock_skew_ms(created_at: datetime, local_now_ms: int) -> int:
    """lucia's clock minus this machine's, in ms; 0 when they are the same clock.

    ``created_at`` is lucia's clock rounded down to the second, read just before
    the insert, so on the same clock it trails by up to a second (and a moment).
    """
    skew = to_millis(created_at) - local_now_ms
    tolerance = -int(CLOCK_TOLERANCE.total_seconds() * 1000)
    return 0 if tolerance <= skew <= 0 else skew


def key_deadline_ms(expires_at: datetime, created_at: datetime, local_now_ms: int) -> int:
    """When a new session's key expires, in Unix ms on this machine's clock.

    Exactly ``expires_at`` on lucia's default clock; on a clock of lucia's own,
    the session's life from now (``local_now + expires_at - created_at``).
    """
    return to_millis(expires_at) - clock_skew_ms(created_at, local_now_ms)


def _text(value: Any) -> str:
    # decode_responses=True clients give str, the others bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


def _malformed(what: str) -> DatabaseError:
    return DatabaseError(f"a session record in Redis is malformed ({what})")


class RedisKeys:
    """Key names (see the module docstring); ``prefix`` must not contain braces."""

    def __init__(self, prefix: str) -> None:
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            # A brace in the prefix would become every key's hash tag: one slot for all.
            raise ValueError("the Redis key prefix must be a string without '{' or '}'")
        self.prefix = prefix
        self.expiries = f"{prefix}expiries"

    def session(self, session_id: str) -> str:
        """The key of a session's hash."""
        return f"{self.prefix}session:{{{session_id}}}"

    def user(self, user_id: str) -> str:
        """The key of a user's index of session ids."""
        return f"{self.prefix}user:{{{user_id}}}:sessions"


def expiry_member(session_id: str, user_id: str) -> str:
    """A session's member in ``expiries``: both ids, as a JSON list."""
    return json.dumps([session_id, user_id], separators=(",", ":"))


def _expiry_ids(member: Any) -> tuple[str, str] | None:
    try:
        ids = json.loads(_text(member))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids):
        return ids[0], ids[1]
    return None


def decode_session(session_id: str, values: Any) -> SessionRecord | None:
    """A session from its ``HMGET`` of ``_FIELDS``; None when the key does not exist.

    Anything else this adapter would not have written is a ``DatabaseError``.
    """
    if not isinstance(values, list | tuple) or len(values) != len(_FIELDS):
        raise _malformed("unexpected reply")
    user_id, secret_hash, expires_at, created_at, attributes = values
    if None in values:
        if values.count(None) == len(_FIELDS):
            return None
        raise _malformed("missing field")
    try:
        hashed = binascii.a2b_base64(secret_hash, strict_mode=True)
        record = SessionRecord(
            session_id,
            _text(user_id),
            decode_time(_text(expires_at)),
            decode_time(_text(created_at)),
            attributes=decode_json(_text(attributes)),
            secret_hash=hashed,
        )
    except (ValueError, binascii.Error, DatabaseError):  # DatabaseError: attributes' JSON
        raise _malformed("bad field") from None
    if len(hashed) != _SECRET_HASH_BYTES:
        raise _malformed("bad secret hash")
    return record


class SessionFlows:
    """Every adapter method once, as a flow of Redis command batches.

    A flow yields a batch, receives the batch's replies in order, and returns
    the method's result. The sync and async adapters only send the batches.
    """

    def __init__(self, prefix: str) -> None:
        self.keys = RedisKeys(prefix)

    def insert(self, session: SessionRecord) -> Flow[None]:
        """Index first, then the session (see the module docstring for why)."""
        keys = self.keys
        index = keys.user(session.user_id)
        expires = encode_time(session.expires_at)
        _, _, expired = yield [
            ("ZADD", keys.expiries, expires, expiry_member(session.id, session.user_id)),
            ("ZADD", index, expires, session.id),
            (
                "ZRANGEBYSCORE",
                *(index, "-inf", encode_time(session.created_at)),
                *("LIMIT", 0, _PRUNE_ON_INSERT),
            ),
        ]
        expired = [_text(sid) for sid in expired]
        if expired:
            # Expired by lucia's clock and verified gone: an insert still running
            # has a later score, so it is never pruned from under its session.
            exists = yield [("EXISTS", keys.session(sid)) for sid in expired]
            gone = [sid for sid, found in zip(expired, exists, strict=True) if not found]
            if gone:
                yield [("ZREM", index, *gone)]
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
        yield [("EVAL", _INSERT, 1, keys.session(session.id), deadline, *pairs)]

    def get(self, session_id: str) -> Flow[SessionRecord | None]:
        """One HMGET: the whole of validation's work in Redis."""
        (values,) = yield [("HMGET", self.keys.session(session_id), *_FIELDS)]
        return decode_session(session_id, values)

    def user_sessions(self, user_id: str) -> Flow[list[SessionRecord]]:
        """The sessions in the user's index that still exist, oldest first."""
        (ids,) = yield [("ZRANGE", self.keys.user(user_id), 0, -1)]
        ids = [_text(sid) for sid in ids]
        if not ids:
            return []
        rows = yield [("HMGET", self.keys.session(sid), *_FIELDS) for sid in ids]
        records = [decode_session(sid, row) for sid, row in zip(ids, rows, strict=True)]
        found = [r for r in records if r is not None and r.user_id == user_id]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    def renew(self, session_id: str, expires_at: datetime) -> Flow[None]:
        """Move the expiry and the key's TTL, if the session still exists."""
        yield [
            (
                "EVAL",
                *(_RENEW, 1, self.keys.session(session_id)),
                *(encode_time(expires_at), to_millis(expires_at), int(time.time() * 1000)),
            )
        ]

    def delete(self, session_id: str) -> Flow[None]:
        """Delete the session key (its index entry is pruned later)."""
        yield [("DEL", self.keys.session(session_id))]

    def delete_user(self, user_id: str) -> Flow[None]:
        """Delete every session the user's index lists."""
        (ids,) = yield [("ZRANGE", self.keys.user(user_id), 0, -1)]
        if ids:
            yield [("DEL", self.keys.session(_text(sid))) for sid in ids]

    def purge(self, now: datetime, limit: int) -> Flow[tuple[int, int]]:
        """One batch of a purge: the first ``limit`` entries of ``expiries`` scored at
        or before ``now``. Returns (session keys deleted, entries examined).

        Entries whose session is gone (deleted now, or before) leave ``expiries``
        and their user's index; those of sessions renewed since get the new score.
        """
        keys = self.keys
        cutoff = encode_time(now)
        (members,) = yield [("ZRANGEBYSCORE", keys.expiries, "-inf", cutoff, "LIMIT", 0, limit)]
        if not members:
            return 0, 0
        entries = [(member, _expiry_ids(member)) for member in members]
        valid = [(member, ids) for member, ids in entries if ids is not None]
        outcomes = yield [
            ("EVAL", _EXPIRE, 1, keys.session(session_id), cutoff) for _, (session_id, _) in valid
        ]
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
            yield batch
        return deleted, len(members)


def _url_secrets(url: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return ()
    return tuple({password, unquote(password)}) if password else ()


def _client_secrets(client: Any) -> tuple[str, ...]:
    # A Redis keeps its settings on its pool, a RedisCluster on its nodes manager.
    holder = getattr(client, "connection_pool", None) or getattr(client, "nodes_manager", None)
    kwargs = getattr(holder, "connection_kwargs", None)
    password = kwargs.get("password") if isinstance(kwargs, dict) else None
    return (password,) if isinstance(password, str) and password else ()


def _describe(client: Any) -> str:
    # host:port/db for repr(), from the client's settings: never the password.
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if isinstance(kwargs, dict) and "host" in kwargs:
        return f"redis://{kwargs['host']}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    return type(client).__name__


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def database_error(exc: redis.RedisError, secrets: tuple[str, ...] = ()) -> DatabaseError:
    """A ``DatabaseError`` naming a redis-py failure, with any password scrubbed.

    Redis replies name the failure (WRONGTYPE, NOSCRIPT, OOM...), never stored values.
    """
    detail = _scrub(str(exc).strip() or type(exc).__name__, secrets)
    if isinstance(exc, redis.AuthenticationError):
        return DatabaseError(f"Redis refused the credentials: {detail}", cause=exc)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return DatabaseError(f"Redis unreachable: {detail}", cause=exc)
    return DatabaseError(f"Redis error: {detail}", cause=exc)


class _RedisAdapterBase:
    """What both flavours share: the flows, key names, error mapping, repr."""

    def __init__(self, client: Any, prefix: str, owned: bool, secrets: tuple[str, ...]) -> None:
        self.flows = SessionFlows(prefix)
        self.client = client
        self.owns_client = owned
        self._secrets = secrets + _client_secrets(client)

    @property
    def prefix(self) -> str:
        """The prefix of every key this adapter writes."""
        return self.flows.keys.prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_describe(self.client)}, prefix={self.prefix!r})"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            raise database_error(exc, self._secrets) from None


# The retry policy of the clients the adapter makes. redis-py's own retries
# timeouts too: a Redis that accepts but never answers then held a call for two
# socket timeouts (and redis-py's default, three retries with backoff, for four
# and more). A timeout is never retried here: the command may have run, and
# waiting again for a server that did not answer in time only doubles the wait.
# A connection error (refused, reset, closed) is retried once, at once, on a new
# connection, and only when it came within RETRY_WINDOW: that is a pooled
# connection the server had dropped, or a server that refuses at once. So a
# hung Redis fails a call after one socket timeout, a down one at once.


def _may_retry(error: Exception, started: float, is_retryable: Any) -> bool:
    return (
        isinstance(error, redis.ConnectionError)
        and time.monotonic() - started <= RETRY_WINDOW
        and (is_retryable is None or bool(is_retryable(error)))
    )


class SafeRetry(redis.retry.Retry):
    """redis-py ``Retry`` for ``redis.Redis(retry=...)``: one immediate retry of a
    connection error that came within RETRY_WINDOW; never a timeout."""

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))

    def call_with_retry(
        self,
        do: Callable[[], T],
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
                fail(error, attempt) if with_failure_count else fail(error)
                if attempt == 2 or not _may_retry(error, started, is_retryable):
                    raise
        raise AssertionError("unreachable")


class AsyncSafeRetry(redis.asyncio.retry.Retry):
    """``SafeRetry`` for ``redis.asyncio.Redis(retry=...)``."""

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        started = time.monotonic()
        for attempt in (1, 2):
            try:
                return await do()
            except redis.ConnectionError as error:
                await (fail(error, attempt) if with_failure_count else fail(error))
                if attempt == 2 or not _may_retry(error, started, is_retryable):
                    raise
        raise AssertionError("unreachable")


def _from_url(factory: Any, url: str, retry: Any) -> Any:
    # Bounded waits and SafeRetry instead of redis-py's default retries: a Redis
    # that is down fails the request at once, one that hangs after one timeout.
    try:
        return factory(
            url,
            retry=retry,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
        )
    except ValueError as exc:
        raise ValueError(f"invalid Redis URL: {_scrub(str(exc), _url_secrets(url))}") from None


class RedisSessionAdapter(_RedisAdapterBase):
    """``SessionAdapter`` on Redis, for ``Lucia(user_adapter, session_adapter=...)``.

    ``client_or_url``: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` you
    keep (the adapter never closes it, and its retry policy is its own: see
    ``SafeRetry``), or a ``redis://`` / ``rediss://`` / ``unix://`` URL for a
    client the adapter owns (``close()`` it), with SOCKET_TIMEOUT timeouts
    unless the URL's query sets others, and ``SafeRetry``.
    """

    def __init__(
        self,
        client_or_url: redis.Redis | redis.cluster.RedisCluster | str,
        *,
        prefix: str = "lucia:",
    ) -> None:
        if isinstance(client_or_url, str):
            client = _from_url(redis.Redis.from_url, client_or_url, SafeRetry())
            super().__init__(client, prefix, True, _url_secrets(client_or_url))
        else:
            super().__init__(client_or_url, prefix, False, ())

    def _send(self, batch: Batch) -> list[Any]:
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

    def _run(self, flow: Flow[T]) -> T:
        try:
            batch = next(flow)
            while True:
                batch = flow.send(self._send(batch))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the client if the adapter made it (from a URL); a client you passed stays open."""
        if self.owns_client:
            self.client.close()

    def create_tables(self) -> None:
        """Nothing to create: keys appear as sessions are written."""

    def insert_session(self, session: SessionRecord) -> None:
        self._run(self.flows.insert(session))

    def get_session(self, session_id: str) -> SessionRecord | None:
        return self._run(self.flows.get(session_id))

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        return self._run(self.flows.user_sessions(user_id))

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        self._run(self.flows.renew(session_id, expires_at))

    def delete_session(self, session_id: str) -> None:
        self._run(self.flows.delete(session_id))

    def delete_user_sessions(self, user_id: str) -> None:
        self._run(self.flows.delete_user(user_id))

    def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete sessions expired at ``now``, ``batch_size`` entries of ``expiries`` a
        round; how many keys went (see the module docstring)."""
        return purge_in_batches(
            lambda limit: self._run(self.flows.purge(now, limit)), batch_size, progress
        )


class AsyncRedisSessionAdapter(_RedisAdapterBase):
    """``AsyncSessionAdapter`` on Redis (``redis.asyncio``), for ``AsyncLucia``.

    ``client_or_url`` as for ``RedisSessionAdapter``, with a ``redis.asyncio.Redis``
    or ``redis.asyncio.RedisCluster``; a client made from a URL is the adapter's
    to close: ``await adapter.aclose()``.
    """

    def __init__(
        self,
        client_or_url: redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster | str,
        *,
        prefix: str = "lucia:",
    ) -> None:
        if isinstance(client_or_url, str):
            client = _from_url(redis.asyncio.Redis.from_url, client_or_url, AsyncSafeRetry())
            super().__init__(client, prefix, True, _url_secrets(client_or_url))
        else:
            super().__init__(client_or_url, prefix, False, ())

    async def _send(self, batch: Batch) -> list[Any]:
        try:
            if len(batch) == 1:
                return [await self.client.execute_command(*batch[0])]
            pipe = self.client.pipeline(transaction=False)
            for command in batch:
                pipe.execute_command(*command)
            results: list[Any] = await pipe.execute()
        except redis.RedisError as exc:
            raise database_error(exc, self._secrets) from None
        return results

    async def _run(self, flow: Flow[T]) -> T:
        try:
            batch = next(flow)
            while True:
                batch = flow.send(await self._send(batch))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Close the client if the adapter made it (from a URL); a client you passed stays open."""
        if self.owns_client:
            await self.client.aclose()

    async def create_tables(self) -> None:
        """Nothing to create: keys appear as sessions are written."""

    async def insert_session(self, session: SessionRecord) -> None:
        await self._run(self.flows.insert(session))

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._run(self.flows.get(session_id))

    async def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        return await self._run(self.flows.user_sessions(user_id))

    async def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        await self._run(self.flows.renew(session_id, expires_at))

    async def delete_session(self, session_id: str) -> None:
        await self._run(self.flows.delete(session_id))

    async def delete_user_sessions(self, user_id: str) -> None:
        await self._run(self.flows.delete_user(user_id))

    async def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """See ``RedisSessionAdapter.delete_expired_sessions``."""
        return await apurge_in_batches(
            lambda limit: self._run(self.flows.purge(now, limit)), batch_size, progress
        )
