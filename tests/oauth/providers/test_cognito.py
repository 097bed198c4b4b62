"""Sign in with Amazon Cognito (OpenID Connect), against answers in Cognito's
documented shapes (never AWS).

Shapes: the user pool endpoints' reference
(https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html,
userinfo-endpoint.html, revocation-endpoint.html) and the ID token's
(amazon-cognito-user-pools-using-the-id-token.html). Two hosts: the pool's domain
serves /oauth2/*, the issuer https://cognito-idp.{region}.amazonaws.com/{pool}
signs the ID tokens (a test key here, its JWKS served by the mock).
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.cognito import Cognito
from tests.oauth.providers.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    IDTokenSigner,
    ProviderMock,
    answer_oidc,
    assert_authorization_url,
    assert_by_slug,
    assert_client_auth,
    assert_signed_in_email,
    assert_token_error,
    first_sign_in,
    load_fixture,
    mocked,
    refresh,
    revoke,
    sign_in,
    sign_in_fails,
    without,
)

DOMAIN = "example.auth.eu-west-1.amazoncognito.com"
POOL = "eu-west-1_AbCdEf123"
OAUTH = f"https://{DOMAIN}/oauth2"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
KEYS = f"{ISSUER}/.well-known/jwks.json"

fixture = functools.partial(load_fixture, "cognito")

USERINFO_ANSWER = fixture("userinfo")
SUB = USERINFO_ANSWER["sub"]


cognito = functools.partial(mocked, Cognito, domain=DOMAIN, region="eu-west-1", user_pool_id=POOL)


def answering(
    userinfo: dict[str, Any] | None = None, *, issuer: str = ISSUER, **claims: Any
) -> ProviderMock:
    """The pool's answers: the token answer with an ID token by ``issuer`` (with
    ``claims``, echoing the nonce sent), the keys at the issuer, UserInfo at the domain."""
    info = USERINFO_ANSWER if userinfo is None else userinfo
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(issuer),
        token_url=f"{OAUTH}/token",
        keys_url=KEYS,
        token=fixture("token"),
        claims={"sub": info["sub"], "token_use": "id", **claims},
        userinfo_url=f"{OAUTH}/userInfo",
        userinfo=info,
    )


def test_authorization_url_on_the_pools_domain() -> None:
    assert_authorization_url(
        cognito(ProviderMock()), f"{OAUTH}/authorize", scope="openid email profile"
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, cognito, mock)
    user = result.provider_user
    assert user.id == SUB
    assert user.email == "janedoe@example.com"
    # UserInfo's "true" is a string.
    assert user.email_verified is True
    assert user.name == "Jane Doe"
    assert user.username == "j.doe"
    assert assert_client_auth(mock.last("POST", f"{OAUTH}/token"), "basic")["code_verifier"]


@pytest.mark.parametrize("flag", ["false", "False", "", "yes", False, None])
async def test_an_email_not_said_verified_is_not(mode: str, flag: Any) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": flag})
    await assert_signed_in_email(mode, cognito(mock), mock, "janedoe@example.com")


async def test_the_id_tokens_boolean_flag_when_userinfo_has_no_email(mode: str) -> None:
    info = {"sub": SUB, "username": "janedoe"}
    mock = answering(
        info, email="janedoe@example.com", email_verified=True, **{"cognito:username": "janedoe"}
    )
    user = (await sign_in(mode, cognito(mock), mock=mock)).provider_user
    assert user.email == "janedoe@example.com"
    assert user.email_verified is True
    assert user.username == "janedoe"


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USERINFO_ANSWER, "email", "email_verified"))
    user = (
        await sign_in(mode, cognito(mock, scopes=["openid", "profile"]), mock=mock)
    ).provider_user
    assert user.email is None
    assert user.email_verified is False


@pytest.mark.parametrize(
    "issuer",
    [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other",  # another pool
        f"https://{DOMAIN}",  # the domain is not the issuer
    ],
)
async def test_an_id_token_from_another_issuer_is_refused(mode: str, issuer: str) -> None:
    mock = answering(issuer=issuer)
    await sign_in_fails(mode, cognito(mock), mock, IDTokenError)


async def test_a_token_error_in_cognitos_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, cognito, answering(), f"{OAUTH}/token", fixture("token_error"))


async def test_refresh_answers_a_new_access_and_id_token(mode: str) -> None:
    mock = ProviderMock()
    signer = IDTokenSigner(ISSUER)
    id_token = signer.id_token({"sub": SUB, "token_use": "id"})
    mock.route("POST", f"{OAUTH}/token", json={**fixture("refresh"), "id_token": id_token})
    mock.route("GET", KEYS, json=signer.jwks())
    built = cognito(mock)
    tokens = await refresh(mode, built, "dn43ud8uj32nk2je")
    assert tokens.access_token == "dmcxd329ujdmkemkd349r"
    assert tokens.refresh_token is None  # Cognito keeps the refresh token as it was
    sent = assert_client_auth(mock.last("POST", f"{OAUTH}/token"), "basic")
    assert sent == {"grant_type": "refresh_token", "refresh_token": "dn43ud8uj32nk2je"}

    other = IDTokenSigner("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
    forged = {**fixture("refresh"), "id_token": other.id_token({"sub": SUB})}
    mock.route("POST", f"{OAUTH}/token", json=forged)
    with pytest.raises(IDTokenError):
        await refresh(mode, built, "dn43ud8uj32nk2je")


async def test_revoking_a_refresh_token(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{OAUTH}/revoke", httpx.Response(200))
    built = cognito(mock)
    await revoke(mode, built, "dn43ud8uj32nk2je")
    sent = assert_client_auth(mock.last("POST", f"{OAUTH}/revoke"), "basic")
    assert sent == {"token": "dn43ud8uj32nk2je"}

    # Cognito revokes refresh tokens only.
    mock.route("POST", f"{OAUTH}/revoke", status=400, json=fixture("revoke_error"))
    with pytest.raises(OAuthProviderError, match="unsupported_token_type"):
        built.revoke_token("an-access-token")


def test_by_slug_with_a_custom_domain() -> None:
    built = assert_by_slug(
        "cognito",
        Cognito,
        domain="auth.example.com",
        region="us-east-1",
        user_pool_id="us-east-1_Example",
    )
    assert built.create_authorization_url("s").startswith("https://auth.example.com/oauth2/")
    assert built.metadata is not None
    assert built.metadata.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
    assert built.metadata.jwks_uri == (
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json"
    )


@pytest.mark.parametrize(
    ("region", "pool"),
    [
        # A dotted region moves the issuer and its keys to another amazonaws.com service:
        # https://cognito-idp.s3.amazonaws.com/... is an S3 bucket anyone may name so.
        ("s3", "s3_AbCdEf123"),
        ("s3.us-east-1", "us-east-1_AbCdEf123"),
        ("eu-west-1.example", "eu-west-1_AbCdEf123"),
        ("EU-WEST-1", "EU-WEST-1_AbCdEf123"),
    ],
)
def test_a_region_that_is_not_an_aws_region_is_refused(region: str, pool: str) -> None:
    with pytest.raises(ValueError, match=r"^region"):
        Cognito(
            CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, domain=DOMAIN, region=region, user_pool_id=pool
        )


@pytest.mark.parametrize(
    "pool",
    ["..", "eu-west-1_..", "eu-west-1_a.b", "us-east-1_AbCdEf123", "AbCdEf123", "eu-west-1_"],
)
def test_a_user_pool_id_not_of_its_region_is_refused(pool: str) -> None:
    # ".." would move the issuer and keys out of the pool's path; a pool id is
    # "{region}_{id}" (the issuer's host is the region's).
    with pytest.raises(ValueError, match="user_pool_id"):
        Cognito(
            CLIENT_ID,
            CLIENT_SECRET,
            REDIRECT_URI,
            domain=DOMAIN,
            region="eu-west-1",
            user_pool_id=pool,
        )


@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1", "ap-southeast-2"])
def test_every_kind_of_aws_region_is_accepted(region: str) -> None:
    built = Cognito(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
        domain=DOMAIN,
        region=region,
        user_pool_id=f"{region}_AbCdEf123",
    )
    assert built.issuer == f"https://cognito-idp.{region}.amazonaws.com/{region}_AbCdEf123"
