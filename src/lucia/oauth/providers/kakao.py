"""Sign in with Kakao: Kakao Login's REST API (OAuth 2.0 with PKCE); the user from
``/v2/user/me``.

``id`` is Kakao's service user id (a number). The profile and email sit under
``kakao_account``, each only when the user consented to that item. Kakao
documents two flags on the address: ``is_email_verified`` (verified when it was
registered) and ``is_email_valid`` (still the account's: an expired address can
be taken by another account), and says to check both before sending mail, so
``email_verified`` is True only when both are ``true``. Revoking a token is
Kakao's logout (``/v1/user/logout``), which expires the user's tokens.

PKCE S256 is sent: Kakao's authorization server checks a code challenge, as
Kakao's own SDKs use it (``loginWithKakaoAccount`` sends the challenge and then
the verifier with the code).

Kakao also offers OpenID Connect, which each app must turn on; the REST API
works for every app and carries both email flags, so lucia uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import httpx

from lucia.oauth.client import OAuth2Tokens, api_request
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.provider import SpecProvider
from lucia.oauth.providers.spec import json_path

__all__ = ["Kakao"]


class Kakao(SpecProvider):
    """Kakao accounts (``user.id`` is the service user id; ``email_verified`` needs
    both of Kakao's flags)."""

    spec = catalog_spec("kakao")

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The spec's user; the address verified only when it is also still valid."""
        user = super().parse_user(tokens, responses)
        if user.email_verified and json_path(user.raw, "kakao_account.is_email_valid") is not True:
            return dataclasses.replace(user, email_verified=False)
        return user

    def revocation_request(self, token: str) -> httpx.Request:
        """Kakao's logout: a POST with the access token as bearer, which expires the
        user's access and refresh tokens."""
        assert self.endpoints.revocation is not None  # the spec has one
        return api_request("POST", self.endpoints.revocation, bearer=token)

    def read_revocation(self, response: httpx.Response) -> None:
        """The logout answer names the user by Kakao's numeric id (``{"id": 123456789}``);
        anything else (no id, null, a string) is an error."""
        data = self.read_json(response, what="the Kakao logout request")
        # type() rather than isinstance: a JSON true is a Python int too.
        if not isinstance(data, dict) or type(data.get("id")) is not int:
            raise OAuthResponseError("the Kakao logout answer names no user")
