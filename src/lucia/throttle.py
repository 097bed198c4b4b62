"""Sign-in throttling: failures counted per account and per client address.

    throttle = SignInThrottle()                      # per process; RedisThrottleStore for several
    with throttle.attempt(account, address):         # RateLimitedError before any hashing
        user = auth.authenticate("email", account, password)

    async with throttle.aattempt(account, address):  # the same, for asyncio code
        user = await auth.authenticate("email", account, password)

``attempt`` reserves before the password is checked. The account's counter
counts every attempt, in flight or failed: counting and checking are one
atomic step, so attempts at the same moment cannot all slip under its limit
(with a limit of k, at most k are in flight or failed in a window and the next
is refused). The address's counter counts failures only, so a burst of right
passwords from one address (an office or mobile NAT) is never refused; an
attempt is also counted as in flight there, and when the address's failures
plus its attempts in flight would pass its limit, the attempt waits for those
verdicts (``max_wait``, 10 s by default) instead of being refused for them. So
the address's limit is race-free too: at most k attempts from it are in flight
or failed at once. A wrong password (``InvalidCredentialsError`` leaving the
block) is the recorded failure: the account keeps its count and the address
counts a failure. Anything else (a success, a store error, any other
exception) gives the counts back. ``reserve`` with ``release`` / ``fail`` are
the same steps for code that cannot use a ``with`` block.

Each counter is a fixed window: the first count starts it, ``Limit.window``
later it is gone. While a counter holds ``Limit.failures`` counts, attempts
raise ``RateLimitedError`` with ``retry_after``, the whole seconds until that
window ends. A successful sign-in resets nothing (allauth 65.8.1): it only
gives back its own reservation, so an attacker who owns one account cannot
clear the count of the address they guess others' passwords from. Defaults:
10 attempts per account and 100 failures per address, each in 15 minutes.
``count_sign_up`` counts every sign-up attempt per address (20 an hour).

``check`` (peek) and ``record_failure`` (count) are the older two-step API,
kept for compatibility: they are not race-free, since every concurrent attempt
passes ``check`` before any failure is recorded. Use ``attempt``.

The account (what the user typed, normalised by the caller) is hashed with
SHA-256 before it becomes a key, so no email address is ever a store key.
Addresses are keyed as normalised IP text; an IPv6 client counts by its /64
network by default (``ipv6_prefix``), because one host commonly owns a whole
/64 and could otherwise step around the limit.

``client_address`` picks the address to count from the peer and
``X-Forwarded-For``, which it honours only when the peer is a trusted proxy.

Stores: ``MemoryThrottleStore`` (one process, thread-safe, bounded memory; it
never forgets a live counter and refuses new keys when full) and
``RedisThrottleStore`` (shared by every process; sync or asyncio client). A
store failure is a ``DatabaseError``; integrations answer it with 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

from lucia._calls import Operation, adrive, call, drive
from lucia.emails import normalize_email
from lucia.errors import DatabaseError, InvalidCredentialsError, LuciaError
from lucia.sessions import utc_now

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = [
    "Count",
    "Limit",
    "MemoryThrottleStore",
    "RateLimitedError",
    "RedisThrottleStore",
    "Reservation",
    "SignInThrottle",
    "ThrottleStore",
    "account_key",
    "address_key",
    "client_address",
    "sign_in_account",
]

logger = logging.getLogger("lucia.throttle")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimitedError(LuciaError):
    """Too many failed sign-ins: wait ``retry_after`` seconds (send it as ``Retry-After``).

    Neither the message nor ``repr()`` names the account or the address.
    """

    code = "AUTH_RATE_LIMITED"
    default_message = "too many failed sign-in attempts; try again later"
    status: ClassVar[int] = 429

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


class MemoryThrottleStore:
    """Counters in this process's memory: thread-safe, at most ``max_entries`` of them.

    A live counter is never evicted: forgetting one would let a flood of
    made-up keys reset a victim's count. When the store holds ``max_entries``
    live counters it fails closed for new keys: ``hit`` on a key it does not
    hold raises ``RateLimitedError`` (``FULL_RETRY_AFTER`` seconds), while the
    counters it holds keep counting, and refusing. Memory is bounded by
    ``max_entries``: about 330 bytes a counter on CPython, so about 33 MB at the
    default. Expired counters are swept incrementally: each new counter examines
    at most ``SWEEP_STEP`` stored ones (``FULL_SWEEP_STEP`` when the store is
    full), never the whole store under the lock, so no call stalls the event
    loop however many counters there are.
    Several processes (gunicorn workers, several hosts) each count on their own:
    use ``RedisThrottleStore`` there.
    """

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
        self._lock = threading.Lock()
        self._examined = 0  # counters the sweeps have looked at, in all (for tests)
        self._full = False

    def __len__(self) -> int:
        return len(self._counters)

    def __repr__(self) -> str:
        return f"MemoryThrottleStore(max_entries={self.max_entries}, size={len(self)})"

    def hit(self, key: str, window: timedelta, now: datetime | None = None) -> Count:
        """Count one; a new window of ``window`` starts when none is running.

        ``RateLimitedError`` when the key needs a new counter and the store is
        full of live ones.
        """
        now = self.clock() if now is None else now
        with self._lock:
            counter = self._counters.get(key)
            if counter is not None and counter[1] > now:
                counter[0] += 1
                return Count(counter[0], counter[1])
            if counter is not None:
                del self._counters[key]  # its window ended: a new one starts at the back
            full = len(self._counters) >= self.max_entries
            self._sweep(now, self.FULL_SWEEP_STEP if full else self.SWEEP_STEP)
            if len(self._counters) >= self.max_entries:
                self._refuse_new()
            if len(self._counters) < self.max_entries - self.max_entries // 10:
                self._full = False  # room again: the next filling is logged anew
            counter = [1, now + window]
            self._counters[key] = counter
            return Count(1, counter[1])

    def peek(self, key: str, now: datetime | None = None) -> Count:
        """The current count, 0 when the window has ended or never started."""
        now = self.clock() if now is None else now
        with self._lock:
            counter = self._counters.get(key)
            if counter is None or counter[1] <= now:
                return Count(0, now)
            return Count(counter[0], counter[1])

    def unhit(self, key: str, now: datetime | None = None) -> Count:
        """Take one back: never below zero, never a new counter or a longer window.

        A counter that reaches zero is removed (a given-back count never started
        anything); an ended window is left to expire as it is.
        """
        now = self.clock() if now is None else now
        with self._lock:
            counter = self._counters.get(key)
            if counter is None or counter[1] <= now:
                return Count(0, now)
            counter[0] -= 1
            if counter[0] <= 0:
                del self._counters[key]
                return Count(0, now)
            return Count(counter[0], counter[1])

    # Never blocks (a lock held for a bounded amount of work), so the event loop can call it.
    async def ahit(self, key: str, window: timedelta, now: datetime | None = None) -> Count:
        """``hit``, for async code."""
        return self.hit(key, window, now)

    async def apeek(self, key: str, now: datetime | None = None) -> Count:
        """``peek``, for async code."""
        return self.peek(key, now)

    async def aunhit(self, key: str, now: datetime | None = None) -> Count:
        """``unhit``, for async code."""
        return self.unhit(key, now)

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


def _count(reply: Any, now: datetime) -> Count:
    try:
        raw_count, ttl = reply
        value = raw_count.decode() if isinstance(raw_count, bytes) else raw_count
        count = int(value)
        ttl = int(ttl)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise DatabaseError("a throttle counter in Redis is malformed") from None
    # A key that vanished between the two reads, or one without TTL: retry soon.
    return Count(count, now + timedelta(milliseconds=max(ttl, 0)))


class RedisThrottleStore:
    """Counters in Redis, shared by every process: ``INCR`` and ``PEXPIRE`` in one script.

    ``client`` is a ``redis.Redis`` / ``redis.cluster.RedisCluster`` (use the
    sync methods, ``SignInThrottle.attempt``) or a ``redis.asyncio.Redis`` /
    ``redis.asyncio.cluster.RedisCluster`` (the async ones, ``aattempt``). Each
    of ``hit``, ``peek`` and ``unhit`` is one single-key Lua script. The
    store never closes it. Keys: ``{prefix}acct:{sha256 hex}`` and
    ``{prefix}addr:{address}``, each expiring with its window by Redis's clock.
    Any redis-py error becomes ``DatabaseError``.
    """

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

    def hit(self, key: str, window: timedelta, now: datetime | None = None) -> Count:
        """Count one in Redis; a new window of ``window`` starts when none is running."""
        import redis

        self._require(False)
        now = utc_now() if now is None else now
        try:
            reply = self._hit(keys=[self.prefix + key], args=[_millis(window)])
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return _count(reply, now)

    def peek(self, key: str, now: datetime | None = None) -> Count:
        """The current count in Redis, 0 when the window has ended or never started."""
        import redis

        self._require(False)
        now = utc_now() if now is None else now
        try:
            reply = self._peek(keys=[self.prefix + key])
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return _count(reply, now)

    def unhit(self, key: str, now: datetime | None = None) -> Count:
        """Take one back in Redis: never below zero, never a new key or a longer TTL."""
        import redis

        self._require(False)
        now = utc_now() if now is None else now
        try:
            reply = self._unhit(keys=[self.prefix + key])
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return _count(reply, now)

    async def ahit(self, key: str, window: timedelta, now: datetime | None = None) -> Count:
        """``hit`` on an asyncio client."""
        import redis

        self._require(True)
        now = utc_now() if now is None else now
        try:
            reply = await self._hit(keys=[self.prefix + key], args=[_millis(window)])
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return _count(reply, now)

    async def apeek(self, key: str, now: datetime | None = None) -> Count:
        """``peek`` on an asyncio client."""
        import redis

        self._require(True)
        now = utc_now() if now is None else now
        try:
            reply = await self._peek(keys=[self.prefix + key])
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return _count(reply, now)

    async def aunhit(self, key: str, now: datetime | None = None) -> Count:
        """``unhit`` on an asyncio client."""
        import redis

        self._require(True)
        now = utc_now() if now is None else now
        try:
            reply = await self._unhit(keys=[self.prefix + key])
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return _count(reply, now)


def _millis(window: timedelta) -> int:
    return max(1, window // timedelta(milliseconds=1))


def _retry_after(reset_at: datetime, now: datetime) -> int:
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


class _Pause:
    """The wait between two tries of an address held by attempts in flight (a ``call`` target)."""

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)

    @staticmethod
    async def asleep(seconds: float) -> None:
        await asyncio.sleep(seconds)


_FIRST_PAUSE = 0.005  # seconds; doubled up to _LONGEST_PAUSE while an address is busy
_LONGEST_PAUSE = 0.1


class SignInThrottle:
    """Counts sign-in attempts per account and failures per address; refuses past the limits.

    ``attempt`` / ``aattempt`` (or ``reserve`` with ``release`` / ``fail``) is
    the race-free way to use it; ``check`` and ``record_failure`` are the
    older, racy pair. ``store`` defaults to a ``MemoryThrottleStore`` on
    ``clock``. ``ipv6_prefix`` is the IPv6 network size counted as one address
    (128: each address alone). ``max_wait`` bounds how long an attempt waits
    for an address's attempts in flight (see ``reserve``). ``per_address_sign_ups``
    is the limit of ``count_sign_up``: every sign-up attempt from one address.
    """

    def __init__(
        self,
        store: ThrottleStore | None = None,
        *,
        per_account: Limit = Limit(10, timedelta(minutes=15)),
        per_address: Limit = Limit(100, timedelta(minutes=15)),
        per_address_sign_ups: Limit = Limit(20, timedelta(hours=1)),
        clock: Callable[[], datetime] = utc_now,
        ipv6_prefix: int = 64,
        max_wait: timedelta = timedelta(seconds=10),
    ) -> None:
        if not 1 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be between 1 and 128")
        if not isinstance(max_wait, timedelta) or max_wait < timedelta(0):
            raise ValueError("max_wait must be a timedelta of at least 0")
        self.store: ThrottleStore = store if store is not None else MemoryThrottleStore(clock=clock)
        self.per_account = per_account
        self.per_address = per_address
        self.per_address_sign_ups = per_address_sign_ups
        self.clock = clock
        self.ipv6_prefix = ipv6_prefix
        self.max_wait = max_wait

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
            _retry_after(c.reset_at, now) for c, limit in found if c.hits - own >= limit.failures
        ]
        if waits:
            raise RateLimitedError(max(waits))

    # -- the reservation: race-free --------------------------------------------------------

    def reserve(self, account: str, address: str | None) -> Reservation:
        """Count this attempt before its password is checked; refuse it past a limit.

        The account's counter counts the attempt (in flight or failed): when it
        was already full, ``RateLimitedError``, as ``check`` would. The address's
        counter counts failures only, so a burst of right passwords from one
        address (an office behind one NAT) is never refused; the attempt is
        counted as in flight there, and when the address's failures plus its
        attempts in flight reach its limit, it waits (up to ``max_wait``) for
        those attempts' verdicts rather than be refused for them: admitted only
        while failures and attempts in flight stay within the limit, refused
        (``RateLimitedError``) once the failures alone fill it, or when
        ``max_wait`` passes first. Each count is one atomic store operation, so
        concurrent attempts cannot all slip under a limit. A store failure is a
        ``DatabaseError``, after the counts already made are taken back (best effort).

        Settle the reservation with ``release`` (a right password, or no verdict)
        or ``fail`` (a wrong password); one never settled keeps the account's
        count and stays in flight for the address until the windows end.
        """
        made: list[tuple[str, datetime]] = []
        try:
            return drive(self._reserve(account, address, made), None)
        except BaseException:
            # Refused or broken: leave the counters as they were before.
            drive(self._give_back(tuple(made)), None)
            raise

    async def areserve(self, account: str, address: str | None) -> Reservation:
        """``reserve`` for async code (never blocks the event loop)."""
        made: list[tuple[str, datetime]] = []
        try:
            return await adrive(self._reserve(account, address, made), None)
        except BaseException:
            # Also on cancellation: the counts made so far are given back.
            await adrive(self._give_back(tuple(made)), None)
            raise

    def _reserve(
        self, account: str, address: str | None, made: list[tuple[str, datetime]]
    ) -> Operation[Reservation]:
        # ``made`` holds the counts taken so far; the caller gives them back on
        # any exception, so this flow only counts and refuses.
        now = self.clock()
        acct = account_key(account)
        count: Count = yield call(self.store, "hit", acct, self.per_account.window, now)
        made.append((acct, count.reset_at))
        if address is None:
            self._verdict([(count, self.per_account)], now, own=1)
            return Reservation(made)
        failures_key = address_key(address, self.ipv6_prefix)
        busy_key = _address_counter("busy:", address, self.ipv6_prefix)
        limit = self.per_address
        if count.hits - 1 >= self.per_account.failures:
            # Refused for the account; the address only decides how long to wait.
            failed: Count = yield call(self.store, "peek", failures_key, now)
            waits = [_retry_after(count.reset_at, now)]
            if failed.hits >= limit.failures:
                waits.append(_retry_after(failed.reset_at, now))
            raise RateLimitedError(max(waits))
        deadline = time.monotonic() + self.max_wait.total_seconds()
        pause = _FIRST_PAUSE
        while True:
            # In flight first, failures second: a failure is counted before its
            # attempt leaves the in-flight count (``fail``), so every earlier
            # attempt that is in flight or failed is in one of the two numbers read.
            busy: Count = yield call(self.store, "hit", busy_key, limit.window, now)
            made.append((busy_key, busy.reset_at))
            failed = yield call(self.store, "peek", failures_key, now)
            self._verdict([(failed, limit)], now)
            if failed.hits + busy.hits <= limit.failures:
                return Reservation(made, (failures_key, limit.window, busy_key, busy.reset_at))
            # Full only with attempts still in flight, which may well be right
            # passwords: wait for their verdicts instead of refusing this one.
            yield call(self.store, "unhit", busy_key, now)
            made.pop()
            if time.monotonic() >= deadline:
                raise RateLimitedError(1)
            yield call(_Pause, "sleep", pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
            now = self.clock()

    def release(self, reservation: Reservation) -> bool:
        """Give back ``reservation``'s counts (a right password, or no verdict on it).

        Gives back at most once, and only counts whose windows still run. Never
        raises for the store: a count that cannot be given back stays counted
        (the safe side), is logged, and the answer is False; True when
        everything held was given back.
        """
        held, _ = reservation._take()
        return drive(self._give_back(held), None) if held else True

    async def arelease(self, reservation: Reservation) -> bool:
        """``release`` for async code."""
        held, _ = reservation._take()
        return await adrive(self._give_back(held), None) if held else True

    def fail(self, reservation: Reservation) -> bool:
        """Settle ``reservation`` as a wrong password: the recorded failure.

        The account keeps its count; the address counts one failure and the
        attempt leaves its in-flight count. Never raises for the store: what
        cannot be recorded is logged and the answer is False.
        """
        held, failure = reservation._take()
        return drive(self._fail(failure), None) if held else True

    async def afail(self, reservation: Reservation) -> bool:
        """``fail`` for async code."""
        held, failure = reservation._take()
        return await adrive(self._fail(failure), None) if held else True

    def _fail(self, failure: tuple[Any, ...] | None) -> Operation[bool]:
        if failure is None:
            return True  # no address: the account's count is the whole failure
        failures_key, window, busy_key, busy_reset_at = failure
        now = self.clock()
        done = True
        try:
            # Counted before the in-flight count goes (see _reserve).
            yield call(self.store, "hit", failures_key, window, now)
        except LuciaError as exc:
            done = _not_given_back(exc)
        return (yield from self._give_back(((busy_key, busy_reset_at),))) and done

    def _give_back(self, held: tuple[tuple[str, datetime], ...]) -> Operation[bool]:
        now = self.clock()
        done = True
        for key, reset_at in held:
            if reset_at <= now:
                continue  # that window is over: the counter under this key is not ours
            try:
                yield call(self.store, "unhit", key, now)
            except DatabaseError as exc:
                done = _not_given_back(exc)
        return done

    @contextlib.contextmanager
    def attempt(self, account: str, address: str | None) -> Iterator[Reservation]:
        """Run a password check as one throttled attempt: the way to use the throttle.

            with throttle.attempt(account, address):
                user = auth.authenticate("email", account, password)

        ``reserve`` on entry (``RateLimitedError`` before the block runs). On exit
        ``InvalidCredentialsError`` leaving the block (a wrong password or an
        unknown account) is a failure (``fail``); a normal exit or any other
        exception gives the counts back (``release``), and the exception goes on
        as it was.
        """
        reservation = self.reserve(account, address)
        try:
            yield reservation
        except InvalidCredentialsError:
            self.fail(reservation)
            raise
        except BaseException:
            self.release(reservation)
            raise
        self.release(reservation)

    @contextlib.asynccontextmanager
    async def aattempt(self, account: str, address: str | None) -> AsyncIterator[Reservation]:
        """``attempt`` for async code: ``async with throttle.aattempt(account, address):``."""
        reservation = await self.areserve(account, address)
        try:
            yield reservation
        except InvalidCredentialsError:
            await self.afail(reservation)
            raise
        except BaseException:
            # Also on cancellation: the task's cancel was delivered, so this await runs.
            await self.arelease(reservation)
            raise
        await self.arelease(reservation)

    # -- sign-ups ---------------------------------------------------------------------------

    def count_sign_up(self, address: str | None) -> None:
        """Count one sign-up attempt from ``address``; ``RateLimitedError`` past the limit.

        Every attempt counts (a success creates an account, a failure may tell
        whether an address is taken, and each costs a password hash), up to
        ``per_address_sign_ups`` in its window; a refused attempt takes its own
        count back. ``address`` None counts nothing.
        """
        drive(self._count_sign_up(address), None)

    async def acount_sign_up(self, address: str | None) -> None:
        """``count_sign_up`` for async code."""
        await adrive(self._count_sign_up(address), None)

    def _count_sign_up(self, address: str | None) -> Operation[None]:
        if address is None:
            return
        now = self.clock()
        key = _address_counter("signup:", address, self.ipv6_prefix)
        limit = self.per_address_sign_ups
        count: Count = yield call(self.store, "hit", key, limit.window, now)
        if count.hits > limit.failures:
            yield call(self.store, "unhit", key, now)
            raise RateLimitedError(_retry_after(count.reset_at, now))

    # -- check, then record: kept for compatibility, not race-free ------------------------

    def check(self, account: str, address: str | None) -> None:
        """Raise ``RateLimitedError`` when the account's or the address's counter is full.

        Not race-free: attempts running at the same moment all pass ``check``
        before any of them calls ``record_failure``. Use ``attempt``.
        """
        now = self.clock()
        found = [
            (self.store.peek(key, now), limit) for key, limit in self._counters(account, address)
        ]
        self._verdict(found, now)

    def record_failure(self, account: str, address: str | None) -> None:
        """Count one failed sign-in for the account and (unless None) the address.

        The second half of the ``check`` pair (not race-free); never after ``reserve``,
        whose kept reservation is already the failure's count.
        """
        now = self.clock()
        for key, limit in self._counters(account, address):
            self.store.hit(key, limit.window, now)

    async def acheck(self, account: str, address: str | None) -> None:
        """``check`` for async code (never blocks the event loop); not race-free."""
        now = self.clock()
        found = [
            (await self.store.apeek(key, now), limit)
            for key, limit in self._counters(account, address)
        ]
        self._verdict(found, now)

    async def arecord_failure(self, account: str, address: str | None) -> None:
        """``record_failure`` for async code; not race-free."""
        now = self.clock()
        for key, limit in self._counters(account, address):
            await self.store.ahit(key, limit.window, now)


def _not_given_back(exc: LuciaError) -> bool:
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


def _address_counter(kind: str, address: str, ipv6_prefix: int) -> str:
    """Another counter of the same address: ``kind`` instead of ``addr:``."""
    return kind + address_key(address, ipv6_prefix).removeprefix("addr:")


def address_key(address: str, ipv6_prefix: int = 64) -> str:
    """The store key of a client address: ``addr:`` and its normalised IP text.

    An IPv6 address counts by its ``/ipv6_prefix`` network; an IPv4-mapped IPv6
    address as the IPv4 address. Text that is no IP address (a Unix socket
    name) is hashed, so the key stays short.
    """
    ip = _parse_ip(address)
    if ip is None:
        return "addr:h:" + hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()
    if ip.version == 6 and ipv6_prefix < 128:
        return f"addr:{ipaddress.IPv6Network((ip, ipv6_prefix), strict=False)}"
    return f"addr:{ip}"


def _parse_ip(text: str) -> IPAddress | None:
    """An IP address (IPv4-mapped IPv6 as IPv4, no scope id), or None when ``text`` is none."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.scope_id is not None:  # "%eth0" names a local interface: no part of the address
            return ipaddress.IPv6Address(int(ip))
    return ip


def _parse_hop(entry: str) -> IPAddress | None:
    """One ``X-Forwarded-For`` entry: an IP, ``[IPv6]:port`` or ``IPv4:port``; else None."""
    entry = entry.strip()
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
        return _parse_ip(host)
    if entry.count(":") == 1:  # IPv4 with a port (some proxies add it)
        host, _, port = entry.partition(":")
        return _parse_ip(host) if port.isdigit() and "." in host else None
    return _parse_ip(entry)


def _networks(trusted_proxies: Iterable[str | IPNetwork] | str) -> list[IPNetwork]:
    if isinstance(trusted_proxies, str):  # one entry, not its characters
        trusted_proxies = [trusted_proxies]
    networks: list[IPNetwork] = []
    for entry in trusted_proxies:
        if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(entry)
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip()))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {entry!r}") from None
    return networks


def _trusted(ip: IPAddress, networks: list[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(
    peer: str | None,
    forwarded_for: str | None,
    trusted_proxies: Iterable[str | IPNetwork] = (),
) -> str | None:
    """The address to count a request under.

    ``peer`` is the TCP peer (``request.client.host``); ``forwarded_for`` the
    ``X-Forwarded-For`` header (several headers joined with ``","``);
    ``trusted_proxies`` IPs or CIDR networks (``"10.0.0.0/8"``) of your own proxies.
    Without trusted proxies, or when the peer is not one of them, the header is
    ignored (anyone can send it) and the peer is the answer. Behind a trusted
    proxy the header is read from the right, skipping trusted proxies, and the
    first untrusted address is the answer. A malformed entry ends the walk at the
    last trusted hop, whose address is then the answer: garbage is never trusted.
    IP addresses come back normalised (IPv4-mapped IPv6 as IPv4); a peer that is
    no IP address comes back as it is. ValueError for an invalid trusted entry.
    """
    networks = _networks(trusted_proxies)
    if peer is None:
        return None
    current = _parse_ip(peer)
    if current is None:
        return peer
    if not networks or not _trusted(current, networks) or not forwarded_for:
        return str(current)
    for entry in reversed(forwarded_for.split(",")):
        hop = _parse_hop(entry)
        if hop is None:
            break
        current = hop
        if not _trusted(hop, networks):
            break
    return str(current)
