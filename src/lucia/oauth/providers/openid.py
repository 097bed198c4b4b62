"""Any OpenID Connect provider, through discovery.

    provider = OpenIDConnect("https://id.example.com", client_id, client_secret, redirect_uri)
    url = provider.create_authorization_url(state, verifier, nonce=nonce)  # discovers once
    tokens = provider.validate_authorization_code(code, verifier, nonce=nonce)
    user = provider.get_user(tokens)      # user.id is the id_token's sub

    await provider.adiscover()            # on an event loop: before create_authorization_url
    tokens = await provider.avalidate_authorization_code(code, verifier, nonce=nonce)

Endpoints come from the provider's discovery document, fetched once and
cached on the provider object (sync and async share the cache). Sync use
discovers on first need; building the authorization URL has no async twin,
so on an event loop it needs ``await adiscover()`` first (it says so rather
than block the loop). Every ``a``-method discovers on its own, and the sign-in
flow discovers at ``start`` / ``astart``, which surfaces a provider outage at
the start of the sign-in rather than at the callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from lucia.oauth._async.http import _AsyncOpenIDHTTP
from lucia.oauth._sync.http import _OpenIDHTTP
from lucia.oauth.client import (
    DEFAULT_TIMEOUT,
    OAuth2Client,
    OAuth2Tokens,
    TokenEndpointAuth,
    api_request,
    json_response,
)
from lucia.oauth.errors import OAuthResponseError
from lucia.oauth.oidc import (
    ASYMMETRIC_ALGORITHMS,
    DEFAULT_LEEWAY,
    PROTOCOL_CLAIMS,
    SYMMETRIC_ALGORITHMS,
    IDTokenError,
    IDTokenVerifier,
    JWKSCache,
    OIDCMetadata,
    OIDCTokens,
    check_issuer,
    discovery_request,
    read_discovery,
)
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.oauth.providers.catalog import catalog_spec
from lucia.oauth.providers.spec import (
    ProviderSpec,
    path_present,
    read_user,
)
from lucia.sessions import utc_now

__all__ = ["OIDCTokens", "OpenIDConnect"]

logger = logging.getLogger("lucia.oauth.oidc")


class OpenIDConnect(_OpenIDHTTP, _AsyncOpenIDHTTP, OAuthProvider):
    """An OpenID provider found by discovery from its ``issuer`` URL.

    ``name`` (the key's ``provider_id``) defaults to the issuer, so identities
    are keyed on (issuer, sub) (SECURITY.md item 37). ``allowed_algorithms``
    defaults to the public-key algorithms the provider advertises; HS256/384/512
    are accepted only when listed here, and are then keyed by the client secret.
    ``trusted_audiences`` are the extra ``aud`` values tolerated beside
    ``client_id``. ``token_endpoint_auth`` defaults to client_secret_basic,
    or client_secret_post when that is all the provider supports. ``metadata``
    skips discovery (a provider whose endpoints are known, or a test).

    The class's ``spec`` says what discovery does not: the default scopes and their
    separator, the error convention, where the user's fields are among the claims
    (``spec.user``: the standard claims), how far its email is trusted
    (``spec.email``) and the ``iss`` strings accepted besides the issuer
    (``spec.additional_issuers``: Google's second form). ``OIDCSpecProvider``
    subclasses give their endpoints in it too, and skip discovery.
    """

    spec: ClassVar[ProviderSpec] = catalog_spec("openid")
    uses_pkce: ClassVar[bool] = True
    uses_nonce: ClassVar[bool] = True
    leeway: timedelta = DEFAULT_LEEWAY

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        name: str | None = None,
        scopes: Iterable[str] | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        allowed_algorithms: Collection[str] | None = None,
        trusted_audiences: Collection[str] = (),
        clock: Callable[[], datetime] | None = None,
        token_endpoint_auth: TokenEndpointAuth | None = None,
        metadata: OIDCMetadata | None = None,
        jwks_refetch_interval: timedelta = timedelta(seconds=60),
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._oauth_client: OAuth2Client | None = None
        self._metadata: OIDCMetadata | None = None
        self._require_iss: bool | None = None
        # The base class stores its client through the ``client`` property below;
        # ours exists only once the endpoints are known.
        super().__init__(
            None, http_client=http_client, async_http_client=async_http_client, timeout=timeout
        )
        self.issuer: str = check_issuer(issuer)
        self.name = name or issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.default_scopes = _with_openid(self.spec.scopes if scopes is None else tuple(scopes))
        if allowed_algorithms is not None:
            algorithms = frozenset(allowed_algorithms)
            unknown = algorithms - ASYMMETRIC_ALGORITHMS - SYMMETRIC_ALGORITHMS
            if unknown or not algorithms:
                raise ValueError("allowed_algorithms: unsupported or empty (never 'none')")
            if algorithms & SYMMETRIC_ALGORITHMS and not client_secret:
                raise ValueError("HS256/384/512 need a client secret")
            self._allowed: frozenset[str] | None = algorithms
        else:
            self._allowed = None
        self.trusted_audiences = frozenset(trusted_audiences)
        self._clock = clock or utc_now
        self._token_endpoint_auth = token_endpoint_auth
        self.jwks = JWKSCache(refetch_interval=jwks_refetch_interval, clock=self._clock)
        if metadata is not None:
            if metadata.issuer != self.issuer:
                raise ValueError("metadata.issuer must equal the issuer")
            self._use_metadata(metadata)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, issuer={self.issuer!r}, "
            f"client_id={self.client_id!r})"
        )

    # Metadata and the OAuth 2.0 client built from it

    @property
    def client(self) -> OAuth2Client:
        """The OAuth 2.0 client for the discovered endpoints, discovering them first if needed.

        Off an event loop the first use runs ``discover()``; on one it would block
        the loop, so there ``RuntimeError`` asks for ``await adiscover()`` (every
        ``a``-method and ``SignInFlow.astart`` discover on their own).
        """
        if self._oauth_client is None:
            self._discover_now()
        assert self._oauth_client is not None
        return self._oauth_client

    @client.setter
    def client(self, value: OAuth2Client | None) -> None:
        self._oauth_client = value

    @property
    def metadata(self) -> OIDCMetadata | None:
        """The provider's metadata, or None before discovery."""
        return self._metadata

    @property
    def requires_iss_parameter(self) -> bool:
        """RFC 9207: True when the provider says it sends ``iss`` in authorization responses.

        Needs the metadata (``discover()``), so that a callback handled before
        discovery cannot skip the check by accident.
        """
        if self._require_iss is not None:
            return self._require_iss
        return self._known_metadata().authorization_response_iss_parameter_supported

    @requires_iss_parameter.setter
    def requires_iss_parameter(self, value: bool) -> None:
        self._require_iss = value

    def _use_metadata(self, metadata: OIDCMetadata) -> None:
        auth = self._token_endpoint_auth
        if auth is None:
            methods = metadata.token_endpoint_auth_methods_supported
            only_post = "client_secret_basic" not in methods and "client_secret_post" in methods
            auth = "client_secret_post" if only_post else "client_secret_basic"
        self.client = OAuth2Client(
            self.client_id,
            self._client_secret,
            self.redirect_uri,
            authorization_endpoint=metadata.authorization_endpoint,
            token_endpoint=metadata.token_endpoint,
            revocation_endpoint=metadata.revocation_endpoint,
            token_endpoint_auth=auth,
            clock=self._clock,
            scope_separator=self.spec.scope_separator,
            errors=self.spec.errors,
        )
        self._metadata = metadata

    def preparation_request(self) -> httpx.Request | None:
        """Discovery, until the metadata is known."""
        return None if self._metadata is not None else discovery_request(self.issuer)

    def read_preparation(self, response: httpx.Response) -> None:
        # Two concurrent first uses may both discover: the first answer is kept.
        if self._metadata is None:
            self._use_metadata(read_discovery(response, self.issuer))

    def _discover_now(self) -> None:
        """Sync discovery for a sync caller that needs the metadata now."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.discover()
            return
        raise RuntimeError(
            f"{type(self).__name__}({self.issuer!r}) has not discovered its endpoints yet, "
            "and discovering them here would block the event loop: "
            "call `await provider.adiscover()` first (every a-method discovers on its own)"
        )

    def allowed_algorithms(self, metadata: OIDCMetadata) -> frozenset[str]:
        """The ``alg`` values accepted for ID tokens (see the class docstring)."""
        if self._allowed is not None:
            return self._allowed
        return frozenset(metadata.id_token_signing_alg_values_supported) & ASYMMETRIC_ALGORITHMS

    # The authorization URL and the flows

    def authorization_scopes(self, scopes: Iterable[str]) -> tuple[str, ...]:
        """``scopes`` (else ``default_scopes``) with ``openid`` always among them."""
        return _with_openid(super().authorization_scopes(scopes))

    def id_token_verifier(self) -> IDTokenVerifier:
        metadata = self._known_metadata()
        return IDTokenVerifier(
            issuers=(self.issuer, *self.spec.additional_issuers),
            client_id=self.client_id,
            allowed_algorithms=self.allowed_algorithms(metadata),
            trusted_audiences=self.trusted_audiences,
            jwks=self.jwks,
            jwks_uri=metadata.jwks_uri,
            client_secret=self._client_secret,
            clock=self._clock,
            leeway=self.leeway,
        )

    def _known_metadata(self) -> OIDCMetadata:
        """The metadata, which every call has discovered before it needs it."""
        if self._metadata is None:
            self._discover_now()
        assert self._metadata is not None
        return self._metadata

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """The UserInfo request, when the provider has a UserInfo endpoint.

        The user itself is that of a validated ID token (``validate_authorization_code``
        returned it), checked against UserInfo; a UserInfo ``sub`` that differs is
        refused (OIDC Core 5.3.2).
        """
        _id_token_claims(tokens)
        endpoint = self._known_metadata().userinfo_endpoint
        if endpoint is None:
            return ()
        return (api_request("GET", endpoint, bearer=tokens.access_token),)

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        claims = _id_token_claims(tokens)
        userinfo: dict[str, Any] | None = None
        for response in responses:
            data = json_response(response, what="the userinfo request", errors=self.spec.errors)
            if not isinstance(data, dict):
                raise OAuthResponseError("the userinfo response is not a JSON object")
            if not isinstance(data.get("sub"), str):
                raise OAuthResponseError("the userinfo response has no sub")
            if data["sub"] != claims["sub"]:
                logger.info("UserInfo from %s rejected: its sub differs", self.issuer)
                raise IDTokenError("userinfo_sub", "the UserInfo sub is not the ID token's")
            userinfo = data
        return self._user(claims, userinfo)

    def check_refreshed_tokens(self, tokens: OAuth2Tokens, user_id: str) -> None:
        """A refreshed ID token must name the user of the sign-in (its ``sub``, within
        the spec's ``id_scope_claim``): OIDC Core 12.2. Tokens without one pass."""
        claims = tokens.id_token_claims if isinstance(tokens, OIDCTokens) else None
        if claims and self._user(claims, None).id != user_id:
            logger.info("refreshed ID token from %s rejected: another user", self.issuer)
            raise IDTokenError("sub", "the refreshed ID token names another user")

    def _user(self, claims: Mapping[str, Any], userinfo: Mapping[str, Any] | None) -> ProviderUser:
        raw = {k: v for k, v in claims.items() if k not in PROTOCOL_CLAIMS}
        raw.update(userinfo or {})
        fields = self.spec.user
        # The address and its verification must come from the same answer.
        from_userinfo = userinfo is not None and path_present(userinfo, fields.email)
        source = userinfo if from_userinfo else claims
        # The id is the ID token's sub (a UserInfo sub was checked equal to it), within
        # the spec's id_scope_claim when it has one.
        data = {**raw, "sub": claims["sub"]}
        user = read_user(data, fields, self.spec.email, email_source=source, raw=raw)
        scope_claim = self.spec.id_scope_claim
        if scope_claim is None:
            return user
        # From the validated ID token, never from UserInfo: the scope is part of the key.
        scope = claims.get(scope_claim)
        if not isinstance(scope, str) or not scope:
            raise OAuthResponseError(f"the {self.spec.name} user has no {scope_claim}")
        return replace(user, id=f"{scope}:{user.id}")


def _with_openid(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """``scopes``, with ``openid`` first when they lack it (OIDC Core 3.1.2.1)."""
    return scopes if "openid" in scopes else ("openid", *scopes)


def _id_token_claims(tokens: OAuth2Tokens) -> Mapping[str, Any]:
    """The validated ID token's claims that come with ``tokens``; ``IDTokenError`` without."""
    claims = tokens.id_token_claims if isinstance(tokens, OIDCTokens) else None
    if not claims:
        raise IDTokenError(
            "missing", "get_user needs the tokens validate_authorization_code returned"
        )
    return claims
