"""The OAuth 2.0 client: authorization URLs, and the token requests and their answers.

Nothing here sends anything: ``OAuth2Client`` builds each ``httpx.Request``
(code exchange, refresh, revocation) and reads each ``httpx.Response``. The
providers send them (``lucia.oauth._async.http``, sync code generated from it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import httpx

from lucia.oauth.errors import (
    OAuthProviderError,
    OAuthResponseError,
    OAuthTransportError,
    OAuthUnsupportedError,
)
from lucia.sessions import utc_now

__all__ = [
    "ErrorConvention",
    "OAuth2Client",
    "OAuth2Tokens",
    "TokenEndpointAuth",
    "api_request",
    "as_timeout",
    "create_code_challenge",
    "generate_code_verifier",
    "generate_nonce",
    "generate_state",
    "json_response",
    "parse_json",
    "provider_error",
    "transport_error",
]

TokenEndpointAuth = Literal["client_secret_basic", "client_secret_post", "none"]

ErrorConvention = Literal["oauth2", "ok_false", "error_object"]
"""How a provider says a call failed, besides the HTTP status.

- ``"oauth2"``: an ``{"error": "code", "error_description": ...}`` body (RFC 6749 §5.2),
  whatever the status (GitHub answers token errors with HTTP 200);
- ``"ok_false"``: Slack's envelope too: a body without ``"ok": true`` is an error
  (``{"ok": false, "error": "invalid_code"}``);
- ``"error_object"``: ``{"error": {"message": ..., "type": ...}}`` too (Facebook's
  Graph API).
"""

DEFAULT_TIMEOUT = httpx.Timeout(10.0)
"""How long a provider's own HTTP client waits to connect, for each read and
write, and for a pooled connection: 10 s each (see ``as_timeout``)."""
# A token or user response is a few KiB; a provider sending megabytes is broken
# or hostile, and must not make us parse it.
MAX_RESPONSE_BYTES = 1024 * 1024
USER_AGENT = "lucia-auth"


def as_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """``timeout`` as an ``httpx.Timeout``: seconds (a positive number) become that
    limit for connecting, each read, each write and waiting for a pooled
    connection, so a provider that accepts a request and never answers fails
    after about that long. An ``httpx.Timeout`` is used as given."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds or an httpx.Timeout")
    return httpx.Timeout(float(timeout))


def generate_state() -> str:
    """A new OAuth ``state``: 256 random bits, base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def generate_code_verifier() -> str:
    """A new PKCE code verifier: 32 random bytes, base64url (43 characters, RFC 7636 §4.1)."""
    return secrets.token_urlsafe(32)


def generate_nonce() -> str:
    """A new OpenID Connect ``nonce``: 256 random bits, base64url."""
    return secrets.token_urlsafe(32)


def create_code_challenge(code_verifier: str) -> str:
    """The S256 challenge of a verifier: base64url(SHA-256(verifier)), unpadded (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class OAuth2Tokens:
    """A token endpoint's answer. Tokens are never shown by ``repr()``."""

    access_token: str = field(repr=False)
    token_type: str = "bearer"
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
    id_token: str | None = field(default=None, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_response(cls, data: Any, *, now: datetime | None = None) -> OAuth2Tokens:
        """Parse a successful token response (RFC 6749 §5.1); ``OAuthResponseError`` if invalid.

        Only Bearer tokens are accepted, compared case-insensitively (§5.1 and
        RFC 6750 §4); a missing ``token_type`` is taken as Bearer, as GitHub sends it.
        """
        if not isinstance(data, Mapping):
            raise OAuthResponseError("the token response is not a JSON object")
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise OAuthResponseError("no access_token in the token response")
        token_type = data.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise OAuthResponseError("the token type is not Bearer")
        expires_at = None
        expires_in = data.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)  # some providers send a string
        if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in >= 0:
            expires_at = (now or utc_now()) + timedelta(seconds=min(expires_in, 10 * 365 * 86400))
        refresh_token = data.get("refresh_token")
        scope = data.get("scope")
        # Scopes are space-separated (RFC 6749 §3.3); GitHub separates them with commas.
        scopes = tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else ()
        id_token = data.get("id_token")
        return cls(
            access_token=access_token,
            token_type="bearer",
            expires_at=expires_at,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            scopes=scopes,
            id_token=id_token if isinstance(id_token, str) else None,
            raw=dict(data),
        )


def provider_error(
    data: Any, *, status: int, errors: ErrorConvention = "oauth2"
) -> OAuthProviderError | None:
    """The ``OAuthProviderError`` a parsed JSON body carries under the provider's error
    convention (``errors``, see ``ErrorConvention``), or None when it carries none."""
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, str):
        description = data.get("error_description")
        uri = data.get("error_uri")
        return OAuthProviderError(
            error,
            description if isinstance(description, str) else None,
            uri if isinstance(uri, str) else None,
            http_status=status,
        )
    if errors == "error_object" and isinstance(error, dict):
        kind = error.get("type", error.get("code"))
        message = error.get("message")
        return OAuthProviderError(
            str(kind) if isinstance(kind, str | int) else "error",
            message if isinstance(message, str) else None,
            http_status=status,
        )
    if errors == "ok_false" and data.get("ok") is not True:
        return OAuthProviderError("error", "the answer is not ok", http_status=status)
    return None


def parse_json(content: bytes) -> Any:
    """The JSON value of a provider's answer body, or None when it is empty, over
    ``MAX_RESPONSE_BYTES``, or not JSON, including JSON nested deeper than the parser
    recurses (which raises ``RecursionError``, not ``ValueError``): never an exception."""
    if not content or len(content) > MAX_RESPONSE_BYTES:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def json_response(
    response: httpx.Response, *, what: str, errors: ErrorConvention = "oauth2"
) -> Any:
    """The JSON body of a successful response, or the right ``OAuthError``.

    A body that is an error under ``errors`` (an OAuth error body ``{"error": ...}``
    always) becomes ``OAuthProviderError`` whatever the status — GitHub answers token
    errors with HTTP 200. Anything else that is not a 2xx JSON answer becomes
    ``OAuthResponseError`` with a safe excerpt.
    """
    content = response.content
    if len(content) > MAX_RESPONSE_BYTES:
        raise OAuthResponseError(
            f"{what}: the response is too large", http_status=response.status_code
        )
    data = parse_json(content)
    if (error := provider_error(data, status=response.status_code, errors=errors)) is not None:
        raise error
    if not response.is_success:
        raise OAuthResponseError(
            f"{what} failed", http_status=response.status_code, body=_text(content)
        )
    if data is None:
        raise OAuthResponseError(
            f"{what}: the response is not JSON",
            http_status=response.status_code,
            body=_text(content),
        )
    return data


def _text(content: bytes) -> str:
    return content[:400].decode("utf-8", "replace")


def api_request(
    method: str,
    url: str,
    *,
    bearer: str | None = None,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
) -> httpx.Request:
    """A request to a provider's API asking for JSON, as ``USER_AGENT``: with ``bearer``
    as its Bearer token (RFC 6750 §2.1) when given, ``params`` in its query and ``data``
    as its form body."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return httpx.Request(method, url, params=params, data=data, headers=headers)


def transport_error(request: httpx.Request, exc: httpx.HTTPError) -> OAuthTransportError:
    """The ``OAuthTransportError`` for ``request`` failing with ``exc``: which host and path
    failed, and whether it timed out; never the query, which may hold a secret."""
    # The URL without its query, fragment or user info, which could hold a secret:
    # the path says which request failed (discovery, token, JWKS, ...).
    where = str(request.url.copy_with(query=None, fragment=None, userinfo=b""))
    if isinstance(exc, httpx.TimeoutException):
        return OAuthTransportError(f"the provider at {where} did not answer in time")
    return OAuthTransportError(
        f"the provider at {where} could not be reached ({type(exc).__name__})"
    )


@dataclass(eq=False)
class OAuth2Client:
    """An OAuth 2.0 client of one provider: builds requests, parses answers. Its
    ``client_secret`` is never shown by ``repr()``.

    ``token_endpoint_auth`` is how the client authenticates at the token
    endpoint: HTTP Basic (the default, RFC 6749 §2.3.1), in the form body, or
    not at all (a public client). Authorization code is the only grant used
    to sign in (no implicit or password grant, RFC 9700 §2.1.2, §2.4).
    ``scope_separator`` joins the scopes (a space, RFC 6749 §3.3; a comma for
    Facebook); ``errors`` is how the provider reports errors (``ErrorConvention``).
    """

    client_id: str
    client_secret: str | None = field(repr=False)
    redirect_uri: str | None
    _: KW_ONLY
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    token_endpoint_auth: TokenEndpointAuth = "client_secret_basic"
    # Dates the tokens' expiry; the provider's clock, so tests and apps that
    # inject one see expiries on the same time line as everything else.
    clock: Callable[[], datetime] = utc_now
    scope_separator: str = " "
    errors: ErrorConvention = "oauth2"
    # RFC 7636's "S256"; "s256" for a provider that documents that spelling (VK ID).
    code_challenge_method: Literal["S256", "s256"] = "S256"

    def __post_init__(self) -> None:
        for name, url in [
            ("authorization_endpoint", self.authorization_endpoint),
            ("token_endpoint", self.token_endpoint),
            ("revocation_endpoint", self.revocation_endpoint),
            ("redirect_uri", self.redirect_uri),
        ]:
            if url is not None and urlsplit(url).scheme not in ("https", "http"):
                raise ValueError(f"{name} must be an http(s) URL")

    def __repr__(self) -> str:
        return f"OAuth2Client(client_id={self.client_id!r}, token_endpoint={self.token_endpoint!r})"

    def create_authorization_url(
        self,
        state: str,
        code_verifier: str | None = None,
        *,
        scopes: Iterable[str] = (),
        nonce: str | None = None,
        extra_params: Mapping[str, str] | None = None,
    ) -> str:
        """The URL to send the user to. With a verifier, PKCE S256 (``plain`` is never sent)."""
        params: dict[str, str] = {"response_type": "code", "client_id": self.client_id}
        if self.redirect_uri is not None:
            params["redirect_uri"] = self.redirect_uri
        scope = self.scope_separator.join(scopes)
        if scope:
            params["scope"] = scope
        params["state"] = state
        if code_verifier is not None:
            params["code_challenge"] = create_code_challenge(code_verifier)
            params["code_challenge_method"] = self.code_challenge_method
        if nonce is not None:
            params["nonce"] = nonce
        for key, value in (extra_params or {}).items():
            params.setdefault(key, value)
        separator = "&" if urlsplit(self.authorization_endpoint).query else "?"
        return f"{self.authorization_endpoint}{separator}{urlencode(params)}"

    def token_request(self, url: str, form: dict[str, str]) -> httpx.Request:
        """A POST of ``form`` to ``url`` (the token or revocation endpoint), the client
        authenticated as ``token_endpoint_auth`` says."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.token_endpoint_auth == "client_secret_basic" and self.client_secret is not None:
            # RFC 6749 §2.3.1: form-urlencode both parts before joining them.
            user = urlencode({"": self.client_id})[1:]
            password = urlencode({"": self.client_secret})[1:]
            credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {credentials}"
        else:
            form["client_id"] = self.client_id
            if self.token_endpoint_auth == "client_secret_post" and self.client_secret is not None:
                form["client_secret"] = self.client_secret
        return httpx.Request("POST", url, data=form, headers=headers)

    def authorization_code_request(
        self, code: str, code_verifier: str | None = None
    ) -> httpx.Request:
        """The request that exchanges an authorization code for tokens (RFC 6749 §4.1.3)."""
        form = {"grant_type": "authorization_code", "code": code}
        if self.redirect_uri is not None:
            form["redirect_uri"] = self.redirect_uri
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self.token_request(self.token_endpoint, form)

    def refresh_request(self, refresh_token: str, scopes: Iterable[str] = ()) -> httpx.Request:
        """The request for new tokens from a refresh token (RFC 6749 §6)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        scope = self.scope_separator.join(scopes)
        if scope:
            form["scope"] = scope
        return self.token_request(self.token_endpoint, form)

    def revocation_request(self, token: str, token_type_hint: str | None = None) -> httpx.Request:
        """The request that revokes a token (RFC 7009); ``OAuthUnsupportedError`` when the
        provider has no revocation endpoint."""
        if self.revocation_endpoint is None:
            raise OAuthUnsupportedError("this provider has no token revocation endpoint")
        form = {"token": token}
        if token_type_hint is not None:
            form["token_type_hint"] = token_type_hint
        return self.token_request(self.revocation_endpoint, form)

    def read_tokens(self, response: httpx.Response, *, what: str) -> OAuth2Tokens:
        """The tokens of a token endpoint's answer, dated by ``clock``; else the right
        ``OAuthError`` (``what`` names the request in its message)."""
        data = json_response(response, what=what, errors=self.errors)
        return OAuth2Tokens.from_response(data, now=self.clock())

    def read_revocation(self, response: httpx.Response) -> None:
        """Nothing for a revocation the endpoint accepted; else the right ``OAuthError``.

        A 2xx answer needs no body (RFC 7009 §2.2), but one whose body is an error under
        ``errors`` is refused all the same, as the token endpoint's are: the app must not
        believe revoked a token that is not."""
        # Slack's envelope says ok:false with HTTP 200: read every such answer.
        if not response.is_success or self.errors == "ok_false":
            json_response(response, what="the revocation request", errors=self.errors)
            return
        data = parse_json(response.content)
        if (
            error := provider_error(data, status=response.status_code, errors=self.errors)
        ) is not None:
            raise error
