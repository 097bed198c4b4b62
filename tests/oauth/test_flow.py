"""SignInFlow: the eight steps, sync and async, and SECURITY.md items 13, 15, 22-31, 37-40, 42.

Most tests run twice, with ``Lucia`` + ``MemoryAdapter`` and with ``AsyncLucia`` +
``AsyncMemoryAdapter``, against ``FakeIdP``: an authorization server answering
through ``httpx.MockTransport`` that checks what a real one checks (single-use
codes, PKCE S256, the redirect_uri, client credentials) and counts requests.
The real local stand-ins (``LocalGitHub``, ``LocalOIDCProvider``) come at the end.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucia import AsyncLucia, InvalidCredentialsError, Lucia
from lucia.accounts import ReauthenticationRequiredError
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.cookies import Cookie
from lucia.models import Session, User
from lucia.oauth._sealed import Sealer
from lucia.oauth.client import OAuth2Client, OAuth2Tokens, create_code_challenge
from lucia.oauth.client import json_response as parse_json
from lucia.oauth.errors import OAuthProviderError, OAuthResponseError, OAuthTransportError
from lucia.oauth.flow import (
    RESPONSE_HEADERS,
    FlowResult,
    FlowStart,
    IdentityInUseError,
    InvalidCallbackError,
    InvalidStateError,
    IssuerMismatchError,
    LinkMismatchError,
    LinkReauthenticationRequiredError,
    ProviderDeniedError,
    ProviderFailedError,
    SignInError,
    SignInFlow,
    UnknownProviderError,
    normalize_email,
    safe_next,
)
from lucia.oauth.oidc import IDTokenError
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.google import Google
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.testing.github import LocalGitHub
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock

CLIENT_ID = "flow-test-client"
CLIENT_SECRET = "flow-test-client-secret-" + "s3cr3t" * 4
REDIRECT_URI = "https://app.example/login/fake/callback"
ISSUER = "https://idp.example"
PASSWORD = "correct horse battery staple"


# The fake authorization server and its provider

IDPS: list[FakeIdP] = []
EXTRA_SECRETS: list[str] = []


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test here runs with every logger at DEBUG (so each log call is
    formatted), and no record may hold a secret the fake provider handed out or
    saw: codes, tokens, states, nonces, code verifiers, the client secret."""
    IDPS.clear()
    EXTRA_SECRETS.clear()
    caplog.set_level(logging.DEBUG)
    yield
    secrets_seen = [
        CLIENT_SECRET,
        *(secret for idp in IDPS for secret in idp.secrets),
        *EXTRA_SECRETS,
    ]
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        for secret in secrets_seen:
            assert secret not in text, record.getMessage()


class FakeIdP:
    """An authorization server behind ``httpx.MockTransport``.

    ``authorize(url, sub)`` plays the user's browser at the authorization
    endpoint and returns the callback's query string. The token endpoint
    redeems each code once, checks client credentials, redirect_uri and PKCE;
    ``/user`` answers for a Bearer token. ``secrets`` collects every code and
    token it handed out, for the no-leak checks.
    """

    def __init__(self, base: str = ISSUER) -> None:
        self.base = base
        self.accounts: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.requests: list[httpx.Request] = []
        self.secrets: list[str] = []
        self.token_fault: Callable[[httpx.Request], httpx.Response] | None = None
        self.user_fault: Callable[[httpx.Request], httpx.Response] | None = None
        self.user_gate: Callable[[], None] | None = None
        self.async_user_gate: Callable[[], Awaitable[None]] | None = None
        self._lock = threading.Lock()
        IDPS.append(self)

    def account(self, sub: str, **claims: Any) -> dict[str, Any]:
        self.accounts[sub] = {"sub": sub, **claims}
        return self.accounts[sub]

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if request.url.path == path)

    def authorize(self, url: str, sub: str, *, iss: str | None = ISSUER, **extra: str) -> str:
        params = dict(parse_qsl(urlsplit(url).query))
        assert params["response_type"] == "code"
        assert params["client_id"] == CLIENT_ID
        code = secrets.token_urlsafe(16)
        self.secrets += [code, params["state"], *filter(None, [params.get("nonce")])]
        with self._lock:
            self.codes[code] = {
                "sub": sub,
                "challenge": params.get("code_challenge"),
                "method": params.get("code_challenge_method"),
                "redirect_uri": params.get("redirect_uri"),
                "nonce": params.get("nonce"),
            }
        answer = {"code": code, "state": params["state"]}
        if iss is not None:
            answer["iss"] = iss
        answer.update(extra)
        return urlencode(answer)

    def deny(self, url: str, error: str = "access_denied", **extra: str) -> str:
        params = dict(parse_qsl(urlsplit(url).query))
        return urlencode({"error": error, "state": params["state"], "iss": ISSUER, **extra})

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/user" and self.user_gate is not None:
            self.user_gate()
        return self._answer(request)

    async def ahandler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/user" and self.async_user_gate is not None:
            await self.async_user_gate()
        return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/token":
            if self.token_fault is not None:
                return self.token_fault(request)
            return self._token(request)
        if request.url.path == "/user":
            if self.user_fault is not None:
                return self.user_fault(request)
            sub = self.tokens.get(request.headers.get("authorization", "")[len("Bearer ") :])
            if sub is None:
                return httpx.Response(401, json={"error": "invalid_token"})
            return httpx.Response(200, json=self.accounts[sub])
        return httpx.Response(404, text="not found")

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return httpx.Response(401, json={"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code":
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        if form.get("code_verifier"):
            self.secrets.append(form["code_verifier"])
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)
        if grant is None:
            return httpx.Response(400, json={"error": "invalid_grant"})
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        if grant["challenge"] is not None and (
            grant["method"] != "S256"
            or create_code_challenge(form.get("code_verifier", "")) != grant["challenge"]
        ):
            return httpx.Response(400, json={"error": "invalid_grant"})
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.secrets += [access, refresh]
        self.tokens[access] = grant["sub"]
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
            "nonce": grant["nonce"],
        }
        return httpx.Response(200, json=answer)


class FakeProvider(OAuthProvider):
    """A provider of ``FakeIdP``; with ``nonce=True`` it checks the nonce like an OpenID one."""

    def __init__(
        self,
        idp: FakeIdP,
        name: str = "fake",
        *,
        issuer: str | None = ISSUER,
        requires_iss: bool = False,
        pkce: bool = True,
        nonce: bool = False,
    ) -> None:
        client = OAuth2Client(
            CLIENT_ID,
            CLIENT_SECRET,
            REDIRECT_URI,
            authorization_endpoint=f"{idp.base}/authorize",
            token_endpoint=f"{idp.base}/token",
        )
        super().__init__(
            client,
            http_client=httpx.Client(transport=httpx.MockTransport(idp.handler)),
            async_http_client=httpx.AsyncClient(transport=httpx.MockTransport(idp.ahandler)),
        )
        self.idp = idp
        self.name = name
        self.issuer = issuer
        self.requires_iss_parameter = requires_iss
        self.uses_pkce = pkce  # type: ignore[misc]
        self.uses_nonce = nonce  # type: ignore[misc]

    # The nonce comes back in the token answer here: checked after the exchange,
    # like an OpenID provider checks its ID token's.
    def validate_authorization_code(
        self, code: str, code_verifier: str | None = None, *, nonce: str | None = None
    ) -> OAuth2Tokens:
        return self._check_nonce(super().validate_authorization_code(code, code_verifier), nonce)

    async def avalidate_authorization_code(
        self, code: str, code_verifier: str | None = None, *, nonce: str | None = None
    ) -> OAuth2Tokens:
        tokens = await super().avalidate_authorization_code(code, code_verifier)
        return self._check_nonce(tokens, nonce)

    @staticmethod
    def _check_nonce(tokens: OAuth2Tokens, nonce: str | None) -> OAuth2Tokens:
        if tokens.raw.get("nonce") != nonce:
            raise OAuthResponseError("the nonce does not match")
        return tokens

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        request = httpx.Request(
            "GET",
            f"{self.idp.base}/user",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        return (request,)

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        data = parse_json(responses[0], what="the user request")
        return ProviderUser(
            id=str(data["sub"]),  # a KeyError here is "a provider bug" for one test
            email=data.get("email"),
            email_verified=data.get("email_verified") is True,
            name=data.get("name"),
            username=data.get("username"),
            raw=data,
        )


# Sync and async, one test body


def cookie_header(start: FlowStart) -> str:
    return f"{start.cookie.name}={start.cookie.value}"


def process_sealer(cookie_name: str) -> Sealer:
    """What the flows under test seal with: they have no secret_keys, so this process's key."""
    return Sealer(cookie_name, None, max_length=4096)


def transaction(start: FlowStart) -> dict[str, Any]:
    """The sealed transaction's fields, opened with the key only the server holds."""
    raw = process_sealer(start.cookie.name).open(start.cookie.value)
    assert raw is not None
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def encode_transaction(data: Any, cookie_name: str = "__Host-lucia_oauth") -> str:
    """``data`` sealed as the server would: what only a holder of the key could forge."""
    return process_sealer(cookie_name).seal(json.dumps(data, separators=(",", ":")).encode())


@dataclass
class Env:
    """One flavour (sync or async) of lucia over a memory store, and a FakeIdP."""

    mode: str
    clock: Clock
    store: MemoryAdapter
    auth: Lucia | AsyncLucia
    idp: FakeIdP
    providers: list[FakeProvider] = field(default_factory=list)

    def provider(self, name: str = "fake", **options: Any) -> FakeProvider:
        provider = FakeProvider(self.idp, name, **options)
        self.providers.append(provider)
        return provider

    def flow(self, providers: Any = None, **options: Any) -> SignInFlow:
        return SignInFlow(self.auth, providers or [self.provider()], **options)

    async def start(self, flow: SignInFlow, provider: str = "fake", **options: Any) -> FlowStart:
        if self.mode == "async":
            return await flow.astart(provider, **options)
        return flow.start(provider, **options)

    async def callback(
        self, flow: SignInFlow, provider: str, query: Any, cookie: str | None, **options: Any
    ) -> FlowResult:
        if self.mode == "async":
            return await flow.acallback(provider, query, cookie, **options)
        return flow.callback(provider, query, cookie, **options)

    async def lucia(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.auth, method)(*args, **kwargs)
        if self.mode == "async":
            result = await result
        return result

    async def sign_in(
        self,
        flow: SignInFlow,
        sub: str,
        provider: str = "fake",
        *,
        next: str | None = None,
        link_session: Session | None = None,
        **options: Any,
    ) -> FlowResult:
        start = await self.start(flow, provider, next=next, link_session=link_session)
        query = self.idp.authorize(start.url, sub)
        return await self.callback(flow, provider, query, cookie_header(start), **options)

    async def fail(
        self, flow: SignInFlow, provider: str, query: Any, cookie: str | None, **options: Any
    ) -> SignInError:
        with pytest.raises(SignInError) as info:
            await self.callback(flow, provider, query, cookie, **options)
        return info.value

    @property
    def users(self) -> int:
        return len(self.store._users)

    @property
    def sessions(self) -> int:
        return len(self.store._sessions)


def make_env(mode: str, clock: Clock, **lucia_options: Any) -> Env:
    store = MemoryAdapter()
    auth: Lucia | AsyncLucia
    if mode == "async":
        auth = AsyncLucia(AsyncMemoryAdapter(store), clock=clock, **lucia_options)
    else:
        auth = Lucia(store, clock=clock, **lucia_options)
    return Env(mode, clock, store, auth, FakeIdP())


@pytest.fixture(params=["sync", "async"])
def env(request: pytest.FixtureRequest, clock: Clock) -> Env:
    return make_env(request.param, clock)


@pytest.fixture
def sync_env(clock: Clock) -> Env:
    return make_env("sync", clock)


@pytest.fixture
def sync_flow(sync_env: Env) -> SignInFlow:
    return sync_env.flow()


# The flow end to end


async def test_sign_in_creates_the_user_once_and_a_new_session_each_time(env: Env) -> None:
    env.idp.account("u-1", email="ada@example.com", email_verified=True, username="ada")
    flow = env.flow()
    first = await env.sign_in(flow, "u-1")
    assert first.created
    assert not first.linked
    assert first.user.attributes["email"] == "ada@example.com"
    assert first.provider == "fake"
    assert first.provider_user.id == "u-1"
    assert first.tokens.access_token in env.idp.tokens
    second = await env.sign_in(flow, "u-1")
    assert not second.created
    assert second.user.id == first.user.id
    assert first.session is not None
    assert second.session is not None
    assert first.session.id != second.session.id
    assert env.users == 1
    assert env.sessions == 2
    validated = await env.lucia("validate_session", second.session.token)
    assert validated is not None
    assert validated[1].id == first.user.id
    session_cookie, deletion = second.cookies
    assert session_cookie == env.auth.create_session_cookie(second.session)
    assert deletion == flow.clear_transaction_cookie()
    assert (await env.lucia("get_user_by_key", "fake", "u-1")).id == first.user.id


async def test_session_attributes_are_stored(env: Env) -> None:
    env.idp.account("u-1")
    result = await env.sign_in(env.flow(), "u-1", session_attributes={"ua": "Firefox"})
    assert result.session is not None
    assert result.session.attributes == {"ua": "Firefox"}


async def test_user_attributes_callback(env: Env) -> None:
    env.idp.account("u-1", username="ada")
    seen: list[tuple[OAuthProvider, ProviderUser]] = []

    def attributes(provider: OAuthProvider, user: ProviderUser) -> dict[str, Any]:
        seen.append((provider, user))
        return {"handle": user.username}

    result = await env.sign_in(env.flow(user_attributes=attributes), "u-1")
    assert result.user.attributes == {"handle": "ada"}
    assert seen[0][0].name == "fake"
    assert seen[0][1].id == "u-1"


async def test_unknown_provider_is_404(env: Env) -> None:
    flow = env.flow()
    with pytest.raises(UnknownProviderError) as info:
        await env.start(flow, "nope")
    assert info.value.status == 404
    error = await env.fail(flow, "nope", "code=x&state=y", None)
    assert isinstance(error, UnknownProviderError)
    assert error.status == 404
    assert error.cookies == (flow.clear_transaction_cookie(),)


async def test_a_provider_can_have_a_route_name(env: Env) -> None:
    env.idp.account("u-1")
    provider = env.provider("https://idp.example/tenant")
    flow = env.flow({"corp": provider})
    result = await env.sign_in(flow, "u-1", provider="corp")
    assert result.provider == "corp"
    assert (await env.lucia("get_user_by_key", "https://idp.example/tenant", "u-1")) is not None
    with pytest.raises(ValueError, match="route name"):
        env.flow([provider])


def test_configuration_is_checked(sync_env: Env) -> None:
    provider = sync_env.provider()
    with pytest.raises(ValueError, match="two providers"):
        SignInFlow(sync_env.auth, [provider, sync_env.provider()])
    with pytest.raises(TypeError):
        SignInFlow(object(), [provider])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SignInFlow(sync_env.auth, [object()])  # type: ignore[list-item]
    for unsafe in ["//evil.com", "https://evil.com", "dashboard"]:
        with pytest.raises(ValueError, match="default_redirect"):
            SignInFlow(sync_env.auth, [provider], default_redirect=unsafe)
    with pytest.raises(ValueError, match="cookie name"):
        SignInFlow(sync_env.auth, [provider], transaction_cookie_name="bad name")


async def test_sync_and_async_entry_points_need_their_lucia(clock: Clock) -> None:
    sync_env, async_env = make_env("sync", clock), make_env("async", clock)
    with pytest.raises(TypeError, match="acallback"):
        async_env.flow().callback("fake", "", None)
    with pytest.raises(TypeError, match="callback"):
        await sync_env.flow().acallback("fake", "", None)


def test_repr_and_results_hide_secrets(sync_env: Env) -> None:
    sync_env.idp.account("u-1")
    flow = sync_env.flow()
    start = flow.start("fake")
    state = transaction(start)["s"]
    assert state not in repr(start)
    assert start.cookie.value not in repr(start)
    result = flow.callback("fake", sync_env.idp.authorize(start.url, "u-1"), cookie_header(start))
    assert result.session is not None
    assert result.session.token is not None
    text = repr(result)
    for secret in [result.session.token, result.tokens.access_token, *sync_env.idp.secrets]:
        assert secret not in text
    assert CLIENT_SECRET not in repr(flow)
    assert CLIENT_SECRET not in repr(flow.providers)


# 13. The transaction cookie


def parse_set_cookie(cookie: Cookie) -> tuple[str, dict[str, str]]:
    first, *rest = str(cookie).split("; ")
    attributes = {}
    for part in rest:
        key, _, value = part.partition("=")
        attributes[key.lower()] = value
    return first, attributes


async def test_sec13_transaction_cookie_attributes(env: Env) -> None:
    start = await env.start(env.flow())
    pair, attributes = parse_set_cookie(start.cookie)
    assert pair.startswith("__Host-lucia_oauth=")
    assert attributes == {
        "max-age": "600",
        "path": "/",
        "httponly": "",
        "secure": "",
        "samesite": "Lax",
    }
    assert start.cookies == (start.cookie,)
    assert start.headers["Cache-Control"] == "no-store"
    assert start.headers["Referrer-Policy"] == "no-referrer"
    short = await env.start(env.flow(transaction_max_age=120))
    assert parse_set_cookie(short.cookie)[1]["max-age"] == "120"


async def test_sec13_insecure_dev_cookies_follow_lucia(clock: Clock) -> None:
    dev = make_env("sync", clock, secure_cookies=False)
    start = await dev.start(dev.flow())
    pair, attributes = parse_set_cookie(start.cookie)
    assert pair.startswith("lucia_oauth=")
    assert "secure" not in attributes
    assert attributes["httponly"] == ""
    assert attributes["samesite"] == "Lax"
    forced = await dev.start(dev.flow(secure_cookies=True, transaction_cookie_name="tx"))
    assert forced.cookie.name == "__Host-tx"
    assert forced.cookie.attributes.secure


@pytest.mark.parametrize("max_age", [0, -1, 601, 3600])
def test_sec13_transaction_lifetime_is_at_most_ten_minutes(sync_env: Env, max_age: int) -> None:
    with pytest.raises(ValueError, match="600"):
        sync_env.flow(transaction_max_age=max_age)


async def test_sec13_cookie_deleted_on_success(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    result = await env.sign_in(flow, "u-1")
    deletion = result.cookies[-1]
    pair, attributes = parse_set_cookie(deletion)
    assert pair == "__Host-lucia_oauth="
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert "secure" in attributes


async def test_sec13_expired_transaction_is_rejected(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    env.clock.advance(seconds=601)
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "expired"
    assert env.idp.count("/token") == 0
    assert env.users == 0


def malformed_values(start: FlowStart) -> list[str]:
    good = transaction(start)
    values = [
        "!!!",
        "not-base64-json",
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode().rstrip("="),
        encode_transaction([1, 2, 3]),
        encode_transaction("a string"),
        encode_transaction({}),
        encode_transaction({**good, "extra": 1}),
        encode_transaction({**good, "v": 1}),  # the unsealed format of before
        encode_transaction({**good, "s": 12345}),
        encode_transaction({**good, "s": "short"}),
        encode_transaction({**good, "s": "no spaces or + in a state........."}),
        encode_transaction({**good, "cv": "too-short"}),
        encode_transaction({**good, "cv": "ü" * 43}),
        encode_transaction({**good, "e": "1"}),
        encode_transaction({**good, "e": 1.5}),
        encode_transaction({**good, "e": True}),
        encode_transaction({**good, "ir": "yes"}),
        encode_transaction({**good, "r": "//evil.com"}),
        encode_transaction({**good, "r": 7}),
        encode_transaction({**good, "l": ""}),
        encode_transaction({**good, "l": "x" * 300}),
        # A link names the user, the session and the window together, or none of them.
        encode_transaction({**good, "l": "u1", "la": 600}),
        encode_transaction({**good, "l": "u1", "ls": "s1"}),
        encode_transaction({**good, "ls": "s1", "la": 600}),
        encode_transaction({**good, "l": "u1", "ls": "s1", "la": 0}),
        encode_transaction({**good, "l": "u1", "ls": "s1", "la": True}),
        encode_transaction({**good, "l": "u1", "ls": "s1", "la": 600.0}),
        encode_transaction({**good, "l": "u1", "ls": "s1", "la": 86_401}),
        encode_transaction({**good, "l": "u1", "ls": "", "la": 600}),
        encode_transaction({**good, "p": ""}),
        encode_transaction({**good, "i": ""}),
        encode_transaction({**good, "n": "n" * 300}),
        encode_transaction({**good, "pad": "x" * 4000}),
        encode_transaction({k: v for k, v in good.items() if k != "s"}),
        encode_transaction([[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]),
        process_sealer(start.cookie.name).seal(b"not json"),
        process_sealer(start.cookie.name).seal(b"\xff\xfe"),
        process_sealer(start.cookie.name).seal(b"[" * 3000),
        base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("="),
        start.cookie.value[:-3],
    ]
    return values


async def test_sec13_malformed_cookie_is_invalid_state(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    for value in malformed_values(start):
        header = f"{flow.transaction_cookie_name}={value}"
        error = await env.fail(flow, "fake", query, header)
        assert isinstance(error, InvalidStateError), value
        assert error.reason in {"malformed_cookie", "state_mismatch"}, value
        assert error.cookies == (flow.clear_transaction_cookie(),)
    oversized = f"{flow.transaction_cookie_name}={'A' * 5000}"
    error = await env.fail(flow, "fake", query, oversized)
    assert isinstance(error, InvalidStateError)
    assert error.reason == "malformed_cookie"
    assert env.idp.count("/token") == 0
    assert env.users == 0
    # The good cookie still works afterwards: nothing above consumed its state.
    assert (await env.callback(flow, "fake", query, cookie_header(start))).created


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=600) | st.binary(max_size=600).map(lambda b: b.decode("latin-1")))
def test_sec13_any_cookie_value_gives_a_sign_in_error(
    sync_env: Env, sync_flow: SignInFlow, value: str
) -> None:
    flow = sync_flow
    query = urlencode({"code": "c", "state": "s" * 43, "iss": ISSUER})
    for header in [f"__Host-lucia_oauth={value}", value, f"__Host-lucia_oauth={encode(value)}"]:
        with pytest.raises(SignInError) as info:
            flow.callback("fake", query, header)
        assert info.value.status == 400
    assert sync_env.idp.count("/token") == 0


def encode(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("utf-8", "replace")).rstrip(b"=").decode()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["v", "p", "s", "cv", "n", "i", "ir", "r", "l", "e"]),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=10,
    ),
)
def test_sec13_forged_fields_never_crash(
    sync_env: Env, sync_flow: SignInFlow, key: str, value: Any
) -> None:
    flow = sync_flow
    start = flow.start("fake")
    data = {**transaction(start), key: value}
    header = f"{flow.transaction_cookie_name}={encode_transaction(data)}"
    # Without a code the flow stops before the provider, whatever the cookie holds.
    query = urlencode({"state": transaction(start)["s"], "iss": ISSUER})
    with pytest.raises(SignInError):
        flow.callback("fake", query, header)
    assert sync_env.idp.count("/token") == 0


def test_sec13_cookie_is_not_read_under_another_name(sync_env: Env) -> None:
    sync_env.idp.account("u-1")
    flow = sync_env.flow()
    start = flow.start("fake")
    query = sync_env.idp.authorize(start.url, "u-1")
    for name in ["lucia_oauth", "__HOST-lucia_oauth", "__Host-lucia_oauth2"]:
        with pytest.raises(InvalidStateError) as info:
            flow.callback("fake", query, f"{name}={start.cookie.value}")
        assert info.value.reason == "missing_cookie"


# Every failure deletes the cookie and creates nothing


async def failure_state_mismatch(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    query = env.idp.authorize(start.url, "u-1", state="forged" * 8)
    return await env.fail(flow, "fake", query, cookie_header(start))


async def failure_missing_cookie(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    return await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), None)


async def failure_denied(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    return await env.fail(flow, "fake", env.idp.deny(start.url), cookie_header(start))


async def failure_wrong_iss(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    query = env.idp.authorize(start.url, "u-1", iss="https://evil.example")
    return await env.fail(flow, "fake", query, cookie_header(start))


async def failure_no_code(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    params = dict(parse_qsl(env.idp.authorize(start.url, "u-1")))
    del params["code"]
    return await env.fail(flow, "fake", params, cookie_header(start))


async def failure_token_endpoint(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    env.idp.token_fault = lambda request: httpx.Response(400, json={"error": "invalid_grant"})
    return await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))


async def failure_user_endpoint(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    env.idp.user_fault = lambda request: httpx.Response(500, text="<html>oops</html>")
    return await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))


async def failure_replay(env: Env, flow: SignInFlow, start: FlowStart) -> SignInError:
    query = env.idp.authorize(start.url, "u-1")
    await env.callback(flow, "fake", query, cookie_header(start))
    return await env.fail(flow, "fake", query, cookie_header(start))


FAILURES = {
    "state_mismatch": (failure_state_mismatch, InvalidStateError, 400),
    "missing_cookie": (failure_missing_cookie, InvalidStateError, 400),
    "denied": (failure_denied, ProviderDeniedError, 400),
    "wrong_iss": (failure_wrong_iss, IssuerMismatchError, 400),
    "no_code": (failure_no_code, InvalidCallbackError, 400),
    "token_endpoint": (failure_token_endpoint, ProviderFailedError, 400),
    "user_endpoint": (failure_user_endpoint, ProviderFailedError, 502),
    "replay": (failure_replay, InvalidStateError, 400),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_sec13_cookie_deleted_on_every_failure(env: Env, case: str) -> None:
    trigger, kind, status = FAILURES[case]
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    error = await trigger(env, flow, start)
    assert type(error) is kind
    assert error.status == status
    assert error.cookies == (flow.clear_transaction_cookie(),)
    assert error.headers == RESPONSE_HEADERS
    assert error.provider == "fake"
    assert "<script" not in error.render_html()
    if case != "replay":
        assert env.users == 0
        assert env.sessions == 0


# 22. State


async def test_sec22_state_has_at_least_128_bits_and_is_fresh(env: Env) -> None:
    flow = env.flow()
    states = set()
    for _ in range(20):
        start = await env.start(flow)
        state = dict(parse_qsl(urlsplit(start.url).query))["state"]
        assert state == transaction(start)["s"]
        assert len(base64.urlsafe_b64decode(state + "=")) >= 16
        states.add(state)
    assert len(states) == 20


async def test_sec22_state_mismatch_rejected(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    params = dict(parse_qsl(env.idp.authorize(start.url, "u-1")))
    params["state"] = params["state"][:-1] + ("A" if params["state"][-1] != "A" else "B")
    error = await env.fail(flow, "fake", params, cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "state_mismatch"
    assert error.status == 400
    assert env.idp.count("/token") == 0
    assert env.users == 0


async def test_sec22_state_from_another_browser_rejected(env: Env) -> None:
    env.idp.account("attacker")
    flow = env.flow()
    attacker = await env.start(flow)
    victim = await env.start(flow)
    # Login CSRF: the attacker's callback URL, opened in the victim's browser.
    query = env.idp.authorize(attacker.url, "attacker")
    error = await env.fail(flow, "fake", query, cookie_header(victim))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "state_mismatch"
    assert env.idp.count("/token") == 0
    assert env.users == 0


async def test_sec22_missing_cookie_rejected(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    for header in [None, "", "other=1", "__Host-lucia_oauth="]:
        error = await env.fail(flow, "fake", query, header)
        assert isinstance(error, InvalidStateError)
        assert error.reason == "missing_cookie"
    assert env.idp.count("/token") == 0
    assert env.users == 0


async def test_sec22_missing_state_rejected(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    params = dict(parse_qsl(env.idp.authorize(start.url, "u-1")))
    del params["state"]
    error = await env.fail(flow, "fake", params, cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "missing_state"
    assert env.idp.count("/token") == 0


async def test_sec22_replayed_state_rejected(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    await env.callback(flow, "fake", query, cookie_header(start))
    assert env.idp.count("/token") == 1
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "replayed"
    assert env.idp.count("/token") == 1
    assert env.users == 1
    assert env.sessions == 1


async def test_sec22_a_failed_callback_consumes_the_state(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    await env.fail(flow, "fake", env.idp.deny(start.url), cookie_header(start))
    # The same transaction cannot be finished afterwards, even with a good code.
    error = await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "replayed"
    assert env.idp.count("/token") == 0


# 23. Bound to the provider


async def test_sec23_transaction_for_github_rejected_at_google(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([env.provider("github"), env.provider("google")])
    start = await env.start(flow, "github")
    query = env.idp.authorize(start.url, "u-1")
    error = await env.fail(flow, "google", query, cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "wrong_provider"
    assert error.status == 400
    assert error.provider == "google"
    assert env.idp.count("/token") == 0
    assert env.users == 0


# 24. PKCE S256 and nonce


async def test_sec24_pkce_s256_and_a_fresh_verifier_and_nonce_per_start(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([env.provider(nonce=True)])
    seen: set[str] = set()
    for _ in range(3):
        start = await env.start(flow)
        params = dict(parse_qsl(urlsplit(start.url).query))
        data = transaction(start)
        assert params["code_challenge_method"] == "S256"
        assert params["code_challenge"] == create_code_challenge(data["cv"])
        assert len(data["cv"]) == 43
        assert params["nonce"] == data["n"]
        assert data["cv"] not in start.url
        seen |= {data["cv"], data["n"], data["s"]}
    assert len(seen) == 9
    assert (await env.sign_in(flow, "u-1")).created


async def test_sec24_the_stored_verifier_and_nonce_reach_the_provider(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([env.provider(nonce=True)])
    start = await env.start(flow)
    data = transaction(start)
    await env.callback(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))
    (token_request,) = [r for r in env.idp.requests if r.url.path == "/token"]
    form = parse_qs(token_request.content.decode())
    assert form["code_verifier"] == [data["cv"]]
    assert form["grant_type"] == ["authorization_code"]


async def test_sec24_a_wrong_verifier_or_nonce_fails(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([env.provider(nonce=True)])
    for field_name in ["cv", "n"]:
        start = await env.start(flow)
        query = env.idp.authorize(start.url, "u-1")
        other = await env.start(flow)
        data = {**transaction(start), field_name: transaction(other)[field_name]}
        header = f"{flow.transaction_cookie_name}={encode_transaction(data)}"
        error = await env.fail(flow, "fake", query, header)
        assert isinstance(error, ProviderFailedError)
    assert env.users == 0


async def test_sec24_no_pkce_for_a_provider_without_it(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([env.provider(pkce=False)])
    start = await env.start(flow)
    assert "code_challenge" not in start.url
    assert transaction(start)["cv"] is None
    assert (
        await env.callback(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))
    ).created


class EchoingProvider(FakeProvider):
    """A provider whose token request must echo a field of the callback (as VK ID's
    ``device_id``): its own ``callback_code_request``, and the newer
    ``validate_authorization_code`` that takes ``callback_fields``."""

    callback_fields = ("device_id",)

    def callback_code_request(
        self, code: str, code_verifier: str | None, fields: Mapping[str, str]
    ) -> httpx.Request:
        if "device_id" not in fields:
            raise OAuthResponseError("the callback carries no device_id")
        form = {"grant_type": "authorization_code", "code": code, "device_id": fields["device_id"]}
        form["redirect_uri"] = REDIRECT_URI
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self.client.token_request(self.client.token_endpoint, form)

    def validate_authorization_code(
        self,
        code: str,
        code_verifier: str | None = None,
        *,
        nonce: str | None = None,
        callback_fields: Mapping[str, str] | None = None,
    ) -> OAuth2Tokens:
        return OAuthProvider.validate_authorization_code(
            self, code, code_verifier, nonce=nonce, callback_fields=callback_fields
        )

    async def avalidate_authorization_code(
        self,
        code: str,
        code_verifier: str | None = None,
        *,
        nonce: str | None = None,
        callback_fields: Mapping[str, str] | None = None,
    ) -> OAuth2Tokens:
        return await OAuthProvider.avalidate_authorization_code(
            self, code, code_verifier, nonce=nonce, callback_fields=callback_fields
        )


async def test_a_callback_field_reaches_a_token_request_that_reads_it(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([EchoingProvider(env.idp)])
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1", device_id="device-7")
    assert (await env.callback(flow, "fake", query, cookie_header(start))).created
    (token_request,) = [r for r in env.idp.requests if r.url.path == "/token"]
    assert parse_qs(token_request.content.decode())["device_id"] == ["device-7"]
    # Without the field, the provider is given none and refuses: a failed sign-in.
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, ProviderFailedError)


class NamingProvider(FakeProvider):
    """A provider with ``callback_fields`` for ``callback_user`` only, overriding
    ``validate_authorization_code`` without ``callback_fields`` (as FakeProvider does)."""

    callback_fields = ("user",)

    def callback_user(self, user: ProviderUser, fields: Mapping[str, str]) -> ProviderUser:
        return replace(user, name=fields["user"])


async def test_providers_without_callback_code_request_are_called_as_before(env: Env) -> None:
    # FakeProvider's validate_authorization_code takes no callback_fields: the flow
    # gives them only to a provider with a callback_code_request of its own.
    env.idp.account("u-1")
    flow = env.flow([NamingProvider(env.idp)])
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1", user="Ada")
    result = await env.callback(flow, "fake", query, cookie_header(start))
    assert result.provider_user.name == "Ada"
    (token_request,) = [r for r in env.idp.requests if r.url.path == "/token"]
    assert "user" not in parse_qs(token_request.content.decode())


# 25. RFC 9207 iss


@pytest.mark.parametrize(
    "iss",
    [
        "https://evil.example",
        ISSUER + "/",
        ISSUER + ".evil.example",
        "https://IDP.example",
        ISSUER[:-1],
        "",
    ],
)
async def test_sec25_iss_mismatch_rejected(env: Env, iss: str) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1", iss=iss)
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, IssuerMismatchError)
    assert error.status == 400
    assert env.idp.count("/token") == 0
    assert env.users == 0


async def test_sec25_iss_checked_on_error_responses_too(env: Env) -> None:
    flow = env.flow()
    start = await env.start(flow)
    query = urlencode(
        {"error": "access_denied", "state": transaction(start)["s"], "iss": "https://evil.example"}
    )
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, IssuerMismatchError)


async def test_sec25_missing_iss_rejected_when_required(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow([env.provider(requires_iss=True)])
    start = await env.start(flow)
    assert transaction(start)["ir"] is True
    error = await env.fail(
        flow, "fake", env.idp.authorize(start.url, "u-1", iss=None), cookie_header(start)
    )
    assert isinstance(error, IssuerMismatchError)
    assert env.idp.count("/token") == 0
    # Without the promise, a missing iss is accepted (the provider may not support it).
    lenient = env.flow()
    start = await env.start(lenient)
    query = env.idp.authorize(start.url, "u-1", iss=None)
    assert (await env.callback(lenient, "fake", query, cookie_header(start))).created


async def test_sec25_the_issuer_is_stored_per_transaction(env: Env) -> None:
    env.idp.account("u-1")
    provider = env.provider()
    flow = env.flow([provider])
    start = await env.start(flow)
    assert transaction(start)["i"] == ISSUER
    # Reconfigured between start and callback: the transaction's issuer decides.
    provider.issuer = "https://new-idp.example"
    query = env.idp.authorize(start.url, "u-1", iss=ISSUER)
    assert (await env.callback(flow, "fake", query, cookie_header(start))).created
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1", iss=ISSUER)
    assert isinstance(
        await env.fail(flow, "fake", query, cookie_header(start)), IssuerMismatchError
    )


# 26. Error responses


async def test_sec26_access_denied_with_valid_state(env: Env) -> None:
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.deny(start.url, error_description="The user said no")
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, ProviderDeniedError)
    assert error.error == "access_denied"
    assert error.error_description == "The user said no"
    assert error.status == 400
    assert error.cookies == (flow.clear_transaction_cookie(),)
    assert env.idp.count("/token") == 0
    assert env.users == 0
    assert env.sessions == 0


async def test_sec26_error_with_bad_state_is_invalid_state(env: Env) -> None:
    flow = env.flow()
    start = await env.start(flow)
    query = urlencode({"error": "access_denied", "state": "x" * 43, "iss": ISSUER})
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, InvalidStateError)
    assert error.status == 400
    error = await env.fail(flow, "fake", {"error": "access_denied"}, None)
    assert isinstance(error, InvalidStateError)


async def test_sec26_error_description_is_escaped_when_rendered(env: Env) -> None:
    flow = env.flow()
    start = await env.start(flow)
    script = "<script>alert(document.cookie)</script>"
    query = env.idp.deny(
        start.url, error=f"access_denied{script}", error_description=f'no {script} & "x"'
    )
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, ProviderDeniedError)
    assert script in (error.error_description or "")  # kept as the provider's text...
    page = error.render_html()
    assert "<script" not in page.lower()  # ...and never rendered unescaped
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in page
    assert "&amp;" in page
    assert "&quot;x&quot;" in page
    for text in [str(error), repr(error), error.public_message, error.message]:
        assert "<" not in text
        assert "no " not in text


async def test_sec26_every_error_page_escapes(env: Env) -> None:
    for error in [
        InvalidStateError("<b>"),
        IssuerMismatchError("<b>"),
        ProviderDeniedError("<b>", "<i>", "javascript:alert(1)"),
        ProviderFailedError(OAuthProviderError("<b>", "<script>x</script>")),
    ]:
        page = error.render_html()
        assert "<b>" not in page
        assert "<i>" not in page
        assert "<script" not in page
        assert "javascript:" not in page


async def test_sec26_control_characters_in_the_description_are_stripped(env: Env) -> None:
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.deny(start.url, error_description="line one\r\nSet-Cookie: x=1\x00")
    error = await env.fail(flow, "fake", query, cookie_header(start))
    assert isinstance(error, ProviderDeniedError)
    assert error.error_description is not None
    assert "\r" not in error.error_description
    assert "\n" not in error.error_description


# 27. Token endpoint failures are login failures


TOKEN_FAULTS: dict[str, tuple[Callable[[httpx.Request], httpx.Response], type[Exception], int]] = {
    "invalid_grant": (
        lambda r: httpx.Response(400, json={"error": "invalid_grant"}),
        OAuthProviderError,
        400,
    ),
    "invalid_client": (
        lambda r: httpx.Response(401, json={"error": "invalid_client"}),
        OAuthProviderError,
        400,
    ),
    "200_with_error": (
        lambda r: httpx.Response(200, json={"error": "bad_verification_code"}),
        OAuthProviderError,
        400,
    ),
    "500_html": (
        lambda r: httpx.Response(500, text="<html><body>Internal error</body></html>"),
        OAuthResponseError,
        502,
    ),
    "not_json": (lambda r: httpx.Response(200, text="{truncated"), OAuthResponseError, 502),
    "no_access_token": (
        lambda r: httpx.Response(200, json={"token_type": "bearer"}),
        OAuthResponseError,
        502,
    ),
    "mac_token": (
        lambda r: httpx.Response(200, json={"access_token": "t", "token_type": "mac"}),
        OAuthResponseError,
        502,
    ),
}


def raise_connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def raise_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


# JSON that is not an object: a typed login failure, never a 500 (the flow's
# guard would also catch a parser that tripped over it).
TOKEN_FAULTS["json_array"] = (lambda r: httpx.Response(200, json=[]), OAuthResponseError, 502)
TOKEN_FAULTS["down"] = (raise_connect_error, OAuthTransportError, 502)
TOKEN_FAULTS["timeout"] = (raise_timeout, OAuthTransportError, 502)


@pytest.mark.parametrize("fault", list(TOKEN_FAULTS))
async def test_sec27_token_endpoint_failures_are_login_failures(env: Env, fault: str) -> None:
    answer, cause, status = TOKEN_FAULTS[fault]
    env.idp.account("u-1")
    env.idp.token_fault = answer
    flow = env.flow()
    start = await env.start(flow)
    error = await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert isinstance(error.cause, cause)
    assert error.__cause__ is error.cause
    assert error.status == status
    assert error.cookies == (flow.clear_transaction_cookie(),)
    assert env.idp.count("/user") == 0
    assert env.users == 0


async def test_sec27_token_type_is_case_insensitive(env: Env) -> None:
    env.idp.account("u-1")

    def uppercase(request: httpx.Request) -> httpx.Response:
        data = json.loads(env.idp._token(request).content)
        data["token_type"] = "BEARER"
        return httpx.Response(200, json=data)

    env.idp.token_fault = uppercase
    assert (await env.sign_in(env.flow(), "u-1")).created


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(200, json={"no_sub": True}),  # a provider bug: KeyError
        lambda r: httpx.Response(200, json={"sub": ""}),
        lambda r: httpx.Response(200, json={"sub": "x" * 300}),
        lambda r: httpx.Response(200, text="<html>"),
        lambda r: httpx.Response(401, json={"error": "invalid_token"}),
    ],
)
async def test_sec27_a_bad_user_answer_is_a_login_failure(env: Env, answer: Any) -> None:
    env.idp.user_fault = answer
    flow = env.flow()
    start = await env.start(flow)
    error = await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert error.status in (400, 502)
    assert env.users == 0


# 28. Redirect URI


async def test_sec28_redirect_uri_comes_from_the_configuration(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    assert dict(parse_qsl(urlsplit(start.url).query))["redirect_uri"] == REDIRECT_URI
    query = env.idp.authorize(start.url, "u-1")
    # Nothing the request carries (its Host, its URL) reaches the flow: only the
    # query and the cookie header do.
    await env.callback(flow, "fake", query, cookie_header(start))
    (token_request,) = [r for r in env.idp.requests if r.url.path == "/token"]
    assert parse_qs(token_request.content.decode())["redirect_uri"] == [REDIRECT_URI]


# 29. Post-login redirect

UNSAFE_NEXT = [
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "https://evil.com",
    "http://evil.com/",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "/%2f%2fevil.com",
    "/%5Cevil.com",
    "/%252F%252Fevil.com",
    "javascript:x",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "https://app@evil.com",
    "//app@evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "/\r/evil.com",
    "\t//evil.com",
    "/\t\\evil.com",
    " /dashboard",
    "/%09/evil.com",
    "/%0a/evil.com",
    "/%0D/evil.com",
    "/%00",
    "/path\\to",
    "/ü",
    "/a b",
    "dashboard",
    "evil.com",
    "data:text/html,x",
    "///evil.com",
    "/" + "a" * 3000,
    "/%ff",
    "",
]
SAFE_NEXT = ["/", "/dashboard", "/a/b?c=d&e=f#top", "/search?q=a%20b", "/a%2Fb", "/~user/"]


@pytest.mark.parametrize("value", UNSAFE_NEXT)
def test_sec29_unsafe_next_goes_to_the_default(value: str) -> None:
    assert safe_next(value, "/home") == "/home"


@pytest.mark.parametrize("value", SAFE_NEXT)
def test_sec29_same_origin_paths_are_kept(value: str) -> None:
    assert safe_next(value, "/home") == value


def test_sec29_non_strings_and_unsafe_defaults() -> None:
    assert safe_next(None) == "/"
    assert safe_next(b"/x") == "/"  # type: ignore[arg-type]
    assert safe_next("//evil.com", "//evil.com") == "/"


def check_safe(result: str) -> None:
    assert result.startswith("/")
    assert result[1:2] not in ("/", "\\")
    assert all("\x21" <= c <= "\x7e" for c in result)
    assert "\\" not in result


@settings(max_examples=1000)
@given(value=st.text(), default=st.text())
def test_sec29_safe_next_fuzz(value: str, default: str) -> None:
    result = safe_next(value, default)
    check_safe(result)
    assert result in (value, default, "/")
    assert safe_next(result, "/other") == result


@settings(max_examples=1000)
@given(
    parts=st.lists(
        st.sampled_from(
            [
                "/",
                "//",
                "\\",
                "%2F",
                "%2f",
                "%5C",
                "%25",
                "%09",
                "\t",
                "\n",
                "\r",
                " ",
                "@",
                "evil.com",
                "https:",
                "javascript:",
                "?",
                "#",
                "%",
                "a",
                ".",
                "%0a",
                "ー",
            ]
        ),
        max_size=8,
    )
)
def test_sec29_safe_next_fuzz_with_tricky_pieces(parts: list[str]) -> None:
    value = "".join(parts)
    result = safe_next(value, "/fallback")
    check_safe(result)
    assert result in (value, "/fallback")


async def test_sec29_next_is_stored_in_the_transaction(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow(default_redirect="/home")
    result = await env.sign_in(flow, "u-1", next="/settings?tab=keys")
    assert result.redirect_to == "/settings?tab=keys"
    for value in ["//evil.com", "https://evil.com", "/%09/evil.com", None]:
        start = await env.start(flow, next=value)
        assert transaction(start)["r"] == "/home"
        assert "evil" not in start.url
        query = env.idp.authorize(start.url, "u-1")
        assert (
            await env.callback(flow, "fake", query, cookie_header(start))
        ).redirect_to == "/home"


# 30. A clean redirect


async def test_sec30_redirect_to_is_a_clean_url(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow, next="/welcome")
    query = env.idp.authorize(start.url, "u-1")
    result = await env.callback(flow, "fake", query, cookie_header(start))
    params = dict(parse_qsl(query))
    assert result.redirect_to == "/welcome"
    assert params["code"] not in result.redirect_to
    assert params["state"] not in result.redirect_to
    assert result.headers["Referrer-Policy"] == "no-referrer"
    assert result.headers["Cache-Control"] == "no-store"


# 31. Authorization code only


async def test_sec31_authorization_code_only(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    assert dict(parse_qsl(urlsplit(start.url).query))["response_type"] == "code"
    # An implicit-style answer (tokens, no code) signs nobody in.
    implicit = {
        "access_token": "t",
        "id_token": "x.y.z",
        "state": transaction(start)["s"],
        "iss": ISSUER,
    }
    error = await env.fail(flow, "fake", implicit, cookie_header(start))
    assert isinstance(error, InvalidCallbackError)
    assert env.idp.count("/token") == 0
    assert env.users == 0


async def test_repeated_parameters_are_refused(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    error = await env.fail(flow, "fake", query + "&code=injected", cookie_header(start))
    assert isinstance(error, InvalidCallbackError)
    error = await env.fail(flow, "fake", {"code": ["a", "b"]}, cookie_header(start))
    assert isinstance(error, InvalidCallbackError)
    error = await env.fail(flow, "fake", "code=" + "x" * 5000, cookie_header(start))
    assert isinstance(error, InvalidCallbackError)
    assert env.idp.count("/token") == 0


# 37. Identity keyed on (provider, immutable id)


async def test_sec37_renaming_at_the_provider_keeps_the_user(env: Env) -> None:
    env.idp.account("42", username="old-name", email="old@example.com", email_verified=True)
    flow = env.flow()
    first = await env.sign_in(flow, "42")
    env.idp.account("42", username="new-name", email="new@example.com", email_verified=True)
    second = await env.sign_in(flow, "42")
    assert second.user.id == first.user.id
    assert not second.created
    assert second.provider_user.username == "new-name"
    keys = await env.lucia("get_user_keys", first.user.id)
    assert [(k.provider_id, k.provider_user_id) for k in keys] == [("fake", "42")]


async def test_sec37_same_email_under_two_subjects_gives_two_users(env: Env) -> None:
    env.idp.account("1", email="shared@example.com", email_verified=True)
    env.idp.account("2", email="shared@example.com", email_verified=True, username="1")
    flow = env.flow()
    one = await env.sign_in(flow, "1")
    two = await env.sign_in(flow, "2")
    assert one.user.id != two.user.id
    assert one.created
    assert two.created
    assert env.users == 2


async def test_sec37_same_subject_at_two_providers_gives_two_users(env: Env) -> None:
    env.idp.account("1")
    flow = env.flow([env.provider("a"), env.provider("b")])
    one = await env.sign_in(flow, "1", "a")
    two = await env.sign_in(flow, "1", "b")
    assert one.user.id != two.user.id


# 38. No silent auto-linking by email


async def existing_password_user(
    env: Env, email: str, *, verified: bool, password: str | None = None
) -> Any:
    return await env.lucia(
        "create_user",
        "email",
        email,
        password=password,
        attributes={"email": email, "email_verified": verified},
    )


async def test_sec38_no_auto_linking_by_default(env: Env) -> None:
    existing = await existing_password_user(env, "ada@example.com", verified=True)
    env.idp.account("g-1", email="ada@example.com", email_verified=True)
    result = await env.sign_in(env.flow(), "g-1")
    assert result.created
    assert result.user.id != existing.id
    assert not result.linked
    assert len(await env.lucia("get_user_keys", existing.id)) == 1


async def test_sec38_linking_by_verified_email_when_enabled(env: Env) -> None:
    existing = await existing_password_user(env, "ada@example.com", verified=True)
    env.idp.account("g-1", email="Ada@Example.com", email_verified=True)
    flow = env.flow(link_by_verified_email=True)
    result = await env.sign_in(flow, "g-1")
    assert result.user.id == existing.id
    assert result.linked
    assert not result.created
    keys = await env.lucia("get_user_keys", existing.id)
    assert {(k.provider_id, k.provider_user_id) for k in keys} == {
        ("email", "ada@example.com"),
        ("fake", "g-1"),
    }
    again = await env.sign_in(flow, "g-1")
    assert again.user.id == existing.id
    assert not again.linked


@pytest.mark.parametrize(
    ("provider_verified", "lucia_verified", "lucia_email"),
    [
        (False, True, "ada@example.com"),  # the provider does not vouch for it
        (True, False, "ada@example.com"),  # lucia's side never verified it
        (True, True, "someone-else@example.com"),  # the verified address is another
    ],
)
async def test_sec38_linking_needs_verification_on_both_sides(
    env: Env, provider_verified: bool, lucia_verified: bool, lucia_email: str
) -> None:
    existing = await env.lucia(
        "create_user",
        "email",
        "ada@example.com",
        attributes={"email": lucia_email, "email_verified": lucia_verified},
    )
    env.idp.account("g-1", email="ada@example.com", email_verified=provider_verified)
    result = await env.sign_in(env.flow(link_by_verified_email=True), "g-1")
    assert result.created
    assert result.user.id != existing.id
    assert not result.linked


async def test_sec38_linking_across_two_providers(env: Env) -> None:
    env.idp.account("1", email="ada@example.com", email_verified=True)
    flow = env.flow([env.provider("github"), env.provider("google")], link_by_verified_email=True)
    first = await env.sign_in(flow, "1", "github")
    assert first.created
    assert first.user.attributes["email_verified"] is True
    second = await env.sign_in(flow, "1", "google")
    assert second.user.id == first.user.id
    assert second.linked


async def test_sec38_lookalike_addresses_never_link(env: Env) -> None:
    await existing_password_user(env, "ada@example.com", verified=True)
    env.idp.account("g-1", email="ada\uff20example.com", email_verified=True)
    env.idp.account("g-2", email="ad\u0430@example.com", email_verified=True)  # Cyrillic a
    flow = env.flow(link_by_verified_email=True)
    assert (await env.sign_in(flow, "g-1")).created
    assert (await env.sign_in(flow, "g-2")).created


def test_normalize_email() -> None:
    assert normalize_email(" Ada@Example.COM ") == "ada@example.com"
    for bad in [
        None,
        "",
        "ada",
        "@example.com",
        "ada@",
        "a@b@c",
        "ada\uff20example.com",
        "ad\u0430@example.com",
        "a d@example.com",
        "a\n@example.com",
        "x" * 400,
    ]:
        assert normalize_email(bad) is None, bad


# 39. Pre-hijack


async def test_sec39_pre_registered_unverified_account_is_not_linked(env: Env) -> None:
    attacker = await existing_password_user(
        env, "victim@example.com", verified=False, password=PASSWORD
    )
    env.idp.account("v-1", email="victim@example.com", email_verified=True)
    for link in [False, True]:
        result = await env.sign_in(env.flow(link_by_verified_email=link), "v-1")
        assert result.user.id != attacker.id
        assert not result.linked
    victim = await env.lucia("get_user_by_key", "fake", "v-1")
    # The attacker's password opens the attacker's own account, never the victim's.
    signed_in = await env.lucia("authenticate", "email", "victim@example.com", PASSWORD)
    assert signed_in.id == attacker.id != victim.id
    victim_keys = await env.lucia("get_user_keys", victim.id)
    assert [(k.provider_id, k.has_password) for k in victim_keys] == [("fake", False)]
    with pytest.raises(InvalidCredentialsError):
        await env.lucia("authenticate", "fake", "v-1", PASSWORD)


# 40. Concurrency


def test_sec40_concurrent_first_callbacks_make_one_user_threads(sync_env: Env) -> None:
    sync_env.idp.account("new")
    barrier = threading.Barrier(4, timeout=10)
    sync_env.idp.user_gate = barrier.wait
    flow = sync_env.flow()
    starts = [flow.start("fake") for _ in range(4)]
    queries = [sync_env.idp.authorize(start.url, "new") for start in starts]
    results: list[FlowResult] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results.append(flow.callback("fake", queries[index], cookie_header(starts[index])))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert len({r.user.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert sync_env.users == 1
    assert sync_env.sessions == 4


async def test_sec40_concurrent_first_callbacks_make_one_user_async(clock: Clock) -> None:
    env = make_env("async", clock)
    env.idp.account("new")
    barrier = asyncio.Barrier(4)

    async def gate() -> None:
        await asyncio.wait_for(barrier.wait(), 10)

    env.idp.async_user_gate = gate
    flow = env.flow()
    results = await asyncio.gather(*(env.sign_in(flow, "new") for _ in range(4)))
    assert len({r.user.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert env.users == 1
    assert env.sessions == 4


def test_sec40_concurrent_replays_make_one_session(sync_env: Env) -> None:
    sync_env.idp.account("u-1")
    flow = sync_env.flow()
    start = flow.start("fake")
    query = sync_env.idp.authorize(start.url, "u-1")
    barrier = threading.Barrier(8, timeout=10)
    outcomes: list[object] = []

    def replay() -> None:
        barrier.wait()
        try:
            outcomes.append(flow.callback("fake", query, cookie_header(start)))
        except SignInError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=replay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    successes = [o for o in outcomes if isinstance(o, FlowResult)]
    failures = [o for o in outcomes if isinstance(o, InvalidStateError)]
    assert len(successes) == 1
    assert len(failures) == 7
    assert all(f.reason == "replayed" for f in failures)
    assert sync_env.idp.count("/token") == 1
    assert sync_env.sessions == 1


async def test_sec40_concurrent_replays_make_one_session_async(clock: Clock) -> None:
    env = make_env("async", clock)
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    outcomes = await asyncio.gather(
        *(flow.acallback("fake", query, cookie_header(start)) for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, FlowResult) for o in outcomes) == 1
    assert sum(isinstance(o, InvalidStateError) for o in outcomes) == 7
    assert env.idp.count("/token") == 1
    assert env.sessions == 1


async def test_sec40_replay_in_another_process_is_stopped_by_the_provider(env: Env) -> None:
    env.idp.account("u-1")
    provider = env.provider()
    # Two workers: separate flows (separate in-process guards), one store, one provider.
    worker_a, worker_b = env.flow([provider]), env.flow([provider])
    start = await env.start(worker_a)
    query = env.idp.authorize(start.url, "u-1")
    await env.callback(worker_a, "fake", query, cookie_header(start))
    error = await env.fail(worker_b, "fake", query, cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert isinstance(error.cause, OAuthProviderError)
    assert error.cause.error == "invalid_grant"
    assert env.users == 1
    assert env.sessions == 1


# 15. Linking a provider to the signed-in user


async def signed_in(env: Env, email: str = "ada@example.com") -> tuple[User, Session]:
    """A user with a password-less email key and a session created now."""
    user = await env.lucia("create_user", "email", email)
    return user, await env.lucia("create_session", user.id)


async def test_sec15_link_flow(env: Env) -> None:
    user, session = await signed_in(env)
    env.idp.account("gh-1")
    flow = env.flow()
    result = await env.sign_in(flow, "gh-1", link_session=session, current_session=session)
    assert result.user.id == user.id
    assert result.linked
    assert not result.created
    assert result.session is None
    assert result.cookies == (flow.clear_transaction_cookie(),)
    assert (await env.lucia("get_user_by_key", "fake", "gh-1")).id == user.id
    again = await env.sign_in(
        flow, "gh-1", link_session=session, current_session=session, current_user_id=user.id
    )
    assert again.user.id == user.id
    assert not again.linked
    signed_in_again = await env.sign_in(flow, "gh-1")
    assert signed_in_again.user.id == user.id
    assert signed_in_again.session is not None


async def test_sec15_link_needs_the_same_signed_in_user(env: Env) -> None:
    user, session = await signed_in(env)
    _, other_session = await signed_in(env, "eve@example.com")
    env.idp.account("gh-1")
    flow = env.flow()
    for current in [None, other_session]:
        start = await env.start(flow, link_session=session)
        assert transaction(start)["l"] == user.id
        query = env.idp.authorize(start.url, "gh-1")
        error = await env.fail(flow, "fake", query, cookie_header(start), current_session=current)
        assert isinstance(error, LinkMismatchError)
        assert error.status == 403
        assert error.cookies == (flow.clear_transaction_cookie(),)
    assert env.idp.count("/token") == 0
    assert await env.lucia("get_user_by_key", "fake", "gh-1") is None


async def test_sec43_link_finishes_only_in_the_session_that_started_it(env: Env) -> None:
    """Another session of the same user (a stolen one, say) cannot finish the link."""
    user, session = await signed_in(env)
    other_session = await env.lucia("create_session", user.id)
    env.idp.account("gh-1")
    flow = env.flow()
    start = await env.start(flow, link_session=session)
    assert transaction(start)["ls"] == session.id
    query = env.idp.authorize(start.url, "gh-1")
    error = await env.fail(flow, "fake", query, cookie_header(start), current_session=other_session)
    assert isinstance(error, LinkMismatchError)
    assert env.idp.count("/token") == 0
    assert await env.lucia("get_user_by_key", "fake", "gh-1") is None


async def test_sec43_link_is_refused_once_the_session_is_no_longer_recent(env: Env) -> None:
    """Started within the window, finished after it: 403, no code redeemed, nothing linked."""
    _, session = await signed_in(env)
    env.idp.account("gh-1")
    flow = env.flow()
    start = await env.start(flow, link_session=session, link_max_age=timedelta(minutes=5))
    assert transaction(start)["la"] == 300
    query = env.idp.authorize(start.url, "gh-1")
    env.clock.advance(seconds=301)
    error = await env.fail(flow, "fake", query, cookie_header(start), current_session=session)
    assert isinstance(error, LinkReauthenticationRequiredError)
    assert isinstance(error, ReauthenticationRequiredError)
    assert error.status == 403
    assert error.cookies == (flow.clear_transaction_cookie(),)
    assert env.idp.count("/token") == 0
    assert await env.lucia("get_user_by_key", "fake", "gh-1") is None


async def test_sec43_link_cannot_start_from_a_stale_session(env: Env) -> None:
    _, session = await signed_in(env)
    flow = env.flow()
    env.clock.advance(minutes=11)
    with pytest.raises(LinkReauthenticationRequiredError):
        await env.start(flow, link_session=session)
    start = await env.start(flow, link_session=session, link_max_age=timedelta(minutes=20))
    assert transaction(start)["la"] == 1200
    for bad in [timedelta(0), timedelta(days=2)]:
        with pytest.raises(ValueError, match="link_max_age"):
            await env.start(flow, link_session=session, link_max_age=bad)
    with pytest.raises(TypeError, match="link_max_age"):
        await env.start(flow, link_session=session, link_max_age=600)
    with pytest.raises(TypeError, match="link_session"):
        await env.start(flow, link_session=session.user_id)


async def test_sec43_a_link_needs_the_session_not_just_the_user_id(env: Env) -> None:
    user, session = await signed_in(env)
    env.idp.account("gh-1")
    flow = env.flow()
    start = await env.start(flow, link_session=session)
    query = env.idp.authorize(start.url, "gh-1")
    error = await env.fail(flow, "fake", query, cookie_header(start), current_user_id=user.id)
    assert isinstance(error, LinkMismatchError)
    with pytest.raises(ValueError, match="current_user_id"):
        await env.callback(
            flow, "fake", query, cookie_header(start), current_session=session, current_user_id="x"
        )
    assert await env.lucia("get_user_by_key", "fake", "gh-1") is None


async def test_sec15_a_forged_link_target_links_nothing(env: Env) -> None:
    """Even a holder of the key (the test) who rewrites the link target cannot link:
    the target must be the current session's user."""
    victim, _ = await signed_in(env, "victim@example.com")
    _, attacker_session = await signed_in(env, "attacker@example.com")
    env.idp.account("attacker-gh")
    flow = env.flow()
    start = await env.start(flow, link_session=attacker_session)
    forged = {**transaction(start), "l": victim.id}
    header = f"{flow.transaction_cookie_name}={encode_transaction(forged)}"
    query = env.idp.authorize(start.url, "attacker-gh")
    error = await env.fail(flow, "fake", query, header, current_session=attacker_session)
    assert isinstance(error, LinkMismatchError)
    assert await env.lucia("get_user_by_key", "fake", "attacker-gh") is None


async def test_sec15_identity_of_another_user_is_409(env: Env) -> None:
    env.idp.account("gh-1")
    flow = env.flow()
    owner = (await env.sign_in(flow, "gh-1")).user
    _, session = await signed_in(env)
    error = await env.fail(
        flow,
        "fake",
        *(await link_callback(env, flow, "gh-1", session)),
        current_session=session,
    )
    assert isinstance(error, IdentityInUseError)
    assert error.status == 409
    assert (await env.lucia("get_user_by_key", "fake", "gh-1")).id == owner.id


async def link_callback(env: Env, flow: SignInFlow, sub: str, session: Session) -> tuple[str, str]:
    start = await env.start(flow, link_session=session)
    return env.idp.authorize(start.url, sub), cookie_header(start)


async def test_sec15_link_for_a_deleted_user_fails(env: Env) -> None:
    user, session = await signed_in(env)
    env.idp.account("gh-1")
    flow = env.flow()
    query, header = await link_callback(env, flow, "gh-1", session)
    await env.lucia("delete_user", user.id)
    error = await env.fail(flow, "fake", query, header, current_session=session)
    assert isinstance(error, LinkMismatchError)
    assert env.users == 0


# 43. The transaction cookie is sealed: private and tamper-proof

OLD_KEY = "old-transaction-key-" + "o" * 32
NEW_KEY = b"new-transaction-key-" + b"n" * 32


def test_sec43_the_cookie_does_not_show_the_verifier_nonce_or_state(sync_env: Env) -> None:
    flow = sync_env.flow([sync_env.provider(nonce=True)])
    start = flow.start("fake", next="/after-sign-in")
    data = transaction(start)
    value = start.cookie.value
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    for secret in (data["cv"], data["n"], data["s"], "/after-sign-in", "fake", ISSUER):
        assert secret.encode() not in raw
        assert secret not in value
    # Nor any part of it: no 8-character piece of the verifier or nonce appears.
    for secret in (data["cv"], data["n"]):
        pieces = {secret[i : i + 8] for i in range(len(secret) - 7)}
        assert not any(piece.encode() in raw or piece in value for piece in pieces)
    # Sealed afresh each time (random nonce), though the content is alike.
    assert flow.start("fake", next="/after-sign-in").cookie.value[:20] != value[:20]


async def test_sec43_changing_any_character_of_the_cookie_is_refused(env: Env) -> None:
    env.idp.account("u-1")
    flow = env.flow()
    start = await env.start(flow)
    query = env.idp.authorize(start.url, "u-1")
    value = start.cookie.value
    for index, char in enumerate(value):
        swapped = "B" if char == "A" else "A"
        # One character changed, or the value cut short (an empty one is "missing").
        for tampered in (value[:index] + swapped + value[index + 1 :], value[: index or 1]):
            header = f"{flow.transaction_cookie_name}={tampered}"
            error = await env.fail(flow, "fake", query, header)
            assert isinstance(error, InvalidStateError), index
            assert error.reason == "malformed_cookie", index
            assert error.status == 400
    assert env.idp.count("/token") == 0
    assert env.users == 0
    assert (await env.callback(flow, "fake", query, cookie_header(start))).created


def test_sec43_a_cookie_sealed_for_another_cookie_name_is_refused(sync_env: Env) -> None:
    sync_env.idp.account("u-1")
    provider = sync_env.provider()
    flow = sync_env.flow([provider], secret_keys=[OLD_KEY])
    other = sync_env.flow([provider], secret_keys=[OLD_KEY], transaction_cookie_name="other")
    start = other.start("fake")
    query = sync_env.idp.authorize(start.url, "u-1")
    with pytest.raises(InvalidStateError) as info:
        flow.callback("fake", query, f"{flow.transaction_cookie_name}={start.cookie.value}")
    assert info.value.reason == "malformed_cookie"


async def test_sec43_key_rotation(env: Env) -> None:
    """New key first, old one kept: old cookies still finish, new cookies use the new key;
    a cookie of a key the flow does not hold is refused."""
    remember(OLD_KEY, NEW_KEY.decode())
    provider = env.provider()
    for sub in ("u-1", "u-2", "u-3"):
        env.idp.account(sub)
    before = env.flow([provider], secret_keys=[OLD_KEY])
    during = env.flow([provider], secret_keys=[NEW_KEY, OLD_KEY])
    after = env.flow([provider], secret_keys=[NEW_KEY])
    stranger = env.flow([provider], secret_keys=["someone-else's-key-" + "x" * 32])

    started_before = await env.start(before)
    result = await env.callback(
        during, "fake", env.idp.authorize(started_before.url, "u-1"), cookie_header(started_before)
    )
    assert result.created
    started_during = await env.start(during)
    query = env.idp.authorize(started_during.url, "u-2")
    for refusing in (before, stranger):
        error = await env.fail(refusing, "fake", query, cookie_header(started_during))
        assert isinstance(error, InvalidStateError)
        assert error.reason == "malformed_cookie"
    assert (await env.callback(after, "fake", query, cookie_header(started_during))).created
    started_old = await env.start(before)
    query = env.idp.authorize(started_old.url, "u-3")
    error = await env.fail(after, "fake", query, cookie_header(started_old))
    assert isinstance(error, InvalidStateError)
    assert error.reason == "malformed_cookie"
    assert env.idp.count("/token") == 2


def test_sec43_secret_keys_are_checked_and_never_shown(sync_env: Env) -> None:
    short = "too-short-a-secret"
    for keys, kind in [
        ([short], ValueError),
        ([], ValueError),
        (OLD_KEY, TypeError),
        ([OLD_KEY.encode()[:31]], ValueError),
        ([42], TypeError),
    ]:
        with pytest.raises(kind) as info:
            sync_env.flow(secret_keys=keys)
        assert short not in str(info.value)
        assert OLD_KEY[:31] not in str(info.value)
    flow = sync_env.flow(secret_keys=[OLD_KEY, NEW_KEY])
    shown = repr(flow) + repr(flow.__dict__) + repr(vars(flow._sealer))
    assert OLD_KEY not in shown
    assert NEW_KEY.decode() not in shown
    assert "Sealer(keys=2, process_key=False)" in repr(flow._sealer)


def test_sec43_without_secret_keys_one_warning_at_the_first_start(
    sync_env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    flow = sync_env.flow()
    flow.start("fake")
    flow.start("fake")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "secret_keys" in warnings[0].getMessage()
    assert "only finish in the process that started them" in warnings[0].getMessage()
    caplog.clear()
    keyed = sync_env.flow(secret_keys=[OLD_KEY])
    keyed.start("fake")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_sec43_a_framework_secret_is_adopted_only_by_a_flow_without_keys(sync_env: Env) -> None:
    sync_env.idp.account("u-1")
    provider = sync_env.provider()
    keyless = sync_env.flow([provider])
    assert not keyless._adopt_secret("short")
    assert not keyless._adopt_secret(None)
    assert keyless._adopt_secret(OLD_KEY)
    keyed = sync_env.flow([provider], secret_keys=[NEW_KEY])
    assert not keyed._adopt_secret(OLD_KEY)
    # The adopted secret seals: a flow holding that key opens the cookie.
    start = keyless.start("fake")
    query = sync_env.idp.authorize(start.url, "u-1")
    same_key = sync_env.flow([provider], secret_keys=[OLD_KEY])
    assert same_key.callback("fake", query, cookie_header(start)).created


@pytest.mark.parametrize(
    "sub", ["u\x00", "\x00", "a\nb", "tab\there", "del\x7f", "c1\x85", "\ud800"]
)
async def test_sec45_a_provider_user_id_with_a_control_character_is_refused(
    env: Env, sub: str
) -> None:
    env.idp.account(sub)
    flow = env.flow()
    start = await env.start(flow)
    error = await env.fail(flow, "fake", env.idp.authorize(start.url, sub), cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert error.status == 502
    assert env.users == 0
    assert env.sessions == 0


# 42. Nothing secret in logs


async def test_sec42_no_secret_in_any_log_record(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env.idp.account("u-1", email="ada@example.com", email_verified=True)
    flow = env.flow([env.provider(nonce=True)])
    secrets_seen: list[str] = [CLIENT_SECRET]
    starts: list[FlowStart] = []

    async def started() -> FlowStart:
        start = await env.start(flow)
        data = transaction(start)
        secrets_seen.extend([start.cookie.value, data["s"], data["cv"], data["n"]])
        starts.append(start)
        return start

    start = await started()
    result = await env.callback(
        flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start)
    )
    assert result.session is not None
    assert result.session.token is not None
    secrets_seen.append(result.session.token)
    errors: list[SignInError] = []
    for trigger, _, _ in FAILURES.values():
        env.idp.token_fault = env.idp.user_fault = None
        errors.append(await trigger(env, flow, await started()))
    for answer, _, _ in TOKEN_FAULTS.values():
        env.idp.token_fault = answer
        start = await started()
        errors.append(
            await env.fail(flow, "fake", env.idp.authorize(start.url, "u-1"), cookie_header(start))
        )
    secrets_seen.extend(env.idp.secrets)
    assert len(secrets_seen) > 40

    records = caplog.records
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        for secret in secrets_seen:
            assert secret not in text, record.getMessage()
    for error in errors:
        text = str(error) + repr(error) + error.render_html() + repr(error.cookies)
        for secret in secrets_seen:
            assert secret not in text

    def logged(message: str) -> list[logging.LogRecord]:
        return [r for r in records if r.name == "lucia.oauth" and r.getMessage() == message]

    (created,) = logged("oauth user created")
    assert created.provider_id == "fake"
    assert created.user_id == result.user.id
    signed_in = logged("oauth sign-in")
    assert signed_in[0].provider_id == "fake"  # type: ignore[attr-defined]
    assert signed_in[0].user_id == result.user.id  # type: ignore[attr-defined]
    failed = logged("oauth sign-in failed")
    assert len(failed) == len(errors)
    assert all(r.provider_id == "fake" and r.error_code for r in failed)  # type: ignore[attr-defined]


# The real local stand-ins: LocalOIDCProvider with OpenIDConnect, LocalGitHub with GitHub


def remember(*values: str | None) -> None:
    """Secrets a stand-in handed out, for the autouse no-leak check."""
    EXTRA_SECRETS.extend(value for value in values if value)


def remember_start(start: FlowStart) -> None:
    data = transaction(start)
    remember(start.cookie.value, data["s"], data["cv"], data["n"])


def remember_result(result: FlowResult, query: str) -> None:
    tokens = result.tokens
    remember(tokens.access_token, tokens.refresh_token, tokens.id_token)
    remember(dict(parse_qsl(query)).get("code"))
    if result.session is not None:
        remember(result.session.token)


@pytest.fixture(scope="module")
def local_op_server() -> Iterator[LocalOIDCProvider]:
    # One server for the module: stopping one takes half a second.
    with LocalOIDCProvider() as op:
        yield op


@pytest.fixture
def local_op(local_op_server: LocalOIDCProvider) -> LocalOIDCProvider:
    """The module's LocalOIDCProvider, its misbehaviour knobs back to normal."""
    op = local_op_server
    fresh = LocalOIDCProvider()
    for knob in [
        "user",
        "id_token_claims",
        "id_token_header",
        "signing",
        "include_c_hash",
        "discovery_overrides",
        "userinfo_overrides",
        "token_response_overrides",
        "callback_params",
        "jwks_extra",
        "authorization_error",
        "faults",
        "requests",
    ]:
        setattr(op, knob, getattr(fresh, knob))
    remember(op.client_secret)
    return op


@pytest.fixture
async def oidc(env: Env, local_op: LocalOIDCProvider) -> AsyncIterator[OpenIDConnect]:
    provider = make_oidc(local_op)
    yield provider
    await provider.aclose()


def make_oidc(op: LocalOIDCProvider) -> OpenIDConnect:
    return OpenIDConnect(op.issuer, op.client_id, op.client_secret, REDIRECT_URI)


async def oidc_sign_in(
    env: Env, flow: SignInFlow, op: LocalOIDCProvider, **options: Any
) -> tuple[FlowStart, str, FlowResult]:
    start = await env.start(flow, "local")
    remember_start(start)
    query = urlsplit(op.login(start.url)).query
    result = await env.callback(flow, "local", query, cookie_header(start), **options)
    remember_result(result, query)
    return start, query, result


async def test_local_oidc_sign_in(
    env: Env, local_op: LocalOIDCProvider, oidc: OpenIDConnect
) -> None:
    flow = env.flow({"local": oidc})
    start = await env.start(flow, "local")
    remember_start(start)
    # Discovery ran at start, on the flavour's own HTTP client.
    assert local_op.count("discovery") == 1
    assert transaction(start)["i"] == local_op.issuer
    assert transaction(start)["ir"] is True
    callback_url = local_op.login(start.url)
    assert callback_url.startswith(REDIRECT_URI)
    query = urlsplit(callback_url).query
    first = await env.callback(flow, "local", query, cookie_header(start))
    remember_result(first, query)
    assert first.created
    assert first.provider_user.id == "248289761001"
    assert first.provider_user.email_verified
    assert first.user.attributes["email"] == "alice@example.test"
    assert (await env.lucia("get_user_by_key", local_op.issuer, "248289761001")).id == first.user.id
    local_op.user = {**local_op.user, "preferred_username": "alice2", "email": "a2@example.test"}
    _, _, second = await oidc_sign_in(env, flow, local_op)
    assert second.user.id == first.user.id
    assert not second.created
    assert second.provider_user.username == "alice2"
    assert local_op.count("discovery") == 1
    assert env.users == 1
    assert env.sessions == 2


@pytest.mark.parametrize(
    ("knob", "value", "check"),
    [
        ("id_token_claims", {"nonce": "injected"}, "nonce"),
        ("id_token_claims", {"iss": "https://evil.example"}, "iss"),
        ("id_token_claims", {"aud": "someone-else"}, "aud"),
        ("signing", "none", "alg"),
        ("signing", "bad-signature", "signature"),
        ("userinfo_overrides", {"sub": "someone-else"}, "userinfo_sub"),
    ],
)
async def test_local_oidc_bad_id_token_is_a_login_failure(
    env: Env, local_op: LocalOIDCProvider, oidc: OpenIDConnect, knob: str, value: Any, check: str
) -> None:
    setattr(local_op, knob, value)
    flow = env.flow({"local": oidc})
    start = await env.start(flow, "local")
    remember_start(start)
    query = urlsplit(local_op.login(start.url)).query
    remember(dict(parse_qsl(query))["code"])
    error = await env.fail(flow, "local", query, cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert isinstance(error.cause, IDTokenError)
    assert error.cause.check == check
    assert error.status == 400
    assert error.cookies == (flow.clear_transaction_cookie(),)
    if check != "userinfo_sub":
        assert local_op.count("userinfo") == 0
    assert env.users == 0


async def test_local_oidc_discovery_failure_at_start(
    env: Env, local_op: LocalOIDCProvider, oidc: OpenIDConnect
) -> None:
    local_op.faults["discovery"] = "500"
    flow = env.flow({"local": oidc})
    with pytest.raises(ProviderFailedError) as info:
        await env.start(flow, "local")
    assert info.value.status == 502
    local_op.discovery_overrides = {"issuer": local_op.issuer + "/other"}
    local_op.faults.clear()
    with pytest.raises(ProviderFailedError) as info:
        await env.start(flow, "local")
    assert info.value.status == 502


async def test_sec25_callback_in_a_fresh_process_still_checks_iss(
    env: Env, local_op: LocalOIDCProvider, oidc: OpenIDConnect
) -> None:
    starter = env.flow({"local": oidc})
    start = await env.start(starter, "local")
    remember_start(start)
    query = urlsplit(local_op.login(start.url)).query
    remember(dict(parse_qsl(query))["code"])
    stripped = "&".join(p for p in query.split("&") if not p.startswith("iss="))
    # The transaction says iss is required; a worker that never discovered agrees.
    fresh = make_oidc(local_op)
    try:
        finisher = env.flow({"local": fresh})
        error = await env.fail(finisher, "local", stripped, cookie_header(start))
        assert isinstance(error, IssuerMismatchError)
        assert local_op.count("token") == 0
        # Forging "ir": false in the cookie does not help: discovery says it is required.
        start = await env.start(starter, "local")
        remember_start(start)
        query = urlsplit(local_op.login(start.url)).query
        remember(dict(parse_qsl(query))["code"])
        stripped = "&".join(p for p in query.split("&") if not p.startswith("iss="))
        forged = (
            f"{flow_cookie(finisher)}={encode_transaction({**transaction(start), 'ir': False})}"
        )
        error = await env.fail(finisher, "local", stripped, forged)
        assert isinstance(error, IssuerMismatchError)
        assert local_op.count("token") == 0
    finally:
        await fresh.aclose()


def flow_cookie(flow: SignInFlow) -> str:
    return flow.transaction_cookie_name


async def test_sec38_local_oidc_verified_email_links_when_enabled(
    env: Env, local_op: LocalOIDCProvider, oidc: OpenIDConnect
) -> None:
    existing = await existing_password_user(env, "alice@example.test", verified=True)
    _, _, result = await oidc_sign_in(env, env.flow({"local": oidc}), local_op)
    assert result.created  # off by default
    _, _, linked = await oidc_sign_in(
        env, env.flow({"local": oidc}, link_by_verified_email=True), local_op
    )
    assert linked.user.id == result.user.id  # the identity is known now: no linking
    assert not linked.linked
    local_op.user = {**local_op.user, "sub": "another-subject"}
    _, _, other = await oidc_sign_in(
        env, env.flow({"local": oidc}, link_by_verified_email=True), local_op
    )
    assert other.linked
    assert other.user.id == existing.id


@pytest.fixture
def local_github() -> Iterator[LocalGitHub]:
    with LocalGitHub() as github:
        remember(github._client_secret)
        yield github


@pytest.fixture
async def github(local_github: LocalGitHub) -> AsyncIterator[GitHub]:
    provider = GitHub(
        local_github.client_id,
        local_github._client_secret,
        "https://app.example/login/github/callback",
        enterprise_url=local_github.url,
    )
    yield provider
    await provider.aclose()


async def github_sign_in(
    env: Env, flow: SignInFlow, server: LocalGitHub
) -> tuple[FlowStart, str, FlowResult]:
    start = await env.start(flow, "github")
    remember_start(start)
    params = server.authorize(start.url)
    query = urlencode(params)
    result = await env.callback(flow, "github", query, cookie_header(start))
    remember_result(result, query)
    return start, query, result


async def test_local_github_sign_in(env: Env, local_github: LocalGitHub, github: GitHub) -> None:
    flow = env.flow([github])
    start, query, first = await github_sign_in(env, flow, local_github)
    assert "code_challenge" in start.url
    assert "iss" not in dict(parse_qsl(query))
    assert first.created
    # The numeric id, never the login; the verified primary email from /user/emails
    # although the profile shows none.
    assert first.provider_user.id == "583231"
    assert first.provider_user.username == "octocat"
    assert first.provider_user.email == "octocat@example.com"
    assert first.provider_user.email_verified
    assert (await env.lucia("get_user_by_key", "github", "583231")).id == first.user.id
    local_github.accounts[583231].login = "octocat-renamed"
    _, _, second = await github_sign_in(env, flow, local_github)
    assert second.user.id == first.user.id
    assert not second.created
    assert env.sessions == 2


async def test_sec27_local_github_200_with_error_is_a_login_failure(
    env: Env, local_github: LocalGitHub, github: GitHub
) -> None:
    start, query, _ = await github_sign_in(env, env.flow([github]), local_github)
    # Another worker (no shared in-process guard) gets the used code: GitHub's
    # answer is HTTP 200 with {"error": "bad_verification_code"}.
    error = await env.fail(env.flow([github]), "github", query, cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert isinstance(error.cause, OAuthProviderError)
    assert error.cause.error == "bad_verification_code"
    assert error.cause.http_status == 200
    assert error.status == 400
    assert env.sessions == 1


@pytest.mark.parametrize("fault", ["500", "html", "not_json", "huge"])
async def test_sec27_local_github_token_endpoint_faults(
    env: Env, local_github: LocalGitHub, github: GitHub, fault: Any
) -> None:
    local_github.fail("token", fault)
    flow = env.flow([github])
    start = await env.start(flow, "github")
    remember_start(start)
    query = urlencode(local_github.authorize(start.url))
    remember(dict(parse_qsl(query))["code"])
    error = await env.fail(flow, "github", query, cookie_header(start))
    assert isinstance(error, ProviderFailedError)
    assert error.status == 502
    assert env.users == 0


async def test_google_start_needs_no_request(env: Env) -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request to {request.url.host}")

    transport = httpx.MockTransport(no_network)
    async with httpx.AsyncClient(transport=transport) as ahttp:
        with httpx.Client(transport=transport) as http:
            google = Google(
                "google-client",
                "google-secret",
                "https://app.example/login/google/callback",
                http_client=http,
                async_http_client=ahttp,
            )
            flow = env.flow([google])
            start = await env.start(flow, "google")
    params = dict(parse_qsl(urlsplit(start.url).query))
    data = transaction(start)
    assert start.url.startswith("https://accounts.google.com/")
    assert params["code_challenge_method"] == "S256"
    assert params["nonce"] == data["n"]
    assert data["i"] == "https://accounts.google.com"
    assert data["p"] == "google"
