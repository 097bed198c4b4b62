"""Deliberately wrong calls against the real lucia: ``mypy --strict`` must report
every line marked ``# wrong`` and no other (checked by test_wrong_calls.py; never run)."""

from __future__ import annotations

from datetime import datetime

from lucia import AsyncLucia, Lucia, Session, User
from lucia.adapters.base import (
    Adapter,
    AsyncAdapter,
    AsyncPurgesSessions,
    AsyncSessionAdapter,
    KeyRecord,
)


async def async_store_calls(adapter: AsyncAdapter, user_id: str) -> None:
    await adapter.get_usr(user_id)  # wrong
    await adapter.get_user_by_key(user_id, 42)  # wrong
    found: int = await adapter.get_user_by_key("email", user_id)  # wrong
    adapter.get_user(user_id)  # wrong
    pair = await adapter.get_user_by_key("email", user_id)  # right: nothing reported here
    if pair is not None:
        key: KeyRecord = pair[1]
        print(key.provider_id, found)


async def async_session_store_calls(
    store: AsyncSessionAdapter, purges: AsyncPurgesSessions, now: datetime
) -> None:
    await purges.delete_expired_sessions(now, "1000")  # wrong
    count: str = await purges.delete_expired_sessions(now)  # wrong
    store.delete_session("id")  # wrong
    print(await purges.delete_expired_sessions(now, 100), count)


def sync_store_calls(adapter: Adapter, user_id: str) -> None:
    adapter.get_usr(user_id)  # wrong
    adapter.update_session_expiry(user_id, "tomorrow")  # wrong
    user: str | None = adapter.get_user(user_id)  # wrong
    print(adapter.get_session_and_user(user_id), user)


async def async_lucia_calls(auth: AsyncLucia, token: str) -> None:
    await auth.validate_sesion(token)  # wrong
    await auth.create_session(42)  # wrong
    session: Session | None = await auth.get_user("id")  # wrong
    auth.invalidate_session("id")  # wrong
    found = await auth.validate_session(token)
    if found is not None:
        user: User = found[1]
        print(user.id, session)


def sync_lucia_calls(auth: Lucia, token: str) -> None:
    auth.create_user("email", 1)  # wrong
    created: int = auth.create_session("id")  # wrong
    auth.delete_key("email")  # wrong
    awaited = auth.validate_session_tokens([token])
    print(awaited[0] if awaited else None, created)  # right: the sync result is no coroutine
