"""Concurrent sign-ins of one new identity make exactly one user, and concurrent
unlinks never leave a user without a key, on every store."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lucia import AsyncLucia, LastKeyError, Lucia
from tests.conformance.model import Backend, Stores
from tests.conftest import Clock

SIGN_INS = 100
SESSIONS = 1000
UNLINK_ROUNDS = 25


async def test_concurrent_first_sign_ins_make_one_user(
    backend: Backend, lucia: Lucia | AsyncLucia, stores: Stores, tmp_path: Path, clock: Clock
) -> None:
    if isinstance(lucia, AsyncLucia):
        results = await _gather_bounded(
            (lucia.get_or_create_user("github", "12345") for _ in range(SIGN_INS)),
            limit=SIGN_INS,
        )
    else:
        results = _in_threads(lucia, SIGN_INS)
    users = {user.id for user, _ in results}
    created = [created for _, created in results if created]
    assert len(users) == 1
    assert len(created) == 1
    (user_id,) = users
    keys = stores.adapter.get_user_keys(user_id)
    if asyncio.iscoroutine(keys):
        keys = await keys
    assert [(k.provider_id, k.provider_user_id) for k in keys] == [("github", "12345")]


def _in_threads(lucia: Lucia, count: int) -> list[Any]:
    # A barrier makes the threads start their lookups together, so they race for
    # the insert instead of running one after another.
    barrier = threading.Barrier(count)

    def sign_in() -> Any:
        barrier.wait()
        return lucia.get_or_create_user("github", "12345")

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: sign_in(), range(count)))


async def test_concurrent_sessions_all_validate(lucia: Lucia | AsyncLucia) -> None:
    # 1,000 sessions for different users, created at once, all validate.
    if isinstance(lucia, AsyncLucia):
        users = [await lucia.create_user("github", str(n)) for n in range(SESSIONS)]
        sessions = await _gather_bounded(lucia.create_session(u.id) for u in users)
        found = await _gather_bounded(lucia.validate_session(s.token) for s in sessions)
    else:
        users = [lucia.create_user("github", str(n)) for n in range(SESSIONS)]
        with ThreadPoolExecutor(max_workers=32) as pool:
            sessions = list(pool.map(lambda u: lucia.create_session(u.id), users))
            found = list(pool.map(lambda s: lucia.validate_session(s.token), sessions))
    assert len({s.id for s in sessions}) == SESSIONS
    assert [f[1].id if f else None for f in found] == [u.id for u in users]


async def test_revocation_racing_validation_leaves_nothing_valid(
    lucia: Lucia | AsyncLucia, clock: Clock
) -> None:
    # Validation renews these sessions (a write) while the user is signed out
    # everywhere: a renewal must never bring a deleted session back.
    count = 40
    if isinstance(lucia, AsyncLucia):
        user = await lucia.create_user("github", "1")
        sessions = [await lucia.create_session(user.id) for _ in range(count)]
        clock.advance(hours=1, minutes=30)
        calls: list[Any] = [lucia.validate_session(s.token) for s in sessions]
        calls.insert(count // 2, lucia.invalidate_user_sessions(user.id))
        await asyncio.gather(*calls)
        after = await asyncio.gather(*(lucia.validate_session(s.token) for s in sessions))
    else:
        user = lucia.create_user("github", "1")
        sessions = [lucia.create_session(user.id) for _ in range(count)]
        clock.advance(hours=1, minutes=30)
        barrier = threading.Barrier(count + 1)

        def validate(token: str) -> None:
            barrier.wait()
            lucia.validate_session(token)

        def revoke() -> None:
            barrier.wait()
            lucia.invalidate_user_sessions(user.id)

        with ThreadPoolExecutor(max_workers=count + 1) as pool:
            futures = [pool.submit(validate, s.token) for s in sessions]
            futures.append(pool.submit(revoke))
            for future in futures:
                future.result()
        after = [lucia.validate_session(s.token) for s in sessions]
    assert after == [None] * count


async def test_concurrent_unlinks_never_take_the_last_key(lucia: Lucia | AsyncLucia) -> None:
    # A user with exactly two keys, of two providers, unlinks both at once (two
    # tabs, a double submit, an attacker with a stolen session): exactly one
    # unlink succeeds, the other is refused, and one key is left to sign in with.
    # A check-then-delete lets both pass; the store's one atomic step must not.
    providers = ("github", "google")
    with ThreadPoolExecutor(max_workers=2) as pool:  # one pool: Django keeps a connection a thread
        for n in range(UNLINK_ROUNDS):
            if isinstance(lucia, AsyncLucia):
                user = await lucia.create_user("github", f"gh-{n}")
                await lucia.add_key(user.id, "google", f"go-{n}")
                outcomes = await _unlink_in_tasks(lucia, user.id, providers)
                keys = await lucia.get_user_keys(user.id)
            else:
                user = lucia.create_user("github", f"gh-{n}")
                lucia.add_key(user.id, "google", f"go-{n}")
                outcomes = _unlink_in_threads(pool, lucia, user.id, providers)
                keys = lucia.get_user_keys(user.id)
            refused = [
                p for p, o in zip(providers, outcomes, strict=True) if isinstance(o, LastKeyError)
            ]
            unlinked = [p for p, o in zip(providers, outcomes, strict=True) if o == 1]
            assert len(refused) == 1, outcomes
            assert len(unlinked) == 1, outcomes
            # The key left is the one whose unlink was refused.
            assert [k.provider_id for k in keys] == refused


def _unlink_in_threads(
    pool: ThreadPoolExecutor, lucia: Lucia, user_id: str, providers: tuple[str, ...]
) -> list[Any]:
    # The barrier releases both threads together, so their transactions overlap.
    barrier = threading.Barrier(len(providers))

    def unlink(provider_id: str) -> Any:
        barrier.wait()
        try:
            return lucia.unlink_provider(user_id, provider_id)
        except LastKeyError as exc:
            return exc

    return [f.result() for f in [pool.submit(unlink, p) for p in providers]]


async def _unlink_in_tasks(
    lucia: AsyncLucia, user_id: str, providers: tuple[str, ...]
) -> list[Any]:
    barrier = asyncio.Barrier(len(providers))

    async def unlink(provider_id: str) -> Any:
        await barrier.wait()
        return await lucia.unlink_provider(user_id, provider_id)

    # Any error other than the refusal fails the test (gather re-raises it).
    outcomes = await asyncio.gather(*(unlink(p) for p in providers), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, LastKeyError):
            raise outcome
    return list(outcomes)


async def _gather_bounded(coroutines: Any, limit: int = 32) -> list[Any]:
    # At most `limit` at once, as a server's connection pool would allow.
    semaphore = asyncio.Semaphore(limit)

    async def bounded(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(bounded(c) for c in coroutines))
