"""Sign in with LinkedIn (OpenID Connect), against answers in LinkedIn's documented
shapes (never LinkedIn).

Shapes: https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
(token answer with the ID token, UserInfo) and
https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
(errors). The ID token is signed with a test key whose JWKS the mock serves; as
LinkedIn's, it carries no nonce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lucia.oauth import (
    OAuthProviderError,
    OAuthUnsupportedError,
    ProviderFailedError,
    provider,
)
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.linkedin import LinkedIn
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

FIXTURES = Path(__file__).parent / "fixtures" / "linkedin"
ISSUER = "https://www.linkedin.com/oauth"
TOKEN = "https://www.linkedin.com/oauth/v2/accessToken"
USERINFO = "https://api.linkedin.com/v2/userinfo"
KEYS = "https://www.linkedin.com/oauth/openid/jwks"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


USERINFO_ANSWER = fixture("userinfo")


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


def linkedin(mock: ProviderMock, **options: Any) -> LinkedIn:
    return LinkedIn(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, **mock.clients(), **options)


def answering(userinfo: dict[str, Any] | None = None, **claims: Any) -> ProviderMock:
    mock = ProviderMock()
    signer = IDTokenSigner(ISSUER)
    info = USERINFO_ANSWER if userinfo is None else userinfo
    id_claims = {"sub": info["sub"], "name": info.get("name"), **claims}
    mock.route("POST", TOKEN, json={**fixture("token"), "id_token": signer.id_token(id_claims)})
    mock.route("GET", KEYS, json=signer.jwks())
    mock.route("GET", USERINFO, json=info)
    return mock


def test_authorization_url_on_linkedins_host_without_nonce_or_pkce() -> None:
    url = linkedin(ProviderMock()).create_authorization_url("the-state")
    assert url.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["scope"] == "openid profile email"
    # LinkedIn's ID tokens echo no nonce, and its web apps refuse a code_verifier.
    assert "nonce" not in params
    assert "code_challenge" not in params
    assert not LinkedIn.uses_nonce
    assert not LinkedIn.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await sign_in(mode, linkedin(mock), mock=mock)
    assert result.created
    user = result.provider_user
    assert user.id == "782bbtaQ"
    assert user.email == "doe@email.com"
    assert user.email_verified is True
    assert user.name == "John Doe"
    assert user.avatar_url == USERINFO_ANSWER["picture"]
    # client_secret_post: LinkedIn refuses HTTP Basic at its token endpoint.
    exchange = mock.last("POST", TOKEN)
    assert "authorization" not in exchange.headers
    sent = form(exchange)
    assert sent["client_id"] == CLIENT_ID
    assert sent["client_secret"] == CLIENT_SECRET
    assert "code_verifier" not in sent
    assert mock.last("GET", USERINFO).headers["authorization"].startswith("Bearer ")


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": False})
    user = (await sign_in(mode, linkedin(mock), mock=mock)).provider_user
    assert user.email == "doe@email.com"
    assert user.email_verified is False


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    info = {k: v for k, v in USERINFO_ANSWER.items() if k not in ("email", "email_verified")}
    mock = answering(info)
    result = await sign_in(mode, linkedin(mock, scopes=["openid", "profile"]), mock=mock)
    assert result.provider_user.email is None
    assert result.provider_user.email_verified is False


async def test_a_userinfo_sub_that_differs_is_refused(mode: str) -> None:
    mock = answering()
    mock.route("GET", USERINFO, json={**USERINFO_ANSWER, "sub": "someone-else"})
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, linkedin(mock), mock=mock)
    assert isinstance(caught.value.cause, IDTokenError)


async def test_an_id_token_from_another_issuer_is_refused(mode: str) -> None:
    mock = answering(iss="https://www.linkedin.com")  # the issuer before April 2024
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, linkedin(mock), mock=mock)
    assert isinstance(caught.value.cause, IDTokenError)


async def test_a_token_error_in_linkedins_shape_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", TOKEN, status=400, json=fixture("token_error"))
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, linkedin(mock), mock=mock)
    cause = caught.value.cause
    assert isinstance(cause, OAuthProviderError)
    assert cause.error == "invalid_request"


async def test_refresh_for_apps_linkedin_grants_it(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", TOKEN, json={**fixture("token"), "access_token": "new-access"})
    provider_ = linkedin(mock)
    if mode == "async":
        tokens = await provider_.arefresh_access_token("old-refresh")
    else:
        tokens = provider_.refresh_access_token("old-refresh")
    assert tokens.access_token == "new-access"
    sent = form(mock.last("POST", TOKEN))
    assert sent["grant_type"] == "refresh_token"
    assert sent["client_secret"] == CLIENT_SECRET


def test_linkedin_has_no_revocation_endpoint() -> None:
    with pytest.raises(OAuthUnsupportedError):
        linkedin(ProviderMock()).revoke_token("a-token")


def test_by_slug_is_the_same_provider() -> None:
    built = provider(
        "linkedin", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI
    )
    assert type(built) is LinkedIn
    assert built.name == "linkedin"
    assert CLIENT_SECRET not in repr(built)


def test_the_metadata_is_built_in() -> None:
    built = linkedin(ProviderMock())
    assert built.metadata is not None
    assert built.metadata.issuer == ISSUER
    assert built.metadata.jwks_uri == KEYS
    assert built.metadata.userinfo_endpoint == USERINFO
