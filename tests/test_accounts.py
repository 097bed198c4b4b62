"""lucia.accounts: password sign-up, sign-in and change, with Lucia and with AsyncLucia.

Every test runs twice: once through the sync functions on ``Lucia`` over a
``MemoryAdapter``, once through the ``a``-prefixed ones on ``AsyncLucia`` over
an ``AsyncMemoryAdapter`` sharing the same kind of store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from lucia import accounts
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.core import AsyncLucia, Lucia
from lucia.errors import (
    DatabaseError,
    InvalidCredentialsError,
    InvalidPasswordError,
    InvalidTokenError,
)
from lucia.models import Key
from lucia.oauth.flow import EMAIL_PROVIDER_ID
from lucia.sessions import utc_now
from tests.conftest import Clock, Harness

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"


@dataclass
class Env:
    """The store, the lucia object behind a Harness, and the accounts functions to call."""

    store: MemoryAdapter
    auth: Lucia | AsyncLucia
    lucia: Harness
    mode: str
    clock: Clock

    async def run(self, module: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        """``module.name`` (``module.a<name>``, awaited, in async mode) on this lucia."""
        fn: Callable[..., Any] = getattr(module, name if self.mode == "sync" else "a" + name)
        result = fn(self.auth, *args, **kwargs)
        if self.mode == "async":
            result = await result
        return result

    async def call(self, name: str, *args: Any, **kwargs: Any) -> accounts.SignedIn:
        result = await self.run(accounts, name, *args, **kwargs)
        assert isinstance(result, accounts.SignedIn)
        return result

    async def sign_up(self, email: str = "ada@example.com", **kwargs: Any) -> accounts.SignedIn:
        return await self.call("sign_up", email, PASSWORD, **kwargs)


E = TypeVar("E", bound=Env)


def make_env(mode: str, kind: type[E]) -> E:
    """A ``kind`` over a fresh memory store: ``Lucia`` (mode "sync") or ``AsyncLucia``."""
    store = MemoryAdapter()
    clock = Clock(utc_now().replace(microsecond=0))
    auth: Lucia | AsyncLucia = (
        Lucia(store, clock=clock)
        if mode == "sync"
        else AsyncLucia(AsyncMemoryAdapter(store), clock=clock)
    )
    return kind(store, auth, Harness(auth), mode, clock)


@pytest.fixture(params=["sync", "async"])
def env(request: pytest.FixtureRequest) -> Env:
    return make_env(request.param, Env)


async def valid(env: Env, token: str | None) -> bool:
    assert token is not None
    return await env.lucia.validate_session(token) is not None


# Sign-up


async def test_sign_up_creates_an_unverified_email_account_and_a_session(env: Env) -> None:
    signed = await env.sign_up(
        "  Ada@Example.COM ",
        attributes={"name": "Ada", "email_verified": True, "email": "x@evil.example"},
        session_attributes={"ip": "192.0.2.1"},
    )
    assert signed.user.attributes == {
        "name": "Ada",
        "email": "ada@example.com",
        "email_verified": False,
    }
    owner = await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "ada@example.com")
    assert owner is not None
    assert owner.id == signed.user.id
    assert signed.session.attributes == {"ip": "192.0.2.1"}
    assert signed.cookie.name == env.auth.session_cookie_name
    assert signed.cookie.value == signed.session.token
    assert await valid(env, signed.session.token)
    assert signed.session.token not in repr(signed)


async def test_sign_up_with_a_taken_email_is_a_typed_error(env: Env) -> None:
    await env.sign_up()
    with pytest.raises(accounts.EmailTakenError) as caught:
        await env.sign_up("ADA@example.com")
    assert caught.value.code == "AUTH_EMAIL_TAKEN"
    assert len(env.store._users) == 1


@pytest.mark.parametrize(
    "email", ["", "no-at-sign", "@example.com", "ada@", "\uff41da@example.com"]
)
async def test_sign_up_refuses_invalid_addresses(env: Env, email: str) -> None:
    with pytest.raises(accounts.InvalidEmailError) as caught:
        await env.sign_up(email)
    assert caught.value.code == "AUTH_INVALID_EMAIL"
    assert env.store._users == {}


async def test_sign_up_refuses_a_weak_password_with_its_reason(env: Env) -> None:
    with pytest.raises(InvalidPasswordError) as caught:
        await env.call("sign_up", "ada@example.com", "short")
    assert caught.value.reason == "too_short"
    assert env.store._users == {}
    assert env.store._sessions == {}


# Sign-in


async def test_sign_in_with_the_right_password(env: Env) -> None:
    user_id = (await env.sign_up()).user.id
    signed = await env.call("sign_in", "ADA@example.com ", PASSWORD)
    assert signed.user.id == user_id
    assert await valid(env, signed.session.token)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "not the password at all"),
        ("bob@example.com", PASSWORD),
        ("not an address", PASSWORD),
        ("ada@example.com", ""),
    ],
    ids=["wrong-password", "unknown-email", "invalid-email", "empty-password"],
)
async def test_sign_in_failures_are_indistinguishable(env: Env, email: str, password: str) -> None:
    await env.sign_up()
    sessions_before = dict(env.store._sessions)
    with pytest.raises(InvalidCredentialsError) as caught:
        await env.call("sign_in", email, password)
    assert caught.value.code == "AUTH_INVALID_CREDENTIALS"
    assert caught.value.message == "invalid credentials"
    assert env.store._sessions == sessions_before


async def test_sec1_sign_in_replaces_current_session(env: Env) -> None:
    first = await env.sign_up()
    signed = await env.call(
        "sign_in", "ada@example.com", PASSWORD, current_session_id=first.session.id
    )
    assert signed.session.id != first.session.id
    assert not await valid(env, first.session.token)
    assert await valid(env, signed.session.token)


async def test_sec1_failed_sign_in_keeps_the_current_session(env: Env) -> None:
    first = await env.sign_up()
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", "ada@example.com", "wrong", current_session_id=first.session.id)
    assert await valid(env, first.session.token)


# Password change


async def test_sec19_change_requires_current_password(env: Env) -> None:
    first = await env.sign_up()
    with pytest.raises(InvalidCredentialsError):
        await env.call(
            "change_password", first.user.id, "ada@example.com", "wrong guess", NEW_PASSWORD
        )
    # Nothing changed: the old password still works, the new one does not, the session lives.
    assert await valid(env, first.session.token)
    await env.call("sign_in", "ada@example.com", PASSWORD)
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", "ada@example.com", NEW_PASSWORD)


async def test_sec19_change_refuses_another_users_account(env: Env) -> None:
    ada = await env.sign_up()
    await env.sign_up("eve@example.com")
    # Eve knows her own password; that does not let Ada's session change Eve's key.
    with pytest.raises(InvalidCredentialsError):
        await env.call("change_password", ada.user.id, "eve@example.com", PASSWORD, NEW_PASSWORD)
    await env.call("sign_in", "eve@example.com", PASSWORD)


async def test_sec6_change_revokes_other_sessions(env: Env) -> None:
    first = await env.sign_up()
    other_device = await env.call("sign_in", "ada@example.com", PASSWORD)
    changed = await env.call(
        "change_password",
        first.user.id,
        "ada@example.com",
        PASSWORD,
        NEW_PASSWORD,
        session_attributes={"ip": "192.0.2.9"},
    )
    assert not await valid(env, first.session.token)
    assert not await valid(env, other_device.session.token)
    assert await valid(env, changed.session.token)
    assert changed.session.attributes == {"ip": "192.0.2.9"}
    assert [s.id for s in await env.lucia.get_user_sessions(first.user.id)] == [changed.session.id]
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", "ada@example.com", PASSWORD)
    await env.call("sign_in", "ada@example.com", NEW_PASSWORD)


async def test_change_refuses_a_weak_new_password_and_changes_nothing(env: Env) -> None:
    first = await env.sign_up()
    with pytest.raises(InvalidPasswordError) as caught:
        await env.call("change_password", first.user.id, "ada@example.com", PASSWORD, "short")
    assert caught.value.reason == "too_short"
    assert await valid(env, first.session.token)
    await env.call("sign_in", "ada@example.com", PASSWORD)


# Recent authentication and re-authentication (SECURITY 7, 1)


async def test_sec7_recent_authentication_expires_after_max_age(env: Env) -> None:
    signed = await env.sign_up()
    accounts.require_recent_authentication(env.auth, signed.session)
    env.clock.advance(seconds=accounts.REAUTHENTICATION_MAX_AGE.total_seconds())
    accounts.require_recent_authentication(env.auth, signed.session)  # the last second still counts
    env.clock.advance(seconds=1)
    with pytest.raises(accounts.ReauthenticationRequiredError) as caught:
        accounts.require_recent_authentication(env.auth, signed.session)
    assert caught.value.status == 403
    assert caught.value.code == "AUTH_REAUTHENTICATION_REQUIRED"
    accounts.require_recent_authentication(env.auth, signed.session, max_age=timedelta(hours=1))


async def test_sec7_sliding_renewal_does_not_refresh_recent_authentication(env: Env) -> None:
    signed = await env.sign_up()
    # Past half the session's life, validation renews it: it is fresh, but not recent.
    env.clock.advance(days=20)
    found = await env.lucia.validate_session(signed.session.token)
    assert found is not None
    assert found[0].fresh
    with pytest.raises(accounts.ReauthenticationRequiredError):
        accounts.require_recent_authentication(env.auth, found[0])


async def test_sec1_reauthenticate_replaces_the_session_and_is_recent(env: Env) -> None:
    first = await env.sign_up(session_attributes={"ip": "192.0.2.1"})
    env.clock.advance(minutes=30)
    with pytest.raises(accounts.ReauthenticationRequiredError):
        accounts.require_recent_authentication(env.auth, first.session)
    again = await env.call("reauthenticate", first.session, "ADA@example.com", PASSWORD)
    assert again.user.id == first.user.id
    assert again.session.id != first.session.id
    assert not await valid(env, first.session.token)
    assert await valid(env, again.session.token)
    assert again.session.attributes == {"ip": "192.0.2.1"}  # kept unless replaced
    assert again.cookie.value == again.session.token
    accounts.require_recent_authentication(env.auth, again.session)
    replaced = await env.call(
        "reauthenticate",
        again.session,
        "ada@example.com",
        PASSWORD,
        session_attributes={"ip": "192.0.2.2"},
    )
    assert replaced.session.attributes == {"ip": "192.0.2.2"}


async def test_reauthenticate_refuses_a_wrong_password_and_keeps_the_session(env: Env) -> None:
    first = await env.sign_up()
    with pytest.raises(InvalidCredentialsError):
        await env.call("reauthenticate", first.session, "ada@example.com", "not my password")
    assert await valid(env, first.session.token)


async def test_reauthenticate_refuses_another_accounts_password(env: Env) -> None:
    ada = await env.sign_up()
    await env.sign_up("eve@example.com")
    # Eve's valid password proves nothing about Ada's session.
    with pytest.raises(InvalidCredentialsError):
        await env.call("reauthenticate", ada.session, "eve@example.com", PASSWORD)
    assert await valid(env, ada.session.token)


async def test_reauthenticate_needs_the_matching_flavour() -> None:
    auth = Lucia(MemoryAdapter())
    signed = accounts.sign_up(auth, "ada@example.com", PASSWORD)
    with pytest.raises(TypeError, match="AsyncLucia"):
        await accounts.areauthenticate(auth, signed.session, "ada@example.com", PASSWORD)  # type: ignore[arg-type]


# Flavours and logs


async def test_sync_functions_refuse_async_lucia_and_vice_versa() -> None:
    with pytest.raises(TypeError, match="a-prefixed"):
        accounts.sign_in(AsyncLucia(AsyncMemoryAdapter()), "a@b.c", PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AsyncLucia"):
        await accounts.asign_in(Lucia(MemoryAdapter()), "a@b.c", PASSWORD)  # type: ignore[arg-type]


async def test_g42_no_password_or_token_in_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        first = await env.sign_up()
        with pytest.raises(InvalidCredentialsError):
            await env.call("sign_in", "ada@example.com", "wrong password here")
        changed = await env.call(
            "change_password", first.user.id, "ada@example.com", PASSWORD, NEW_PASSWORD
        )
        again = await env.call("reauthenticate", changed.session, "ada@example.com", NEW_PASSWORD)
    events = {r.getMessage(): r.__dict__ for r in caplog.records if r.levelno == logging.INFO}
    for message in ("password sign-up", "reauthenticated"):
        assert events[message]["user_id"] == first.user.id
        assert events[message]["provider_id"] == EMAIL_PROVIDER_ID
    text = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    for secret in (PASSWORD, NEW_PASSWORD, "wrong password here"):
        assert secret not in text
    for token in (first.session.token, changed.session.token, again.session.token):
        assert token is not None
        assert token not in text


def test_password_key_finds_the_email_key_with_a_password() -> None:
    github = Key("github", "583231", "u1")
    email_without = Key("email", "ada@example.com", "u1", has_password=False)
    email_with = Key("email", "ada@example.com", "u1", has_password=True)
    assert accounts.password_key([github, email_with]) == email_with
    assert accounts.password_key([github, email_without]) is None
    assert accounts.password_key([]) is None


# SECURITY.md 46: a credential change revokes what it should


def _purposes(store: MemoryAdapter, user_id: str) -> list[str]:
    return sorted(t.purpose for t in store._tokens.values() if t.user_id == user_id)


async def test_sec46_change_password_revokes_reset_tokens(env: Env) -> None:
    from lucia import tokens

    signed = await env.sign_up()
    reset = await env.run(tokens, "create_password_reset_token", "ada@example.com")
    verification, _ = await env.run(tokens, "create_email_verification_token", signed.user.id)
    await env.call("change_password", signed.user.id, "ada@example.com", PASSWORD, NEW_PASSWORD)
    # The reset link mailed before the change cannot undo it; verification is untouched.
    with pytest.raises(InvalidTokenError):
        await env.run(tokens, "reset_password", reset.token, "attacker's choice 123")
    assert _purposes(env.store, signed.user.id) == [tokens.EMAIL_VERIFICATION]
    assert (await env.run(tokens, "verify_email", verification)).attributes["email_verified"]
    assert (await env.call("sign_in", "ada@example.com", NEW_PASSWORD)).user.id == signed.user.id


async def test_sec46_change_email_revokes_tokens_and_names_the_old_address(env: Env) -> None:
    from lucia import tokens

    signed = await env.sign_up()
    verification, _ = await env.run(tokens, "create_email_verification_token", signed.user.id)
    reset = await env.run(tokens, "create_password_reset_token", "ada@example.com")
    change = await env.run(
        accounts, "change_email", signed.user.id, "ada@example.com", PASSWORD, " Ada@New.example "
    )
    assert isinstance(change, accounts.EmailChange)
    # The app mails the old address (lucia sends no mail): it is named here.
    assert (change.email, change.previous_email) == ("ada@new.example", "ada@example.com")
    assert change.user.attributes["email"] == "ada@new.example"
    assert change.user.attributes["email_verified"] is False
    assert _purposes(env.store, signed.user.id) == []
    for token, name in ((verification, "verify_email"), (reset.token, "reset_password")):
        with pytest.raises(InvalidTokenError):
            await env.run(
                tokens, name, token, *([NEW_PASSWORD] if name == "reset_password" else [])
            )
    # The account signs in with the new address only.
    assert (await env.call("sign_in", "ada@new.example", PASSWORD)).user.id == signed.user.id
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", "ada@example.com", PASSWORD)


async def test_change_email_needs_the_password_and_a_free_valid_address(env: Env) -> None:
    ada = await env.sign_up()
    await env.sign_up("grace@example.com")
    with pytest.raises(InvalidCredentialsError):
        await env.run(
            accounts, "change_email", ada.user.id, "ada@example.com", "wrong one", "a@b.example"
        )
    with pytest.raises(accounts.EmailTakenError):
        await env.run(
            accounts, "change_email", ada.user.id, "ada@example.com", PASSWORD, "grace@example.com"
        )
    with pytest.raises(accounts.InvalidEmailError):
        await env.run(accounts, "change_email", ada.user.id, "ada@example.com", PASSWORD, "nope")
    with pytest.raises(InvalidCredentialsError):  # Grace's password is not Ada's key
        await env.run(
            accounts, "change_email", ada.user.id, "grace@example.com", PASSWORD, "x@y.example"
        )
    assert (await env.call("sign_in", "ada@example.com", PASSWORD)).user.id == ada.user.id


# A sign-up completes or leaves nothing (issue 14 item 8)


class FailingSessions(MemoryAdapter):
    """A store whose session writes fail until ``up`` is set (like tests/integrations'
    FlakyStore, on the write side): users commit, sessions do not."""

    up = False

    def insert_session(self, session: Any) -> None:
        if not self.up:
            raise DatabaseError("redis://:hunter2@cache unreachable")
        super().insert_session(session)


class UndeletableUsers(FailingSessions):
    """A user store that also fails to delete: the undo itself fails."""

    def delete_user(self, user_id: str) -> None:
        raise DatabaseError("postgres://admin:hunter2@db gone")


def _failing_env(mode: str, store: MemoryAdapter) -> Env:
    auth: Lucia | AsyncLucia = (
        Lucia(store) if mode == "sync" else AsyncLucia(AsyncMemoryAdapter(store))
    )
    return Env(store, auth, Harness(auth), mode, Clock())


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_sign_up_whose_session_fails_leaves_no_account(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    users = sessions = FailingSessions()
    env = _failing_env(mode, users)
    with caplog.at_level(logging.WARNING, logger="lucia.accounts"), pytest.raises(DatabaseError):
        await env.sign_up()
    assert users._users == {}
    assert users._keys == {}
    assert "sign-up undone" in caplog.text
    assert "hunter2" not in caplog.text
    # The store is back: the retry signs up (before the fix: 409, email taken).
    sessions.up = True
    signed = await env.sign_up()
    assert await valid(env, signed.session.token)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_failed_undo_is_logged_at_error_and_the_first_error_goes_on(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    users = UndeletableUsers()
    env = _failing_env(mode, users)
    with (
        caplog.at_level(logging.ERROR, logger="lucia.accounts"),
        pytest.raises(DatabaseError, match="redis"),
    ):
        await env.sign_up()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].user_id in users._users
    assert "hunter2" not in caplog.text


# SECURITY.md 47: sign-up is throttled per client address


async def test_sec47_sign_up_is_throttled_per_address(env: Env) -> None:
    from lucia.throttle import Limit, RateLimitedError, SignInThrottle

    throttle = SignInThrottle(per_address_sign_ups=Limit(3, timedelta(hours=1)), clock=env.clock)
    hashes = 0
    original = env.auth.password_hasher.hash

    def counting_hash(password: str) -> str:
        nonlocal hashes
        hashes += 1
        return original(password)

    env.auth.password_hasher.hash = counting_hash  # type: ignore[method-assign]
    await env.sign_up("a@example.com", throttle=throttle, address="192.0.2.1")
    with pytest.raises(accounts.EmailTakenError):  # a taken address counts too
        await env.sign_up("a@example.com", throttle=throttle, address="192.0.2.1")
    await env.sign_up("b@example.com", throttle=throttle, address="192.0.2.1")
    with pytest.raises(RateLimitedError) as info:
        await env.sign_up("c@example.com", throttle=throttle, address="192.0.2.1")
    assert 3590 <= info.value.retry_after <= 3600
    assert hashes == 3  # the refused attempt never reached the hasher
    assert await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "c@example.com") is None
    # Another address is not affected; the window ends and the address may sign up again.
    await env.sign_up("c@example.com", throttle=throttle, address="192.0.2.2")
    env.clock.advance(hours=1, seconds=1)
    await env.sign_up("d@example.com", throttle=throttle, address="192.0.2.1")


def test_every_error_carries_the_http_status_the_routes_answer_with() -> None:
    import lucia
    from lucia.throttle import RateLimitedError

    statuses = {
        error: error.status
        for error in (
            lucia.InvalidCredentialsError,
            accounts.EmailTakenError,
            lucia.LastKeyError,
            lucia.KeyNotFoundError,
            lucia.DatabaseError,
            accounts.ReauthenticationRequiredError,
            RateLimitedError,
            accounts.InvalidEmailError,
            lucia.InvalidPasswordError,
            lucia.InvalidKeyError,
            lucia.OAuthError,
            lucia.LuciaError,
        )
    }
    assert list(statuses.values()) == [401, 409, 409, 404, 503, 403, 429] + [400] * 5
    # Every public error of lucia.errors is public in lucia too.
    assert set(lucia.errors.__all__) <= set(lucia.__all__)
    assert all(getattr(lucia, name) is getattr(lucia.errors, name) for name in lucia.errors.__all__)
