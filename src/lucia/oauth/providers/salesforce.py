"""Sign in with Salesforce: OpenID Connect on the Salesforce Platform.

``domain`` is the login host: ``login.salesforce.com`` (production, the default),
``test.salesforce.com`` (sandboxes), or your org's My Domain
(``MyDomainName.my.salesforce.com``). Each host serves its own OpenID configuration,
whose issuer is that host's URL: ID tokens are checked against it and against the keys
at ``/id/keys``. The user is the ID token's, completed by UserInfo
(``/services/oauth2/userinfo``), whose ``email_verified`` is Salesforce's own flag (it
turns true once the user confirms the address: Salesforce's "Query for User
Information"). ``user.id`` is the ``sub``: Salesforce's identity URL
(``https://login.salesforce.com/id/{org id}/{user id}``).
"""

from __future__ import annotations

from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import Parameter, ProviderSpec

__all__ = ["Salesforce"]


class Salesforce(OIDCSpecProvider):
    """Salesforce users. A refresh token comes only when the connected app allows, and
    the sign-in asks for, the ``refresh_token`` (or ``offline_access``) scope."""

    spec = ProviderSpec(
        slug="salesforce",
        name="Salesforce",
        protocol="oidc",
        issuer="https://{domain}",
        authorization_endpoint="https://{domain}/services/oauth2/authorize",
        token_endpoint="https://{domain}/services/oauth2/token",
        userinfo_endpoint="https://{domain}/services/oauth2/userinfo",
        revocation_endpoint="https://{domain}/services/oauth2/revoke",
        jwks_uri="https://{domain}/id/keys",
        parameters=(
            Parameter(
                "domain",
                "host",
                default="login.salesforce.com",
                description=(
                    "the login host: login.salesforce.com, test.salesforce.com (sandboxes) "
                    "or your My Domain (MyDomainName.my.salesforce.com)"
                ),
            ),
        ),
        scopes=("openid", "email", "profile"),
        # Salesforce's web server flow sends the client's credentials in the form.
        token_auth="client_secret_post",
        docs=(
            "https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_web_server_flow_ca.htm&type=5",
            "https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_userinfo_endpoint.htm&type=5",
            "https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&type=5",
            "https://login.salesforce.com/.well-known/openid-configuration",
        ),
    )
