"""The demo's handlers over ASGI: sign-up, sign-in, linking, re-authentication, sessions.

The happy path runs in a real browser (test_browser.py); these cover the error
paths and the rules a browser test would only see once.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from lucia.demo.app import DEV_PROVIDER_NAME
from lucia.demo.useragent import describe_user_agent
from lucia.throttle import Limit, SignInThrottle
from tests.demo.conftest import PASSWORD, Demo

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"


def _error(response: httpx.Response) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', response.text)
    assert found, response.text
    return found.group(1)


async def _keys(demo: Demo, email: str = "ada@example.com") -> list[tuple[str, str]]:
    user = await demo.state.auth.get_user_by_key("email", email)
    assert user is not None
    return [
        (k.provider_id, k.provider_user_id) for k in await demo.state.auth.get_user_keys(user.id)
    ]


# Pages


async def test_pages_are_not_cached_and_load_nothing_from_elsewhere(demo: Demo) -> None:
    client = demo.browser()
    for path in ("/", "/signup", "/signin"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        # Every URL the page would load is local (the only absolute URL is the dev provider's
        # address, shown as text).
        assert not re.search(r'(src|href)="(https?:)?//', response.text)
    css = await client.get("/static/demo.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "@media" in css.text  # the narrow-screen rules


async def test_dev_mode_is_announced_on_every_page(demo: Demo) -> None:
    page = (await demo.browser().get("/signin")).text
    assert "Development mode." in page
    assert demo.op.issuer in page
    assert "Sign in with Local development provider" in page


async def test_account_page_needs_a_session(demo: Demo) -> None:
    response = await demo.browser().get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"


async def test_cross_site_form_posts_are_refused(demo: Demo) -> None:
    client = demo.browser()
    response = await client.post(
        "/signin",
        data={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


async def test_notice_shows_only_fixed_texts(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    page = (await client.get("/account", params={"notice": "<script>x</script>"})).text
    assert "<script>" not in page
    assert 'class="notice"' not in page
    page = (await client.get("/account", params={"notice": "welcome"})).text
    assert "Your account is ready." in page


# Sign-up


async def test_sign_up_signs_in_and_shows_the_account(demo: Demo) -> None:
    client = demo.browser(user_agent=CHROME_LINUX)
    response = await demo.sign_up(client, "Ada@Example.com")
    assert response.headers["location"] == "/account?notice=welcome"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("auth_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = (await client.get("/account")).text
    assert "ada@example.com" in page  # normalised
    assert "Email and password" in page
    assert "Chrome on Linux" in page
    assert "Your only sign-in method cannot be unlinked." in page


async def test_sign_up_with_a_taken_email(demo: Demo) -> None:
    await demo.sign_up(demo.browser())
    response = await demo.browser().post(
        "/signup", data={"email": "ADA@example.com", "password": "another-" + PASSWORD}
    )
    assert response.status_code == 409
    assert _error(response) == "An account with this email already exists. Sign in instead."
    assert 'value="ADA@example.com"' in response.text  # the form keeps what was typed
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "The password is too short: use at least 8 characters."),
        ("password123", "This password is too common: choose one that is harder to guess."),
        ("x" * 257, "The password is too long: use at most 256 characters."),
    ],
)
async def test_sign_up_with_a_refused_password(demo: Demo, password: str, message: str) -> None:
    response = await demo.browser().post(
        "/signup", data={"email": "ada@example.com", "password": password}
    )
    assert response.status_code == 400
    assert _error(response) == message
    assert password not in response.text
    assert await demo.state.auth.get_user_by_key("email", "ada@example.com") is None


async def test_sign_up_with_an_invalid_email(demo: Demo) -> None:
    response = await demo.browser().post(
        "/signup", data={"email": "not an address", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert _error(response) == "Enter a valid email address."


# Sign-in


async def test_unknown_email_and_wrong_password_get_the_same_answer(demo: Demo) -> None:
    await demo.sign_up(demo.browser())
    client = demo.browser()
    wrong = await client.post("/signin", data={"email": "ada@example.com", "password": "nope-1234"})
    unknown = await client.post(
        "/signin", data={"email": "bob@example.com", "password": "nope-1234"}
    )
    assert wrong.status_code == unknown.status_code == 400
    assert _error(wrong) == _error(unknown) == "Wrong email or password."
    assert "set-cookie" not in wrong.headers
    assert "set-cookie" not in unknown.headers


async def test_sec1_sign_in_replaces_the_session_the_browser_held(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    before = client.cookies["auth_session"]
    response = await client.post("/signin", data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 303
    assert client.cookies["auth_session"] != before
    assert await demo.state.auth.validate_session(before) is None


async def test_provider_sign_in_creates_a_passwordless_account(demo: Demo) -> None:
    client = demo.browser()
    callback = await demo.provider_sign_in(client, sub="grace")
    assert callback.status_code == 303
    assert callback.headers["location"] == "/account"
    page = (await client.get("/account")).text
    assert "grace@example.org" in page
    assert "Local development provider" in page


async def test_the_flow_seals_with_a_key_of_the_demos_own(
    demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    # A flow without secret_keys warns at its first sign-in; the demo gives its own key.
    with caplog.at_level(logging.WARNING, logger="lucia.oauth"):
        callback = await demo.provider_sign_in(demo.browser(), sub="grace")
    assert callback.status_code == 303
    assert not [r for r in caplog.records if "secret_keys" in r.getMessage()]


async def test_unknown_provider_is_404(demo: Demo) -> None:
    response = await demo.browser().post("/signin/nowhere")
    assert response.status_code == 404


# SECURITY 21: throttling


def _strict_throttle(demo: Demo, failures: int = 3) -> None:
    demo.state.throttle = SignInThrottle(
        per_account=Limit(failures, timedelta(minutes=15)), clock=demo.clock
    )


def _count_password_checks(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    authenticate = demo.state.auth.authenticate

    async def spy(provider_id: str, provider_user_id: str, password: str) -> Any:
        calls.append(provider_user_id)
        return await authenticate(provider_id, provider_user_id, password)

    monkeypatch.setattr(demo.state.auth, "authenticate", spy)
    return calls


async def test_sec21_sign_in_is_throttled_per_account(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    await demo.sign_up(demo.browser())
    _strict_throttle(demo)
    checks = _count_password_checks(demo, monkeypatch)
    client = demo.browser()
    for _ in range(3):
        wrong = await client.post(
            "/signin", data={"email": "ADA@example.com", "password": "wrong-password"}
        )
        assert wrong.status_code == 400
    # Blocked now, even with the right password, and the hasher never runs.
    blocked = await client.post("/signin", data={"email": "ada@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "900"
    assert _error(blocked) == "Too many attempts, try again in 15 minutes."
    assert "set-cookie" not in blocked.headers
    assert len(checks) == 3
    demo.clock.advance(minutes=15)
    allowed = await client.post("/signin", data={"email": "ada@example.com", "password": PASSWORD})
    assert allowed.status_code == 303


async def test_sec47_sign_up_is_throttled_per_client_address(demo: Demo) -> None:
    demo.state.throttle = SignInThrottle(
        per_address_sign_ups=Limit(2, timedelta(hours=1)), clock=demo.clock
    )
    await demo.sign_up(demo.browser())
    taken = await demo.browser().post(
        "/signup", data={"email": "ada@example.com", "password": PASSWORD}
    )
    assert taken.status_code == 409  # it tells that the address has an account: counted
    blocked = await demo.browser().post(
        "/signup", data={"email": "grace@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "3600"
    assert _error(blocked) == "Too many attempts, try again in 60 minutes."
    assert "set-cookie" not in blocked.headers
    assert await demo.state.auth.get_user_by_key("email", "grace@example.com") is None
    demo.clock.advance(hours=1)
    await demo.sign_up(demo.browser(), "grace@example.com")


async def test_sec21_unknown_accounts_are_throttled_alike(demo: Demo) -> None:
    _strict_throttle(demo, failures=2)
    client = demo.browser()
    answers = [
        (await client.post("/signin", data={"email": "nobody@example.com", "password": "x" * 9}))
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [400, 400, 429]
    demo.clock.advance(minutes=14, seconds=30)
    again = await client.post("/signin", data={"email": "nobody@example.com", "password": "x" * 9})
    assert _error(again) == "Too many attempts, try again in 1 minute."


async def test_sec21_password_confirmation_is_throttled(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    _strict_throttle(demo, failures=2)
    demo.clock.advance(minutes=11)
    for _ in range(2):
        wrong = await client.post("/account/confirm", data={"password": "not-the-password"})
        assert wrong.status_code == 400
    blocked = await client.post("/account/confirm", data={"password": PASSWORD})
    assert blocked.status_code == 429
    assert "set-cookie" not in blocked.headers


# Linking and unlinking


async def test_link_then_unlink_a_provider(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    callback = await demo.provider_sign_in(client, "/account/link/local", sub="ada-at-local")
    assert callback.status_code == 303
    assert callback.headers["location"] == "/account?notice=linked"
    assert set(await _keys(demo)) == {
        ("email", "ada@example.com"),
        (DEV_PROVIDER_NAME, "ada-at-local"),
    }
    page = (await client.get("/account?notice=linked")).text
    assert "The sign-in method is linked to your account." in page
    assert "Link Local development provider" not in page  # already linked

    # The linked identity now signs in to the same account.
    other = demo.browser()
    await demo.provider_sign_in(other, sub="ada-at-local")
    assert "ada@example.com" in (await other.get("/account")).text

    response = await client.post(
        "/account/unlink",
        data={"provider_id": DEV_PROVIDER_NAME, "provider_user_id": "ada-at-local"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=unlinked"
    assert await _keys(demo) == [("email", "ada@example.com")]


async def test_unlink_removes_only_the_key_named(demo: Demo) -> None:
    # Two identities at one provider: unlinking one leaves the other (and the email).
    client = demo.browser()
    await demo.sign_up(client)
    for sub in ("ada-one", "ada-two"):
        await demo.provider_sign_in(client, "/account/link/local", sub=sub)
    response = await client.post(
        "/account/unlink", data={"provider_id": DEV_PROVIDER_NAME, "provider_user_id": "ada-one"}
    )
    assert response.status_code == 303
    assert set(await _keys(demo)) == {
        ("email", "ada@example.com"),
        (DEV_PROVIDER_NAME, "ada-two"),
    }


async def test_unlinking_the_last_key_is_refused(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    response = await client.post(
        "/account/unlink", data={"provider_id": "email", "provider_user_id": "ada@example.com"}
    )
    assert response.status_code == 409
    assert _error(response) == "This is your only sign-in method: link another one first."
    assert await _keys(demo) == [("email", "ada@example.com")]


async def test_unlinking_someone_elses_key_is_refused(demo: Demo) -> None:
    await demo.sign_up(demo.browser(), "bob@example.com")
    client = demo.browser()
    await demo.sign_up(client)
    await demo.provider_sign_in(client, "/account/link/local", sub="ada-at-local")
    response = await client.post(
        "/account/unlink", data={"provider_id": "email", "provider_user_id": "bob@example.com"}
    )
    assert response.status_code == 404
    assert await _keys(demo, "bob@example.com") == [("email", "bob@example.com")]


async def test_linking_an_identity_of_another_account_is_refused(demo: Demo) -> None:
    await demo.provider_sign_in(demo.browser(), sub="taken")
    client = demo.browser()
    await demo.sign_up(client)
    callback = await demo.provider_sign_in(client, "/account/link/local", sub="taken")
    assert callback.status_code == 409
    assert await _keys(demo) == [("email", "ada@example.com")]


async def test_link_needs_a_recent_sign_in_and_the_password_confirms_it(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    demo.clock.advance(minutes=11)
    refused = await client.post("/account/link/local")
    assert refused.status_code == 403
    assert "Confirm your password" in refused.text
    assert demo.op.count("authorize") == 0

    wrong = await client.post("/account/confirm", data={"password": "not-the-password"})
    assert wrong.status_code == 400
    assert _error(wrong) == "Wrong password."

    old = client.cookies["auth_session"]
    confirmed = await client.post("/account/confirm", data={"password": PASSWORD})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/account?notice=confirmed"
    # A re-authentication is a login: a new token; the old one is dead (SECURITY 1).
    assert client.cookies["auth_session"] != old
    assert await demo.state.auth.validate_session(old) is None
    callback = await demo.provider_sign_in(client, "/account/link/local", sub="ada-at-local")
    assert callback.status_code == 303
    assert len(await _keys(demo)) == 2


async def test_unlink_needs_a_recent_sign_in(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    await demo.provider_sign_in(client, "/account/link/local", sub="ada-at-local")
    demo.clock.advance(minutes=11)
    response = await client.post(
        "/account/unlink",
        data={"provider_id": DEV_PROVIDER_NAME, "provider_user_id": "ada-at-local"},
    )
    assert response.status_code == 403
    assert "Confirm your password" in response.text
    assert len(await _keys(demo)) == 2


async def test_passwordless_account_is_told_to_sign_in_again(demo: Demo) -> None:
    client = demo.browser()
    await demo.provider_sign_in(client, sub="grace")
    demo.clock.advance(minutes=11)
    response = await client.post("/account/link/local")
    assert response.status_code == 403
    assert "Sign in again" in response.text
    assert 'action="/account/confirm"' not in response.text
    confirm = await client.post("/account/confirm", data={"password": PASSWORD})
    assert confirm.status_code == 400
    assert "set-cookie" not in confirm.headers


# Sessions


async def test_sessions_list_and_revoke_one(demo: Demo) -> None:
    laptop = demo.browser(user_agent=CHROME_LINUX)
    phone = demo.browser(user_agent=SAFARI_IPHONE)
    await demo.sign_up(laptop)
    await phone.post("/signin", data={"email": "ada@example.com", "password": PASSWORD})
    page = (await laptop.get("/account")).text
    assert "Chrome on Linux" in page
    assert "Safari on iOS" in page
    assert page.count("This browser") == 1

    user = await demo.state.auth.get_user_by_key("email", "ada@example.com")
    assert user is not None
    phone_session = next(
        s
        for s in await demo.state.auth.get_user_sessions(user.id)
        if s.attributes["user_agent"] == SAFARI_IPHONE
    )
    response = await laptop.post("/account/sessions/revoke", data={"session_id": phone_session.id})
    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=revoked"
    # The phone is signed out; the laptop is not.
    assert (await phone.get("/account")).headers["location"] == "/signin"
    assert (await laptop.get("/account")).status_code == 200


async def test_revoke_refuses_other_users_and_the_current_session(demo: Demo) -> None:
    bob = demo.browser()
    await demo.sign_up(bob, "bob@example.com")
    ada = demo.browser()
    await demo.sign_up(ada)
    auth = demo.state.auth
    bob_user = await auth.get_user_by_key("email", "bob@example.com")
    ada_user = await auth.get_user_by_key("email", "ada@example.com")
    assert bob_user is not None
    assert ada_user is not None
    (bob_session,) = await auth.get_user_sessions(bob_user.id)
    (ada_session,) = await auth.get_user_sessions(ada_user.id)
    for target in (bob_session.id, ada_session.id, "no-such-session"):
        response = await ada.post("/account/sessions/revoke", data={"session_id": target})
        assert response.status_code == 404
    assert len(await auth.get_user_sessions(bob_user.id)) == 1
    assert len(await auth.get_user_sessions(ada_user.id)) == 1


async def test_revoke_all_other_sessions(demo: Demo) -> None:
    clients = [demo.browser(user_agent=ua) for ua in (CHROME_LINUX, SAFARI_IPHONE, FIREFOX_MAC)]
    await demo.sign_up(clients[0])
    for client in clients[1:]:
        await client.post("/signin", data={"email": "ada@example.com", "password": PASSWORD})
    page = (await clients[0].get("/account")).text
    assert "Revoke all other sessions" in page
    response = await clients[0].post("/account/sessions/revoke-others")
    assert response.headers["location"] == "/account?notice=revoked-others"
    assert (await clients[0].get("/account")).status_code == 200
    for client in clients[1:]:
        assert (await client.get("/account")).status_code == 303
    page = (await clients[0].get("/account")).text
    assert "Revoke all other sessions" not in page


async def test_sign_out_deletes_the_session(demo: Demo) -> None:
    client = demo.browser()
    await demo.sign_up(client)
    token = client.cookies["auth_session"]
    response = await client.post("/logout")
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert await demo.state.auth.validate_session(token) is None


# Helpers


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME_LINUX, "Chrome on Linux"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (FIREFOX_MAC, "Firefox on macOS"),
        (CHROME_LINUX.replace("Chrome/", "HeadlessChrome/"), "Chrome on Linux"),
        ("curl/8.5.0", "curl"),
        ("", "Unknown browser"),
        (None, "Unknown browser"),
    ],
)
def test_describe_user_agent(user_agent: str | None, label: str) -> None:
    assert describe_user_agent(user_agent) == label
