"""Sign in with Spotify, against answers in Spotify's documented shapes (never Spotify).

Shapes: https://developer.spotify.com/documentation/web-api/tutorials/code-flow (the
token answer), .../tutorials/refreshing-tokens (refresh), .../reference/get-current-users-profile
(``/v1/me``) and .../concepts/api-calls (the error objects).
"""

from __future__ import annotations

import functools

import pytest

from lucia.oauth import OAuthResponseError, OAuthUnsupportedError
from lucia.oauth.providers import Spotify
from tests.oauth.providers.harness import (
    CLIENT_ID,
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
    sign_in,
    sign_in_fails,
)

TOKEN = "https://accounts.spotify.com/api/token"
ME = "https://api.spotify.com/v1/me"
fixture = functools.partial(load_fixture, "spotify")
spotify = functools.partial(mocked, Spotify)


def answering(me: str = "me") -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), ME, fixture(me))


def test_authorization_url_on_spotifys_host_with_state_and_pkce() -> None:
    url = spotify(ProviderMock()).create_authorization_url("the-state", "v" * 43)
    assert url.startswith("https://accounts.spotify.com/authorize?")
    params = authorization_params(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "user-read-email"
    assert params["state"] == "the-state"
    # PKCE besides the secret, on RFC 9700's advice (Spotify documents neither way).
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"]
    assert Spotify.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, spotify, mock)
    user = result.provider_user
    assert user.id == "wizzler"
    assert user.email == "email@example.com"
    assert user.name == "JM Wizzler"
    assert user.avatar_url == "https://i.scdn.co/image/ab67616d00001e02ff9ca10b55ce82ae553c8228"
    exchange = mock.last("POST", TOKEN)
    assert_client_auth(exchange, "basic")
    sent = form(exchange)
    assert len(sent.pop("code_verifier")) == 43
    assert sent == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
    }
    assert mock.last("GET", ME).headers["authorization"] == "Bearer NgCXRK...MzYjw"


async def test_sec38_spotify_email_is_never_verified(mode: str) -> None:
    # "This email address is unverified; there is no proof that it actually belongs
    # to the user." (Get Current User's Profile)
    mock = answering()
    result = await sign_in(mode, spotify(mock), mock=mock)
    assert result.provider_user.email_verified is False
    assert result.user.attributes["email_verified"] is False


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering("me_without_email")
    user = await assert_signed_in_email(mode, spotify(mock), mock, None)
    assert user.id == "31l77y2ak6hvtb5xa4b6zkyh3x5e"
    assert user.name is None
    assert user.avatar_url is None


async def test_a_token_error_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, spotify, answering(), TOKEN, fixture("token_error"))


async def test_a_web_api_error_object_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=401, json=fixture("me_error"))
    cause = await sign_in_fails(mode, spotify(mock), mock, OAuthResponseError)
    assert cause.http_status == 401


async def test_refresh(mode: str) -> None:
    tokens, sent = await refreshed(mode, spotify, TOKEN, fixture("refresh"), "NgAagA...Um_SHo")
    assert tokens.access_token == "BQBLuPRYBQ...BP8stIv5xr-Iwaf4l8eg"
    assert tokens.refresh_token is None  # Spotify may keep the old one valid
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": "NgAagA...Um_SHo",
    }


def test_spotify_has_no_revocation() -> None:
    with pytest.raises(OAuthUnsupportedError):
        spotify(ProviderMock()).revoke_token("an-access-token")


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("spotify", Spotify)
