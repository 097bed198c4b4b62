"""One-time tokens: the same behaviour on every store, sync and async.

Single use (also under concurrency), expiry with an injected clock, purposes,
cascading deletes, and only the SHA-256 of a token in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple
from datetime import timedelta
from typing import Any

import pytest

from lucia import AsyncLucia, Lucia, UserNotFoundError
from lucia.adapters.memory import MemoryAdapter
from lucia.adapters.sql.engine import AsyncSQLAdapter, SQLAdapter
from lucia.errors import InvalidTokenError
from lucia.models import Token
from tests.conformance.model import Stores
from tests.conftest import Clock, Harness

LIFE = timedelta(hours=1)
RACERS = 16
ROUNDS = 4


async def raw_token_rows(stores: Stores) -> list[tuple[Any, ...]]:
    """Every row of the token table as the store keeps it, read around lucia's mapping."""
    outer = stores.adapter
    adapter = getattr(outer, "sync", outer)  # async wrappers over a sync adapter
    if isinstance(adapter, MemoryAdapter):
        return [astuple(record) for record in adapter._tokens.values()]

    sql = f"SELECT * FROM {adapter.tables.token}"
    if isinstance(adapter, AsyncSQLAdapter):
        rows = await adapter._all(sql, ())
    else:
        assert isinstance(adapter, SQLAdapter), adapter
        if type(outer).__name__ == "AsyncDjangoAdapter":  # on Django's sync thread
            from asgiref.sync import sync_to_async

            rows = await sync_to_async(adapter._all, thread_sensitive=True)(sql, ())
        else:
            rows = adapter._all(sql, ())
    return [tuple(row) for row in rows]


async def test_a_token_is_consumed_once(auth: Harness, clock: Clock) -> None:
    user = await auth.create_user("github", "1")
    data = {"email": "ada@example.com", "nested": {"n": [1, 2]}, "name": "Ada ✓"}
    token = await auth.create_token(user.id, "reset", expires_in=LIFE, data=data)
    assert isinstance(token, str)
    assert len(token) == 43  # 32 bytes, base64url without padding
    consumed = await auth.consume_token(token, "reset")
    assert consumed == Token(user.id, "reset", clock.now.replace(microsecond=0) + LIFE, data)
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(token, "reset")


async def test_tokens_are_distinct_and_independent(auth: Harness) -> None:
    user = await auth.create_user("github", "1")
    tokens = [await auth.create_token(user.id, "verify", expires_in=LIFE) for _ in range(5)]
    assert len(set(tokens)) == 5
    for token in reversed(tokens):
        assert (await auth.consume_token(token, "verify")).data == {}


async def test_only_the_hash_of_a_token_is_stored(auth: Harness, stores: Stores) -> None:
    user = await auth.create_user("github", "1")
    token = await auth.create_token(user.id, "reset", expires_in=LIFE, data={"k": "v"})
    (row,) = await raw_token_rows(stores)
    assert hashlib.sha256(token.encode()).digest() in [
        bytes(v) for v in row if isinstance(v, bytes | memoryview)
    ]
    raw = repr(row)
    assert token not in raw
    assert token.encode() not in b"".join(v for v in row if isinstance(v, bytes))
    await auth.consume_token(token, "reset")
    assert await raw_token_rows(stores) == []


async def test_concurrent_consumers_exactly_one_wins(lucia: Lucia | AsyncLucia) -> None:
    user = lucia.create_user("github", "1")
    if isinstance(lucia, AsyncLucia):
        user = await user
    for _ in range(ROUNDS):
        if isinstance(lucia, AsyncLucia):
            token = await lucia.create_token(user.id, "reset", expires_in=LIFE)
            outcomes = await asyncio.gather(
                *(lucia.consume_token(token, "reset") for _ in range(RACERS)),
                return_exceptions=True,
            )
        else:
            token = lucia.create_token(user.id, "reset", expires_in=LIFE)
            outcomes = _race_in_threads(lucia, token)
        winners = [o for o in outcomes if isinstance(o, Token)]
        losers = [o for o in outcomes if isinstance(o, InvalidTokenError)]
        assert len(winners) == 1, outcomes
        assert len(losers) == RACERS - 1, outcomes
        assert winners[0].user_id == user.id


def _race_in_threads(lucia: Lucia, token: str) -> list[Any]:
    # A barrier starts the consumers together, so they race for the DELETE.
    barrier = threading.Barrier(RACERS)

    def consume() -> Any:
        barrier.wait()
        try:
            return lucia.consume_token(token, "reset")
        except InvalidTokenError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(lambda _: consume(), range(RACERS)))


async def test_an_expired_token_is_refused_and_deleted(
    auth: Harness, clock: Clock, stores: Stores
) -> None:
    user = await auth.create_user("github", "1")
    token = await auth.create_token(user.id, "reset", expires_in=LIFE)
    clock.advance(hours=1)  # exactly at the expiry: already expired
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(token, "reset")
    assert await raw_token_rows(stores) == []
    clock.advance(hours=-1)  # even back in its lifetime, it is gone
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(token, "reset")


async def test_a_token_just_before_expiry_is_accepted(auth: Harness, clock: Clock) -> None:
    user = await auth.create_user("github", "1")
    token = await auth.create_token(user.id, "reset", expires_in=LIFE)
    clock.advance(minutes=59, seconds=59)
    assert (await auth.consume_token(token, "reset")).user_id == user.id


async def test_a_wrong_purpose_is_refused_and_leaves_the_token(auth: Harness) -> None:
    user = await auth.create_user("github", "1")
    token = await auth.create_token(user.id, "email_verification", expires_in=LIFE)
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(token, "password_reset")
    assert (await auth.consume_token(token, "email_verification")).user_id == user.id


async def test_every_refusal_is_the_same_error(auth: Harness, clock: Clock) -> None:
    user = await auth.create_user("github", "1")
    used = await auth.create_token(user.id, "reset", expires_in=LIFE)
    await auth.consume_token(used, "reset")
    other_purpose = await auth.create_token(user.id, "verify", expires_in=LIFE)
    expired = await auth.create_token(user.id, "reset", expires_in=timedelta(seconds=1))
    clock.advance(seconds=5)
    unknown = "A" * 43
    errors = set()
    for token in ["", "short", used + "x", "é" * 43, None, 42, unknown, used, other_purpose]:
        with pytest.raises(InvalidTokenError) as caught:
            await auth.consume_token(token, "reset")
        errors.add((caught.value.code, str(caught.value), repr(caught.value)))
    with pytest.raises(InvalidTokenError) as caught:
        await auth.consume_token(expired, "reset")
    errors.add((caught.value.code, str(caught.value), repr(caught.value)))
    assert len(errors) == 1
    (code, message, _), *_ = errors
    assert code == "AUTH_INVALID_TOKEN"
    assert used not in message


async def test_deleting_the_user_deletes_its_tokens(auth: Harness, stores: Stores) -> None:
    user = await auth.create_user("github", "1")
    other = await auth.create_user("github", "2")
    token = await auth.create_token(user.id, "reset", expires_in=LIFE)
    kept = await auth.create_token(other.id, "reset", expires_in=LIFE)
    await auth.delete_user(user.id)
    assert len(await raw_token_rows(stores)) == 1
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(token, "reset")
    assert (await auth.consume_token(kept, "reset")).user_id == other.id


async def test_a_token_needs_an_existing_user(auth: Harness, stores: Stores) -> None:
    with pytest.raises(UserNotFoundError):
        await auth.create_token("no-such-user", "reset", expires_in=LIFE)
    assert await raw_token_rows(stores) == []


async def test_delete_user_tokens_takes_one_purpose_of_one_user(auth: Harness) -> None:
    ada = await auth.create_user("github", "1")
    bob = await auth.create_user("github", "2")
    ada_reset = [await auth.create_token(ada.id, "reset", expires_in=LIFE) for _ in range(2)]
    ada_verify = await auth.create_token(ada.id, "verify", expires_in=LIFE)
    bob_reset = await auth.create_token(bob.id, "reset", expires_in=LIFE)
    await auth.delete_user_tokens(ada.id, "reset")
    for token in ada_reset:
        with pytest.raises(InvalidTokenError):
            await auth.consume_token(token, "reset")
    assert (await auth.consume_token(ada_verify, "verify")).user_id == ada.id
    assert (await auth.consume_token(bob_reset, "reset")).user_id == bob.id


async def test_delete_expired_tokens(auth: Harness, clock: Clock, stores: Stores) -> None:
    user = await auth.create_user("github", "1")
    for _ in range(2):
        await auth.create_token(user.id, "reset", expires_in=timedelta(minutes=5))
    lasting = await auth.create_token(user.id, "reset", expires_in=timedelta(days=1))
    clock.advance(minutes=5)
    assert await auth.delete_expired_tokens() == 2
    assert await auth.delete_expired_tokens() == 0
    assert len(await raw_token_rows(stores)) == 1
    assert (await auth.consume_token(lasting, "reset")).user_id == user.id


async def test_sessions_and_tokens_do_not_mix(auth: Harness) -> None:
    # A session token is not a one-time token, and revoking sessions keeps tokens.
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    token = await auth.create_token(user.id, "reset", expires_in=LIFE)
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(session.token, "reset")
    await auth.invalidate_user_sessions(user.id)
    assert await auth.validate_session(token) is None
    assert (await auth.consume_token(token, "reset")).user_id == user.id
