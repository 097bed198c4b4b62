"""What every provider offers, sync and async, written once.

A provider subclass supplies flows (``_validate_authorization_code``,
``_get_user``, ...) and this base class runs them with an ``httpx.Client`` or an
``httpx.AsyncClient``: a caller's own, or one the provider makes (``timeout``
seconds, 10 by default; no redirects followed) and closes with ``close()`` /
``aclose()``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import httpx

from lucia.oauth.client import (
    DEFAULT_TIMEOUT,
    HTTPFlow,
    OAuth2Client,
    OAuth2Tokens,
    arun_flow,
    as_timeout,
    run_flow,
)

__all__ = ["OAuthProvider", "ProviderUser"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProviderUser:
    """The provider's user, normalised.

    ``id`` is the provider's stable, immutable identifier (GitHub's numeric id,
    OpenID Connect's ``sub``): key users on it, never on the email or username,
    which the user can change. ``email_verified`` is True only when the provider
    says the address is verified. ``raw`` is what the provider sent.
    """

    id: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    username: str | None = None
    avatar_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


class OAuthProvider(abc.ABC):
    """Base class of the providers (GitHub, Google, OpenIDConnect, ...).

    ``name`` is the key's ``provider_id`` (users are keyed on ``(name, user.id)``);
    ``issuer`` identifies the authorization server for RFC 9207's ``iss`` check
    (None when the provider has no issuer identifier). ``uses_pkce`` and
    ``uses_nonce`` tell the sign-in flow what to send.

    ``timeout`` (seconds, or an ``httpx.Timeout``; 10 s by default) bounds every
    network wait of the HTTP clients the provider makes: a provider that hangs
    fails the call with ``OAuthTransportError`` ("did not answer in time") after
    about that long, and the sign-in flow with ``ProviderFailedError`` (502).
    Clients passed in as ``http_client`` / ``async_http_client`` keep their own.
    """

    name: str = "oauth"
    issuer: str | None = None
    uses_pkce: ClassVar[bool] = True
    uses_nonce: ClassVar[bool] = False
    default_scopes: tuple[str, ...] = ()
    # RFC 9207: when True, a callback without ``iss`` is refused.
    requires_iss_parameter: bool = False

    client: OAuth2Client

    def __init__(
        self,
        client: OAuth2Client | None,
        *,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        # None: a subclass builds its client later (OpenID Connect, after discovery).
        if client is not None:
            self.client = client
        # The limit of the clients this provider makes; a client passed in keeps its own.
        self.timeout = as_timeout(timeout)
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._own_http_client: httpx.Client | None = None
        self._own_async_http_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, client_id={self.client.client_id!r})"

    # HTTP clients

    def _http(self) -> httpx.Client:
        if self._http_client is not None:
            return self._http_client
        if self._own_http_client is None:
            self._own_http_client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._own_http_client

    def _ahttp(self) -> httpx.AsyncClient:
        if self._async_http_client is not None:
            return self._async_http_client
        if self._own_async_http_client is None:
            self._own_async_http_client = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False
            )
        return self._own_async_http_client

    def close(self) -> None:
        """Close the sync HTTP client this provider made (never one passed in)."""
        if self._own_http_client is not None:
            self._own_http_client.close()
            self._own_http_client = None

    async def aclose(self) -> None:
        """Close the HTTP clients this provider made (never ones passed in)."""
        self.close()
        if self._own_async_http_client is not None:
            await self._own_async_http_client.aclose()
            self._own_async_http_client = None

    def run(self, flow: HTTPFlow[T]) -> T:
        """Run a flow of this provider synchronously."""
        return run_flow(flow, self._http())

    async def arun(self, flow: HTTPFlow[T]) -> T:
        """Run a flow of this provider on the event loop."""
        return await arun_flow(flow, self._ahttp())

    # What subclasses provide, as flows

    def _prepare(self) -> HTTPFlow[Any] | None:
        """A flow to run before the provider can build an authorization URL or check a
        callback (an OpenID provider's discovery), or None when there is nothing to do."""
        return None

    def prepare(self) -> None:
        """Run ``_prepare`` (OpenID discovery) now, so an outage shows at start-up."""
        flow = self._prepare()
        if flow is not None:
            self.run(flow)

    async def aprepare(self) -> None:
        """See ``prepare``."""
        flow = self._prepare()
        if flow is not None:
            await self.arun(flow)

    def create_authorization_url(
        self,
        state: str,
        code_verifier: str | None = None,
        *,
        scopes: Iterable[str] = (),
        nonce: str | None = None,
    ) -> str:
        """The URL to send the user to (``default_scopes`` when ``scopes`` is empty)."""
        return self.client.create_authorization_url(
            state, code_verifier, scopes=tuple(scopes) or self.default_scopes, nonce=nonce
        )

    def _validate_authorization_code(
        self, code: str, code_verifier: str | None, nonce: str | None
    ) -> HTTPFlow[OAuth2Tokens]:
        return self.client.validate_authorization_code(code, code_verifier)

    def _refresh_access_token(self, refresh_token: str) -> HTTPFlow[OAuth2Tokens]:
        return self.client.refresh_access_token(refresh_token)

    def _revoke_token(self, token: str) -> HTTPFlow[None]:
        return self.client.revoke_token(token)

    @abc.abstractmethod
    def _get_user(self, tokens: OAuth2Tokens) -> HTTPFlow[ProviderUser]:
        """The flow that fetches the provider's user for ``tokens``: every provider says how."""

    # The public API, sync then async: the same flows.

    def validate_authorization_code(
        self, code: str, code_verifier: str | None = None, *, nonce: str | None = None
    ) -> OAuth2Tokens:
        """Exchange the callback's code for tokens (OpenID providers also validate the
        id_token, with ``nonce`` when one was sent)."""
        return self.run(self._validate_authorization_code(code, code_verifier, nonce))

    def refresh_access_token(self, refresh_token: str) -> OAuth2Tokens:
        """New tokens from a refresh token."""
        return self.run(self._refresh_access_token(refresh_token))

    def revoke_token(self, token: str) -> None:
        """Revoke a token at the provider."""
        return self.run(self._revoke_token(token))

    def get_user(self, tokens: OAuth2Tokens) -> ProviderUser:
        """The provider's user for these tokens."""
        return self.run(self._get_user(tokens))

    async def avalidate_authorization_code(
        self, code: str, code_verifier: str | None = None, *, nonce: str | None = None
    ) -> OAuth2Tokens:
        """See ``validate_authorization_code``."""
        return await self.arun(self._validate_authorization_code(code, code_verifier, nonce))

    async def arefresh_access_token(self, refresh_token: str) -> OAuth2Tokens:
        """See ``refresh_access_token``."""
        return await self.arun(self._refresh_access_token(refresh_token))

    async def arevoke_token(self, token: str) -> None:
        """See ``revoke_token``."""
        return await self.arun(self._revoke_token(token))

    async def aget_user(self, tokens: OAuth2Tokens) -> ProviderUser:
        """See ``get_user``."""
        return await self.arun(self._get_user(tokens))
