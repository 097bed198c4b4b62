"""Sign in with Google, against a local stand-in (never Google itself).

LocalOIDCProvider plays Google, answering with the shapes recorded in
fixtures/google_*.json (Google's discovery document, token answer, ID token
claims and UserInfo), and the Google provider is pointed at it through its
``metadata`` parameter. Sync and async alike.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lucia.oauth import generate_code_verifier, generate_nonce, generate_state
from lucia.oauth.oidc import OIDCMetadata
from lucia.oauth.providers.google import GOOGLE_ISSUER, GOOGLE_METADATA, Google
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock
from tests.oauth import test_oidc
from tests.oauth.test_oidc import Twin, refused, sign_in, sign_in_user

FIXTURES = Path(__file__).parent / "fixtures"
REDIRECT_URI = "http://app.test/login/google/callback"

asynchronous = test_oidc.asynchronous


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"google_{name}.json").read_text())


CLAIMS = fixture("id_token_claims")
CLIENT_ID = CLAIMS["aud"]


@pytest.fixture
def op(clock: Clock) -> Iterator[LocalOIDCProvider]:
    """A stand-in answering like Google: its token answer, ID token and UserInfo shapes."""
    live = {"iat", "exp", "nonce", "at_hash"}  # computed per sign-in by the stand-in
    with LocalOIDCProvider(
        client_id=CLIENT_ID,
        redirect_uris=[REDIRECT_URI],
        user=fixture("userinfo"),
        clock=clock,
    ) as server:
        server.id_token_claims = {k: v for k, v in CLAIMS.items() if k not in live}
        token = fixture("token")
        server.token_response_overrides = {
            k: v for k, v in token.items() if k not in ("access_token", "refresh_token", "id_token")
        }
        yield server


def google_metadata(op: LocalOIDCProvider) -> OIDCMetadata:
    return dataclasses.replace(
        GOOGLE_METADATA,
        authorization_endpoint=op.url("authorize"),
        token_endpoint=op.url("token"),
        userinfo_endpoint=op.url("userinfo"),
        revocation_endpoint=op.url("revocation"),
        jwks_uri=op.url("jwks"),
    )


def make_google(op: LocalOIDCProvider, clock: Clock, **kwargs: Any) -> Google:
    return Google(
        CLIENT_ID,
        op.client_secret,
        REDIRECT_URI,
        metadata=google_metadata(op),
        clock=clock,
        **kwargs,
    )


@pytest.fixture
async def twin(op: LocalOIDCProvider, clock: Clock, asynchronous: bool) -> AsyncIterator[Twin]:
    provider = make_google(op, clock)
    yield Twin(provider, asynchronous)
    await provider.aclose()


def test_built_in_metadata_matches_googles_discovery_document() -> None:
    assert OIDCMetadata.from_document(fixture("discovery"), issuer=GOOGLE_ISSUER) == GOOGLE_METADATA
    assert GOOGLE_METADATA.jwks_uri == "https://www.googleapis.com/oauth2/v3/certs"


def test_authorization_url_needs_no_discovery() -> None:
    google = Google(CLIENT_ID, "secret", REDIRECT_URI)
    state, verifier, nonce = generate_state(), generate_code_verifier(), generate_nonce()
    url = google.create_authorization_url(state, verifier, nonce=nonce)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "accounts.google.com",
        "/o/oauth2/v2/auth",
    )
    params = parse_qs(parts.query)
    assert params["scope"] == ["openid email profile"]
    assert params["code_challenge_method"] == ["S256"]
    assert params["nonce"] == [nonce]
    assert params["state"] == [state]
    assert "access_type" not in params
    assert "prompt" not in params
    assert google.name == "google"
    assert google.issuer == GOOGLE_ISSUER
    assert google.requires_iss_parameter is False
    assert google.uses_pkce
    assert google.uses_nonce


def test_offline_access_for_a_refresh_token() -> None:
    google = Google(CLIENT_ID, "secret", REDIRECT_URI, access_type="offline", prompt="consent")
    url = google.create_authorization_url(generate_state(), generate_code_verifier())
    params = parse_qs(urlsplit(url).query)
    assert params["access_type"] == ["offline"]
    assert params["prompt"] == ["consent"]


async def test_sign_in_with_google(twin: Twin, op: LocalOIDCProvider, clock: Clock) -> None:
    tokens, _ = await sign_in(twin, op)
    assert tokens.scopes == (
        "openid",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    )
    # The expiry is dated by the provider's (injected) clock, like the id_token checks.
    assert tokens.expires_at is not None
    left = tokens.expires_at - clock()
    assert timedelta(seconds=3590) < left <= timedelta(seconds=3599)
    assert tokens.id_token_claims["iss"] == GOOGLE_ISSUER
    user = await twin.call("get_user", tokens)
    assert user.id == "110169484474386276334"
    assert user.email == "jane.example@gmail.com"
    assert user.email_verified is True
    assert user.name == "Jane Example"
    assert user.username is None  # Google has no username
    assert user.avatar_url == CLAIMS["picture"]
    assert user.raw["given_name"] == "Jane"
    # The built-in endpoints: no discovery request, ever.
    assert op.requests == ["authorize", "token", "jwks", "userinfo"]


async def test_google_refresh_and_revoke(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, _ = await sign_in(twin, op)
    assert tokens.refresh_token is not None
    refreshed = await twin.call("refresh_access_token", tokens.refresh_token)
    assert refreshed.id_token_claims["sub"] == tokens.id_token_claims["sub"]
    await twin.call("revoke_token", tokens.refresh_token)
    assert op.count("revocation") == 1


async def test_sec32_google_documents_both_issuer_forms(twin: Twin, op: LocalOIDCProvider) -> None:
    op.id_token_claims["iss"] = "accounts.google.com"
    assert (await sign_in_user(twin, op)).id == CLAIMS["sub"]


@pytest.mark.parametrize(
    "iss",
    [
        "https://accounts.google.com/",
        "http://accounts.google.com",
        "https://accounts.google.com.evil.example",
        "accounts.google.co",
        "https://ACCOUNTS.google.com",
        "{stand-in}",
    ],
)
async def test_sec32_google_other_issuers_are_refused(
    twin: Twin, op: LocalOIDCProvider, iss: str
) -> None:
    op.id_token_claims["iss"] = op.issuer if iss == "{stand-in}" else iss
    await refused(twin, op, "iss")


async def test_sec38_unverified_google_email(twin: Twin, op: LocalOIDCProvider) -> None:
    op.user["email_verified"] = False
    op.id_token_claims["email_verified"] = False
    user = await sign_in_user(twin, op)
    assert user.email == "jane.example@gmail.com"
    assert user.email_verified is False


async def test_sec32_google_token_for_another_client(twin: Twin, op: LocalOIDCProvider) -> None:
    other = "999-other.apps.googleusercontent.com"
    op.id_token_claims.update(aud=other, azp=other)
    await refused(twin, op, "aud")


async def test_sec33_google_accepts_only_rs256(asynchronous: bool, clock: Clock) -> None:
    with LocalOIDCProvider(client_id=CLIENT_ID, signing_alg="ES256", clock=clock) as es:
        es.id_token_claims = {"iss": GOOGLE_ISSUER}
        provider = make_google(es, clock)
        await refused(Twin(provider, asynchronous), es, "alg")
        await provider.aclose()


def test_metadata_for_another_issuer_is_refused(op: LocalOIDCProvider) -> None:
    with pytest.raises(ValueError, match="issuer"):
        Google(
            CLIENT_ID,
            "s",
            REDIRECT_URI,
            metadata=dataclasses.replace(GOOGLE_METADATA, issuer=op.issuer),
        )
