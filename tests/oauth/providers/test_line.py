"""Sign in with LINE, against answers in LINE's documented shapes (never LINE).

Shapes: https://developers.line.biz/en/reference/line-login/ (the authorization URL
with PKCE, the token answer and its errors, refresh, revocation, UserInfo) and
https://developers.line.biz/en/docs/line-login/verify-id-token/ (a web login's ID
token is HS256, keyed by the channel secret; the SDKs' are ES256 at ``jwks_uri``).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from lucia.oauth import OAuthProviderError, provider
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.line import Line
from tests.oauth.providers.harness import (
    CLIENT_ID,
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_authorization_url,
    assert_signed_in_email,
    assert_token_error,
    first_sign_in,
    form,
    load_fixture,
    mocked,
    refreshed,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
    without,
)

ISSUER = "https://access.line.me"
TOKEN = "https://api.line.me/oauth2/v2.1/token"
USERINFO = "https://api.line.me/oauth2/v2.1/userinfo"
REVOKE = "https://api.line.me/oauth2/v2.1/revoke"
CERTS = "https://api.line.me/oauth2/v2.1/certs"
# The channel secret keys HS256 ID tokens: long enough for an HMAC key.
CHANNEL_SECRET = "c" * 32

fixture = functools.partial(load_fixture, "line")


@functools.cache
def _ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "line-es", "use": "sig", "alg": "ES256"})


def id_token(claims: dict[str, Any], *, nonce: str | None, alg: str = "HS256") -> str:
    """An ID token as LINE signs it: HS256 with the channel secret (web login), or
    ES256 with the key at ``jwks_uri`` (SDKs, LIFF)."""
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 3600, **claims}
    if nonce is not None:
        payload["nonce"] = nonce
    if alg == "HS256":
        return jwt.encode(
            {"alg": "HS256", "typ": "JWT"}, payload, OctKey.import_key(CHANNEL_SECRET)
        )
    return jwt.encode({"alg": "ES256", "kid": "line-es", "typ": "JWT"}, payload, _ec_key())


line = functools.partial(mocked, Line, client_secret=CHANNEL_SECRET)


def answering(
    claims: dict[str, Any] | None = None, *, alg: str = "HS256", userinfo: Any = None
) -> ProviderMock:
    """LINE's token endpoint (an ID token with ``claims`` and the URL's nonce), its keys
    and UserInfo."""
    mock = ProviderMock()
    user_claims = fixture("id_token_claims") if claims is None else claims

    def token_answer(request: httpx.Request) -> httpx.Response:
        signed = id_token(user_claims, nonce=mock.authorization.get("nonce"), alg=alg)
        return httpx.Response(200, json={**fixture("token"), "id_token": signed})

    mock.route("POST", TOKEN, token_answer)
    mock.route("GET", CERTS, json={"keys": [_ec_key().as_dict(private=False)]})
    mock.route("GET", USERINFO, json=fixture("userinfo") if userinfo is None else userinfo)
    return mock


def test_authorization_url_on_lines_host_with_state_nonce_and_pkce() -> None:
    params = assert_authorization_url(
        line(ProviderMock()),
        "https://access.line.me/oauth2/v2.1/authorize",
        scope="openid profile email",
    )
    assert params["client_id"] == CLIENT_ID


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, line, mock)
    user = result.provider_user
    assert user.id == "U1234567890abcdef1234567890abcdef"
    assert user.email == "taro.line@example.com"
    assert user.name == "Taro Line"
    assert user.avatar_url == fixture("userinfo")["picture"]
    # client_secret_post with the PKCE verifier; UserInfo with the access token.
    exchange = mock.last("POST", TOKEN)
    assert "authorization" not in exchange.headers
    sent = form(exchange)
    assert len(sent.pop("code_verifier")) == 43
    assert sent == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CHANNEL_SECRET,
    }
    assert mock.last("GET", USERINFO).headers["authorization"] == (
        "Bearer " + fixture("token")["access_token"]
    )


async def test_sec38_lines_address_is_never_verified(mode: str) -> None:
    # LINE says nothing of the address being verified, even with an email_verified claim.
    mock = answering({**fixture("id_token_claims"), "email_verified": True})
    result = await sign_in(mode, line(mock), mock=mock)
    assert result.provider_user.email == "taro.line@example.com"
    assert result.provider_user.email_verified is False
    assert result.user.attributes["email_verified"] is False


async def test_without_the_email_permission_there_is_no_email(mode: str) -> None:
    mock = answering(without(fixture("id_token_claims"), "email"))
    await assert_signed_in_email(mode, line(mock, scopes=["openid", "profile"]), mock, None)
    assert mock.authorization["scope"] == "openid profile"


async def test_an_es256_id_token_from_the_published_keys_is_accepted(mode: str) -> None:
    mock = answering(alg="ES256")
    user = (await sign_in(mode, line(mock), mock=mock)).provider_user
    assert user.id == "U1234567890abcdef1234567890abcdef"
    assert mock.last("GET", CERTS)


async def test_an_id_token_signed_with_another_secret_is_refused(mode: str) -> None:
    mock = answering()
    provider_ = line(mock, client_secret="x" * 32)
    await sign_in_fails(mode, provider_, mock, IDTokenError)


async def test_an_rs256_id_token_is_refused(mode: str) -> None:
    # LINE signs with HS256 or ES256 only: any other algorithm is refused.
    mock = answer_oidc(
        answering(),
        IDTokenSigner(ISSUER),
        token_url=TOKEN,
        keys_url=CERTS,
        token=fixture("token"),
        claims=fixture("id_token_claims"),
    )
    await sign_in_fails(mode, line(mock), mock, IDTokenError)


async def test_a_userinfo_of_another_user_is_refused(mode: str) -> None:
    mock = answering(userinfo={**fixture("userinfo"), "sub": "Uanother"})
    await sign_in_fails(mode, line(mock), mock, IDTokenError)


async def test_a_token_error_in_lines_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, line, answering(), TOKEN, fixture("token_error"), status=400, error="invalid_grant"
    )


async def test_refresh(mode: str) -> None:
    # LINE's refresh answer carries no ID token.
    answer = {**without(fixture("token"), "id_token"), "access_token": "new-access"}
    tokens, request = await refreshed(mode, line, TOKEN, answer)
    assert tokens.access_token == "new-access"
    assert form(request) == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
        "client_id": CLIENT_ID,
        "client_secret": CHANNEL_SECRET,
    }


async def test_revocation(mode: str) -> None:
    # LINE answers an empty body.
    request = await revoked(mode, line, "an-access-token", REVOKE, httpx.Response(200))
    assert form(request) == {
        "access_token": "an-access-token",
        "client_id": CLIENT_ID,
        "client_secret": CHANNEL_SECRET,
    }


def test_a_refused_revocation_raises() -> None:
    answer = {"error": "invalid_request", "error_description": "access token invalid"}
    refused_revocation(line, REVOKE, OAuthProviderError, status=400, json=answer)


def test_by_slug_is_the_same_provider() -> None:
    built = provider(
        "line", client_id=CLIENT_ID, client_secret=CHANNEL_SECRET, redirect_uri=REDIRECT_URI
    )
    assert type(built) is Line
    assert built.name == "line"
    assert built.default_scopes == ("openid", "profile", "email")
    assert CHANNEL_SECRET not in repr(built)
