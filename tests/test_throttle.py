"""Sign-in throttling (SECURITY.md item 21): limits, windows, addresses, stores.

The limits and windows run on an injected clock with the memory store; the
Redis store runs against the real server (sync and asyncio clients), where
windows expire by Redis's own clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from lucia.errors import DatabaseError, InvalidCredentialsError, LuciaError
from lucia.throttle import (
    Count,
    Limit,
    MemoryThrottleStore,
    RateLimitedError,
    RedisThrottleStore,
    Reservation,
    SignInThrottle,
    ThrottleStore,
    account_key,
    address_key,
    client_address,
    sign_in_account,
)
from tests.conftest import Clock

EMAIL = "ada@example.com"
IP = "203.0.113.7"
WINDOW = timedelta(minutes=15)


async def check(throttle: SignInThrottle, flavour: str, account: str, address: str | None) -> None:
    if flavour == "async":
        await throttle.acheck(account, address)
    else:
        throttle.check(account, address)


async def fail(throttle: SignInThrottle, flavour: str, account: str, address: str | None) -> None:
    if flavour == "async":
        await throttle.arecord_failure(account, address)
    else:
        throttle.record_failure(account, address)


async def store_hit(store: RedisThrottleStore, flavour: str, key: str, window: timedelta) -> Count:
    return await store.ahit(key, window) if flavour == "async" else store.hit(key, window)


async def store_peek(store: RedisThrottleStore, flavour: str, key: str) -> Count:
    return await store.apeek(key) if flavour == "async" else store.peek(key)


async def blocked(
    throttle: SignInThrottle, flavour: str, account: str, address: str | None
) -> RateLimitedError | None:
    """The RateLimitedError ``check`` raises, or None when it lets the attempt through."""
    try:
        await check(throttle, flavour, account, address)
    except RateLimitedError as exc:
        return exc
    return None


async def wrong_guess(
    throttle: SignInThrottle, flavour: str, account: str, address: str | None
) -> None:
    """One attempt that ends in a wrong password (``InvalidCredentialsError``)."""
    if flavour == "async":
        async with throttle.aattempt(account, address):
            raise InvalidCredentialsError()
    with throttle.attempt(account, address):
        raise InvalidCredentialsError()


async def refused(throttle: SignInThrottle, flavour: str, account: str, address: str) -> bool:
    """Whether a new attempt is refused (an admitted one is given back)."""
    try:
        if flavour == "async":
            async with throttle.aattempt(account, address):
                pass
        else:
            with throttle.attempt(account, address):
                pass
    except RateLimitedError:
        return True
    return False


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _throttle(clock: Clock, account: int = 3, address: int = 5) -> SignInThrottle:
    return SignInThrottle(
        per_account=Limit(account, WINDOW), per_address=Limit(address, WINDOW), clock=clock
    )


# -- limits and windows (memory store, injected clock) ------------------------------------


async def test_sec21_per_account_limit_blocks_next_attempt(clock: Clock, flavour: str) -> None:
    throttle = _throttle(clock, account=3, address=100)
    for n in range(3):
        assert await blocked(throttle, flavour, EMAIL, f"198.51.100.{n}") is None
        await fail(throttle, flavour, EMAIL, f"198.51.100.{n}")  # a new address each time
        clock.advance(seconds=100)
    # The 4th attempt is refused from any address, until 15 min after the first failure.
    exc = await blocked(throttle, flavour, EMAIL, "198.51.100.99")
    assert exc is not None
    assert exc.retry_after == 900 - 300
    assert exc.status == 429
    assert exc.code == "AUTH_RATE_LIMITED"
    assert await blocked(throttle, flavour, EMAIL, None) is not None
    # Other accounts from those addresses are not affected.
    assert await blocked(throttle, flavour, "grace@example.com", "198.51.100.0") is None


async def test_sec21_per_address_limit_blocks_next_attempt(clock: Clock, flavour: str) -> None:
    throttle = _throttle(clock, account=100, address=5)
    for n in range(5):
        assert await blocked(throttle, flavour, f"user{n}@example.com", IP) is None
        await fail(throttle, flavour, f"user{n}@example.com", IP)
    clock.advance(seconds=60.5)
    exc = await blocked(throttle, flavour, "someone-new@example.com", IP)
    assert exc is not None
    assert exc.retry_after == 840  # 839.5 s left, rounded up
    # Another address is free to try the same accounts.
    assert await blocked(throttle, flavour, "user0@example.com", "203.0.113.8") is None


async def test_sec21_below_the_limit_passes(clock: Clock, flavour: str) -> None:
    throttle = _throttle(clock, account=3)
    for _ in range(2):
        await fail(throttle, flavour, EMAIL, IP)
    assert await blocked(throttle, flavour, EMAIL, IP) is None


async def test_sec21_window_expires(clock: Clock, flavour: str) -> None:
    throttle = _throttle(clock, account=2, address=2)
    await fail(throttle, flavour, EMAIL, IP)
    clock.advance(minutes=5)
    await fail(throttle, flavour, EMAIL, IP)
    clock.advance(minutes=10, seconds=-1)
    exc = await blocked(throttle, flavour, EMAIL, IP)
    assert exc is not None
    assert exc.retry_after == 1
    clock.advance(seconds=1)  # exactly 15 min after the first failure: the window is over
    assert await blocked(throttle, flavour, EMAIL, IP) is None
    # A fixed window: the next failure starts a new one, counting from 1 again.
    await fail(throttle, flavour, EMAIL, IP)
    assert await blocked(throttle, flavour, EMAIL, IP) is None
    await fail(throttle, flavour, EMAIL, IP)
    assert await blocked(throttle, flavour, EMAIL, IP) is not None


async def test_sec21_success_does_not_reset_the_count(clock: Clock, flavour: str) -> None:
    """A successful sign-in in the middle (it calls check, not record_failure) clears nothing."""
    throttle = _throttle(clock, account=3, address=3)
    await fail(throttle, flavour, EMAIL, IP)
    await fail(throttle, flavour, EMAIL, IP)
    # The attacker signs in to an account of their own from the same address.
    assert await blocked(throttle, flavour, "mallory@example.com", IP) is None
    # ... and the legitimate owner signs in successfully too.
    assert await blocked(throttle, flavour, EMAIL, "192.0.2.1") is None
    await fail(throttle, flavour, EMAIL, IP)
    assert await blocked(throttle, flavour, EMAIL, IP) is not None
    assert await blocked(throttle, flavour, "other@example.com", IP) is not None


async def test_sec21_retry_after_is_the_longer_wait(clock: Clock, flavour: str) -> None:
    throttle = SignInThrottle(
        per_account=Limit(1, timedelta(minutes=1)),
        per_address=Limit(1, timedelta(hours=1)),
        clock=clock,
    )
    await fail(throttle, flavour, EMAIL, IP)
    exc = await blocked(throttle, flavour, EMAIL, IP)
    assert exc is not None
    assert exc.retry_after == 3600
    exc = await blocked(throttle, flavour, EMAIL, None)
    assert exc is not None
    assert exc.retry_after == 60


async def test_address_none_counts_the_account_only(clock: Clock, flavour: str) -> None:
    store = MemoryThrottleStore(clock=clock)
    throttle = SignInThrottle(store, per_account=Limit(2, WINDOW), clock=clock)
    await fail(throttle, flavour, EMAIL, None)
    assert len(store) == 1
    assert store.peek(account_key(EMAIL)).hits == 1


async def test_sec21_ipv6_counts_by_64_network(clock: Clock, flavour: str) -> None:
    throttle = _throttle(clock, account=100, address=2)
    await fail(throttle, flavour, "a@example.com", "2001:db8:1:2::1")
    await fail(throttle, flavour, "b@example.com", "2001:db8:1:2:ffff:ffff:ffff:fffe")
    # Same /64 (written differently): blocked. Another /64: free.
    assert await blocked(throttle, flavour, "c@example.com", "2001:DB8:1:2:0::77") is not None
    assert await blocked(throttle, flavour, "c@example.com", "2001:db8:1:3::1") is None
    exact = SignInThrottle(per_address=Limit(1, WINDOW), clock=clock, ipv6_prefix=128)
    await fail(exact, flavour, "a@example.com", "2001:db8::1")
    assert await blocked(exact, flavour, "b@example.com", "2001:db8::2") is None
    assert await blocked(exact, flavour, "b@example.com", "2001:db8:0::1") is not None


async def test_sec21_ipv4_mapped_address_is_the_ipv4_address(clock: Clock, flavour: str) -> None:
    throttle = _throttle(clock, account=100, address=1)
    await fail(throttle, flavour, "a@example.com", "::ffff:203.0.113.7")
    assert await blocked(throttle, flavour, "b@example.com", IP) is not None


def test_keys() -> None:
    assert account_key(EMAIL) == "acct:" + hashlib.sha256(EMAIL.encode()).hexdigest()
    assert account_key("ADA@example.com") != account_key(EMAIL)  # normalising is the caller's
    assert address_key(IP) == f"addr:{IP}"
    assert address_key("2001:db8:1:2:3:4:5:6") == "addr:2001:db8:1:2::/64"
    assert address_key("2001:db8:1:2:3:4:5:6", 128) == "addr:2001:db8:1:2:3:4:5:6"
    assert address_key("::ffff:10.1.2.3") == "addr:10.1.2.3"
    # Not an IP (a Unix socket, a test client): hashed, never stored as typed.
    assert address_key("testclient").startswith("addr:h:")
    assert "testclient" not in address_key("testclient")


def test_sec21_account_is_hashed_in_memory(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    throttle = SignInThrottle(store, clock=clock)
    throttle.record_failure(EMAIL, IP)
    keys = list(store._counters)
    assert keys == [account_key(EMAIL), f"addr:{IP}"]
    assert not any("ada" in key or "example" in key for key in keys)


def test_sec21_sign_in_account_gives_one_counter_per_address(clock: Clock) -> None:
    throttle = SignInThrottle(
        per_account=Limit(2, WINDOW), per_address=Limit(99, WINDOW), clock=clock
    )
    throttle.record_failure(sign_in_account("Ada@Example.com"), "192.0.2.1")
    throttle.record_failure(sign_in_account(" ada@EXAMPLE.com "), "192.0.2.2")
    with pytest.raises(RateLimitedError):
        throttle.check(sign_in_account("ada@example.com"), "192.0.2.3")
    # Not an address: trimmed and lower-cased all the same; another account is untouched.
    assert sign_in_account("  Ada  ") == "ada"
    throttle.check(sign_in_account("bob@example.com"), "192.0.2.3")


def test_sec21_errors_name_neither_account_nor_address(clock: Clock) -> None:
    throttle = SignInThrottle(per_account=Limit(1, WINDOW), clock=clock)
    throttle.record_failure(EMAIL, IP)
    with pytest.raises(RateLimitedError) as info:
        throttle.check(EMAIL, IP)
    exc = info.value
    assert isinstance(exc, LuciaError)
    for text in (str(exc), repr(exc), exc.message, repr(throttle)):
        assert EMAIL not in text
        assert "ada" not in text
        assert IP not in text
    assert repr(exc) == "RateLimitedError(code='AUTH_RATE_LIMITED', retry_after=900)"


def test_rate_limited_error_retry_after_is_at_least_one() -> None:
    assert RateLimitedError(0).retry_after == 1
    assert RateLimitedError(-5).retry_after == 1
    assert RateLimitedError(7).retry_after == 7


@pytest.mark.parametrize(
    ("failures", "window", "error"),
    [
        (0, WINDOW, ValueError),
        (-1, WINDOW, ValueError),
        (1.5, WINDOW, TypeError),
        (True, WINDOW, TypeError),
        (1, timedelta(0), ValueError),
        (1, timedelta(seconds=-1), ValueError),
        (1, 60, ValueError),
    ],
)
def test_limit_refuses_nonsense(failures: Any, window: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Limit(failures, window)


def test_defaults() -> None:
    throttle = SignInThrottle()
    assert throttle.per_account == Limit(10, timedelta(minutes=15))
    assert throttle.per_address == Limit(100, timedelta(minutes=15))
    assert isinstance(throttle.store, MemoryThrottleStore)
    for _ in range(10):
        throttle.check(EMAIL, IP)
        throttle.record_failure(EMAIL, IP)
    with pytest.raises(RateLimitedError) as info:
        throttle.check(EMAIL, IP)
    assert 890 <= info.value.retry_after <= 900  # real clock: some slack, never exact


# -- the memory store ---------------------------------------------------------------------


def _in_threads(count: int, work: Callable[[int], object]) -> None:
    """Run ``work(n)`` in ``count`` threads released at once; return when all are done."""
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_memory_store_counts_exactly_under_threads(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)

    def worker(n: int) -> None:
        for _ in range(100):
            store.hit("shared", WINDOW)
            store.hit(f"own-{n}", WINDOW)

    _in_threads(8, worker)
    assert store.peek("shared").hits == 800
    assert [store.peek(f"own-{n}").hits for n in range(8)] == [100] * 8


def test_memory_store_is_bounded_and_refuses_new_keys_when_full(clock: Clock) -> None:
    store = MemoryThrottleStore(max_entries=50, clock=clock)
    for n in range(50):
        store.hit(f"k{n}", WINDOW)
        clock.advance(seconds=1)
    for n in range(50, 500):
        with pytest.raises(RateLimitedError) as info:
            store.hit(f"k{n}", WINDOW)
        assert info.value.retry_after == MemoryThrottleStore.FULL_RETRY_AFTER
        assert len(store) == 50
    # Every live counter is still there and still counts.
    assert all(store.peek(f"k{n}").hits == 1 for n in range(50))
    assert store.hit("k0", WINDOW).hits == 2
    assert store.peek("k450").hits == 0


def test_memory_store_drops_expired_counters_first(clock: Clock) -> None:
    store = MemoryThrottleStore(max_entries=10, clock=clock)
    store.hit("short", timedelta(seconds=1))
    for n in range(5):
        store.hit(f"k{n}", WINDOW)
    clock.advance(seconds=2)
    store.hit("new", WINDOW)  # "short" expired: swept on the way, nothing live is evicted
    assert len(store) == 6
    assert "short" not in store._counters


def test_memory_store_full_of_expired_counters_takes_new_ones(clock: Clock) -> None:
    store = MemoryThrottleStore(max_entries=3, clock=clock)
    for key in ("a", "b", "c"):
        store.hit(key, timedelta(seconds=1))
    clock.advance(seconds=2)
    assert store.hit("d", WINDOW).hits == 1
    assert store.hit("e", WINDOW).hits == 1
    assert len(store) <= 3
    assert (store.peek("d").hits, store.peek("e").hits) == (1, 1)


def test_memory_store_restarted_window_counts_as_new(clock: Clock) -> None:
    store = MemoryThrottleStore(max_entries=2, clock=clock)
    store.hit("a", timedelta(seconds=1))
    store.hit("b", WINDOW)
    clock.advance(seconds=2)
    assert store.hit("a", WINDOW) == Count(1, clock.now + WINDOW)  # a new window
    with pytest.raises(RateLimitedError):
        store.hit("c", WINDOW)  # full of live counters: "b" is never evicted
    assert store.peek("a").hits == 1
    assert store.peek("b").hits == 1
    assert store.peek("c").hits == 0


# -- SECURITY.md 47: the memory store never forgets a live counter -----------------------


async def test_sec47_a_flood_of_made_up_keys_never_resets_a_victims_count(
    clock: Clock, flavour: str
) -> None:
    """The attack: failures on ~1,000 made-up accounts from ~1,000 addresses, past the
    store's bound, used to evict the victim's counter and give the attacker fresh guesses."""
    store = MemoryThrottleStore(max_entries=500, clock=clock)
    throttle = SignInThrottle(
        store, per_account=Limit(3, WINDOW), per_address=Limit(100, WINDOW), clock=clock
    )
    victim = "victim@example.com"
    for _ in range(3):
        with pytest.raises(InvalidCredentialsError):
            await wrong_guess(throttle, flavour, victim, "198.51.100.1")
    assert await refused(throttle, flavour, victim, "198.51.100.1")

    refused_new = 0
    for n in range(1_000):
        clock.advance(seconds=0.1)
        try:
            await wrong_guess(
                throttle, flavour, f"made-up-{n}@example.com", f"10.0.{n // 250}.{n % 250}"
            )
        except InvalidCredentialsError:
            pass
        except RateLimitedError:
            refused_new += 1  # full: a new key is refused, not counted
        assert len(store) <= 500
    assert refused_new > 0
    # The victim's counter survived the flood: still blocked, from any address.
    assert await refused(throttle, flavour, victim, "192.0.2.99")
    assert store.peek(account_key(victim)).hits == 3
    # A brand-new key is refused while the store is full of live counters.
    for n in range(500):
        try:
            await store_hit(store, flavour, f"filler-{n}", WINDOW)  # type: ignore[arg-type]
        except RateLimitedError:
            break
    assert len(store) == 500
    with pytest.raises(RateLimitedError):
        await store_hit(store, flavour, "brand-new", WINDOW)  # type: ignore[arg-type]
    assert await refused(throttle, flavour, "new-user@example.com", "192.0.2.100")
    # The windows end, the sweep takes the expired counters, new keys count again.
    clock.advance(minutes=16)
    for n in range(500):
        await store_hit(store, flavour, f"later-{n}", WINDOW)  # type: ignore[arg-type]
    assert len(store) == 500
    assert store.peek("later-499").hits == 1


def test_memory_store_sweep_examines_a_bounded_number_of_counters(clock: Clock) -> None:
    """Item 13: no call sweeps the whole store under its lock; the sweep is amortised."""
    size = 20_000
    store = MemoryThrottleStore(max_entries=size + 10, clock=clock)
    for n in range(size):
        store.hit(f"old-{n}", timedelta(seconds=1))
    clock.advance(seconds=2)  # every counter has expired
    worst = 0
    calls = 0
    while len(store) > size // 2 or calls < 10:
        before = store._examined
        store.hit(f"new-{calls}", WINDOW)
        worst = max(worst, store._examined - before)
        calls += 1
    assert worst <= MemoryThrottleStore.FULL_SWEEP_STEP
    # Amortised: each new counter took at least SWEEP_STEP expired ones with it.
    assert calls <= size // MemoryThrottleStore.SWEEP_STEP
    # Full of expired counters: one call frees room without a full scan.
    full = MemoryThrottleStore(max_entries=size, clock=clock)
    for n in range(size):
        full.hit(f"old-{n}", timedelta(seconds=1))
    clock.advance(seconds=2)
    before = full._examined
    assert full.hit("new", WINDOW).hits == 1
    assert full._examined - before <= MemoryThrottleStore.FULL_SWEEP_STEP


def test_memory_store_expired_counters_go_eventually_among_live_ones(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    for n in range(100):
        store.hit(f"live-{n}", timedelta(hours=2))
        store.hit(f"short-{n}", timedelta(seconds=1))
    clock.advance(seconds=2)
    for n in range(200):
        store.hit(f"new-{n}", timedelta(hours=2))
    assert not any(key.startswith("short-") for key in store._counters)
    assert all(store.peek(f"live-{n}").hits == 1 for n in range(100))


def test_sec47_a_full_store_logs_once_per_filling(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryThrottleStore(max_entries=5, clock=clock)
    for n in range(5):
        store.hit(f"k{n}", WINDOW)
    with caplog.at_level(logging.WARNING, logger="lucia.throttle"):
        for n in range(20):
            with pytest.raises(RateLimitedError):
                store.hit(f"x{n}", WINDOW)
    assert [r.getMessage() for r in caplog.records].count(
        "the memory throttle store is full of live counters: new keys are refused"
    ) == 1
    assert "x1" not in caplog.text


def test_memory_store_peek_of_nothing(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    assert store.peek("nothing") == Count(0, clock.now)
    assert "size=0" in repr(store)
    with pytest.raises(ValueError, match="max_entries"):
        MemoryThrottleStore(max_entries=0)


async def test_memory_store_async_api(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    assert await store.ahit("k", WINDOW) == Count(1, clock.now + WINDOW)
    assert await store.ahit("k", WINDOW) == Count(2, clock.now + WINDOW)
    assert await store.apeek("k") == Count(2, clock.now + WINDOW)


# -- client_address -----------------------------------------------------------------------

PROXY = "10.0.0.2"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No trusted proxies: the header is ignored, whatever it says.
        ("198.51.100.1", "1.2.3.4", (), "198.51.100.1"),
        ("198.51.100.1", None, (), "198.51.100.1"),
        # A peer that is not a trusted proxy: ignored too (anyone can send the header).
        ("198.51.100.1", "1.2.3.4", ("10.0.0.0/8",), "198.51.100.1"),
        # Behind a trusted proxy: the address it saw.
        (PROXY, "198.51.100.9", ("10.0.0.0/8",), "198.51.100.9"),
        (PROXY, "198.51.100.9", (PROXY,), "198.51.100.9"),
        (PROXY, " 198.51.100.9 ", ["10.0.0.0/8"], "198.51.100.9"),
        # A spoofed leftmost entry: the client sent "1.2.3.4"; the proxy appended the real one.
        (PROXY, "1.2.3.4, 198.51.100.9", ("10.0.0.0/8",), "198.51.100.9"),
        (PROXY, "127.0.0.1,10.9.9.9, 198.51.100.9", ("10.0.0.0/8",), "198.51.100.9"),
        # A chain of trusted proxies is skipped, from the right.
        (
            PROXY,
            "1.2.3.4, 198.51.100.9, 10.0.0.7, 172.16.0.3",
            ("10.0.0.0/8", "172.16.0.0/12"),
            "198.51.100.9",
        ),
        # Only trusted hops: the leftmost of them is the best we know.
        (PROXY, "10.0.0.9, 10.0.0.8", ("10.0.0.0/8",), "10.0.0.9"),
        (PROXY, None, ("10.0.0.0/8",), PROXY),
        (PROXY, "", ("10.0.0.0/8",), PROXY),
        # Malformed entries: the walk stops at the last trusted hop; garbage never wins.
        (PROXY, "198.51.100.9, garbage", ("10.0.0.0/8",), PROXY),
        (PROXY, "198.51.100.9, unknown", ("10.0.0.0/8",), PROXY),
        (PROXY, "198.51.100.9, , 10.0.0.3", ("10.0.0.0/8",), "10.0.0.3"),
        (PROXY, "198.51.100.9,999.1.1.1", ("10.0.0.0/8",), PROXY),
        (PROXY, "1.2.3.4, <script>, 198.51.100.9", ("10.0.0.0/8",), "198.51.100.9"),
        (PROXY, "198.51.100.9:abc", ("10.0.0.0/8",), PROXY),
        (PROXY, "[2001:db8::1", ("10.0.0.0/8",), PROXY),
        # Ports some proxies add.
        (PROXY, "198.51.100.9:4711", ("10.0.0.0/8",), "198.51.100.9"),
        (PROXY, "[2001:db8::1]:443", ("10.0.0.0/8",), "2001:db8::1"),
        (PROXY, "[2001:db8::1]", ("10.0.0.0/8",), "2001:db8::1"),
        # IPv6: normalised; trusted IPv6 networks; mixed families.
        ("2001:db8:ffff::1", "2001:DB8:0:0::5", ("2001:db8:ffff::/48",), "2001:db8::5"),
        ("2001:db8:ffff::1", "198.51.100.9", ("2001:db8:ffff::/48",), "198.51.100.9"),
        (PROXY, "2001:db8::5, 10.0.0.1", ("10.0.0.0/8",), "2001:db8::5"),
        ("2001:db8::1", "1.2.3.4", ("10.0.0.0/8",), "2001:db8::1"),
        ("2001:0db8:0000::0001", None, (), "2001:db8::1"),
        # IPv4-mapped IPv6, as a peer and in the header, against IPv4 networks.
        ("::ffff:10.0.0.2", "198.51.100.9", ("10.0.0.0/8",), "198.51.100.9"),
        (PROXY, "::ffff:10.0.0.5, ::ffff:198.51.100.9", ("10.0.0.0/8",), "198.51.100.9"),
        ("::ffff:198.51.100.1", "1.2.3.4", (), "198.51.100.1"),
        # Scope ids name a local interface: dropped, so they cannot make new counters.
        ("fe80::1%eth0", None, (), "fe80::1"),
        (PROXY, "fe80::1%7", ("10.0.0.0/8",), "fe80::1"),
        # A peer that is no IP address (a Unix socket, a test client) is kept as it is.
        ("testclient", "1.2.3.4", ("10.0.0.0/8",), "testclient"),
        (None, "1.2.3.4", ("10.0.0.0/8",), None),
        # One trusted proxy given as a plain string, not a list.
        (PROXY, "198.51.100.9", PROXY, "198.51.100.9"),
    ],
)
def test_sec21_client_address(
    peer: str | None, forwarded: str | None, trusted: Any, expected: str | None
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


_HOP = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["10.0.0.3", "10.200.0.1", "unknown", "", " ", "[::1", "1.2.3.4:x"]),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    hops=st.lists(_HOP, max_size=6),
    peer=st.one_of(st.ip_addresses().map(str), st.sampled_from([PROXY, "::ffff:10.1.2.3"])),
)
def test_sec21_client_address_properties(hops: list[str], peer: str) -> None:
    """Whatever the header holds: untrusted peers win, and garbage is never the answer."""
    header = ",".join(hops)
    ip = ipaddress.ip_address(peer)
    peer_text = str(getattr(ip, "ipv4_mapped", None) or ip)
    assert client_address(peer, header) == peer_text  # no trusted proxies: header ignored
    answer = client_address(peer, header, ["10.0.0.0/8"])
    assert answer is not None
    assert ipaddress.ip_address(answer)  # always an IP address
    if ipaddress.ip_address(peer_text) not in ipaddress.ip_network("10.0.0.0/8"):
        assert answer == peer_text
    else:
        # The peer or an entry of the header, never one left of an untrusted address.
        parsed = [client_address(h.strip(), None) for h in hops]
        assert answer == peer_text or answer in parsed
        if answer != peer_text:
            position = len(parsed) - 1 - parsed[::-1].index(answer)
            assert all(
                p is not None and ipaddress.ip_address(p) in ipaddress.ip_network("10.0.0.0/8")
                for p in parsed[position + 1 :]
            )


def test_client_address_refuses_bad_trusted_entries() -> None:
    with pytest.raises(ValueError, match="not an IP address or CIDR network"):
        client_address(PROXY, "1.2.3.4", ["10.0.0.0/33"])
    with pytest.raises(ValueError, match="CIDR"):
        client_address(PROXY, "1.2.3.4", ["10.0.0.1/8"])  # host bits set: a typo, most likely
    with pytest.raises(ValueError, match="CIDR"):
        client_address(PROXY, None, ["localhost"])


def test_client_address_takes_network_objects() -> None:
    nets = [ipaddress.ip_network("10.0.0.0/8")]
    assert client_address(PROXY, "198.51.100.9", nets) == "198.51.100.9"


# -- the Redis store ----------------------------------------------------------------------


@pytest.fixture
def sync_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
async def async_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def redis_store(
    flavour: str,
    redis_prefix: str,
    sync_client: redis.Redis,
    async_client: redis.asyncio.Redis,
) -> RedisThrottleStore:
    client = async_client if flavour == "async" else sync_client
    return RedisThrottleStore(client, prefix=redis_prefix)


async def test_sec21_redis_limits(redis_store: RedisThrottleStore, flavour: str) -> None:
    clock = Clock()
    throttle = SignInThrottle(
        redis_store, per_account=Limit(3, WINDOW), per_address=Limit(5, WINDOW), clock=clock
    )
    for n in range(3):
        assert await blocked(throttle, flavour, EMAIL, f"198.51.100.{n}") is None
        await fail(throttle, flavour, EMAIL, f"198.51.100.{n}")
    exc = await blocked(throttle, flavour, EMAIL, "192.0.2.50")
    assert exc is not None
    # Redis keeps the window by its own clock: the wait is the window, less the test's run time.
    assert 900 - 60 <= exc.retry_after <= 900
    for n in range(5):
        await fail(throttle, flavour, f"u{n}@example.com", IP)
    assert await blocked(throttle, flavour, "fresh@example.com", IP) is not None
    assert await blocked(throttle, flavour, "fresh@example.com", "192.0.2.51") is None


async def test_sec21_redis_success_does_not_reset(
    redis_store: RedisThrottleStore, flavour: str
) -> None:
    throttle = SignInThrottle(redis_store, per_account=Limit(2, WINDOW))
    await fail(throttle, flavour, EMAIL, IP)
    assert await blocked(throttle, flavour, EMAIL, IP) is None  # a success: no record_failure
    await fail(throttle, flavour, EMAIL, IP)
    assert await blocked(throttle, flavour, EMAIL, IP) is not None


async def test_sec21_redis_keys_hold_no_email(
    redis_store: RedisThrottleStore, flavour: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    throttle = SignInThrottle(redis_store)
    await fail(throttle, flavour, EMAIL, IP)
    await fail(throttle, flavour, "Grace.Hopper+x@example.org", "2001:db8:1:2::9")
    keys = sorted(k.decode() for k in sync_client.scan_iter(match=f"{redis_prefix}*"))
    assert keys == sorted(
        [
            f"{redis_prefix}{account_key(EMAIL)}",
            f"{redis_prefix}{account_key('Grace.Hopper+x@example.org')}",
            f"{redis_prefix}addr:{IP}",
            f"{redis_prefix}addr:2001:db8:1:2::/64",
        ]
    )
    for key in keys:
        assert "@" not in key
        assert "ada" not in key.lower()
        assert "grace" not in key.lower()
        # Every counter expires with its window.
        assert 0 < sync_client.pttl(key) <= WINDOW.total_seconds() * 1000


async def test_redis_counts_and_ttl(
    redis_store: RedisThrottleStore, flavour: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    first = await store_hit(redis_store, flavour, "k", timedelta(seconds=30))
    assert first.hits == 1
    # Later hits keep the first window: a fixed window, not a sliding one.
    second = await store_hit(redis_store, flavour, "k", timedelta(hours=5))
    assert second.hits == 2
    assert 0 < sync_client.pttl(f"{redis_prefix}k") <= 30_000
    assert (await store_peek(redis_store, flavour, "k")).hits == 2
    assert (await store_peek(redis_store, flavour, "none")).hits == 0
    # A key someone left without a TTL gets one at the next hit: it never blocks for good.
    sync_client.persist(f"{redis_prefix}k")
    assert (await store_hit(redis_store, flavour, "k", timedelta(seconds=30))).hits == 3
    assert 0 < sync_client.pttl(f"{redis_prefix}k") <= 30_000


async def test_redis_window_expires_by_redis_clock(
    redis_store: RedisThrottleStore, flavour: str
) -> None:
    throttle = SignInThrottle(redis_store, per_account=Limit(1, timedelta(milliseconds=200)))
    await fail(throttle, flavour, EMAIL, None)
    exc = await blocked(throttle, flavour, EMAIL, None)
    assert exc is not None
    assert exc.retry_after == 1
    # Poll (no timing asserted): Redis drops the counter once its window is over.
    deadline = time.monotonic() + 10
    while await blocked(throttle, flavour, EMAIL, None) is not None:
        assert time.monotonic() < deadline, "the counter never expired"
        await asyncio.sleep(0.05)


def test_redis_store_counts_exactly_under_threads(
    redis_prefix: str, sync_client: redis.Redis
) -> None:
    store = RedisThrottleStore(sync_client, prefix=redis_prefix)

    def worker(n: int) -> None:
        for _ in range(100):
            store.hit("shared", WINDOW)

    _in_threads(8, worker)
    assert store.peek("shared").hits == 800


async def test_redis_async_store_counts_exactly_under_tasks(
    redis_prefix: str, async_client: redis.asyncio.Redis
) -> None:
    store = RedisThrottleStore(async_client, prefix=redis_prefix)

    async def worker() -> None:
        for _ in range(100):
            await store.ahit("shared", WINDOW)

    await asyncio.gather(*(worker() for _ in range(8)))
    assert (await store.apeek("shared")).hits == 800


async def test_redis_store_flavour_mismatch(
    redis_prefix: str, sync_client: redis.Redis, async_client: redis.asyncio.Redis
) -> None:
    with pytest.raises(TypeError, match="acheck"):
        RedisThrottleStore(async_client, prefix=redis_prefix).hit("k", WINDOW)
    with pytest.raises(TypeError, match="check"):
        await RedisThrottleStore(sync_client, prefix=redis_prefix).ahit("k", WINDOW)


def test_redis_store_prefix_rules(sync_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="prefix"):
        RedisThrottleStore(sync_client, prefix="lucia:{throttle}:")
    store = RedisThrottleStore(sync_client)
    assert store.prefix == "lucia:throttle:"
    assert repr(store).startswith("RedisThrottleStore(redis://")


async def test_redis_garbage_is_a_database_error(
    redis_store: RedisThrottleStore, flavour: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    sync_client.set(f"{redis_prefix}text", "not a number")
    sync_client.rpush(f"{redis_prefix}list", "x")
    for key in ("text", "list"):
        with pytest.raises(DatabaseError):
            await store_hit(redis_store, flavour, key, WINDOW)
    with pytest.raises(DatabaseError, match="malformed"):
        await store_peek(redis_store, flavour, "text")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unreachable_redis(flavour: str) -> Any:
    """A Redis client (sync or async) for a port nothing listens on, without retries."""
    port = _closed_port()
    if flavour == "async":
        return redis.asyncio.Redis(
            port=port, socket_connect_timeout=2, retry=redis.asyncio.retry.Retry(NoBackoff(), 0)
        )
    return redis.Redis(port=port, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))


async def test_sec21_redis_down_is_a_database_error(flavour: str) -> None:
    client = _unreachable_redis(flavour)
    throttle = SignInThrottle(RedisThrottleStore(client))
    try:
        for action in (check, fail):
            with pytest.raises(DatabaseError) as info:
                await action(throttle, flavour, EMAIL, IP)
            text = f"{info.value} {info.value!r}"
            assert "unreachable" in text
            assert EMAIL not in text
            assert "ada" not in text
            assert IP not in text
            assert account_key(EMAIL)[5:] not in text
            assert info.value.__cause__ is None
            assert info.value.__suppress_context__
    finally:
        if flavour == "async":
            await client.aclose()
        else:
            client.close()


# -- unhit: taking one count back -------------------------------------------------------


async def store_unhit(store: RedisThrottleStore, flavour: str, key: str) -> Count:
    return await store.aunhit(key) if flavour == "async" else store.unhit(key)


def test_memory_store_unhit_takes_one_back_in_the_same_window(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    store.hit("k", WINDOW)
    clock.advance(minutes=1)
    store.hit("k", timedelta(hours=5))
    clock.advance(minutes=1)
    # One back, the window as the first hit started it: never a longer one.
    assert store.unhit("k") == Count(1, clock.now - timedelta(minutes=2) + WINDOW)
    assert store.peek("k") == Count(1, clock.now - timedelta(minutes=2) + WINDOW)
    # At zero the counter is gone: the next hit starts a window of its own.
    assert store.unhit("k") == Count(0, clock.now)
    assert len(store) == 0
    assert store.hit("k", WINDOW) == Count(1, clock.now + WINDOW)


def test_memory_store_unhit_never_goes_below_zero_nor_creates(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    for _ in range(3):
        assert store.unhit("nothing") == Count(0, clock.now)
    assert len(store) == 0
    store.hit("k", WINDOW)
    store.unhit("k")
    store.unhit("k")
    assert store.hit("k", WINDOW).hits == 1  # not 0: the extra unhit took nothing
    # An ended window is neither counted down nor revived.
    store.hit("old", timedelta(seconds=1))
    store.hit("old", timedelta(seconds=1))
    clock.advance(seconds=2)
    assert store.unhit("old") == Count(0, clock.now)
    assert store._counters["old"][0] == 2  # left to expire as it was
    assert store.peek("old") == Count(0, clock.now)


async def test_memory_store_aunhit(clock: Clock) -> None:
    store = MemoryThrottleStore(clock=clock)
    await store.ahit("k", WINDOW)
    await store.ahit("k", WINDOW)
    assert await store.aunhit("k") == Count(1, clock.now + WINDOW)
    assert await store.aunhit("k") == Count(0, clock.now)
    assert await store.aunhit("k") == Count(0, clock.now)
    assert len(store) == 0


async def test_redis_unhit_takes_one_back_without_touching_the_ttl(
    redis_store: RedisThrottleStore, flavour: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    key = f"{redis_prefix}k"
    await store_hit(redis_store, flavour, "k", timedelta(seconds=30))
    await store_hit(redis_store, flavour, "k", timedelta(seconds=30))
    before = sync_client.pttl(key)
    back = await store_unhit(redis_store, flavour, "k")
    assert back.hits == 1
    assert 0 < sync_client.pttl(key) <= before  # the same window, never lengthened
    assert (await store_peek(redis_store, flavour, "k")).hits == 1
    # At zero the key is gone, TTL and all: no window is left behind.
    assert (await store_unhit(redis_store, flavour, "k")).hits == 0
    assert sync_client.exists(key) == 0
    # Never below zero, never a new key.
    assert (await store_unhit(redis_store, flavour, "k")).hits == 0
    assert (await store_unhit(redis_store, flavour, "never")).hits == 0
    assert sync_client.exists(key, f"{redis_prefix}never") == 0
    assert (await store_hit(redis_store, flavour, "k", timedelta(seconds=30))).hits == 1
    # A key someone left without a TTL does not get one from unhit (only hit sets it).
    await store_hit(redis_store, flavour, "k", timedelta(seconds=30))
    sync_client.persist(key)
    assert (await store_unhit(redis_store, flavour, "k")).hits == 1
    assert sync_client.pttl(key) == -1
    # A value below zero, set by hand, is removed rather than counted further down.
    sync_client.set(f"{redis_prefix}neg", -3)
    assert (await store_unhit(redis_store, flavour, "neg")).hits == 0
    assert sync_client.exists(f"{redis_prefix}neg") == 0


async def test_redis_unhit_garbage_and_flavour_are_errors(
    redis_store: RedisThrottleStore,
    flavour: str,
    redis_prefix: str,
    sync_client: redis.Redis,
    async_client: redis.asyncio.Redis,
) -> None:
    sync_client.set(f"{redis_prefix}text", "not a number")
    sync_client.rpush(f"{redis_prefix}list", "x")
    for key in ("text", "list"):
        with pytest.raises(DatabaseError):
            await store_unhit(redis_store, flavour, key)
    assert sync_client.get(f"{redis_prefix}text") == b"not a number"
    with pytest.raises(TypeError, match="aunhit"):
        RedisThrottleStore(async_client, prefix=redis_prefix).unhit("k")
    with pytest.raises(TypeError, match="unhit"):
        await RedisThrottleStore(sync_client, prefix=redis_prefix).aunhit("k")


def test_redis_unhit_is_exact_under_threads(redis_prefix: str, sync_client: redis.Redis) -> None:
    store = RedisThrottleStore(sync_client, prefix=redis_prefix)
    for _ in range(500):
        store.hit("shared", WINDOW)

    def worker(n: int) -> None:
        for _ in range(100):  # 800 unhits against 500 counts: stops at zero, once
            store.unhit("shared")

    _in_threads(8, worker)
    assert store.peek("shared").hits == 0
    assert sync_client.exists(f"{redis_prefix}shared") == 0


# -- the reservation: reserve, release, attempt -----------------------------------------


async def reserve(
    throttle: SignInThrottle, flavour: str, account: str, address: str | None
) -> Reservation:
    if flavour == "async":
        return await throttle.areserve(account, address)
    return throttle.reserve(account, address)


async def release(throttle: SignInThrottle, flavour: str, reservation: Reservation) -> bool:
    if flavour == "async":
        return await throttle.arelease(reservation)
    return throttle.release(reservation)


async def run_attempt(
    throttle: SignInThrottle,
    flavour: str,
    account: str,
    address: str | None,
    outcome: BaseException | None = None,
) -> None:
    """One attempt under ``attempt`` / ``aattempt`` whose password check raises ``outcome``."""
    if flavour == "async":
        async with throttle.aattempt(account, address):
            if outcome is not None:
                raise outcome
    else:
        with throttle.attempt(account, address):
            if outcome is not None:
                raise outcome


async def fail_reservation(
    throttle: SignInThrottle, flavour: str, reservation: Reservation
) -> bool:
    if flavour == "async":
        return await throttle.afail(reservation)
    return throttle.fail(reservation)


def _hits(store: MemoryThrottleStore, account: str, address: str | None = None) -> list[int]:
    """The account's count (in flight or failed) and the address's failures."""
    keys = [account_key(account)] + ([] if address is None else [address_key(address)])
    return [store.peek(key).hits for key in keys]


def _busy(store: Any, address: str) -> int:
    """The address's attempts in flight."""
    return int(store.peek("busy:" + address_key(address).removeprefix("addr:")).hits)


def _waiting(store: Any, address: str) -> int:
    """The address's attempts waiting for those in flight."""
    return int(store.peek("wait:" + address_key(address).removeprefix("addr:")).hits)


def _memory_throttle(clock: Clock, account: int = 3, address: int = 5) -> SignInThrottle:
    return SignInThrottle(
        MemoryThrottleStore(clock=clock),
        per_account=Limit(account, WINDOW),
        per_address=Limit(address, WINDOW),
        clock=clock,
    )


def _memory(throttle: SignInThrottle) -> MemoryThrottleStore:
    assert isinstance(throttle.store, MemoryThrottleStore)
    return throttle.store


async def test_sec21_reserve_holds_a_count_until_released(clock: Clock, flavour: str) -> None:
    throttle = _memory_throttle(clock)
    store = _memory(throttle)
    first = await reserve(throttle, flavour, EMAIL, IP)
    assert first.held
    # In flight, it counts for the account, and as in flight (no failure) for the address.
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 0], 1)
    second = await reserve(throttle, flavour, EMAIL, IP)
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([2, 0], 2)
    assert await release(throttle, flavour, first) is True
    assert not first.held
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 0], 1)
    # A second release of the same reservation gives nothing back: not another's count.
    assert await release(throttle, flavour, first) is True
    assert await fail_reservation(throttle, flavour, first) is True
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 0], 1)
    assert await fail_reservation(throttle, flavour, second) is True
    # A wrong password: the account keeps its count, the address counts a failure.
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 1], 0)
    assert await release(throttle, flavour, second) is True  # settled already: nothing
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 1], 0)
    third = await reserve(throttle, flavour, "grace@example.com", IP)
    assert await release(throttle, flavour, third) is True
    assert len(store) == 2  # nothing else left behind, no window started
    assert repr(second) == "Reservation(counters=0)"


async def test_sec21_reserve_refuses_past_the_limit_like_check(clock: Clock, flavour: str) -> None:
    throttle = _memory_throttle(clock, account=3, address=100)
    for n in range(3):
        await reserve(throttle, flavour, EMAIL, f"198.51.100.{n}")  # kept: wrong passwords
        clock.advance(seconds=100)
    expected = await blocked(throttle, flavour, EMAIL, "198.51.100.99")
    assert expected is not None
    with pytest.raises(RateLimitedError) as info:
        await reserve(throttle, flavour, EMAIL, "198.51.100.99")
    assert info.value.retry_after == expected.retry_after == 900 - 300
    # The refusal took back its own counts: the account stays at 3, and the new
    # address holds nothing (no counter, no window started by a refused attempt).
    store = _memory(throttle)
    assert _hits(store, EMAIL, "198.51.100.99") == [3, 0]
    assert address_key("198.51.100.99") not in store._counters
    assert _busy(store, "198.51.100.99") == 0
    # Other accounts are not affected; the account frees up with its window.
    await reserve(throttle, flavour, "grace@example.com", "198.51.100.0")
    clock.advance(seconds=600)
    await reserve(throttle, flavour, EMAIL, "198.51.100.99")


async def test_sec21_reserve_refusal_waits_for_the_longer_window(
    clock: Clock, flavour: str
) -> None:
    throttle = SignInThrottle(
        per_account=Limit(1, timedelta(minutes=1)),
        per_address=Limit(1, timedelta(hours=1)),
        clock=clock,
    )
    await fail_reservation(throttle, flavour, await reserve(throttle, flavour, EMAIL, IP))
    with pytest.raises(RateLimitedError) as info:
        await reserve(throttle, flavour, EMAIL, IP)
    assert info.value.retry_after == 3600
    with pytest.raises(RateLimitedError) as info:
        await reserve(throttle, flavour, EMAIL, None)
    assert info.value.retry_after == 60
    # Only the address is full: the account's fresh counter is hit, then taken back.
    with pytest.raises(RateLimitedError) as info:
        await reserve(throttle, flavour, "grace@example.com", IP)
    assert info.value.retry_after == 3600
    assert _hits(_memory(throttle), "grace@example.com") == [0]
    assert _busy(_memory(throttle), IP) == 0


async def test_sec21_attempt_keeps_only_a_wrong_password(clock: Clock, flavour: str) -> None:
    throttle = _memory_throttle(clock, account=3, address=100)
    store = _memory(throttle)
    await run_attempt(throttle, flavour, EMAIL, IP)  # a right password: given back
    assert _hits(store, EMAIL, IP) == [0, 0]
    with pytest.raises(InvalidCredentialsError):
        await run_attempt(throttle, flavour, EMAIL, IP, InvalidCredentialsError())
    assert _hits(store, EMAIL, IP) == [1, 1]
    # Any other failure is no verdict on the password: given back, raised unchanged.
    for other in (DatabaseError("users table gone"), ValueError("bug"), KeyboardInterrupt()):
        with pytest.raises(type(other)) as info:
            await run_attempt(throttle, flavour, EMAIL, IP, other)
        assert info.value is other
        assert _hits(store, EMAIL, IP) == [1, 1]
    with pytest.raises(InvalidCredentialsError):
        await run_attempt(throttle, flavour, EMAIL, IP, InvalidCredentialsError())
    await run_attempt(throttle, flavour, EMAIL, IP)  # a success resets nothing
    with pytest.raises(InvalidCredentialsError):
        await run_attempt(throttle, flavour, EMAIL, IP, InvalidCredentialsError())
    assert _hits(store, EMAIL, IP) == [3, 3]
    # Refused before the password is looked at: the block (which would raise
    # AssertionError instead) never runs.
    with pytest.raises(RateLimitedError):
        await run_attempt(throttle, flavour, EMAIL, IP, AssertionError("the block ran"))
    assert _hits(store, EMAIL, IP) == [3, 3]


def test_sec21_attempt_yields_its_reservation(clock: Clock) -> None:
    throttle = _memory_throttle(clock)
    with throttle.attempt(EMAIL, None) as reservation:
        assert isinstance(reservation, Reservation)
        assert reservation.held
        assert repr(reservation) == "Reservation(counters=1)"
    assert not reservation.held


async def test_sec21_cancelled_async_attempt_gives_back(clock: Clock) -> None:
    throttle = _memory_throttle(clock)
    entered = asyncio.Event()

    async def slow_check() -> None:
        async with throttle.aattempt(EMAIL, IP):
            entered.set()
            await asyncio.Event().wait()  # never set: cancelled in here

    task = asyncio.create_task(slow_check())
    await entered.wait()
    assert (_hits(_memory(throttle), EMAIL, IP), _busy(_memory(throttle), IP)) == ([1, 0], 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(_memory(throttle)) == 0


async def test_release_gives_nothing_back_once_the_window_has_ended(
    clock: Clock, flavour: str
) -> None:
    """A check that outlives its window must not take a count out of the next window."""
    throttle = _memory_throttle(clock, account=3, address=3)
    store = _memory(throttle)
    slow = await reserve(throttle, flavour, EMAIL, IP)
    clock.advance(minutes=16)
    failed = await reserve(throttle, flavour, EMAIL, IP)  # in flight, in the new window
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 0], 1)
    assert await release(throttle, flavour, slow) is True
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([1, 0], 1)
    assert failed.held
    # A wrong password whose check outlived its window counts its failure in the new one.
    late = await reserve(throttle, flavour, "grace@example.com", IP)
    clock.advance(minutes=16)
    assert await fail_reservation(throttle, flavour, late) is True
    assert (_hits(store, "grace@example.com", IP), _busy(store, IP)) == ([0, 1], 0)


class BrokenUnhitStore(MemoryThrottleStore):
    """Counts, but cannot take counts back, like Redis going away mid-attempt."""

    def unhit(self, key: str, now: Any = None) -> Count:
        raise DatabaseError("redis://:hunter2@cache unreachable")

    async def aunhit(self, key: str, now: Any = None) -> Count:
        raise DatabaseError("redis://:hunter2@cache unreachable")


class BrokenAddressStore(MemoryThrottleStore):
    """Counts accounts, fails on addresses: a store that breaks between two hits."""

    def hit(self, key: str, window: timedelta, now: Any = None) -> Count:
        if key.startswith("busy:"):
            raise DatabaseError("redis://:hunter2@cache unreachable")
        return super().hit(key, window, now)

    async def ahit(self, key: str, window: timedelta, now: Any = None) -> Count:
        return self.hit(key, window, now)


async def test_release_failure_stays_counted_and_masks_nothing(
    clock: Clock, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = BrokenUnhitStore(clock=clock)
    throttle = SignInThrottle(store, per_account=Limit(3, WINDOW), clock=clock)
    with caplog.at_level(logging.WARNING, logger="lucia.throttle"):
        reservation = await reserve(throttle, flavour, EMAIL, IP)
        assert await release(throttle, flavour, reservation) is False
        # Through attempt: a success still succeeds, an error is still that error.
        await run_attempt(throttle, flavour, EMAIL, IP)
        marker = ValueError("the real error")
        with pytest.raises(ValueError, match="the real error") as info:
            await run_attempt(throttle, flavour, EMAIL, IP, marker)
        assert info.value is marker
    # The safe side: the account's counts stay, the address's stay in flight.
    assert (_hits(store, EMAIL, IP), _busy(store, IP)) == ([3, 0], 3)
    warnings = [r for r in caplog.records if r.name == "lucia.throttle"]
    assert len(warnings) == 6  # two counters, three attempts
    text = caplog.text + "".join(repr(r.__dict__) for r in warnings)
    for secret in ("hunter2", EMAIL, IP, account_key(EMAIL)[5:]):
        assert secret not in text


async def test_reserve_store_failure_takes_back_what_it_counted(clock: Clock, flavour: str) -> None:
    store = BrokenAddressStore(clock=clock)
    throttle = SignInThrottle(store, clock=clock)
    with pytest.raises(DatabaseError):
        await reserve(throttle, flavour, EMAIL, IP)
    assert len(store) == 0  # the account's count was given back
    await reserve(throttle, flavour, EMAIL, None)  # without an address, no failure
    assert _hits(store, EMAIL) == [1]


async def test_sec21_redis_reservation(
    redis_store: RedisThrottleStore, flavour: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    throttle = SignInThrottle(
        redis_store, per_account=Limit(2, WINDOW), per_address=Limit(100, WINDOW)
    )
    acct = f"{redis_prefix}{account_key(EMAIL)}"
    await run_attempt(throttle, flavour, EMAIL, IP)
    assert sync_client.exists(acct, f"{redis_prefix}addr:{IP}") == 0  # given back, no keys
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            await run_attempt(throttle, flavour, EMAIL, IP, InvalidCredentialsError())
    assert sync_client.get(acct) == b"2"
    with pytest.raises(RateLimitedError) as info:
        await run_attempt(throttle, flavour, EMAIL, "192.0.2.9")
    assert 900 - 60 <= info.value.retry_after <= 900
    # The refusal left nothing behind for the new address, and the account at 2.
    assert sync_client.exists(f"{redis_prefix}addr:192.0.2.9") == 0
    assert sync_client.get(acct) == b"2"
    assert 0 < sync_client.pttl(acct) <= WINDOW.total_seconds() * 1000


async def test_sec21_redis_down_refuses_reservations(flavour: str) -> None:
    client = _unreachable_redis(flavour)
    store = RedisThrottleStore(client)
    throttle = SignInThrottle(store)
    try:
        # Fails closed: no attempt runs while the throttle cannot count.
        with pytest.raises(DatabaseError, match="unreachable"):
            await run_attempt(throttle, flavour, EMAIL, IP)
        with pytest.raises(DatabaseError, match="unreachable"):
            await store_unhit(store, flavour, "k")
    finally:
        if flavour == "async":
            await client.aclose()
        else:
            client.close()


# -- the race: concurrent attempts against one account ---------------------------------

LIMIT = 3
ATTEMPTS = 20
GATE_TIMEOUT = 60  # a hang guard only: the gate opens as soon as every attempt is decided


class Tally:
    """Outcomes of concurrent attempts, and a gate that holds every admitted attempt's
    (slow, wrong) password check until every attempt has been admitted or refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.decided = 0
        self.all_decided = threading.Event()
        self.wrong = 0
        self.refused = 0

    def decide(self) -> None:
        with self.lock:
            self.decided += 1
            if self.decided == ATTEMPTS:
                self.all_decided.set()

    def note(self, outcome: str) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def slow_wrong_password(self) -> None:
        """Admitted: wait for the others, then fail as a wrong password does."""
        self.decide()
        assert self.all_decided.wait(GATE_TIMEOUT), "the attempts were never all in flight"
        raise InvalidCredentialsError()


def _threaded(tally: Tally, one_attempt: Any) -> None:
    start = threading.Barrier(ATTEMPTS)

    def worker() -> None:
        start.wait()
        try:
            one_attempt()
        except InvalidCredentialsError:
            tally.note("wrong")
        except RateLimitedError:
            tally.decide()
            tally.note("refused")

    threads = [threading.Thread(target=worker) for _ in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _limited_throttle(kind: str, client: Any, prefix: str) -> SignInThrottle:
    """A throttle of ``LIMIT`` per account, in memory or on ``client`` (Redis)."""
    store: ThrottleStore = (
        MemoryThrottleStore() if kind == "memory" else RedisThrottleStore(client, prefix=prefix)
    )
    return SignInThrottle(store, per_account=Limit(LIMIT, WINDOW))


@pytest.fixture(params=["memory", "redis"])
def sync_throttle(
    request: pytest.FixtureRequest, redis_prefix: str, sync_client: redis.Redis
) -> SignInThrottle:
    return _limited_throttle(request.param, sync_client, redis_prefix)


@pytest.fixture(params=["memory", "redis"])
def async_throttle(
    request: pytest.FixtureRequest, redis_prefix: str, async_client: redis.asyncio.Redis
) -> SignInThrottle:
    return _limited_throttle(request.param, async_client, redis_prefix)


def test_sec21_concurrent_attempts_stop_at_the_limit_threads(sync_throttle: SignInThrottle) -> None:
    tally = Tally()

    def one_attempt() -> None:
        with sync_throttle.attempt(EMAIL, IP):
            tally.slow_wrong_password()

    _threaded(tally, one_attempt)
    assert (tally.wrong, tally.refused) == (LIMIT, ATTEMPTS - LIMIT)
    assert sync_throttle.store.peek(account_key(EMAIL)).hits == LIMIT
    assert sync_throttle.store.peek(address_key(IP)).hits == LIMIT


def test_check_then_record_overshoots_under_threads(sync_throttle: SignInThrottle) -> None:
    """Why ``attempt`` exists: with the old pair every concurrent guess gets through."""
    tally = Tally()

    def one_attempt() -> None:
        sync_throttle.check(EMAIL, IP)
        try:
            tally.slow_wrong_password()
        except InvalidCredentialsError:
            sync_throttle.record_failure(EMAIL, IP)
            raise

    _threaded(tally, one_attempt)
    assert (tally.wrong, tally.refused) == (ATTEMPTS, 0)


async def _tasks(tally: AsyncTally, one_attempt: Any) -> None:
    start = asyncio.Event()

    async def worker() -> None:
        await start.wait()
        try:
            await one_attempt()
        except InvalidCredentialsError:
            tally.note("wrong")
        except RateLimitedError:
            tally.decide()
            tally.note("refused")

    tasks = [asyncio.create_task(worker()) for _ in range(ATTEMPTS)]
    start.set()
    await asyncio.gather(*tasks)


class AsyncTally(Tally):
    """``Tally`` for tasks on one event loop: the gate is an ``asyncio.Event``."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()

    def decide(self) -> None:
        super().decide()
        if self.all_decided.is_set():
            self.ready.set()

    async def aslow_wrong_password(self) -> None:
        self.decide()
        async with asyncio.timeout(GATE_TIMEOUT):  # a hang guard only
            await self.ready.wait()
        raise InvalidCredentialsError()


async def test_sec21_concurrent_attempts_stop_at_the_limit_tasks(
    async_throttle: SignInThrottle,
) -> None:
    tally = AsyncTally()

    async def one_attempt() -> None:
        async with async_throttle.aattempt(EMAIL, IP):
            await tally.aslow_wrong_password()

    await _tasks(tally, one_attempt)
    assert (tally.wrong, tally.refused) == (LIMIT, ATTEMPTS - LIMIT)
    assert (await async_throttle.store.apeek(account_key(EMAIL))).hits == LIMIT
    assert (await async_throttle.store.apeek(address_key(IP))).hits == LIMIT


async def test_check_then_record_overshoots_under_tasks(async_throttle: SignInThrottle) -> None:
    tally = AsyncTally()

    async def one_attempt() -> None:
        await async_throttle.acheck(EMAIL, IP)
        try:
            await tally.aslow_wrong_password()
        except InvalidCredentialsError:
            await async_throttle.arecord_failure(EMAIL, IP)
            raise

    await _tasks(tally, one_attempt)
    assert (tally.wrong, tally.refused) == (ATTEMPTS, 0)


# -- the address counts failures: right passwords behind one address are never refused ---

RIGHT_ATTEMPTS = 100
RIGHT_LIMIT = 10  # failures per address: ten times fewer than the attempts at once
ADDRESS_LIMIT = 3


def _address_throttle(kind: str, client: Any, prefix: str, **options: Any) -> SignInThrottle:
    store: ThrottleStore = (
        MemoryThrottleStore() if kind == "memory" else RedisThrottleStore(client, prefix=prefix)
    )
    return SignInThrottle(store, **options)


@pytest.fixture(params=["memory", "redis"])
def sync_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pooled_client(redis_url: str) -> Iterator[redis.Redis]:
    """A sync client on a bounded pool that waits for a connection, as an app's would."""
    pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=16, timeout=30)
    client = redis.Redis(connection_pool=pool)
    yield client
    client.close()
    pool.disconnect()


@pytest.fixture
async def apooled_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    pool = redis.asyncio.BlockingConnectionPool.from_url(redis_url, max_connections=16, timeout=30)
    client = redis.asyncio.Redis(connection_pool=pool)
    yield client
    await client.aclose()
    await pool.disconnect()


def test_sec21_concurrent_right_passwords_from_one_address_are_never_refused_threads(
    sync_kind: str, redis_prefix: str, pooled_client: redis.Redis
) -> None:
    """300 simultaneous right passwords from one NAT got 74 x 429: in-flight attempts
    counted toward the address's limit. They count as failures only once they fail."""
    throttle = _address_throttle(
        sync_kind, pooled_client, redis_prefix, per_address=Limit(RIGHT_LIMIT, WINDOW)
    )
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        try:
            with throttle.attempt(f"user{n}@example.com", IP):
                time.sleep(0.02)  # the password check, right
            outcome = "signed in"
        except RateLimitedError:
            outcome = "429"
        with lock:
            outcomes.append(outcome)

    _in_threads(RIGHT_ATTEMPTS, one)
    assert outcomes.count("signed in") == RIGHT_ATTEMPTS
    assert throttle.store.peek(address_key(IP)).hits == 0
    assert throttle.store.peek("busy:" + IP).hits == 0
    assert throttle.store.peek("wait:" + IP).hits == 0


async def test_sec21_concurrent_right_passwords_from_one_address_are_never_refused_tasks(
    sync_kind: str, redis_prefix: str, apooled_client: redis.asyncio.Redis
) -> None:
    throttle = _address_throttle(
        sync_kind, apooled_client, redis_prefix, per_address=Limit(RIGHT_LIMIT, WINDOW)
    )

    async def one(n: int) -> str:
        try:
            async with throttle.aattempt(f"user{n}@example.com", IP):
                await asyncio.sleep(0.02)
        except RateLimitedError:
            return "429"
        return "signed in"

    outcomes = await asyncio.gather(*(one(n) for n in range(RIGHT_ATTEMPTS)))
    assert outcomes.count("signed in") == RIGHT_ATTEMPTS
    assert (await throttle.store.apeek(address_key(IP))).hits == 0
    assert (await throttle.store.apeek("busy:" + IP)).hits == 0
    assert (await throttle.store.apeek("wait:" + IP)).hits == 0


def test_sec21_concurrent_wrong_passwords_stop_at_the_address_limit_threads(
    sync_kind: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    """Still race-free per address: 20 wrong guesses against 20 accounts at once, with a
    limit of 3 failures per address, give exactly 3 wrong-password outcomes."""
    throttle = _address_throttle(
        sync_kind,
        sync_client,
        redis_prefix,
        per_address=Limit(ADDRESS_LIMIT, WINDOW),
        max_wait=timedelta(milliseconds=300),
    )
    tally = Tally()
    counter = iter(range(ATTEMPTS))

    def one_attempt() -> None:
        with throttle.attempt(f"user{next(counter)}@example.com", IP):
            tally.slow_wrong_password()

    _threaded(tally, one_attempt)
    assert (tally.wrong, tally.refused) == (ADDRESS_LIMIT, ATTEMPTS - ADDRESS_LIMIT)
    assert throttle.store.peek(address_key(IP)).hits == ADDRESS_LIMIT
    assert throttle.store.peek("busy:" + IP).hits == 0
    # Full of failures now: refused at once, however right the password.
    with pytest.raises(RateLimitedError) as info, throttle.attempt("someone-else@example.com", IP):
        pass
    assert info.value.retry_after > 1


async def test_sec21_concurrent_wrong_passwords_stop_at_the_address_limit_tasks(
    sync_kind: str, redis_prefix: str, async_client: redis.asyncio.Redis
) -> None:
    throttle = _address_throttle(
        sync_kind,
        async_client,
        redis_prefix,
        per_address=Limit(ADDRESS_LIMIT, WINDOW),
        max_wait=timedelta(milliseconds=300),
    )
    tally = AsyncTally()
    counter = iter(range(ATTEMPTS))

    async def one_attempt() -> None:
        async with throttle.aattempt(f"user{next(counter)}@example.com", IP):
            await tally.aslow_wrong_password()

    await _tasks(tally, one_attempt)
    assert (tally.wrong, tally.refused) == (ADDRESS_LIMIT, ATTEMPTS - ADDRESS_LIMIT)
    assert (await throttle.store.apeek(address_key(IP))).hits == ADDRESS_LIMIT
    assert (await throttle.store.apeek("busy:" + IP)).hits == 0


async def test_sec21_an_address_waits_for_its_attempts_in_flight(
    clock: Clock, flavour: str
) -> None:
    """Full only with attempts in flight: the next waits for their verdicts, then goes
    on when they were right and is refused when they were wrong."""
    throttle = SignInThrottle(
        per_address=Limit(2, WINDOW), clock=clock, max_wait=timedelta(seconds=5)
    )
    first = await reserve(throttle, flavour, "a@example.com", IP)
    second = await reserve(throttle, flavour, "b@example.com", IP)

    async def settle_later(outcome: str) -> None:
        await asyncio.sleep(0.05)
        if outcome == "right":
            await release(throttle, flavour, first)
        else:
            await fail_reservation(throttle, flavour, first)
            await fail_reservation(throttle, flavour, second)

    async def third() -> Reservation:
        if flavour == "async":
            return await throttle.areserve("c@example.com", IP)
        return await asyncio.to_thread(throttle.reserve, "c@example.com", IP)

    started = time.monotonic()
    settling = asyncio.create_task(settle_later("right"))
    admitted = await third()
    await settling
    assert time.monotonic() - started >= 0.04  # it waited for a verdict
    assert admitted.held
    await release(throttle, flavour, admitted)
    first = await reserve(throttle, flavour, "a@example.com", IP)
    settling = asyncio.create_task(settle_later("wrong"))
    with pytest.raises(RateLimitedError) as info:
        await third()
    await settling
    assert info.value.retry_after == 900
    assert _busy(_memory(throttle), IP) == 0
    assert _waiting(_memory(throttle), IP) == 0


async def test_sec21_waiting_for_an_address_is_bounded(clock: Clock, flavour: str) -> None:
    throttle = SignInThrottle(
        per_address=Limit(1, WINDOW), clock=clock, max_wait=timedelta(milliseconds=50)
    )
    held = await reserve(throttle, flavour, "a@example.com", IP)  # never settled
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        await reserve(throttle, flavour, "b@example.com", IP)
    assert 0.05 <= time.monotonic() - started < 2
    assert info.value.retry_after == 1  # busy, not failed: try again soon
    assert _hits(_memory(throttle), "b@example.com", IP) == [0, 0]
    assert _busy(_memory(throttle), IP) == 1
    assert _waiting(_memory(throttle), IP) == 0
    assert held.held


def test_max_wait_must_be_a_timedelta() -> None:
    with pytest.raises(ValueError, match="max_wait"):
        SignInThrottle(max_wait=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_wait"):
        SignInThrottle(max_wait=timedelta(seconds=-1))


def test_max_waiting_must_be_a_count() -> None:
    for wrong in (-1, 1.5, True, None):
        with pytest.raises(ValueError, match="max_waiting"):
            SignInThrottle(max_waiting=wrong)  # type: ignore[arg-type]
    # The documented defaults (docs/rate-limiting.md).
    throttle = SignInThrottle(max_waiting=0)
    assert (throttle.max_waiting, throttle.max_wait) == (0, timedelta(seconds=3))
    assert SignInThrottle().max_waiting == 100


# -- how many attempts of one address may wait at once -----------------------------------

HELD = 2  # the address's limit, taken by attempts in flight that do not end
WAITERS = 2  # max_waiting
CROWD = 8  # attempts sent at once while the address is full


class Crowd:
    """The outcomes of a burst of right passwords from one address whose places are all
    taken: ``all_refused`` is set once every attempt beyond ``WAITERS`` was refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: list[str] = []
        self.all_refused = threading.Event()

    def note(self, outcome: str) -> None:
        with self.lock:
            self.outcomes.append(outcome)
            if self.outcomes.count("429 1") == CROWD - WAITERS:
                self.all_refused.set()


def _crowded_throttle(kind: str, client: Any, prefix: str) -> SignInThrottle:
    # max_wait is only a hang guard: every waiter here is let through by a release.
    return _address_throttle(
        kind,
        client,
        prefix,
        per_address=Limit(HELD, WINDOW),
        max_wait=timedelta(seconds=2 * GATE_TIMEOUT),
        max_waiting=WAITERS,
    )


def test_sec21_at_most_max_waiting_attempts_of_an_address_wait_threads(
    sync_kind: str, redis_prefix: str, sync_client: redis.Redis
) -> None:
    """A burst whose address is full of attempts in flight: ``max_waiting`` of them wait
    (each holding its thread), the others are refused at once while the attempts in
    flight are still running, instead of all being parked for ``max_wait``."""
    throttle = _crowded_throttle(sync_kind, sync_client, redis_prefix)
    held = [throttle.reserve(f"held{n}@example.com", IP) for n in range(HELD)]
    crowd = Crowd()

    def one(n: int) -> None:
        try:
            with throttle.attempt(f"user{n}@example.com", IP):
                pass  # a right password
            crowd.note("signed in")
        except RateLimitedError as exc:
            crowd.note(f"429 {exc.retry_after}")

    threads = threading.Thread(target=_in_threads, args=(CROWD, one))
    threads.start()
    try:
        # Refused while nothing in flight has ended: none of them waited.
        assert crowd.all_refused.wait(GATE_TIMEOUT), "the attempts past max_waiting waited"
        assert crowd.outcomes == ["429 1"] * (CROWD - WAITERS)
        assert throttle.store.peek("wait:" + IP).hits == WAITERS
    finally:
        for reservation in held:
            throttle.release(reservation)
        threads.join()
    # The waiters were right passwords: let through once the places were free.
    assert sorted(crowd.outcomes) == ["429 1"] * (CROWD - WAITERS) + ["signed in"] * WAITERS
    assert [throttle.store.peek(k + IP).hits for k in ("addr:", "busy:", "wait:")] == [0, 0, 0]


async def test_sec21_at_most_max_waiting_attempts_of_an_address_wait_tasks(
    sync_kind: str, redis_prefix: str, async_client: redis.asyncio.Redis
) -> None:
    throttle = _crowded_throttle(sync_kind, async_client, redis_prefix)
    held = [await throttle.areserve(f"held{n}@example.com", IP) for n in range(HELD)]
    outcomes: list[str] = []
    all_refused = asyncio.Event()

    async def one(n: int) -> None:
        try:
            async with throttle.aattempt(f"user{n}@example.com", IP):
                pass
            outcomes.append("signed in")
        except RateLimitedError as exc:
            outcomes.append(f"429 {exc.retry_after}")
            if outcomes.count("429 1") == CROWD - WAITERS:
                all_refused.set()

    tasks = [asyncio.create_task(one(n)) for n in range(CROWD)]
    try:
        async with asyncio.timeout(GATE_TIMEOUT):  # a hang guard only
            await all_refused.wait()
        assert outcomes == ["429 1"] * (CROWD - WAITERS)
        assert (await throttle.store.apeek("wait:" + IP)).hits == WAITERS
    finally:
        for reservation in held:
            await throttle.arelease(reservation)
        await asyncio.gather(*tasks)
    assert sorted(outcomes) == ["429 1"] * (CROWD - WAITERS) + ["signed in"] * WAITERS
    counts = [(await throttle.store.apeek(k + IP)).hits for k in ("addr:", "busy:", "wait:")]
    assert counts == [0, 0, 0]


async def test_sec21_max_waiting_0_never_waits(clock: Clock, flavour: str) -> None:
    throttle = SignInThrottle(
        per_address=Limit(1, WINDOW),
        clock=clock,
        max_wait=timedelta(seconds=2 * GATE_TIMEOUT),
        max_waiting=0,
    )
    held = await reserve(throttle, flavour, "a@example.com", IP)
    attempt = asyncio.create_task(
        throttle.areserve("b@example.com", IP)
        if flavour == "async"
        else asyncio.to_thread(throttle.reserve, "b@example.com", IP)
    )
    await asyncio.wait([attempt], timeout=GATE_TIMEOUT)  # a hang guard only
    await release(throttle, flavour, held)  # an attempt still waiting would now go on
    with pytest.raises(RateLimitedError) as info:
        await attempt
    assert info.value.retry_after == 1
    store = _memory(throttle)
    assert (_hits(store, "b@example.com", IP), _busy(store, IP), _waiting(store, IP)) == (
        [0, 0],
        0,
        0,
    )


class WaitSignalStore(MemoryThrottleStore):
    """Sets ``waiting`` when an attempt starts to wait (counts itself as waiting)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.waiting = asyncio.Event()

    async def ahit(self, key: str, window: timedelta, now: Any = None) -> Count:
        count = await super().ahit(key, window, now)
        if key.startswith("wait:"):
            self.waiting.set()
        return count


async def test_sec21_a_cancelled_waiter_stops_counting_as_waiting(clock: Clock) -> None:
    store = WaitSignalStore(clock=clock)
    throttle = SignInThrottle(store, per_address=Limit(1, WINDOW), clock=clock, max_wait=WINDOW)
    held = await throttle.areserve("a@example.com", IP)
    waiter = asyncio.create_task(throttle.areserve("b@example.com", IP))
    async with asyncio.timeout(GATE_TIMEOUT):  # a hang guard only
        await store.waiting.wait()
    assert _waiting(store, IP) == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (_hits(store, "b@example.com", IP), _busy(store, IP), _waiting(store, IP)) == (
        [0, 0],
        1,
        0,
    )
    await throttle.arelease(held)


class BusyFailsLaterStore(MemoryThrottleStore):
    """Counts the first two attempts in flight, then fails: Redis going away while an
    attempt waits."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.busy_hits = 0

    def hit(self, key: str, window: timedelta, now: Any = None) -> Count:
        if key.startswith("busy:"):
            self.busy_hits += 1
            if self.busy_hits > 2:
                raise DatabaseError("redis://:hunter2@cache unreachable")
        return super().hit(key, window, now)

    async def ahit(self, key: str, window: timedelta, now: Any = None) -> Count:
        return self.hit(key, window, now)


async def test_sec21_a_store_failure_while_waiting_gives_the_wait_back(
    clock: Clock, flavour: str
) -> None:
    store = BusyFailsLaterStore(clock=clock)
    throttle = SignInThrottle(store, per_address=Limit(1, WINDOW), clock=clock, max_wait=WINDOW)
    held = await reserve(throttle, flavour, "a@example.com", IP)
    with pytest.raises(DatabaseError):
        await reserve(throttle, flavour, "b@example.com", IP)  # waits, then the store fails
    assert (_hits(store, "b@example.com", IP), _busy(store, IP), _waiting(store, IP)) == (
        [0, 0],
        1,
        0,
    )
    assert held.held
