"""Concurrent sign-ins of one new identity make exactly one user, on every store."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lucia import AsyncLucia, Lucia
from tests.conformance.backends import Backend, Stores
from tests.conftest import Clock

SIGN_INS = 50


async def test_concurrent_first_sign_ins_make_one_user(
    backend: Backend, lucia: Lucia | AsyncLucia, stores: Stores, tmp_path: Path, clock: Clock
) -> None:
    if isinstance(lucia, AsyncLucia):
        results = await asyncio.gather(
            *(lucia.get_or_create_user("github", "12345") for _ in range(SIGN_INS))
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
    if isinstance(lucia, AsyncLucia):
        user = await lucia.create_user("github", "1")
        sessions = await asyncio.gather(*(lucia.create_session(user.id) for _ in range(100)))
        found = await asyncio.gather(*(lucia.validate_session(s.token) for s in sessions))
    else:
        user = lucia.create_user("github", "1")
        with ThreadPoolExecutor(max_workers=16) as pool:
            sessions = list(pool.map(lambda _: lucia.create_session(user.id), range(100)))
            found = list(pool.map(lambda s: lucia.validate_session(s.token), sessions))
    assert len({s.id for s in sessions}) == 100
    assert all(f is not None and f[1].id == user.id for f in found)
