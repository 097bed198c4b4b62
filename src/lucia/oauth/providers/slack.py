"""Sign in with Slack: OpenID Connect, with Slack's Web API conventions.

Slack's endpoints are built in (no discovery). Its Web API answers errors
with HTTP 200 and ``{"ok": false, "error": ...}``, at the token endpoint
(``openid.connect.token``) and at UserInfo (``openid.connect.userInfo``,
which Slack documents as a POST) and at ``auth.revoke``, the Web API method
that revokes the token it is called with. A Slack identity lives in a
workspace: ``user.id`` is ``"{team_id}:{user_id}"``, so the same user id in two
workspaces never names one lucia user. ``email_verified`` is Slack's own flag.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from lucia.oauth.client import OAuth2Tokens, api_request
from lucia.oauth.providers.provider import OIDCSpecProvider
from lucia.oauth.providers.spec import OIDC_USER_FIELDS, ProviderSpec

__all__ = ["Slack"]


class Slack(OIDCSpecProvider):
    """Slack users, per workspace (see the module docstring)."""

    spec = ProviderSpec(
        slug="slack",
        name="Slack",
        protocol="oidc",
        authorization_endpoint="https://slack.com/openid/connect/authorize",
        token_endpoint="https://slack.com/api/openid.connect.token",
        userinfo_endpoint="https://slack.com/api/openid.connect.userInfo",
        revocation_endpoint="https://slack.com/api/auth.revoke",
        issuer="https://slack.com",
        jwks_uri="https://slack.com/openid/connect/keys",
        scopes=("openid", "email", "profile"),
        pkce="none",
        token_auth="client_secret_post",
        # openid.connect.token takes grant_type=refresh_token (apps with token rotation).
        refresh=True,
        errors="ok_false",
        user=OIDC_USER_FIELDS,
        email="flag",
        # The user id is per workspace.
        id_scope_claim="https://slack.com/team_id",
        docs=(
            "https://docs.slack.dev/authentication/sign-in-with-slack/",
            "https://docs.slack.dev/reference/methods/openid.connect.token",
            "https://docs.slack.dev/reference/methods/openid.connect.userInfo",
            "https://docs.slack.dev/reference/methods/auth.revoke",
            "https://slack.com/.well-known/openid-configuration",
        ),
    )

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """``openid.connect.userInfo`` as Slack documents it: a POST with the token."""
        return tuple(
            httpx.Request("POST", request.url, headers=request.headers)
            for request in super().user_requests(tokens)
        )

    def revocation_request(self, token: str) -> httpx.Request:
        """``auth.revoke``: a POST that revokes the token it carries (not RFC 7009)."""
        assert self.endpoints.revocation is not None  # the spec has one
        return api_request("POST", self.endpoints.revocation, bearer=token)

    def read_revocation(self, response: httpx.Response) -> None:
        """``{"ok": true, "revoked": true}``; ``ok: false`` is Slack's error."""
        self.read_confirmation(response, what="the revocation request", field="revoked")
