"""Users, keys and passwords: the same behaviour on every store, sync and async."""

from __future__ import annotations

import argon2
import pytest

from lucia import (
    DuplicateKeyError,
    InvalidCredentialsError,
    InvalidPasswordError,
    KeyNotFoundError,
    LastKeyError,
    UserNotFoundError,
)
from tests.conftest import Harness

PASSWORD = "correct horse battery staple"


async def test_create_and_get_user(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com", attributes={"name": "Ada ✓"})
    assert user.attributes == {"name": "Ada ✓"}
    assert (await auth.get_user(user.id)) == user
    assert (await auth.get_user_by_key("email", "ada@example.com")) == user
    assert await auth.get_user("no-such-user") is None
    assert await auth.get_user_by_key("email", "nobody@example.com") is None


async def test_duplicate_key_leaves_nothing_behind(auth: Harness) -> None:
    await auth.create_user("github", "42")
    with pytest.raises(DuplicateKeyError) as caught:
        await auth.create_user("github", "42", user_id="second-user")
    assert caught.value.code == "AUTH_DUPLICATE_KEY_ID"
    assert await auth.get_user("second-user") is None


async def test_sec10_key_lookup_is_case_sensitive(auth: Harness) -> None:
    upper = await auth.create_user("github", "Alice")
    lower = await auth.create_user("github", "alice")
    assert upper.id != lower.id
    assert (await auth.get_user_by_key("github", "Alice")).id == upper.id
    assert (await auth.get_user_by_key("github", "alice")).id == lower.id
    assert await auth.get_user_by_key("github", "ALICE") is None
    assert await auth.get_user_by_key("GitHub", "Alice") is None


async def test_get_or_create_user(auth: Harness) -> None:
    user, created = await auth.get_or_create_user("github", "7", attributes={"login": "ada"})
    assert created
    again, created_again = await auth.get_or_create_user("github", "7", attributes={"x": 1})
    assert not created_again
    assert again == user
    assert again.attributes == {"login": "ada"}


async def test_authenticate(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com", password=PASSWORD)
    assert (await auth.authenticate("email", "ada@example.com", PASSWORD)) == user


async def test_sec20_same_error_for_unknown_key_wrong_password_and_no_password(
    auth: Harness,
) -> None:
    await auth.create_user("email", "ada@example.com", password=PASSWORD)
    await auth.create_user("github", "1")
    errors = []
    for provider_id, provider_user_id, password in [
        ("email", "ada@example.com", "wrong password!"),
        ("email", "nobody@example.com", PASSWORD),
        ("github", "1", PASSWORD),
    ]:
        with pytest.raises(InvalidCredentialsError) as caught:
            await auth.authenticate(provider_id, provider_user_id, password)
        errors.append((caught.value.code, str(caught.value), repr(caught.value)))
    assert len(set(errors)) == 1


async def test_sec16_weak_hash_is_upgraded_at_login(auth: Harness, user_store: Harness) -> None:
    user = await auth.create_user("email", "old@example.com")
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    assert await user_store.update_key_password("email", "old@example.com", weak)
    assert (await auth.authenticate("email", "old@example.com", PASSWORD)).id == user.id
    _, key = await user_store.get_user_by_key("email", "old@example.com")
    assert key.hashed_password != weak
    params = argon2.extract_parameters(key.hashed_password)
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19456
    assert params.time_cost >= 2
    assert (await auth.authenticate("email", "old@example.com", PASSWORD)).id == user.id


async def test_password_policy_applies_on_create(auth: Harness) -> None:
    with pytest.raises(InvalidPasswordError) as caught:
        await auth.create_user("email", "a@example.com", password="short")
    assert caught.value.reason == "too_short"
    with pytest.raises(InvalidPasswordError):
        await auth.create_user("email", "a@example.com", password="password")
    assert await auth.get_user_by_key("email", "a@example.com") is None


async def test_keys(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com", password=PASSWORD)
    key = await auth.add_key(user.id, "github", "99")
    assert (key.provider_id, key.provider_user_id, key.user_id, key.has_password) == (
        "github",
        "99",
        user.id,
        False,
    )
    keys = await auth.get_user_keys(user.id)
    assert [(k.provider_id, k.provider_user_id, k.has_password) for k in keys] == [
        ("email", "ada@example.com", True),
        ("github", "99", False),
    ]
    assert (await auth.get_user_by_key("github", "99")).id == user.id
    with pytest.raises(DuplicateKeyError):
        await auth.add_key(user.id, "github", "99")
    with pytest.raises(UserNotFoundError):
        await auth.add_key("no-such-user", "github", "100")
    await auth.delete_key("github", "99")
    await auth.delete_key("github", "99")  # gone already: no error
    assert await auth.get_user_by_key("github", "99") is None
    assert len(await auth.get_user_keys(user.id)) == 1


async def test_sec6_password_change_revokes_sessions(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com", password=PASSWORD)
    session = await auth.create_session(user.id)
    await auth.update_key_password("email", "ada@example.com", "a brand new passphrase")
    assert await auth.validate_session(session.token) is None
    with pytest.raises(InvalidCredentialsError):
        await auth.authenticate("email", "ada@example.com", PASSWORD)
    assert (await auth.authenticate("email", "ada@example.com", "a brand new passphrase")).id == (
        user.id
    )


async def test_password_change_can_keep_sessions(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com", password=PASSWORD)
    session = await auth.create_session(user.id)
    await auth.update_key_password(
        "email", "ada@example.com", "another fine passphrase", invalidate_sessions=False
    )
    assert await auth.validate_session(session.token) is not None


async def test_update_key_password_unknown_key(auth: Harness) -> None:
    with pytest.raises(KeyNotFoundError):
        await auth.update_key_password("email", "nobody@example.com", "whatever it is")


async def test_remove_password(auth: Harness) -> None:
    await auth.create_user("email", "ada@example.com", password=PASSWORD)
    await auth.update_key_password("email", "ada@example.com", None)
    with pytest.raises(InvalidCredentialsError):
        await auth.authenticate("email", "ada@example.com", PASSWORD)


async def test_update_user_attributes_merges(auth: Harness) -> None:
    user = await auth.create_user("github", "1", attributes={"name": "Ada", "plan": "free"})
    updated = await auth.update_user_attributes(user.id, {"plan": "pro", "tags": ["a"]})
    assert updated.attributes == {"name": "Ada", "plan": "pro", "tags": ["a"]}
    assert (await auth.get_user(user.id)).attributes == updated.attributes
    with pytest.raises(UserNotFoundError):
        await auth.update_user_attributes("no-such-user", {"a": 1})


async def test_delete_user_takes_keys_and_sessions(auth: Harness) -> None:
    user = await auth.create_user("github", "1")
    await auth.add_key(user.id, "google", "g-1")
    session = await auth.create_session(user.id)
    other = await auth.create_user("github", "2")
    other_session = await auth.create_session(other.id)
    await auth.delete_user(user.id)
    assert await auth.get_user(user.id) is None
    assert await auth.get_user_by_key("github", "1") is None
    assert await auth.get_user_by_key("google", "g-1") is None
    assert await auth.validate_session(session.token) is None
    assert await auth.get_user_keys(user.id) == []
    assert await auth.validate_session(other_session.token) is not None
    # The key is free again.
    assert (await auth.get_or_create_user("github", "1"))[1]


async def test_bad_arguments_are_refused(auth: Harness) -> None:
    with pytest.raises(ValueError, match="provider_id"):
        await auth.create_user("", "x")
    with pytest.raises(ValueError, match="provider_id"):
        await auth.create_user("github", "x" * 256)
    with pytest.raises(TypeError, match="attributes"):
        await auth.create_user("github", "x", attributes={"when": object()})
    with pytest.raises(InvalidCredentialsError):
        await auth.authenticate("email", "a@example.com", None)


async def _key_ids(store: Harness, user_id: str) -> list[tuple[str, str]]:
    return [(k.provider_id, k.provider_user_id) for k in await store.get_user_keys(user_id)]


async def test_delete_provider_keys_keeps_the_other_keys(
    auth: Harness, user_store: Harness
) -> None:
    user = await auth.create_user("email", "ada@example.com", password=PASSWORD)
    await auth.add_key(user.id, "github", "1")
    await auth.add_key(user.id, "github", "2")  # several keys of one provider go together
    await auth.add_key(user.id, "google", "g-1")
    other = await auth.create_user("github", "3")
    await auth.add_key(other.id, "email", "bob@example.com")
    assert await user_store.delete_provider_keys(user.id, "github") == 2
    assert await _key_ids(user_store, user.id) == [
        ("email", "ada@example.com"),
        ("google", "g-1"),
    ]
    assert await auth.get_user_by_key("github", "1") is None
    # Another user's keys of that provider are not the caller's to delete.
    assert await _key_ids(user_store, other.id) == [
        ("email", "bob@example.com"),
        ("github", "3"),
    ]
    # The password key still signs in.
    assert (await auth.authenticate("email", "ada@example.com", PASSWORD)).id == user.id


async def test_delete_provider_keys_without_such_key_changes_nothing(
    auth: Harness, user_store: Harness
) -> None:
    user = await auth.create_user("github", "1")
    await auth.add_key(user.id, "google", "g-1")
    await auth.create_user("email", "bob@example.com")
    # Bob's provider, not this user's: 0, and nothing anywhere changes.
    assert await user_store.delete_provider_keys(user.id, "email") == 0
    assert await user_store.delete_provider_keys(user.id, "GitHub") == 0  # exact match
    assert await _key_ids(user_store, user.id) == [("github", "1"), ("google", "g-1")]
    assert await auth.get_user_by_key("email", "bob@example.com") is not None
    assert await user_store.delete_provider_keys("no-such-user", "github") == 0


async def test_delete_provider_keys_refuses_the_last_keys(
    auth: Harness, user_store: Harness
) -> None:
    user = await auth.create_user("github", "1")
    assert await user_store.delete_provider_keys(user.id, "github") is None
    await auth.add_key(user.id, "github", "2")
    # Two keys, both of this provider: still all of the user's keys.
    assert await user_store.delete_provider_keys(user.id, "github") is None
    assert await _key_ids(user_store, user.id) == [("github", "1"), ("github", "2")]
    assert (await auth.get_user_by_key("github", "1")).id == user.id


async def test_delete_provider_keys_of_one_key(auth: Harness, user_store: Harness) -> None:
    user = await auth.create_user("github", "1")
    await auth.add_key(user.id, "github", "2")
    other = await auth.create_user("github", "3")
    await auth.add_key(other.id, "email", "bob@example.com")
    # One key of two of the same provider: only it goes, the other is left.
    assert await user_store.delete_provider_keys(user.id, "github", "1") == 1
    assert await _key_ids(user_store, user.id) == [("github", "2")]
    # Now it is the last key: refused, nothing deleted.
    assert await user_store.delete_provider_keys(user.id, "github", "2") is None
    # Another user's key is no key of this user's, and stays.
    assert await user_store.delete_provider_keys(user.id, "github", "3") == 0
    assert await user_store.delete_provider_keys(user.id, "github", "1") == 0  # gone already
    assert await _key_ids(user_store, user.id) == [("github", "2")]
    assert await _key_ids(user_store, other.id) == [("email", "bob@example.com"), ("github", "3")]


async def test_unlink_provider(auth: Harness) -> None:
    user = await auth.create_user("email", "ada@example.com", password=PASSWORD)
    await auth.add_key(user.id, "github", "1")
    await auth.add_key(user.id, "github", "2")
    assert await auth.unlink_provider(user.id, "github") == 2
    assert [k.provider_id for k in await auth.get_user_keys(user.id)] == ["email"]
    with pytest.raises(KeyNotFoundError):
        await auth.unlink_provider(user.id, "github")  # gone already
    with pytest.raises(KeyNotFoundError):
        await auth.unlink_provider("no-such-user", "github")
    with pytest.raises(LastKeyError) as caught:
        await auth.unlink_provider(user.id, "email")
    assert caught.value.code == "AUTH_LAST_KEY"
    assert caught.value.status == 409
    assert [k.provider_id for k in await auth.get_user_keys(user.id)] == ["email"]
    assert (await auth.authenticate("email", "ada@example.com", PASSWORD)).id == user.id


async def test_unlink_provider_of_one_key(auth: Harness) -> None:
    user = await auth.create_user("github", "1")
    await auth.add_key(user.id, "github", "2")
    assert await auth.unlink_provider(user.id, "github", "2") == 1
    assert [k.provider_user_id for k in await auth.get_user_keys(user.id)] == ["1"]
    with pytest.raises(LastKeyError):
        await auth.unlink_provider(user.id, "github", "1")
    with pytest.raises(KeyNotFoundError):
        await auth.unlink_provider(user.id, "github", "2")
