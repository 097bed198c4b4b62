"""Sign in with Discord, against answers in Discord's documented shapes (never Discord).

Shapes: https://discord.com/developers/docs/topics/oauth2 (token answer, errors,
revocation) and https://discord.com/developers/docs/resources/user#user-object
(``fixtures/discord/user.json``: the user with the identify and email scopes).
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, OAuthResponseError
from lucia.oauth.providers import Discord
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    ProviderMock,
    answer_plain,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    assert_token_error,
    authorization_params,
    first_sign_in,
    form,
    load_fixture,
    mocked,
    refresh,
    refreshed,
    refused_revocation,
    revoked,
    sign_in_fails,
    token_answer,
    user_of,
)

TOKEN = "https://discord.com/api/oauth2/token"
USER = "https://discord.com/api/users/@me"
REVOKE = "https://discord.com/api/oauth2/token/revoke"
fixture = functools.partial(load_fixture, "discord")
DISCORD_USER: dict[str, Any] = fixture("user")
discord = functools.partial(mocked, Discord)


def answering(user: dict[str, Any] | None = None) -> ProviderMock:
    return answer_plain(
        TOKEN, token_answer(scope="identify email"), USER, DISCORD_USER if user is None else user
    )


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
    result = await first_sign_in(mode, discord, mock)
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
    sent = assert_client_auth(mock.last("POST", TOKEN), "basic")
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "test-code"
    assert len(sent["code_verifier"]) == 43
    assert mock.last("GET", USER).headers["authorization"] == "Bearer test-access-token"


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**DISCORD_USER, "verified": False})
    await assert_signed_in_email(mode, discord(mock), mock, "nelly@discord.com")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    # Without the email scope Discord leaves out email and verified.
    identify_only = {k: v for k, v in DISCORD_USER.items() if k not in ("email", "verified")}
    mock = answering({**identify_only, "global_name": None, "avatar": None})
    user = await assert_signed_in_email(mode, discord(mock, scopes=["identify"]), mock, None)
    assert user.name == "nelly"  # no display name: the username
    assert user.avatar_url is None
    assert mock.authorization["scope"] == "identify"


async def test_a_null_email_is_no_email(mode: str) -> None:
    mock = answering({**DISCORD_USER, "email": None, "verified": True})
    await assert_signed_in_email(mode, discord(mock), mock, None)


async def test_a_token_error_in_discords_shape_fails_the_sign_in(mode: str) -> None:
    error = {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    await assert_token_error(mode, discord, answering(), TOKEN, error)


async def test_a_user_answer_without_an_id_fails_the_sign_in(mode: str) -> None:
    mock = answering({k: v for k, v in DISCORD_USER.items() if k != "id"})
    await sign_in_fails(mode, discord(mock), mock, OAuthResponseError)


def test_a_user_answer_that_is_not_json_is_refused() -> None:
    mock = ProviderMock()
    mock.route("GET", USER, httpx.Response(200, text="<html>"))
    with pytest.raises(OAuthResponseError):
        user_of(discord(mock))


async def test_refresh(mode: str) -> None:
    answer = token_answer(access_token="new-access")
    tokens, sent = await refreshed(mode, discord, TOKEN, answer, "old-refresh")
    assert tokens.access_token == "new-access"
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }


async def test_a_refresh_for_a_user_has_no_id_token_to_compare(mode: str) -> None:
    # Plain OAuth 2.0 tokens name nobody: user_id is taken and changes nothing.
    mock = ProviderMock()
    mock.route("POST", TOKEN, json=token_answer(access_token="new-access"))
    tokens = await refresh(mode, discord(mock), user_id="80351110224678912")
    assert tokens.access_token == "new-access"


async def test_revocation(mode: str) -> None:
    sent = await revoked(mode, discord, "an-access-token", REVOKE, json={})
    assert form(sent) == {"token": "an-access-token"}


def test_a_refused_revocation_raises() -> None:
    refused_revocation(
        discord, REVOKE, OAuthProviderError, status=401, json={"error": "invalid_client"}
    )


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
    refused = refused_revocation(discord, REVOKE, OAuthProviderError, json=answer)
    assert refused.error == answer["error"]


@pytest.mark.parametrize("body", [b"", b"{}", b"null", b"<html>ok</html>"])
def test_a_revocation_answered_2xx_without_an_error_is_accepted(body: bytes) -> None:
    # RFC 7009 2.2: the answer to a revocation need carry no body at all.
    mock = ProviderMock()
    mock.route("POST", REVOKE, httpx.Response(200, content=body))
    assert discord(mock).revoke_token("an-access-token") is None


def test_by_slug_is_the_same_provider() -> None:
    built = assert_by_slug("discord", Discord)
    assert built.default_scopes == ("identify", "email")


def test_discord_takes_no_parameters() -> None:
    with pytest.raises(TypeError, match="tenant"):
        Discord(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, tenant="x")
