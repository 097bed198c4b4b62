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

from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Endpoints

__all__ = ["Okta"]


class Okta(OIDCSpecProvider):
    """Okta users of one org: ``Okta(..., domain="dev-123456.okta.com")``, and
    ``authorization_server="default"`` for the default custom authorization server.
    ``user.id`` is Okta's ``sub``."""

    spec = catalog_spec("okta")

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
