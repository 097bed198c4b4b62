"""Sign in with Dropbox, against answers in Dropbox's documented shapes (never Dropbox).

Shapes: https://www.dropbox.com/developers/documentation/http/documentation
(``/oauth2/token`` and its errors, ``users/get_current_account``, ``auth/token/revoke``,
the RPC error envelope) and https://dropbox.tech/developers/using-oauth-2-0-with-offline-access
(the refresh answer).
"""

from __future__ import annotations

import functools

import httpx

from lucia.oauth import OAuthResponseError
from lucia.oauth.providers.dropbox import Dropbox
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

TOKEN = "https://api.dropboxapi.com/oauth2/token"
ACCOUNT = "https://api.dropboxapi.com/2/users/get_current_account"
REVOKE = "https://api.dropboxapi.com/2/auth/token/revoke"
fixture = functools.partial(load_fixture, "dropbox")
dropbox = functools.partial(mocked, Dropbox)


def answering(account: str = "account") -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), ACCOUNT, fixture(account), user_method="POST")


def test_authorization_url_on_dropboxs_host_asks_for_offline_access() -> None:
    url = dropbox(ProviderMock()).create_authorization_url("the-state", "v" * 43)
    assert url.startswith("https://www.dropbox.com/oauth2/authorize?")
    params = authorization_params(url)
    assert params.pop("code_challenge")
    assert params == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "account_info.read",
        "state": "the-state",
        "token_access_type": "offline",
        "code_challenge_method": "S256",
    }
    assert Dropbox.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, dropbox, mock)
    user = result.provider_user
    assert user.id == "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"
    assert user.email == "franz@dropbox.com"
    assert user.email_verified is True
    assert user.name == "Franz Ferdinand (Personal)"
    assert user.username is None
    assert user.avatar_url is not None
    assert user.avatar_url.startswith("https://dl-web.dropbox.com/account_photo/get/")
    exchange = mock.last("POST", TOKEN)
    assert_client_auth(exchange, "basic")
    sent = form(exchange)
    assert len(sent.pop("code_verifier")) == 43
    assert sent == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
    }


async def test_the_user_request_is_a_post_with_no_body(mode: str) -> None:
    # An RPC endpoint without arguments: a JSON content type with an empty body
    # is refused, so neither is sent.
    mock = answering()
    await sign_in(mode, dropbox(mock), mock=mock)
    request = mock.last("POST", ACCOUNT)
    assert request.content == b""
    assert "content-type" not in request.headers
    assert request.headers["authorization"] == "Bearer " + fixture("token")["access_token"]


async def test_sec38_an_unverified_address_is_not_verified(mode: str) -> None:
    mock = answering("account_unverified")
    user = await assert_signed_in_email(mode, dropbox(mock), mock, "new-user@example.com")
    assert user.avatar_url is None  # no profile photo set


async def test_a_token_error_fails_the_sign_in(mode: str) -> None:
    cause = await assert_token_error(mode, dropbox, answering(), TOKEN, fixture("token_error"))
    assert cause.error_description == "code doesn't exist or has expired"


async def test_an_rpc_error_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", ACCOUNT, status=401, json=fixture("call_error"))
    cause = await sign_in_fails(mode, dropbox(mock), mock, OAuthResponseError)
    assert cause.http_status == 401


async def test_refresh(mode: str) -> None:
    refresh_token = fixture("token")["refresh_token"]
    tokens, sent = await refreshed(mode, dropbox, TOKEN, fixture("refresh"), refresh_token)
    assert tokens.access_token == "sl.u.AbX9y6Fe3AuH5o66-refreshed"
    assert tokens.refresh_token is None  # Dropbox answers an access token only
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


async def test_revocation_is_authorized_by_the_token_it_revokes(mode: str) -> None:
    # Dropbox answers null (no return value) with HTTP 200.
    null = httpx.Response(200, content=b"null")
    sent = await revoked(mode, dropbox, "the-access-token", REVOKE, null)
    assert sent.headers["authorization"] == "Bearer the-access-token"
    assert sent.content == b""
    assert CLIENT_SECRET not in str(sent.headers)


def test_a_refused_revocation_raises() -> None:
    answer = fixture("call_error")
    refused_revocation(dropbox, REVOKE, OAuthResponseError, status=401, json=answer)


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("dropbox", Dropbox)
