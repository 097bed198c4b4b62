"""Sign in with Twitch: OpenID Connect (authorization code), no discovery round trip.

Twitch's quirks, handled here:

- the email claims come only when asked for with the OIDC ``claims`` parameter, and
  only with the ``user:read:email`` scope: lucia asks for ``email``,
  ``email_verified``, ``preferred_username`` and ``picture`` in the ID token;
- ``email_verified`` is Twitch's own claim ("true if Twitch has verified the user's
  email address"; Twitch sends no address while it is false);
- ``preferred_username`` is Twitch's *display name* (which may differ from the
  login, even in more than letter case): it is the user's ``name``, and there is no
  ``username``; the id is the ID token's ``sub``;
- only ``client_secret_post`` at the token endpoint; no PKCE; the token answer's
  ``scope`` is a JSON array, and its errors are ``{"status": 400, "message": ...}``
  (read as an ``OAuthResponseError``);
- revocation takes ``client_id`` and ``token`` only (no secret).
"""

from __future__ import annotations

import dataclasses

import httpx

from lucia.oauth.client import OAuth2Tokens, api_request
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import OIDCSpecProvider

__all__ = ["Twitch"]


class Twitch(OIDCSpecProvider):
    """Twitch accounts (``user.id`` is the ID token's ``sub``, Twitch's user id;
    ``email_verified`` is Twitch's claim). Keep ``user:read:email`` among the scopes
    for the email."""

    spec = catalog_spec("twitch")

    def read_tokens(self, response: httpx.Response, *, what: str) -> OAuth2Tokens:
        """RFC 6749's token answer, with Twitch's ``scope`` array read as the scopes."""
        tokens = super().read_tokens(response, what=what)
        scope = tokens.raw.get("scope")
        if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
            return dataclasses.replace(tokens, scopes=tuple(scope))
        return tokens

    def revocation_request(self, token: str) -> httpx.Request:
        """``POST /oauth2/revoke`` with ``client_id`` and ``token`` (Twitch takes no secret)."""
        endpoint = self.endpoints.revocation
        assert endpoint is not None  # the spec has one
        return api_request("POST", endpoint, data={"client_id": self.client_id, "token": token})
