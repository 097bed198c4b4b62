"""Sign in with Keycloak: OpenID Connect against one realm of a Keycloak server.

``base_url`` is the server's URL as browsers reach it (``https://sso.example.com``;
``https://sso.example.com/auth`` for a server still under the ``/auth`` path of
Keycloak before version 17), ``realm`` the realm's name. The realm is the issuer,
``{base_url}/realms/{realm}``, and its endpoints are under
``/protocol/openid-connect/``, as Keycloak documents them (built in: no
discovery round trip). ``email_verified`` is the realm's own claim, the
standard OpenID one. The revocation endpoint takes refresh and access tokens.
"""

from __future__ import annotations

from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Parameter, ProviderSpec

__all__ = ["Keycloak"]

_REALM = "{base_url}/realms/{realm}"
_OIDC = f"{_REALM}/protocol/openid-connect"


class Keycloak(OIDCSpecProvider):
    """Users of one Keycloak realm:
    ``Keycloak(..., base_url="https://sso.example.com", realm="staff")``.
    ``user.id`` is the realm's ``sub``; give each of two realms its own ``name``."""

    spec = ProviderSpec(
        slug="keycloak",
        name="Keycloak",
        protocol="oidc",
        issuer=_REALM,
        authorization_endpoint=f"{_OIDC}/auth",
        token_endpoint=f"{_OIDC}/token",
        userinfo_endpoint=f"{_OIDC}/userinfo",
        revocation_endpoint=f"{_OIDC}/revoke",
        jwks_uri=f"{_OIDC}/certs",
        parameters=(
            Parameter(
                "base_url",
                "url",
                description="the Keycloak server's URL, as browsers reach it "
                "(https://sso.example.com)",
                example="https://sso.example.com",
            ),
            Parameter("realm", "token", description="the realm's name", example="staff"),
        ),
        scopes=("openid", "email", "profile"),
        docs=(
            "https://www.keycloak.org/securing-apps/oidc-layers",
            "https://openid.net/specs/openid-connect-core-1_0.html",
        ),
    )
