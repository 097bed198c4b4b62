"""Purges in bounded batches, on every store (issue 14, item 12): a purge of many
expired sessions (or tokens) removes all and only the expired ones, reports the
right total, and deletes at most ``batch_size`` per batch: the batches are
counted through the progress callback, not timed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from lucia.adapters.base import PURGE_BATCH_SIZE, SessionRecord, TokenRecord
from tests.conftest import Clock, Harness

EXPIRED = 400
BATCH = 100
LIVE = 25
USERS = 5


def _session(index: int, user_id: str, created: Clock, life: timedelta) -> SessionRecord:
    created_at = created.now.replace(microsecond=0)
    return SessionRecord(
        f"purge-{index:014d}",
        user_id,
        created_at + life,
        created_at,
        secret_hash=bytes(32),
    )


async def test_purge_deletes_all_and_only_the_expired_sessions_in_batches(
    auth: Harness, store: Harness, clock: Clock
) -> None:
    users = [await auth.create_user("github", f"purge-{i}") for i in range(USERS)]
    # Expired an hour ago by lucia's clock; the live ones have an hour left.
    created = Clock(clock.now - timedelta(hours=3))
    for index in range(EXPIRED):
        await store.insert_session(
            _session(index, users[index % USERS].id, created, timedelta(hours=2))
        )
    live = [
        _session(EXPIRED + index, users[index % USERS].id, created, timedelta(hours=4))
        for index in range(LIVE)
    ]
    for record in live:
        await store.insert_session(record)

    batches: list[int] = []
    assert await auth.delete_expired_sessions(batch_size=BATCH, progress=batches.append) == EXPIRED
    assert batches == [BATCH] * (EXPIRED // BATCH)

    remaining = [s.id for user in users for s in await auth.get_user_sessions(user.id)]
    assert sorted(remaining) == sorted(r.id for r in live)
    assert await store.get_session(_session(0, users[0].id, created, timedelta()).id) is None
    # Nothing left to purge; the default batch size works too.
    batches.clear()
    assert await auth.delete_expired_sessions(progress=batches.append) == 0
    assert batches == []
    assert await auth.delete_expired_sessions() == 0


async def test_a_purge_smaller_than_a_batch_is_one_batch(
    auth: Harness, store: Harness, clock: Clock
) -> None:
    user = await auth.create_user("github", "purge-small")
    created = Clock(clock.now - timedelta(hours=3))
    for index in range(7):
        await store.insert_session(_session(index, user.id, created, timedelta(hours=2)))
    batches: list[int] = []
    assert await store.delete_expired_sessions(clock.now, 3, batches.append) == 7
    assert batches == [3, 3, 1]
    assert await auth.get_user_sessions(user.id) == []


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True])
async def test_a_bad_batch_size_is_refused(
    auth: Harness, store: Harness, clock: Clock, batch_size: object
) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        await store.delete_expired_sessions(clock.now, batch_size)


async def test_purge_deletes_all_and_only_the_expired_tokens_in_batches(
    auth: Harness, user_store: Harness, clock: Clock
) -> None:
    user = await auth.create_user("github", "purge-tokens")
    now = clock.now.replace(microsecond=0)
    expired, live, batch = 250, 10, 100
    for index in range(expired + live):
        life = timedelta(hours=-1 if index < expired else 1)
        await user_store.insert_token(
            TokenRecord(
                index.to_bytes(32, "big"), user.id, "reset", now + life, now - timedelta(hours=2)
            )
        )
    batches: list[int] = []
    assert await user_store.delete_expired_tokens(now, batch, batches.append) == expired
    assert batches == [100, 100, 50]
    # The live ones are still there: each can be consumed once.
    for index in range(expired, expired + live):
        assert await user_store.consume_token(index.to_bytes(32, "big"), "reset", now) is not None
    assert await user_store.delete_expired_tokens(now) == 0


def test_the_default_batch_is_bounded() -> None:
    assert 100 <= PURGE_BATCH_SIZE <= 10_000
