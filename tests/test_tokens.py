"""lucia.tokens (email verification, password reset) and lucia.emails, sync and async.

Every flow test runs twice: through the plain functions on ``Lucia`` over a
``MemoryAdapter``, and through the ``a``-prefixed ones on ``AsyncLucia``. The
stores themselves are covered for every backend by tests/conformance/test_tokens.py.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lucia import accounts, tokens
from lucia.adapters.memory import MemoryAdapter
from lucia.adapters.sqlite import SQLiteAdapter
from lucia.cli import main
from lucia.core import Lucia
from lucia.emails import normalize_email
from lucia.errors import (
    InvalidCredentialsError,
    InvalidPasswordError,
    InvalidTokenError,
    UserNotFoundError,
)
from lucia.models import User
from lucia.oauth.flow import EMAIL_PROVIDER_ID
from tests.conftest import Clock
from tests.test_accounts import NEW_PASSWORD, PASSWORD, make_env
from tests.test_accounts import Env as AccountsEnv


class Env(AccountsEnv):
    """The accounts test environment, plus the ``lucia.tokens`` functions."""

    async def tokens(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await self.run(tokens, name, *args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def env(request: pytest.FixtureRequest) -> Env:
    return make_env(request.param, Env)


def stored_purposes(store: MemoryAdapter) -> list[str]:
    return sorted(record.purpose for record in store._tokens.values())


# Email verification


async def test_verify_email_marks_the_stored_address_verified(env: Env) -> None:
    signed = await env.sign_up()
    assert signed.user.attributes["email_verified"] is False
    token, address = await env.tokens("create_email_verification_token", signed.user.id)
    assert address == "ada@example.com"
    user = await env.tokens("verify_email", token)
    assert user.id == signed.user.id
    assert user.attributes["email_verified"] is True
    assert (await env.lucia.get_user(user.id)).attributes["email_verified"] is True
    with pytest.raises(InvalidTokenError):
        await env.tokens("verify_email", token)


async def test_a_new_verification_token_replaces_the_older_ones(env: Env) -> None:
    signed = await env.sign_up()
    first, _ = await env.tokens("create_email_verification_token", signed.user.id)
    second, _ = await env.tokens("create_email_verification_token", signed.user.id)
    assert stored_purposes(env.store) == [tokens.EMAIL_VERIFICATION]
    with pytest.raises(InvalidTokenError):
        await env.tokens("verify_email", first)
    assert (await env.tokens("verify_email", second)).attributes["email_verified"] is True


async def test_verification_tokens_last_48_hours(env: Env) -> None:
    signed = await env.sign_up()
    token, _ = await env.tokens("create_email_verification_token", signed.user.id)
    env.clock.advance(hours=48)
    with pytest.raises(InvalidTokenError):
        await env.tokens("verify_email", token)
    token, _ = await env.tokens("create_email_verification_token", signed.user.id)
    env.clock.advance(hours=47, minutes=59)
    assert (await env.tokens("verify_email", token)).attributes["email_verified"] is True


async def test_sec41_verification_fails_once_the_address_changed(env: Env) -> None:
    signed = await env.sign_up()
    token, _ = await env.tokens("create_email_verification_token", signed.user.id)
    await env.lucia.update_user_attributes(signed.user.id, {"email": "eve@example.com"})
    with pytest.raises(InvalidTokenError):
        await env.tokens("verify_email", token)
    assert (await env.lucia.get_user(signed.user.id)).attributes["email_verified"] is False


async def test_verification_needs_a_user_with_an_address(env: Env) -> None:
    with pytest.raises(UserNotFoundError):
        await env.tokens("create_email_verification_token", "no-such-user")
    user = await env.lucia.create_user("github", "1", attributes={"email": "not an address"})
    with pytest.raises(accounts.InvalidEmailError):
        await env.tokens("create_email_verification_token", user.id)
    assert env.store._tokens == {}


async def test_verification_and_reset_tokens_are_not_interchangeable(env: Env) -> None:
    signed = await env.sign_up()
    verification, _ = await env.tokens("create_email_verification_token", signed.user.id)
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    with pytest.raises(InvalidTokenError):
        await env.tokens("reset_password", verification, NEW_PASSWORD)
    with pytest.raises(InvalidTokenError):
        await env.tokens("verify_email", reset.token)
    # Neither was used up by the wrong door.
    await env.tokens("verify_email", verification)
    await env.tokens("reset_password", reset.token, NEW_PASSWORD)


# Password reset


async def test_reset_password(env: Env) -> None:
    signed = await env.sign_up()
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    assert isinstance(reset, tokens.PasswordReset)
    assert reset.user.id == signed.user.id
    assert reset.email == "ada@example.com"
    user = await env.tokens("reset_password", reset.token, NEW_PASSWORD)
    assert isinstance(user, User)
    assert user.id == signed.user.id
    assert (await env.lucia.authenticate(EMAIL_PROVIDER_ID, "ada@example.com", NEW_PASSWORD)).id
    with pytest.raises(InvalidCredentialsError):
        await env.lucia.authenticate(EMAIL_PROVIDER_ID, "ada@example.com", PASSWORD)
    with pytest.raises(InvalidTokenError):
        await env.tokens("reset_password", reset.token, "yet another passphrase")


async def test_sec6_reset_revokes_every_session(env: Env) -> None:
    signed = await env.sign_up()
    other = await env.lucia.create_session(signed.user.id)
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    await env.tokens("reset_password", reset.token, NEW_PASSWORD)
    assert await env.lucia.validate_session(signed.session.token) is None
    assert await env.lucia.validate_session(other.token) is None
    assert await env.lucia.get_user_sessions(signed.user.id) == []


async def test_no_reset_for_an_unknown_or_invalid_address(env: Env) -> None:
    await env.sign_up()
    for email in ["nobody@example.com", "not an address", "", "ada@example.com@x.com"]:
        assert await env.tokens("create_password_reset_token", email) is None
    assert env.store._tokens == {}


async def test_a_refused_password_does_not_burn_the_token(env: Env) -> None:
    await env.sign_up()
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    for weak in ["short", "password123"]:
        with pytest.raises(InvalidPasswordError):
            await env.tokens("reset_password", reset.token, weak)
    await env.tokens("reset_password", reset.token, NEW_PASSWORD)


async def test_a_new_reset_token_replaces_the_older_one(env: Env) -> None:
    await env.sign_up()
    first = await env.tokens("create_password_reset_token", "ada@example.com")
    second = await env.tokens("create_password_reset_token", "ada@example.com")
    assert stored_purposes(env.store) == [tokens.PASSWORD_RESET]
    with pytest.raises(InvalidTokenError):
        await env.tokens("reset_password", first.token, NEW_PASSWORD)
    await env.tokens("reset_password", second.token, NEW_PASSWORD)


async def test_a_reset_deletes_the_users_other_reset_tokens(env: Env) -> None:
    signed = await env.sign_up()
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    # Another live reset token (say, made with a custom flow) dies with the reset.
    await env.lucia.create_token(
        signed.user.id,
        tokens.PASSWORD_RESET,
        expires_in=timedelta(hours=1),
        data={"key": "ada@example.com"},
    )
    verification, _ = await env.tokens("create_email_verification_token", signed.user.id)
    await env.tokens("reset_password", reset.token, NEW_PASSWORD)
    assert stored_purposes(env.store) == [tokens.EMAIL_VERIFICATION]
    await env.tokens("verify_email", verification)


async def test_reset_tokens_last_one_hour(env: Env) -> None:
    await env.sign_up()
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    env.clock.advance(hours=1)
    with pytest.raises(InvalidTokenError):
        await env.tokens("reset_password", reset.token, NEW_PASSWORD)
    reset = await env.tokens(
        "create_password_reset_token", "ada@example.com", expires_in=timedelta(minutes=10)
    )
    env.clock.advance(minutes=9)
    await env.tokens("reset_password", reset.token, NEW_PASSWORD)


async def test_a_reset_for_an_address_that_moved_is_refused(env: Env) -> None:
    signed = await env.sign_up()
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    # The email key went to another account after the mail was sent (the first
    # account keeps another key: delete_key never takes a user's last one).
    await env.lucia.add_key(signed.user.id, "github", "1")
    await env.lucia.delete_key(EMAIL_PROVIDER_ID, "ada@example.com")
    other = await env.lucia.create_user(EMAIL_PROVIDER_ID, "ada@example.com", password=PASSWORD)
    with pytest.raises(InvalidTokenError):
        await env.tokens("reset_password", reset.token, NEW_PASSWORD)
    assert (await env.lucia.authenticate(EMAIL_PROVIDER_ID, "ada@example.com", PASSWORD)).id == (
        other.id
    )
    assert other.id != signed.user.id


def test_password_reset_repr_hides_the_token() -> None:
    reset = tokens.PasswordReset(User("u1"), "ada@example.com", "s3cr3t-token-value")
    assert "s3cr3t" not in repr(reset)
    assert "ada@example.com" in repr(reset)


async def test_sec42_no_token_in_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    signed = await env.sign_up()
    verification, _ = await env.tokens("create_email_verification_token", signed.user.id)
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    await env.tokens("verify_email", verification)
    await env.tokens("reset_password", reset.token, NEW_PASSWORD)
    with pytest.raises(InvalidTokenError):
        await env.tokens("verify_email", verification)
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert verification not in text
        assert reset.token not in text
        assert NEW_PASSWORD not in text


# SECURITY.md 41: email addresses


async def test_sec41_reset_mail_goes_to_the_stored_address(env: Env) -> None:
    await env.sign_up()
    for typed in ["ada@example.com", " ADA@Example.COM ", "Ada@example.com"]:
        reset = await env.tokens("create_password_reset_token", typed)
        assert reset.email == "ada@example.com", typed
    # An account whose stored address is written differently from its key (a
    # provider's spelling): the mail goes to the stored one, not the typed one.
    user = await env.lucia.create_user(
        "github", "7", attributes={"email": "Bob.Smith@Example.com", "email_verified": True}
    )
    await env.lucia.add_key(user.id, EMAIL_PROVIDER_ID, "bob.smith@example.com")
    reset = await env.tokens("create_password_reset_token", "BOB.SMITH@example.COM")
    assert reset.user.id == user.id
    assert reset.email == "Bob.Smith@Example.com"


async def test_mail_goes_to_the_key_when_the_stored_address_is_unusable(env: Env) -> None:
    # No usable stored address (none, or not an address): the account's email key
    # is where the reset mail goes, and the address change_email names as previous.
    for n, stored in enumerate([{}, {"email": "not an address"}]):
        key = f"user{n}@example.com"
        user = await env.lucia.create_user(
            EMAIL_PROVIDER_ID, key, password=PASSWORD, attributes=stored
        )
        reset = await env.tokens("create_password_reset_token", key.upper())
        assert (reset.user.id, reset.email) == (user.id, key)
        change = await env.run(
            accounts, "change_email", user.id, key, PASSWORD, f"new{n}@example.com"
        )
        assert change.previous_email == key


@pytest.mark.parametrize(
    "lookalike",
    [
        "m\u0131ke@example.org",  # dotless i (CVE-2019-19844)
        "mike\uff20example.org",  # fullwidth at sign, which NFKC folds to "@"
        "\uff4dike@example.org",  # fullwidth m
        "mike@ex\u0430mple.org",  # Cyrillic a in the domain
        '"mike@example.org"@attacker.com',  # quoted local part
        "mike@example.org@attacker.com",  # a second "@"
        "mike@example.org\x00",  # a control character
        "mike@example.org\n@attacker.com",
    ],
)
async def test_sec41_lookalikes_never_reach_an_account(env: Env, lookalike: str) -> None:
    await env.sign_up("mike@example.org")
    assert await env.tokens("create_password_reset_token", lookalike) is None
    with pytest.raises(accounts.InvalidEmailError):
        await env.sign_up(lookalike)
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", lookalike, PASSWORD)
    assert env.store._tokens == {}


async def test_sec41_kelvin_sign_is_not_lowercased_into_a_k(env: Env) -> None:
    # "\u212a".lower() == "k": lower-casing before checking would find kate's account.
    await env.sign_up("kate@example.com")
    assert await env.tokens("create_password_reset_token", "\u212aate@example.com") is None
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", "\u212aate@example.com", PASSWORD)


def test_sec41_normalize_email_accepts_plain_addresses() -> None:
    assert normalize_email(" Ada@Example.COM ") == "ada@example.com"
    assert normalize_email("a.b+tag@mail.example.co.uk") == "a.b+tag@mail.example.co.uk"
    assert normalize_email("o'neil@xn--bcher-kva.example") == "o'neil@xn--bcher-kva.example"
    assert normalize_email("x" * 64 + "@example.com") == "x" * 64 + "@example.com"
    longest = "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 60  # 254 characters
    assert len(longest) == 254
    assert normalize_email(longest) == longest


@pytest.mark.parametrize(
    "bad",
    [
        None,
        42,
        "",
        "ada",
        "@example.com",
        "ada@",
        "a@b@example.com",
        '"a@attacker.com"@victim.com',
        '"ada"@example.com',
        "(comment)ada@example.com",
        "ada@[192.0.2.1]",
        "ada@192.0.2.1",
        "ada@localhost",
        "ada@example.com.",
        "ada@-example.com",
        "ada@example-.com",
        "ada@exa_mple.com",
        ".ada@example.com",
        "ada.@example.com",
        "a..da@example.com",
        "a d@example.com",
        "ada\t@example.com",
        "ada\x7f@example.com",
        "ada\u200b@example.com",  # zero-width space
        "ada\uff20example.com",
        "\u212aate@example.com",
        "m\u0131ke@example.org",
        "ad\u0430@example.com",
        "x" * 65 + "@example.com",
        "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 61,  # 255 characters
        "a@" + "b" * 64 + ".com",  # a label over 63
        "x" * 10_000,
    ],
)
def test_sec41_normalize_email_refuses(bad: object) -> None:
    assert normalize_email(bad) is None


def test_normalize_email_is_the_one_the_oauth_flow_uses() -> None:
    from lucia.oauth import flow

    assert flow.normalize_email is normalize_email


# The command line: purge and table names


def test_purge_deletes_expired_tokens_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    adapter = SQLiteAdapter(db)
    adapter.create_tables()
    clock = Clock()
    clock.now = clock.now.replace(year=2020)  # long expired by the real clock
    auth = Lucia(adapter, clock=clock)
    user = auth.create_user("github", "1")
    for _ in range(3):
        auth.create_token(user.id, "reset", expires_in=timedelta(hours=1))
    auth.create_token(user.id, "reset", expires_in=timedelta(days=365 * 100))
    adapter.close()
    assert main(["sessions", "purge", f"sqlite:///{db}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["lucia: deleted 0 expired sessions", "lucia: deleted 3 expired one-time tokens"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM auth_token").fetchone() == (1,)


def test_cli_tables_take_three_or_four_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    assert main(["migrate", f"sqlite:///{db}", "--tables", "people,logins,visits"]) == 0
    assert main(["migrate", f"sqlite:///{db}", "--tables", "u,k,s,one_time"]) == 0
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    # Three names: the token table is named after the user table.
    assert {"people", "logins", "visits", "people_token"} <= names
    assert {"u", "k", "s", "one_time"} <= names
    assert "auth_token" not in names
    with pytest.raises(SystemExit) as caught:
        main(["migrate", f"sqlite:///{db}", "--tables", "a,b,c,d,e"])
    assert caught.value.code == 2
    assert "three or four names" in capsys.readouterr().err


# Verification-first sign-up: the same answer for a taken and a free address (SECURITY.md 47)


async def test_request_sign_up_answers_the_same_for_a_taken_and_a_free_address(
    env: Env,
) -> None:
    existing = await env.sign_up("taken@example.com")
    free = await env.tokens("request_sign_up", "  Free@Example.com ")
    taken = await env.tokens("request_sign_up", "TAKEN@example.com")
    # The caller learns the same shape either way; only the mail differs.
    assert type(free) is type(taken) is tokens.SignUpMail
    assert (free.email, free.account_exists) == ("free@example.com", False)
    assert (taken.email, taken.account_exists) == ("taken@example.com", True)
    assert free.token not in repr(free)
    assert taken.token not in repr(taken)
    # The note to the owner carries a reset link for their account; nothing else changed.
    user = await env.tokens("reset_password", taken.token, NEW_PASSWORD)
    assert user.id == existing.user.id


async def test_complete_sign_up_creates_a_verified_account_and_signs_in(env: Env) -> None:
    mail = await env.tokens("request_sign_up", "new@example.com")
    # The account-to-be cannot be signed in to.
    with pytest.raises(InvalidCredentialsError):
        await env.call("sign_in", "new@example.com", PASSWORD)
    signed = await env.tokens(
        "complete_sign_up",
        mail.token,
        PASSWORD,
        attributes={"name": "New", "email_verified": False},
        session_attributes={"ip": "192.0.2.1"},
    )
    assert isinstance(signed, accounts.SignedIn)
    assert signed.user.attributes == {
        "name": "New",
        "email": "new@example.com",
        "email_verified": True,
    }
    assert signed.session.attributes == {"ip": "192.0.2.1"}
    assert await env.lucia.validate_session(signed.session.token) is not None
    assert (await env.call("sign_in", "new@example.com", PASSWORD)).user.id == signed.user.id
    # Single use; and the completed account is "taken" for the next request.
    with pytest.raises(InvalidTokenError):
        await env.tokens("complete_sign_up", mail.token, NEW_PASSWORD)
    assert (await env.tokens("request_sign_up", "new@example.com")).account_exists is True


async def test_a_new_sign_up_request_replaces_the_older_link(env: Env) -> None:
    first = await env.tokens("request_sign_up", "new@example.com")
    second = await env.tokens("request_sign_up", "new@example.com")
    assert second.account_exists is False
    assert len(env.store._users) == 1
    with pytest.raises(InvalidTokenError):
        await env.tokens("complete_sign_up", first.token, PASSWORD)
    assert (await env.tokens("complete_sign_up", second.token, PASSWORD)).user.attributes[
        "email_verified"
    ]


async def test_complete_sign_up_checks_the_password_before_using_the_link(env: Env) -> None:
    mail = await env.tokens("request_sign_up", "new@example.com")
    with pytest.raises(InvalidPasswordError):
        await env.tokens("complete_sign_up", mail.token, "short")
    await env.tokens("complete_sign_up", mail.token, PASSWORD)
    for bad in ("", "not-a-token", mail.token + "x"):
        with pytest.raises(InvalidTokenError):
            await env.tokens("complete_sign_up", bad, PASSWORD)


async def test_a_sign_up_link_is_no_password_reset_and_vice_versa(env: Env) -> None:
    await env.sign_up("ada@example.com")
    mail = await env.tokens("request_sign_up", "new@example.com")
    reset = await env.tokens("create_password_reset_token", "ada@example.com")
    with pytest.raises(InvalidTokenError):
        await env.tokens("reset_password", mail.token, NEW_PASSWORD)
    with pytest.raises(InvalidTokenError):
        await env.tokens("complete_sign_up", reset.token, NEW_PASSWORD)


async def test_request_sign_up_refuses_invalid_addresses(env: Env) -> None:
    with pytest.raises(accounts.InvalidEmailError):
        await env.tokens("request_sign_up", "\uff41da@example.com")
    assert env.store._users == {}


async def test_sec47_request_sign_up_is_throttled_per_address(env: Env) -> None:
    from lucia.throttle import Limit, RateLimitedError, SignInThrottle

    throttle = SignInThrottle(per_address_sign_ups=Limit(2, timedelta(hours=1)), clock=env.clock)
    await env.sign_up("taken@example.com")
    for address in ("a@example.com", "taken@example.com"):
        await env.tokens("request_sign_up", address, throttle=throttle, address="192.0.2.1")
    with pytest.raises(RateLimitedError):
        await env.tokens("request_sign_up", "b@example.com", throttle=throttle, address="192.0.2.1")
    assert await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "b@example.com") is None


async def test_a_sign_up_link_dies_once_the_account_changed(env: Env) -> None:
    mail = await env.tokens("request_sign_up", "new@example.com")
    user = await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "new@example.com")
    await env.lucia.add_key(user.id, "github", "12345")  # linked meanwhile: no longer pending
    with pytest.raises(InvalidTokenError):
        await env.tokens("complete_sign_up", mail.token, PASSWORD)


# An unfinished sign-up (an account-to-be whose link was never used) takes no address.


async def test_a_plain_sign_up_replaces_an_unfinished_sign_up(env: Env) -> None:
    mail = await env.tokens("request_sign_up", "new@example.com")
    pending = await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "new@example.com")
    signed = await env.sign_up("New@example.com", attributes={"name": "New"})
    assert signed.user.id != pending.id
    assert signed.user.attributes == {
        "name": "New",
        "email": "new@example.com",
        "email_verified": False,  # a plain sign-up proves no address
    }
    assert list(env.store._users) == [signed.user.id]
    assert stored_purposes(env.store) == []  # the old link went with its account
    with pytest.raises(InvalidTokenError):
        await env.tokens("complete_sign_up", mail.token, NEW_PASSWORD)
    assert (await env.call("sign_in", "new@example.com", PASSWORD)).user.id == signed.user.id
    # Now the address is taken: the next request mails its owner a reset link.
    assert (await env.tokens("request_sign_up", "new@example.com")).account_exists is True


async def test_a_plain_sign_up_never_replaces_a_finished_linked_or_verified_account(
    env: Env,
) -> None:
    done = await env.tokens("request_sign_up", "done@example.com")
    completed = await env.tokens("complete_sign_up", done.token, PASSWORD)
    await env.tokens("request_sign_up", "linked@example.com")
    linked = await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "linked@example.com")
    await env.lucia.add_key(linked.id, "github", "12345")
    await env.tokens("request_sign_up", "verified@example.com")
    verified = await env.lucia.get_user_by_key(EMAIL_PROVIDER_ID, "verified@example.com")
    await env.lucia.update_user_attributes(verified.id, {"email_verified": True})
    users = dict(env.store._users)
    for address in ("done@example.com", "linked@example.com", "verified@example.com"):
        with pytest.raises(accounts.EmailTakenError):
            await env.call("sign_up", address, NEW_PASSWORD)
    assert env.store._users == users
    # Nothing of theirs changed: the completed account still signs in with its password.
    assert (await env.call("sign_in", "done@example.com", PASSWORD)).user.id == completed.user.id


async def test_an_expired_sign_up_link_is_replaced_by_a_new_request(env: Env) -> None:
    first = await env.tokens("request_sign_up", "new@example.com")
    env.clock.advance(hours=49)  # past its 48 hours
    with pytest.raises(InvalidTokenError):
        await env.tokens("complete_sign_up", first.token, PASSWORD)
    second = await env.tokens("request_sign_up", "new@example.com")
    assert second.account_exists is False
    assert len(env.store._users) == 1
    assert (await env.tokens("complete_sign_up", second.token, PASSWORD)).user.attributes[
        "email_verified"
    ]


def test_a_link_used_while_a_plain_sign_up_replaces_its_account_leaves_no_way_in() -> None:
    # The race the store cannot lock out: the link is consumed and checked, and
    # while its password is being hashed a plain sign-up replaces the account-to-be,
    # so the link's password is written to the new account's key.
    env = make_env("sync", Env)
    assert isinstance(env.auth, Lucia)
    auth = env.auth
    mail = tokens.request_sign_up(auth, "new@example.com")
    hash_password = auth.password_hasher.hash
    plain: list[accounts.SignedIn] = []

    def hash_and_race(password: str) -> str:
        if password == NEW_PASSWORD and not plain:
            plain.append(accounts.sign_up(auth, "new@example.com", PASSWORD))
        return hash_password(password)

    auth.password_hasher.hash = hash_and_race  # type: ignore[method-assign]
    with pytest.raises(InvalidTokenError):
        tokens.complete_sign_up(auth, mail.token, NEW_PASSWORD)
    [signed] = plain
    # The newer account is an unverified claim on the address the link proves:
    # neither password signs in to it, and its session is gone.
    for password in (NEW_PASSWORD, PASSWORD):
        with pytest.raises(InvalidCredentialsError):
            accounts.sign_in(auth, "new@example.com", password)
    assert auth.validate_session(signed.session.token) is None
    assert list(env.store._users) == [signed.user.id]
    # The address's owner gets in by asking again (the account is unfinished now).
    again = tokens.request_sign_up(auth, "new@example.com")
    assert again.account_exists is False
    assert tokens.complete_sign_up(auth, again.token, NEW_PASSWORD).user.id == signed.user.id
