"""Every request lucia sends to an OAuth provider, and what it does with the answers.

Written once, as async code; the sync code (``lucia.oauth._sync.http``) is
generated from it by ``scripts/generate_sync.py``. What to send and how to read
the answers are the provider's hooks (``lucia.oauth.providers.core``), which do
no I/O; this module only sends.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from typing import Any

import httpx
from joserfc.jwk import Key

from lucia.oauth._redact import redact_httpx_request_logs
from lucia.oauth.client import OAuth2Tokens, transport_error
from lucia.oauth.oidc import IDTokenError, JWKSCache, OIDCMetadata, OIDCTokens
from lucia.oauth.providers.core import ProviderCore, ProviderUser

__all__ = ["ajwks_key", "asend_request"]

logger = logging.getLogger("lucia.oauth.oidc")

# httpx logs each request's full URL, and some providers need a secret in it
# (Facebook's appsecret_proof): from the moment lucia can send one, that log line
# carries "[redacted]" instead, for every client, lucia's or the app's.
redact_httpx_request_logs()


async def asend_request(http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send ``request``; a network failure or timeout becomes ``OAuthTransportError``."""
    try:
        return await http.send(request)
    except httpx.HTTPError as exc:
        raise transport_error(request, exc) from None


async def ajwks_key(
    http: httpx.AsyncClient, jwks: JWKSCache, header: Mapping[str, Any], jwks_uri: str
) -> Key:
    """The published key for a token with this (already checked) header, or ``IDTokenError``.

    The keys are fetched when the cache has none or they are stale; an unknown
    key triggers one refetch (key rotation), at most one per the cache's
    ``refetch_interval``.
    """
    now = jwks.now()
    if jwks.is_stale(now):
        jwks.store(await asend_request(http, jwks.request(jwks_uri)))
    key = jwks.select(header)
    if key is not None:
        return key
    jwks.allow_refetch(now)
    jwks.store(await asend_request(http, jwks.request(jwks_uri)))
    key = jwks.select(header)
    if key is None:
        raise IDTokenError("kid", "no published key matches the token")
    return key


class _AsyncProviderHTTP(ProviderCore):
    """A provider's calls: the hooks' requests sent with the provider's HTTP client."""

    async def _asend(self, request: httpx.Request) -> httpx.Response:
        return await asend_request(self._ahttp(), request)

    async def aprepare(self) -> None:
        """Do what the provider needs before a sign-in (an OpenID provider's discovery,
        once); at start-up, this makes an outage show early."""
        request = self.preparation_request()
        if request is not None:
            self.read_preparation(await self._asend(request))

    async def avalidate_authorization_code(
        self,
        code: str,
        code_verifier: str | None = None,
        *,
        nonce: str | None = None,
        callback_fields: Mapping[str, str] | None = None,
    ) -> OAuth2Tokens:
        """Exchange the callback's code for tokens (OpenID providers also validate the
        id_token, with ``nonce`` when one was sent). ``callback_fields``: the callback's
        own parameters the provider's ``callback_fields`` name (VK ID's ``device_id``),
        which the sign-in flow passes."""
        await self.aprepare()
        if callback_fields is None:
            request = self.code_request(code, code_verifier)
        else:
            request = self.callback_code_request(code, code_verifier, callback_fields)
        response = await self._asend(request)
        tokens = self.read_tokens(response, what="the token request")
        return await self._averified(tokens, nonce=nonce, code=code, required=True)

    async def arefresh_access_token(
        self, refresh_token: str, *, user_id: str | None = None
    ) -> OAuth2Tokens:
        """New tokens from a refresh token (an ID token among them is validated, without
        nonce: OIDC Core 12.2). ``user_id``: the ``ProviderUser.id`` of the sign-in these
        tokens continue (the key's ``provider_user_id``); an ID token in the answer that
        names anyone else is refused (``IDTokenError``, check ``"sub"``), as OIDC Core
        12.2 asks."""
        await self.aprepare()
        response = await self._asend(self.refresh_request(refresh_token))
        tokens = self.read_tokens(response, what="the refresh request")
        verified = await self._averified(tokens, nonce=None, code=None, required=False)
        if user_id is not None:
            self.check_refreshed_tokens(verified, user_id)
        return verified

    async def arevoke_token(self, token: str) -> None:
        """Revoke a token at the provider."""
        await self.aprepare()
        self.read_revocation(await self._asend(self.revocation_request(token)))

    async def aget_user(self, tokens: OAuth2Tokens) -> ProviderUser:
        """The provider's user for these tokens."""
        await self.aprepare()
        responses = [await self._asend(request) for request in self.user_requests(tokens)]
        return self.parse_user(tokens, responses)

    async def _averified(
        self, tokens: OAuth2Tokens, *, nonce: str | None, code: str | None, required: bool
    ) -> OAuth2Tokens:
        """``tokens`` with the claims of their validated ID token (``OIDCTokens``), when the
        provider checks ID tokens; ``required`` (a code exchange): there must be one."""
        verifier = self.id_token_verifier()
        if verifier is None:
            return tokens
        if tokens.id_token is None:
            if not required:  # a refresh may leave the ID token out
                return tokens
            raise IDTokenError("missing", "the token response has no id_token")
        try:
            # Header checks first: an oversized or alg=none token costs no JWKS request.
            header = verifier.header(tokens.id_token)
            key = verifier.local_key(header)
            if key is None:
                key = await ajwks_key(self._ahttp(), verifier.jwks, header, verifier.jwks_uri)
            claims = verifier.claims(
                tokens.id_token, key, nonce=nonce, access_token=tokens.access_token, code=code
            )
        except IDTokenError as exc:
            logger.info("ID token from %s rejected: %s", verifier.issuers[0], exc.check)
            raise
        return OIDCTokens.from_tokens(tokens, claims)


class _AsyncOpenIDHTTP(_AsyncProviderHTTP):
    """An OpenID provider's own call: discovery."""

    @property
    @abc.abstractmethod
    def metadata(self) -> OIDCMetadata | None:
        """The provider's metadata, or None before discovery."""

    async def adiscover(self) -> OIDCMetadata:
        """The provider's metadata, fetched once (``OIDCDiscoveryError`` if its issuer differs)."""
        await self.aprepare()
        metadata = self.metadata
        assert metadata is not None  # the preparation is the discovery
        return metadata
