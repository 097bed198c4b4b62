"""Sessions: the same behaviour on every store, sync and async."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from tests.conformance.conftest import SESSION_LIFE
from tests.conftest import Clock, Harness


async def _user_and_session(auth: Harness, **attributes: object) -> tuple[object, object]:
    user = await auth.create_user("github", "1", attributes={"login": "ada"})
    session = await auth.create_session(user.id, attributes=attributes or None)
    return user, session


async def test_create_and_validate(auth: Harness, clock: Clock) -> None:
    user, session = await _user_and_session(auth, ua="Firefox")
    assert session.fresh
    assert session.user_id == user.id
    assert session.created_at == clock.now.replace(microsecond=0)
    assert session.expires_at == session.created_at + SESSION_LIFE
    assert session.attributes == {"ua": "Firefox"}
    found = await auth.validate_session(session.token)
    assert found is not None
    validated, validated_user = found
    assert validated.id == session.id
    assert validated_user == user
    assert validated.attributes == {"ua": "Firefox"}
    assert validated.expires_at == session.expires_at
    assert not validated.fresh
    assert validated.token is None


async def test_sec2_unknown_and_malformed_tokens_are_not_adopted(
    auth: Harness, store: Harness
) -> None:
    user, session = await _user_and_session(auth)
    session_id, secret = session.token.split(".")
    forged = "A" * 20 + "." + "B" * 43
    for token in [
        forged,
        "",
        "garbage",
        session_id,
        session.token + "x",
        session.token[:-1],
        f"{session_id}.{secret}.{secret}",
        session.token.upper(),
        " " + session.token,
        "A" * 10_000,
        None,
        42,
    ]:
        assert await auth.validate_session(token) is None, token
    assert await store.get_session("A" * 20) is None
    assert [s.id for s in await auth.get_user_sessions(user.id)] == [session.id]


async def test_wrong_secret_does_not_validate_or_delete(auth: Harness) -> None:
    _, session = await _user_and_session(auth)
    session_id, _ = session.token.split(".")
    assert await auth.validate_session(f"{session_id}.{'x' * 43}") is None
    assert await auth.validate_session(session.token) is not None


async def test_sec3_only_a_hash_of_the_secret_is_stored(auth: Harness, store: Harness) -> None:
    _, session = await _user_and_session(auth)
    session_id, secret = session.token.split(".")
    record = await store.get_session(session_id)
    assert record.secret_hash == hashlib.sha256(secret.encode()).digest()
    assert secret.encode() not in record.secret_hash
    assert "secret_hash" not in repr(record) or record.secret_hash.hex() not in repr(record)
    # What a leaked row holds cannot be turned into a working token.
    leaked = base64.urlsafe_b64encode(record.secret_hash).decode().rstrip("=")
    assert await auth.validate_session(f"{session_id}.{leaked}") is None
    assert await auth.validate_session(f"{session_id}.{record.secret_hash.hex()[:43]}") is None


async def test_sec4_expired_session_rejected_and_deleted(
    auth: Harness, store: Harness, clock: Clock
) -> None:
    _, session = await _user_and_session(auth)
    clock.advance(seconds=SESSION_LIFE.total_seconds() - 1)
    # Renewed here: still valid one second before expiry.
    renewed = await auth.validate_session(session.token)
    assert renewed is not None
    clock.now = renewed[0].expires_at + timedelta(seconds=1)
    assert await auth.validate_session(session.token) is None
    assert await store.get_session(session.id) is None


async def test_sec10_expired_but_unpurged_row_is_rejected(
    auth: Harness, store: Harness, clock: Clock
) -> None:
    _, session = await _user_and_session(auth)
    clock.advance(seconds=SESSION_LIFE.total_seconds())
    assert (await store.get_session(session.id)) is not None  # not purged yet
    assert await auth.validate_session(session.token) is None


async def test_sliding_renewal(auth: Harness, store: Harness, clock: Clock) -> None:
    _, session = await _user_and_session(auth)
    clock.advance(seconds=SESSION_LIFE.total_seconds() / 2 - 1)
    young = await auth.validate_session(session.token)
    assert not young[0].fresh
    clock.advance(seconds=2)
    renewed, _ = await auth.validate_session(session.token)
    assert renewed.fresh
    assert renewed.token == session.token
    assert renewed.expires_at == clock.now.replace(microsecond=0) + SESSION_LIFE
    assert (await store.get_session(session.id)).expires_at == renewed.expires_at
    again, _ = await auth.validate_session(session.token)
    assert not again.fresh
    assert again.expires_at == renewed.expires_at


async def test_get_user_sessions(auth: Harness, clock: Clock) -> None:
    user, first = await _user_and_session(auth)
    clock.advance(minutes=1)
    second = await auth.create_session(user.id)
    other = await auth.create_user("github", "2")
    await auth.create_session(other.id)
    listed = await auth.get_user_sessions(user.id)
    assert [s.id for s in listed] == [first.id, second.id]
    assert all(s.token is None for s in listed)
    clock.advance(seconds=SESSION_LIFE.total_seconds() - 30)
    assert [s.id for s in await auth.get_user_sessions(user.id)] == [second.id]


async def test_invalidate_session(auth: Harness) -> None:
    user, session = await _user_and_session(auth)
    other = await auth.create_session(user.id)
    await auth.invalidate_session(session.id)
    await auth.invalidate_session(session.id)  # twice: no error
    assert await auth.validate_session(session.token) is None
    assert await auth.validate_session(other.token) is not None


async def test_sec6_invalidate_user_sessions(auth: Harness) -> None:
    user, session = await _user_and_session(auth)
    second = await auth.create_session(user.id)
    other_user = await auth.create_user("github", "2")
    kept = await auth.create_session(other_user.id)
    await auth.invalidate_user_sessions(user.id)
    assert await auth.validate_session(session.token) is None
    assert await auth.validate_session(second.token) is None
    assert await auth.get_user_sessions(user.id) == []
    assert await auth.validate_session(kept.token) is not None


async def test_sec6_invalidate_other_sessions_keeps_this_one(auth: Harness) -> None:
    user, this = await _user_and_session(auth)
    second = await auth.create_session(user.id)
    third = await auth.create_session(user.id)
    other_user = await auth.create_user("github", "2")
    kept = await auth.create_session(other_user.id)
    assert await auth.invalidate_other_sessions(user.id, this.id) == 2
    assert await auth.validate_session(this.token) is not None
    assert await auth.validate_session(second.token) is None
    assert await auth.validate_session(third.token) is None
    assert [s.id for s in await auth.get_user_sessions(user.id)] == [this.id]
    assert await auth.validate_session(kept.token) is not None
    assert await auth.invalidate_other_sessions(user.id, this.id) == 0


async def test_delete_expired_sessions(auth: Harness, store: Harness, clock: Clock) -> None:
    user, old = await _user_and_session(auth)
    clock.advance(seconds=SESSION_LIFE.total_seconds() - 10)
    young = await auth.create_session(user.id)
    clock.advance(seconds=10)
    assert await auth.delete_expired_sessions() == 1
    assert await store.get_session(old.id) is None
    assert await store.get_session(young.id) is not None
    assert await auth.delete_expired_sessions() == 0


async def test_session_for_unknown_user(auth: Harness) -> None:
    from lucia import UserNotFoundError

    try:
        await auth.create_session("no-such-user")
    except UserNotFoundError:
        return
    raise AssertionError("a session was created for a user that does not exist")


async def test_update_expiry_never_resurrects(store: Harness, auth: Harness, clock: Clock) -> None:
    _, session = await _user_and_session(auth)
    await store.delete_session(session.id)
    # A real-clock expiry: a store with TTLs (Redis) would otherwise drop a
    # resurrected key at once and hide the bug.
    await store.update_session_expiry(session.id, datetime.now(UTC) + timedelta(days=1))
    assert await store.get_session(session.id) is None
    assert await auth.validate_session(session.token) is None
