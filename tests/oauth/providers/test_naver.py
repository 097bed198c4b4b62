"""Sign in with Naver, against answers in Naver's documented shapes (never Naver).

Shapes: https://developers.naver.com/docs/login/api/api.md (the authorization URL,
the token answer and its errors, refresh, deletion with ``grant_type=delete``) and
https://developers.naver.com/docs/login/profile/profile.md (``/v1/nid/me``: the user
under ``response`` beside ``resultcode`` and ``message``, and its error codes).
"""

from __future__ import annotations

import functools

from lucia.oauth import OAuthProviderError
from lucia.oauth.providers.naver import Naver
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    ProviderMock,
    answer_plain,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    assert_token_error,
    authorization_params,
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

TOKEN = "https://nid.naver.com/oauth2.0/token"
ME = "https://openapi.naver.com/v1/nid/me"
fixture = functools.partial(load_fixture, "naver")
naver = functools.partial(mocked, Naver)


def answering(user: str = "user") -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), ME, fixture(user))


def test_authorization_url_on_navers_host_with_state_and_no_scope() -> None:
    url = naver(ProviderMock()).create_authorization_url("the-state")
    assert url.startswith("https://nid.naver.com/oauth2.0/authorize?")
    # Naver takes no scope (the profile items are set in its console) and no PKCE.
    assert authorization_params(url) == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "the-state",
    }
    assert not Naver.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, naver, mock)
    user = result.provider_user
    assert user.id == "32742776"
    assert user.email == "openapi@naver.com"
    assert user.name == "오픈 API"
    assert user.username == "OpenAPI"
    assert user.avatar_url == "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif"
    assert user.raw["gender"] == "F"
    # The exchange: the client's id and secret in the body, no PKCE verifier.
    assert assert_client_auth(mock.last("POST", TOKEN), "post") == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    bearer = "Bearer " + fixture("token")["access_token"]
    assert mock.last("GET", ME).headers["authorization"] == bearer


async def test_sec38_navers_address_is_never_verified(mode: str) -> None:
    # Naver's profile API gives the address with no word on its verification.
    mock = answering()
    result = await sign_in(mode, naver(mock), mock=mock)
    assert result.provider_user.email_verified is False
    assert result.user.attributes["email_verified"] is False


async def test_without_the_email_item_there_is_no_email(mode: str) -> None:
    mock = answering("user_no_email")
    user = await assert_signed_in_email(mode, naver(mock), mock, None)
    assert user.id == "32742776"
    assert user.name == "OpenAPI"  # no real name consented: the nickname
    assert user.avatar_url is None


async def test_a_token_error_with_http_200_fails_the_sign_in(mode: str) -> None:
    # Naver answers a bad code with HTTP 200 and an RFC 6749 error body.
    await assert_token_error(
        mode, naver, answering(), TOKEN, fixture("token_error"), status=200, error="invalid_request"
    )


async def test_a_profile_error_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=401, json=fixture("user_error"))
    await sign_in_fails(mode, naver(mock), mock, OAuthProviderError, error="024")


async def test_a_resultcode_other_than_00_is_an_error_even_with_http_200(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, json={**fixture("user"), "resultcode": "028", "message": "no token"})
    await sign_in_fails(mode, naver(mock), mock, OAuthProviderError, error="028")


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    tokens, sent = await refreshed(mode, naver, TOKEN, answer, "old-refresh")
    assert tokens.access_token == "new-access"
    assert tokens.expires_at is not None  # Naver's expires_in is the string "3600"
    assert assert_client_auth(sent, "post") == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


async def test_revocation_is_navers_token_deletion(mode: str) -> None:
    sent = await revoked(mode, naver, "an-access-token", TOKEN, json=fixture("delete"))
    assert form(sent) == {
        "grant_type": "delete",
        "access_token": "an-access-token",
        "service_provider": "NAVER",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_a_refused_deletion_raises() -> None:
    # Errors come with HTTP 200 too.
    error = {"error": "invalid_request", "error_description": "bad"}
    refused = refused_revocation(naver, TOKEN, OAuthProviderError, json=error)
    assert refused.error == "invalid_request"
    refused_revocation(naver, TOKEN, OAuthProviderError, json={"result": "fail"})


def test_by_slug_is_the_same_provider() -> None:
    built = assert_by_slug("naver", Naver)
    assert built.default_scopes == ()
    assert CLIENT_SECRET not in repr(built)
