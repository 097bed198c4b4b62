"""Sign in with LinkedIn (OpenID Connect), against answers in LinkedIn's documented
shapes (never LinkedIn).

Shapes: https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
(token answer with the ID token, UserInfo) and
https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
(errors). The ID token is signed with a test key whose JWKS the mock serves; as
LinkedIn's, it carries no nonce.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lucia.oauth import (
    OAuthUnsupportedError,
)
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.linkedin import LinkedIn
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
    sign_in_fails,
    without,
)

ISSUER = "https://www.linkedin.com/oauth"
TOKEN = "https://www.linkedin.com/oauth/v2/accessToken"
USERINFO = "https://api.linkedin.com/v2/userinfo"
KEYS = "https://www.linkedin.com/oauth/openid/jwks"

fixture = functools.partial(load_fixture, "linkedin")

USERINFO_ANSWER = fixture("userinfo")


linkedin = functools.partial(mocked, LinkedIn)


def answering(userinfo: dict[str, Any] | None = None, **claims: Any) -> ProviderMock:
    """LinkedIn's token answer (an ID token for the UserInfo's user, over ``claims``,
    without a nonce), its keys and UserInfo."""
    info = USERINFO_ANSWER if userinfo is None else userinfo
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(ISSUER),
        token_url=TOKEN,
        keys_url=KEYS,
        token=fixture("token"),
        claims={"sub": info["sub"], "name": info.get("name"), **claims},
        userinfo_url=USERINFO,
        userinfo=info,
        nonce=False,
    )


def test_authorization_url_on_linkedins_host_without_nonce_or_pkce() -> None:
    # No nonce (reported missing from LinkedIn's ID tokens) and no PKCE (documented for
    # native apps only): catalog.toml names the sources.
    assert_authorization_url(
        linkedin(ProviderMock()),
        "https://www.linkedin.com/oauth/v2/authorization",
        scope="openid profile email",
        pkce=False,
        nonce=False,
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, linkedin, mock)
    user = result.provider_user
    assert user.id == "782bbtaQ"
    assert user.email == "doe@email.com"
    assert user.email_verified is True
    assert user.name == "John Doe"
    assert user.avatar_url == USERINFO_ANSWER["picture"]
    # client_secret_post: LinkedIn refuses HTTP Basic at its token endpoint.
    assert "code_verifier" not in assert_client_auth(mock.last("POST", TOKEN), "post")
    assert mock.last("GET", USERINFO).headers["authorization"].startswith("Bearer ")


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": False})
    await assert_signed_in_email(mode, linkedin(mock), mock, "doe@email.com")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USERINFO_ANSWER, "email", "email_verified"))
    await assert_signed_in_email(mode, linkedin(mock, scopes=["openid", "profile"]), mock, None)


async def test_a_userinfo_sub_that_differs_is_refused(mode: str) -> None:
    mock = answering()
    mock.route("GET", USERINFO, json={**USERINFO_ANSWER, "sub": "someone-else"})
    await sign_in_fails(mode, linkedin(mock), mock, IDTokenError)


async def test_an_id_token_from_another_issuer_is_refused(mode: str) -> None:
    mock = answering(iss="https://www.linkedin.com")  # the issuer before April 2024
    await sign_in_fails(mode, linkedin(mock), mock, IDTokenError)


async def test_a_token_error_in_linkedins_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, linkedin, answering(), TOKEN, fixture("token_error"), error="invalid_request"
    )


async def test_refresh_for_apps_linkedin_grants_it(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    tokens, request = await refreshed(mode, linkedin, TOKEN, answer)
    assert tokens.access_token == "new-access"
    assert_client_auth(request, "post")


def test_linkedin_has_no_revocation_endpoint() -> None:
    with pytest.raises(OAuthUnsupportedError):
        linkedin(ProviderMock()).revoke_token("a-token")


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("linkedin", LinkedIn)


def test_the_metadata_is_built_in() -> None:
    built = linkedin(ProviderMock())
    assert built.metadata is not None
    assert built.metadata.issuer == ISSUER
    assert built.metadata.jwks_uri == KEYS
    assert built.metadata.userinfo_endpoint == USERINFO
