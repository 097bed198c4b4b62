"""Token format and expiry rules (lucia.sessions), including properties over random input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.sessions import (
    SessionPolicy,
    create_token,
    generate_session_id,
    generate_session_secret,
    hash_secret,
    parse_token,
    verify_secret,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_token_round_trip() -> None:
    session_id, secret = generate_session_id(), generate_session_secret()
    token = create_token(session_id, secret)
    assert parse_token(token) == (session_id, secret)
    assert verify_secret(secret, hash_secret(secret))
    assert not verify_secret(secret[:-1] + ("A" if secret[-1] != "A" else "B"), hash_secret(secret))


def test_ids_and_secrets_do_not_repeat() -> None:
    assert len({generate_session_id() for _ in range(2000)}) == 2000
    assert len({generate_session_secret() for _ in range(2000)}) == 2000


@given(st.one_of(st.text(), st.binary(), st.integers(), st.none()))
def test_parse_token_never_raises(value: object) -> None:
    parsed = parse_token(value)
    assert parsed is None or (len(parsed[0]) == 20 and len(parsed[1]) == 43)


_AUTH = Lucia(MemoryAdapter())
_USER = _AUTH.create_user("github", "1")
_SESSION = _AUTH.create_session(_USER.id)


@settings(max_examples=300)
@given(st.text(min_size=0, max_size=80))
def test_no_random_token_validates(token: str) -> None:
    # Anything but the real token is anonymous, and never an exception.
    found = _AUTH.validate_session(token)
    assert found is None or token == _SESSION.token


@settings(max_examples=300)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        min_size=43,
        max_size=43,
    )
)
def test_known_id_with_random_secret_never_validates(secret: str) -> None:
    assert (
        _AUTH.validate_session(f"{_SESSION.id}.{secret}") is None or secret == _SESSION.token[21:]
    )


@given(
    expires_in=st.integers(min_value=60, max_value=90 * 86400),
    absolute=st.one_of(st.none(), st.integers(min_value=60, max_value=400 * 86400)),
    steps=st.lists(st.integers(min_value=1, max_value=40 * 86400), max_size=30),
)
def test_renewal_never_passes_the_absolute_lifetime(
    expires_in: int, absolute: int | None, steps: list[int]
) -> None:
    policy = SessionPolicy(
        timedelta(seconds=expires_in), None if absolute is None else timedelta(seconds=absolute)
    )
    created = START
    expires_at = policy.new_expiry(created)
    now = created
    for step in steps:
        now += timedelta(seconds=step)
        if now >= expires_at:
            assert policy.renewed_expiry(expires_at, created, now) is None
            break
        renewed = policy.renewed_expiry(expires_at, created, now)
        if renewed is not None:
            assert renewed > expires_at
            assert renewed <= now + policy.expires_in
            expires_at = renewed
        if absolute is not None:
            assert expires_at <= created + timedelta(seconds=absolute)


def test_renewal_only_in_the_second_half() -> None:
    policy = SessionPolicy(timedelta(hours=2))
    expires_at = policy.new_expiry(START)
    assert policy.renewed_expiry(expires_at, START, START + timedelta(minutes=59)) is None
    assert policy.renewed_expiry(expires_at, START, START + timedelta(minutes=61)) == (
        START + timedelta(minutes=61) + timedelta(hours=2)
    )
