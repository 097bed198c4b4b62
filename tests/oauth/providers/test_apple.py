"""Sign in with Apple, against answers in Apple's documented shapes (never Apple).

Shapes: https://developer.apple.com/documentation/signinwithapplerestapi (the
token answer and its errors, the identity token's claims, the first callback's
``user`` field, revocation). The identity token is signed with a test key whose
JWKS the mock serves; the client secret lucia makes is checked against the
public half of a test Sign in with Apple key.
"""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from lucia.oauth import OAuthProviderError, provider
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.apple import Apple, AppleClientSecret
from lucia.sessions import utc_now
from tests.conftest import Clock
from tests.oauth.providers.harness import (
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_authorization_url,
    assert_signed_in_email,
    assert_token_error,
    first_sign_in,
    form,
    load_fixture,
    refreshed,
    refused_revocation,
    revoked,
    sign_in,
    sign_in_fails,
    without,
)

AUTHORIZE = "https://appleid.apple.com/auth/authorize"
TOKEN = "https://appleid.apple.com/auth/token"
KEYS = "https://appleid.apple.com/auth/keys"
REVOKE = "https://appleid.apple.com/auth/revoke"
ISSUER = "https://appleid.apple.com"
TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"

fixture = functools.partial(load_fixture, "apple")

CLAIMS = fixture("id_token_claims")
CLIENT_ID = CLAIMS["aud"]  # a Services ID
SIGNING_KEY = ECKey.generate_key("P-256")
PRIVATE_KEY = SIGNING_KEY.as_pem(private=True).decode()
USER_FIELD = json.dumps(fixture("user"))


def apple(mock: ProviderMock, **options: Any) -> Apple:
    return Apple(
        CLIENT_ID,
        PRIVATE_KEY,
        REDIRECT_URI,
        team_id=TEAM_ID,
        key_id=KEY_ID,
        **mock.clients(),
        **options,
    )


def answering(claims: dict[str, Any] | None = None) -> ProviderMock:
    """Apple's token endpoint (its documented answer, with an identity token carrying
    ``claims`` and the nonce the authorization URL sent) and its keys."""
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(ISSUER, CLIENT_ID),
        token_url=TOKEN,
        keys_url=KEYS,
        token=fixture("token"),
        claims=CLAIMS if claims is None else claims,
    )


def secret_claims(request: httpx.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The client secret a request carried: its header and claims, its signature checked."""
    token = jwt.decode(form(request)["client_secret"], SIGNING_KEY, algorithms=["ES256"])
    return dict(token.header), dict(token.claims)


def test_authorization_url_asks_for_a_form_post_with_a_nonce_and_no_pkce() -> None:
    params = assert_authorization_url(
        apple(ProviderMock()), AUTHORIZE, scope="openid name email", pkce=False
    )
    # Apple answers the name and email scopes only with a form post.
    assert params["response_mode"] == "form_post"
    assert params["client_id"] == CLIENT_ID
    assert Apple.uses_form_post
    assert Apple.callback_fields == ("user",)


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, apple, mock, callback={"user": USER_FIELD})
    user = result.provider_user
    assert user.id == CLAIMS["sub"]
    assert user.email == CLAIMS["email"]
    # Apple's flag, sent as the string "true".
    assert user.email_verified is True
    assert user.raw["is_private_email"] == "true"
    # The name: from the first callback's user field, Apple's only source of it.
    assert user.name == "Ada Lovelace"
    assert result.user.attributes["name"] == "Ada Lovelace"
    assert result.user.attributes["email_verified"] is True
    # The code exchange: client_secret_post with the ES256 JWT lucia made, no PKCE.
    exchange = form(mock.last("POST", TOKEN))
    assert exchange["client_id"] == CLIENT_ID
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"] == REDIRECT_URI
    assert "code_verifier" not in exchange
    assert PRIVATE_KEY not in exchange["client_secret"]
    header, claims = secret_claims(mock.last("POST", TOKEN))
    assert header == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    assert claims["iss"] == TEAM_ID
    assert claims["sub"] == CLIENT_ID
    assert claims["aud"] == "https://appleid.apple.com"
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("flag", ["false", False])
async def test_an_unverified_email_is_never_verified(mode: str, flag: object) -> None:
    # Apple sends the flag as a boolean or a string: only true or "true" is verified.
    mock = answering({**CLAIMS, "email_verified": flag})
    await assert_signed_in_email(mode, apple(mock), mock, CLAIMS["email"])


async def test_a_boolean_true_flag_is_verified_too(mode: str) -> None:
    mock = answering({**CLAIMS, "email_verified": True, "is_private_email": False})
    user = (await sign_in(mode, apple(mock), mock=mock)).provider_user
    assert user.email_verified is True


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(CLAIMS, "email", "email_verified"))
    await assert_signed_in_email(mode, apple(mock, scopes=["openid"]), mock, None)
    assert mock.authorization["scope"] == "openid"


async def test_the_user_field_gives_the_name_and_nothing_else(mode: str) -> None:
    relayed = json.dumps({"name": {"firstName": "Mallory"}, "email": "victim@example.com"})
    mock = answering()
    user = (await sign_in(mode, apple(mock), mock=mock, callback={"user": relayed})).provider_user
    assert user.name == "Mallory"
    assert user.email == CLAIMS["email"]  # the identity token's, never the browser's


@pytest.mark.parametrize(
    "relayed",
    ["not json", "[]", '{"name": "Ada"}', '{"name": {"firstName": 1}}', json.dumps({})],
)
async def test_a_malformed_user_field_is_ignored(mode: str, relayed: str) -> None:
    mock = answering()
    user = (await sign_in(mode, apple(mock), mock=mock, callback={"user": relayed})).provider_user
    assert user.id == CLAIMS["sub"]
    assert user.name is None


async def test_later_sign_ins_have_no_name(mode: str) -> None:
    mock = answering()
    user = (await sign_in(mode, apple(mock), mock=mock)).provider_user
    assert user.name is None


async def test_a_token_error_in_apples_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(
        mode, apple, answering(), TOKEN, fixture("token_error"), status=400, error="invalid_grant"
    )


@pytest.mark.parametrize(
    "claims",
    [
        {**CLAIMS, "aud": "com.example.other"},
        {**CLAIMS, "iss": "https://appleid.apple.com.evil.example"},
    ],
)
async def test_an_identity_token_for_another_client_or_issuer_is_refused(
    mode: str, claims: dict[str, Any]
) -> None:
    mock = answering(claims)
    await sign_in_fails(mode, apple(mock), mock, IDTokenError)


async def test_refresh_sends_a_fresh_client_secret(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    tokens, request = await refreshed(mode, apple, TOKEN, answer)
    assert tokens.access_token == "new-access"
    assert secret_claims(request)[1]["iss"] == TEAM_ID


async def test_revocation(mode: str) -> None:
    # Apple answers 200 with no body.
    request = await revoked(mode, apple, "a-refresh-token", REVOKE, httpx.Response(200))
    sent = form(request)
    assert sent["token"] == "a-refresh-token"
    assert sent["client_id"] == CLIENT_ID
    assert secret_claims(request)[1]["sub"] == CLIENT_ID


def test_a_refused_revocation_raises() -> None:
    answer = {"error": "invalid_client"}
    refused_revocation(apple, REVOKE, OAuthProviderError, status=400, json=answer)


# The client secret


def maker(clock: Clock, lifetime: timedelta = timedelta(hours=1)) -> AppleClientSecret:
    return AppleClientSecret(
        team_id=TEAM_ID,
        key_id=KEY_ID,
        client_id=CLIENT_ID,
        private_key=PRIVATE_KEY,
        lifetime=lifetime,
        clock=clock,
    )


def test_the_client_secret_is_cached_then_renewed_before_it_expires() -> None:
    clock = Clock(utc_now())
    secrets = maker(clock)
    first = secrets.current()
    clock.advance(minutes=50)
    assert secrets.current() == first  # 10 minutes left: still in use
    clock.advance(minutes=5)
    renewed = secrets.current()  # within the last tenth of its hour: a new one
    assert renewed != first
    claims = jwt.decode(renewed, SIGNING_KEY).claims
    assert claims["exp"] - int(clock().timestamp()) == 3600


@pytest.mark.parametrize("lifetime", [timedelta(seconds=30), timedelta(days=183)])
def test_the_client_secret_lifetime_is_bounded(lifetime: timedelta) -> None:
    # Apple refuses a secret expiring more than 15777000 s (about six months) ahead.
    with pytest.raises(ValueError, match="lifetime"):
        maker(Clock(utc_now()), lifetime)


def test_six_months_is_the_longest_lifetime() -> None:
    clock = Clock(utc_now())
    claims = jwt.decode(maker(clock, timedelta(seconds=15_777_000)).current(), SIGNING_KEY).claims
    assert claims["exp"] - claims["iat"] == 15_777_000


@pytest.mark.parametrize(
    "key",
    [
        "not a key",
        ECKey.generate_key("P-384").as_pem(private=True).decode(),
        SIGNING_KEY.as_pem(private=False).decode(),
    ],
)
def test_only_a_p256_private_key_is_accepted(key: str) -> None:
    with pytest.raises(ValueError, match="private key") as caught:
        Apple(CLIENT_ID, key, REDIRECT_URI, team_id=TEAM_ID, key_id=KEY_ID)
    for line in key_lines(key):
        assert line not in str(caught.value)
        assert line not in repr(caught.value)


def key_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM key: what any repr or message holding the key shows
    (the PEM itself, with its newlines, is never found in a repr, which escapes them)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_key_lines_find_a_key_in_a_repr() -> None:
    # The check below can fail: a repr that holds the key is caught.
    assert any(line in repr({"key": PRIVATE_KEY}) for line in key_lines(PRIVATE_KEY))


def test_the_private_key_is_never_shown() -> None:
    built = apple(ProviderMock())
    shown = [repr(built), repr(built.client_secret), repr(vars(built)), str(built.parameters)]
    for line in key_lines(PRIVATE_KEY):
        assert not any(line in text for text in shown)
    assert "private_key" not in built.parameters


def test_by_slug_with_the_key_as_client_secret_or_private_key() -> None:
    options = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI}
    ids = {"team_id": TEAM_ID, "key_id": KEY_ID}
    as_secret = provider("apple", client_secret=PRIVATE_KEY, **options, **ids)
    as_key = provider("apple", client_secret=None, private_key=PRIVATE_KEY, **options, **ids)
    for built in (as_secret, as_key):
        assert type(built) is Apple
        assert built.name == "apple"
        header = jwt.decode(built.client_secret.current(), SIGNING_KEY).header
        assert header["kid"] == KEY_ID
    with pytest.raises(ValueError, match="private key"):
        provider("apple", client_secret=None, **options, **ids)
    with pytest.raises(ValueError, match="team_id"):
        provider("apple", client_secret=PRIVATE_KEY, key_id=KEY_ID, **options)
