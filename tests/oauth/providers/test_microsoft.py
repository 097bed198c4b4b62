"""Sign in with Microsoft (Entra ID and personal accounts, v2.0 OpenID Connect), against
answers in Microsoft's documented shapes (never Microsoft).

Shapes: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
(the token answer and its errors, with ``error_codes``, ``trace_id``...),
https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference (the
ID token: ``tid``, ``sub``, ``oid``, ``preferred_username``...) and
https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
(the key set whose keys name their ``issuer``, ``{tenantid}`` for any tenant). ID tokens
are signed with a test key whose JWKS the mock serves.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

import pytest

from lucia.oauth import (
    OAuth2Tokens,
    OAuthUnsupportedError,
)
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers import Microsoft
from lucia.oauth.providers.microsoft import CONSUMERS_TENANT_ID
from tests.oauth.providers.harness import (
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
    refreshed,
    sign_in,
    sign_in_fails,
    without,
)

AUTHORITY = "https://login.microsoftonline.com"
WORK_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "82229342-1101-4ab6-817b-70c0747630f3"
ANY_TENANT = AUTHORITY + "/{tenantid}/v2.0"

fixture = functools.partial(load_fixture, "microsoft")

CLAIMS = fixture("id_token_claims")


def issuer(tid: str) -> str:
    return f"{AUTHORITY}/{tid}/v2.0"


def token_url(tenant: str = "common") -> str:
    return f"{AUTHORITY}/{tenant}/oauth2/v2.0/token"


def keys_url(tenant: str = "common") -> str:
    return f"{AUTHORITY}/{tenant}/discovery/v2.0/keys"


microsoft = functools.partial(mocked, Microsoft)


def answering(
    claims: dict[str, Any] | None = None,
    *,
    tenant: str = "common",
    key_issuer: str | None = ANY_TENANT,
    drop: tuple[str, ...] = (),
) -> ProviderMock:
    """Microsoft's token endpoint for ``tenant`` (an ID token with ``claims`` over the
    fixture's, less ``drop``; its ``iss`` that of its ``tid`` unless given; the nonce
    sent) and its key set, each key naming ``key_issuer``."""
    signer = IDTokenSigner(issuer(WORK_TENANT))
    wanted = without({**CLAIMS, **(claims or {})}, *drop)
    wanted.setdefault("iss", issuer(str(wanted.get("tid"))))
    mock = answer_oidc(
        ProviderMock(),
        signer,
        token_url=token_url(tenant),
        keys_url=keys_url(tenant),
        token=fixture("token"),
        claims=wanted,
    )
    if key_issuer is not None:
        jwks = {"keys": [{**key, "issuer": key_issuer} for key in signer.jwks()["keys"]]}
        mock.route("GET", keys_url(tenant), json=jwks)
    return mock


async def refused(mode: str, mock: ProviderMock, **options: Any) -> IDTokenError:
    return await sign_in_fails(mode, microsoft(mock, **options), mock, IDTokenError)


def test_authorization_url_on_the_common_tenant_with_pkce_and_a_nonce() -> None:
    assert_authorization_url(
        microsoft(ProviderMock()),
        f"{AUTHORITY}/common/oauth2/v2.0/authorize",
        scope="openid profile email",
    )


async def test_sign_in_through_the_flow(mode: str) -> None:
    mock = answering()
    result = await first_sign_in(mode, microsoft, mock)
    user = result.provider_user
    # Keyed on the tenant and the sub, as Microsoft asks.
    assert user.id == f"{WORK_TENANT}:{CLAIMS['sub']}"
    assert user.name == "Megan Bowen"
    assert user.username == "meganb@contoso.example"
    assert user.email == "meganb@contoso.example"
    # Microsoft's email claim is not verified, and no xms_edov said otherwise.
    assert user.email_verified is False
    assert assert_client_auth(mock.last("POST", token_url()), "post")["code_verifier"]
    # No UserInfo request: the ID token is the user.
    assert {str(r.url.copy_with(query=None)) for r in mock.requests} == {
        token_url(),
        keys_url(),
    }


async def test_xms_edov_true_makes_the_email_verified(mode: str) -> None:
    mock = answering({"xms_edov": True})
    user = (await sign_in(mode, microsoft(mock), mock=mock)).provider_user
    assert user.email_verified is True


@pytest.mark.parametrize("flag", [False, "true", 1])
async def test_anything_but_xms_edov_true_is_unverified(mode: str, flag: object) -> None:
    mock = answering({"xms_edov": flag})
    await assert_signed_in_email(mode, microsoft(mock), mock, "meganb@contoso.example")


async def test_without_an_email_claim_there_is_no_email(mode: str) -> None:
    mock = answering(drop=("email",))
    await assert_signed_in_email(mode, microsoft(mock), mock, None)


async def test_a_personal_account_signs_in_on_common(mode: str) -> None:
    mock = answering({"tid": CONSUMERS_TENANT_ID})
    user = (await sign_in(mode, microsoft(mock), mock=mock)).provider_user
    assert user.id == f"{CONSUMERS_TENANT_ID}:{CLAIMS['sub']}"


async def test_the_same_sub_in_two_tenants_is_two_users(mode: str) -> None:
    first = answering()
    second = answering({"tid": OTHER_TENANT})
    one = (await sign_in(mode, microsoft(first), mock=first)).provider_user
    two = (await sign_in(mode, microsoft(second), mock=second)).provider_user
    assert one.id != two.id


async def test_organizations_refuses_a_personal_account(mode: str) -> None:
    mock = answering({"tid": CONSUMERS_TENANT_ID}, tenant="organizations")
    assert (await refused(mode, mock, tenant="organizations")).check == "iss"


async def test_organizations_admits_any_work_tenant(mode: str) -> None:
    mock = answering({"tid": OTHER_TENANT}, tenant="organizations")
    user = (await sign_in(mode, microsoft(mock, tenant="organizations"), mock=mock)).provider_user
    assert user.id.startswith(OTHER_TENANT + ":")


async def test_consumers_refuses_a_work_account(mode: str) -> None:
    mock = answering(tenant="consumers")
    assert (await refused(mode, mock, tenant="consumers")).check == "iss"


async def test_a_tenant_id_admits_its_own_tenant_only(mode: str) -> None:
    mock = answering(tenant=WORK_TENANT, key_issuer=issuer(WORK_TENANT))
    ok = await sign_in(mode, microsoft(mock, tenant=WORK_TENANT), mock=mock)
    assert ok.provider_user.id.startswith(WORK_TENANT + ":")
    other = answering({"tid": OTHER_TENANT}, tenant=WORK_TENANT)
    assert (await refused(mode, other, tenant=WORK_TENANT)).check == "iss"


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": issuer(OTHER_TENANT)},  # another tenant's issuer for this tid
        {"iss": AUTHORITY + "/common/v2.0"},  # the template's tenant, not a real one
        {"iss": ANY_TENANT},
        {"iss": f"https://sts.windows.net/{WORK_TENANT}/"},  # the v1.0 issuer
        {"iss": "https://evil.example/" + WORK_TENANT + "/v2.0"},
        {"tid": "contoso.onmicrosoft.com", "iss": issuer("contoso.onmicrosoft.com")},
        {"tid": None, "iss": issuer(WORK_TENANT)},
    ],
)
async def test_a_wrong_issuer_or_tenant_is_refused(mode: str, claims: dict[str, Any]) -> None:
    mock = answering(claims)
    assert (await refused(mode, mock)).check == "iss"


async def test_a_key_published_for_another_issuer_is_refused(mode: str) -> None:
    # A key scoped to personal accounts cannot sign for a work tenant.
    mock = answering(key_issuer=issuer(CONSUMERS_TENANT_ID))
    assert (await refused(mode, mock)).check == "iss"


async def test_a_token_for_another_client_is_refused(mode: str) -> None:
    mock = answering({"aud": "someone-else"})
    assert (await refused(mode, mock)).check == "aud"


async def test_a_token_error_in_microsofts_shape_fails_the_sign_in(mode: str) -> None:
    await assert_token_error(mode, microsoft, answering(), token_url(), fixture("token_error"))


async def test_refresh(mode: str) -> None:
    answer = {**fixture("token"), "access_token": "new-access"}
    build = functools.partial(microsoft, scopes=["openid", "profile", "email", "offline_access"])
    tokens, request = await refreshed(mode, build, token_url(), answer)
    assert tokens.access_token == "new-access"
    assert tokens.refresh_token == fixture("token")["refresh_token"]
    assert_client_auth(request, "post")


async def test_a_refreshed_id_token_is_checked_against_its_tenant(mode: str) -> None:
    signer = IDTokenSigner(issuer(WORK_TENANT))
    mock = ProviderMock()
    mock.route("GET", keys_url("organizations"), json=signer.jwks())
    built = microsoft(mock, tenant="organizations")

    async def refreshed(claims: dict[str, Any]) -> OAuth2Tokens:
        answer = {**fixture("token"), "id_token": signer.id_token({**CLAIMS, **claims})}
        mock.route("POST", token_url("organizations"), json=answer)
        return await refresh(mode, built, "old-refresh")

    tokens = await refreshed({"iss": issuer(WORK_TENANT)})
    assert tokens.id_token_claims["tid"] == WORK_TENANT
    personal = {"tid": CONSUMERS_TENANT_ID, "iss": issuer(CONSUMERS_TENANT_ID)}
    with pytest.raises(IDTokenError):
        await refreshed(personal)


async def test_a_refresh_for_a_user_refuses_an_id_token_of_another(mode: str) -> None:
    # On common, any tenant's token verifies: only the user id ({tid}:{sub}) given to the
    # refresh tells that the new ID token is another tenant's user (OIDC Core 12.2).
    mock = ProviderMock()
    built = microsoft(mock)
    user_id = f"{WORK_TENANT}:{CLAIMS['sub']}"

    async def refreshed(tenant: str) -> OAuth2Tokens:
        signer = IDTokenSigner(issuer(tenant))
        mock.route("GET", keys_url("common"), json=signer.jwks())
        claims = {**CLAIMS, "tid": tenant, "iss": issuer(tenant)}
        answer = {**fixture("token"), "id_token": signer.id_token(claims)}
        mock.route("POST", token_url("common"), json=answer)
        return await refresh(mode, built, "old-refresh", user_id=user_id)

    assert (await refreshed(WORK_TENANT)).id_token_claims["tid"] == WORK_TENANT
    with pytest.raises(IDTokenError) as caught:
        await refreshed(OTHER_TENANT)
    assert caught.value.check == "sub"


def test_microsoft_has_no_revocation_endpoint() -> None:
    with pytest.raises(OAuthUnsupportedError):
        microsoft(ProviderMock()).revoke_token("a-token")


@pytest.mark.parametrize("tenant", ["contoso.onmicrosoft.com", "contoso.com"])
def test_a_domain_name_tenant_is_refused(tenant: str) -> None:
    with pytest.raises(ValueError, match="tenant") as caught:
        microsoft(ProviderMock(), tenant=tenant)
    assert tenant not in str(caught.value)


def test_a_tenant_id_in_capitals_is_the_same_tenant() -> None:
    built = microsoft(ProviderMock(), tenant=WORK_TENANT.upper())
    assert built.parameters["tenant"] == WORK_TENANT
    assert built.endpoints.authorization == f"{AUTHORITY}/{WORK_TENANT}/oauth2/v2.0/authorize"


def test_by_slug_with_a_tenant() -> None:
    built = assert_by_slug("microsoft", Microsoft, tenant="organizations")
    assert built.issuer == AUTHORITY + "/organizations/v2.0"


def test_a_payload_nested_too_deep_to_parse_is_refused_cleanly() -> None:
    # The tenant is read before the signature is checked: a payload deeper than
    # json.loads recurses must be a refused token, not a RecursionError.
    from lucia.oauth.providers.microsoft import _claimed_tenant

    payload = base64.urlsafe_b64encode(b"[" * 10_000).rstrip(b"=").decode()
    with pytest.raises(IDTokenError) as caught:
        _claimed_tenant(f"e30.{payload}.sig")
    assert caught.value.check == "format"
