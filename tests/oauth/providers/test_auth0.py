"""Sign in with Auth0 (OpenID Connect), against answers in Auth0's documented shapes
(never Auth0).

Shapes: Auth0's Authentication API (https://auth0.com/docs/api/authentication):
the token answer (authorization code flow), its RFC 6749 errors, ``/userinfo``'s
example, ``/oauth/revoke``. The ID token is signed with a test key whose JWKS the
mock serves at ``/.well-known/jwks.json``; its issuer ends with a slash, as Auth0's.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, ProviderFailedError, provider
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers import Auth0
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    authorization_params,
    form,
    load_fixture,
    sign_in,
)

DOMAIN = "example.us.auth0.com"
BASE = f"https://{DOMAIN}"
fixture = functools.partial(load_fixture, "auth0")
USERINFO_ANSWER = fixture("userinfo")


def auth0(mock: ProviderMock, domain: str = DOMAIN, **options: Any) -> Auth0:
    return Auth0(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, domain=domain, **mock.clients(), **options)


def answering(
    userinfo: dict[str, Any] | None = None, *, base: str = BASE, issuer: str | None = None
) -> ProviderMock:
    """Auth0's answers at ``base``: the token answer with an ID token by ``issuer``
    (``{base}/``) echoing the nonce sent, the keys and UserInfo."""
    info = USERINFO_ANSWER if userinfo is None else userinfo
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(f"{base}/" if issuer is None else issuer),
        token_url=f"{base}/oauth/token",
        keys_url=f"{base}/.well-known/jwks.json",
        token=fixture("token"),
        claims={"sub": info["sub"]},
        userinfo_url=f"{base}/userinfo",
        userinfo=info,
    )


def test_authorization_url_on_the_tenant() -> None:
    url = auth0(ProviderMock()).create_authorization_url("the-state", "v" * 43, nonce="n-1")
    assert url.startswith(f"{BASE}/authorize?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["nonce"] == "n-1"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "openid email profile"


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await sign_in(mode, auth0(mock), mock=mock)
    assert result.created
    user = result.provider_user
    assert user.id == "auth0|123456789"
    assert user.email == "janedoe@exampleco.com"
    assert user.email_verified is True
    assert user.name == "Jane Josephine Doe"
    assert user.avatar_url == USERINFO_ANSWER["picture"]
    # client_id and client_secret in the form, as Auth0 documents the token request.
    exchange = mock.last("POST", f"{BASE}/oauth/token")
    assert "authorization" not in exchange.headers
    sent = form(exchange)
    assert sent["client_id"] == CLIENT_ID
    assert sent["client_secret"] == CLIENT_SECRET
    assert sent["code_verifier"]


async def test_a_custom_domain(mode: str) -> None:
    base = "https://login.example.com"
    mock = answering(base=base)
    built = auth0(mock, domain="login.example.com")
    assert built.create_authorization_url("s").startswith(f"{base}/authorize?")
    assert built.metadata is not None
    assert built.metadata.issuer == f"{base}/"
    result = await sign_in(mode, built, mock=mock)
    assert result.provider_user.id == USERINFO_ANSWER["sub"]


@pytest.mark.parametrize(
    "issuer",
    [
        BASE,  # without Auth0's trailing slash
        "https://other.us.auth0.com/",  # another tenant
    ],
)
async def test_an_id_token_from_another_issuer_is_refused(mode: str, issuer: str) -> None:
    mock = answering(issuer=issuer)
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, auth0(mock), mock=mock)
    assert isinstance(caught.value.cause, IDTokenError)


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": False})
    user = (await sign_in(mode, auth0(mock), mock=mock)).provider_user
    assert user.email == "janedoe@exampleco.com"
    assert user.email_verified is False


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    info = {k: v for k, v in USERINFO_ANSWER.items() if k not in ("email", "email_verified")}
    mock = answering(info)
    user = (await sign_in(mode, auth0(mock, scopes=["openid", "profile"]), mock=mock)).provider_user
    assert user.email is None
    assert user.email_verified is False


async def test_a_token_error_in_auth0s_shape_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", f"{BASE}/oauth/token", status=403, json=fixture("token_error"))
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, auth0(mock), mock=mock)
    assert isinstance(caught.value.cause, OAuthProviderError)
    assert caught.value.cause.error == "invalid_grant"


async def test_refresh(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{BASE}/oauth/token", json={**fixture("token"), "access_token": "at-2"})
    built = auth0(mock)
    if mode == "async":
        tokens = await built.arefresh_access_token("old-refresh")
    else:
        tokens = built.refresh_access_token("old-refresh")
    assert tokens.access_token == "at-2"
    sent = form(mock.last("POST", f"{BASE}/oauth/token"))
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == "old-refresh"
    assert sent["client_secret"] == CLIENT_SECRET


async def test_revoking_a_refresh_token(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{BASE}/oauth/revoke", httpx.Response(200))
    built = auth0(mock)
    if mode == "async":
        await built.arevoke_token("a-refresh-token")
    else:
        built.revoke_token("a-refresh-token")
    sent = form(mock.last("POST", f"{BASE}/oauth/revoke"))
    assert sent == {
        "token": "a-refresh-token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }

    error = {"error": "invalid_request", "error_description": "Invalid token"}
    mock.route("POST", f"{BASE}/oauth/revoke", status=400, json=error)
    with pytest.raises(OAuthProviderError, match="invalid_request"):
        built.revoke_token("a-refresh-token")


def test_by_slug_with_its_domain() -> None:
    built = provider(
        "auth0",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        domain=DOMAIN,
    )
    assert type(built) is Auth0
    assert built.name == "auth0"
    assert built.metadata is not None
    assert built.metadata.jwks_uri == f"{BASE}/.well-known/jwks.json"
    assert built.metadata.revocation_endpoint == f"{BASE}/oauth/revoke"
    assert CLIENT_SECRET not in repr(built)
