"""Sign in with VK ID (OAuth 2.1 at ``id.vk.ru``): PKCE S256, and the ``device_id``
the callback carries, which the code exchange must send back.

The host is ``id.vk.ru``: VK's own SDKs moved there in September 2025, their
changelogs saying that all API integrations and sign-ins are served from vk.ru
only. The PKCE method is spelled ``s256`` (the catalog's ``pkce = "s256"``), as
VK ID's API reference gives its one value and as VK's web, Android and iOS SDKs
send it (RFC 7636's ``S256``, the same method).

VK ID redirects to the callback with ``code``, ``state`` and ``device_id``; the
token request (``/oauth2/auth``) sends the PKCE verifier, ``device_id`` and the
state back, with the client id and no secret (the verifier proves the client,
as in VK's own SDK). The user comes from ``/oauth2/user_info`` (a POST taking
the token in its body), wrapped in ``user``; ``id`` is ``user_id``. VK ID does not
say that the address it returns is verified, so ``email_verified`` is always
False. Revoking a token is VK ID's logout (``/oauth2/logout``).

VK ID refreshes tokens only with the ``device_id`` of the sign-in, which
``refresh_access_token(refresh_token)`` does not have: lucia does not refresh VK
tokens. The legacy OAuth of ``oauth.vk.com`` is not used. See docs/oauth/providers/vk.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import ClassVar

import httpx

from lucia.oauth.client import OAuth2Tokens, api_request
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.provider import SpecProvider

__all__ = ["VK"]


class VK(SpecProvider):
    """VK ID accounts, VK's and those of OK and Mail.ru that sign in through it
    (``user.id`` is VK ID's ``user_id``; ``email_verified`` is always False).

    ``client_secret`` is not sent (pass None): the code exchange is proved by PKCE.
    Outside ``SignInFlow``, pass the callback's ``device_id`` (and ``state``) as
    ``validate_authorization_code(code, verifier, callback_fields={...})``.
    """

    callback_fields: ClassVar[tuple[str, ...]] = ("device_id", "state")

    spec = catalog_spec("vk")

    def callback_code_request(
        self, code: str, code_verifier: str | None, fields: Mapping[str, str]
    ) -> httpx.Request:
        """VK ID's code exchange: the PKCE verifier and the callback's ``device_id``
        (and ``state``) sent back; ``OAuthResponseError`` when the callback had no
        ``device_id``."""
        device_id = fields.get("device_id")
        if not device_id:
            raise OAuthResponseError("the VK ID callback carries no device_id")
        form = {"grant_type": "authorization_code", "code": code, "device_id": device_id}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        if self.client.redirect_uri is not None:
            form["redirect_uri"] = self.client.redirect_uri
        state = fields.get("state")
        if state:
            form["state"] = state
        return self.client.token_request(self.client.token_endpoint, form)

    def code_request(self, code: str, code_verifier: str | None) -> httpx.Request:
        """Always refused: VK ID's code exchange needs the callback's ``device_id``
        (``callback_code_request``)."""
        raise OAuthResponseError("the VK ID code exchange needs the callback's device_id")

    def userinfo_request(self, tokens: OAuth2Tokens) -> httpx.Request:
        """VK ID's ``/oauth2/user_info``: a POST with the client id and the token in its
        body (never in the URL)."""
        assert self.endpoints.userinfo is not None  # the spec has one
        form = {"client_id": self.client.client_id, "access_token": tokens.access_token}
        return api_request("POST", self.endpoints.userinfo, data=form)

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The spec's user, named by first and last name together."""
        user = super().parse_user(tokens, responses)
        parts = (user.raw.get("first_name"), user.raw.get("last_name"))
        name = " ".join(part for part in parts if isinstance(part, str) and part)
        return dataclasses.replace(user, name=name or None)

    def revocation_request(self, token: str) -> httpx.Request:
        """VK ID's logout: the access token and the client id in the body."""
        assert self.endpoints.revocation is not None  # the spec has one
        form = {"client_id": self.client.client_id, "access_token": token}
        return api_request("POST", self.endpoints.revocation, data=form)

    def read_revocation(self, response: httpx.Response) -> None:
        """VK ID answers ``{"response": 1}``; an error body is the provider's error."""
        self.read_confirmation(response, what="the VK ID logout request", field="response", value=1)
