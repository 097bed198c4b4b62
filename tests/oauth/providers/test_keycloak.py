"""Sign in with Keycloak (OpenID Connect), against answers in the shapes Keycloak
documents (never a Keycloak server).

Endpoints: https://www.keycloak.org/securing-apps/oidc-layers (the realm's
``/protocol/openid-connect/`` auth, token, userinfo, revoke and certs). The token
answer and UserInfo are standard OIDC (RFC 6749 §5.1 with an ID token, OIDC Core
5.3.2), with Keycloak's own extra members; errors are RFC 6749 §5.2. The ID token
is signed with a test key whose JWKS the mock serves at ``/certs``.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from lucia.oauth import OAuthProviderError
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers import Keycloak
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

BASE_URL = "https://sso.example.com"
REALM = f"{BASE_URL}/realms/staff"
OIDC = f"{REALM}/protocol/openid-connect"

fixture = functools.partial(load_fixture, "keycloak")

USERINFO_ANSWER = fixture("userinfo")


keycloak = functools.partial(mocked, Keycloak, base_url=BASE_URL, realm="staff")


def answering(
    userinfo: dict[str, Any] | None = None, *, realm: str = REALM, issuer: str | None = None
) -> ProviderMock:
    """The realm's answers: the token answer with an ID token by ``issuer`` (the
    realm) echoing the nonce sent, the realm's keys and UserInfo."""
    info = USERINFO_ANSWER if userinfo is None else userinfo
    oidc = f"{realm}/protocol/openid-connect"
    return answer_oidc(
        ProviderMock(),
        IDTokenSigner(realm if issuer is None else issuer),
        token_url=f"{oidc}/token",
        keys_url=f"{oidc}/certs",
        token=fixture("token"),
        claims={"sub": info["sub"]},
        userinfo_url=f"{oidc}/userinfo",
        userinfo=info,
    )


def test_authorization_url_on_the_realm() -> None:
    assert_authorization_url(keycloak(ProviderMock()), f"{OIDC}/auth", scope="openid email profile")


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, keycloak, mock)
    user = result.provider_user
    assert user.id == USERINFO_ANSWER["sub"]
    assert user.email == "ada@example.com"
    assert user.email_verified is True
    assert user.name == "Ada Lovelace"
    assert user.username == "ada"
    assert assert_client_auth(mock.last("POST", f"{OIDC}/token"), "basic")["code_verifier"]


async def test_a_server_under_a_path(mode: str) -> None:
    # Keycloak before version 17 (or behind a proxy) serves realms under /auth.
    base_url = "https://sso.example.com/auth/"
    realm = "https://sso.example.com/auth/realms/staff"
    mock = answering(realm=realm)
    built = keycloak(mock, base_url=base_url)
    assert built.create_authorization_url("s").startswith(f"{realm}/protocol/openid-connect/auth?")
    assert built.metadata is not None
    assert built.metadata.issuer == realm
    result = await sign_in(mode, built, mock=mock)
    assert result.provider_user.id == USERINFO_ANSWER["sub"]


@pytest.mark.parametrize(
    "issuer",
    ["https://sso.example.com/realms/other", "https://sso.example.com/realms/staff/"],
)
async def test_an_id_token_from_another_issuer_is_refused(mode: str, issuer: str) -> None:
    mock = answering(issuer=issuer)
    await sign_in_fails(mode, keycloak(mock), mock, IDTokenError)


async def test_an_unverified_email_is_never_verified(mode: str) -> None:
    mock = answering({**USERINFO_ANSWER, "email_verified": False})
    await assert_signed_in_email(mode, keycloak(mock), mock, "ada@example.com")


async def test_without_the_email_scope_there_is_no_email(mode: str) -> None:
    mock = answering(without(USERINFO_ANSWER, "email", "email_verified"))
    built = keycloak(mock, scopes=["openid", "profile"])
    await assert_signed_in_email(mode, built, mock, None)


async def test_a_token_error_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, keycloak, answering(), f"{OIDC}/token", fixture("token_error"))


async def test_refresh_validates_the_new_id_token(mode: str) -> None:
    mock = ProviderMock()
    signer = IDTokenSigner(REALM)
    id_token = signer.id_token({"sub": USERINFO_ANSWER["sub"]})
    answer = {**fixture("token"), "access_token": "at-2", "id_token": id_token}
    mock.route("POST", f"{OIDC}/token", json=answer)
    mock.route("GET", f"{OIDC}/certs", json=signer.jwks())
    built = keycloak(mock)
    tokens = await refresh(mode, built, "old-refresh")
    assert tokens.access_token == "at-2"
    assert assert_client_auth(mock.last("POST", f"{OIDC}/token"), "basic") == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }

    # A refreshed ID token from another realm is refused like a first one.
    other = IDTokenSigner("https://sso.example.com/realms/other")
    forged = {**answer, "id_token": other.id_token({"sub": USERINFO_ANSWER["sub"]})}
    mock.route("POST", f"{OIDC}/token", json=forged)
    with pytest.raises(IDTokenError):
        await refresh(mode, built, "old-refresh")


async def test_revocation(mode: str) -> None:
    mock = ProviderMock()
    mock.route("POST", f"{OIDC}/revoke", httpx.Response(200))
    built = keycloak(mock)
    await revoke(mode, built, "a-token")
    assert assert_client_auth(mock.last("POST", f"{OIDC}/revoke"), "basic") == {"token": "a-token"}

    mock.route("POST", f"{OIDC}/revoke", status=401, json=fixture("revoke_error"))
    with pytest.raises(OAuthProviderError, match="unauthorized_client"):
        built.revoke_token("a-token")


def test_by_slug_with_its_server_and_realm() -> None:
    built = assert_by_slug("keycloak", Keycloak, base_url=BASE_URL, realm="staff")
    assert built.metadata is not None
    assert built.metadata.jwks_uri == f"{OIDC}/certs"
    assert built.metadata.revocation_endpoint == f"{OIDC}/revoke"


@pytest.mark.parametrize("realm", ["..", "."])
def test_a_dot_segment_realm_is_refused(realm: str) -> None:
    # ".." would move every endpoint and the issuer out of /realms/ (httpx and browsers
    # resolve dot segments): https://sso.example.com/realms/../protocol/...
    with pytest.raises(ValueError, match="realm"):
        Keycloak(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, base_url=BASE_URL, realm=realm)


@pytest.mark.parametrize(
    "base_url",
    [
        # A browser reads the host as evil.example (a backslash is a slash to it) ...
        "https://evil.example\\.sso.example.com",
        # ... or drops the newline or tab, and httpx refuses it.
        "https://sso.example.com\n.evil.example",
        "https://sso.example.com\t",
        "https://sso.example.com/a b",
        "https://evil.example%40sso.example.com",
        # Dot segments, plain or encoded, leave the configured path.
        "https://sso.example.com/auth/..",
        "https://sso.example.com/./auth",
        "https://sso.example.com/%2e%2e",
        "https://sso.example.com/auth\\",
    ],
)
def test_a_base_url_whose_host_or_path_parsers_disagree_on_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Keycloak(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, base_url=base_url, realm="staff")


@pytest.mark.parametrize(
    "base_url", ["https://sso.example.com/auth", "http://localhost:8080", "http://[::1]:8080"]
)
def test_a_plain_base_url_is_accepted(base_url: str) -> None:
    built = Keycloak(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, base_url=base_url, realm="staff")
    assert built.issuer == f"{base_url}/realms/staff"
