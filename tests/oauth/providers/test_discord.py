"""Sign in with Discord, against answers in Discord's documented shapes (never Discord).

Shapes: https://discord.com/developers/docs/topics/oauth2 (token answer, errors,
revocation) and https://discord.com/developers/docs/resources/user#user-object.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, OAuthResponseError, ProviderFailedError, provider
from lucia.oauth.providers import Discord
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    ProviderMock,
    authorization_params,
    form,
    sign_in,
    token_answer,
)

TOKEN = "https://discord.com/api/oauth2/token"
USER = "https://discord.com/api/users/@me"
REVOKE = "https://discord.com/api/oauth2/token/revoke"

# https://discord.com/developers/docs/resources/user#user-object (identify + email scopes)
DISCORD_USER: dict[str, Any] = {
    "id": "80351110224678912",
    "username": "nelly",
    "discriminator": "0",
    "global_name": "Nelly",
    "avatar": "8342729096ea3675442027381ff50dfe",
    "verified": True,
    "email": "nelly@discord.com",
    "flags": 64,
    "banner": None,
    "accent_color": 16711680,
    "premium_type": 1,
    "public_flags": 64,
    "mfa_enabled": False,
    "locale": "en-US",
}


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


def discord(mock: ProviderMock, **options: Any) -> Discord:
    return Discord(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, **mock.clients(), **options)


def answering(user: dict[str, Any] | None = None) -> ProviderMock:
    mock = ProviderMock()
    mock.route("POST", TOKEN, json=token_answer(scope="identify email"))
    mock.route("GET", USER, json=DISCORD_USER if user is None else user)
    return mock


def test_authorization_url_on_discords_host_with_state_and_pkce() -> None:
    provider = discord(ProviderMock())
    url = provider.create_authorization_url("the-state", "v" * 43)
    assert url.startswith("https://discord.com/oauth2/authorize?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "identify email"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT_URI
    assert Discord.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await sign_in(mode, discord(mock), mock=mock)
    assert result.created
    assert result.provider == "discord"
    user = result.provider_user
    assert user.id == "80351110224678912"
    assert user.email == "nelly@discord.com"
    assert user.email_verified is True
    assert user.name == "Nelly"
    assert user.username == "nelly"
    assert user.avatar_url == (
        "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
    )
    assert result.user.attributes["email_verified"] is True
    # The code exchange: HTTP Basic client authentication, the PKCE verifier sent.
    exchange = mock.last("POST", TOKEN)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert exchange.headers["authorization"] == f"Basic {basic}"
    assert form(exchange)["grant_type"] == "authorization_code"
    assert form(exchange)["code"] == "test-code"
    assert len(form(exchange)["code_verifier"]) == 43
    assert mock.last("GET", USER).headers["authorization"] == "Bearer test-access-token"


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**DISCORD_USER, "verified": False})
    user = (await sign_in(mode, discord(mock), mock=mock)).provider_user
    assert user.email == "nelly@discord.com"
    assert user.email_verified is False


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    # Without the email scope Discord leaves out email and verified.
    identify_only = {k: v for k, v in DISCORD_USER.items() if k not in ("email", "verified")}
    mock = answering({**identify_only, "global_name": None, "avatar": None})
    user = (await sign_in(mode, discord(mock, scopes=["identify"]), mock=mock)).provider_user
    assert user.email is None
    assert user.email_verified is False
    assert user.name == "nelly"  # no display name: the username
    assert user.avatar_url is None
    assert mock.authorization["scope"] == "identify"


async def test_a_null_email_is_no_email(mode: str) -> None:
    mock = answering({**DISCORD_USER, "email": None, "verified": True})
    user = (await sign_in(mode, discord(mock), mock=mock)).provider_user
    assert user.email is None
    assert user.email_verified is False


async def test_a_token_error_in_discords_shape_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route(
        "POST",
        TOKEN,
        status=400,
        json={"error": "invalid_grant", "error_description": 'Invalid "code" in request.'},
    )
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, discord(mock), mock=mock)
    cause = caught.value.cause
    assert isinstance(cause, OAuthProviderError)
    assert cause.error == "invalid_grant"


async def test_a_user_answer_without_an_id_fails_the_sign_in(mode: str) -> None:
    mock = answering({k: v for k, v in DISCORD_USER.items() if k != "id"})
    with pytest.raises(ProviderFailedError):
        await sign_in(mode, discord(mock), mock=mock)


def test_a_user_answer_that_is_not_json_is_refused() -> None:
    mock = ProviderMock()
    mock.route("GET", USER, httpx.Response(200, text="<html>"))
    provider = discord(mock)
    with pytest.raises(OAuthResponseError):
        provider.get_user(provider.read_tokens(httpx.Response(200, json=token_answer()), what="t"))


async def test_refresh(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", TOKEN, json=token_answer(access_token="new-access"))
    provider = discord(mock)
    if mode == "async":
        tokens = await provider.arefresh_access_token("old-refresh")
    else:
        tokens = provider.refresh_access_token("old-refresh")
    assert tokens.access_token == "new-access"
    sent = form(mock.last("POST", TOKEN))
    assert sent == {"grant_type": "refresh_token", "refresh_token": "old-refresh"}


async def test_revocation(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", REVOKE, httpx.Response(200, json={}))
    provider = discord(mock)
    if mode == "async":
        await provider.arevoke_token("an-access-token")
    else:
        provider.revoke_token("an-access-token")
    assert form(mock.last("POST", REVOKE)) == {"token": "an-access-token"}


def test_a_refused_revocation_raises() -> None:
    mock = ProviderMock()
    mock.route("POST", REVOKE, status=401, json={"error": "invalid_client"})
    with pytest.raises(OAuthProviderError):
        discord(mock).revoke_token("an-access-token")


@pytest.mark.parametrize(
    "answer",
    [
        {"error": "invalid_client", "error_description": "Unknown client"},
        {"error": "unsupported_token_type"},
    ],
)
def test_an_error_body_with_http_200_is_a_refused_revocation(answer: dict[str, Any]) -> None:
    # An RFC 6749 error body is an error whatever the status (the "oauth2" convention),
    # for a revocation too: the app must not believe a token revoked that is not.
    mock = ProviderMock()
    mock.route("POST", REVOKE, status=200, json=answer)
    with pytest.raises(OAuthProviderError) as caught:
        discord(mock).revoke_token("an-access-token")
    assert caught.value.error == answer["error"]


@pytest.mark.parametrize("body", [b"", b"{}", b"null", b"<html>ok</html>"])
def test_a_revocation_answered_2xx_without_an_error_is_accepted(body: bytes) -> None:
    # RFC 7009 2.2: the answer to a revocation need carry no body at all.
    mock = ProviderMock()
    mock.route("POST", REVOKE, httpx.Response(200, content=body))
    assert discord(mock).revoke_token("an-access-token") is None


def test_by_slug_is_the_same_provider() -> None:
    built = provider(
        "discord", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI
    )
    assert type(built) is Discord
    assert built.name == "discord"
    assert built.default_scopes == ("identify", "email")
    assert CLIENT_SECRET not in repr(built)


def test_discord_takes_no_parameters() -> None:
    with pytest.raises(TypeError, match="tenant"):
        Discord(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, tenant="x")
