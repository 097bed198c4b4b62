"""Facebook Login, against answers in Facebook's documented shapes (never Facebook).

Shapes: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
(the login dialog, the token answer), https://developers.facebook.com/docs/graph-api/securing-requests
(appsecret_proof), https://developers.facebook.com/docs/graph-api/guides/error-handling
(error objects) and the ``/me`` user with ``fields=id,name,email,picture``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

import pytest

from lucia.oauth import OAuthProviderError, OAuthResponseError, OAuthUnsupportedError
from lucia.oauth.providers.facebook import Facebook
from tests.oauth.providers.harness import (
    CLIENT_SECRET,
    ProviderMock,
    answer_plain,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    assert_token_error,
    authorization_params,
    first_sign_in,
    load_fixture,
    mocked,
    refused_revocation,
    revoked,
    sign_in_fails,
)

GRAPH = "https://graph.facebook.com/v27.0"
TOKEN = f"{GRAPH}/oauth/access_token"
ME = f"{GRAPH}/me"
PERMISSIONS = f"{GRAPH}/me/permissions"

fixture = functools.partial(load_fixture, "facebook")
ACCESS_TOKEN = fixture("token")["access_token"]
PROOF = hmac.new(CLIENT_SECRET.encode(), ACCESS_TOKEN.encode(), hashlib.sha256).hexdigest()
facebook = functools.partial(mocked, Facebook)


def answering(me: Any = None) -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), ME, fixture("me") if me is None else me)


def test_authorization_url_on_the_versioned_dialog_with_comma_scopes() -> None:
    url = facebook(ProviderMock()).create_authorization_url("the-state")
    assert url.startswith("https://www.facebook.com/v27.0/dialog/oauth?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["scope"] == "email,public_profile"
    assert "code_challenge" not in params
    assert not Facebook.uses_pkce


def test_the_graph_api_version_is_a_parameter() -> None:
    built = facebook(ProviderMock(), version="v23.0")
    assert built.create_authorization_url("s").startswith(
        "https://www.facebook.com/v23.0/dialog/oauth?"
    )
    assert built.endpoints.token == "https://graph.facebook.com/v23.0/oauth/access_token"
    with pytest.raises(ValueError, match="version"):
        facebook(ProviderMock(), version="v23.0/../evil")


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, facebook, mock)
    user = result.provider_user
    assert user.id == "10158123456789012"
    assert user.email == "ada@example.com"
    # The Graph API says nothing of the address being verified.
    assert user.email_verified is False
    assert result.user.attributes["email_verified"] is False
    assert user.name == "Ada Lovelace"
    assert user.avatar_url == fixture("me")["picture"]["data"]["url"]
    sent = assert_client_auth(mock.last("POST", TOKEN), "post")
    assert sent["code"] == "test-code"
    me = mock.last("GET", ME)
    assert me.url.params["fields"] == "id,name,email,picture"
    assert me.url.params["appsecret_proof"] == PROOF
    assert me.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    # The token travels in the header only, never in the URL.
    assert ACCESS_TOKEN not in str(me.url)


async def test_without_the_email_permission_there_is_no_email(mode: str) -> None:
    mock = answering({k: v for k, v in fixture("me").items() if k != "email"})
    await assert_signed_in_email(mode, facebook(mock, scopes=["public_profile"]), mock, None)
    assert mock.authorization["scope"] == "public_profile"


async def test_a_token_error_object_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, facebook, answering(), TOKEN, fixture("token_error"), error="OAuthException"
    )


async def test_a_graph_error_object_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=400, json=fixture("me_error"))
    await sign_in_fails(mode, facebook(mock), mock, OAuthProviderError)


async def test_a_user_without_an_id_fails_the_sign_in(mode: str) -> None:
    mock = answering({k: v for k, v in fixture("me").items() if k != "id"})
    await sign_in_fails(mode, facebook(mock), mock, OAuthResponseError)


def test_facebook_offers_no_refresh_token() -> None:
    with pytest.raises(OAuthUnsupportedError):
        facebook(ProviderMock()).refresh_access_token("a-token")


async def test_revocation_removes_the_apps_permissions(mode: str) -> None:
    answer = {"success": True}
    sent = await revoked(mode, facebook, ACCESS_TOKEN, PERMISSIONS, json=answer, method="DELETE")
    assert sent.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert sent.url.params["appsecret_proof"] == PROOF


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (
            400,
            {"error": {"message": "bad", "type": "OAuthException", "code": 190}},
            OAuthProviderError,
        ),
        (200, {"success": False}, OAuthResponseError),
    ],
)
def test_a_refused_revocation_raises(status: int, answer: Any, error: type[Exception]) -> None:
    refused_revocation(
        facebook,
        PERMISSIONS,
        error,
        status=status,
        json=answer,
        method="DELETE",
        token=ACCESS_TOKEN,
    )


def test_by_slug_is_the_same_provider() -> None:
    built = assert_by_slug("facebook", Facebook)
    assert built.parameters == {"version": "v27.0"}
    assert CLIENT_SECRET not in repr(built)
