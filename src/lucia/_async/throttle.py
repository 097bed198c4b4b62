"""The sign-in throttle's store operations, once for both flavours.

Written as async code; ``lucia/_sync/throttle.py`` is generated from it
(``scripts/generate_sync.py``). Each mixin here is one flavour of a public
class in ``lucia.throttle``, which combines both; what needs no store lives in
``lucia._throttle_base``. Helpers private to one flavour have ``__`` names,
so the two mixins' copies never shadow each other in the combined class.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from lucia._throttle_base import (
    FIRST_PAUSE,
    LONGEST_PAUSE,
    Count,
    MemoryStoreBase,
    RateLimitedError,
    RedisStoreBase,
    Reservation,
    SignInThrottleBase,
    account_key,
    address_counter,
    address_key,
    apause,
    decode_count,
    millis,
    not_given_back,
    retry_after,
)
from lucia.errors import DatabaseError, InvalidCredentialsError, LuciaError
from lucia.sessions import utc_now


class AsyncMemoryCounters(MemoryStoreBase):
    """``MemoryThrottleStore``'s counting; a lock held for bounded work, so the
    event loop may call it inline."""

    async def ahit(self, key: str, window: timedelta, now: datetime | None = None) -> Count:
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

    async def apeek(self, key: str, now: datetime | None = None) -> Count:
        """The current count, 0 when the window has ended or never started."""
        now = self.clock() if now is None else now
        with self._lock:
            counter = self._counters.get(key)
            if counter is None or counter[1] <= now:
                return Count(0, now)
            return Count(counter[0], counter[1])

    async def aunhit(self, key: str, now: datetime | None = None) -> Count:
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


class AsyncRedisCounters(RedisStoreBase):
    """``RedisThrottleStore``'s counting: one single-key Lua script per call."""

    async def ahit(self, key: str, window: timedelta, now: datetime | None = None) -> Count:
        """Count one in Redis; a new window of ``window`` starts when none is running."""
        return await self.__run(self._hit, key, now, millis(window))

    async def apeek(self, key: str, now: datetime | None = None) -> Count:
        """The current count in Redis, 0 when the window has ended or never started."""
        return await self.__run(self._peek, key, now)

    async def aunhit(self, key: str, now: datetime | None = None) -> Count:
        """Take one back in Redis: never below zero, never a new key or a longer TTL."""
        return await self.__run(self._unhit, key, now)

    async def __run(self, script: Any, key: str, now: datetime | None, *args: int) -> Count:
        import redis

        # Before the script runs: a client of the other flavour would run it and
        # only then fail.
        self._require_async()
        now = utc_now() if now is None else now
        try:
            reply = await script(keys=[self.prefix + key], args=list(args))
        except redis.RedisError as exc:
            raise self._error(exc) from None
        return decode_count(reply, now)


class AsyncThrottleSteps(SignInThrottleBase):
    """``SignInThrottle``'s attempts, reservations and sign-up counts."""

    async def areserve(self, account: str, address: str | None) -> Reservation:
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
        ``max_wait`` passes first. At most ``max_waiting`` attempts of one
        address wait at once (counted in the store too); one more is refused
        at once, with ``retry_after`` 1. Each count is one atomic store operation, so
        concurrent attempts cannot all slip under a limit. A store failure is a
        ``DatabaseError``, after the counts already made are taken back (best effort).
        Never blocks the event loop.

        Settle the reservation with ``release`` (a right password, or no verdict)
        or ``fail`` (a wrong password); one never settled keeps the account's
        count and stays in flight for the address until the windows end.
        """
        made: list[tuple[str, datetime]] = []
        try:
            return await self.__reserve(account, address, made)
        except BaseException:
            # Refused, broken or cancelled: leave the counters as they were before.
            await self.__give_back(tuple(made))
            raise

    async def __reserve(
        self, account: str, address: str | None, made: list[tuple[str, datetime]]
    ) -> Reservation:
        # ``made`` holds the counts taken so far; the caller gives them back on
        # any exception, so this only counts and refuses.
        now = self.clock()
        acct = account_key(account)
        count = await self.store.ahit(acct, self.per_account.window, now)
        made.append((acct, count.reset_at))
        if address is None:
            self._verdict([(count, self.per_account)], now, own=1)
            return Reservation(made)
        failures_key = address_key(address, self.ipv6_prefix)
        busy_key = address_counter("busy:", address, self.ipv6_prefix)
        limit = self.per_address
        if count.hits - 1 >= self.per_account.failures:
            # Refused for the account; the address only decides how long to wait.
            failed = await self.store.apeek(failures_key, now)
            waits = [retry_after(count.reset_at, now)]
            if failed.hits >= limit.failures:
                waits.append(retry_after(failed.reset_at, now))
            raise RateLimitedError(max(waits))
        deadline = time.monotonic() + self.max_wait.total_seconds()
        wait = FIRST_PAUSE
        waiting: tuple[str, datetime] | None = None  # this attempt's count among the waiting
        while True:
            # In flight first, failures second: a failure is counted before its
            # attempt leaves the in-flight count (``fail``), so every earlier
            # attempt that is in flight or failed is in one of the two numbers read.
            busy = await self.store.ahit(busy_key, limit.window, now)
            made.append((busy_key, busy.reset_at))
            failed = await self.store.apeek(failures_key, now)
            self._verdict([(failed, limit)], now)
            if failed.hits + busy.hits <= limit.failures:
                if waiting is not None:
                    # No longer waiting (given back only while its window runs).
                    await self.__give_back((waiting,))
                    made.remove(waiting)
                return Reservation(made, (failures_key, limit.window, busy_key, busy.reset_at))
            # Full only with attempts still in flight, which may well be right
            # passwords: wait for their verdicts instead of refusing this one.
            await self.store.aunhit(busy_key, now)
            made.pop()
            if waiting is None:
                # Each waiting attempt holds its caller (a worker thread, in a sync
                # server): an address may have only ``max_waiting`` of them at once,
                # counted like the rest so that every process sharing the store
                # sees them; past that the attempt is refused without waiting.
                wait_key = address_counter("wait:", address, self.ipv6_prefix)
                queued = await self.store.ahit(wait_key, limit.window, now)
                waiting = (wait_key, queued.reset_at)
                made.append(waiting)
                if queued.hits > self.max_waiting:
                    raise RateLimitedError(1)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RateLimitedError(1)
            await apause(min(wait, left))
            wait = min(wait * 2, LONGEST_PAUSE)
            now = self.clock()

    async def arelease(self, reservation: Reservation) -> bool:
        """Give back ``reservation``'s counts (a right password, or no verdict on it).

        Gives back at most once, and only counts whose windows still run. Never
        raises for the store: a count that cannot be given back stays counted
        (the safe side), is logged, and the answer is False; True when
        everything held was given back.
        """
        held, _ = self._take(reservation)
        return await self.__give_back(held) if held else True

    async def afail(self, reservation: Reservation) -> bool:
        """Settle ``reservation`` as a wrong password: the recorded failure.

        The account keeps its count; the address counts one failure and the
        attempt leaves its in-flight count. Never raises for the store: what
        cannot be recorded is logged and the answer is False.
        """
        held, failure = self._take(reservation)
        if not held or failure is None:
            return True  # settled already, or no address: the account's count is the failure
        failures_key, window, busy_key, busy_reset_at = failure
        done = True
        try:
            # Counted before the in-flight count goes (see reserve).
            await self.store.ahit(failures_key, window, self.clock())
        except LuciaError as exc:
            done = not_given_back(exc)
        return await self.__give_back(((busy_key, busy_reset_at),)) and done

    async def __give_back(self, held: tuple[tuple[str, datetime], ...]) -> bool:
        now = self.clock()
        done = True
        for key, reset_at in held:
            if reset_at <= now:
                continue  # that window is over: the counter under this key is not ours
            try:
                await self.store.aunhit(key, now)
            except DatabaseError as exc:
                done = not_given_back(exc)
        return done

    @contextlib.asynccontextmanager
    async def aattempt(self, account: str, address: str | None) -> AsyncIterator[Reservation]:
        """Run a password check as one throttled attempt: the way to use the throttle.

            with throttle.attempt(account, address):
                user = auth.authenticate("email", account, password)

        ``reserve`` on entry (``RateLimitedError`` before the block runs). On exit
        ``InvalidCredentialsError`` leaving the block (a wrong password or an
        unknown account) is a failure (``fail``); a normal exit or any other
        exception gives the counts back (``release``), and the exception goes on
        as it was.
        """
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

    async def acount_sign_up(self, address: str | None) -> None:
        """Count one sign-up attempt from ``address``; ``RateLimitedError`` past the limit.

        Every attempt counts (a success creates an account, a failure may tell
        whether an address is taken, and each costs a password hash), up to
        ``per_address_sign_ups`` in its window; a refused attempt takes its own
        count back. ``address`` None counts nothing.
        """
        if address is None:
            return
        now = self.clock()
        key = address_counter("signup:", address, self.ipv6_prefix)
        limit = self.per_address_sign_ups
        count = await self.store.ahit(key, limit.window, now)
        if count.hits > limit.failures:
            await self.store.aunhit(key, now)
            raise RateLimitedError(retry_after(count.reset_at, now))

    # -- check, then record: kept for compatibility, not race-free ------------------------

    async def acheck(self, account: str, address: str | None) -> None:
        """Raise ``RateLimitedError`` when the account's or the address's counter is full.

        Not race-free: attempts running at the same moment all pass ``check``
        before any of them calls ``record_failure``. Use ``attempt``.
        """
        now = self.clock()
        found = [
            (await self.store.apeek(key, now), limit)
            for key, limit in self._counters(account, address)
        ]
        self._verdict(found, now)

    async def arecord_failure(self, account: str, address: str | None) -> None:
        """Count one failed sign-in for the account and (unless None) the address.

        The second half of the ``check`` pair (not race-free); never after ``reserve``,
        whose kept reservation is already the failure's count.
        """
        now = self.clock()
        for key, limit in self._counters(account, address):
            await self.store.ahit(key, limit.window, now)
