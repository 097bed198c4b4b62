"""Sign in with X (formerly Twitter): OAuth 2.0 with PKCE S256, which X requires.

The user is ``GET https://api.x.com/2/users/me``, its fields under ``data``. X
gives no email unless the app asks for the ``users.email`` scope; then
``confirmed_email`` is requested too. X's pages name that field and the scope
but do not say what "confirmed" means, so ``email_verified`` stays False.
"""

from __future__ import annotations

import httpx

from lucia.oauth.client import OAuth2Tokens
from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import ProviderSpec, UserFields, UserInfoRequest

__all__ = ["X"]

_USER_FIELDS = "id,name,username,profile_image_url"


class X(SpecProvider):
    """X (Twitter) accounts. ``user.id`` is X's numeric user id, as a string;
    ``username`` the handle (which its owner can change: never key on it). Add the
    ``offline.access`` scope for a refresh token, ``users.email`` for the address."""

    spec = ProviderSpec(
        slug="x",
        name="X (Twitter)",
        authorization_endpoint="https://x.com/i/oauth2/authorize",
        token_endpoint="https://api.x.com/2/oauth2/token",
        revocation_endpoint="https://api.x.com/2/oauth2/revoke",
        userinfo_endpoint="https://api.x.com/2/users/me",
        # users/me needs both: X maps the endpoint to tweet.read and users.read.
        scopes=("users.read", "tweet.read"),
        pkce="S256",
        token_auth="client_secret_basic",
        userinfo=UserInfoRequest(query={"user.fields": _USER_FIELDS}),
        user=UserFields(
            root="data",
            id="id",
            email="confirmed_email",
            name="name",
            username="username",
            avatar_url="profile_image_url",
        ),
        email="unverified",
        docs=(
            "https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code",
            "https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token",
            "https://docs.x.com/x-api/users/get-my-user",
        ),
    )

    def userinfo_request(self, tokens: OAuth2Tokens) -> httpx.Request:
        """``users/me``, with ``confirmed_email`` among the fields when the token has the
        ``users.email`` scope (asking for it without the scope is not documented)."""
        request = super().userinfo_request(tokens)
        if "users.email" not in tokens.scopes:
            return request
        url = request.url.copy_set_param("user.fields", _USER_FIELDS + ",confirmed_email")
        return httpx.Request(request.method, url, headers=request.headers)
