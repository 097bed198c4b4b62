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

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.oauth import FlowResult, FlowStart, OAuthProvider, SignInFlow

__all__ = [
    "IDTokenSigner",
    "ProviderMock",
    "answer_oidc",
    "authorization_params",
    "load_fixture",
    "sign_in",
]

FIXTURES = Path(__file__).parent / "fixtures"

REDIRECT_URI = "https://app.example/login/provider/callback"
CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
SECRET_KEY = "k" * 32

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
