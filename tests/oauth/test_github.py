"""The GitHub provider, against LocalGitHub (a real HTTP server on 127.0.0.1
standing in for GitHub's documented endpoints, in the Enterprise Server layout)
and against recorded-shape fixtures of GitHub's answers. Sync and async alike.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from lucia.oauth import (
    OAuth2Tokens,
    OAuthError,
    OAuthProviderError,
    OAuthResponseError,
    OAuthTransportError,
    create_code_challenge,
    generate_code_verifier,
    generate_state,
)
from lucia.oauth.providers.github import GitHub, parse_github_user
from lucia.testing.github import Endpoint, Fault, GitHubAccount, GitHubEmail, LocalGitHub

CLIENT_ID = "Iv1.8a61f9b3a7aba766"
CLIENT_SECRET = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
REDIRECT_URI = "http://app.test/login/github/callback"
OCTOCAT_ID = 583231
FIXTURES = Path(__file__).parent / "fixtures"


def octocat() -> GitHubAccount:
    return GitHubAccount(
        id=OCTOCAT_ID,
        login="octocat",
        name="The Octocat",
        email=None,  # no public email: the common case
        emails=[
            GitHubEmail("583231+octocat@users.noreply.github.com", verified=True),
            GitHubEmail("octocat@example.com", primary=True, verified=True),
            GitHubEmail("old@example.com"),
        ],
    )


def assert_no_secrets(error: BaseException, *secrets: str) -> None:
    """No secret in the error's message, repr, arguments or attributes."""
    texts = [str(error), repr(error), *map(str, error.args)]
    texts += [f"{name}={value!r}" for name, value in vars(error).items()]
    for secret in (CLIENT_SECRET, *secrets):
        for text in texts:
            assert secret not in text, f"a secret leaked into {text!r}"


class Twin:
    """Calls a provider's sync method or its ``a``-prefixed async twin."""

    def __init__(self, provider: GitHub, asynchronous: bool) -> None:
        self.provider = provider
        self.asynchronous = asynchronous

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.asynchronous:
            return await getattr(self.provider, "a" + method)(*args, **kwargs)
        return getattr(self.provider, method)(*args, **kwargs)

    async def validate(self, code: str, verifier: str | None) -> OAuth2Tokens:
        tokens: OAuth2Tokens = await self.call("validate_authorization_code", code, verifier)
        return tokens

    async def user(self, tokens: OAuth2Tokens) -> Any:
        return await self.call("get_user", tokens)


@pytest.fixture
def github() -> Iterator[LocalGitHub]:
    with LocalGitHub(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        accounts=[octocat()],
        hang_seconds=10,
    ) as server:
        yield server


def provider_for(
    github: LocalGitHub, *, secret: str = CLIENT_SECRET, redirect_uri: str = REDIRECT_URI
) -> GitHub:
    return GitHub(CLIENT_ID, secret, redirect_uri, enterprise_url=github.url)


@pytest.fixture(params=["sync", "async"])
async def twin(request: pytest.FixtureRequest, github: LocalGitHub) -> AsyncIterator[Twin]:
    provider = provider_for(github)
    yield Twin(provider, asynchronous=request.param == "async")
    await provider.aclose()


def sign_in(github: LocalGitHub, provider: GitHub, scopes: tuple[str, ...] = ()) -> tuple[str, str]:
    """The browser's part: authorize at LocalGitHub; returns the code and the verifier."""
    state, verifier = generate_state(), generate_code_verifier()
    params = github.authorize(provider.create_authorization_url(state, verifier, scopes=scopes))
    assert params["state"] == state
    return params["code"], verifier


async def signed_in(twin: Twin, github: LocalGitHub, **kwargs: Any) -> OAuth2Tokens:
    code, verifier = sign_in(github, twin.provider, **kwargs)
    return await twin.validate(code, verifier)


# Construction and the authorization URL


def test_provider_defaults() -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    assert provider.name == "github"
    assert provider.uses_pkce is True
    assert provider.uses_nonce is False
    assert provider.issuer is None
    assert provider.default_scopes == ("read:user", "user:email")
    assert provider.client.authorization_endpoint == "https://github.com/login/oauth/authorize"
    assert provider.client.token_endpoint == "https://github.com/login/oauth/access_token"
    assert provider.api_url == "https://api.github.com"
    assert CLIENT_SECRET not in repr(provider)


@pytest.mark.parametrize(
    "url", ["https://ghe.example.com", "https://ghe.example.com/", "https://ghe.example.com//"]
)
def test_enterprise_endpoints(url: str) -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, enterprise_url=url)
    base = "https://ghe.example.com"
    assert provider.client.authorization_endpoint == f"{base}/login/oauth/authorize"
    assert provider.client.token_endpoint == f"{base}/login/oauth/access_token"
    assert provider.api_url == f"{base}/api/v3"


@pytest.mark.parametrize(
    "url",
    [
        "ghe.example.com",
        "ftp://ghe.example.com",
        "javascript:alert(1)",
        "https://",
        "https://ghe.example.com/?next=x",
        "https://ghe.example.com/#x",
        "https://admin:pw@ghe.example.com",
    ],
)
def test_enterprise_url_must_be_a_plain_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="enterprise_url"):
        GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, enterprise_url=url)


def test_sec24_authorization_url() -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    state, verifier = generate_state(), generate_code_verifier()
    url = provider.create_authorization_url(state, verifier)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "github.com",
        "/login/oauth/authorize",
    )
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "scope": ["read:user user:email"],
        "state": [state],
        "code_challenge": [create_code_challenge(verifier)],
        "code_challenge_method": ["S256"],
    }
    assert "plain" not in url
    assert verifier not in url
    custom = parse_qs(
        urlsplit(provider.create_authorization_url(state, verifier, scopes=["repo"])).query
    )
    assert custom["scope"] == ["repo"]


# The whole exchange against LocalGitHub


async def test_full_exchange(twin: Twin, github: LocalGitHub) -> None:
    code, verifier = sign_in(github, twin.provider)
    tokens = await twin.validate(code, verifier)
    assert tokens.access_token.startswith("gho_")
    assert tokens.token_type == "bearer"
    assert tokens.scopes == ("read:user", "user:email")
    assert tokens.refresh_token is None
    assert tokens.expires_at is None

    user = await twin.user(tokens)
    assert user.id == str(OCTOCAT_ID)
    assert user.username == "octocat"
    assert user.name == "The Octocat"
    assert user.avatar_url == f"{github.url}/avatars/u/{OCTOCAT_ID}?v=4"
    assert user.email == "octocat@example.com"
    assert user.email_verified is True
    assert user.raw["login"] == "octocat"

    token_request, user_request, emails_request = github.requests[-3:]
    assert token_request.path == "/login/oauth/access_token"
    # client_secret_post, as GitHub documents it
    assert token_request.form == {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert "Authorization" not in token_request.headers
    assert token_request.headers["Accept"] == "application/json"
    assert (user_request.path, emails_request.path) == ("/api/v3/user", "/api/v3/user/emails")
    for request in (user_request, emails_request):
        assert request.headers["Authorization"] == f"Bearer {tokens.access_token}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert request.headers["User-Agent"].startswith("lucia")


async def test_sec27_github_200_error_is_a_provider_error(twin: Twin, github: LocalGitHub) -> None:
    _, verifier = sign_in(github, twin.provider)
    with pytest.raises(OAuthProviderError) as caught:
        await twin.validate("0123456789abcdef0123", verifier)
    error = caught.value
    assert error.http_status == 200
    assert error.error == "bad_verification_code"
    assert error.error_description == "The code passed is incorrect or expired."
    assert error.error_uri is not None
    assert error.status == 400
    assert_no_secrets(error, "0123456789abcdef0123", verifier)


async def test_sec27_wrong_client_secret(github: LocalGitHub, twin: Twin) -> None:
    code, verifier = sign_in(github, twin.provider)
    provider = provider_for(github, secret="not-the-secret")
    try:
        with pytest.raises(OAuthProviderError) as caught:
            await Twin(provider, twin.asynchronous).validate(code, verifier)
    finally:
        await provider.aclose()
    assert caught.value.error == "incorrect_client_credentials"
    assert_no_secrets(caught.value, code, verifier, "not-the-secret")


async def test_sec27_code_is_redeemed_once(twin: Twin, github: LocalGitHub) -> None:
    code, verifier = sign_in(github, twin.provider)
    await twin.validate(code, verifier)
    with pytest.raises(OAuthProviderError) as caught:
        await twin.validate(code, verifier)
    assert caught.value.error == "bad_verification_code"
    assert_no_secrets(caught.value, code, verifier)


@pytest.mark.parametrize("wrong", ["other", None])
async def test_sec24_code_verifier_is_checked(
    twin: Twin, github: LocalGitHub, wrong: str | None
) -> None:
    code, verifier = sign_in(github, twin.provider)
    other = generate_code_verifier() if wrong else None
    with pytest.raises(OAuthProviderError) as caught:
        await twin.validate(code, other)
    assert caught.value.error == "bad_verification_code"
    assert_no_secrets(caught.value, code, verifier)


async def test_sec28_redirect_uri_must_be_the_same_in_both_requests(
    twin: Twin, github: LocalGitHub
) -> None:
    code, verifier = sign_in(github, twin.provider)
    provider = provider_for(github, redirect_uri="http://app.test/elsewhere")
    try:
        with pytest.raises(OAuthProviderError) as caught:
            await Twin(provider, twin.asynchronous).validate(code, verifier)
    finally:
        await provider.aclose()
    assert caught.value.error == "redirect_uri_mismatch"


# Emails (item 38)


async def test_sec38_verified_primary_email_wins_over_public_one(
    twin: Twin, github: LocalGitHub
) -> None:
    account = github.accounts[OCTOCAT_ID]
    account.email = "public@example.com"
    account.emails.append(GitHubEmail("public@example.com", verified=True))
    user = await twin.user(await signed_in(twin, github))
    assert (user.email, user.email_verified) == ("octocat@example.com", True)


@pytest.mark.parametrize("how", ["scope not granted", "403"])
async def test_sec38_emails_api_refused_falls_back_to_unverified_public_email(
    twin: Twin, github: LocalGitHub, how: str
) -> None:
    github.accounts[OCTOCAT_ID].email = "octocat@example.com"
    if how == "403":
        github.fail("emails", "forbidden")
        tokens = await signed_in(twin, github)
    else:
        tokens = await signed_in(twin, github, scopes=("read:user",))
    user = await twin.user(tokens)
    assert user.email == "octocat@example.com"
    # Verified at GitHub, but the emails API did not say so: not claimed.
    assert user.email_verified is False
    assert github.requests[-1].path == "/api/v3/user/emails"


async def test_sec38_emails_api_refused_and_no_public_email(
    twin: Twin, github: LocalGitHub
) -> None:
    user = await twin.user(await signed_in(twin, github, scopes=("read:user",)))
    assert (user.email, user.email_verified) == (None, False)


async def test_sec38_unverified_primary_email_is_not_claimed_verified(
    twin: Twin, github: LocalGitHub
) -> None:
    github.accounts[OCTOCAT_ID].emails = [
        GitHubEmail("new@example.com", primary=True, verified=False),
        GitHubEmail("other@example.com", verified=True),
    ]
    user = await twin.user(await signed_in(twin, github))
    assert (user.email, user.email_verified) == ("new@example.com", False)


async def test_sec38_public_email_verified_by_the_emails_api(
    twin: Twin, github: LocalGitHub
) -> None:
    account = github.accounts[OCTOCAT_ID]
    account.email = "public@example.com"
    account.emails = [
        GitHubEmail("new@example.com", primary=True, verified=False),
        GitHubEmail("public@example.com", verified=True),
    ]
    user = await twin.user(await signed_in(twin, github))
    assert (user.email, user.email_verified) == ("public@example.com", True)


async def test_sec38_no_email_at_all(twin: Twin, github: LocalGitHub) -> None:
    github.accounts[OCTOCAT_ID].emails = []
    user = await twin.user(await signed_in(twin, github))
    assert (user.email, user.email_verified) == (None, False)


# The identifier (item 37)


async def test_sec37_id_is_the_numeric_id_and_survives_a_rename(
    twin: Twin, github: LocalGitHub
) -> None:
    first = await twin.user(await signed_in(twin, github))
    assert first.id == "583231"
    github.accounts[OCTOCAT_ID].login = "octocat-renamed"
    # Someone else registers the freed login, with the same email address.
    github.add_account(
        GitHubAccount(
            id=9919,
            login="octocat",
            emails=[GitHubEmail("octocat@example.com", primary=True, verified=False)],
        )
    )
    renamed = await twin.user(await signed_in(twin, github))
    assert renamed.id == first.id
    assert renamed.username == "octocat-renamed"
    github.sign_in(9919)
    squatter = await twin.user(await signed_in(twin, github))
    assert squatter.username == "octocat"
    assert squatter.id == "9919" != first.id


# Bad answers: typed errors, never a crash


TOKEN_FAULTS: list[tuple[Fault, type[Exception]]] = [
    ("500", OAuthResponseError),
    ("html", OAuthResponseError),
    ("not_json", OAuthResponseError),
    ("huge", OAuthResponseError),
    ("forbidden", OAuthResponseError),
]
API_FAULTS: list[tuple[Endpoint, Fault]] = [
    ("user", "500"),
    ("user", "html"),
    ("user", "not_json"),
    ("user", "json_array"),
    ("user", "huge"),
    ("user", "forbidden"),
    ("user", "missing_id"),
    ("user", "string_id"),
    ("emails", "500"),
    ("emails", "html"),
    ("emails", "not_json"),
    ("emails", "huge"),
]


@pytest.mark.parametrize(("fault", "expected"), TOKEN_FAULTS)
async def test_bad_token_answers_are_typed_errors(
    twin: Twin, github: LocalGitHub, fault: Fault, expected: type[Exception]
) -> None:
    code, verifier = sign_in(github, twin.provider)
    github.fail("token", fault)
    with pytest.raises(expected) as caught:
        await twin.validate(code, verifier)
    assert_no_secrets(caught.value, code, verifier)


async def test_token_answer_that_is_a_json_array_is_a_typed_error(
    twin: Twin, github: LocalGitHub
) -> None:
    code, verifier = sign_in(github, twin.provider)
    github.fail("token", "json_array")
    with pytest.raises(OAuthResponseError):
        await twin.validate(code, verifier)


@pytest.mark.parametrize(("endpoint", "fault"), API_FAULTS)
async def test_bad_api_answers_are_typed_errors(
    twin: Twin, github: LocalGitHub, endpoint: Endpoint, fault: Fault
) -> None:
    code, verifier = sign_in(github, twin.provider)
    tokens = await twin.validate(code, verifier)
    github.fail(endpoint, fault)
    with pytest.raises(OAuthResponseError) as caught:
        await twin.user(tokens)
    assert_no_secrets(caught.value, code, verifier, tokens.access_token)
    if fault == "500":
        assert caught.value.http_status == 500
        assert caught.value.body.isprintable()


@pytest.fixture
def impatient_sync_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(0.3)) as http:
        yield http


@pytest.fixture
async def impatient_async_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as http:
        yield http


@pytest.mark.parametrize("endpoint", ["token", "user", "emails"])
@pytest.mark.parametrize("asynchronous", [False, True])
async def test_hanging_github_is_a_timeout(
    github: LocalGitHub,
    impatient_sync_client: httpx.Client,
    impatient_async_client: httpx.AsyncClient,
    endpoint: Endpoint,
    asynchronous: bool,
) -> None:
    provider = GitHub(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
        enterprise_url=github.url,
        http_client=impatient_sync_client,
        async_http_client=impatient_async_client,
    )
    twin = Twin(provider, asynchronous)
    code, verifier = sign_in(github, provider)
    if endpoint == "token":
        github.fail("token", "hang")
        attempt = twin.validate(code, verifier)
    else:
        tokens = await twin.validate(code, verifier)
        github.fail(endpoint, "hang")
        attempt = twin.user(tokens)
    with pytest.raises(OAuthTransportError, match="did not answer in time") as caught:
        await attempt
    assert_no_secrets(caught.value, code, verifier)


async def test_github_down_is_a_transport_error(twin: Twin) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = GitHub(
        CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, enterprise_url=f"http://127.0.0.1:{port}"
    )
    try:
        with pytest.raises(OAuthTransportError, match="could not be reached") as caught:
            await Twin(provider, twin.asynchronous).validate("0123456789abcdef0123", "v" * 43)
    finally:
        await provider.aclose()
    assert_no_secrets(caught.value, "0123456789abcdef0123", "v" * 43)


# Revocation and refresh


async def test_revoke(twin: Twin, github: LocalGitHub) -> None:
    tokens = await signed_in(twin, github)
    assert github.is_token_active(tokens.access_token)
    assert await twin.call("revoke_token", tokens.access_token) is None
    assert not github.is_token_active(tokens.access_token)

    request = github.requests[-1]
    assert (request.method, request.path) == ("DELETE", f"/api/v3/applications/{CLIENT_ID}/token")
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert request.json == {"access_token": tokens.access_token}

    with pytest.raises(OAuthResponseError) as caught:
        await twin.user(tokens)
    assert caught.value.http_status == 401
    with pytest.raises(OAuthResponseError) as caught:
        await twin.call("revoke_token", tokens.access_token)
    assert caught.value.http_status == 404
    assert_no_secrets(caught.value, tokens.access_token)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_expiring_tokens_are_dated_by_the_providers_clock(
    github: LocalGitHub, asynchronous: bool
) -> None:
    github.expiring_tokens = True
    moment = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    provider = GitHub(
        CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, enterprise_url=github.url, clock=lambda: moment
    )
    twin = Twin(provider, asynchronous=asynchronous)
    try:
        tokens = await signed_in(twin, github)
    finally:
        await provider.aclose()
    assert tokens.expires_at == moment + timedelta(hours=8)


async def test_refresh_expiring_tokens(twin: Twin, github: LocalGitHub) -> None:
    github.expiring_tokens = True  # a GitHub App with expiring user tokens
    tokens = await signed_in(twin, github)
    assert tokens.access_token.startswith("ghu_")
    assert tokens.refresh_token is not None
    assert tokens.expires_at is not None

    fresh = await twin.call("refresh_access_token", tokens.refresh_token)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token not in (None, tokens.refresh_token)
    assert not github.is_token_active(tokens.access_token)
    assert github.is_token_active(fresh.access_token)
    assert github.requests[-1].form == {
        "grant_type": "refresh_token",
        "refresh_token": tokens.refresh_token,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    with pytest.raises(OAuthProviderError) as caught:
        await twin.call("refresh_access_token", tokens.refresh_token)
    assert caught.value.error == "bad_refresh_token"
    assert_no_secrets(caught.value, tokens.refresh_token)


# Recorded-shape fixtures of GitHub's answers, through the provider's parsing


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def answer(request: httpx.Request, data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data, request=request)


def test_fixture_token_answer() -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    request = provider.code_request("code", "v" * 43)
    assert str(request.url) == "https://github.com/login/oauth/access_token"
    answered = answer(request, fixture("github_token.json"))
    tokens = provider.client.read_tokens(answered, what="the token request")
    assert tokens.access_token == "gho_16C7e42F292c6912E7710c838347Ae178B4a"
    assert tokens.scopes == ("read:user", "user:email")
    assert tokens.token_type == "bearer"


def test_fixture_expiring_token_answer() -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    request = provider.refresh_request("ghr_old")
    answered = answer(request, fixture("github_token_expiring.json"))
    tokens = provider.client.read_tokens(answered, what="the refresh request")
    assert tokens.refresh_token is not None
    assert tokens.refresh_token.startswith("ghr_")
    assert tokens.expires_at is not None
    assert tokens.scopes == ()


def test_sec27_fixture_token_error_answer() -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    request = provider.code_request("code", "v" * 43)
    answered = answer(request, fixture("github_token_error.json"))
    with pytest.raises(OAuthProviderError) as caught:
        provider.client.read_tokens(answered, what="the token request")
    assert caught.value.error == "bad_verification_code"
    assert caught.value.error_description == "The code passed is incorrect or expired."
    assert caught.value.error_uri is not None
    assert caught.value.error_uri.startswith("https://docs.github.com/")


def test_fixture_user_and_emails_answers() -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    tokens = OAuth2Tokens.from_response(fixture("github_token.json"))
    user_request, emails_request = provider.user_requests(tokens)
    assert str(user_request.url) == "https://api.github.com/user"
    assert str(emails_request.url) == "https://api.github.com/user/emails"
    answers = [
        answer(user_request, fixture("github_user.json")),
        answer(emails_request, fixture("github_emails.json")),
    ]
    user = provider.parse_user(tokens, answers)
    assert user.id == "1"
    assert user.username == "octocat"
    assert user.name == "monalisa octocat"
    assert user.avatar_url == "https://github.com/images/error/octocat_happy.gif"
    assert (user.email, user.email_verified) == ("octocat@github.com", True)


@pytest.mark.parametrize("status", [403, 404])
def test_sec38_fixture_emails_refused(status: int) -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    tokens = OAuth2Tokens(access_token="gho_x")
    user_request, emails_request = provider.user_requests(tokens)
    profile = fixture("github_user.json") | {"email": "octocat@github.com"}
    answers = [
        answer(user_request, profile),
        answer(emails_request, {"message": "Not Found"}, status),
    ]
    user = provider.parse_user(tokens, answers)
    assert (user.email, user.email_verified) == ("octocat@github.com", False)


@pytest.mark.parametrize(
    ("status", "body", "refused"),
    [
        (204, None, False),
        (200, {}, False),
        (200, {"error": "bad_verification_code"}, True),
        (422, {"message": "Validation Failed"}, True),
    ],
)
def test_revocation_answers(status: int, body: Any, refused: bool) -> None:
    # GitHub answers a revocation 204; an error body is refused whatever the status,
    # as GitHub's token errors are (HTTP 200 with an error).
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    request = provider.revocation_request("gho_x")
    response = httpx.Response(status, json=body, request=request)
    if not refused:
        assert provider.read_revocation(response) is None
        return
    with pytest.raises(OAuthError):
        provider.read_revocation(response)


@pytest.mark.parametrize("status", [401, 500, 502])
def test_fixture_emails_other_failures_are_errors(status: int) -> None:
    provider = GitHub(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    tokens = OAuth2Tokens(access_token="gho_x")
    user_request, emails_request = provider.user_requests(tokens)
    answers = [
        answer(user_request, fixture("github_user.json")),
        answer(emails_request, {"message": "Server Error"}, status),
    ]
    with pytest.raises(OAuthResponseError):
        provider.parse_user(tokens, answers)


@pytest.mark.parametrize("user_id", [None, "1", "01", 1.0, True, 0, -1, [1], {"id": 1}])
def test_sec37_id_must_be_a_positive_integer(user_id: Any) -> None:
    profile = fixture("github_user.json") | {"id": user_id}
    with pytest.raises(OAuthResponseError, match="numeric id"):
        parse_github_user(profile, [])
    del profile["id"]
    with pytest.raises(OAuthResponseError, match="numeric id"):
        parse_github_user(profile, [])


def test_parse_github_user_keeps_big_ids_exact() -> None:
    profile = fixture("github_user.json") | {"id": 2**63 + 1}
    assert parse_github_user(profile, None).id == "9223372036854775809"


@pytest.mark.parametrize("profile", [[], "octocat", None, 1])
def test_user_answer_that_is_not_an_object_is_refused(profile: Any) -> None:
    with pytest.raises(OAuthResponseError):
        parse_github_user(profile, [])


@pytest.mark.parametrize("emails", [{}, "octocat@github.com", 5, True])
def test_emails_answer_that_is_not_an_array_is_refused(emails: Any) -> None:
    with pytest.raises(OAuthResponseError):
        parse_github_user(fixture("github_user.json"), emails)


def test_sec38_junk_email_entries_are_skipped_and_verified_must_be_true() -> None:
    emails = [
        "octocat@github.com",
        None,
        {"email": None, "primary": True, "verified": True},
        {"email": "", "primary": True, "verified": True},
        {"email": "truthy@example.com", "primary": True, "verified": "true"},
        {"email": "one@example.com", "primary": 1, "verified": 1},
    ]
    user = parse_github_user(fixture("github_user.json"), emails)
    assert (user.email, user.email_verified) == ("truthy@example.com", False)


def test_parse_github_user_ignores_wrongly_typed_fields() -> None:
    profile = fixture("github_user.json") | {"login": 5, "name": [], "avatar_url": {}, "email": 1}
    user = parse_github_user(profile, None)
    assert (user.username, user.name, user.avatar_url, user.email) == (None, None, None, None)


# Logs (item 42)


async def test_sec42_no_secret_in_debug_logs(
    twin: Twin, github: LocalGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    github.expiring_tokens = True
    # The browser's leg (authorize and its redirect carrying the code) is not
    # lucia's: it runs before the capture starts.
    state, verifier = generate_state(), generate_code_verifier()
    url = twin.provider.create_authorization_url(state, verifier)
    code = github.authorize(url)["code"]
    secrets = [code, verifier, state, CLIENT_SECRET]
    errors: list[BaseException] = []

    caplog.set_level(logging.DEBUG)
    tokens = await twin.validate(code, verifier)
    assert tokens.refresh_token is not None
    secrets += [tokens.access_token, tokens.refresh_token]
    await twin.user(tokens)
    for attempt in (
        twin.validate(code, verifier),  # replayed code
        twin.call("refresh_access_token", "ghr_" + "0" * 76),
    ):
        with pytest.raises(OAuthProviderError) as caught:
            await attempt
        errors.append(caught.value)
    github.fail("user", "500")
    with pytest.raises(OAuthResponseError) as failed:
        await twin.user(tokens)
    errors.append(failed.value)
    github.fail("user", None)
    fresh = await twin.call("refresh_access_token", tokens.refresh_token)
    secrets += [fresh.access_token, fresh.refresh_token]
    await twin.call("revoke_token", fresh.access_token)

    records = caplog.records
    assert any(record.name == "lucia.oauth.github" for record in records)
    assert any(record.name.startswith("httpx") for record in records)
    texts = [record.getMessage() for record in records]
    texts += [logging.Formatter().formatException(r.exc_info) for r in records if r.exc_info]
    texts += [repr(tokens), repr(fresh), repr(twin.provider), repr(github)]
    for error in errors:
        texts += [str(error), repr(error), repr(vars(error))]
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret leaked into {text!r}"


# LocalGitHub itself: the parts the demo and browser tests rely on


def _hidden_inputs(page: str) -> dict[str, str]:
    import html

    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {html.unescape(name): html.unescape(value) for name, value in pairs}


@pytest.mark.parametrize(("decision", "approved"), [("approve", True), ("deny", False)])
def test_local_github_authorization_form(
    github: LocalGitHub, decision: str, approved: bool
) -> None:
    github.auto_approve = False
    provider = provider_for(github)
    state = 'st"><script>alert(1)</script>'
    url = provider.create_authorization_url(state, generate_code_verifier())
    with httpx.Client(base_url=github.url) as browser:
        page = browser.get(url)
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text
        assert 'id="approve"' in page.text
        form = _hidden_inputs(page.text) | {"account": str(OCTOCAT_ID), "decision": decision}
        assert form["state"] == state
        redirect = browser.post("/login/oauth/authorize", data=form)
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = dict(parse_qsl(urlsplit(location).query))
    assert params["state"] == state
    if approved:
        assert set(params) == {"code", "state"}
    else:
        assert params["error"] == "access_denied"
        assert "code" not in params
    provider.close()


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "abc"}, "invalid_request"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri_mismatch"),
    ],
)
def test_local_github_refuses_bad_authorization_requests(
    github: LocalGitHub, extra: dict[str, str], error: str
) -> None:
    query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s"} | extra
    response = httpx.get(f"{github.url}/login/oauth/authorize", params=query)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")  # never to an unregistered URI
    assert dict(parse_qsl(urlsplit(location).query))["error"] == error


def test_local_github_unknown_client(github: LocalGitHub) -> None:
    response = httpx.get(f"{github.url}/login/oauth/authorize", params={"client_id": "nope"})
    assert response.status_code == 404


def test_local_github_token_answer_is_form_encoded_without_accept_json(
    github: LocalGitHub,
) -> None:
    provider = provider_for(github)
    code, verifier = sign_in(github, provider)
    form = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
    }
    response = httpx.post(f"{github.url}/login/oauth/access_token", data=form)
    assert response.status_code == 200
    answer = dict(parse_qsl(response.text))
    assert answer["token_type"] == "bearer"
    assert answer["access_token"].startswith("gho_")
    provider.close()


def test_local_github_lifecycle() -> None:
    server = LocalGitHub()
    with pytest.raises(RuntimeError):
        _ = server.url
    with server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert "local-github-secret" not in repr(server)
    with pytest.raises(RuntimeError):
        _ = server.url


def test_local_github_form_with_a_bad_account_is_refused(github: LocalGitHub) -> None:
    form = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s"}
    for account in ("abc", "-1", "424242"):
        response = httpx.post(
            f"{github.url}/login/oauth/authorize",
            data=form | {"account": account, "decision": "approve"},
        )
        assert response.status_code == 403


def test_local_github_logs_paths_not_queries(
    github: LocalGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lucia.testing.github")
    provider = provider_for(github)
    state, verifier = generate_state(), generate_code_verifier()
    code = github.authorize(provider.create_authorization_url(state, verifier))["code"]
    provider.validate_authorization_code(code, verifier)
    provider.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "lucia.testing.github"]
    assert "GET /login/oauth/authorize -> 302" in messages
    for secret in (state, code, verifier, create_code_challenge(verifier)):
        assert not any(secret in message for message in messages)
