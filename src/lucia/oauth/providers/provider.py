"""Providers made from a ``ProviderSpec``: ``SpecProvider`` (OAuth 2.0) and
``OIDCSpecProvider`` (OpenID Connect with known endpoints).

A provider class is its spec; the constructor is the same for all::

    class Discord(SpecProvider):
        spec = ProviderSpec(slug="discord", ...)

    Discord(client_id, client_secret, redirect_uri, *, scopes=None, name=None,
            http_client=None, async_http_client=None, timeout=10, clock=utc_now,
            **parameters)

An odd provider overrides the public hooks of ``OAuthProvider``
(``lucia.oauth.providers.core``) and the few below (``resolve_endpoints``,
``userinfo_request``, ``read_json``). See docs/oauth/add-a-provider.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypedDict
from urllib.parse import quote

import httpx

from lucia.oauth.client import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    OAuth2Client,
    OAuth2Tokens,
    json_response,
)
from lucia.oauth.errors import OAuthResponseError, OAuthUnsupportedError
from lucia.oauth.oidc import OIDCMetadata
from lucia.oauth.providers.base import OAuthProvider
from lucia.oauth.providers.core import ProviderUser
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.oauth.providers.spec import (
    Endpoints,
    Protocol,
    ProviderSpec,
    fill_template,
    read_user,
)
from lucia.sessions import utc_now

__all__ = ["OIDCSpecProvider", "ProviderOptions", "SpecProvider", "oidc_metadata"]


class ProviderOptions(TypedDict, total=False):
    """The keywords every spec provider takes besides its credentials and parameters
    (``SpecProvider``'s and ``OIDCSpecProvider``'s own). A subclass whose constructor
    adds keywords of its own passes these on typed, without listing them again::

        def __init__(self, client_id: str, client_secret: str, redirect_uri: str, *,
                     prompt: str | None = None, **options: Unpack[ProviderOptions]) -> None:
            super().__init__(client_id, client_secret, redirect_uri, **options)
    """

    scopes: Iterable[str] | None
    name: str | None
    http_client: httpx.Client | None
    async_http_client: httpx.AsyncClient | None
    timeout: float | httpx.Timeout
    clock: Callable[[], datetime] | None


class _FromSpec:
    """What both spec providers do with their spec: adopt it (a subclass that sets one),
    and read its parameters and endpoints."""

    spec: ClassVar[ProviderSpec]
    # The protocol of the specs this base takes ("oauth2": SpecProvider).
    _spec_protocol: ClassVar[Protocol]
    name: str
    uses_pkce: ClassVar[bool]
    parameters: Mapping[str, str]
    endpoints: Endpoints
    _client_id: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check the spec a subclass defines against the base's protocol, and set what
        the flow reads on the class from it: ``uses_pkce``, and ``name`` (the key's
        provider_id: the slug, unless the class names itself)."""
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is None:
            return
        if not isinstance(spec, ProviderSpec):
            raise TypeError(f"{cls.__name__}.spec must be a ProviderSpec")
        if spec.protocol != cls._spec_protocol or spec.discovery:
            base = "OIDCSpecProvider" if spec.protocol == "oidc" else "SpecProvider"
            raise TypeError(f"{cls.__name__}: a {spec.protocol!r} spec is a {base}")
        cls.uses_pkce = spec.pkce != "none"
        if "name" not in cls.__dict__:
            cls.name = spec.slug

    def _read_spec(self, client_id: str, parameters: Mapping[str, str | None]) -> None:
        self.parameters = self.spec.parameter_values(parameters)
        self._client_id = client_id
        self.endpoints = self.resolve_endpoints()

    def template_values(self) -> dict[str, str]:
        """What the spec's URL templates are filled with: the parameters and
        ``client_id`` (URL-quoted)."""
        return {**self.parameters, "client_id": quote(self._client_id, safe="")}

    def resolve_endpoints(self) -> Endpoints:
        """The endpoints: the spec's templates filled with ``template_values()``."""
        return self.spec.endpoints(self.template_values())

    def authorization_params(self) -> Mapping[str, str]:
        """The spec's fixed ``authorization_params``."""
        return self.spec.authorization_params

    def read_json(self, response: httpx.Response, *, what: str) -> Any:
        """The JSON body of a successful answer, the provider's error convention applied."""
        return json_response(response, what=what, errors=self.spec.errors)

    def read_confirmation(
        self, response: httpx.Response, *, what: str, field: str, value: object = True
    ) -> None:
        """Nothing when ``read_json`` finds ``value`` at ``field`` of the answer to ``what``
        (``True`` only as the JSON ``true``); else ``OAuthResponseError`` (or the
        provider's error): a revocation or logout the provider did not confirm."""
        data = self.read_json(response, what=what)
        found = data.get(field) if isinstance(data, dict) else None
        confirmed = found is True if value is True else found == value
        if not confirmed:
            raise OAuthResponseError(f"{what} was not confirmed")


class SpecProvider(_FromSpec, OAuthProvider):
    """A plain OAuth 2.0 provider made from its ``spec`` (a subclass sets it).

    ``scopes`` replaces the spec's default scopes; ``name`` the key's ``provider_id``
    (the spec's slug by default: give each of two tenants its own); ``parameters``
    are the spec's (``tenant=``, ``domain=``...), checked here. The user comes from
    ``spec.userinfo_endpoint`` read as ``spec.user`` and ``spec.email`` say.
    """

    _spec_protocol: ClassVar[Protocol] = "oauth2"

    def __init__(
        self,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str | None,
        *,
        scopes: Iterable[str] | None = None,
        name: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
        **parameters: str | None,
    ) -> None:
        spec = self.spec
        self._read_spec(client_id, parameters)
        authorization, token = self.endpoints.authorization, self.endpoints.token
        # The spec checked them.
        assert authorization is not None
        assert token is not None
        client = OAuth2Client(
            client_id,
            client_secret,
            redirect_uri,
            authorization_endpoint=authorization,
            token_endpoint=token,
            revocation_endpoint=self.endpoints.revocation,
            token_endpoint_auth=spec.token_auth,
            clock=clock or utc_now,
            scope_separator=spec.scope_separator,
            errors=spec.errors,
            code_challenge_method="s256" if spec.pkce == "s256" else "S256",
        )
        super().__init__(
            client, http_client=http_client, async_http_client=async_http_client, timeout=timeout
        )
        self._client_secret = client_secret
        if name is not None:
            self.name = name
        self.issuer = self.endpoints.issuer
        self.default_scopes = spec.scopes if scopes is None else tuple(scopes)

    # Hooks of spec providers (no I/O)

    def headers(self) -> dict[str, str]:
        """The spec's ``headers`` (sent with every request), filled in."""
        values = {**self.parameters, "client_id": self._client_id}
        return {key: fill_template(value, values) for key, value in self.spec.headers.items()}

    def userinfo_request(self, tokens: OAuth2Tokens) -> httpx.Request:
        """The request to ``spec.userinfo_endpoint`` as ``spec.userinfo`` describes it."""
        userinfo = self.spec.userinfo
        values = {**self.parameters, "client_id": self._client_id}
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.headers()}
        headers.update({k: fill_template(v, values) for k, v in userinfo.headers.items()})
        query = {k: fill_template(v, values) for k, v in userinfo.query.items()}
        if userinfo.token_query is not None:
            query[userinfo.token_query] = tokens.access_token
        else:
            headers["Authorization"] = f"{userinfo.token_scheme} {tokens.access_token}"
        assert self.endpoints.userinfo is not None  # an OAuth 2.0 spec has one
        return httpx.Request(
            userinfo.method, self.endpoints.userinfo, params=query or None, headers=headers
        )

    # OAuthProvider's hooks

    def code_request(self, code: str, code_verifier: str | None) -> httpx.Request:
        """RFC 6749's code exchange, with the spec's ``headers``."""
        return self._with_headers(super().code_request(code, code_verifier))

    def refresh_request(self, refresh_token: str) -> httpx.Request:
        """RFC 6749's refresh (``OAuthUnsupportedError`` when the spec says no refresh)."""
        if not self.spec.refresh:
            raise OAuthUnsupportedError(f"{self.spec.name} does not refresh tokens")
        return self._with_headers(super().refresh_request(refresh_token))

    def revocation_request(self, token: str) -> httpx.Request:
        """RFC 7009's revocation at ``spec.revocation_endpoint``."""
        return self._with_headers(super().revocation_request(token))

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        """The one ``userinfo_request``."""
        return (self.userinfo_request(tokens),)

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        """The user in the first answer, read as ``spec.user`` and ``spec.email`` say."""
        what = f"the {self.spec.name} user"
        data = self.read_json(responses[0], what=f"{what} request")
        return read_user(data, self.spec.user, self.spec.email, what=what)

    def _with_headers(self, request: httpx.Request) -> httpx.Request:
        request.headers.update(self.headers())
        return request


class OIDCSpecProvider(_FromSpec, OpenIDConnect):
    """An OpenID provider with known endpoints, made from its ``spec`` (protocol
    ``"oidc"``): no discovery round trip; ID tokens are checked against the keys at
    ``spec.jwks_uri``; the user is the ID token's, checked against UserInfo when the
    spec has a ``userinfo_endpoint``. ``metadata`` replaces the spec's endpoints (a
    local stand-in in tests); the other options are ``SpecProvider``'s.
    """

    _spec_protocol: ClassVar[Protocol] = "oidc"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        scopes: Iterable[str] | None = None,
        name: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
        metadata: OIDCMetadata | None = None,
        **parameters: str | None,
    ) -> None:
        spec = self.spec
        self._read_spec(client_id, parameters)
        issuer = self.endpoints.issuer
        assert issuer is not None  # the spec checked it
        super().__init__(
            issuer,
            client_id,
            client_secret,
            redirect_uri,
            name=name or self.name,
            scopes=scopes,
            http_client=http_client,
            async_http_client=async_http_client,
            clock=clock,
            token_endpoint_auth=spec.token_auth,
            # Given metadata must be the spec's issuer's (OpenIDConnect checks it).
            metadata=self.spec_metadata() if metadata is None else metadata,
            timeout=timeout,
        )

    def spec_metadata(self) -> OIDCMetadata:
        """The provider's metadata as the spec says it (no discovery)."""
        return oidc_metadata(self.spec, self.endpoints)


def oidc_metadata(spec: ProviderSpec, endpoints: Endpoints) -> OIDCMetadata:
    """The OpenID metadata ``spec`` says, at ``endpoints`` (its templates filled in)."""
    # An OIDC spec without discovery has them (the spec checked it).
    assert endpoints.issuer is not None
    assert endpoints.jwks_uri is not None
    assert endpoints.authorization is not None
    assert endpoints.token is not None
    return OIDCMetadata(
        issuer=endpoints.issuer,
        authorization_endpoint=endpoints.authorization,
        token_endpoint=endpoints.token,
        userinfo_endpoint=endpoints.userinfo,
        revocation_endpoint=endpoints.revocation,
        jwks_uri=endpoints.jwks_uri,
        id_token_signing_alg_values_supported=spec.id_token_algorithms,
        token_endpoint_auth_methods_supported=(spec.token_auth,),
        code_challenge_methods_supported=() if spec.pkce == "none" else (spec.pkce,),
    )
