"""Sign in with Okta: OpenID Connect against an Okta org, by its domain.

Every Okta org has an *org authorization server* (issuer ``https://{domain}``,
endpoints under ``/oauth2/v1/``); orgs with API Access Management also have
*custom authorization servers*, ``default`` among them (issuer
``https://{domain}/oauth2/{authorization_server}``, endpoints under it at
``/v1/``). ``domain`` is the org's Okta domain or its custom domain;
``authorization_server`` picks a custom server (the org server without it).
The endpoints are those of Okta's discovery documents, built in (no discovery
round trip). ``email_verified`` is Okta's own claim. A refresh token needs the
``offline_access`` scope and the app's Refresh Token grant.
"""

from __future__ import annotations

import dataclasses

from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Endpoints, Parameter, ProviderSpec

__all__ = ["Okta"]

_ORG_SERVER = "https://{domain}/oauth2/v1"


class Okta(OIDCSpecProvider):
    """Okta users of one org: ``Okta(..., domain="dev-123456.okta.com")``, and
    ``authorization_server="default"`` for the default custom authorization server.
    ``user.id`` is Okta's ``sub``."""

    spec = ProviderSpec(
        slug="okta",
        name="Okta",
        protocol="oidc",
        # The org authorization server's; resolve_endpoints moves them under a
        # custom authorization server when one is given.
        issuer="https://{domain}",
        authorization_endpoint=f"{_ORG_SERVER}/authorize",
        token_endpoint=f"{_ORG_SERVER}/token",
        userinfo_endpoint=f"{_ORG_SERVER}/userinfo",
        revocation_endpoint=f"{_ORG_SERVER}/revoke",
        jwks_uri=f"{_ORG_SERVER}/keys",
        parameters=(
            Parameter(
                "domain",
                "host",
                description="your Okta domain (dev-123456.okta.com) or the org's custom domain",
                example="dev-123456.okta.com",
            ),
            Parameter(
                "authorization_server",
                "token",
                optional=True,
                description="a custom authorization server's id, such as default "
                "(the org authorization server without it)",
                example="default",
            ),
        ),
        scopes=("openid", "email", "profile"),
        docs=(
            "https://developer.okta.com/docs/concepts/auth-servers/",
            "https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/OrgAS/",
            "https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS/",
            "https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/orgas/revoke",
        ),
    )

    def resolve_endpoints(self) -> Endpoints:
        """The org authorization server's endpoints, or, with ``authorization_server``,
        that custom server's: the same endpoints under ``/oauth2/{id}/v1/``, its
        issuer ``https://{domain}/oauth2/{id}``."""
        endpoints = super().resolve_endpoints()
        server = self.parameters.get("authorization_server")
        if server is None:
            return endpoints
        # Both values were checked: a host, and a plain word (no "/", "?" or "#").
        org = f"https://{self.parameters['domain']}/oauth2"
        custom = f"{org}/{server}"

        moved = endpoints.moved(lambda url: custom + url.removeprefix(org))
        return dataclasses.replace(moved, issuer=custom)
