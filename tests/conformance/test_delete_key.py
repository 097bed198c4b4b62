"""``delete_key`` never takes a user's last key, as ``unlink_provider`` never does:
on every store, sync and async, and under concurrent deletes."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lucia import AsyncLucia, LastKeyError, Lucia
from tests.conftest import Harness

ROUNDS = 10


async def test_delete_key_refuses_a_users_last_key(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com")
    with pytest.raises(LastKeyError):
        await auth.delete_key("email", "ada@example.com")
    # Nothing deleted: the user still signs in with it.
    assert (await auth.get_user_by_key("email", "ada@example.com")) == user
    await auth.add_key(user.id, "github", "1")
    await auth.delete_key("email", "ada@example.com")  # no longer the last one
    assert [k.provider_id for k in await auth.get_user_keys(user.id)] == ["github"]
    with pytest.raises(LastKeyError):
        await auth.delete_key("github", "1")
    await auth.delete_key("email", "ada@example.com")  # gone already: no error


async def test_concurrent_deletes_never_take_the_last_key(lucia: Lucia | AsyncLucia) -> None:
    # A user with exactly two keys deletes both at once: exactly one delete goes
    # through and one key is left (a read of the count, then a delete, would let both pass).
    with ThreadPoolExecutor(max_workers=2) as pool:  # one pool: Django keeps a connection a thread
        for n in range(ROUNDS):
            pairs = [("github", f"gh-{n}"), ("google", f"go-{n}")]
            if isinstance(lucia, AsyncLucia):
                user = await lucia.create_user(*pairs[0])
                await lucia.add_key(user.id, *pairs[1])
                outcomes = await _delete_in_tasks(lucia, pairs)
                left = await lucia.get_user_keys(user.id)
            else:
                user = lucia.create_user(*pairs[0])
                lucia.add_key(user.id, *pairs[1])
                outcomes = _delete_in_threads(pool, lucia, pairs)
                left = lucia.get_user_keys(user.id)
            refused = [
                p for p, o in zip(pairs, outcomes, strict=True) if isinstance(o, LastKeyError)
            ]
            assert len(refused) == 1, outcomes
            assert outcomes.count(None) == 1, outcomes
            assert [(k.provider_id, k.provider_user_id) for k in left] == refused


def _delete_in_threads(
    pool: ThreadPoolExecutor, lucia: Lucia, pairs: list[tuple[str, str]]
) -> list[Any]:
    # The barrier releases both threads together, so their transactions overlap.
    barrier = threading.Barrier(len(pairs))

    def delete(pair: tuple[str, str]) -> Any:
        barrier.wait()
        try:
            return lucia.delete_key(*pair)
        except LastKeyError as exc:
            return exc

    return [f.result() for f in [pool.submit(delete, p) for p in pairs]]


async def _delete_in_tasks(lucia: AsyncLucia, pairs: list[tuple[str, str]]) -> list[Any]:
    barrier = asyncio.Barrier(len(pairs))

    async def delete(pair: tuple[str, str]) -> Any:
        await barrier.wait()
        return await lucia.delete_key(*pair)

    outcomes = await asyncio.gather(*map(delete, pairs), return_exceptions=True)
    for outcome in outcomes:  # any error but the refusal fails the test
        if isinstance(outcome, BaseException) and not isinstance(outcome, LastKeyError):
            raise outcome
    return list(outcomes)
