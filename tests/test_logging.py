"""SECURITY.md item 42: every flow run end to end with every logger at DEBUG; no record
holds a secret, and the auth events are logged with their user and provider.

Secrets collected along the way: session tokens and their secret halves, OAuth
codes, states, nonces and PKCE verifiers (from the transaction cookie), access,
refresh and ID tokens, client secrets, Facebook's ``appsecret_proof`` and
passwords. Each is searched for in
every record's message, args, formatted text, ``extra`` attributes, exception
text and stack. What the tests' own "browser" logs (httpx logging the provider's
authorization URL, or the TestClient's request to the app's callback URL) is not
lucia's and is left out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from lucia import AsyncLucia, InvalidCredentialsError, Lucia, accounts
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.oauth._redact import SECRET_PARAMETERS, redact_httpx_request_logs
from lucia.oauth._sealed import Sealer
from lucia.oauth.flow import (
    FlowResult,
    FlowStart,
    InvalidStateError,
    ProviderDeniedError,
    ProviderFailedError,
    SignInFlow,
)
from lucia.oauth.providers.facebook import Facebook
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.testing.github import LocalGitHub
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock
from tests.github_app import github_app
from tests.oauth.providers.harness import CLIENT_SECRET, ProviderMock, load_fixture, mocked

REDIRECT = "https://app.example/login/{}/callback"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new and longer passphrase 42"
WRONG_PASSWORD = "not the password at all 9"


class Secrets:
    """Everything secret seen during a test, and the records the browser produced."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.values: set[str] = set()
        self.caplog = caplog
        self.skipped: set[int] = set()

    def add(self, *values: object) -> None:
        for value in values:
            if isinstance(value, str) and len(value) >= 8:
                self.values.add(value)

    def token(self, token: str | None) -> None:
        assert token is not None
        self.add(token, token.partition(".")[2])

    def start(self, start: FlowStart) -> None:
        raw = start.cookie.value
        # The flows here have no secret_keys: they seal with this process's key.
        opened = Sealer(start.cookie.name, None, max_length=4096).open(raw)
        assert opened is not None
        data = json.loads(opened)
        self.add(raw, data["s"], data["cv"], data["n"])
        query = dict(parse_qsl(urlsplit(start.url).query))
        self.add(query.get("code_challenge"))

    def callback(self, query: str) -> None:
        params = dict(parse_qsl(query))
        self.add(params.get("code"), params.get("state"))

    def result(self, result: FlowResult) -> None:
        tokens = result.tokens
        self.add(tokens.access_token, tokens.refresh_token, getattr(tokens, "id_token", None))
        if result.session is not None:
            self.token(result.session.token)

    @contextlib.contextmanager
    def browser(self) -> Iterator[None]:
        """Records made while the tests play the user's browser are not lucia's."""
        before = len(self.caplog.records)
        yield
        self.skipped.update(id(r) for r in self.caplog.records[before:])


def _browser_to_app(record: logging.LogRecord) -> bool:
    """httpx's line for a request of the TestClient (the browser) to the app under test."""
    return record.name == "httpx" and str(record.args[1] if record.args else "").startswith(
        "http://testserver/"
    )


def record_texts(record: logging.LogRecord) -> list[str]:
    texts = [str(record.msg), repr(record.args), record.getMessage(), repr(vars(record))]
    texts.append(logging.Formatter("%(message)s %(name)s").format(record))
    if record.exc_info:
        texts.append("".join(traceback.format_exception(*record.exc_info)))
        exc = record.exc_info[1]
        texts.append(repr(exc))
    if record.exc_text:
        texts.append(record.exc_text)
    if record.stack_info:
        texts.append(record.stack_info)
    return texts


@pytest.fixture
def secrets_(caplog: pytest.LogCaptureFixture) -> Iterator[Secrets]:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    found = Secrets(caplog)
    found.add(PASSWORD, NEW_PASSWORD, WRONG_PASSWORD)
    yield found
    assert found.values, "the test collected no secrets to look for"
    # At teardown ``caplog.records`` holds the teardown's records: ask for the call's.
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert records
    for record in records:
        if id(record) in found.skipped or _browser_to_app(record):
            continue
        for text in record_texts(record):
            for secret in found.values:
                assert secret not in text, f"{record.name}: {record.getMessage()!r} holds a secret"


def events(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


def test_sec42_password_and_session_flows(
    secrets_: Secrets, caplog: pytest.LogCaptureFixture, clock: Clock
) -> None:
    auth = Lucia(MemoryAdapter(), clock=clock, session_expires_in=timedelta(days=2))
    signed = accounts.sign_up(auth, "ada@example.test", PASSWORD)
    secrets_.token(signed.session.token)
    signed_in = accounts.sign_in(
        auth, "ada@example.test", PASSWORD, current_session_id=signed.session.id
    )
    secrets_.token(signed_in.session.token)
    with pytest.raises(InvalidCredentialsError) as info:
        accounts.sign_in(auth, "ada@example.test", WRONG_PASSWORD)
    assert PASSWORD not in repr(info.value) + str(info.value)
    with pytest.raises(InvalidCredentialsError):
        accounts.sign_in(auth, "nobody@example.test", WRONG_PASSWORD)
    changed = accounts.change_password(
        auth, signed.user.id, "ada@example.test", PASSWORD, NEW_PASSWORD
    )
    secrets_.token(changed.session.token)
    # Sessions: validate, renew (past half the life), invalidate, revoke all.
    assert changed.session.token is not None
    assert auth.validate_session(changed.session.token) is not None
    clock.advance(days=1, hours=1)
    renewed = auth.validate_session(changed.session.token)
    assert renewed is not None
    assert renewed[0].fresh
    auth.invalidate_session(changed.session.id)
    extra = auth.create_session(signed.user.id)
    secrets_.token(extra.token)
    auth.invalidate_user_sessions(signed.user.id)
    # repr()/str() of what holds secrets are masked.
    # (str() of a Cookie is its Set-Cookie value by design; its repr() is masked.)
    for text in [repr(signed.cookie)] + [
        f"{holder!r}{holder!s}" for holder in (signed, signed.session, extra, auth)
    ]:
        for secret in secrets_.values:
            assert secret not in text

    user_id = signed.user.id
    sign_ins = events(caplog, "password sign-in")
    assert sign_ins
    assert all((r.user_id, r.provider_id) == (user_id, "email") for r in sign_ins)  # type: ignore[attr-defined]
    failed = events(caplog, "sign-in failed")
    assert len(failed) == 2
    assert all(r.provider_id == "email" for r in failed)  # type: ignore[attr-defined]
    assert any(getattr(r, "user_id", None) == user_id for r in failed)
    revoked = events(caplog, "sessions revoked")
    assert revoked
    assert all(r.user_id == user_id for r in revoked)
    invalidated = [r.session_id for r in events(caplog, "session invalidated")]  # type: ignore[attr-defined]
    assert invalidated == [signed.session.id, changed.session.id]


@pytest.fixture(scope="module")
def github_server() -> Iterator[LocalGitHub]:
    with LocalGitHub(expiring_tokens=True) as server:
        yield server


@pytest.fixture(scope="module")
def oidc_server() -> Iterator[LocalOIDCProvider]:
    with LocalOIDCProvider() as server:
        yield server


def test_sec42_oauth_flows(
    secrets_: Secrets,
    caplog: pytest.LogCaptureFixture,
    github_server: LocalGitHub,
    oidc_server: LocalOIDCProvider,
) -> None:
    secrets_.add(github_server.client_secret, oidc_server.client_secret)
    auth = Lucia(MemoryAdapter())
    github = GitHub(
        github_server.client_id,
        github_server.client_secret,
        REDIRECT.format("github"),
        enterprise_url=github_server.url,
    )
    oidc = OpenIDConnect(
        oidc_server.issuer,
        oidc_server.client_id,
        oidc_server.client_secret,
        REDIRECT.format("corp"),
    )
    flow = SignInFlow(auth, {"github": github, "corp": oidc})
    errors: list[Exception] = []
    try:
        # GitHub: a sign-in, then refresh and revoke its tokens.
        start = flow.start("github")
        secrets_.start(start)
        with secrets_.browser():
            query = urlencode(github_server.authorize(start.url))
        secrets_.callback(query)
        header = f"{start.cookie.name}={start.cookie.value}"
        result = flow.callback("github", query, header)
        secrets_.result(result)
        assert result.tokens.refresh_token is not None
        refreshed = github.refresh_access_token(result.tokens.refresh_token)
        secrets_.add(refreshed.access_token, refreshed.refresh_token)
        github.revoke_token(refreshed.access_token)
        # A replay of the same callback (bad state: replayed) and a forged state.
        with pytest.raises(InvalidStateError) as replayed:
            flow.callback("github", query, header)
        errors.append(replayed.value)
        forged = urlencode({**dict(parse_qsl(query)), "state": "x" * 43})
        with pytest.raises(InvalidStateError) as mismatch:
            flow.callback("github", forged, header)
        errors.append(mismatch.value)

        # The provider fails: a code redeemed already (invalid_grant), a broken token
        # answer, a user without an id.
        used_code = dict(parse_qsl(query))["code"]
        for endpoint, fault in ((None, None), ("token", "not_json"), ("user", "missing_id")):
            start = flow.start("github")
            secrets_.start(start)
            with secrets_.browser():
                answer = github_server.authorize(start.url)
            secrets_.callback(urlencode(answer))
            if endpoint is None:
                answer["code"] = used_code
            else:
                github_server.fail(endpoint, fault)
            try:
                with pytest.raises(ProviderFailedError) as failed:
                    flow.callback("github", urlencode(answer), _header(start))
                errors += [failed.value, failed.value.cause]
            finally:
                if endpoint is not None:
                    github_server.fail(endpoint, None)

        # OpenID Connect: a sign-in, a refresh, then a denied consent.
        start = flow.start("corp")
        secrets_.start(start)
        with secrets_.browser():
            query = urlsplit(oidc_server.login(start.url)).query
        secrets_.callback(query)
        oidc_result = flow.callback("corp", query, f"{start.cookie.name}={start.cookie.value}")
        secrets_.result(oidc_result)
        assert oidc_result.tokens.refresh_token is not None
        again = oidc.refresh_access_token(oidc_result.tokens.refresh_token)
        secrets_.add(again.access_token, again.refresh_token, getattr(again, "id_token", None))
        oidc.revoke_token(again.access_token)
        assert oidc_server.count("revocation") == 1
        oidc_server.authorization_error = "access_denied"
        start = flow.start("corp")
        secrets_.start(start)
        with secrets_.browser():
            query = urlsplit(oidc_server.login(start.url)).query
        with pytest.raises(ProviderDeniedError) as denied:
            flow.callback("corp", query, f"{start.cookie.name}={start.cookie.value}")
        holders = [start, result, oidc_result, denied.value, *errors, github, oidc, flow]
        holders += [result.tokens, oidc_result.tokens, refreshed, again, github.client]
        holders += [result.provider_user, oidc_result.provider_user, github_server, oidc_server]
        for holder in holders:
            for secret in secrets_.values:
                assert secret not in repr(holder)
                assert secret not in str(holder)
    finally:
        oidc_server.authorization_error = None
        github.close()
        oidc.close()

    harvest(secrets_, github_server, oidc_server)
    sign_ins = events(caplog, "oauth sign-in")
    assert [(r.provider_id, r.user_id) for r in sign_ins] == [  # type: ignore[attr-defined]
        ("github", result.user.id),
        (oidc_server.issuer, oidc_result.user.id),
    ]
    failures = events(caplog, "oauth sign-in failed")
    assert [getattr(r, "reason", None) or r.error_code for r in failures] == [  # type: ignore[attr-defined]
        "replayed",
        "state_mismatch",
        "AUTH_OAUTH_PROVIDER_FAILED",
        "AUTH_OAUTH_PROVIDER_FAILED",
        "AUTH_OAUTH_PROVIDER_FAILED",
        "AUTH_OAUTH_PROVIDER_DENIED",
    ]
    assert all(r.provider_id is not None for r in failures)  # type: ignore[attr-defined]


def test_sec42_starlette_request_path(
    secrets_: Secrets, caplog: pytest.LogCaptureFixture, github_server: LocalGitHub
) -> None:
    secrets_.add(github_server.client_secret)
    app = github_app(github_server, lambda user: user.id)
    origin = {"Origin": "http://testserver"}
    with TestClient(app, base_url="http://testserver") as client:
        login = client.get("/login/github", follow_redirects=False)
        assert login.status_code == 302
        raw = login.cookies["lucia_oauth"]
        secrets_.start(FlowStart(login.headers["location"], _cookie("lucia_oauth", raw), "github"))
        with secrets_.browser():
            query = urlencode(github_server.authorize(login.headers["location"]))
        secrets_.callback(query)
        callback = client.get(f"/login/github/callback?{query}", follow_redirects=False)
        assert callback.status_code == 303
        token = client.cookies.get("auth_session")
        secrets_.token(token)
        user_id = client.get("/").text
        assert user_id != "anonymous"
        assert client.get("/", headers={"Authorization": f"Bearer {token}"}).text == user_id
        # A bad state through the route, then sign-out.
        bad = client.get(f"/login/github/callback?{query}", follow_redirects=False)
        assert bad.status_code == 400
        assert client.post("/logout", headers=origin, follow_redirects=False).status_code == 303
        assert client.get("/", headers={"Cookie": f"auth_session={token}"}).text == "anonymous"
    harvest(secrets_, github_server)
    signed_out = events(caplog, "signed out")
    assert [r.user_id for r in signed_out] == [user_id]  # type: ignore[attr-defined]
    assert [(r.provider_id, r.user_id) for r in events(caplog, "oauth sign-in")] == [  # type: ignore[attr-defined]
        ("github", user_id)
    ]


def _header(start: FlowStart) -> str:
    return f"{start.cookie.name}={start.cookie.value}"


def harvest(secrets_: Secrets, *servers: object) -> None:
    """Every code and token the local providers ever issued, lucia's own included."""
    for server in servers:
        for name in ("_codes", "_tokens", "_refresh_tokens", "_access_tokens"):
            issued = getattr(server, name, {})
            secrets_.add(*issued)
            secrets_.add(*(v for v in issued.values() if isinstance(v, str)))


def _cookie(name: str, value: str) -> Any:
    from lucia.cookies import Cookie, CookieAttributes

    return Cookie(name, value, CookieAttributes(secure=False))


GRAPH = "https://graph.facebook.com/v27.0"
FACEBOOK_ME = f"{GRAPH}/me"
FACEBOOK_PERMISSIONS = f"{GRAPH}/me/permissions"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_sec42_facebook_sign_in_and_revocation_log_no_appsecret_proof(
    secrets_: Secrets, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    # Facebook's Graph API in its documented shapes (tests/oauth/providers' fixtures).
    mock = ProviderMock()
    mock.route("POST", f"{GRAPH}/oauth/access_token", json=load_fixture("facebook", "token"))
    mock.route("GET", FACEBOOK_ME, json=load_fixture("facebook", "me"))
    mock.route("DELETE", FACEBOOK_PERMISSIONS, json={"success": True})
    facebook = mocked(Facebook, mock)
    secrets_.add(CLIENT_SECRET)
    store = MemoryAdapter()
    auth = AsyncLucia(AsyncMemoryAdapter(store)) if mode == "async" else Lucia(store)
    flow = SignInFlow(auth, [facebook])
    start = await flow.astart("facebook") if mode == "async" else flow.start("facebook")
    secrets_.start(start)
    state = dict(parse_qsl(urlsplit(start.url).query))["state"]
    query = urlencode({"code": "a-facebook-code", "state": state})
    secrets_.callback(query)
    if mode == "async":
        result = await flow.acallback("facebook", query, _header(start))
        await facebook.arevoke_token(result.tokens.access_token)
    else:
        result = flow.callback("facebook", query, _header(start))
        facebook.revoke_token(result.tokens.access_token)
    secrets_.result(result)
    proof = facebook.appsecret_proof(result.tokens.access_token)
    secrets_.add(proof)
    # Facebook gets the proof in the query of both calls, as it documents...
    assert mock.last("GET", FACEBOOK_ME).url.params["appsecret_proof"] == proof
    assert mock.last("DELETE", FACEBOOK_PERMISSIONS).url.params["appsecret_proof"] == proof
    # ... and httpx's line for each request is there, the proof redacted.
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    for url in (FACEBOOK_ME, FACEBOOK_PERMISSIONS):
        assert any(f" {url}?" in line and "appsecret_proof=[redacted]" in line for line in lines)
    assert [r.user_id for r in events(caplog, "oauth sign-in")] == [result.user.id]  # type: ignore[attr-defined]


def _request_record(url: object, *, name: str = "httpx") -> logging.LogRecord:
    """A record as httpx makes it for each request it sends."""
    args = ("GET", url, "HTTP/1.1", 200, "OK")
    return logging.LogRecord(
        name, logging.INFO, "", 0, 'HTTP Request: %s %s "%s %d %s"', args, None
    )


def _logged(record: logging.LogRecord) -> str:
    """The record's message once the ``httpx`` logger's filters have seen it."""
    assert logging.getLogger("httpx").filter(record)
    return record.getMessage()


@pytest.mark.parametrize("name", sorted(SECRET_PARAMETERS))
def test_sec42_httpx_request_lines_redact_each_secret_parameter(name: str) -> None:
    url = httpx.URL("https://api.example/v1/me", params={"fields": "id", name: "s3cret-value"})
    logged = _logged(_request_record(url))
    assert logged == (
        f'HTTP Request: GET https://api.example/v1/me?fields=id&{name}=[redacted] "HTTP/1.1 200 OK"'
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Names in any case or percent-encoded; several secrets; the fragment too.
        (
            "https://h/p?ACCESS_TOKEN=a1&access%5Ftoken=a2&state=xyz&code=c1#id_token=i1",
            "https://h/p?ACCESS_TOKEN=[redacted]&access%5Ftoken=[redacted]&state=xyz"
            "&code=[redacted]#id_token=[redacted]",
        ),
        # A user info password.
        ("https://ada:pa55word@h/p?q=1", "https://ada:[redacted]@h/p?q=1"),
        # Nothing secret: as it was, to the byte (the path's "&code=" is no parameter).
        ("https://h/a&code=x/b?fields=id%2Cname&code=&codes=1", None),
        ("https://h/p", None),
        ("https://ada@h/p?token", None),
    ],
)
def test_sec42_httpx_request_lines_keep_everything_else(url: str, expected: str | None) -> None:
    record = _request_record(url)
    _logged(record)
    assert record.args is not None
    assert record.args[1] == (url if expected is None else expected)  # type: ignore[index]


def test_sec42_the_redaction_leaves_other_records_alone() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    secret = "https://h/p?code=s3cret-value"
    odd: list[logging.LogRecord] = [
        # Another record of httpx, another logger's line, odd arguments.
        logging.LogRecord("httpx", logging.INFO, "", 0, "Pool: %s", (secret,), None),
        _request_record(secret, name="app"),
        logging.LogRecord("httpx", logging.INFO, "", 0, "HTTP Request: %s", (secret,), None),
        logging.LogRecord("httpx", logging.INFO, "", 0, "HTTP Request: %(u)s", ({"u": 1},), None),
        logging.LogRecord("httpx", logging.INFO, "", 0, "HTTP Request:", None, None),
        logging.LogRecord("httpx", logging.INFO, "", 0, ValueError("HTTP Request:"), (1, 2), None),
        _request_record(None),
        _request_record(42),
    ]
    unprintable = _request_record(Unprintable())
    for record in [*odd, unprintable]:
        before = (record.msg, record.args)
        # Never raises, never drops a record.
        assert logging.getLogger("httpx").filter(record)
        assert (record.msg, record.args) == before


def test_sec42_the_redaction_is_attached_once() -> None:
    logger = logging.getLogger("httpx")
    before = list(logger.filters)
    redact_httpx_request_logs()
    redact_httpx_request_logs()
    assert logger.filters == before
    assert sum(type(f).__name__ == "_RequestLineRedactor" for f in logger.filters) == 1


# An app that configures logging (dictConfig, which by default disables the loggers
# it does not name) after importing lucia, then sends a Facebook revocation and a
# request of its own with its own client.
_CONFIGURED_LATER = """
import logging.config
import httpx
from lucia.oauth.providers import Facebook

logging.config.dictConfig({
    "version": 1,
    "handlers": {"out": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}},
    "loggers": {"httpx": {"level": "INFO", "handlers": ["out"]}},
})
answer = httpx.MockTransport(lambda request: httpx.Response(200, json={"success": True}))
client = httpx.Client(transport=answer)
facebook = Facebook("app-id", "the-app-secret", "https://app.example/cb", http_client=client)
facebook.revoke_token("an-access-token")
print(facebook.appsecret_proof("an-access-token"), flush=True)
client.get("https://api.example/me?access_token=the-apps-own-token&fields=id")
"""


def test_sec42_redaction_holds_when_the_app_configures_logging_after_importing_lucia() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CONFIGURED_LATER], capture_output=True, text=True, check=True
    )
    request_line, proof, own_line = done.stdout.splitlines()
    assert request_line.startswith("HTTP Request: DELETE https://graph.facebook.com/")
    assert "appsecret_proof=[redacted]" in request_line
    assert proof not in request_line
    own = "https://api.example/me?access_token=[redacted]&fields=id"
    assert own_line == f'HTTP Request: GET {own} "HTTP/1.1 200 OK"'


def test_sec42_the_docs_name_every_redacted_parameter() -> None:
    page = (Path(__file__).parent.parent / "docs" / "oauth.md").read_text(encoding="utf-8")
    section = page.split("## What the provider requests leave in your logs")[1].split("\n## ")[0]
    listed = section.split("the values of the query parameters")[1].split("(in any case)")[0]
    assert set(re.findall(r"`(\w+)`", listed)) == SECRET_PARAMETERS
