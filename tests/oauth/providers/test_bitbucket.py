"""Sign in with Bitbucket Cloud, against answers in Bitbucket's documented shapes
(never Bitbucket).

Shapes: https://developer.atlassian.com/cloud/bitbucket/oauth-2/ (the token answer
and refresh) and https://developer.atlassian.com/cloud/bitbucket/rest/api-group-users/
(``/2.0/user``, ``/2.0/user/emails``, the error envelope).
"""

from __future__ import annotations

import functools

import pytest

from lucia.oauth import OAuthResponseError, OAuthUnsupportedError
from lucia.oauth.providers.bitbucket import Bitbucket
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

TOKEN = "https://bitbucket.org/site/oauth2/access_token"
USER = "https://api.bitbucket.org/2.0/user"
EMAILS = "https://api.bitbucket.org/2.0/user/emails"
UUID = "{d301aafa-d676-4ee0-88be-962be7417567}"
fixture = functools.partial(load_fixture, "bitbucket")
bitbucket = functools.partial(mocked, Bitbucket)


def answering(emails: str = "emails", *, status: int = 200) -> ProviderMock:
    mock = answer_plain(TOKEN, fixture("token"), USER, fixture("user"))
    mock.route("GET", EMAILS, status=status, json=fixture(emails))
    return mock


def test_authorization_url_on_bitbuckets_host_with_state() -> None:
    url = bitbucket(ProviderMock()).create_authorization_url("the-state")
    assert url.startswith("https://bitbucket.org/site/oauth2/authorize?")
    assert authorization_params(url) == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "account email",
        "state": "the-state",
    }
    assert not Bitbucket.uses_pkce


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, bitbucket, mock)
    user = result.provider_user
    assert user.id == UUID
    assert user.email == "tutorials@example.com"  # the primary one, not the first
    assert user.email_verified is True
    assert user.name == "Tutorials Account"
    assert user.username == "tutorials"
    assert user.avatar_url == fixture("user")["links"]["avatar"]["href"]
    exchange = mock.last("POST", TOKEN)
    assert_client_auth(exchange, "basic")
    assert form(exchange) == {
        "grant_type": "authorization_code",
        "code": "test-code",
        "redirect_uri": REDIRECT_URI,
    }
    bearer = "Bearer " + fixture("token")["access_token"]
    assert mock.last("GET", USER).headers["authorization"] == bearer
    assert mock.last("GET", EMAILS).headers["authorization"] == bearer


async def test_sec38_an_unconfirmed_primary_address_is_not_verified(mode: str) -> None:
    mock = answering("emails_unconfirmed")
    await assert_signed_in_email(mode, bitbucket(mock), mock, "tutorials@example.com")


async def test_sec38_a_confirmed_secondary_address_is_not_used(mode: str) -> None:
    emails = fixture("emails")
    emails["values"] = [e for e in emails["values"] if not e["is_primary"]]
    mock = answering()
    mock.route("GET", EMAILS, json=emails)
    await assert_signed_in_email(mode, bitbucket(mock), mock, None)


async def test_without_the_email_permission_there_is_no_email(mode: str) -> None:
    mock = answering("emails_forbidden", status=403)
    user = await assert_signed_in_email(mode, bitbucket(mock), mock, None)
    assert user.id == UUID


async def test_sec37_the_id_is_the_uuid_not_the_username(mode: str) -> None:
    mock = answering()
    assert (await sign_in(mode, bitbucket(mock), mock=mock)).provider_user.id == UUID
    mock.route("GET", USER, json={**fixture("user"), "username": "renamed", "nickname": "x"})
    assert (await sign_in(mode, bitbucket(mock), mock=mock)).provider_user.id == UUID


async def test_a_token_error_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, bitbucket, answering(), TOKEN, fixture("token_error"))


async def test_an_emails_failure_other_than_403_fails_the_sign_in(mode: str) -> None:
    mock = answering("emails_forbidden", status=500)
    await sign_in_fails(mode, bitbucket(mock), mock, OAuthResponseError)


async def test_an_emails_answer_without_values_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", EMAILS, json={"pagelen": 10})
    await sign_in_fails(mode, bitbucket(mock), mock, OAuthResponseError)


async def test_a_user_without_a_uuid_fails_the_sign_in(mode: str) -> None:
    mock = answering()
    mock.route("GET", USER, json={k: v for k, v in fixture("user").items() if k != "uuid"})
    await sign_in_fails(mode, bitbucket(mock), mock, OAuthResponseError)


async def test_refresh(mode: str) -> None:
    tokens, sent = await refreshed(mode, bitbucket, TOKEN, fixture("refresh"), "nKbW5gTqQsSkvbhpEh")
    assert tokens.access_token == fixture("refresh")["access_token"]
    assert tokens.refresh_token == "nKbW5gTqQsSkvbhpEh"
    assert assert_client_auth(sent, "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": "nKbW5gTqQsSkvbhpEh",
    }


def test_bitbucket_has_no_revocation() -> None:
    with pytest.raises(OAuthUnsupportedError):
        bitbucket(ProviderMock()).revoke_token("an-access-token")


def test_by_slug_is_the_same_provider() -> None:
    assert_by_slug("bitbucket", Bitbucket)
