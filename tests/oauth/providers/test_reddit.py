"""Sign in with Reddit, against answers in Reddit's documented shapes (never Reddit).

Shapes: https://github.com/reddit-archive/reddit/wiki/OAuth2 (the authorization URL,
the token answer and its errors, refresh, revocation), its API rules page (the
User-Agent) and https://www.reddit.com/dev/api (``/api/v1/me``, ``raw_json``).
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.__about__ import __version__
from lucia.oauth import OAuthResponseError
from lucia.oauth.providers.reddit import Reddit
from tests.oauth.providers.harness import (
    CLIENT_ID,
    REDIRECT_URI,
    ProviderMock,
    answer_plain,
    assert_by_slug,
    assert_client_auth,
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

TOKEN = "https://www.reddit.com/api/v1/access_token"
ME = "https://oauth.reddit.com/api/v1/me"
REVOKE = "https://www.reddit.com/api/v1/revoke_token"
DEFAULT_USER_AGENT = f"web:{CLIENT_ID}:lucia-auth-{__version__}"
APP_USER_AGENT = "web:com.example.app:v1.2.3 (by /u/example)"
fixture = functools.partial(load_fixture, "reddit")
reddit = functools.partial(mocked, Reddit)


def answering(me: dict[str, Any] | None = None) -> ProviderMock:
    return answer_plain(TOKEN, fixture("token"), ME, fixture("me") if me is None else me)


def test_authorization_url_on_reddits_host_asks_for_a_permanent_grant() -> None:
    url = reddit(ProviderMock()).create_authorization_url("the-state")
    assert url.startswith("https://www.reddit.com/api/v1/authorize?")
    assert authorization_params(url) == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "identity",
        "state": "the-state",
        "duration": "permanent",
    }
    assert not Reddit.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, reddit, mock)
    user = result.provider_user
    assert user.id == "1w72"
    assert user.username == "spez"
    assert user.name == "spez"
    assert user.avatar_url == fixture("me")["icon_img"]
    exchange = mock.last("POST", TOKEN)
    assert_client_auth(exchange, "basic")
    assert form(exchange) == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
    }
    me = mock.last("GET", ME)
    assert me.headers["authorization"] == "Bearer " + fixture("token")["access_token"]
    # Reddit's legacy escaping of & < > in JSON, turned off.
    assert me.url.params["raw_json"] == "1"


async def test_every_request_carries_a_descriptive_user_agent(mode: str) -> None:
    mock = answering()
    mock.route("POST", REVOKE, httpx.Response(204))
    provider = reddit(mock)
    await sign_in(mode, provider, mock=mock)
    provider.revoke_token("a-token")
    for method, url in [("POST", TOKEN), ("GET", ME), ("POST", REVOKE)]:
        assert mock.last(method, url).headers["user-agent"] == DEFAULT_USER_AGENT


async def test_user_agent_is_the_apps_own_when_given(mode: str) -> None:
    mock = answering()
    await sign_in(mode, reddit(mock, user_agent=APP_USER_AGENT), mock=mock)
    assert mock.last("POST", TOKEN).headers["user-agent"] == APP_USER_AGENT
    assert mock.last("GET", ME).headers["user-agent"] == APP_USER_AGENT


@pytest.mark.parametrize("bad", ["", "  ", "web:app:v1\r\nX-Evil: 1", "web:app:v1\n", "ünï"])
def test_user_agent_must_be_one_printable_line(bad: str) -> None:
    with pytest.raises(ValueError, match="user_agent"):
        reddit(ProviderMock(), user_agent=bad)


async def test_sec38_reddit_gives_no_email(mode: str) -> None:
    # /api/v1/me says whether the account has a verified email, never which one.
    mock = answering()
    result = await sign_in(mode, reddit(mock), mock=mock)
    assert fixture("me")["has_verified_email"] is True
    assert result.provider_user.email is None
    assert result.provider_user.email_verified is False


async def test_sec37_the_id_is_the_account_id_not_the_name(mode: str) -> None:
    mock = answering()
    first = await sign_in(mode, reddit(mock), mock=mock)
    assert first.provider_user.id == "1w72"
    renamed = {**fixture("me"), "name": "spez_renamed"}
    mock.route("GET", ME, json=renamed)
    assert (await sign_in(mode, reddit(mock), mock=mock)).provider_user.id == "1w72"


async def test_a_token_error_with_http_200_fails_the_sign_in(mode: str) -> None:
    # Reddit answers a bad or used code with HTTP 200 and an error body.
    await assert_token_error(mode, reddit, answering(), TOKEN, fixture("token_error"), status=200)


async def test_wrong_client_credentials_fail_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("POST", TOKEN, status=401, json=fixture("token_unauthorized"))
    cause = await sign_in_fails(mode, reddit(mock), mock, OAuthResponseError)
    assert cause.http_status == 401


async def test_a_refused_user_request_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", ME, status=401, json=fixture("me_unauthorized"))
    await sign_in_fails(mode, reddit(mock), mock, OAuthResponseError)


async def test_refresh(mode: str) -> None:
    refresh_token = fixture("token")["refresh_token"]
    tokens, sent = await refreshed(mode, reddit, TOKEN, fixture("refresh"), refresh_token)
    assert tokens.access_token == fixture("refresh")["access_token"]
    assert sent.headers["user-agent"] == DEFAULT_USER_AGENT
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


async def test_revocation(mode: str) -> None:
    sent = await revoked(mode, reddit, "a-refresh-token", REVOKE, httpx.Response(204))
    assert_client_auth(sent, "basic")
    assert form(sent) == {"token": "a-refresh-token"}


def test_a_refused_revocation_raises() -> None:
    answer = fixture("token_unauthorized")
    refused_revocation(reddit, REVOKE, OAuthResponseError, status=401, json=answer)


def test_by_slug_is_the_same_provider() -> None:
    built = assert_by_slug("reddit", Reddit, user_agent=APP_USER_AGENT)
    assert isinstance(built, Reddit)
    assert built.headers()["User-Agent"] == APP_USER_AGENT
