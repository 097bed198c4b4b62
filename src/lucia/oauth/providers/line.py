"""Sign in with LINE: LINE Login v2.1, OpenID Connect with PKCE and a nonce.

LINE signs the ID tokens of a web login with HS256, keyed by the channel secret
(the client secret), and those of its SDKs and LIFF apps with ES256 (keys at
``jwks_uri``), though its discovery document names only ES256: both are
accepted. The email is only in the ID token, and only for a channel granted the
email permission with the ``email`` scope; LINE does not say the address is
verified, so ``email_verified`` is always False. Revocation takes the token as
``access_token`` with the channel's id and secret.
"""

from __future__ import annotations

import httpx

from lucia.oauth.oidc import OIDCMetadata
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider

__all__ = ["Line"]


class Line(OIDCSpecProvider):
    """LINE accounts (``user.id`` is the ID token's ``sub``; ``email_verified`` is always
    False). ``client_id`` is the LINE Login channel ID, ``client_secret`` its secret."""

    spec = catalog_spec("line")

    def allowed_algorithms(self, metadata: OIDCMetadata) -> frozenset[str]:
        """HS256 (web login, the channel secret) and ES256 (SDKs, LIFF)."""
        return frozenset(self.spec.id_token_algorithms)

    def revocation_request(self, token: str) -> httpx.Request:
        """LINE's revocation: the token as ``access_token``, with the channel's id and
        secret in the body."""
        endpoint = self._known_metadata().revocation_endpoint
        assert endpoint is not None  # the spec has one
        return self.client.token_request(endpoint, {"access_token": token})
