"""Lucia's own promises beyond the store: tokens, cookies, no leaks, timing parity."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import argon2
import pytest

import lucia.core
import lucia.sessions
from lucia import (
    AsyncLucia,
    InvalidCredentialsError,
    InvalidPasswordError,
    Lucia,
    LuciaError,
)
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.cookies import MAX_COOKIE_AGE
from lucia.errors import InvalidTokenError
from lucia.models import Token
from lucia.passwords import PasswordHasher
from tests.conftest import Clock

PASSWORD = "correct horse battery staple"


@pytest.fixture
def auth(clock: Clock) -> Lucia:
    return Lucia(MemoryAdapter(), clock=clock, session_expires_in=timedelta(hours=2))


def test_public_contract_names() -> None:
    import lucia

    for name in [
        "Lucia",
        "AsyncLucia",
        "User",
        "Session",
        "Key",
        "Cookie",
        "verify_request_origin",
        "LuciaError",
        "DuplicateKeyError",
        "UserNotFoundError",
        "KeyNotFoundError",
        "InvalidCredentialsError",
        "InvalidPasswordError",
        "OAuthError",
    ]:
        assert hasattr(lucia, name), name
    codes = {
        "DuplicateKeyError": "AUTH_DUPLICATE_KEY_ID",
        "UserNotFoundError": "AUTH_INVALID_USER_ID",
        "KeyNotFoundError": "AUTH_INVALID_KEY_ID",
        "InvalidCredentialsError": "AUTH_INVALID_CREDENTIALS",
        "InvalidPasswordError": "AUTH_INVALID_PASSWORD",
    }
    for name, code in codes.items():
        error = getattr(lucia, name)
        assert issubclass(error, LuciaError)
        assert error.code == code
    sync_methods = {n for n in dir(Lucia) if not n.startswith("_")}
    async_methods = {n for n in dir(AsyncLucia) if not n.startswith("_")}
    assert sync_methods == async_methods


# A. Sessions


def test_sec1_every_sign_in_gets_a_new_token(auth: Lucia) -> None:
    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    before = auth.create_session(user.id)
    # Signing in again (the app's login route) makes a new session; the old one
    # is then invalidated and stops working.
    after = auth.create_session(auth.authenticate("email", "ada@example.com", PASSWORD).id)
    auth.invalidate_session(before.id)
    assert after.token != before.token
    assert after.id != before.id
    assert auth.validate_session(before.token) is None
    assert auth.validate_session(after.token) is not None


def test_sec1_planted_token_is_never_adopted(auth: Lucia) -> None:
    user = auth.create_user("github", "1")
    planted = lucia.sessions.create_token(
        lucia.sessions.generate_session_id(), lucia.sessions.generate_session_secret()
    )
    assert auth.validate_session(planted) is None
    session = auth.create_session(user.id)
    assert session.token != planted
    assert not session.token.startswith(planted.split(".")[0])


def test_sec3_token_strength(auth: Lucia, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[int] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int) -> str:
        requested.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(lucia.sessions.secrets, "token_urlsafe", spy)
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    session_id, secret = session.token.split(".")
    assert requested == [15, 32]  # 120-bit id, 256-bit secret, from the CSPRNG
    assert re.fullmatch(r"[A-Za-z0-9_-]{20}", session_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert session.id == session_id


def test_sec3_secret_compared_in_constant_time(
    auth: Lucia, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(lucia.sessions.hmac, "compare_digest", spy)
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    assert auth.validate_session(session.token) is not None
    assert len(calls) == 1
    assert auth.validate_session(session.id + "." + "A" * 43) is None
    assert len(calls) == 2


def test_sec4_absolute_lifetime_caps_renewal(clock: Clock) -> None:
    auth = Lucia(
        MemoryAdapter(),
        clock=clock,
        session_expires_in=timedelta(minutes=30),
        session_absolute_lifetime=timedelta(hours=1),
    )
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    cap = session.created_at + timedelta(hours=1)
    for _ in range(10):
        clock.advance(minutes=20)
        found = auth.validate_session(session.token)
        if found is None:
            break
        assert found[0].expires_at <= cap
    else:
        raise AssertionError("an active session outlived its absolute lifetime")
    assert clock.now >= cap
    assert auth.validate_session(session.token) is None


def test_sec4_idle_limit_plus_one_second(clock: Clock) -> None:
    auth = Lucia(MemoryAdapter(), clock=clock, session_expires_in=timedelta(minutes=15))
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    clock.advance(minutes=15, seconds=1)
    assert auth.validate_session(session.token) is None
    assert auth.session_adapter.get_session(session.id) is None


def test_session_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        Lucia(MemoryAdapter(), session_expires_in=timedelta(0))
    with pytest.raises(ValueError, match="positive"):
        Lucia(MemoryAdapter(), session_absolute_lifetime=timedelta(seconds=-1))


# Cookies


def test_sec11_session_cookie_attributes(auth: Lucia, clock: Clock) -> None:
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    cookie = auth.create_session_cookie(session)
    assert cookie.name == "auth_session"
    assert cookie.value == session.token
    assert str(cookie) == (
        f"auth_session={session.token}; Max-Age=7200; Path=/; HttpOnly; Secure; SameSite=Lax"
    )
    assert "Domain" not in cookie.serialize()
    assert auth.read_session_cookie(f"theme=dark; auth_session={session.token}") == session.token
    # Names are read case-sensitively: an attacker's look-alike is ignored.
    assert auth.read_session_cookie(f"AUTH_SESSION={session.token}") is None


def test_sec11_host_prefix_and_strict(clock: Clock) -> None:
    auth = Lucia(MemoryAdapter(), clock=clock, cookie_host_prefix=True, cookie_same_site="strict")
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    cookie = auth.create_session_cookie(session)
    assert cookie.name == "__Host-auth_session"
    serialized = cookie.serialize()
    assert serialized.startswith(f"__Host-auth_session={session.token}; ")
    assert "; Path=/;" in serialized
    assert "; Secure;" in serialized
    assert "SameSite=Strict" in serialized
    assert "Domain" not in serialized
    assert auth.read_session_cookie(f"__HOST-auth_session={session.token}") is None
    assert auth.read_session_cookie(f"__Host-auth_session={session.token}") == session.token
    with pytest.raises(ValueError, match="__Host-"):
        Lucia(MemoryAdapter(), cookie_host_prefix=True, secure_cookies=False)
    with pytest.raises(ValueError, match="__Host-"):
        Lucia(MemoryAdapter(), cookie_host_prefix=True, cookie_domain="example.com")


def test_insecure_cookies_only_by_choice(auth: Lucia) -> None:
    assert "; Secure" in str(auth.create_blank_session_cookie())
    dev = Lucia(MemoryAdapter(), secure_cookies=False)
    assert "Secure" not in str(dev.create_blank_session_cookie())


def test_sec12_max_age_is_remaining_life_and_resent_when_fresh(auth: Lucia, clock: Clock) -> None:
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    clock.advance(minutes=30)
    found = auth.validate_session(session.token)
    assert found is not None
    assert not found[0].fresh
    with pytest.raises(ValueError, match="token"):
        auth.create_session_cookie(found[0])  # nothing to re-send
    clock.advance(minutes=31)
    renewed, _ = auth.validate_session(session.token)
    assert renewed.fresh
    cookie = auth.create_session_cookie(renewed)
    assert cookie.attributes.max_age == 7200


def test_sec12_max_age_never_exceeds_400_days(clock: Clock) -> None:
    auth = Lucia(
        MemoryAdapter(),
        clock=clock,
        session_expires_in=timedelta(days=1000),
        session_absolute_lifetime=timedelta(days=1000),
    )
    session = auth.create_session(auth.create_user("github", "1").id)
    assert auth.create_session_cookie(session).attributes.max_age == MAX_COOKIE_AGE
    assert f"Max-Age={MAX_COOKIE_AGE};" in str(auth.create_session_cookie(session))


def test_sec12_browser_session_cookies(clock: Clock) -> None:
    auth = Lucia(MemoryAdapter(), clock=clock, persistent_cookies=False)
    session = auth.create_session(auth.create_user("github", "1").id)
    assert "Max-Age" not in str(auth.create_session_cookie(session))
    clock.advance(days=31)  # the server-side expiry still applies
    assert auth.validate_session(session.token) is None


def test_sec5_blank_cookie_clears(auth: Lucia) -> None:
    blank = auth.create_blank_session_cookie()
    assert str(blank) == "auth_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"


def test_read_bearer_token(auth: Lucia) -> None:
    session = auth.create_session(auth.create_user("github", "1").id)
    assert auth.read_bearer_token(f"Bearer {session.token}") == session.token
    assert auth.read_bearer_token(f"Basic {session.token}") is None
    assert auth.read_bearer_token(None) is None


# C. Passwords


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def hash(self, password: str) -> str:
        self.calls.append("hash")
        return super().hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        self.calls.append("verify")
        return super().verify(hashed, password)

    def dummy_verify(self, password: str) -> None:
        self.calls.append("dummy_verify")
        super().dummy_verify(password)


def test_sec20_hasher_runs_once_on_every_failure_path(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Lucia(MemoryAdapter())
    auth.create_user("email", "ada@example.com", password=PASSWORD)
    auth.create_user("github", "1")
    auth.password_hasher.dummy_verify("warm up")  # its hash is made once, on first use
    verified: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, hashed: str, password: str | bytes) -> bool:
        verified.append(hashed)
        return real_verify(self, hashed, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    for key in [("email", "ada@example.com"), ("email", "nobody@example.com"), ("github", "1")]:
        verified.clear()
        with pytest.raises(InvalidCredentialsError) as caught:
            auth.authenticate(*key, "not the password")
        assert str(caught.value) == "invalid credentials"
        assert len(verified) == 1  # one full Argon2id verification, whichever path
        assert argon2.extract_parameters(verified[0]) == argon2.extract_parameters(
            auth.password_hasher.hash("x")
        )


def test_sec17_huge_password_refused_before_hashing() -> None:
    hasher = CountingHasher()
    auth = Lucia(MemoryAdapter(), password_hasher=hasher)
    auth.create_user("email", "ada@example.com", password=PASSWORD)
    hasher.calls.clear()
    huge = "x" * 1_000_000
    with pytest.raises(InvalidCredentialsError):
        auth.authenticate("email", "ada@example.com", huge)
    with pytest.raises(InvalidPasswordError) as caught:
        auth.create_user("email", "big@example.com", password=huge)
    assert caught.value.reason == "too_long"
    with pytest.raises(InvalidPasswordError):
        auth.update_key_password("email", "ada@example.com", huge)
    assert hasher.calls == []


def test_sec18_password_used_as_typed(auth: Lucia) -> None:
    auth.create_user("email", "ada@example.com", password="  Mixed Case Pass  ")
    assert auth.authenticate("email", "ada@example.com", "  Mixed Case Pass  ")
    for variant in ["Mixed Case Pass", "  mixed case pass  ", "  MIXED CASE PASS  "]:
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("email", "ada@example.com", variant)


async def test_async_hashing_runs_off_the_event_loop() -> None:
    threads: list[int] = []

    class ThreadRecordingHasher(PasswordHasher):
        def hash(self, password: str) -> str:
            threads.append(threading.get_ident())
            return super().hash(password)

        def verify(self, hashed: str, password: str) -> bool:
            threads.append(threading.get_ident())
            return super().verify(hashed, password)

    auth = AsyncLucia(AsyncMemoryAdapter(), password_hasher=ThreadRecordingHasher())
    await auth.create_user("email", "ada@example.com", password=PASSWORD)
    await auth.authenticate("email", "ada@example.com", PASSWORD)
    assert len(threads) == 2
    assert threading.get_ident() not in threads

    # And the loop keeps serving while a hash runs.
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await auth.authenticate("email", "ada@example.com", PASSWORD)
    task.cancel()
    assert ticks > 1


# 9. No leaks


def _secrets_of(auth: Lucia) -> tuple[list[str], list[Any]]:
    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    session = auth.create_session(user.id)
    _, secret = session.token.split(".")
    record = auth.session_adapter.get_session(session.id)
    _, key = auth.adapter.get_user_by_key("email", "ada@example.com")
    needles = [session.token, secret, PASSWORD, record.secret_hash.hex(), key.hashed_password]
    objects = [
        session,
        record,
        key,
        auth.create_session_cookie(session),
        auth.validate_session(session.token),
        auth,
    ]
    return needles, objects


def test_sec9_no_secret_in_reprs(auth: Lucia) -> None:
    needles, objects = _secrets_of(auth)
    for obj in objects:
        text = repr(obj)
        for needle in needles:
            assert needle not in text, (type(obj).__name__, text)
    assert str(record_bytes := objects[1].secret_hash) not in repr(objects[1]), record_bytes


def test_sec9_no_secret_in_errors(auth: Lucia) -> None:
    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    errors: list[BaseException] = []
    for attempt in [
        lambda: auth.authenticate("email", "ada@example.com", "wrong " + PASSWORD),
        lambda: auth.create_user("email", "x@example.com", password="qwertyuiop"),
        lambda: auth.create_user("email", "ada@example.com", password=PASSWORD + "!"),
        lambda: auth.create_session(user.id, attributes={"bad": {1, 2}}),
        lambda: auth.create_session_cookie(
            auth.validate_session(auth.create_session(user.id).token)[0]
        ),
    ]:
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
    assert len(errors) == 5
    tokens = [s.id for s in auth.get_user_sessions(user.id)]
    for exc in errors:
        for needle in [PASSWORD, "qwertyuiop", *tokens]:
            assert needle not in str(exc)
            assert needle not in repr(exc)


def test_sec9_no_secret_in_logs(auth: Lucia, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    needles, _ = _secrets_of(auth)
    user = auth.get_user_by_key("email", "ada@example.com")
    with pytest.raises(InvalidCredentialsError):
        auth.authenticate("email", "ada@example.com", "wrong " + PASSWORD)
    auth.update_key_password("email", "ada@example.com", "another good passphrase")
    auth.invalidate_user_sessions(user.id)
    records = caplog.records
    assert {"user created", "session created", "sign-in failed", "password changed"} <= {
        r.getMessage() for r in records
    }
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        for needle in [*needles, "another good passphrase"]:
            assert needle not in text
    created = next(r for r in records if r.getMessage() == "user created")
    assert created.user_id == user.id  # type: ignore[attr-defined]
    assert created.provider_id == "email"  # type: ignore[attr-defined]


# One-time tokens (the stores are covered in tests/conformance/test_tokens.py)


def test_sec3_one_time_tokens_are_32_random_bytes_stored_as_sha256(
    auth: Lucia, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = auth.create_user("github", "1")
    drawn: list[int] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        drawn.append(nbytes or 0)
        return real(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", spy)
    token = auth.create_token(user.id, "reset", expires_in=timedelta(hours=1))
    assert drawn == [32]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    (record,) = auth.adapter._tokens.values()  # type: ignore[union-attr]
    assert record.id_hash == hashlib.sha256(token.encode()).digest()
    assert token not in repr(record)


def test_token_repr_and_error_hold_no_secret(auth: Lucia) -> None:
    user = auth.create_user("github", "1")
    token = auth.create_token(user.id, "reset", expires_in=timedelta(hours=1), data={"a": 1})
    consumed = auth.consume_token(token, "reset")
    assert isinstance(consumed, Token)
    assert token not in repr(consumed)
    assert consumed.data == {"a": 1}
    with pytest.raises(InvalidTokenError) as caught:
        auth.consume_token(token, "reset")
    assert caught.value.code == "AUTH_INVALID_TOKEN"
    assert token not in str(caught.value) + repr(caught.value)


@pytest.mark.parametrize("purpose", ["", "x" * 65, "with space", "é", None])
def test_token_purpose_is_checked_before_any_io(auth: Lucia, purpose: Any) -> None:
    user = auth.create_user("github", "1")
    with pytest.raises(ValueError, match="purpose"):
        auth.create_token(user.id, purpose, expires_in=timedelta(hours=1))
    with pytest.raises(ValueError, match="purpose"):
        auth.consume_token("A" * 43, purpose)
    with pytest.raises(ValueError, match="purpose"):
        auth.delete_user_tokens(user.id, purpose)
    assert auth.adapter._tokens == {}  # type: ignore[union-attr]


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(seconds=-1), 3600])
def test_token_lifetime_must_be_positive(auth: Lucia, expires_in: Any) -> None:
    user = auth.create_user("github", "1")
    with pytest.raises(ValueError, match="expires_in"):
        auth.create_token(user.id, "reset", expires_in=expires_in)


def test_token_data_must_be_json(auth: Lucia) -> None:
    user = auth.create_user("github", "1")
    with pytest.raises(TypeError):
        auth.create_token(user.id, "reset", expires_in=timedelta(hours=1), data={"x": object()})


async def test_async_lucia_tokens(clock: Clock) -> None:
    auth = AsyncLucia(AsyncMemoryAdapter(), clock=clock)
    user = await auth.create_user("github", "1")
    token = await auth.create_token(user.id, "reset", expires_in=timedelta(minutes=5))
    other = await auth.create_token(user.id, "reset", expires_in=timedelta(days=1))
    clock.advance(minutes=5)
    assert await auth.delete_expired_tokens() == 1
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(token, "reset")
    await auth.delete_user_tokens(user.id, "reset")
    with pytest.raises(InvalidTokenError):
        await auth.consume_token(other, "reset")


# Session validation: the direct paths (sync and async) and the flow decide alike


def _validation_outcomes(
    auth: Lucia | AsyncLucia, clock: Clock, resolve: Callable[[Any], Any]
) -> list[tuple[Any, ...]]:
    """What validate_session returns and leaves in the store, for each state a
    session can be in (sessions live 2 hours; renewal is due below 1 hour).
    ``resolve`` turns a call's result into its value (runs the coroutine for
    AsyncLucia)."""
    user = resolve(auth.create_user("github", "1"))
    store = auth.session_adapter
    outcomes: list[tuple[Any, ...]] = []

    def check(token: str, session_id: str) -> None:
        found = resolve(auth.validate_session(token))
        row = resolve(store.get_session(session_id))
        summary: tuple[Any, ...] = (None,)
        if found is not None:
            session, found_user = found
            assert (session.id, found_user.id) == (session_id, user.id)
            summary = (session.expires_at, session.fresh, session.token == token)
        outcomes.append((*summary, None if row is None else row.expires_at))

    session = resolve(auth.create_session(user.id))
    check(session.token, session.id)  # valid, not due: returned as read
    check(session.id + "." + "A" * 43, session.id)  # wrong secret: refused, row kept
    check("malformed", session.id)
    check("B" * 20 + "." + "A" * 43, session.id)  # unknown id
    clock.advance(minutes=61)
    check(session.token, session.id)  # due: renewed, fresh, token set, row moved
    clock.advance(hours=2, seconds=1)
    check(session.token, session.id)  # expired: refused and the row deleted
    return outcomes


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_direct_validation_decides_like_the_flow(flavour: str) -> None:
    # A joined store takes validate_session's direct path; a separate session
    # store runs the flow. Both must give the same answers and leave the same rows.
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    direct_clock, flow_clock = Clock(start), Clock(start)
    life = timedelta(hours=2)
    with asyncio.Runner() as runner:
        if flavour == "sync":
            resolve: Callable[[Any], Any] = lambda value: value  # noqa: E731
            direct: Lucia | AsyncLucia = Lucia(
                MemoryAdapter(), clock=direct_clock, session_expires_in=life
            )
            store: Any = MemoryAdapter()  # named as a separate session store: the flow runs
            flow: Lucia | AsyncLucia = Lucia(
                store, session_adapter=store, clock=flow_clock, session_expires_in=life
            )
        else:
            resolve = runner.run
            direct = AsyncLucia(AsyncMemoryAdapter(), clock=direct_clock, session_expires_in=life)
            store = AsyncMemoryAdapter()
            flow = AsyncLucia(
                store, session_adapter=store, clock=flow_clock, session_expires_in=life
            )
        assert direct._joined
        assert not flow._joined
        outcomes = _validation_outcomes(direct, direct_clock, resolve)
        assert outcomes == _validation_outcomes(flow, flow_clock, resolve)
    first_expiry = start + timedelta(hours=2)
    renewed_expiry = start + timedelta(minutes=61, hours=2)
    assert outcomes == [
        (first_expiry, False, False, first_expiry),  # as read: not fresh, no token
        (None, first_expiry),  # wrong secret: refused, the row kept
        (None, first_expiry),  # malformed
        (None, first_expiry),  # unknown id
        (renewed_expiry, True, True, renewed_expiry),  # renewed: fresh, with its token
        (None, None),  # expired: refused, the row deleted
    ]


def test_validation_renews_strictly_below_half_and_refuses_at_the_expiry(
    auth: Lucia, clock: Clock
) -> None:
    # The verdict's own boundaries (one subtraction answers "expired?" and "due?"),
    # to the microsecond: two hours of life, so renewal starts below one hour left.
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    token = session.token or ""
    clock.advance(hours=1)  # exactly half left: valid, not renewed
    found = auth.validate_session(token)
    assert found is not None
    assert not found[0].fresh
    assert found[0].expires_at == session.expires_at
    clock.advance(microseconds=1)  # a microsecond under half: renewed
    found = auth.validate_session(token)
    assert found is not None
    assert found[0].fresh
    assert found[0].expires_at == (clock.now + timedelta(hours=2)).replace(microsecond=0)
    # Two sessions of one moment: valid in their last microsecond, refused at the
    # expiry itself (and the row goes).
    last, expired = auth.create_session(user.id), auth.create_session(user.id)
    clock.now = last.expires_at - timedelta(microseconds=1)
    assert auth.validate_session(last.token or "") is not None
    clock.now = expired.expires_at
    assert auth.validate_session(expired.token or "") is None
    assert expired.id not in {s.id for s in auth.adapter.get_user_sessions(user.id)}


def _count_store_calls(monkeypatch: pytest.MonkeyPatch, store: object) -> list[str]:
    """Record the name of every method of ``store`` called from now on."""
    calls: list[str] = []
    for name in dir(type(store)):
        if name.startswith("_") or not callable(getattr(store, name)):
            continue
        method = getattr(store, name)

        def counting(*args: Any, _method: Any = method, _name: str = name, **kw: Any) -> Any:
            calls.append(_name)
            return _method(*args, **kw)

        monkeypatch.setattr(store, name, counting)
    return calls


def test_sync_validation_is_one_read_unless_a_write_is_due(
    auth: Lucia, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = auth.create_user("github", "1")
    session = auth.create_session(user.id)
    calls = _count_store_calls(monkeypatch, auth.adapter)
    assert auth.validate_session(session.token) is not None
    assert auth.validate_session(session.id + "." + "A" * 43) is None
    assert calls == ["get_session_and_user"] * 2  # the common case: one read, the pure verdict
    clock.advance(minutes=61)
    assert auth.validate_session(session.token)[0].fresh  # type: ignore[index]
    assert calls[2:] == ["get_session_and_user", "update_session_expiry"]  # the renewal's write


async def test_async_validation_is_one_read_unless_a_write_is_due(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = AsyncLucia(AsyncMemoryAdapter(), clock=clock, session_expires_in=timedelta(hours=2))
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    calls = _count_store_calls(monkeypatch, auth.adapter)
    assert await auth.validate_session(session.token) is not None
    assert await auth.validate_session(session.id + "." + "A" * 43) is None
    assert calls == ["get_session_and_user"] * 2
    clock.advance(minutes=61)
    found = await auth.validate_session(session.token)
    assert found is not None
    assert found[0].fresh
    assert calls[2:] == ["get_session_and_user", "update_session_expiry"]


# Password hashing off the event loop, on a bounded pool


class ConcurrencyCountingHasher(PasswordHasher):
    """A stand-in hasher (no Argon2id) that records how many hashes run at once, and where."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.calls = 0
        self.threads: set[str] = set()

    def hash(self, password: str) -> str:
        with self._lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.current_thread().name)
        time.sleep(0.01)  # holds its thread like a real hash (without the GIL)
        with self._lock:
            self.running -= 1
        return "stub$" + hashlib.sha256(password.encode()).hexdigest()


async def _hash_storm(auth: AsyncLucia, count: int = 20) -> float:
    """``count`` concurrent sign-ups with passwords; the event loop's longest gap (s)."""
    longest = 0.0
    done = False

    async def heartbeat() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.gather(
        *(auth.create_user("email", f"u{n}@example.com", password=PASSWORD) for n in range(count))
    )
    done = True
    await beat
    return longest


async def test_async_hashing_never_exceeds_the_injected_executor() -> None:
    hasher = ConcurrencyCountingHasher()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="app-hash") as executor:
        auth = AsyncLucia(AsyncMemoryAdapter(), password_hasher=hasher, hash_executor=executor)
        gap = await _hash_storm(auth)
    print(f"20 concurrent hashes on 2 threads: the loop's longest gap {gap * 1000:.1f} ms")
    assert hasher.calls == 20
    assert 1 <= hasher.peak <= 2
    assert all(name.startswith("app-hash") for name in hasher.threads)


async def test_async_hashing_defaults_to_lucias_bounded_pool() -> None:
    hasher = ConcurrencyCountingHasher()
    auth = AsyncLucia(AsyncMemoryAdapter(), password_hasher=hasher)
    gap = await _hash_storm(auth)
    print(f"20 concurrent hashes on lucia's pool: the loop's longest gap {gap * 1000:.1f} ms")
    assert hasher.calls == 20
    assert 1 <= hasher.peak <= lucia.core.HASH_WORKERS
    assert max(1, (os.cpu_count() or 2) - 1) == lucia.core.HASH_WORKERS
    assert all(name.startswith("lucia-hash") for name in hasher.threads)
    # One pool for the process, however many AsyncLucia instances there are.
    assert lucia.core.default_hash_executor() is lucia.core.default_hash_executor()


def test_sync_hashing_runs_on_a_given_executor() -> None:
    hasher = ConcurrencyCountingHasher()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="app-hash") as executor:
        auth = Lucia(MemoryAdapter(), password_hasher=hasher, hash_executor=executor)
        auth.create_user("email", "ada@example.com", password=PASSWORD)
    assert hasher.calls == 1
    assert hasher.threads == {"app-hash_0"}
    plain = ConcurrencyCountingHasher()
    Lucia(MemoryAdapter(), password_hasher=plain).create_user(
        "email", "b@example.com", password=PASSWORD
    )
    assert plain.threads == {threading.current_thread().name}  # no executor: the caller's thread


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_makes_its_own_hash_pool() -> None:
    # The parent's pool threads do not exist in a child: a child that kept the
    # parent's pool would queue its hashes forever.
    parent_pool = lucia.core.default_hash_executor()
    assert parent_pool.submit(int, "1").result(timeout=10) == 1  # its thread is running
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        try:
            pool = lucia.core.default_hash_executor()
            fresh = pool is not parent_pool and pool.submit(int, "2").result(timeout=10) == 2
        except BaseException:
            fresh = False
        os._exit(0 if fresh else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lucia.core.default_hash_executor() is parent_pool


# Unlinking a provider (the stores, and the race, are covered in tests/conformance)


def test_unlink_provider_logs_the_unlink_and_not_a_refusal(
    auth: Lucia, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lucia")
    user = auth.create_user("email", "ada@example.com", password=PASSWORD)
    auth.add_key(user.id, "github", "1")
    assert auth.unlink_provider(user.id, "github") == 1
    with pytest.raises(lucia.LastKeyError):
        auth.unlink_provider(user.id, "email")
    unlinked = [r for r in caplog.records if r.getMessage() == "keys unlinked"]
    assert len(unlinked) == 1  # the refusal deleted nothing, and says nothing
    assert unlinked[0].user_id == user.id  # type: ignore[attr-defined]
    assert unlinked[0].provider_id == "github"  # type: ignore[attr-defined]
    for record in caplog.records:
        assert PASSWORD not in record.getMessage() + repr(record.__dict__)


def test_last_key_error_is_a_lucia_error_with_status_409() -> None:
    # (Its old home, lucia.integrations._passwords, needs the oauth extra: the
    # password-route tests check it re-exports this same class.)
    from lucia.errors import LastKeyError

    assert lucia.LastKeyError is LastKeyError
    error = LastKeyError()
    assert isinstance(error, LuciaError)
    assert (error.code, error.status) == ("AUTH_LAST_KEY", 409)
    assert error.message == "this is the only way to sign in to the account; add another first"
