"""Token format and expiry rules (lucia.sessions), including properties over random input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.sessions import (
    DEFAULT_ABSOLUTE_LIFETIME,
    SessionPolicy,
    create_token,
    generate_session_id,
    generate_session_secret,
    hash_secret,
    parse_token,
    utc_now,
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


# --- What mutation testing showed unpinned (scripts/mutation.sh) ---------------------


def test_utc_now_is_timezone_aware_utc() -> None:
    assert utc_now().tzinfo is UTC


@pytest.mark.parametrize(
    "token",
    [
        "a" * 64,  # no dot
        "a" * 21 + "." + "b" * 42,  # dot one place late
        "\u00e9" * 20 + "." + "b" * 43,  # non-ASCII id
        "a" * 20 + "." + "\u00e9" * 43,  # non-ASCII secret
        "a" * 20 + "." + "b" * 42,  # one short
        "a" * 20 + "." + "b" * 44,  # one long
    ],
)
def test_parse_token_refuses_near_tokens(token: str) -> None:
    assert parse_token(token) is None
    assert parse_token("a" * 20 + "." + "b" * 43) == ("a" * 20, "b" * 43)


@pytest.mark.parametrize("length", [timedelta(0), timedelta(seconds=-1)])
def test_policy_lengths_must_be_positive(length: timedelta) -> None:
    with pytest.raises(ValueError, match=r"^session_expires_in must be positive$"):
        SessionPolicy(length, None)
    with pytest.raises(ValueError, match=r"^session_absolute_lifetime must be positive$"):
        SessionPolicy(timedelta(days=1), length)


def test_new_expiry_is_capped_by_the_absolute_lifetime() -> None:
    assert SessionPolicy(timedelta(days=30), None).new_expiry(START) == START + timedelta(days=30)
    assert SessionPolicy(timedelta(days=30), timedelta(days=1)).new_expiry(START) == (
        START + timedelta(days=1)
    )
    # Whole seconds: stores keep no more.
    assert SessionPolicy(timedelta(hours=1), None).new_expiry(
        START + timedelta(microseconds=999_999)
    ) == START + timedelta(hours=1)


def test_renewal_starts_strictly_below_half() -> None:
    policy = SessionPolicy(timedelta(hours=2), None)
    expires_at = policy.new_expiry(START)
    assert policy.renewed_expiry(expires_at, START, START + timedelta(hours=1)) is None
    later = START + timedelta(hours=1, seconds=1)
    assert policy.renewed_expiry(expires_at, START, later) == later + timedelta(hours=2)
    # An expired session is never renewed, even at the very instant it ends.
    assert policy.renewed_expiry(expires_at, START, expires_at) is None


def test_renewal_stops_at_the_absolute_lifetime() -> None:
    policy = SessionPolicy(timedelta(hours=2), timedelta(hours=3))
    expires_at = policy.new_expiry(START)
    assert expires_at == START + timedelta(hours=2)
    now = START + timedelta(hours=1, minutes=30)
    renewed = policy.renewed_expiry(expires_at, START, now)
    assert renewed == START + timedelta(hours=3)
    assert renewed is not None
    assert policy.renewed_expiry(renewed, START, START + timedelta(hours=2, minutes=30)) is None


def test_default_session_lifetime_is_30_days_sliding_within_90_days() -> None:
    assert SessionPolicy() == SessionPolicy(timedelta(days=30), timedelta(days=90))
    assert timedelta(days=90) == DEFAULT_ABSOLUTE_LIFETIME
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    auth = Lucia(MemoryAdapter(), clock=lambda: now)
    assert auth.session_policy == SessionPolicy()
    user = auth.create_user("github", "default-lifetime")
    session = auth.create_session(user.id)
    assert session.expires_at == now + timedelta(days=30)
    # Past half of it, using the session slides its end 30 days past that use.
    now += timedelta(days=16)
    found = auth.validate_session(session.token)
    assert found is not None
    assert found[0].fresh is True
    assert found[0].expires_at == now + timedelta(days=30)


def test_deadline_is_the_earlier_of_expiry_and_absolute_end() -> None:
    expires_at = START + timedelta(days=10)
    assert SessionPolicy(timedelta(days=30), None).deadline(expires_at, START) == expires_at
    capped = SessionPolicy(timedelta(days=30), timedelta(days=5))
    assert capped.deadline(expires_at, START) == START + timedelta(days=5)
    assert capped.deadline(START + timedelta(days=2), START) == START + timedelta(days=2)
