"""Untrusted text is checked once, in core, before any store sees it (SECURITY.md
item 45). The same promises on every real store: tests/conformance/test_untrusted_text.py."""

from __future__ import annotations

from typing import Any

import argon2
import pytest

from lucia import InvalidCredentialsError, InvalidKeyError, Lucia, LuciaError
from lucia.adapters.memory import MemoryAdapter
from lucia.sessions import parse_token

PASSWORD = "correct horse battery"


class _RecordingStore(MemoryAdapter):
    """A store that remembers every key part and session id it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def get_user_by_key(self, provider_id: str, provider_user_id: str) -> Any:
        self.seen += [provider_id, provider_user_id]
        return super().get_user_by_key(provider_id, provider_user_id)

    def get_session_and_user(self, session_id: str) -> Any:
        self.seen.append(session_id)
        return super().get_session_and_user(session_id)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\n", "\x1f", "\x7f", "\x85", "\x9f", "\ud800"])
def test_sec45_no_control_character_reaches_the_store(char: str) -> None:
    store = _RecordingStore()
    auth = Lucia(store)
    auth.create_user("email", "ada@example.com", password=PASSWORD)
    store.seen.clear()
    assert auth.get_user_by_key("email", "ada@example.com" + char) is None
    assert auth.get_user_by_key("email" + char, "ada@example.com") is None
    with pytest.raises(InvalidCredentialsError):
        auth.authenticate("email", char + "ada@example.com", PASSWORD)
    assert auth.validate_session("A" * 10 + char + "A" * 9 + "." + "B" * 43) is None
    assert store.seen == []


def test_sec45_overlong_keys_are_not_looked_up() -> None:
    store = _RecordingStore()
    auth = Lucia(store)
    assert auth.get_user_by_key("email", "a" * 256) is None
    assert auth.get_user_by_key("email", "") is None
    assert store.seen == []
    assert auth.get_user_by_key("email", "a" * 255) is None
    assert store.seen == ["email", "a" * 255]


def test_sec45_a_nul_key_costs_the_same_hashing_as_an_unknown_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = Lucia(MemoryAdapter())
    auth.create_user("email", "ada@example.com", password=PASSWORD)
    auth.password_hasher.dummy_verify("warm up")  # its hash is made once, on first use
    verified: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, hashed: str, password: str | bytes) -> bool:
        verified.append(hashed)
        return real_verify(self, hashed, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    for key in [("email", "nobody@example.com"), ("email", "ada@example.com\x00"), ("\x00", "x")]:
        verified.clear()
        with pytest.raises(InvalidCredentialsError) as caught:
            auth.authenticate(*key, PASSWORD)
        assert str(caught.value) == "invalid credentials"
        assert len(verified) == 1  # one full Argon2id verification, as for an unknown user


@pytest.mark.parametrize(
    "key",
    [("email", "a\x00b"), ("email\x00", "a"), ("email", "x" * 256), ("email", ""), ("e", "\ud800")],
)
def test_sec45_a_key_no_store_can_hold_is_refused_clearly(key: tuple[str, str]) -> None:
    auth = Lucia(MemoryAdapter())
    user = auth.create_user("github", "1")
    for call in [
        lambda: auth.create_user(*key),
        lambda: auth.get_or_create_user(*key),
        lambda: auth.add_key(user.id, *key),
    ]:
        with pytest.raises(InvalidKeyError) as caught:
            call()
        # A ValueError as before, and a LuciaError the integrations can answer with.
        assert isinstance(caught.value, ValueError)
        assert isinstance(caught.value, LuciaError)
        assert caught.value.code == "AUTH_INVALID_KEY"
        assert str(caught.value) == InvalidKeyError.default_message  # never the value
    assert [k.provider_id for k in auth.get_user_keys(user.id)] == ["github"]


@pytest.mark.parametrize("char", ["\x00", "\t", "\x1b", "\x7f"])
def test_sec45_a_session_id_with_a_control_character_has_no_token_shape(char: str) -> None:
    token = "A" * 20 + "." + "B" * 43
    assert parse_token(token) is not None
    assert parse_token(char + token[1:]) is None
    assert parse_token(token[:19] + char + token[20:]) is None
    # The secret never reaches a store (only its hash is compared): it may not
    # match, but it is no danger, and the hot path checks only the id.
    assert parse_token(token[:-1] + char) == ("A" * 20, "B" * 42 + char)
