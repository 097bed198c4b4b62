"""Sign in with Yandex ID, against answers in Yandex's documented shapes (never Yandex).

Shapes: https://yandex.ru/dev/id/doc/ru/codes/code-url (authorization, token,
errors) and https://yandex.ru/dev/id/doc/en/user-information (login.yandex.ru/info).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lucia.oauth import OAuthResponseError, OAuthUnsupportedError
from lucia.oauth.providers.yandex import Yandex
from tests.oauth.providers.harness import (
    CLIENT_ID,
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
    sign_in_fails,
    user_of,
)

AUTHORIZE = "https://oauth.yandex.ru/authorize"
TOKEN = "https://oauth.yandex.ru/token"
INFO = "https://login.yandex.ru/info"
fixture = functools.partial(load_fixture, "yandex")
yandex = functools.partial(mocked, Yandex)


def answering(user: Any = None) -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), INFO, fixture("user") if user is None else user)


def test_authorization_url_on_yandexs_host_with_state_and_pkce() -> None:
    url = yandex(ProviderMock()).create_authorization_url("the-state", "v" * 43)
    assert url.startswith(AUTHORIZE + "?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "login:info login:email login:avatar"
    assert params["client_id"] == CLIENT_ID


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, yandex, mock)
    user = result.provider_user
    assert user.id == "1000034426"
    assert user.email == "test@yandex.ru"
    assert user.email_verified is False  # Yandex does not say default_email is verified
    assert user.name == "Ivan Ivanov"
    assert user.username == "ivan"
    assert user.avatar_url == "https://avatars.yandex.net/get-yapic/131652443/islands-200"
    # The user request: the token in Yandex's own "OAuth" scheme, JSON asked for.
    info = mock.last("GET", INFO)
    assert info.headers["authorization"] == "OAuth " + fixture("token")["access_token"]
    assert info.url.params["format"] == "json"
    assert "oauth_token" not in info.url.params
    # The exchange: HTTP Basic client authentication, the PKCE verifier.
    sent = assert_client_auth(mock.last("POST", TOKEN), "basic")
    assert sent["grant_type"] == "authorization_code"
    assert len(sent["code_verifier"]) == 43


async def test_without_email_and_avatar_access_there_are_none(mode: str) -> None:
    mock = answering(fixture("user_no_email"))
    user = await assert_signed_in_email(mode, yandex(mock, scopes=["login:info"]), mock, None)
    assert user.avatar_url is None  # is_avatar_empty
    assert user.name is None
    assert mock.authorization["scope"] == "login:info"


def test_an_avatar_id_with_a_slash_stays_a_path() -> None:
    mock = answering({**fixture("user"), "default_avatar_id": "31804/BYkogAC6AoB17bN1HKRFAyKiM4-1"})
    assert user_of(yandex(mock), fixture("token")).avatar_url == (
        "https://avatars.yandex.net/get-yapic/31804/BYkogAC6AoB17bN1HKRFAyKiM4-1/islands-200"
    )


async def test_a_token_error_in_yandexs_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, yandex, answering(), TOKEN, fixture("token_error"))


async def test_a_refused_user_request_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", INFO, status=401, json={})
    await sign_in_fails(mode, yandex(mock), mock, OAuthResponseError)


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    tokens, sent = await refreshed(mode, yandex, TOKEN, answer, "old-refresh")
    assert tokens.access_token == "new-access"
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }


def test_revocation_is_not_offered() -> None:
    # Yandex revokes only tokens issued for a device_id, which lucia does not request.
    mock = ProviderMock()
    with pytest.raises(OAuthUnsupportedError):
        yandex(mock).revoke_token("a-token")
    assert mock.requests == []


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("yandex", Yandex)
