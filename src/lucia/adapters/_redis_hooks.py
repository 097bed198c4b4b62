"""What the Redis session adapters share (key names, record decoding, error
mapping, client settings) and what differs between the flavours (closing).

The adapters themselves are written once in ``lucia/adapters/_async/redis.py``
(the sync ones generated); ``lucia.adapters.redis`` documents the key layout.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import redis

from lucia._json import decode_json
from lucia.adapters.base import AsyncClosing, Closing, SessionRecord
from lucia.errors import DatabaseError

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
    """What both flavours share: key names, error mapping, repr."""

    def __init__(self, client: Any, prefix: str, owned: bool, secrets: tuple[str, ...]) -> None:
        self.keys = RedisKeys(prefix)
        self.client = client
        self.owns_client = owned
        self._secrets = secrets + _client_secrets(client)

    @property
    def prefix(self) -> str:
        """The prefix of every key this adapter writes."""
        return self.keys.prefix

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


class _RedisHooks(Closing, _RedisAdapterBase):
    """The sync flavour's part: ``with adapter:`` closes it (``close()``)."""


class _AsyncRedisHooks(AsyncClosing, _RedisAdapterBase):
    """The async flavour's part: ``async with adapter:`` closes it (``aclose()``),
    and ``close()`` does it from sync code."""

    def __init__(self, client: Any, prefix: str, owned: bool, secrets: tuple[str, ...]) -> None:
        super().__init__(client, prefix, owned, secrets)
        self._closing: asyncio.Task[None] | None = None

    def close(self) -> None:
        """``aclose()`` for sync code: outside an event loop it runs it to the end;
        called inside a running loop (where it cannot block) it schedules it."""
        if not self.owns_client:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self.aclose())
            return
        self._closing = loop.create_task(self.aclose())
