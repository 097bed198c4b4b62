"""Sign in with X (Twitter), against answers in X's documented shapes (never X).

Shapes: https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
(authorize URL, token answer and errors, refresh, revocation) and
https://docs.x.com/x-api/users/get-my-user (the user, under ``data``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, OAuthResponseError, ProviderFailedError, provider
from lucia.oauth.providers.x import X
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    ProviderMock,
    authorization_params,
    form,
    sign_in,
)

FIXTURES = Path(__file__).parent / "fixtures" / "x"
TOKEN = "https://api.x.com/2/oauth2/token"
ME = "https://api.x.com/2/users/me"
REVOKE = "https://api.x.com/2/oauth2/revoke"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


def x(mock: ProviderMock, secret: str | None = CLIENT_SECRET, **options: Any) -> X:
    return X(CLIENT_ID, secret, REDIRECT_URI, **mock.clients(), **options)


def answering(user: Any = None, **token: Any) -> ProviderMock:
    mock = ProviderMock()
    mock.route("POST", TOKEN, json={**fixture("token"), **token})
    mock.route("GET", ME, json=fixture("user") if user is None else user)
    return mock


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
    result = await sign_in(mode, x(mock), mock=mock)
    assert result.created
    user = result.provider_user
    assert user.id == "2244994945"
    assert user.username == "TwitterDev"
    assert user.name == "X Dev"
    assert user.avatar_url == fixture("user")["data"]["profile_image_url"]
    # No users.email scope: no email.
    assert user.email is None
    assert user.email_verified is False
    exchange = mock.last("POST", TOKEN)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert exchange.headers["authorization"] == f"Basic {basic}"
    assert len(form(exchange)["code_verifier"]) == 43
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
    await sign_in(mode, x(mock, secret=None), mock=mock)
    exchange = mock.last("POST", TOKEN)
    assert "authorization" not in exchange.headers
    assert form(exchange)["client_id"] == CLIENT_ID


async def test_a_token_error_in_xs_shape_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", TOKEN, status=400, json=fixture("token_error"))
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, x(mock), mock=mock)
    cause = caught.value.cause
    assert isinstance(cause, OAuthProviderError)
    assert cause.error == "invalid_request"


async def test_a_refused_user_request_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=401, json=fixture("user_error"))
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, x(mock), mock=mock)
    assert isinstance(caught.value.cause, OAuthResponseError)


async def test_a_user_without_data_fails_the_sign_in(mode: str) -> None:
    mock = answering({"errors": [{"title": "Not Found Error"}]})
    with pytest.raises(ProviderFailedError):
        await sign_in(mode, x(mock), mock=mock)


async def test_refresh(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", TOKEN, json={**fixture("token"), "access_token": "new-access"})
    provider_ = x(mock)
    if mode == "async":
        tokens = await provider_.arefresh_access_token("old-refresh")
    else:
        tokens = provider_.refresh_access_token("old-refresh")
    assert tokens.access_token == "new-access"
    assert form(mock.last("POST", TOKEN)) == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }


async def test_revocation(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", REVOKE, json={"revoked": True})
    provider_ = x(mock)
    if mode == "async":
        await provider_.arevoke_token("an-access-token")
    else:
        provider_.revoke_token("an-access-token")
    assert form(mock.last("POST", REVOKE)) == {"token": "an-access-token"}


def test_a_refused_revocation_raises() -> None:
    mock = ProviderMock()
    mock.route("POST", REVOKE, status=400, json={"error": "invalid_request"})
    with pytest.raises(OAuthProviderError):
        x(mock).revoke_token("an-access-token")


def test_by_slug_is_the_same_provider() -> None:
    built = provider(
        "x", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI
    )
    assert type(built) is X
    assert built.name == "x"
    assert CLIENT_SECRET not in repr(built)


def test_the_user_answer_must_be_json() -> None:
    mock = ProviderMock()
    mock.route("GET", ME, httpx.Response(200, text="<html>"))
    provider_ = x(mock)
    tokens = provider_.read_tokens(httpx.Response(200, json=fixture("token")), what="t")
    with pytest.raises(OAuthResponseError):
        provider_.get_user(tokens)
