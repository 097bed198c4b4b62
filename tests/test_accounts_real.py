"""lucia.accounts and lucia.tokens over real servers: PostgreSQL users, Redis sessions.

Issue 14 item 8 (a sign-up completes or leaves nothing, with the session store
down) and SECURITY.md 46 (credential changes revoke tokens), sync and async.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lucia import accounts, tokens
from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.core import AsyncLucia, Lucia
from lucia.errors import DatabaseError, InvalidTokenError
from tests.conformance.backends_postgres import _async_postgres, _postgres
from tests.conformance.model import Stores
from tests.conftest import Harness

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def users(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    opened = _postgres if mode == "sync" else _async_postgres
    with opened(request, tmp_path) as stores:
        yield stores


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lucia(mode: str, users: Stores, url: str, prefix: str) -> Any:
    if mode == "sync":
        return Lucia(users.adapter, session_adapter=RedisSessionAdapter(url, prefix=prefix))
    return AsyncLucia(users.adapter, session_adapter=AsyncRedisSessionAdapter(url, prefix=prefix))


async def run(auth: Any, module: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    if isinstance(auth, AsyncLucia):
        return await getattr(module, "a" + name)(auth, *args, **kwargs)
    return getattr(module, name)(auth, *args, **kwargs)


async def _close(auth: Any) -> None:
    adapter = auth.session_adapter
    if isinstance(adapter, AsyncRedisSessionAdapter):
        await adapter.aclose()
    else:
        adapter.close()


async def test_a_sign_up_with_redis_down_leaves_no_account_in_postgres(
    mode: str, users: Stores, redis_url: str, redis_prefix: str
) -> None:
    down = _lucia(mode, users, f"redis://127.0.0.1:{_closed_port()}/0", redis_prefix)
    with pytest.raises(DatabaseError):
        await run(down, accounts, "sign_up", "ada@example.com", PASSWORD)
    await _close(down)
    lucia = Harness(down)
    assert await lucia.get_user_by_key("email", "ada@example.com") is None
    # Redis is back: the retry signs up (before the fix: 409 "email taken").
    up = _lucia(mode, users, redis_url, redis_prefix)
    signed = await run(up, accounts, "sign_up", "ada@example.com", PASSWORD)
    assert await Harness(up).validate_session(signed.session.token) is not None
    await _close(up)


async def test_sec46_credential_changes_revoke_tokens_in_postgres(
    mode: str, users: Stores, redis_url: str, redis_prefix: str
) -> None:
    auth = _lucia(mode, users, redis_url, redis_prefix)
    signed = await run(auth, accounts, "sign_up", "ada@example.com", PASSWORD)
    user_id = signed.user.id
    # A password change revokes the reset link mailed before it.
    reset = await run(auth, tokens, "create_password_reset_token", "ada@example.com")
    await run(auth, accounts, "change_password", user_id, "ada@example.com", PASSWORD, NEW_PASSWORD)
    with pytest.raises(InvalidTokenError):
        await run(auth, tokens, "reset_password", reset.token, "attacker's pick 123")
    # A reset still works after the change, and signs in with the new password.
    first = await run(auth, tokens, "create_password_reset_token", "ada@example.com")
    await run(auth, tokens, "reset_password", first.token, PASSWORD)
    # An email change revokes verification (and reset) links and names the old address.
    verification, _ = await run(auth, tokens, "create_email_verification_token", user_id)
    change = await run(
        auth, accounts, "change_email", user_id, "ada@example.com", PASSWORD, "ada@new.example"
    )
    assert change.previous_email == "ada@example.com"
    with pytest.raises(InvalidTokenError):
        await run(auth, tokens, "verify_email", verification)
    assert (await run(auth, accounts, "sign_in", "ada@new.example", PASSWORD)).user.id == user_id
    await _close(auth)


async def test_a_plain_sign_up_replaces_an_unfinished_one_in_postgres(
    mode: str, users: Stores, redis_url: str, redis_prefix: str
) -> None:
    # The account-to-be goes with its link (the token's row) from PostgreSQL.
    auth = _lucia(mode, users, redis_url, redis_prefix)
    lucia = Harness(auth)
    mail = await run(auth, tokens, "request_sign_up", "ada@example.com")
    pending = await lucia.get_user_by_key("email", "ada@example.com")
    signed = await run(auth, accounts, "sign_up", "ada@example.com", PASSWORD)
    assert signed.user.id != pending.id
    assert await lucia.get_user(pending.id) is None
    with pytest.raises(InvalidTokenError):
        await run(auth, tokens, "complete_sign_up", mail.token, NEW_PASSWORD)
    assert (await run(auth, accounts, "sign_in", "ada@example.com", PASSWORD)).user.id == (
        signed.user.id
    )
    await _close(auth)
