"""Sign in with Dropbox: OAuth 2.0, the user from ``users/get_current_account``.

Dropbox's quirks, handled here:

- the user request is an RPC call: a POST with no body at all (a JSON content type
  with an empty body is refused), on ``api.dropboxapi.com``, where the token endpoint
  is too (Dropbox's HTTP documentation puts its RPC endpoints on that host);
- ``token_access_type=offline`` asks for a refresh token (access tokens are
  short-lived); a refresh answers a new access token only;
- revocation is ``/2/auth/token/revoke``, which revokes the access token it is
  called *with* (and the refresh token behind it), not RFC 7009;
- ``email_verified`` is Dropbox's own flag (its docs: "Do not rely on this [email]
  without checking the email_verified field").

PKCE S256 is sent together with the app secret (HTTP Basic), as RFC 9700 advises
for confidential clients. Dropbox documents PKCE for apps that cannot keep the
secret, and its SDKs send the verifier or the secret, never both; no Dropbox text
read for lucia says how ``/oauth2/token`` treats the pair (catalog.toml names the
sources).
"""

from __future__ import annotations

import httpx

from lucia.oauth.client import USER_AGENT
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import SpecProvider

__all__ = ["Dropbox"]


class Dropbox(SpecProvider):
    """Dropbox accounts (``user.id`` is the ``account_id``, ``dbid:...``)."""

    spec = catalog_spec("dropbox")

    def revocation_request(self, token: str) -> httpx.Request:
        """``POST /2/auth/token/revoke`` authorized by the access token to revoke (no body):
        Dropbox then disables it and the refresh token it came from."""
        assert self.endpoints.revocation is not None  # the spec has one
        headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        return httpx.Request("POST", self.endpoints.revocation, headers=headers)
