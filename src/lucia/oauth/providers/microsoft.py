"""Sign in with Microsoft: Microsoft Entra ID and personal Microsoft accounts, through the
Microsoft identity platform's v2.0 OpenID Connect endpoints.

The ``tenant`` says who may sign in (Microsoft's own values):

- ``common`` (the default): work or school accounts of any tenant, and personal accounts;
- ``organizations``: work or school accounts of any tenant;
- ``consumers``: personal Microsoft accounts only;
- a tenant id (a GUID, the *Directory (tenant) ID* of the app registration): that
  tenant's users (members and guests) only.

ID tokens are checked as Microsoft documents for these endpoints
(https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer):
the ``tid`` claim must be a GUID, the issuer exactly
``https://login.microsoftonline.com/{tid}/v2.0`` for that ``tid``, the ``tid`` one the
configured tenant admits, and the signing key one published for that issuer (each key
of Microsoft's key set names the issuer it signs for). A tenant's domain name
(``contoso.onmicrosoft.com``) is refused: its tokens carry the tenant's GUID, which
lucia could only learn by a discovery round trip; give the GUID.

The user's id is ``{tid}:{sub}``: Microsoft's ``sub`` is interpreted within its tenant
(and differs per app), so the tenant is part of the key, as Microsoft asks.

The email is Microsoft's ``email`` claim, which Microsoft does not verify: it is
``email_verified`` only when the token carries the optional claim ``xms_edov``
("email domain owner verified") as ``true``, which the app registration must ask for
(Token configuration, optional claims ``email`` and ``xms_edov``). Without it every
address is unverified. See docs/oauth/providers/microsoft.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

import httpx
from joserfc.jwk import Key

from lucia.oauth.client import json_response
from lucia.oauth.oidc import IDTokenError, IDTokenVerifier, JWKSCache, unverified_claims
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider

__all__ = ["CONSUMERS_TENANT_ID", "Microsoft"]

AUTHORITY = "https://login.microsoftonline.com"
#: The tenant of personal Microsoft accounts (Microsoft's ``consumers``).
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
# The tenants that admit users of more than one tenant (or of the consumers one).
_SHARED_TENANTS = frozenset({"common", "organizations", "consumers"})
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The placeholder of Microsoft's tenant-independent issuer, in its key set.
_TENANT_PLACEHOLDER = "{tenantid}"


def _issuer(tenant_id: str) -> str:
    return f"{AUTHORITY}/{tenant_id}/v2.0"


def _admits(tenant: str, tid: str) -> bool:
    """Whether the configured ``tenant`` admits a token of tenant ``tid`` (a GUID)."""
    if tenant == "common":
        return True
    if tenant == "organizations":
        return tid != CONSUMERS_TENANT_ID
    if tenant == "consumers":
        return tid == CONSUMERS_TENANT_ID
    return tid == tenant


def _claimed_tenant(id_token: str) -> str:
    """The ``tid`` the token claims, read before its signature is checked only to know
    which issuer to expect: the signed ``iss`` and ``tid`` are then checked against it."""
    tid = unverified_claims(id_token).get("tid")
    if not isinstance(tid, str) or not _GUID.fullmatch(tid):
        raise IDTokenError("iss", "the token's tenant (tid) is missing or not a GUID")
    return tid


def _checked_tenant(tenant: str | None) -> str | None:
    """``tenant`` as Microsoft's tokens name it (a GUID in lowercase); ``ValueError`` for a
    value whose tokens' issuer lucia cannot know (a domain name)."""
    if not isinstance(tenant, str):
        return tenant  # None: the default; anything else: the parameter check refuses it
    if _GUID.fullmatch(tenant.lower()):
        return tenant.lower()
    if tenant in _SHARED_TENANTS:
        return tenant
    raise ValueError(
        "tenant must be common, organizations, consumers or a tenant id (a GUID): "
        "a domain name cannot be checked against the tokens' issuer"
    )


class _TenantKeys(JWKSCache):
    """Microsoft's key set, remembering the issuer each key signs for (its ``issuer``
    member: a tenant's issuer, or the ``{tenantid}`` template for any tenant)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.key_issuers: dict[str, str] = {}

    def store(self, response: httpx.Response) -> None:
        super().store(response)
        data = json_response(response, what="the JWKS request")
        self.key_issuers = {
            entry["kid"]: entry["issuer"]
            for entry in data["keys"]
            if isinstance(entry, dict)
            and isinstance(entry.get("kid"), str)
            and isinstance(entry.get("issuer"), str)
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class _TenantVerifier(IDTokenVerifier):
    """Every check of ``IDTokenVerifier``, with the issuer of the token's own tenant, and
    Microsoft's: the tenant admitted, the key scoped to that issuer."""

    tenant: str

    def claims(self, id_token: str, key: Key, **checks: str | None) -> dict[str, Any]:
        tid = _claimed_tenant(id_token)
        if not _admits(self.tenant, tid):
            raise IDTokenError("iss", f"the token's tenant is not admitted by {self.tenant!r}")
        issuer = _issuer(tid)
        # Every standard check (signature, aud, exp, and the nonce, access token and code
        # in ``checks``) with exactly this issuer; the signed payload is the one tid was
        # read from, so tid is signed too.
        claims = IDTokenVerifier.claims(replace(self, issuers=(issuer,)), id_token, key, **checks)
        kid = self.header(id_token).get("kid")
        scope = (
            self.jwks.key_issuers.get(kid)
            if isinstance(self.jwks, _TenantKeys) and isinstance(kid, str)
            else None
        )
        if scope is not None and scope.replace(_TENANT_PLACEHOLDER, tid) != issuer:
            raise IDTokenError("iss", "the signing key is not published for this issuer")
        return claims


class Microsoft(OIDCSpecProvider):
    """Microsoft accounts: Entra ID (work or school) and personal, by ``tenant``
    (``common`` by default; see the module docstring). ``user.id`` is ``{tid}:{sub}``;
    ``email_verified`` only with the ``xms_edov`` optional claim. Ask for
    ``offline_access`` among the scopes to get a refresh token."""

    spec = catalog_spec("microsoft")

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        tenant: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            client_id, client_secret, redirect_uri, tenant=_checked_tenant(tenant), **options
        )
        # The same cache, remembering which issuer each key signs for.
        self.jwks = _TenantKeys(
            refetch_interval=self.jwks.refetch_interval,
            max_age=self.jwks.max_age,
            clock=self._clock,
        )

    def id_token_verifier(self) -> IDTokenVerifier:
        """The usual checks, with the issuer of the token's own tenant (see the module
        docstring)."""
        base = super().id_token_verifier()
        values = {item.name: getattr(base, item.name) for item in fields(base)}
        return _TenantVerifier(**values, tenant=self.parameters["tenant"])
