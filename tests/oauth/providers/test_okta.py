"""Sign in with Okta (OpenID Connect), against answers in Okta's documented shapes
(never Okta).

Shapes: Okta's OpenID Connect & OAuth 2.0 API
(https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/OrgAS/ and
.../tag/CustomAS/): the token answer, its errors (``OAuthError``), ``/userinfo``'s
example, ``/revoke``. The ID token is signed with a test key whose JWKS the mock
serves at the authorization server's ``/v1/keys``.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.okta import Okta
from tests.oauth.providers.harness import (
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_authorization_url,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    assert_token_error,
    first_sign_in,
    load_fixture,
    mocked,
    refreshed,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
    without,
)

DOMAIN = "dev-123456.okta.com"
ORG = f"https://{DOMAIN}"
DEFAULT = f"https://{DOMAIN}/oauth2/default"
fixture = functools.partial(load_fixture, "okta")
USERINFO_ANSWER = fixture("userinfo")


okta = functools.partial(mocked, Okta, domain=DOMAIN)


def answering(
    userinfo: dict[str, Any] | None = None, *, server: str = f"{ORG}/oauth2", issuer: str = ORG
) -> ProviderMock:
    """Okta's answers under ``server`` (the org authorization server's ``/oauth2`` or a
    custom one's): the token answer with an ID token by ``issuer`` echoing the nonce
    sent, the keys and UserInfo."""
    info = USERINFO_ANSWER if userinfo is None else userinfo
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(issuer),
        token_url=f"{server}/v1/token",
        keys_url=f"{server}/v1/keys",
        token=fixture("token"),
        claims={"sub": info["sub"]},
        userinfo_url=f"{server}/v1/userinfo",
        userinfo=info,
    )


def test_authorization_url_on_the_org_authorization_server() -> None:
    assert_authorization_url(
        okta(ProviderMock()), f"{ORG}/oauth2/v1/authorize", scope="openid email profile"
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, okta, mock)
    user = result.provider_user
    assert user.id == "00uid4BxXw6I6TV4m0g3"
    assert user.email == "john.doe@example.com"
    assert user.email_verified is True
    assert user.name == "John Doe"
    assert user.username == "john.doe@example.com"
    # client_secret_basic, with the PKCE verifier.
    assert assert_client_auth(mock.last("POST", f"{ORG}/oauth2/v1/token"), "basic")["code_verifier"]


async def test_a_custom_authorization_server(mode: str) -> None:
    mock = answering(server=DEFAULT, issuer=DEFAULT)
    built = okta(mock, authorization_server="default")
    assert built.create_authorization_url("s").startswith(f"{DEFAULT}/v1/authorize?")
    assert built.endpoints.revocation == f"{DEFAULT}/v1/revoke"
    assert built.metadata is not None
    assert built.metadata.issuer == DEFAULT
    result = await sign_in(mode, built, mock=mock)
    assert result.provider_user.id == USERINFO_ANSWER["sub"]


async def test_an_id_token_of_the_org_server_is_refused_by_a_custom_one(mode: str) -> None:
    # Each authorization server is its own issuer: tokens do not cross.
    mock = answering(server=DEFAULT, issuer=ORG)
    await sign_in_fails(mode, okta(mock, authorization_server="default"), mock, IDTokenError)


@pytest.mark.parametrize(
    "value", ["a/b", "default?x=1", "default#f", "..%2f", "", "a b", "..", "."]
)
def test_an_authorization_server_value_cannot_change_the_path(value: str) -> None:
    with pytest.raises(ValueError, match="authorization_server"):
        okta(ProviderMock(), authorization_server=value)


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": False})
    await assert_signed_in_email(mode, okta(mock), mock, "john.doe@example.com")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USERINFO_ANSWER, "email", "email_verified"))
    await assert_signed_in_email(mode, okta(mock, scopes=["openid", "profile"]), mock, None)


async def test_an_id_token_from_another_issuer_is_refused(mode: str) -> None:
    mock = answering(issuer="https://evil.okta.com")
    await sign_in_fails(mode, okta(mock), mock, IDTokenError)


async def test_a_token_error_in_oktas_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, okta, answering(), f"{ORG}/oauth2/v1/token", fixture("token_error")
    )


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "at-2"}
    tokens, request = await refreshed(mode, okta, f"{ORG}/oauth2/v1/token", answer)
    assert tokens.access_token == "at-2"
    sent = assert_client_auth(request, "basic")
    assert sent == {"grant_type": "refresh_token", "refresh_token": "old-refresh"}


async def test_revocation(mode: str) -> None:
    revoke_url = f"{ORG}/oauth2/v1/revoke"
    request = await revoked(mode, okta, "a-token", revoke_url, httpx.Response(200))
    assert assert_client_auth(request, "basic") == {"token": "a-token"}

    refused = refused_revocation(
        okta, revoke_url, OAuthProviderError, status=401, json=fixture("revoke_error")
    )
    assert refused.error == "invalid_client"


def test_by_slug_with_its_domain() -> None:
    # A custom domain; host names are lowercased.
    built = assert_by_slug("okta", Okta, domain="Login.Example.com")
    assert built.metadata is not None
    assert built.metadata.issuer == "https://login.example.com"
    assert built.metadata.jwks_uri == "https://login.example.com/oauth2/v1/keys"
