"""Sign in with Naver (네이버 로그인): OAuth 2.0; the user from ``/v1/nid/me``.

Naver takes no scopes (the profile items are chosen in the app's console) and no
PKCE. Its token endpoint answers errors with HTTP 200 and an RFC 6749 error body
(read as errors all the same); its profile answer wraps the user in ``response``
beside a ``resultcode`` that is ``"00"`` on success. ``id`` is unique per app
(not the Naver login). Naver does not say the address is verified, so
``email_verified`` is always False. Revoking a token is the token endpoint's
``grant_type=delete``.
"""

from __future__ import annotations

from typing import Any

import httpx

from lucia.oauth.client import parse_json
from lucia.oauth.errors import OAuthProviderError
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.provider import SpecProvider

__all__ = ["Naver"]


class Naver(SpecProvider):
    """Naver accounts (``user.id`` is Naver's per-app id; ``email_verified`` is always False)."""

    spec = catalog_spec("naver")

    def read_json(self, response: httpx.Response, *, what: str) -> Any:
        """The JSON body; an answer whose ``resultcode`` is not ``"00"`` is Naver's error
        (``message`` says why), whatever its HTTP status (401 for a bad token)."""
        data = parse_json(response.content)
        code = data.get("resultcode") if isinstance(data, dict) else None
        if code is not None and code != "00":
            message = data.get("message") if isinstance(data, dict) else None
            raise OAuthProviderError(
                str(code),
                message if isinstance(message, str) else None,
                http_status=response.status_code,
            )
        return super().read_json(response, what=what)

    def revocation_request(self, token: str) -> httpx.Request:
        """Naver's token deletion: the token endpoint's ``grant_type=delete`` with the
        access token and the client's id and secret."""
        assert self.endpoints.revocation is not None  # the spec has one
        form = {"grant_type": "delete", "access_token": token, "service_provider": "NAVER"}
        return self.client.token_request(self.endpoints.revocation, form)

    def read_revocation(self, response: httpx.Response) -> None:
        """Naver answers ``{"result": "success"}`` (errors with HTTP 200 too)."""
        data = self.read_json(response, what="the Naver token deletion")
        if not isinstance(data, dict) or data.get("result") != "success":
            raise OAuthProviderError("error", "Naver did not delete the token")
