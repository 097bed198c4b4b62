"""lucia.oauth.client: state/PKCE helpers, the authorization URL, token parsing,
token requests, json_response, and sending them sync and async (lucia.oauth._async.http
and the sync code generated from it).

The HTTP side uses httpx.MockTransport: these are unit tests of the client's
own logic; the flows against real local servers are in test_github.py and the
OpenID tests.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import string
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote_plus, unquote_plus, urlsplit

import httpx
import pytest

from lucia.oauth import (
    GitHub,
    Google,
    OAuth2Client,
    OAuth2Tokens,
    OAuthError,
    OAuthProvider,
    OAuthProviderError,
    OAuthResponseError,
    OAuthTransportError,
    OpenIDConnect,
    ProviderUser,
    create_code_challenge,
    generate_code_verifier,
    generate_nonce,
    generate_state,
)
from lucia.oauth._async.http import asend_request
from lucia.oauth._sync.http import send_request
from lucia.oauth.client import as_timeout, json_response
from lucia.oauth.errors import OAuthUnsupportedError

# Chosen to need RFC 6749 §2.3.1 form-encoding: ':' would split Basic
# credentials, '+', '/', '=', '%', ' ' and non-ASCII change when encoded.
CLIENT_ID = "app:id+1 é"
CLIENT_SECRET = "s3cr3t/+ &=%é:x"
CODE = "SplxlOBeZQQYbYS6WxSbIA"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
ACCESS_TOKEN = "2YotnFZFEjr1zMsicMWpAA"
REFRESH_TOKEN = "tGzv3JOkF0XG5Qx2TlKWIA"
REDIRECT_URI = "https://app.example/callback"
TOKEN_ENDPOINT = "https://provider.example/token"
SECRETS = (CODE, VERIFIER, CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN)
BASE64URL = set(string.ascii_letters + string.digits + "-_")

Handler = Callable[[httpx.Request], httpx.Response]
# A request and what reads its answer: one exchange with the provider.
Call = tuple[httpx.Request, Callable[[httpx.Response], Any]]
Runner = Callable[[Call, Handler], Awaitable[Any]]


def assert_no_secrets(error: BaseException, *secrets: str) -> None:
    """No secret in the error's message, repr, arguments or attributes."""
    texts = [str(error), repr(error), *map(str, error.args)]
    texts += [f"{name}={value!r}" for name, value in vars(error).items()]
    for secret in secrets or SECRETS:
        for text in texts:
            assert secret not in text, f"a secret leaked into {text!r}"


def client(auth: Any = "client_secret_basic", **kwargs: Any) -> OAuth2Client:
    options: dict[str, Any] = {
        "authorization_endpoint": "https://provider.example/authorize",
        "token_endpoint": TOKEN_ENDPOINT,
        "token_endpoint_auth": auth,
    }
    options.update(kwargs)
    return OAuth2Client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, **options)


def token_json(**extra: Any) -> dict[str, Any]:
    return {"access_token": ACCESS_TOKEN, "token_type": "Bearer", **extra}


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Sends a call's request to a MockTransport handler, with send_request or
    asend_request, and reads the answer."""

    async def sync(call: Call, handler: Handler) -> Any:
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            return call[1](send_request(http, call[0]))

    async def asynchronous(call: Call, handler: Handler) -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return call[1](await asend_request(http, call[0]))

    return sync if request.param == "sync" else asynchronous


def code_exchange(oauth: OAuth2Client, code: str, code_verifier: str | None = None) -> Call:
    """The code exchange as a provider makes it: the request, then the tokens read."""
    request = oauth.authorization_code_request(code, code_verifier)
    return request, lambda response: oauth.read_tokens(response, what="the token request")


def refresh(oauth: OAuth2Client, refresh_token: str, scopes: list[str] | None = None) -> Call:
    request = oauth.refresh_request(refresh_token, scopes or ())
    return request, lambda response: oauth.read_tokens(response, what="the refresh request")


def revocation(oauth: OAuth2Client, token: str, hint: str | None = None) -> Call:
    return oauth.revocation_request(token, hint), oauth.read_revocation


class Recorder:
    """A MockTransport handler that answers one canned response and keeps the requests."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.response

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.requests[-1].content.decode()))


# State, verifier, nonce, challenge (item 24)


def _decoded_length(value: str) -> int:
    return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


@pytest.mark.parametrize("generate", [generate_state, generate_code_verifier, generate_nonce])
def test_sec22_sec24_random_values_are_256_bits_base64url(generate: Callable[[], str]) -> None:
    values = {generate() for _ in range(1000)}
    assert len(values) == 1000
    for value in values:
        assert len(value) == 43
        assert set(value) <= BASE64URL
        assert _decoded_length(value) == 32  # 256 bits, well over item 22's 128


def test_sec24_code_verifier_is_rfc7636_shaped() -> None:
    # RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~].
    verifier = generate_code_verifier()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)


def test_sec24_code_challenge_matches_rfc7636_appendix_b() -> None:
    assert create_code_challenge(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# The authorization URL


def test_sec24_authorization_url_sends_s256_never_plain() -> None:
    state = generate_state()
    url = client().create_authorization_url(state, VERIFIER, scopes=["openid", "email"])
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "scope": ["openid email"],
        "state": [state],
        "code_challenge": ["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"],
        "code_challenge_method": ["S256"],
    }
    assert "plain" not in url
    assert VERIFIER not in url


def test_authorization_url_without_verifier_has_no_challenge() -> None:
    query = parse_qs(urlsplit(client().create_authorization_url("s")).query)
    assert "code_challenge" not in query
    assert "code_challenge_method" not in query
    assert "scope" not in query


def test_authorization_url_keeps_the_endpoints_query() -> None:
    oauth = client(authorization_endpoint="https://provider.example/authorize?audience=api&x=1")
    url = oauth.create_authorization_url("st", VERIFIER, nonce="n-1")
    parts = urlsplit(url)
    assert parts.path == "/authorize"
    assert url.count("?") == 1
    query = parse_qs(parts.query)
    assert query["audience"] == ["api"]
    assert query["x"] == ["1"]
    assert query["state"] == ["st"]
    assert query["nonce"] == ["n-1"]


def test_authorization_url_extra_params_cannot_override_protocol_params() -> None:
    url = client().create_authorization_url(
        "st",
        VERIFIER,
        extra_params={"code_challenge_method": "plain", "state": "other", "prompt": "consent"},
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == ["st"]
    assert query["prompt"] == ["consent"]


@pytest.mark.parametrize(
    "option",
    ["authorization_endpoint", "token_endpoint", "revocation_endpoint"],
)
def test_endpoints_must_be_http_urls(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        client(**{option: "javascript:alert(1)"})


def test_redirect_uri_must_be_an_http_url() -> None:
    with pytest.raises(ValueError, match="redirect_uri"):
        OAuth2Client(
            "id",
            "secret",
            "ftp://app.example/cb",
            authorization_endpoint="https://p.example/a",
            token_endpoint=TOKEN_ENDPOINT,
        )


def test_client_repr_hides_the_secret() -> None:
    assert CLIENT_SECRET not in repr(client())


# OAuth2Tokens.from_response


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_sec27_token_type_is_case_insensitive(token_type: str) -> None:
    tokens = OAuth2Tokens.from_response(token_json(token_type=token_type))
    assert tokens.access_token == ACCESS_TOKEN
    assert tokens.token_type == "bearer"


def test_missing_token_type_is_taken_as_bearer() -> None:
    assert OAuth2Tokens.from_response({"access_token": ACCESS_TOKEN}).token_type == "bearer"


@pytest.mark.parametrize("token_type", ["mac", "DPoP", "", None, 1, ["bearer"]])
def test_sec27_non_bearer_token_type_is_refused(token_type: Any) -> None:
    with pytest.raises(OAuthResponseError) as caught:
        OAuth2Tokens.from_response(token_json(token_type=token_type))
    assert_no_secrets(caught.value)


@pytest.mark.parametrize(
    "data",
    [{}, {"access_token": ""}, {"access_token": None}, {"access_token": 42}, {"token": "x"}],
)
def test_missing_access_token_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(OAuthResponseError, match="access_token"):
        OAuth2Tokens.from_response(data)


@pytest.mark.parametrize("expires_in", [3600, "3600"])
def test_expires_in_int_or_numeric_string(expires_in: Any) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tokens = OAuth2Tokens.from_response(token_json(expires_in=expires_in), now=now)
    assert tokens.expires_at == now + timedelta(seconds=3600)


@pytest.mark.parametrize("expires_in", ["soon", "-5", -5, True, None, [3600], "", "1e3"])
def test_unusable_expires_in_means_unknown_expiry(expires_in: Any) -> None:
    tokens = OAuth2Tokens.from_response(token_json(expires_in=expires_in))
    assert tokens.expires_at is None


def test_huge_expires_in_is_capped() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tokens = OAuth2Tokens.from_response(token_json(expires_in=10**30), now=now)
    assert tokens.expires_at is not None
    assert tokens.expires_at <= now + timedelta(days=3660)


@pytest.mark.parametrize(
    ("scope", "scopes"),
    [
        ("openid email profile", ("openid", "email", "profile")),
        ("read:user,user:email", ("read:user", "user:email")),
        ("a, b ,c", ("a", "b", "c")),
        ("", ()),
        (None, ()),
        (["a"], ()),
    ],
)
def test_scope_space_or_comma_separated(scope: Any, scopes: tuple[str, ...]) -> None:
    assert OAuth2Tokens.from_response(token_json(scope=scope)).scopes == scopes


def test_refresh_and_id_tokens_are_kept_only_when_strings() -> None:
    tokens = OAuth2Tokens.from_response(token_json(refresh_token=REFRESH_TOKEN, id_token="a.b.c"))
    assert tokens.refresh_token == REFRESH_TOKEN
    assert tokens.id_token == "a.b.c"
    tokens = OAuth2Tokens.from_response(token_json(refresh_token=5, id_token={}))
    assert tokens.refresh_token is None
    assert tokens.id_token is None


def test_sec42_tokens_repr_hides_every_token() -> None:
    tokens = OAuth2Tokens.from_response(
        token_json(refresh_token=REFRESH_TOKEN, id_token="eyJhbGciOi.payload.signature")
    )
    for text in (repr(tokens), str(tokens)):
        assert ACCESS_TOKEN not in text
        assert REFRESH_TOKEN not in text
        assert "eyJhbGciOi" not in text


# Token requests: client authentication


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_client_secret_basic_is_form_encoded_per_rfc6749(run: Runner) -> None:
    recorder = Recorder(httpx.Response(200, json=token_json()))
    await run(code_exchange(client("client_secret_basic"), CODE, VERIFIER), recorder)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert str(request.url) == TOKEN_ENDPOINT
    # RFC 6749 §2.3.1: each part application/x-www-form-urlencoded, then Basic.
    expected = _basic(quote_plus(CLIENT_ID), quote_plus(CLIENT_SECRET))
    assert request.headers["Authorization"] == expected
    decoded = base64.b64decode(expected.removeprefix("Basic ")).decode()
    user, _, password = decoded.partition(":")
    assert (unquote_plus(user), unquote_plus(password)) == (CLIENT_ID, CLIENT_SECRET)
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert recorder.form == {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
    }


async def test_client_secret_post_sends_credentials_in_the_body(run: Runner) -> None:
    recorder = Recorder(httpx.Response(200, json=token_json()))
    await run(code_exchange(client("client_secret_post"), CODE, VERIFIER), recorder)
    assert "Authorization" not in recorder.requests[0].headers
    assert recorder.form["client_id"] == CLIENT_ID
    assert recorder.form["client_secret"] == CLIENT_SECRET
    assert recorder.form["code"] == CODE


async def test_public_client_sends_only_its_id(run: Runner) -> None:
    recorder = Recorder(httpx.Response(200, json=token_json()))
    await run(code_exchange(client("none"), CODE, VERIFIER), recorder)
    assert "Authorization" not in recorder.requests[0].headers
    assert recorder.form["client_id"] == CLIENT_ID
    assert "client_secret" not in recorder.form


async def test_basic_without_a_secret_acts_as_a_public_client(run: Runner) -> None:
    oauth = OAuth2Client(
        CLIENT_ID,
        None,
        None,
        authorization_endpoint="https://p.example/a",
        token_endpoint=TOKEN_ENDPOINT,
    )
    recorder = Recorder(httpx.Response(200, json=token_json()))
    await run(code_exchange(oauth, CODE), recorder)
    assert "Authorization" not in recorder.requests[0].headers
    assert recorder.form == {
        "grant_type": "authorization_code",
        "code": CODE,
        "client_id": CLIENT_ID,
    }


async def test_code_exchange_returns_parsed_tokens(run: Runner) -> None:
    recorder = Recorder(
        httpx.Response(200, json=token_json(expires_in=60, refresh_token=REFRESH_TOKEN))
    )
    tokens = await run(code_exchange(client(), CODE, VERIFIER), recorder)
    assert isinstance(tokens, OAuth2Tokens)
    assert tokens.access_token == ACCESS_TOKEN
    assert tokens.refresh_token == REFRESH_TOKEN
    assert tokens.expires_at is not None


async def test_token_expiry_is_dated_by_the_clients_clock(run: Runner) -> None:
    moment = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    dated = client(clock=lambda: moment)
    answer = httpx.Response(200, json=token_json(expires_in=60, refresh_token=REFRESH_TOKEN))
    tokens = await run(code_exchange(dated, CODE, VERIFIER), Recorder(answer))
    assert tokens.expires_at == moment + timedelta(seconds=60)
    refreshed = await run(refresh(dated, REFRESH_TOKEN), Recorder(answer))
    assert refreshed.expires_at == moment + timedelta(seconds=60)


async def test_refresh_request(run: Runner) -> None:
    recorder = Recorder(httpx.Response(200, json=token_json()))
    tokens = await run(refresh(client(), REFRESH_TOKEN, ["a", "b"]), recorder)
    assert tokens.access_token == ACCESS_TOKEN
    assert recorder.form == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "scope": "a b",
    }


async def test_revoke_request(run: Runner) -> None:
    oauth = client(revocation_endpoint="https://provider.example/revoke")
    recorder = Recorder(httpx.Response(200))
    assert await run(revocation(oauth, ACCESS_TOKEN, "access_token"), recorder) is None
    assert str(recorder.requests[0].url) == "https://provider.example/revoke"
    assert recorder.form == {"token": ACCESS_TOKEN, "token_type_hint": "access_token"}


async def test_revoke_error_is_typed(run: Runner) -> None:
    oauth = client(revocation_endpoint="https://provider.example/revoke")
    recorder = Recorder(httpx.Response(400, json={"error": "unsupported_token_type"}))
    with pytest.raises(OAuthProviderError) as caught:
        await run(revocation(oauth, ACCESS_TOKEN), recorder)
    assert caught.value.error == "unsupported_token_type"
    assert_no_secrets(caught.value)


def test_revoke_without_an_endpoint_is_not_supported() -> None:
    with pytest.raises(NotImplementedError) as caught:
        client().revocation_request(ACCESS_TOKEN)
    assert isinstance(caught.value, OAuthUnsupportedError)
    assert caught.value.code == "AUTH_OAUTH_UNSUPPORTED"


# json_response: every answer becomes JSON or a typed error (item 27)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "invalid_grant"),
        (401, "invalid_client"),
        (200, "bad_verification_code"),  # GitHub's HTTP 200 with an error
    ],
)
async def test_sec27_token_endpoint_errors_are_provider_errors(
    run: Runner, status: int, error: str
) -> None:
    body = {
        "error": error,
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://provider.example/docs#errors",
    }
    recorder = Recorder(httpx.Response(status, json=body))
    with pytest.raises(OAuthProviderError) as caught:
        await run(code_exchange(client(), CODE, VERIFIER), recorder)
    exc = caught.value
    assert exc.error == error
    assert exc.error_description == "The code passed is incorrect or expired."
    assert exc.error_uri == "https://provider.example/docs#errors"
    assert exc.http_status == status
    assert exc.status == 400  # a login failure, not a 500
    assert exc.code == "AUTH_OAUTH_PROVIDER_ERROR"
    assert_no_secrets(exc)


def test_provider_error_fields_are_made_printable_and_short() -> None:
    response = httpx.Response(
        400,
        json={"error": "invalid\x1b[31m_grant\n", "error_description": "<b>x</b>\x00" * 200},
    )
    with pytest.raises(OAuthProviderError) as caught:
        json_response(response, what="the token request")
    exc = caught.value
    assert exc.error.isprintable()
    assert exc.error_description is not None
    assert exc.error_description.isprintable()
    assert len(exc.error_description) <= 503


def test_non_string_error_field_is_not_a_provider_error() -> None:
    with pytest.raises(OAuthResponseError):
        json_response(httpx.Response(400, json={"error": 5}), what="the token request")


async def test_500_html_is_a_response_error_with_a_printable_excerpt(run: Runner) -> None:
    page = "<!DOCTYPE html><h1>Internal Server Error</h1>\x00\x1b[2J\u2603" + "x" * 5000
    recorder = Recorder(httpx.Response(500, text=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(OAuthResponseError) as caught:
        await run(code_exchange(client(), CODE, VERIFIER), recorder)
    exc = caught.value
    assert exc.http_status == 500
    assert exc.status == 502
    assert exc.body.startswith("<!DOCTYPE html><h1>Internal Server Error</h1>")
    assert exc.body.isprintable()
    assert len(exc.body) <= 203
    assert "HTTP 500" in str(exc)
    assert_no_secrets(exc)


async def test_oversized_body_is_refused(run: Runner) -> None:
    body = json.dumps(token_json(padding="x" * (2 * 1024 * 1024)))
    recorder = Recorder(httpx.Response(200, text=body))
    with pytest.raises(OAuthResponseError, match="too large"):
        await run(code_exchange(client(), CODE, VERIFIER), recorder)


@pytest.mark.parametrize(
    "body", [b"access_token=abc&token_type=bearer", b"<html>hi</html>", b"", b"null", b'{"a":']
)
async def test_200_non_json_is_refused(run: Runner, body: bytes) -> None:
    recorder = Recorder(httpx.Response(200, content=body))
    with pytest.raises(OAuthResponseError) as caught:
        await run(code_exchange(client(), CODE, VERIFIER), recorder)
    assert caught.value.http_status == 200
    assert_no_secrets(caught.value)


@pytest.mark.parametrize("body", [b"[]", b'"gho_x"', b"42", b"true"])
async def test_200_json_that_is_not_an_object_is_refused(run: Runner, body: bytes) -> None:
    recorder = Recorder(httpx.Response(200, content=body))
    with pytest.raises(OAuthResponseError):
        await run(code_exchange(client(), CODE, VERIFIER), recorder)


def test_json_response_returns_the_json_of_a_success() -> None:
    assert json_response(httpx.Response(200, json={"a": [1]}), what="x") == {"a": [1]}
    assert json_response(httpx.Response(201, json=[1, 2]), what="x") == [1, 2]


# Transport errors and timeouts


def _raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _secret_query_call() -> Call:
    # A request whose URL carries secrets in its query: the error must not repeat them.
    url = f"https://provider.example/cb?code={CODE}&token={ACCESS_TOKEN}"
    return httpx.Request("GET", url), lambda response: None


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "could not be reached"),
        (httpx.ReadTimeout("timed out"), "did not answer in time"),
        (httpx.ConnectTimeout("timed out"), "did not answer in time"),
        (httpx.RemoteProtocolError("Server disconnected"), "could not be reached"),
    ],
)
async def test_transport_errors_are_typed_and_hide_the_query(
    run: Runner, exc: Exception, words: str
) -> None:
    with pytest.raises(OAuthTransportError) as caught:
        await run(_secret_query_call(), _raising(exc))
    error = caught.value
    assert words in str(error)
    assert "provider.example" in str(error)
    assert error.status == 502
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert_no_secrets(error)


async def test_token_request_transport_error_hides_secrets(run: Runner) -> None:
    with pytest.raises(OAuthTransportError) as caught:
        await run(code_exchange(client(), CODE, VERIFIER), _raising(httpx.ReadError("x")))
    assert_no_secrets(caught.value)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_provider_sends_every_user_request_in_order(asynchronous: bool) -> None:
    class TwoRequests(_Dummy):
        def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
            return (
                httpx.Request("GET", "https://provider.example/one"),
                httpx.Request("GET", "https://provider.example/two"),
            )

        def parse_user(
            self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]
        ) -> ProviderUser:
            return ProviderUser(id=",".join(str(r.status_code) for r in responses))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.path == "/one" else 204)

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport) as ahttp:
        with httpx.Client(transport=transport) as http:
            provider = TwoRequests(client(), http_client=http, async_http_client=ahttp)
            tokens = OAuth2Tokens(access_token=ACCESS_TOKEN)
            if asynchronous:
                user = await provider.aget_user(tokens)
            else:
                user = provider.get_user(tokens)
    assert user.id == "200,204"


def test_every_oauth_error_is_a_lucia_oauth_error() -> None:
    for cls in (OAuthProviderError, OAuthResponseError, OAuthTransportError):
        assert issubclass(cls, OAuthError)


# The provider base class's HTTP clients


class _Dummy(OAuthProvider):
    name = "dummy"

    def user_requests(self, tokens: OAuth2Tokens) -> Sequence[httpx.Request]:
        raise AssertionError("these tests never fetch a user")

    def parse_user(self, tokens: OAuth2Tokens, responses: Sequence[httpx.Response]) -> ProviderUser:
        raise AssertionError("these tests never fetch a user")


@pytest.fixture
def dummy_clients() -> Iterator[tuple[httpx.Client, httpx.AsyncClient]]:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=token_json()))
    sync = httpx.Client(transport=transport)
    asynchronous = httpx.AsyncClient(transport=transport)
    yield sync, asynchronous
    sync.close()


async def test_provider_uses_and_never_closes_a_callers_clients(
    dummy_clients: tuple[httpx.Client, httpx.AsyncClient],
) -> None:
    sync, asynchronous = dummy_clients
    provider = _Dummy(client(), http_client=sync, async_http_client=asynchronous)
    assert provider.validate_authorization_code(CODE, VERIFIER).access_token == ACCESS_TOKEN
    tokens = await provider.avalidate_authorization_code(CODE, VERIFIER)
    assert tokens.access_token == ACCESS_TOKEN
    await provider.aclose()
    assert not sync.is_closed
    assert not asynchronous.is_closed
    await asynchronous.aclose()
    assert CLIENT_SECRET not in repr(provider)


# The provider's timeout: how long its own HTTP clients wait


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A token endpoint on loopback that accepts connections and requests and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the thread notices the end of the test
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # read nothing, answer nothing, keep it open

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/token"
    stop.set()
    thread.join(timeout=5)
    listener.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize(
    ("given", "seconds"), [(2, 2.0), (0.25, 0.25), (httpx.Timeout(3.0, connect=1.0), 3.0)]
)
def test_as_timeout_takes_seconds_or_an_httpx_timeout(given: Any, seconds: float) -> None:
    timeout = as_timeout(given)
    assert isinstance(timeout, httpx.Timeout)
    assert timeout.read == seconds
    if not isinstance(given, httpx.Timeout):
        assert timeout == httpx.Timeout(seconds)


@pytest.mark.parametrize("given", [0, -1, float("nan"), True, "10", None])
def test_as_timeout_refuses_what_is_not_a_positive_number(given: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        as_timeout(given)


def test_a_provider_waits_10_seconds_by_default() -> None:
    provider = _Dummy(client())
    assert provider.timeout == httpx.Timeout(10.0)
    assert _Dummy(client(), timeout=2.5).timeout == httpx.Timeout(2.5)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_hanging_token_endpoint_fails_within_the_providers_timeout(
    silent_server: str, asynchronous: bool
) -> None:
    provider = _Dummy(client(token_endpoint=silent_server), timeout=0.5)

    async def exchange() -> OAuth2Tokens:
        if asynchronous:
            return await provider.avalidate_authorization_code(CODE, VERIFIER)
        return provider.validate_authorization_code(CODE, VERIFIER)

    started = time.monotonic()
    try:
        with pytest.raises(OAuthTransportError, match="did not answer in time") as caught:
            await exchange()
    finally:
        await provider.aclose()
    # Not a timing measurement: a generous bound that only the configured limit
    # (rather than the 10 s default) can meet.
    assert time.monotonic() - started < 5
    assert_no_secrets(caught.value)


def test_github_google_and_openid_connect_take_a_timeout() -> None:
    made = [
        GitHub("id", "secret", REDIRECT_URI, timeout=3),
        Google("id", "secret", REDIRECT_URI, timeout=3),
        OpenIDConnect("https://op.example", "id", "secret", REDIRECT_URI, timeout=3),
    ]
    assert [provider.timeout for provider in made] == [httpx.Timeout(3.0)] * 3
    assert GitHub("id", "secret", REDIRECT_URI).timeout == httpx.Timeout(10.0)


def test_a_provider_must_say_how_it_finds_its_user() -> None:
    class Incomplete(OAuthProvider):
        name = "incomplete"

    with pytest.raises(TypeError, match="user_requests"):
        Incomplete(client())  # type: ignore[abstract]
