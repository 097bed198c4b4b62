"""Sign in with X (formerly Twitter): OAuth 2.0 with PKCE S256, which X requires.

The user is ``GET https://api.x.com/2/users/me``, its fields under ``data``. X
gives no email unless the app asks for the ``users.email`` scope; then
``confirmed_email`` is requested too. X's pages name that field and the scope
but do not say what "confirmed" means, so ``email_verified`` stays False.
"""

from __future__ import annotations

import httpx

from lucia.oauth.client import OAuth2Tokens
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import SpecProvider

__all__ = ["X"]


class X(SpecProvider):
    """X (Twitter) accounts. ``user.id`` is X's numeric user id, as a string;
    ``username`` the handle (which its owner can change: never key on it). Add the
    ``offline.access`` scope for a refresh token, ``users.email`` for the address."""

    spec = catalog_spec("x")

    def userinfo_request(self, tokens: OAuth2Tokens) -> httpx.Request:
        """``users/me``, with ``confirmed_email`` among the fields when the token has the
        ``users.email`` scope (asking for it without the scope is not documented)."""
        request = super().userinfo_request(tokens)
        if "users.email" not in tokens.scopes:
            return request
        fields = self.spec.userinfo.query["user.fields"] + ",confirmed_email"
        url = request.url.copy_set_param("user.fields", fields)
        return httpx.Request(request.method, url, headers=request.headers)
