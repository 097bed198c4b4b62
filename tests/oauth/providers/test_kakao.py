"""Sign in with Kakao, against answers in Kakao's documented shapes (never Kakao).

Shapes: https://developers.kakao.com/docs/latest/en/kakaologin/rest-api (token,
/v2/user/me, logout) and .../kakaologin/trouble-shooting (error bodies).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lucia.oauth import OAuthResponseError
from lucia.oauth.providers.kakao import Kakao
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
    load_fixture,
    mocked,
    refreshed,
    refused_revocation,
    revoked,
    sign_in_fails,
)

AUTHORIZE = "https://kauth.kakao.com/oauth/authorize"
TOKEN = "https://kauth.kakao.com/oauth/token"
ME = "https://kapi.kakao.com/v2/user/me"
LOGOUT = "https://kapi.kakao.com/v1/user/logout"
fixture = functools.partial(load_fixture, "kakao")
kakao = functools.partial(mocked, Kakao)


def answering(user: str = "user") -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), ME, fixture(user))


def test_authorization_url_on_kakaos_host_with_state_and_pkce() -> None:
    url = kakao(ProviderMock()).create_authorization_url("the-state", "v" * 43)
    assert url.startswith(AUTHORIZE + "?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "account_email,profile_nickname,profile_image"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT_URI


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, kakao, mock)
    user = result.provider_user
    assert user.id == "123456789"  # Kakao's number, as a string
    assert user.email == "sample@example.com"
    assert user.email_verified is True  # is_email_verified and is_email_valid
    assert user.name == "홍길동"
    assert user.avatar_url == "https://k.kakaocdn.net/dn/example/img_640x640.jpg"
    # The exchange: client id and secret in the body, the PKCE verifier.
    sent = assert_client_auth(mock.last("POST", TOKEN), "post")
    assert sent["grant_type"] == "authorization_code"
    assert sent["redirect_uri"] == REDIRECT_URI
    assert len(sent["code_verifier"]) == 43
    assert mock.last("GET", ME).headers["authorization"] == "Bearer kakao-access-token-example"


@pytest.mark.parametrize("answer", ["user_unverified", "user_invalid_email"])
async def test_an_address_is_verified_only_when_verified_and_still_valid(
    mode: str, answer: str
) -> None:
    mock = answering(answer)
    await assert_signed_in_email(mode, kakao(mock), mock, "sample@example.com")


async def test_without_consent_to_the_email_there_is_no_email(mode: str) -> None:
    mock = answering("user_no_email")
    user = await assert_signed_in_email(mode, kakao(mock), mock, None)
    assert user.name == "홍길동"
    assert user.avatar_url is None


async def test_a_token_error_in_kakaos_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, kakao, answering(), TOKEN, fixture("token_error"))


async def test_a_user_request_error_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=401, json=fixture("user_error"))
    await sign_in_fails(mode, kakao(mock), mock, OAuthResponseError)


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    tokens, sent = await refreshed(mode, kakao, TOKEN, answer, "old-refresh")
    assert tokens.access_token == "new-access"
    assert assert_client_auth(sent, "post") == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


async def test_revocation_is_kakaos_logout(mode: str) -> None:
    sent = await revoked(mode, kakao, "an-access-token", LOGOUT, json=fixture("logout"))
    assert sent.headers["authorization"] == "Bearer an-access-token"
    assert sent.content == b""


def test_a_refused_logout_raises() -> None:
    answer = fixture("user_error")
    refused_revocation(kakao, LOGOUT, OAuthResponseError, status=401, json=answer)
    refused_revocation(kakao, LOGOUT, OAuthResponseError, json={})


@pytest.mark.parametrize("user_id", [None, True, "", [], {"id": 1}])
def test_a_logout_answer_naming_no_usable_user_is_refused(user_id: Any) -> None:
    # Kakao's logout names the user it logged out ({"id": 123456789}); an id that is
    # not one is no confirmation.
    refused_revocation(kakao, LOGOUT, OAuthResponseError, json={"id": user_id})


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("kakao", Kakao)
