"""The absolute session lifetime (SECURITY.md item 44): on by default, never passed by
renewal, refused (and the row deleted) past it, and the cookie never outlives it.
Sync and async, the direct validation path (one store) and the flow (a separate
session store) alike. The same on every store: tests/conformance/test_session_lifetime.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.sessions import DEFAULT_ABSOLUTE_LIFETIME
from tests.conftest import Clock

Resolve = Callable[[Any], Any]


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> Iterator[tuple[str, Resolve]]:
    if request.param == "sync":
        yield "sync", lambda value: value
        return
    with asyncio.Runner() as runner:
        yield "async", runner.run


def _make(
    flavour: tuple[str, Resolve], store: Any, *, joined: bool = True, **options: Any
) -> Lucia | AsyncLucia:
    """A Lucia of the flavour over ``store``; ``joined=False`` names it as a separate
    session store too, so validation runs the flow instead of the direct path."""
    session_adapter = None if joined else store
    if flavour[0] == "sync":
        return Lucia(store, session_adapter=session_adapter, **options)
    return AsyncLucia(store, session_adapter=session_adapter, **options)


def _store(flavour: tuple[str, Resolve]) -> Any:
    return MemoryAdapter() if flavour[0] == "sync" else AsyncMemoryAdapter()


def test_sec44_absolute_lifetime_is_on_by_default() -> None:
    assert timedelta(days=90) == DEFAULT_ABSOLUTE_LIFETIME
    for auth in (Lucia(MemoryAdapter()), AsyncLucia(AsyncMemoryAdapter())):
        assert auth.session_policy.absolute_lifetime == DEFAULT_ABSOLUTE_LIFETIME
        assert auth.session_policy.absolute_lifetime >= auth.session_policy.expires_in


@pytest.mark.parametrize("joined", [True, False], ids=["direct", "flow"])
def test_sec44_a_session_used_every_day_dies_at_the_default_absolute_end(
    flavour: tuple[str, Resolve], clock: Clock, joined: bool
) -> None:
    resolve = flavour[1]
    auth = _make(flavour, _store(flavour), joined=joined, clock=clock)
    user = resolve(auth.create_user("github", "1"))
    session = resolve(auth.create_session(user.id))
    end = session.created_at + DEFAULT_ABSOLUTE_LIFETIME
    renewals = 0
    while clock.now + timedelta(days=1) < end:
        clock.advance(days=1)
        found = resolve(auth.validate_session(session.token))
        assert found is not None, clock.now - session.created_at
        renewals += found[0].fresh
        assert found[0].expires_at <= end
        assert auth.create_session_cookie(session).attributes.max_age is not None
    assert renewals > 2  # it did slide, up to the cap
    clock.now = end
    assert resolve(auth.validate_session(session.token)) is None
    assert resolve(auth.session_adapter.get_session(session.id)) is None


@pytest.mark.parametrize("joined", [True, False], ids=["direct", "flow"])
def test_sec44_a_row_past_its_absolute_end_is_refused_and_deleted(
    flavour: tuple[str, Resolve], clock: Clock, joined: bool
) -> None:
    # A row renewed while no cap (or a longer one) was configured: its expiry
    # lies beyond the absolute end lucia has now. Validation goes by the end.
    resolve = flavour[1]
    store = _store(flavour)
    life = timedelta(hours=2)
    before = _make(
        flavour, store, clock=clock, session_expires_in=life, session_absolute_lifetime=None
    )
    now = _make(
        flavour,
        store,
        joined=joined,
        clock=clock,
        session_expires_in=life,
        session_absolute_lifetime=timedelta(hours=3),
    )
    user = resolve(before.create_user("github", "1"))
    session = resolve(before.create_session(user.id))
    clock.advance(hours=1, minutes=10)
    renewed, _ = resolve(before.validate_session(session.token))
    assert renewed.expires_at == session.created_at + timedelta(hours=3, minutes=10)
    clock.advance(minutes=50)  # two hours in: one hour of absolute life left
    assert resolve(now.validate_session(session.token)) is not None
    # The cookie's Max-Age is the hour left, not the 1 h 10 min of the row's expiry.
    assert now.create_session_cookie(renewed).attributes.max_age == 3600
    assert before.create_session_cookie(renewed).attributes.max_age == 4200
    clock.advance(hours=1)  # at the absolute end, ten minutes before the row's expiry
    assert resolve(now.validate_session(session.token)) is None
    assert resolve(store.get_session(session.id)) is None


def test_sec44_renewal_never_passes_the_absolute_end(
    flavour: tuple[str, Resolve], clock: Clock
) -> None:
    resolve = flavour[1]
    auth = _make(
        flavour,
        _store(flavour),
        clock=clock,
        session_expires_in=timedelta(hours=2),
        session_absolute_lifetime=timedelta(hours=5),
    )
    user = resolve(auth.create_user("github", "1"))
    session = resolve(auth.create_session(user.id))
    end = session.created_at + timedelta(hours=5)
    renewals = 0
    while clock.now + timedelta(minutes=70) < end:  # used every 70 minutes: it slides
        clock.advance(minutes=70)
        found = resolve(auth.validate_session(session.token))
        assert found is not None
        assert found[0].expires_at <= end
        if found[0].fresh:  # renewed: its cookie is sent again, never past the end
            renewals += 1
            max_age = auth.create_session_cookie(found[0]).attributes.max_age
            assert max_age is not None
            assert clock.now + timedelta(seconds=max_age) <= end
    assert renewals >= 2
    clock.now = end
    assert resolve(auth.validate_session(session.token)) is None


def test_sec44_an_absolute_lifetime_shorter_than_the_idle_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least session_expires_in"):
        Lucia(MemoryAdapter(), session_absolute_lifetime=timedelta(days=7))
    with pytest.raises(ValueError, match="at least session_expires_in"):
        AsyncLucia(AsyncMemoryAdapter(), session_expires_in=timedelta(days=365))
    # Equal is fine (no sliding); so is the explicit opt-out (weaker, documented).
    Lucia(MemoryAdapter(), session_absolute_lifetime=timedelta(days=30))
    Lucia(MemoryAdapter(), session_expires_in=timedelta(days=365), session_absolute_lifetime=None)


def test_sec44_no_cap_only_when_asked_for(clock: Clock) -> None:
    auth = Lucia(MemoryAdapter(), clock=clock, session_absolute_lifetime=None)
    session = auth.create_session(auth.create_user("github", "1").id)
    for _ in range(40):  # 200 days, used every 5
        clock.advance(days=5)
        assert auth.validate_session(session.token) is not None
