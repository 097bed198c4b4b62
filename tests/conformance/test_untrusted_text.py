"""Untrusted text on every store (SECURITY.md item 45): whatever a visitor types as
a session token, a key or a one-time token, every public read answers "not found"
and every write of a key is stored exactly or refused with ``InvalidKeyError``;
never a ``DatabaseError`` (PostgreSQL cannot hold NUL, MySQL and SQLite can).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lucia import (
    AsyncLucia,
    InvalidCredentialsError,
    InvalidKeyError,
    InvalidTokenError,
    KeyNotFoundError,
    Lucia,
)
from lucia.passwords import PasswordHasher
from tests.conformance.model import Backend, Stores
from tests.conftest import Clock, Harness

# Derandomised, like the fuzz tests (tests/fuzz/conftest.py): every run tries
# the same inputs on every backend. Few examples each: the suite runs this on
# about twenty stores, and each example makes some fifteen calls.
_FUZZ = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What no store may see: C0/C1 controls (NUL first of all). Surrogates cannot be
# drawn (st.text() never makes them) and are checked on their own below.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

UNTRUSTED = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("\x00\x01\x1f\x7f\x85\x9f a.Z-_é€😀")),
    st.text(min_size=250, max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
)

KNOWN = ("email", "ada@example.com")


class _CheapHasher(PasswordHasher):
    """Records what ``authenticate`` asks of it, without Argon2's cost per example."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def hash(self, password: str) -> str:
        return "not-a-real-hash"

    def verify(self, hashed: str, password: str) -> bool:
        self.calls.append("verify")
        return False

    def dummy_verify(self, password: str) -> None:
        self.calls.append("dummy_verify")


def _storable(text: str) -> bool:
    return 0 < len(text) <= 255 and _CONTROL.search(text) is None


async def _refused(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        await call


@pytest.fixture
def hasher() -> _CheapHasher:
    return _CheapHasher()


@pytest.fixture
def untrusted_auth(backend: Backend, stores: Stores, clock: Clock, hasher: _CheapHasher) -> Harness:
    cls: Any = AsyncLucia if backend.is_async else Lucia
    return Harness(
        cls(
            stores.adapter,
            session_adapter=stores.session_adapter,
            clock=clock,
            password_hasher=hasher,
        )
    )


@_FUZZ
@given(text=UNTRUSTED)
@example(text="\x00")
@example(text="a\x00b")
@example(text="A" * 20 + "\x00" + "B" * 43)
@example(text="x" * 255)
@example(text="😀" * 255)
@example(text="x" * 256)
@example(text="ada@example.com\x00")
@example(text="ada@example.com\n")
async def test_fuzz_sec45_untrusted_text_is_not_found_on_every_store(
    untrusted_auth: Harness, hasher: _CheapHasher, text: str
) -> None:
    auth = untrusted_auth
    found = await auth.get_user_by_key(*KNOWN)
    if found is None:  # the first example: one user with a password and a session
        found = await auth.create_user(*KNOWN, password="correct horse battery")
    user = found
    session = await auth.create_session(user.id)

    # Session tokens: the text as it is, and shaped like a token around it.
    assert await auth.validate_session(text) is None
    shaped = (text + "A" * 20)[:20] + "." + "B" * 43
    assert await auth.validate_session(shaped) is None
    assert await auth.validate_session_tokens([text, shaped, session.token]) is not None

    # Reads of keys: not found, whichever part is the text.
    if text != KNOWN[1]:
        assert await auth.get_user_by_key(KNOWN[0], text) is None
    if text != KNOWN[0]:
        assert await auth.get_user_by_key(text, KNOWN[1]) is None
    for key in [(KNOWN[0], text), (text, KNOWN[1])]:
        if key == KNOWN:
            continue
        hasher.calls.clear()
        await _refused(auth.authenticate(*key, "correct horse battery"), InvalidCredentialsError)
        # The same hashing work as for an unknown user: nothing tells them apart.
        assert hasher.calls == ["dummy_verify"]
        await _refused(auth.unlink_provider(user.id, *key), KeyNotFoundError)
        await _refused(auth.update_key_password(*key, None), KeyNotFoundError)
        await auth.delete_key(*key)  # nothing to delete: no error either
    await _refused(auth.unlink_provider(text, *KNOWN), KeyNotFoundError)
    if text != KNOWN[0]:
        await _refused(auth.unlink_provider(user.id, text), KeyNotFoundError)
    await _refused(auth.consume_token(text, "password-reset"), InvalidTokenError)

    # Writes of keys: stored exactly (and found again by exactly that text), or
    # refused before any store sees them.
    if _storable(text):
        made, _ = await auth.get_or_create_user("fuzz", text)
        assert (await auth.get_user_by_key("fuzz", text)).id == made.id
        again, created = await auth.get_or_create_user("fuzz", text)
        assert (again.id, created) == (made.id, False)
        if await auth.get_user_by_key("fuzz-linked", text) is None:
            await auth.add_key(made.id, "fuzz-linked", text)
            assert (await auth.get_user_by_key("fuzz-linked", text)).id == made.id
    else:
        await _refused(auth.get_or_create_user("fuzz", text), InvalidKeyError)
        await _refused(auth.create_user("fuzz", text), InvalidKeyError)
        await _refused(auth.create_user(text, "1"), InvalidKeyError)
        await _refused(auth.add_key(user.id, "fuzz", text), InvalidKeyError)
    await auth.invalidate_session(session.id)


@pytest.mark.parametrize(
    "text", ["\ud800", "a\udfffb", "\ud83d\ude00"], ids=["lone-high", "lone-low", "pair"]
)
async def test_sec45_surrogates_never_reach_a_store(untrusted_auth: Harness, text: str) -> None:
    # What json.loads makes of "\ud800": no UTF-8 can carry it to a database.
    auth = untrusted_auth
    user = await auth.create_user(*KNOWN)
    assert await auth.get_user_by_key("email", text) is None
    assert await auth.validate_session((text + "A" * 20)[:20] + "." + "B" * 43) is None
    await _refused(
        auth.authenticate("email", text, "correct horse battery"), InvalidCredentialsError
    )
    await _refused(auth.unlink_provider(user.id, "email", text), KeyNotFoundError)
    await _refused(auth.get_or_create_user("fuzz", text), InvalidKeyError)
    await _refused(auth.add_key(user.id, "fuzz", text), InvalidKeyError)
