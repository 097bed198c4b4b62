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
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider

__all__ = ["Slack"]


class Slack(OIDCSpecProvider):
    """Slack users, per workspace (see the module docstring)."""

    spec = catalog_spec("slack")

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
