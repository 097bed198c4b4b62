"""Sign in with VK ID, against answers in VK ID's documented shapes (never VK).

Shapes: VK ID's API reference and web integration without the SDK
(https://id.vk.com/about/business/go/docs/ru/vkid/latest/vk-id/connection/api-integration/api-description)
and VK's own web SDK (code exchange with device_id, user_info, logout). The host is
id.vk.ru and the PKCE method s256, as VK's current SDKs have them (catalog.toml says why).
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lucia.oauth import (
    OAuthProviderError,
    OAuthResponseError,
    OAuthUnsupportedError,
    create_code_challenge,
)
from lucia.oauth.providers.vk import VK
from tests.oauth.providers.harness import (
    CLIENT_ID,
    REDIRECT_URI,
    ProviderMock,
    answer_plain,
    assert_by_slug,
    assert_token_error,
    authorization_params,
    first_sign_in,
    form,
    load_fixture,
    mocked,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
    user_of,
)

AUTHORIZE = "https://id.vk.ru/authorize"
TOKEN = "https://id.vk.ru/oauth2/auth"
USER_INFO = "https://id.vk.ru/oauth2/user_info"
LOGOUT = "https://id.vk.ru/oauth2/logout"
DEVICE_ID = "8cd6e1ac-e9d6-4b6e-a5e6-2d8a2a4f3c1b"
fixture = functools.partial(load_fixture, "vk")
vk = functools.partial(mocked, VK, client_secret=None)


def answering(user: Any = None) -> ProviderMock:
    return answer_plain(
        TOKEN,
        fixture("token"),
        USER_INFO,
        fixture("user") if user is None else user,
        user_method="POST",
    )


def test_authorization_url_on_vk_ids_host_with_state_and_pkce() -> None:
    url = vk(ProviderMock()).create_authorization_url("the-state", "v" * 43)
    assert url.startswith(AUTHORIZE + "?")
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["response_type"] == "code"
    # VK ID's spelling of S256: its API reference's value, what VK's own SDKs send.
    assert params["code_challenge_method"] == "s256"
    assert params["code_challenge"] == create_code_challenge("v" * 43)
    assert urlsplit(url).query.count("code_challenge_method=") == 1
    assert params["scope"] == "vkid.personal_info email"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT_URI
    assert VK.uses_pkce


async def test_sign_in_through_the_flow_echoes_the_device_id(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, vk, mock, callback={"device_id": DEVICE_ID})
    user = result.provider_user
    assert user.id == "1234567890"
    assert user.name == "Ivan Ivanov"
    assert user.email == "ivan.ivanov@example.com"
    assert user.email_verified is False  # VK ID does not say the address is verified
    assert user.avatar_url == fixture("user")["user"]["avatar"]
    # The exchange: the verifier, the callback's device_id and state, the client id, no secret.
    sent = form(mock.last("POST", TOKEN))
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "test-code"
    assert sent["device_id"] == DEVICE_ID
    assert sent["state"] == mock.authorization["state"]
    assert sent["client_id"] == CLIENT_ID
    assert sent["redirect_uri"] == REDIRECT_URI
    assert len(sent["code_verifier"]) == 43
    assert "client_secret" not in sent
    assert "authorization" not in mock.last("POST", TOKEN).headers
    # user_info: a POST with the token in the body, never in the URL.
    info = mock.last("POST", USER_INFO)
    assert form(info) == {"client_id": CLIENT_ID, "access_token": "vk2.a.access-token-example"}
    assert "access-token" not in str(info.url)


async def test_a_callback_without_device_id_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    await sign_in_fails(mode, vk(mock), mock, OAuthResponseError)
    assert not any(request.url.path == "/oauth2/auth" for request in mock.requests)


def test_the_code_exchange_outside_the_flow_takes_the_device_id() -> None:
    mock = answering()
    provider_ = vk(mock)
    with pytest.raises(OAuthResponseError, match="device_id"):
        provider_.validate_authorization_code("a-code", "v" * 43)
    tokens = provider_.validate_authorization_code(
        "a-code", "v" * 43, callback_fields={"device_id": DEVICE_ID}
    )
    assert tokens.access_token == "vk2.a.access-token-example"
    assert tokens.refresh_token == "vk2.a.refresh-token-example"
    sent = form(mock.last("POST", TOKEN))
    assert sent["device_id"] == DEVICE_ID
    assert "state" not in sent


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(fixture("user_no_email"))
    result = await sign_in(
        mode,
        vk(mock, scopes=["vkid.personal_info"]),
        mock=mock,
        callback={"device_id": DEVICE_ID},
    )
    assert result.provider_user.email is None
    assert result.provider_user.email_verified is False
    assert mock.authorization["scope"] == "vkid.personal_info"


async def test_a_token_error_in_vk_ids_shape_fails_the_sign_in(mode: str) -> None:
    callback = {"device_id": DEVICE_ID}
    await assert_token_error(
        mode, vk, answering(), TOKEN, fixture("token_error"), callback=callback
    )


async def test_a_user_info_error_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", USER_INFO, json=fixture("user_error"))  # an error body, HTTP 200
    callback = {"device_id": DEVICE_ID}
    await sign_in_fails(
        mode, vk(mock), mock, OAuthProviderError, error="invalid_token", callback=callback
    )


def test_a_user_without_its_id_is_refused() -> None:
    mock = answering({"user": {"first_name": "Ivan"}})
    with pytest.raises(OAuthResponseError):
        user_of(vk(mock), fixture("token"))


def test_a_name_is_first_and_last_name_or_none() -> None:
    user = fixture("user")["user"]
    mock = answering({"user": {**user, "last_name": ""}})
    provider_ = vk(mock)
    tokens = provider_.read_tokens(httpx.Response(200, json=fixture("token")), what="t")
    assert provider_.get_user(tokens).name == "Ivan"
    mock.route("POST", USER_INFO, json={"user": {"user_id": "1"}})
    assert provider_.get_user(tokens).name is None


async def test_revocation_is_vk_ids_logout(mode: str) -> None:
    sent = await revoked(mode, vk, "an-access-token", LOGOUT, json=fixture("logout"))
    assert form(sent) == {
        "client_id": CLIENT_ID,
        "access_token": "an-access-token",
    }


def test_a_refused_logout_raises() -> None:
    error = {"error": "invalid_token", "error_description": "expired"}
    refused_revocation(vk, LOGOUT, OAuthProviderError, json=error)
    refused_revocation(vk, LOGOUT, OAuthResponseError, json={"response": 0})


def test_refresh_is_not_offered() -> None:
    # VK ID refreshes only with the sign-in's device_id, which a refresh token alone lacks.
    mock = ProviderMock()
    with pytest.raises(OAuthUnsupportedError):
        vk(mock).refresh_access_token("a-refresh-token")
    assert mock.requests == []


def test_by_slug_is_the_same_provider() -> None:
    built = assert_by_slug("vk", VK, client_secret=None)
    assert built.default_scopes == ("vkid.personal_info", "email")
