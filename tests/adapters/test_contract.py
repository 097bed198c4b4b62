"""The store contract: what a store must implement, and what is optional.

A store with only the required methods serves every request (a joined store
without ``get_session``, a session store without purges); asking it to purge
says what is missing. The shipped stores implement the optional maintenance too.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from datetime import datetime, timedelta
from typing import Any

import pytest

from lucia import AsyncLucia, LastKeyError, Lucia
from lucia.adapters.base import (
    Adapter,
    AsyncAdapter,
    AsyncPurgesSessions,
    AsyncSessionAdapter,
    CreatesTables,
    PurgesSessions,
    PurgesTokens,
    SessionAdapter,
    SessionStore,
    TokenAdapter,
    UserAdapter,
    UserKeyAdapter,
)
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from lucia.integrations.django.adapter import AsyncDjangoAdapter
from lucia.sessions import utc_now

USER_KEYS = {
    "insert_user",
    "get_user",
    "get_user_by_key",
    "update_user_attributes",
    "delete_user",
    "insert_key",
    "get_user_keys",
    "update_key_password",
    "delete_provider_keys",
}
TOKENS = {"insert_token", "consume_token", "delete_user_tokens"}
SESSIONS = {
    "insert_session",
    "get_user_sessions",
    "update_session_expiry",
    "delete_session",
    "delete_user_sessions",
}
JOINED = USER_KEYS | TOKENS | SESSIONS | {"get_session_and_user"}
LONE_SESSIONS = SESSIONS | {"get_session"}


class Only:
    """A store with exactly ``names``, each the same method of ``inner``."""

    def __init__(self, inner: object, names: set[str]) -> None:
        for name in names:
            setattr(self, name, getattr(inner, name))


def test_the_required_methods_are_these_and_each_one_is_required() -> None:
    assert (len(USER_KEYS), len(TOKENS), len(SESSIONS), len(JOINED)) == (9, 3, 5, 18)
    inner = MemoryAdapter()
    assert isinstance(Only(inner, JOINED), Adapter)
    assert isinstance(Only(inner, USER_KEYS | TOKENS), UserAdapter)
    assert isinstance(Only(inner, LONE_SESSIONS), SessionAdapter)
    for protocol, names in (
        (Adapter, JOINED),
        (UserKeyAdapter, USER_KEYS),
        (TokenAdapter, TOKENS),
        (SessionStore, SESSIONS),
        (SessionAdapter, LONE_SESSIONS),
    ):
        for missing in names:
            assert not isinstance(Only(inner, names - {missing}), protocol), (protocol, missing)


def test_a_joined_store_needs_no_lone_session_read_nor_maintenance() -> None:
    inner = MemoryAdapter()
    auth = Lucia(Only(inner, JOINED))  # type: ignore[arg-type]
    user = auth.create_user("email", "ada@example.com", password="correct horse 42")
    session = auth.create_session(user.id)
    assert session.token is not None
    found = auth.validate_session(session.token)
    assert found is not None
    assert found[1].id == user.id
    auth.add_key(user.id, "github", "1")
    auth.delete_key("github", "1")
    assert [key.provider_id for key in auth.get_user_keys(user.id)] == ["email"]
    with pytest.raises(NotImplementedError, match=r"Only cannot purge.*delete_expired_sessions"):
        auth.delete_expired_sessions()
    with pytest.raises(NotImplementedError, match=r"delete_expired_tokens"):
        auth.delete_expired_tokens()
    assert inner.get_session(session.id) is not None  # nothing was purged


def test_an_async_session_store_without_purges_says_so() -> None:
    users = AsyncMemoryAdapter()
    # Sessions through a store of their own (which happens to share the dicts).
    sessions = Only(users, LONE_SESSIONS)
    assert isinstance(sessions, AsyncSessionAdapter)
    assert not isinstance(sessions, AsyncPurgesSessions)

    async def run() -> None:
        auth = AsyncLucia(users, session_adapter=sessions)
        user = await auth.create_user("email", "ada@example.com")
        session = await auth.create_session(user.id)
        assert session.token is not None
        assert await auth.validate_session(session.token) is not None
        with pytest.raises(
            NotImplementedError, match=r"Only cannot purge.*delete_expired_sessions"
        ):
            await auth.delete_expired_sessions()
        assert await auth.delete_expired_tokens() == 0  # the user store purges its own

    asyncio.run(run())


@pytest.mark.parametrize(
    ("cls", "protocol"),
    [
        (MemoryAdapter, Adapter),
        (SQLiteAdapter, Adapter),
        (AsyncMemoryAdapter, AsyncAdapter),
        (AsyncSQLiteAdapter, AsyncAdapter),
    ],
)
def test_the_shipped_stores_implement_the_maintenance_too(cls: Any, protocol: type) -> None:
    store: Any = cls() if cls in (MemoryAdapter, AsyncMemoryAdapter) else cls(":memory:")
    assert isinstance(store, protocol)
    assert isinstance(store, CreatesTables)
    assert isinstance(store, PurgesSessions)
    assert isinstance(store, PurgesTokens)
    assert hasattr(store, "get_session")  # kept for tests and tools, beyond the contract
    store.close()


@pytest.mark.parametrize("cls", [RedisSessionAdapter, AsyncRedisSessionAdapter])
def test_the_redis_session_store_purges_sessions_and_keeps_no_tokens(cls: Any) -> None:
    store: Any = cls("redis://127.0.0.1:6379/0")  # connects at first use: nothing here
    assert isinstance(store, SessionAdapter)
    assert isinstance(store, PurgesSessions)
    assert isinstance(store, CreatesTables)
    assert not isinstance(store, PurgesTokens)
    store.close()


class OldContractStore(Only):
    """A store written for the 23-method contract: all of its methods, with a
    ``delete_key`` and a purge from before batches (``now`` only, no batch method)."""

    def __init__(self) -> None:
        self.inner = MemoryAdapter()
        super().__init__(self.inner, JOINED | {"get_session", "create_tables"})
        self.purged_at: list[datetime] = []

    def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        raise AssertionError("lucia deletes keys through delete_provider_keys")

    def delete_expired_sessions(self, now: datetime) -> int:
        self.purged_at.append(now)
        return self.inner.delete_expired_sessions(now)

    def delete_expired_tokens(self, now: datetime) -> int:
        return self.inner.delete_expired_tokens(now)


def test_a_store_written_for_the_old_contract_still_works() -> None:
    store = OldContractStore()
    assert isinstance(store, Adapter)
    auth = Lucia(store)
    user = auth.create_user("email", "ada@example.com", password="correct horse 42")
    session = auth.create_session(user.id)
    assert session.token is not None
    assert auth.validate_session(session.token) is not None
    auth.add_key(user.id, "github", "1")
    auth.delete_key("github", "1")  # through delete_provider_keys, never delete_key
    with pytest.raises(LastKeyError):
        auth.delete_key("email", "ada@example.com")
    assert [key.provider_id for key in auth.get_user_keys(user.id)] == ["email"]
    assert auth.delete_expired_sessions() == 0
    assert len(store.purged_at) == 1


def test_the_django_wrapper_has_the_purges_its_sync_store_has() -> None:
    """``AsyncDjangoAdapter`` purges batch by batch over a store that deletes one
    batch, in one call over a store with only a whole purge, and over a store
    without any it says so, as any store without them."""
    later = utc_now() + timedelta(days=365)

    async def run() -> None:
        batched = MemoryAdapter()
        whole = OldContractStore()
        bare = Only(MemoryAdapter(), JOINED)
        for sync in (batched, whole):
            wrapper = AsyncDjangoAdapter(sync)  # type: ignore[arg-type]
            # hasattr, as lucia looks: isinstance against the protocol cannot see
            # the wrapper's __getattr__ methods on Python 3.12+.
            assert hasattr(wrapper, "delete_expired_sessions")
            auth = AsyncLucia(wrapper)
            user = await auth.create_user("email", f"{id(sync)}@example.com")
            for _ in range(3):
                await auth.create_session(user.id)
            counts: list[int] = []
            if sync is batched:
                assert await wrapper.delete_expired_sessions(later, 2, counts.append) == 3
                assert counts == [2, 1]
            else:
                assert await wrapper.delete_expired_sessions(later) == 3
                assert whole.purged_at == [later]
        wrapper = AsyncDjangoAdapter(bare)  # type: ignore[arg-type]
        assert not hasattr(wrapper, "delete_expired_sessions")
        with pytest.raises(NotImplementedError, match=r"delete_expired_sessions"):
            await AsyncLucia(wrapper).delete_expired_sessions()

    asyncio.run(run())


def test_a_proxy_store_purges_where_protocol_checks_read_only_the_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python 3.12+ checks a runtime protocol with ``inspect.getattr_static``, which
    does not see the methods a proxy makes in ``__getattr__`` (``AsyncDjangoAdapter``
    makes all of its own so): lucia still finds such a store's purge. Emulated here
    on any Python by giving ``typing`` that static lookup for its ``hasattr``."""
    missing = object()
    monkeypatch.setattr(
        typing,
        "hasattr",
        lambda obj, name: inspect.getattr_static(obj, name, missing) is not missing,
        raising=False,
    )
    now = [utc_now()]

    async def run() -> None:
        wrapper = AsyncDjangoAdapter(MemoryAdapter())
        auth = AsyncLucia(wrapper, clock=lambda: now[0])
        user = await auth.create_user("email", "ada@example.com")
        await auth.create_session(user.id)
        await auth.create_token(user.id, "verify", expires_in=timedelta(hours=1))
        now[0] += timedelta(days=365)
        assert await auth.delete_expired_sessions() == 1
        assert await auth.delete_expired_tokens() == 1

    asyncio.run(run())
