"""Sign in with Auth0: OpenID Connect against an Auth0 tenant, by its domain.

``domain`` is the tenant's domain (``example.us.auth0.com``) or its custom
domain (``login.example.com``): Auth0 serves the same endpoints on either and
names the one used in its ID tokens' ``iss``, ``https://{domain}/`` with its
trailing slash. The endpoints are those of Auth0's discovery document, built in
(no discovery round trip). The client authenticates in the form body
(``client_id`` and ``client_secret``, as Auth0's Authentication API documents
the token request), with PKCE, which Auth0 takes from confidential clients too.
``email_verified`` is Auth0's own claim. A refresh token needs the
``offline_access`` scope (and the API's "Allow Offline Access"); Auth0's
``/oauth/revoke`` revokes refresh tokens.
"""

from __future__ import annotations

from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Parameter, ProviderSpec

__all__ = ["Auth0"]


class Auth0(OIDCSpecProvider):
    """Users of one Auth0 tenant: ``Auth0(..., domain="example.us.auth0.com")``.
    ``user.id`` is Auth0's ``sub`` (``auth0|…``, ``google-oauth2|…``: the connection
    is part of it)."""

    spec = ProviderSpec(
        slug="auth0",
        name="Auth0",
        protocol="oidc",
        issuer="https://{domain}/",
        authorization_endpoint="https://{domain}/authorize",
        token_endpoint="https://{domain}/oauth/token",
        userinfo_endpoint="https://{domain}/userinfo",
        revocation_endpoint="https://{domain}/oauth/revoke",
        jwks_uri="https://{domain}/.well-known/jwks.json",
        parameters=(
            Parameter(
                "domain",
                "host",
                description="your Auth0 tenant's domain (example.us.auth0.com) "
                "or its custom domain",
                example="example.us.auth0.com",
            ),
        ),
        scopes=("openid", "email", "profile"),
        token_auth="client_secret_post",
        docs=(
            "https://auth0.com/docs/api/authentication/authorization-code-flow/get-token",
            "https://auth0.com/docs/api/authentication/user-profile/get-user-info",
            "https://auth0.com/docs/get-started/applications/credentials",
            "https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-sets",
            "https://auth0.com/docs/tokens/guides/revoke-refresh-tokens",
            "https://auth0.com/docs/customize/custom-domains/multiple-custom-domains/sdk-configuration",
        ),
    )
