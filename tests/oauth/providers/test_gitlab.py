"""Sign in with GitLab (OpenID Connect; gitlab.com and a self-managed GitLab), against
answers in GitLab's documented shapes (never GitLab).

Shapes: https://docs.gitlab.com/integration/openid_connect_provider/ (the claims: ``sub``,
``email`` and ``email_verified`` in the ID token, the profile from ``/oauth/userinfo``)
and https://docs.gitlab.com/api/oauth2/ (the token answer, refresh, ``/oauth/revoke``).
Errors are doorkeeper's RFC 6749 bodies. ID tokens are signed with a test key whose
JWKS the mock serves at ``/oauth/discovery/keys``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError, ProviderFailedError, provider
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers import GitLab
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    authorization_params,
    form,
    sign_in,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gitlab"
GITLAB = "https://gitlab.com"
SELF_MANAGED = "https://git.example.org/gitlab"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


USERINFO = fixture("userinfo")


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


def gitlab(mock: ProviderMock, **options: Any) -> GitLab:
    return GitLab(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, **mock.clients(), **options)


def answering(
    userinfo: dict[str, Any] | None = None, *, base: str = GITLAB, **claims: Any
) -> ProviderMock:
    """GitLab at ``base``: its token endpoint (an ID token with the claims GitLab puts in
    it, from ``userinfo``, over ``claims``; the nonce sent), keys and UserInfo."""
    mock = ProviderMock()
    signer = IDTokenSigner(base)
    info = USERINFO if userinfo is None else userinfo
    in_token = {k: info[k] for k in ("sub", "sub_legacy", "email", "email_verified") if k in info}

    def token_answer(request: httpx.Request) -> httpx.Response:
        id_token = signer.id_token(
            {**in_token, "auth_time": 1607635748, **claims},
            nonce=mock.authorization.get("nonce"),
        )
        return httpx.Response(200, json={**fixture("token"), "id_token": id_token})

    mock.route("POST", f"{base}/oauth/token", token_answer)
    mock.route("GET", f"{base}/oauth/discovery/keys", json=signer.jwks())
    mock.route("GET", f"{base}/oauth/userinfo", json=info)
    return mock


def test_authorization_url_on_gitlab_com_with_pkce_and_a_nonce() -> None:
    url = gitlab(ProviderMock()).create_authorization_url("the-state", "v" * 43, nonce="n-1")
    assert url.startswith(f"{GITLAB}/oauth/authorize?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["scope"] == "openid profile email"
    assert params["code_challenge_method"] == "S256"
    assert params["nonce"] == "n-1"


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await sign_in(mode, gitlab(mock), mock=mock)
    assert result.created
    user = result.provider_user
    assert user.id == "1234567"
    assert user.email == "ada@example.com"
    assert user.email_verified is True
    assert user.name == "Ada Lovelace"
    assert user.username == "ada"
    assert user.avatar_url == USERINFO["picture"]
    exchange = mock.last("POST", f"{GITLAB}/oauth/token")
    sent = form(exchange)
    assert sent["client_id"] == CLIENT_ID
    assert sent["client_secret"] == CLIENT_SECRET
    assert sent["code_verifier"]
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
    user = (await sign_in(mode, gitlab(mock), mock=mock)).provider_user
    assert user.email == "ada@example.com"
    assert user.email_verified is False


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    info = {k: v for k, v in USERINFO.items() if k not in ("email", "email_verified")}
    mock = answering(info)
    result = await sign_in(mode, gitlab(mock, scopes=["openid", "profile"]), mock=mock)
    assert result.provider_user.email is None
    assert result.provider_user.email_verified is False


async def test_a_token_from_gitlab_com_is_refused_by_a_self_managed_gitlab(mode: str) -> None:
    # Signed with the self-managed instance's keys, but naming gitlab.com as its issuer.
    mock = answering(base=SELF_MANAGED, iss=GITLAB)
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, gitlab(mock, base_url=SELF_MANAGED), mock=mock)
    cause = caught.value.cause
    assert isinstance(cause, IDTokenError)
    assert cause.check == "iss"


async def test_a_userinfo_sub_that_differs_is_refused(mode: str) -> None:
    mock = answering()
    mock.route("GET", f"{GITLAB}/oauth/userinfo", json={**USERINFO, "sub": "7654321"})
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, gitlab(mock), mock=mock)
    assert isinstance(caught.value.cause, IDTokenError)


async def test_a_token_error_in_gitlabs_shape_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", f"{GITLAB}/oauth/token", status=400, json=fixture("token_error"))
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, gitlab(mock), mock=mock)
    cause = caught.value.cause
    assert isinstance(cause, OAuthProviderError)
    assert cause.error == "invalid_grant"


async def test_refresh(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{GITLAB}/oauth/token", json={**fixture("token"), "access_token": "new"})
    built = gitlab(mock)
    if mode == "async":
        tokens = await built.arefresh_access_token("old-refresh")
    else:
        tokens = built.refresh_access_token("old-refresh")
    assert tokens.access_token == "new"
    assert tokens.refresh_token == fixture("token")["refresh_token"]
    sent = form(mock.last("POST", f"{GITLAB}/oauth/token"))
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == "old-refresh"


async def test_revocation_at_oauth_revoke(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{GITLAB}/oauth/revoke", json={})
    built = gitlab(mock)
    if mode == "async":
        await built.arevoke_token("the-token")
    else:
        built.revoke_token("the-token")
    sent = form(mock.last("POST", f"{GITLAB}/oauth/revoke"))
    assert sent == {"token": "the-token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


async def test_a_refused_revocation_is_an_error(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{GITLAB}/oauth/revoke", status=403, json=fixture("revoke_error"))
    built = gitlab(mock)

    async def revoke() -> None:
        if mode == "async":
            await built.arevoke_token("the-token")
        else:
            built.revoke_token("the-token")

    with pytest.raises(OAuthProviderError) as caught:
        await revoke()
    assert caught.value.error == "unauthorized_client"


def test_by_slug_with_and_without_a_base_url() -> None:
    default = provider(
        "gitlab", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI
    )
    assert type(default) is GitLab
    assert default.name == "gitlab"
    assert default.issuer == GITLAB
    own = provider(
        "gitlab",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        base_url=SELF_MANAGED,
    )
    assert isinstance(own, GitLab)
    assert own.metadata is not None
    assert own.metadata.jwks_uri == f"{SELF_MANAGED}/oauth/discovery/keys"
    assert own.metadata.revocation_endpoint == f"{SELF_MANAGED}/oauth/revoke"
    assert CLIENT_SECRET not in repr(own)
