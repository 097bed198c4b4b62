"""What every provider's tests share: a mocked provider (``ProviderMock``, an
``httpx.MockTransport`` routing by method and URL), an ID token signer for OpenID
providers (``IDTokenSigner``), and one complete sign-in through ``SignInFlow``, sync
or async (``sign_in``). No network: every answer is a fixture in the provider's
documented shape.

    mock = ProviderMock()
    mock.route("POST", "https://discord.com/api/oauth2/token", json={"access_token": ...})
    mock.route("GET", "https://discord.com/api/users/@me", json=USER)
    result = await sign_in(mode, Discord("id", "secret", REDIRECT_URI, **mock.clients()))
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.oauth import (
    FlowResult,
    FlowStart,
    OAuth2Tokens,
    OAuthProvider,
    OAuthProviderError,
    ProviderFailedError,
    ProviderUser,
    SignInFlow,
    provider,
)
from lucia.oauth.providers import (
    VK,
    Bitbucket,
    Discord,
    Dropbox,
    Facebook,
    GitHub,
    Kakao,
    Naver,
    Reddit,
    SpecProvider,
    Spotify,
    X,
    Yandex,
)

__all__ = [
    "BASIC",
    "PLAIN_PROVIDERS",
    "IDTokenSigner",
    "ProviderMock",
    "answer_oidc",
    "answer_plain",
    "assert_authorization_url",
    "assert_by_slug",
    "assert_client_auth",
    "assert_signed_in_email",
    "assert_token_error",
    "authorization_params",
    "first_sign_in",
    "load_fixture",
    "mocked",
    "plain_provider",
    "refresh",
    "refreshed",
    "refused_revocation",
    "revoke",
    "revoked",
    "sign_in",
    "sign_in_fails",
    "user_of",
    "without",
]

FIXTURES = Path(__file__).parent / "fixtures"

REDIRECT_URI = "https://app.example/login/provider/callback"
CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
SECRET_KEY = "k" * 32

E = TypeVar("E", bound=Exception)

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


@dataclass
class ProviderMock:
    """A provider's endpoints, mocked: ``route`` an answer (a response, or a function of
    the request) to a method and a URL (its query ignored); every request is kept in
    ``requests``. ``authorization`` holds the last authorization URL's parameters
    (``sign_in`` sets it), for answers that echo the nonce."""

    routes: dict[tuple[str, str], Answer] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    authorization: dict[str, str] = field(default_factory=dict)

    def route(
        self,
        method: str,
        url: str,
        answer: Answer | None = None,
        *,
        status: int = 200,
        json: Any = None,
    ) -> None:
        """Answer ``method url`` with ``answer``, or with ``json`` (and ``status``)."""
        self.routes[(method.upper(), url)] = (
            answer if answer is not None else httpx.Response(status, json=json)
        )

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url.copy_with(query=None))
        answer = self.routes.get((request.method, url))
        if answer is None:
            return httpx.Response(404, json={"error": "not_found", "error_description": url})
        return answer(request) if callable(answer) else answer

    def clients(self) -> dict[str, Any]:
        """``http_client=`` and ``async_http_client=`` on this mock, for a provider."""
        transport = httpx.MockTransport(self.handler)
        return {
            "http_client": httpx.Client(transport=transport),
            "async_http_client": httpx.AsyncClient(transport=transport),
        }

    def last(self, method: str, url: str) -> httpx.Request:
        """The last request sent to ``method url``."""
        for request in reversed(self.requests):
            if request.method == method and str(request.url.copy_with(query=None)) == url:
                return request
        raise AssertionError(f"no {method} {url} was sent")


def form(request: httpx.Request) -> dict[str, str]:
    """A form-encoded request body."""
    return dict(parse_qsl(request.content.decode()))


def authorization_params(url: str) -> dict[str, str]:
    """The query parameters of an authorization URL."""
    return dict(parse_qsl(urlsplit(url).query))


@functools.cache
def _key(kid: str) -> RSAKey:
    # Cached: an RSA key takes up to a tenth of a second to generate.
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class IDTokenSigner:
    """Signs ID tokens as an OpenID provider would (RS256) and publishes its JWKS."""

    issuer: str
    client_id: str = CLIENT_ID
    kid: str = "test-key"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_key(self.kid).as_dict(private=False)]}

    def id_token(self, claims: Mapping[str, Any], *, nonce: str | None = None) -> str:
        """An ID token with ``claims`` over the usual ones (iss, aud, iat, exp; nonce)."""
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 600}
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims)
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        return jwt.encode(header, payload, _key(self.kid))


async def sign_in(
    mode: str,
    provider: OAuthProvider,
    *,
    callback: Mapping[str, str] | None = None,
    mock: ProviderMock | None = None,
    code: str = "test-code",
) -> FlowResult:
    """One complete sign-in with ``provider`` through ``SignInFlow`` (``mode`` "sync" or
    "async"), over an in-memory lucia: start, the provider's redirect back with ``code``
    and the state (plus ``callback``'s parameters), and the callback."""
    store = MemoryAdapter()
    auth: Lucia | AsyncLucia = (
        AsyncLucia(AsyncMemoryAdapter(store)) if mode == "async" else Lucia(store)
    )
    flow = SignInFlow(auth, [provider], secret_keys=[SECRET_KEY])
    name = provider.name
    start: FlowStart = await flow.astart(name) if mode == "async" else flow.start(name)
    params = authorization_params(start.url)
    if mock is not None:
        mock.authorization = params
    query = urlencode({"code": code, "state": params["state"], **(callback or {})})
    cookie = f"{start.cookie.name}={start.cookie.value}"
    if mode == "async":
        return await flow.acallback(name, query, cookie)
    return flow.callback(name, query, cookie)


def token_answer(**extra: Any) -> dict[str, Any]:
    """A token endpoint's success answer (RFC 6749 §5.1)."""
    return {
        "access_token": "test-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "test-refresh-token",
        **extra,
    }


def dumps(data: Any) -> bytes:
    return json.dumps(data).encode()


def load_fixture(slug: str, name: str) -> Any:
    """The JSON fixture ``fixtures/<slug>/<name>.json``: an answer in the provider's
    documented shape."""
    return json.loads((FIXTURES / slug / f"{name}.json").read_text())


def answer_oidc(
    mock: ProviderMock,
    signer: IDTokenSigner,
    *,
    token_url: str,
    keys_url: str,
    token: Mapping[str, Any],
    claims: Mapping[str, Any],
    userinfo_url: str | None = None,
    userinfo: Any = None,
    nonce: bool = True,
) -> ProviderMock:
    """Route an OpenID provider's answers on ``mock``: its token endpoint answering
    ``token`` with an ID token of ``claims`` signed by ``signer`` (echoing the nonce of
    the authorization URL ``sign_in`` saw, when ``nonce``), its keys, and ``userinfo`` at
    ``userinfo_url`` when given."""

    def token_answer(request: httpx.Request) -> httpx.Response:
        sent = mock.authorization.get("nonce") if nonce else None
        return httpx.Response(200, json={**token, "id_token": signer.id_token(claims, nonce=sent)})

    mock.route("POST", token_url, token_answer)
    mock.route("GET", keys_url, json=signer.jwks())
    if userinfo_url is not None:
        mock.route("GET", userinfo_url, json=userinfo)
    return mock


# What the plain OAuth 2.0 providers' test files (test_discord.py ... test_naver.py,
# test_answer_shapes.py, test_plain_secrets.py) each wrote again.

#: The plain OAuth 2.0 providers (no ID token): each reads its user from its own API.
PLAIN_PROVIDERS: list[type[SpecProvider]] = [
    GitHub,
    Discord,
    Facebook,
    X,
    Spotify,
    Dropbox,
    Bitbucket,
    Reddit,
    VK,
    Kakao,
    Yandex,
    Naver,
]


def plain_provider(
    cls: type[SpecProvider], answer: Answer, *, client_secret: str = CLIENT_SECRET
) -> SpecProvider:
    """A ``cls`` (sync only) whose every request is answered by ``answer``: a response,
    or a function of the request."""

    def handler(request: httpx.Request) -> httpx.Response:
        return answer(request) if callable(answer) else answer

    built: Any = cls
    provider: SpecProvider = built(
        CLIENT_ID,
        client_secret,
        REDIRECT_URI,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return provider


def answer_plain(
    token_url: str, token: Any, user_url: str, user: Any, *, user_method: str = "GET"
) -> ProviderMock:
    """A ``ProviderMock`` answering a plain provider's sign-in: ``token`` at ``token_url``
    (POST) and ``user`` at ``user_method user_url``."""
    mock = ProviderMock()
    mock.route("POST", token_url, json=token)
    mock.route(user_method, user_url, json=user)
    return mock


def user_of(provider: OAuthProvider, token: Any = None) -> ProviderUser:
    """The user ``provider.get_user`` reads with the tokens of ``token`` (a token
    answer; ``token_answer()`` when None), outside the flow."""
    answer = httpx.Response(200, json=token_answer() if token is None else token)
    return provider.get_user(provider.read_tokens(answer, what="the token request"))


def assert_by_slug(
    slug: str,
    cls: type[OAuthProvider],
    *,
    client_secret: str | None = CLIENT_SECRET,
    **parameters: Any,
) -> OAuthProvider:
    """Assert that ``provider(slug, ...)`` builds a ``cls`` named ``slug`` whose repr
    holds no client secret; the provider, for a test's further checks."""
    built = provider(
        slug,
        client_id=CLIENT_ID,
        client_secret=client_secret,
        redirect_uri=REDIRECT_URI,
        **parameters,
    )
    assert type(built) is cls
    assert built.name == slug
    assert CLIENT_SECRET not in repr(built)
    return built


async def sign_in_fails(
    mode: str,
    provider: OAuthProvider,
    mock: ProviderMock,
    cause: type[E],
    *,
    error: str | None = None,
    callback: Mapping[str, str] | None = None,
) -> E:
    """Assert that a sign-in with ``provider`` (``sign_in``) fails with
    ``ProviderFailedError`` whose cause is a ``cause`` (with the provider's error code
    ``error``, when given); the cause, for a test's further checks."""
    with pytest.raises(ProviderFailedError) as caught:
        await sign_in(mode, provider, mock=mock, callback=callback)
    failure = caught.value.cause
    assert isinstance(failure, cause), repr(failure)
    if error is not None:
        coded: BaseException = failure  # narrowed apart, so the return stays an E
        assert isinstance(coded, OAuthProviderError), repr(coded)
        assert coded.error == error
    return failure


async def refresh(
    mode: str,
    provider: OAuthProvider,
    refresh_token: str = "old-refresh",
    *,
    user_id: str | None = None,
) -> OAuth2Tokens:
    """``provider``'s refresh of ``refresh_token`` (for ``user_id``, when given):
    ``refresh_access_token``, or ``arefresh_access_token`` in mode "async"."""
    if mode == "async":
        return await provider.arefresh_access_token(refresh_token, user_id=user_id)
    return provider.refresh_access_token(refresh_token, user_id=user_id)


async def revoke(mode: str, provider: OAuthProvider, token: str) -> None:
    """``provider``'s revocation of ``token``: ``revoke_token``, or ``arevoke_token`` in
    mode "async"."""
    if mode == "async":
        await provider.arevoke_token(token)
    else:
        provider.revoke_token(token)


BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def assert_client_auth(request: httpx.Request, how: Literal["basic", "post"]) -> dict[str, str]:
    """Assert how a token request authenticates the client, and return its form:
    "basic", HTTP Basic of ``CLIENT_ID:CLIENT_SECRET`` and no secret in the form
    (client_secret_basic); "post", ``client_id`` and ``client_secret`` in the form and
    no Authorization header (client_secret_post)."""
    sent = form(request)
    if how == "basic":
        assert request.headers.get("authorization") == BASIC
        assert "client_secret" not in sent
    else:
        assert "authorization" not in request.headers
        assert sent.get("client_id") == CLIENT_ID
        assert sent.get("client_secret") == CLIENT_SECRET
    return sent


# What the OpenID Connect providers' tests each wrote again (besides sign_in_fails,
# refresh, revoke and assert_client_auth above): the authorization URL's common
# parameters, an answer less some members.


def assert_authorization_url(
    provider: OAuthProvider,
    endpoint: str,
    *,
    scope: str,
    pkce: bool = True,
    nonce: bool = True,
) -> dict[str, str]:
    """The parameters of ``provider``'s authorization URL, once checked. The provider
    must use PKCE if and only if ``pkce``, and a nonce if and only if ``nonce``; the URL,
    made as the sign-in flow makes it (state "the-state", a verifier and nonce "n-1"
    where the provider uses them), must be at ``endpoint`` with the state, ``scope``,
    the nonce when ``nonce`` and an S256 challenge when ``pkce``."""
    assert provider.uses_pkce is pkce
    assert provider.uses_nonce is nonce
    url = provider.create_authorization_url(
        "the-state", "v" * 43 if pkce else None, nonce="n-1" if nonce else None
    )
    assert url.startswith(f"{endpoint}?"), url
    params = authorization_params(url)
    assert params["state"] == "the-state"
    assert params["scope"] == scope
    assert params.get("nonce") == ("n-1" if nonce else None)
    if pkce:
        assert params["code_challenge_method"] == "S256"
        assert params["code_challenge"]
    else:
        assert "code_challenge" not in params
    return params


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """``mapping`` less ``keys``: an answer without, say, the email claims."""
    return {k: v for k, v in mapping.items() if k not in keys}


P = TypeVar("P", bound=OAuthProvider)


def mocked(
    cls: type[P], mock: ProviderMock, *, client_secret: str | None = CLIENT_SECRET, **options: Any
) -> P:
    """A ``cls`` (the test client, ``client_secret`` and ``REDIRECT_URI``, ``options``)
    whose requests, sync and async, go to ``mock``."""
    # Any: every provider class takes the client's id, secret and redirect URI first,
    # though OAuthProvider itself does not declare them.
    build: Any = cls
    built: P = build(CLIENT_ID, client_secret, REDIRECT_URI, **mock.clients(), **options)
    return built


async def refreshed(
    mode: str,
    build: Callable[[ProviderMock], OAuthProvider],
    token_url: str,
    answer: Any,
    refresh_token: str = "old-refresh",
) -> tuple[OAuth2Tokens, httpx.Request]:
    """A refresh (``refresh``) of ``refresh_token`` by the provider ``build`` makes on a
    mock whose ``token_url`` answers ``answer``: the tokens read, and the token request
    sent (checked to be that refresh: its grant type and refresh token)."""
    mock = ProviderMock()
    mock.route("POST", token_url, json=answer)
    tokens = await refresh(mode, build(mock), refresh_token)
    sent = mock.last("POST", token_url)
    assert form(sent)["grant_type"] == "refresh_token"
    assert form(sent)["refresh_token"] == refresh_token
    return tokens, sent


async def assert_token_error(
    mode: str,
    build: Callable[[ProviderMock], OAuthProvider],
    mock: ProviderMock,
    token_url: str,
    answer: Any,
    *,
    status: int = 400,
    error: str = "invalid_grant",
    callback: Mapping[str, str] | None = None,
) -> OAuthProviderError:
    """Route ``answer`` (with ``status``) at ``token_url`` on ``mock``: a sign-in with the
    provider ``build`` makes on it must then fail with ``ProviderFailedError`` caused by
    an ``OAuthProviderError`` with the provider's ``error`` code; that cause, for a
    test's further checks."""
    mock.route("POST", token_url, status=status, json=answer)
    return await sign_in_fails(
        mode, build(mock), mock, OAuthProviderError, error=error, callback=callback
    )


async def first_sign_in(
    mode: str,
    build: Callable[[ProviderMock], OAuthProvider],
    mock: ProviderMock,
    *,
    callback: Mapping[str, str] | None = None,
) -> FlowResult:
    """A sign-in (``sign_in``) with the provider ``build`` makes on ``mock``, checked to
    create a user and to name the provider."""
    built = build(mock)
    result = await sign_in(mode, built, mock=mock, callback=callback)
    assert result.created
    assert result.provider == built.name
    return result


async def revoked(
    mode: str,
    build: Callable[[ProviderMock], OAuthProvider],
    token: str,
    url: str,
    answer: Answer | None = None,
    *,
    json: Any = None,
    method: str = "POST",
) -> httpx.Request:
    """A revocation (``revoke``) of ``token`` by the provider ``build`` makes on a mock
    whose ``method url`` answers ``answer`` (or 200 with ``json``): the request sent."""
    mock = ProviderMock()
    mock.route(method, url, answer, json=json)
    await revoke(mode, build(mock), token)
    return mock.last(method, url)


def refused_revocation(
    build: Callable[[ProviderMock], OAuthProvider],
    url: str,
    error: type[E],
    answer: Answer | None = None,
    *,
    status: int = 200,
    json: Any = None,
    method: str = "POST",
    token: str = "an-access-token",
) -> E:
    """Assert that the provider ``build`` makes on a mock whose ``method url`` answers
    ``answer`` (or ``json`` with ``status``) does not take ``token`` as revoked:
    ``revoke_token`` raises ``error``; that exception."""
    mock = ProviderMock()
    mock.route(method, url, answer, status=status, json=json)
    with pytest.raises(error) as caught:
        build(mock).revoke_token(token)
    return caught.value


async def assert_signed_in_email(
    mode: str,
    provider: OAuthProvider,
    mock: ProviderMock,
    email: str | None,
    *,
    verified: bool = False,
) -> ProviderUser:
    """A sign-in (``sign_in``) with ``provider`` on ``mock``, checked to give the user
    ``email``, verified if and only if ``verified`` (an unverified or absent address is
    never said verified); the provider's user, for a test's further checks."""
    user = (await sign_in(mode, provider, mock=mock)).provider_user
    assert user.email == email
    assert user.email_verified is verified
    return user
