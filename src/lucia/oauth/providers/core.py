"""What a provider is, without any I/O: its configuration, its HTTP clients, and the
hooks that say which requests it sends and how it reads their answers.

``OAuthProvider`` (``lucia.oauth.providers.base``) adds the sending, sync and
async, written once in ``lucia.oauth._async.http``. A provider is the hooks
below, public and typed: the defaults are plain OAuth 2.0 (RFC 6749) through
``client``; a provider overrides what differs (GitHub its revocation, OpenID
Connect its discovery and ID tokens) and says how it fetches its user
(``user_requests`` and ``parse_user``, which every provider must write, or which
a ``ProviderSpec`` writes: ``lucia.oauth.providers.provider``). No hook does I/O.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from lucia.oauth.client import DEFAULT_TIMEOUT, OAuth2Client, OAuth2Tokens, as_timeout
from lucia.oauth.oidc import IDTokenVerifier

__all__ = ["ProviderCore", "ProviderUser"]


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


class ProviderCore(abc.ABC):
    """A provider's configuration and hooks (see the module docstring).

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

    @classmethod
    def example_options(cls) -> dict[str, Any]:
        """Keyword arguments that, beside example credentials and parameters, build a
        working instance for the catalog's tests (Apple: a private key as its secret).
        None by default."""
        return {}

    # HTTP clients: a caller's own, or one made on first use (no redirects followed).

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

    # The authorization URL: no I/O.

    def create_authorization_url(
        self,
        state: str,
        code_verifier: str | None = None,
        *,
        scopes: Iterable[str] = (),
        nonce: str | None = None,
    ) -> str:
        """The URL to send the user to, asking for ``authorization_scopes(scopes)``, with
        the provider's own ``authorization_params``."""
        return self.client.create_authorization_url(
            state,
            code_verifier,
            scopes=self.authorization_scopes(scopes),
            nonce=nonce,
            extra_params=self.authorization_params(),
        )

    # Hooks: which requests the provider sends, and how it reads the answers.

    def authorization_scopes(self, scopes: Iterable[str]) -> tuple[str, ...]:
        """The scopes an authorization URL asks for when the caller asks for ``scopes``:
        those, or ``default_scopes`` when there are none."""
        return tuple(scopes) or self.default_scopes

    def authorization_params(self) -> Mapping[str, str]:
        """Provider-specific query parameters of the authorization URL (never replacing
        the protocol's own: state, PKCE, nonce, redirect_uri...)."""
        return {}

    def preparation_request(self) -> httpx.Request | None:
        """A request to send before the provider can build an authorization URL or check
        a callback (an OpenID provider's discovery), or None when there is nothing to do."""
        return None

    def read_preparation(self, response: httpx.Response) -> None:  # noqa: B027  (a hook: no-op)
        """Read the answer to ``preparation_request``."""

    def code_request(self, code: str, code_verifier: str | None) -> httpx.Request:
        """The request that redeems an authorization code."""
        return self.client.authorization_code_request(code, code_verifier)

    def callback_code_request(
        self, code: str, code_verifier: str | None, fields: Mapping[str, str]
    ) -> httpx.Request:
        """The request that redeems the code of a callback that carried ``fields`` (those
        of its ``callback_fields`` it had): ``code_request``, unless the provider's token
        request must echo one of them (VK ID's ``device_id``)."""
        return self.code_request(code, code_verifier)

    def refresh_request(self, refresh_token: str) -> httpx.Request:
        """The request that refreshes the tokens."""
        return self.client.refresh_request(refresh_token)

    def read_tokens(self, response: httpx.Response, *, what: str) -> OAuth2Tokens:
        """The tokens of an answer to ``code_request`` or ``refresh_request``; else the
        right ``OAuthError`` (the provider's error convention applies)."""
        return self.client.read_tokens(response, what=what)

    def revocation_request(self, token: str) -> httpx.Request:
        """The request that revokes a token (``OAuthUnsupportedError`` when the provider
        revokes none)."""
        return self.client.revocation_request(token)

    def read_revocation(self, response: httpx.Response) -> None:
        """Read the answer to ``revocation_request`` (an ``OAuthError`` if refused)."""
        self.client.read_revocation(response)

    def id_token_verifier(self) -> IDTokenVerifier | None:
        """How this provider's ID tokens are checked, or None when it sends none to check
        (plain OAuth 2.0). Called after the preparation (the metadata is known)."""
        return None

    def check_refreshed_tokens(self, tokens: OAuth2Tokens, user_id: str) -> None:  # noqa: B027
        """Refuse refreshed ``tokens`` that name another user than ``user_id`` (the
        ``ProviderUser.id`` of the sign-in they continue). Plain OAuth 2.0 tokens name
        nobody: nothing to check. OpenID providers compare the new ID token's user."""

    @abc.abstractmethod
    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """The requests that fetch the provider's user for ``tokens``, sent in order."""

    @abc.abstractmethod
    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The provider's user, from the answers to ``user_requests`` (same order)."""
