"""Sign in with Google through ``SignInFlow``, against answers in Google's documented
shapes on Google's own endpoint URLs (never Google).

tests/oauth/test_google.py checks the provider against a local OpenID provider; here
the whole flow runs, sync and async, as for every provider of the catalog.
Shapes: https://developers.google.com/identity/openid-connect/openid-connect
(the token answer with its ID token, the ID token's claims, UserInfo).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.google import Google
from tests.oauth.providers.harness import (
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_client_auth,
    assert_signed_in_email,
    first_sign_in,
    mocked,
    refresh,
    sign_in,
    sign_in_fails,
    token_answer,
    without,
)

TOKEN = "https://oauth2.googleapis.com/token"
KEYS = "https://www.googleapis.com/oauth2/v3/certs"
USERINFO = "https://openidconnect.googleapis.com/v1/userinfo"

USER: dict[str, Any] = {
    "sub": "110169484474386276334",
    "email": "ada@gmail.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "picture": "https://lh3.googleusercontent.com/a/photo.jpg",
}


def answering(user: dict[str, Any], *, issuer: str = "https://accounts.google.com") -> ProviderMock:
    """Google's token endpoint (an ID token with ``user``'s claims and the nonce sent),
    its keys and its UserInfo."""
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(issuer),
        token_url=TOKEN,
        keys_url=KEYS,
        token=token_answer(scope="openid email"),
        claims=user,
        userinfo_url=USERINFO,
        userinfo=user,
    )


google = functools.partial(mocked, Google)


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering(USER)
    result = await first_sign_in(mode, google, mock)
    user = result.provider_user
    assert (user.id, user.email, user.email_verified) == (USER["sub"], USER["email"], True)
    assert user.name == "Ada Lovelace"
    assert user.avatar_url == USER["picture"]
    sent = assert_client_auth(mock.last("POST", TOKEN), "basic")
    assert sent["code"] == "test-code"
    assert sent["redirect_uri"] == REDIRECT_URI
    assert len(sent["code_verifier"]) >= 43  # PKCE S256 reached the token request


async def test_the_other_documented_issuer_is_accepted(mode: str) -> None:
    mock = answering(USER, issuer="accounts.google.com")
    assert (await sign_in(mode, google(mock), mock=mock)).provider_user.id == USER["sub"]


@pytest.mark.parametrize("flag", [False, "true", 1])
async def test_an_unverified_address_stays_unverified(mode: str, flag: object) -> None:
    # Google documents email_verified as a boolean: the string "true" is not it.
    mock = answering({**USER, "email_verified": flag})
    await assert_signed_in_email(mode, google(mock), mock, USER["email"])


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USER, "email", "email_verified"))
    await assert_signed_in_email(mode, google(mock), mock, None)


async def test_an_id_token_of_another_issuer_is_refused(mode: str) -> None:
    mock = answering(USER, issuer="https://accounts.example")
    cause = await sign_in_fails(mode, google(mock), mock, IDTokenError)
    # Refused for its issuer, not for anything else the mock might have got wrong.
    assert cause.check == "iss"


async def test_a_refresh_for_a_user_refuses_an_id_token_naming_another(mode: str) -> None:
    # OIDC Core 12.2: a refreshed ID token must name the user of the sign-in; the
    # refresh checks it when told whose tokens these are (user_id).
    def refreshing(sub: str) -> Google:
        signer = IDTokenSigner("https://accounts.google.com")
        mock = ProviderMock()
        answer = token_answer(id_token=signer.id_token({**USER, "sub": sub}))
        mock.route("POST", TOKEN, json=answer)
        mock.route("GET", KEYS, json=signer.jwks())
        return google(mock)

    tokens = await refresh(mode, refreshing(USER["sub"]), user_id=USER["sub"])
    assert tokens.id_token_claims["sub"] == USER["sub"]
    with pytest.raises(IDTokenError) as caught:
        await refresh(mode, refreshing("someone-else"), user_id=USER["sub"])
    assert caught.value.check == "sub"
    # Without user_id the refresh cannot know the user: the new token is only verified.
    assert (await refresh(mode, refreshing("someone-else"))).id_token_claims["sub"]
