"""Sign in with GitLab (OpenID Connect; gitlab.com and a self-managed GitLab), against
answers in GitLab's documented shapes (never GitLab).

Shapes: https://docs.gitlab.com/integration/openid_connect_provider/ (the claims: ``sub``,
``email`` and ``email_verified`` in the ID token, the profile from ``/oauth/userinfo``)
and https://docs.gitlab.com/api/oauth2/ (the token answer, refresh, ``/oauth/revoke``).
Errors are doorkeeper's RFC 6749 bodies. ID tokens are signed with a test key whose
JWKS the mock serves at ``/oauth/discovery/keys``.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lucia.oauth import OAuthProviderError
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers import GitLab
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
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
    revoke,
    revoked,
    sign_in,
    sign_in_fails,
    without,
)

GITLAB = "https://gitlab.com"
SELF_MANAGED = "https://git.example.org/gitlab"

fixture = functools.partial(load_fixture, "gitlab")

USERINFO = fixture("userinfo")


gitlab = functools.partial(mocked, GitLab)


def answering(
    userinfo: dict[str, Any] | None = None, *, base: str = GITLAB, **claims: Any
) -> ProviderMock:
    """GitLab at ``base``: its token endpoint (an ID token with the claims GitLab puts in
    it, from ``userinfo``, over ``claims``; the nonce sent), keys and UserInfo."""
    info = USERINFO if userinfo is None else userinfo
    in_token = {k: info[k] for k in ("sub", "sub_legacy", "email", "email_verified") if k in info}
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(base),
        token_url=f"{base}/oauth/token",
        keys_url=f"{base}/oauth/discovery/keys",
        token=fixture("token"),
        claims={**in_token, "auth_time": 1607635748, **claims},
        userinfo_url=f"{base}/oauth/userinfo",
        userinfo=info,
    )


def test_authorization_url_on_gitlab_com_with_pkce_and_a_nonce() -> None:
    assert_authorization_url(
        gitlab(ProviderMock()), f"{GITLAB}/oauth/authorize", scope="openid profile email"
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, gitlab, mock)
    user = result.provider_user
    assert user.id == "1234567"
    assert user.email == "ada@example.com"
    assert user.email_verified is True
    assert user.name == "Ada Lovelace"
    assert user.username == "ada"
    assert user.avatar_url == USERINFO["picture"]
    assert assert_client_auth(mock.last("POST", f"{GITLAB}/oauth/token"), "post")["code_verifier"]
    assert mock.last("GET", f"{GITLAB}/oauth/userinfo").headers["authorization"] == (
        f"Bearer {fixture('token')['access_token']}"
    )


async def test_a_self_managed_gitlab_by_its_url(mode: str) -> None:
    mock = answering(base=SELF_MANAGED)
    built = gitlab(mock, base_url=SELF_MANAGED + "/")  # a trailing slash is dropped
    assert built.endpoints.authorization == f"{SELF_MANAGED}/oauth/authorize"
    assert built.issuer == SELF_MANAGED
    result = await sign_in(mode, built, mock=mock)
    assert result.provider_user.id == "1234567"
    assert all(str(r.url).startswith(SELF_MANAGED + "/") for r in mock.requests)


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO, "email_verified": False})
    await assert_signed_in_email(mode, gitlab(mock), mock, "ada@example.com")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USERINFO, "email", "email_verified"))
    await assert_signed_in_email(mode, gitlab(mock, scopes=["openid", "profile"]), mock, None)


async def test_a_token_from_gitlab_com_is_refused_by_a_self_managed_gitlab(mode: str) -> None:
    # Signed with the self-managed instance's keys, but naming gitlab.com as its issuer.
    mock = answering(base=SELF_MANAGED, iss=GITLAB)
    cause = await sign_in_fails(mode, gitlab(mock, base_url=SELF_MANAGED), mock, IDTokenError)
    assert cause.check == "iss"


async def test_a_userinfo_sub_that_differs_is_refused(mode: str) -> None:
    mock = answering()
    mock.route("GET", f"{GITLAB}/oauth/userinfo", json={**USERINFO, "sub": "7654321"})
    await sign_in_fails(mode, gitlab(mock), mock, IDTokenError)


async def test_a_token_error_in_gitlabs_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, gitlab, answering(), f"{GITLAB}/oauth/token", fixture("token_error")
    )


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new"}
    tokens, request = await refreshed(mode, gitlab, f"{GITLAB}/oauth/token", answer)
    assert tokens.access_token == "new"
    assert tokens.refresh_token == fixture("token")["refresh_token"]
    assert_client_auth(request, "post")


async def test_revocation_at_oauth_revoke(mode: str) -> None:
    request = await revoked(mode, gitlab, "the-token", f"{GITLAB}/oauth/revoke", json={})
    assert assert_client_auth(request, "post") == {
        "token": "the-token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


async def test_a_refused_revocation_is_an_error(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{GITLAB}/oauth/revoke", status=403, json=fixture("revoke_error"))
    with pytest.raises(OAuthProviderError) as caught:
        await revoke(mode, gitlab(mock), "the-token")
    assert caught.value.error == "unauthorized_client"


def test_by_slug_with_and_without_a_base_url() -> None:
    assert assert_by_slug("gitlab", GitLab).issuer == GITLAB
    own = assert_by_slug("gitlab", GitLab, base_url=SELF_MANAGED)
    assert own.metadata is not None
    assert own.metadata.jwks_uri == f"{SELF_MANAGED}/oauth/discovery/keys"
    assert own.metadata.revocation_endpoint == f"{SELF_MANAGED}/oauth/revoke"
