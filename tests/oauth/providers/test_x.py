"""Sign in with X (Twitter), against answers in X's documented shapes (never X).

Shapes: https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
(authorize URL, token answer and errors, refresh, revocation) and
https://docs.x.com/x-api/users/get-my-user (the user, under ``data``).
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, OAuthResponseError
from lucia.oauth.providers.x import X
from tests.oauth.providers.harness import (
    CLIENT_ID,
    ProviderMock,
    answer_plain,
    assert_by_slug,
    assert_client_auth,
    assert_token_error,
    authorization_params,
    first_sign_in,
    form,
    load_fixture,
    mocked,
    refreshed,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
    user_of,
)

TOKEN = "https://api.x.com/2/oauth2/token"
ME = "https://api.x.com/2/users/me"
REVOKE = "https://api.x.com/2/oauth2/revoke"
fixture = functools.partial(load_fixture, "x")
x = functools.partial(mocked, X)


def answering(user: Any = None, **token: Any) -> ProviderMock:
    return answer_plain(
        TOKEN, {**fixture("token"), **token}, ME, fixture("user") if user is None else user
    )


def test_authorization_url_on_xs_host_with_state_and_pkce() -> None:
    url = x(ProviderMock()).create_authorization_url("the-state", "v" * 43)
    assert url.startswith("https://x.com/i/oauth2/authorize?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"]
    assert params["scope"] == "users.read tweet.read"
    assert X.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, x, mock)
    user = result.provider_user
    assert user.id == "2244994945"
    assert user.username == "TwitterDev"
    assert user.name == "X Dev"
    assert user.avatar_url == fixture("user")["data"]["profile_image_url"]
    # No users.email scope: no email.
    assert user.email is None
    assert user.email_verified is False
    sent = assert_client_auth(mock.last("POST", TOKEN), "basic")
    assert len(sent["code_verifier"]) == 43
    me = mock.last("GET", ME)
    assert me.headers["authorization"] == "Bearer " + fixture("token")["access_token"]
    assert me.url.params["user.fields"] == "id,name,username,profile_image_url"


async def test_with_the_users_email_scope_the_email_is_asked_for_and_unverified(
    mode: str,
) -> None:
    mock = answering(fixture("user_with_email"), scope="users.read tweet.read users.email")
    result = await sign_in(mode, x(mock, scopes=["users.read", "tweet.read", "users.email"]))
    user = result.provider_user
    assert user.email == "dev@example.com"
    # X's pages checked say nothing of the address being verified.
    assert user.email_verified is False
    assert "confirmed_email" in mock.last("GET", ME).url.params["user.fields"].split(",")


async def test_a_public_client_sends_its_id_in_the_body(mode: str) -> None:
    mock = answering()
    await sign_in(mode, x(mock, client_secret=None), mock=mock)
    exchange = mock.last("POST", TOKEN)
    assert "authorization" not in exchange.headers
    assert form(exchange)["client_id"] == CLIENT_ID


async def test_a_token_error_in_xs_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, x, answering(), TOKEN, fixture("token_error"), error="invalid_request"
    )


async def test_a_refused_user_request_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=401, json=fixture("user_error"))
    await sign_in_fails(mode, x(mock), mock, OAuthResponseError)


async def test_a_user_without_data_fails_the_sign_in(mode: str) -> None:
    mock = answering({"errors": [{"title": "Not Found Error"}]})
    await sign_in_fails(mode, x(mock), mock, OAuthResponseError)


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    tokens, sent = await refreshed(mode, x, TOKEN, answer, "old-refresh")
    assert tokens.access_token == "new-access"
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }


async def test_revocation(mode: str) -> None:
    sent = await revoked(mode, x, "an-access-token", REVOKE, json={"revoked": True})
    assert form(sent) == {"token": "an-access-token"}


def test_a_refused_revocation_raises() -> None:
    refused_revocation(x, REVOKE, OAuthProviderError, status=400, json={"error": "invalid_request"})


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("x", X)


def test_the_user_answer_must_be_json() -> None:
    mock = ProviderMock()
    mock.route("GET", ME, httpx.Response(200, text="<html>"))
    with pytest.raises(OAuthResponseError):
        user_of(x(mock), fixture("token"))
