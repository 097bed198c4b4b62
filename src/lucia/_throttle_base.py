"""The sign-in throttle's parts without I/O, shared by its sync and async operations.

``lucia.throttle`` is the public module and documents the throttle. Here: the
limits, counts and errors, the store keys, a ``Reservation``, and each
class's configuration and state (``SignInThrottleBase``, ``MemoryStoreBase``,
``RedisStoreBase``). The operations that wait on a store are written once, as
async code, in ``lucia/_async/throttle.py``; ``lucia/_sync/throttle.py`` is
generated from it, and each public class combines the two flavours' mixins.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from lucia.addresses import parse_ip
from lucia.emails import normalize_email
from lucia.errors import DatabaseError, LuciaError
from lucia.sessions import utc_now

if TYPE_CHECKING:
    import redis
    import redis.asyncio

logger = logging.getLogger("lucia.throttle")

FIRST_PAUSE = 0.005  # seconds; doubled up to LONGEST_PAUSE while an address is busy
LONGEST_PAUSE = 0.1


def pause(seconds: float) -> None:
    """Wait between two tries of an address held by attempts in flight."""
    time.sleep(seconds)


async def apause(seconds: float) -> None:
    """Wait between two tries of an address held by attempts in flight, off the loop."""
    await asyncio.sleep(seconds)


class RateLimitedError(LuciaError):
    """Too many failed sign-ins: wait ``retry_after`` seconds (send it as ``Retry-After``).

    Neither the message nor ``repr()`` names the account or the address.
    """

    code = "AUTH_RATE_LIMITED"
    default_message = "too many failed sign-in attempts; try again later"
    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)

    def __repr__(self) -> str:
        return f"RateLimitedError(code={self.code!r}, retry_after={self.retry_after!r})"


@dataclass(frozen=True, slots=True)
class Limit:
    """``failures`` failures within ``window`` block further attempts until the window ends."""

    failures: int
    window: timedelta

    def __post_init__(self) -> None:
        if isinstance(self.failures, bool) or not isinstance(self.failures, int):
            raise TypeError("Limit.failures must be an int")
        if self.failures < 1:
            raise ValueError("Limit.failures must be at least 1")
        if not isinstance(self.window, timedelta) or self.window < timedelta(milliseconds=1):
            raise ValueError("Limit.window must be a timedelta of at least 1 ms")


class Count(NamedTuple):
    """A counter: failures in its window, and when the window ends (``now`` if none runs)."""

    hits: int
    reset_at: datetime


class ThrottleStore(Protocol):
    """Fixed-window counters by key.

    ``hit`` adds one to the counter (starting a window of ``window`` when there is
    none) and returns the new count; ``peek`` reads without counting; ``unhit``
    takes one back and returns the new count: never below zero, never starting
    a window or creating a counter, never lengthening a window (a counter that
    reaches zero is gone, as if never counted). Each is atomic on its key.
    ``now`` is the throttle's clock, used for ``reset_at`` (and, in memory, for
    expiry).
    """

    def hit(self, key: str, window: timedelta, now: datetime | None = None) -> Count: ...

    def peek(self, key: str, now: datetime | None = None) -> Count: ...

    def unhit(self, key: str, now: datetime | None = None) -> Count: ...

    async def ahit(self, key: str, window: timedelta, now: datetime | None = None) -> Count: ...

    async def apeek(self, key: str, now: datetime | None = None) -> Count: ...

    async def aunhit(self, key: str, now: datetime | None = None) -> Count: ...


class MemoryStoreBase:
    """``MemoryThrottleStore``'s state: counters by key, a lock, the bound and its sweep."""

    SWEEP_STEP: ClassVar[int] = 4
    FULL_SWEEP_STEP: ClassVar[int] = 64
    FULL_RETRY_AFTER: ClassVar[int] = 60

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], datetime] = utc_now
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.clock = clock
        # The sweep starts at the front and moves the live counters it meets to
        # the back, so successive sweeps go round the whole store.
        self._counters: OrderedDict[str, list[Any]] = OrderedDict()  # key -> [count, reset_at]
        # Held for a bounded amount of work, never across an await: the event
        # loop may take it too.
        self._lock = threading.Lock()
        self._examined = 0  # counters the sweeps have looked at, in all (for tests)
        self._full = False

    def __len__(self) -> int:
        return len(self._counters)

    def __repr__(self) -> str:
        return f"MemoryThrottleStore(max_entries={self.max_entries}, size={len(self)})"

    def _sweep(self, now: datetime, budget: int) -> None:
        # Bounded work under the lock: at most ``budget`` counters examined.
        counters = self._counters
        for _ in range(min(budget, len(counters))):
            key, counter = next(iter(counters.items()))
            self._examined += 1
            if counter[1] <= now:
                del counters[key]
            else:
                counters.move_to_end(key)

    def _refuse_new(self) -> None:
        if not self._full:
            # Once per filling, not once per refusal: a flood must not flood the log too.
            logger.warning(
                "the memory throttle store is full of live counters: new keys are refused",
                extra={"max_entries": self.max_entries},
            )
            self._full = True
        raise RateLimitedError(self.FULL_RETRY_AFTER)


# One key per script (Cluster-safe); the count and the key's TTL come back in one
# round trip. The TTL is set when missing, not only on the first INCR: a key
# left without one (a PERSIST by hand) can never block an account for good.
_HIT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""

_PEEK = """
local n = redis.call('GET', KEYS[1])
if not n then return {0, 0} end
return {n, redis.call('PTTL', KEYS[1])}
"""

# Takes one back without ever creating the key (DECR alone would make it -1) or
# touching its TTL (DECR keeps it). At zero the key goes: a count given back
# leaves no window behind. A non-integer value fails in DECR, as in _HIT's INCR.
_UNHIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local n = redis.call('DECR', KEYS[1])
if n <= 0 then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
return {n, redis.call('PTTL', KEYS[1])}
"""


def decode_count(reply: Any, now: datetime) -> Count:
    try:
        raw_count, ttl = reply
        value = raw_count.decode() if isinstance(raw_count, bytes) else raw_count
        count = int(value)
        ttl = int(ttl)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise DatabaseError("a throttle counter in Redis is malformed") from None
    # A key that vanished between the two reads, or one without TTL: retry soon.
    return Count(count, now + timedelta(milliseconds=max(ttl, 0)))


class RedisStoreBase:
    """``RedisThrottleStore``'s client, key prefix and scripts; its errors."""

    def __init__(
        self,
        client: redis.Redis | redis.asyncio.Redis | Any,
        *,
        prefix: str = "lucia:throttle:",
    ) -> None:
        # Imported here: lucia.throttle must import without the redis extra.
        import redis.asyncio
        import redis.asyncio.cluster

        from lucia.adapters.redis import RedisKeys, _client_secrets

        RedisKeys(prefix)  # the same prefix rules as the session adapter's
        self.prefix = prefix
        self.client = client
        self.is_async = isinstance(client, redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster)
        self._secrets = _client_secrets(client)
        self._hit = client.register_script(_HIT)
        self._peek = client.register_script(_PEEK)
        self._unhit = client.register_script(_UNHIT)

    def __repr__(self) -> str:
        from lucia.adapters.redis import _describe

        return f"RedisThrottleStore({_describe(self.client)}, prefix={self.prefix!r})"

    def _error(self, exc: redis.RedisError) -> DatabaseError:
        from lucia.adapters.redis import database_error

        return database_error(exc, self._secrets)

    def _require(self, is_async: bool) -> None:
        if self.is_async != is_async:
            flavour = "an asyncio" if self.is_async else "a sync"
            wanted = (
                "ahit/apeek/aunhit (SignInThrottle.aattempt, acheck)"
                if self.is_async
                else "hit/peek/unhit (attempt, check)"
            )
            raise TypeError(f"this store wraps {flavour} Redis client: use {wanted}")

    def _require_sync(self) -> None:
        self._require(False)

    def _require_async(self) -> None:
        self._require(True)


def millis(window: timedelta) -> int:
    return max(1, window // timedelta(milliseconds=1))


def retry_after(reset_at: datetime, now: datetime) -> int:
    return max(1, math.ceil((reset_at - now).total_seconds()))


class Reservation:
    """One attempt's hold on the throttle's counters, as ``reserve`` made it.

    Hand it to ``release`` to give the counts back (a right password, or an
    attempt that failed for another reason than a wrong password), or to
    ``fail`` after a wrong password (the account keeps its count and the
    address counts a failure). It is settled at most once, and gives back only
    counts whose windows still run: once a window has ended, the counter that
    runs under the same key holds other attempts' counts, not this one's.
    ``repr()`` names neither the account nor the address.
    """

    __slots__ = ("_failure", "_held")

    def __init__(
        self,
        held: Iterable[tuple[str, datetime]],
        failure: tuple[str, timedelta, str, datetime] | None = None,
    ) -> None:
        # (store key, end of the window the count went into)
        self._held: tuple[tuple[str, datetime], ...] = tuple(held)
        # (failures key, its window, in-flight key, end of the in-flight count's window)
        self._failure = failure

    @property
    def held(self) -> bool:
        """Whether it still holds counts (it was neither released nor emptied)."""
        return bool(self._held)

    def _take(self) -> tuple[tuple[tuple[str, datetime], ...], tuple[Any, ...] | None]:
        # Empty it before the store calls: a second settlement gives nothing back.
        held, failure = self._held, self._failure
        self._held, self._failure = (), None
        return held, failure

    def __repr__(self) -> str:
        return f"Reservation(counters={len(self._held)})"


class SignInThrottleBase:
    """``SignInThrottle``'s limits, store and clock; the verdict on counts read."""

    # Set by ``SignInThrottle.__init__``.
    store: ThrottleStore
    per_account: Limit
    per_address: Limit
    per_address_sign_ups: Limit
    clock: Callable[[], datetime]
    ipv6_prefix: int
    max_wait: timedelta
    max_waiting: int

    def __repr__(self) -> str:
        return (
            f"SignInThrottle({self.store!r}, per_account={self.per_account!r}, "
            f"per_address={self.per_address!r})"
        )

    def _counters(self, account: str, address: str | None) -> list[tuple[str, Limit]]:
        counters = [(account_key(account), self.per_account)]
        if address is not None:
            counters.append((address_key(address, self.ipv6_prefix), self.per_address))
        return counters

    @staticmethod
    def _verdict(found: list[tuple[Count, Limit]], now: datetime, own: int = 0) -> None:
        # Blocked until every full counter's window has ended. ``own`` is how many
        # of each count are the caller's own (1 once ``reserve`` has counted itself):
        # a reservation is refused exactly when ``check`` would have refused it.
        waits = [
            retry_after(c.reset_at, now) for c, limit in found if c.hits - own >= limit.failures
        ]
        if waits:
            raise RateLimitedError(max(waits))

    @staticmethod
    def _take(reservation: Reservation) -> tuple[tuple[tuple[str, datetime], ...], Any]:
        """What ``reservation`` holds, leaving it empty: settled at most once."""
        return reservation._take()


def not_given_back(exc: LuciaError) -> bool:
    # The store's error text is already scrubbed of credentials; the key (a hashed
    # account or an address) is left out all the same.
    logger.warning(
        "a sign-in count could not be given back and stays counted as a failure",
        extra={"error_code": exc.code},
    )
    return False


def sign_in_account(identifier: str) -> str:
    """The account to throttle for what a user typed as their identifier: normalised
    as lucia's password keys are (``normalize_email``), else trimmed and lower-cased,
    so ``Ada@Example.com`` and ``ada@example.com`` share one counter."""
    return normalize_email(identifier) or identifier.strip().lower()


def account_key(account: str) -> str:
    """The store key of an account: ``acct:`` and the SHA-256 (hex) of its UTF-8 text."""
    return "acct:" + hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()


def address_counter(kind: str, address: str, ipv6_prefix: int) -> str:
    """Another counter of the same address: ``kind`` instead of ``addr:``."""
    return kind + address_key(address, ipv6_prefix).removeprefix("addr:")


def address_key(address: str, ipv6_prefix: int = 64) -> str:
    """The store key of a client address: ``addr:`` and its normalised IP text.

    An IPv6 address counts by its ``/ipv6_prefix`` network; an IPv4-mapped IPv6
    address as the IPv4 address. Text that is no IP address (a Unix socket
    name) is hashed, so the key stays short.
    """
    ip = parse_ip(address)
    if ip is None:
        return "addr:h:" + hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()
    if ip.version == 6 and ipv6_prefix < 128:
        return f"addr:{ipaddress.IPv6Network((ip, ipv6_prefix), strict=False)}"
    return f"addr:{ip}"
