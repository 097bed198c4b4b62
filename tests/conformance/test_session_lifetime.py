"""The absolute session lifetime on every store (SECURITY.md items 44 and 10): renewal
never passes it, a row past it is refused and deleted, and a Redis key never
outlives it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lucia import AsyncLucia, Lucia
from tests.conformance.model import Backend, Stores
from tests.conftest import Clock, Harness

LIFE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=5)


def _lucia(backend: Backend, stores: Stores, clock: Clock, absolute: timedelta | None) -> Harness:
    cls: Any = AsyncLucia if backend.is_async else Lucia
    return Harness(
        cls(
            stores.adapter,
            session_adapter=stores.session_adapter,
            clock=clock,
            session_expires_in=LIFE,
            session_absolute_lifetime=absolute,
        )
    )


def _redis_expiry_ms(request: pytest.FixtureRequest, stores: Stores, session_id: str) -> int | None:
    """When Redis will drop the session's key (Unix ms), when sessions live in Redis."""
    keys = getattr(stores.session_adapter, "keys", None)
    if keys is None:
        return None
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        return int(client.pexpiretime(keys.session(session_id)))
    finally:
        client.close()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def test_sec44_renewal_never_passes_the_absolute_lifetime(
    backend: Backend, stores: Stores, clock: Clock, store: Harness, request: pytest.FixtureRequest
) -> None:
    # Started on the real clock, so that Redis, which expires keys by its own
    # clock, keeps the session's times as they are (see lucia.adapters.redis).
    clock.now = datetime.now(UTC)
    auth = _lucia(backend, stores, clock, ABSOLUTE)
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    end: datetime = session.created_at + ABSOLUTE
    renewals = 0
    while clock.now + timedelta(minutes=70) < end:  # used every 70 minutes: it slides
        clock.advance(minutes=70)
        found = await auth.validate_session(session.token)
        assert found is not None
        renewals += found[0].fresh
        assert found[0].expires_at <= end
        assert (await store.get_session(session.id)).expires_at <= end
        key_expiry = _redis_expiry_ms(request, stores, session.id)
        if key_expiry is not None:  # SECURITY item 10: the Redis TTL <= the absolute end
            assert 0 < key_expiry <= _ms(end)
    assert renewals >= 2
    clock.now = end
    assert await auth.validate_session(session.token) is None
    assert await store.get_session(session.id) is None


async def test_sec44_a_row_past_its_absolute_end_is_refused_and_deleted(
    backend: Backend, stores: Stores, clock: Clock, store: Harness
) -> None:
    # Renewed while no cap was configured, its expiry lies past the end that
    # the cap configured now gives it: the end decides.
    before = _lucia(backend, stores, clock, None)
    now = _lucia(backend, stores, clock, timedelta(hours=3))
    user = await before.create_user("github", "1")
    session = await before.create_session(user.id)
    clock.advance(hours=1, minutes=10)
    renewed, _ = await before.validate_session(session.token)
    assert renewed.expires_at == session.created_at + timedelta(hours=3, minutes=10)
    clock.advance(minutes=50)
    assert await now.validate_session(session.token) is not None
    assert (await now.create_session_cookie(renewed)).attributes.max_age == 3600
    clock.advance(hours=1)  # the absolute end; the row's expiry is ten minutes on
    assert await now.validate_session(session.token) is None
    assert await store.get_session(session.id) is None
