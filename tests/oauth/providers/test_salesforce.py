"""Sign in with Salesforce (OpenID Connect), against answers in Salesforce's documented
shapes (never Salesforce).

Shapes: Salesforce Help's "OAuth 2.0 Web Server Flow for Web App Integration" (the token
answer with ``instance_url``, ``id``, ``signature``, ``issued_at`` and the ID token; the
``invalid_grant`` error), "Query for User Information" (UserInfo, ``email_verified``)
and "Revoke OAuth Tokens" (``/services/oauth2/revoke``: 200, or 400 with
``invalid_token``). ID tokens are signed with a test key whose JWKS the mock serves at
``/id/keys``.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers import Salesforce
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
    form,
    load_fixture,
    mocked,
    refreshed,
    revoke,
    revoked,
    sign_in,
    sign_in_fails,
    without,
)

LOGIN = "login.salesforce.com"
MY_DOMAIN = "mycompany.my.salesforce.com"

fixture = functools.partial(load_fixture, "salesforce")

USERINFO = fixture("userinfo")


def url(path: str, host: str = LOGIN) -> str:
    return f"https://{host}{path}"


salesforce = functools.partial(mocked, Salesforce)


def answering(
    userinfo: dict[str, Any] | None = None, *, host: str = LOGIN, **claims: Any
) -> ProviderMock:
    """Salesforce at ``host``: its token endpoint (an ID token for the UserInfo's user,
    over ``claims``; the nonce sent), its keys and UserInfo."""
    info = USERINFO if userinfo is None else userinfo
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(f"https://{host}"),
        token_url=url("/services/oauth2/token", host),
        keys_url=url("/id/keys", host),
        token=fixture("token"),
        claims={"sub": info["sub"], "auth_time": 1558553873, **claims},
        userinfo_url=url("/services/oauth2/userinfo", host),
        userinfo=info,
    )


def test_authorization_url_on_the_production_login_host_with_pkce() -> None:
    assert_authorization_url(
        salesforce(ProviderMock()), url("/services/oauth2/authorize"), scope="openid email profile"
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, salesforce, mock)
    user = result.provider_user
    assert user.id == USERINFO["sub"]  # the identity URL: org id and user id
    assert user.email == "roberta.smith@mycompany.example"
    assert user.email_verified is True
    assert user.name == "Roberta Smith"
    assert user.username == "roberta.smith@mycompany.example"
    assert user.avatar_url == USERINFO["picture"]
    assert user.raw["organization_id"] == "00DB0000000TfcRMAS"
    sent = assert_client_auth(mock.last("POST", url("/services/oauth2/token")), "post")
    assert sent["code_verifier"]


async def test_a_sandbox_and_a_my_domain_use_their_own_host(mode: str) -> None:
    for host in ("test.salesforce.com", MY_DOMAIN):
        mock = answering(host=host)
        built = salesforce(mock, domain=host)
        assert built.issuer == f"https://{host}"
        result = await sign_in(mode, built, mock=mock)
        assert result.provider_user.email_verified is True
        assert {r.url.host for r in mock.requests} == {host}


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    # Salesforce's flag stays false until the user confirms the address.
    mock = answering({**USERINFO, "email_verified": False})
    await assert_signed_in_email(mode, salesforce(mock), mock, "roberta.smith@mycompany.example")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USERINFO, "email", "email_verified"))
    await assert_signed_in_email(mode, salesforce(mock, scopes=["openid", "profile"]), mock, None)


async def test_a_token_from_another_login_host_is_refused(mode: str) -> None:
    # A sandbox's token presented to a production sign-in.
    mock = answering(iss="https://test.salesforce.com")
    cause = await sign_in_fails(mode, salesforce(mock), mock, IDTokenError)
    assert cause.check == "iss"


async def test_a_userinfo_sub_that_differs_is_refused(mode: str) -> None:
    mock = answering()
    other = "https://login.salesforce.com/id/00DB0000000TfcRMAS/005B0000009Zz99IAC"
    mock.route("GET", url("/services/oauth2/userinfo"), json={**USERINFO, "sub": other})
    await sign_in_fails(mode, salesforce(mock), mock, IDTokenError)


async def test_a_token_error_in_salesforces_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, salesforce, answering(), url("/services/oauth2/token"), fixture("token_error")
    )


async def test_refresh(mode: str) -> None:
    # Salesforce's refresh answer has a new access token and no new refresh token.
    answer = {**without(fixture("token"), "refresh_token", "id_token"), "access_token": "new"}
    build = functools.partial(salesforce, scopes=["openid", "email", "profile", "refresh_token"])
    tokens, request = await refreshed(mode, build, url("/services/oauth2/token"), answer)
    assert tokens.access_token == "new"
    assert tokens.refresh_token is None
    assert_client_auth(request, "post")


async def test_revocation(mode: str) -> None:
    revoke_url = url("/services/oauth2/revoke")
    request = await revoked(mode, salesforce, "the-token", revoke_url, httpx.Response(200))
    assert form(request)["token"] == "the-token"


async def test_a_refused_revocation_is_an_error(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", url("/services/oauth2/revoke"), status=400, json=fixture("revoke_error"))
    with pytest.raises(OAuthProviderError) as caught:
        await revoke(mode, salesforce(mock), "the-token")
    assert caught.value.error == "invalid_token"


def test_by_slug_with_and_without_a_domain() -> None:
    assert assert_by_slug("salesforce", Salesforce).issuer == "https://login.salesforce.com"
    own = assert_by_slug("salesforce", Salesforce, domain=MY_DOMAIN)
    assert own.metadata is not None
    assert own.metadata.jwks_uri == url("/id/keys", MY_DOMAIN)
