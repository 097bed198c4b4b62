"""Facebook Login: OAuth 2.0 against a versioned Graph API.

Every URL carries the Graph API version (``version``, ``v27.0`` by default:
the newest when this was checked, released 2026-11-04). Scopes are separated
by commas. Every Graph call carries ``appsecret_proof``, the HMAC-SHA256 of
the access token keyed by the app secret, so a stolen token is useless
without the secret. Facebook documents it as a parameter of each call, so the
URLs of ``GET /me`` and ``DELETE /me/permissions`` carry it; httpx's log line
for each request shows it as ``[redacted]`` (``lucia.oauth._redact``).
Facebook's errors are ``{"error": {"message", "type", "code"}}`` objects, not
RFC 6749's. The User reference documents ``email`` as the primary address on
the profile, absent when there is no valid one, with no flag saying it was
verified: ``email_verified`` is always False. Revoking a token removes the
app's permissions for the user (``DELETE /me/permissions``).
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from lucia.oauth.client import OAuth2Tokens, api_request
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import SpecProvider

__all__ = ["Facebook"]


class Facebook(SpecProvider):
    """Facebook users. ``user.id`` is the app-scoped user id (another app sees
    another id for the same person); ``avatar_url`` the profile picture."""

    spec = catalog_spec("facebook")

    def appsecret_proof(self, access_token: str) -> str:
        """HMAC-SHA256 of ``access_token`` keyed by the app secret, in hex."""
        secret = (self._client_secret or "").encode()
        return hmac.new(secret, access_token.encode(), hashlib.sha256).hexdigest()

    def userinfo_request(self, tokens: OAuth2Tokens) -> httpx.Request:
        """``/me`` with the fields and ``appsecret_proof``."""
        request = super().userinfo_request(tokens)
        proof = self.appsecret_proof(tokens.access_token)
        url = request.url.copy_add_param("appsecret_proof", proof)
        return httpx.Request(request.method, url, headers=request.headers)

    def revocation_request(self, token: str) -> httpx.Request:
        """``DELETE /me/permissions``: the user's grant to the app, and its tokens, go."""
        assert self.endpoints.revocation is not None  # the spec has one
        proof = {"appsecret_proof": self.appsecret_proof(token)}
        return api_request("DELETE", self.endpoints.revocation, bearer=token, params=proof)

    def read_revocation(self, response: httpx.Response) -> None:
        """``{"success": true}``; else Facebook's error."""
        self.read_confirmation(response, what="the revocation request", field="success")
