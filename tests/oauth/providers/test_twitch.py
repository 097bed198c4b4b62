"""Sign in with Twitch, against answers in Twitch's documented shapes (never Twitch).

Shapes: https://dev.twitch.tv/docs/authentication/getting-tokens-oidc/ (the
authorization URL and its ``claims``, the token answer, the ID token's claims),
.../refresh-tokens/ and .../revoke-tokens/ (refresh, revocation and their errors).
The ID token is signed with a test key whose JWKS the mock serves.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, OAuthResponseError
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.twitch import Twitch
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_authorization_url,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    first_sign_in,
    form,
    load_fixture,
    mocked,
    refreshed,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
)

ISSUER = "https://id.twitch.tv/oauth2"
TOKEN = "https://id.twitch.tv/oauth2/token"
KEYS = "https://id.twitch.tv/oauth2/keys"
REVOKE = "https://id.twitch.tv/oauth2/revoke"

fixture = functools.partial(load_fixture, "twitch")


twitch = functools.partial(mocked, Twitch)


def answering(claims: dict[str, Any] | None = None, *, issuer: str = ISSUER) -> ProviderMock:
    """Twitch's token endpoint (an ID token with ``claims`` and the URL's nonce) and keys."""
    user_claims = fixture("id_token_claims") if claims is None else claims
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(issuer),
        token_url=TOKEN,
        keys_url=KEYS,
        token=fixture("token"),
        claims={"azp": CLIENT_ID, **user_claims},
    )


def test_authorization_url_asks_for_the_email_claims_with_a_nonce() -> None:
    params = assert_authorization_url(
        twitch(ProviderMock()),
        "https://id.twitch.tv/oauth2/authorize",
        scope="openid user:read:email",
        pkce=False,
    )
    assert json.loads(params["claims"]) == {
        "id_token": {
            "email": None,
            "email_verified": None,
            "preferred_username": None,
            "picture": None,
        }
    }


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, twitch, mock)
    user = result.provider_user
    assert user.id == "713936733"
    assert user.email == "scotwht@justin.tv"
    assert user.email_verified is True
    assert user.name == "ScotWht"
    assert user.username is None  # the display name is not the login
    assert user.avatar_url == fixture("id_token_claims")["picture"]
    # client_secret_post, the only method Twitch supports.
    assert assert_client_auth(mock.last("POST", TOKEN), "post") == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_the_scope_array_of_the_token_answer_is_read() -> None:
    tokens = twitch(ProviderMock()).read_tokens(
        httpx.Response(200, json=fixture("token")), what="t"
    )
    assert tokens.scopes == ("openid", "user:read:email")
    tokens = twitch(ProviderMock()).read_tokens(
        httpx.Response(200, json={**fixture("token"), "scope": "openid"}), what="t"
    )
    assert tokens.scopes == ("openid",)


async def test_sec38_an_unverified_address_is_not_verified(mode: str) -> None:
    # Twitch sends no address while email_verified is false.
    claims = {**fixture("id_token_claims"), "email": None, "email_verified": False}
    mock = answering(claims)
    await assert_signed_in_email(mode, twitch(mock), mock, None)


async def test_sec38_an_address_with_a_false_flag_is_not_verified(mode: str) -> None:
    mock = answering({**fixture("id_token_claims"), "email_verified": False})
    await assert_signed_in_email(mode, twitch(mock), mock, "scotwht@justin.tv")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    claims = {k: v for k, v in fixture("id_token_claims").items() if not k.startswith("email")}
    mock = answering(claims)
    provider = twitch(mock, scopes=["openid"])
    user = (await sign_in(mode, provider, mock=mock)).provider_user
    assert user.id == "713936733"
    assert user.email is None
    assert user.email_verified is False
    assert mock.authorization["scope"] == "openid"


async def test_an_id_token_from_another_issuer_fails_the_sign_in(mode: str) -> None:
    mock = answering(issuer="https://id.twitch.tv.evil.example/oauth2")
    await sign_in_fails(mode, twitch(mock), mock, IDTokenError)


async def test_a_token_error_in_twitchs_shape_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", TOKEN, status=400, json=fixture("token_error"))
    cause = await sign_in_fails(mode, twitch(mock), mock, OAuthResponseError)
    assert cause.http_status == 400


async def test_refresh(mode: str) -> None:
    refresh_token = fixture("token")["refresh_token"]
    tokens, request = await refreshed(mode, twitch, TOKEN, fixture("refresh"), refresh_token)
    assert tokens.access_token == "1ssjqsqfy6bads1ws7m03gras79zfr"
    assert tokens.refresh_token == fixture("refresh")["refresh_token"]
    assert tokens.scopes == ("openid", "user:read:email")
    assert assert_client_auth(request, "post") == {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_a_refused_refresh_raises() -> None:
    mock = ProviderMock()
    mock.route("POST", TOKEN, status=400, json=fixture("refresh_error"))
    with pytest.raises(OAuthProviderError) as caught:
        twitch(mock).refresh_access_token("an-old-refresh-token")
    assert caught.value.http_status == 400


async def test_revocation_sends_no_secret(mode: str) -> None:
    sent = await revoked(mode, twitch, "an-access-token", REVOKE, httpx.Response(200))
    assert form(sent) == {"client_id": CLIENT_ID, "token": "an-access-token"}
    assert "authorization" not in sent.headers


def test_a_refused_revocation_raises() -> None:
    refused_revocation(twitch, REVOKE, OAuthResponseError, status=400, json=fixture("revoke_error"))


def test_by_slug_is_the_same_provider() -> None:
    assert assert_by_slug("twitch", Twitch).issuer == ISSUER
