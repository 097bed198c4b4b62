"""Sign in with GitLab: gitlab.com by default, or a self-managed GitLab by ``base_url``.

GitLab is an OpenID Connect provider (doorkeeper-openid_connect), and lucia uses it so
rather than its OAuth 2.0 REST API (``/api/v4/user``): the user comes from a signed ID
token, and GitLab's OpenID claims carry ``email_verified`` for the address, which the
REST API's user has no flag for. The ID token holds ``sub``, ``email`` and
``email_verified``; the name, username and avatar come from ``/oauth/userinfo`` (whose
``sub`` must be the token's). The endpoints are those of GitLab's discovery document
(``{base_url}/.well-known/openid-configuration``), built in: no discovery round trip.
The issuer is the instance's URL (``https://gitlab.com``), so a self-managed GitLab's
tokens are checked against its own URL and keys.
"""

from __future__ import annotations

from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Parameter, ProviderSpec

__all__ = ["GitLab"]


class GitLab(OIDCSpecProvider):
    """GitLab users. ``user.id`` is GitLab's ``sub`` (the user's numeric id as a string);
    ``email_verified`` is GitLab's own flag. PKCE S256, refresh and revocation."""

    spec = ProviderSpec(
        slug="gitlab",
        name="GitLab",
        protocol="oidc",
        issuer="{base_url}",
        authorization_endpoint="{base_url}/oauth/authorize",
        token_endpoint="{base_url}/oauth/token",
        userinfo_endpoint="{base_url}/oauth/userinfo",
        revocation_endpoint="{base_url}/oauth/revoke",
        jwks_uri="{base_url}/oauth/discovery/keys",
        parameters=(
            Parameter(
                "base_url",
                "url",
                default="https://gitlab.com",
                description="the GitLab server: https://gitlab.com, or your GitLab's URL",
            ),
        ),
        scopes=("openid", "profile", "email"),
        # GitLab's discovery lists client_secret_basic and _post; its revocation is
        # documented with client_id and client_secret in the form.
        token_auth="client_secret_post",
        docs=(
            "https://docs.gitlab.com/integration/openid_connect_provider/",
            "https://docs.gitlab.com/api/oauth2/",
            "https://docs.gitlab.com/integration/oauth_provider/",
        ),
    )
