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
verdicts (``max_wait``, 3 s by default) instead of being refused for them. So
the address's limit is race-free too: at most k attempts from it are in flight
or failed at once. A waiting attempt holds its caller (a worker thread, in a
sync server), so at most ``max_waiting`` attempts of one address wait at once
(100 by default, counted in the store); the next is refused at once with
``retry_after`` 1. A wrong password (``InvalidCredentialsError`` leaving the
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

``client_address`` (from ``lucia.addresses``) picks the address to count from
the peer and ``X-Forwarded-For``, which it honours only when the peer is a
trusted proxy.

Stores: ``MemoryThrottleStore`` (one process, thread-safe, bounded memory; it
never forgets a live counter and refuses new keys when full) and
``RedisThrottleStore`` (shared by every process; sync or asyncio client). A
store failure is a ``DatabaseError``; integrations answer it with 503.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from lucia._async.throttle import AsyncMemoryCounters, AsyncRedisCounters, AsyncThrottleSteps
from lucia._sync.throttle import MemoryCounters, RedisCounters, ThrottleSteps
from lucia._throttle_base import (
    Count,
    Limit,
    RateLimitedError,
    Reservation,
    ThrottleStore,
    account_key,
    address_key,
    sign_in_account,
)
from lucia.addresses import client_address
from lucia.sessions import utc_now

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

# The defaults of SignInThrottle (the module docstring's figures).
_PER_ACCOUNT = Limit(10, timedelta(minutes=15))
_PER_ADDRESS = Limit(100, timedelta(minutes=15))
_PER_ADDRESS_SIGN_UPS = Limit(20, timedelta(hours=1))
# A wait is for the verdicts of an address's attempts in flight: a password hash
# and a few store calls each, so 3 s leaves room for a queue of them, while an
# attempt stuck longer is most often one that will never end (its process was
# killed), and waiting on only holds the caller.
_MAX_WAIT = timedelta(seconds=3)
# Waiting attempts of one address at once: as many as the default address limit,
# so a burst of right passwords that large beyond the free places still waits.
_MAX_WAITING = 100


class MemoryThrottleStore(MemoryCounters, AsyncMemoryCounters):
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


class RedisThrottleStore(RedisCounters, AsyncRedisCounters):
    """Counters in Redis, shared by every process: ``INCR`` and ``PEXPIRE`` in one script.

    ``client`` is a ``redis.Redis`` / ``redis.cluster.RedisCluster`` (use the
    sync methods, ``SignInThrottle.attempt``) or a ``redis.asyncio.Redis`` /
    ``redis.asyncio.cluster.RedisCluster`` (the async ones, ``aattempt``). Each
    of ``hit``, ``peek`` and ``unhit`` is one single-key Lua script. The
    store never closes it. Keys: ``{prefix}acct:{sha256 hex}`` and
    ``{prefix}addr:{address}``, each expiring with its window by Redis's clock.
    Any redis-py error becomes ``DatabaseError``.
    """


class SignInThrottle(ThrottleSteps, AsyncThrottleSteps):
    """Counts sign-in attempts per account and failures per address; refuses past the limits.

    ``attempt`` / ``aattempt`` (or ``reserve`` with ``release`` / ``fail``) is
    the race-free way to use it; ``check`` and ``record_failure`` are the
    older, racy pair. ``store`` defaults to a ``MemoryThrottleStore`` on
    ``clock``. ``ipv6_prefix`` is the IPv6 network size counted as one address
    (128: each address alone). ``max_wait`` bounds how long an attempt waits
    for an address's attempts in flight, and ``max_waiting`` how many attempts
    of one address may wait at once (see ``reserve``): one address holds at
    most ``per_address.failures`` callers in their password checks and
    ``max_waiting`` waiting, each for at most ``max_wait`` and one more round
    of store calls. 0 never waits. ``per_address_sign_ups`` is the limit of
    ``count_sign_up``: every sign-up attempt from one address.
    """

    def __init__(
        self,
        store: ThrottleStore | None = None,
        *,
        per_account: Limit = _PER_ACCOUNT,
        per_address: Limit = _PER_ADDRESS,
        per_address_sign_ups: Limit = _PER_ADDRESS_SIGN_UPS,
        clock: Callable[[], datetime] = utc_now,
        ipv6_prefix: int = 64,
        max_wait: timedelta = _MAX_WAIT,
        max_waiting: int = _MAX_WAITING,
    ) -> None:
        if not 1 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be between 1 and 128")
        if not isinstance(max_wait, timedelta) or max_wait < timedelta(0):
            raise ValueError("max_wait must be a timedelta of at least 0")
        if isinstance(max_waiting, bool) or not isinstance(max_waiting, int) or max_waiting < 0:
            raise ValueError("max_waiting must be an int of at least 0")
        self.store = store if store is not None else MemoryThrottleStore(clock=clock)
        self.per_account = per_account
        self.per_address = per_address
        self.per_address_sign_ups = per_address_sign_ups
        self.clock = clock
        self.ipv6_prefix = ipv6_prefix
        self.max_wait = max_wait
        self.max_waiting = max_waiting
