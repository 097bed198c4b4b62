"""OpenID Connect: discovery, the OpenIDConnect provider end to end, error paths, logs.

Everything runs against LocalOIDCProvider (a real HTTP server on 127.0.0.1),
sync and async alike through ``Twin``. The OpenID Foundation's negative
relying-party cases are in test_rp_conformance.py; the helpers here serve both.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from lucia.oauth import (
    OAuth2Tokens,
    OAuthError,
    OAuthProviderError,
    OAuthResponseError,
    OAuthTransportError,
    create_code_challenge,
    generate_code_verifier,
    generate_nonce,
    generate_state,
)
from lucia.oauth.oidc import (
    MAX_ID_TOKEN_BYTES,
    IDTokenError,
    JWKSCache,
    OIDCDiscoveryError,
    OIDCMetadata,
    decode_header,
    discovery_url,
    parse_jwks,
    select_key,
    token_hash,
    unverified_claims,
    validate_id_token,
)
from lucia.oauth.providers.openid import OIDCTokens, OpenIDConnect
from lucia.testing.oidc_provider import OMIT, LocalOIDCProvider
from tests.conftest import Clock

REDIRECT_URI = "http://app.test/login/oidc/callback"


# Helpers shared with test_rp_conformance.py and test_google.py


@pytest.fixture
def op(clock: Clock) -> Iterator[LocalOIDCProvider]:
    with LocalOIDCProvider(redirect_uris=[REDIRECT_URI], clock=clock) as server:
        yield server


class Twin:
    """Calls a provider's sync method or its ``a``-prefixed async twin."""

    def __init__(self, provider: OpenIDConnect, asynchronous: bool) -> None:
        self.provider = provider
        self.asynchronous = asynchronous

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.asynchronous:
            return await getattr(self.provider, "a" + method)(*args, **kwargs)
        return getattr(self.provider, method)(*args, **kwargs)


def make_provider(op: LocalOIDCProvider, clock: Clock, **kwargs: Any) -> OpenIDConnect:
    return OpenIDConnect(
        op.issuer, op.client_id, op.client_secret, REDIRECT_URI, clock=clock, **kwargs
    )


@pytest.fixture(params=["sync", "async"])
def asynchronous(request: pytest.FixtureRequest) -> bool:
    """Each test runs twice: through the sync API and through the async one."""
    return bool(request.param == "async")


@pytest.fixture
async def twin(op: LocalOIDCProvider, clock: Clock, asynchronous: bool) -> AsyncIterator[Twin]:
    provider = make_provider(op, clock)
    yield Twin(provider, asynchronous)
    await provider.aclose()


@dataclass
class Attempt:
    """One sign-in's secrets, to look for in errors and logs."""

    state: str
    verifier: str
    nonce: str
    url: str = ""
    code: str = ""

    def secrets(self) -> list[str]:
        return [self.state, self.verifier, self.nonce, self.code]


def authorize(twin: Twin, op: LocalOIDCProvider) -> Attempt:
    """The browser's part: the authorization URL, then the provider's callback."""
    attempt = Attempt(generate_state(), generate_code_verifier(), generate_nonce())
    attempt.url = twin.provider.create_authorization_url(
        attempt.state, attempt.verifier, nonce=attempt.nonce
    )
    params = parse_qs(urlsplit(op.login(attempt.url)).query)
    assert params["state"] == [attempt.state]
    attempt.code = params["code"][0]
    return attempt


async def sign_in(twin: Twin, op: LocalOIDCProvider) -> tuple[OAuth2Tokens, Attempt]:
    """Discovery, authorization and code exchange, as the sign-in flow does them."""
    await twin.call("discover")
    attempt = authorize(twin, op)
    tokens = await twin.call(
        "validate_authorization_code", attempt.code, attempt.verifier, nonce=attempt.nonce
    )
    return tokens, attempt


async def finish(twin: Twin, attempt: Attempt) -> Any:
    """The callback's part: exchange the code, then fetch the user."""
    tokens = await twin.call(
        "validate_authorization_code", attempt.code, attempt.verifier, nonce=attempt.nonce
    )
    return await twin.call("get_user", tokens)


async def sign_in_user(twin: Twin, op: LocalOIDCProvider) -> Any:
    tokens, _ = await sign_in(twin, op)
    return await twin.call("get_user", tokens)


def assert_no_secrets(error: BaseException, *secrets: str) -> None:
    """No secret in the error's message, repr, arguments or attributes."""
    texts = [str(error), repr(error), *map(str, error.args)]
    texts += [f"{name}={value!r}" for name, value in vars(error).items()]
    for secret in secrets:
        if secret:
            for text in texts:
                assert secret not in text, f"a secret leaked into {text!r}"


async def refused(twin: Twin, op: LocalOIDCProvider, check: str) -> IDTokenError:
    """Sign in as the flow does, expecting a refusal for ``check`` before any UserInfo call."""
    await twin.call("discover")
    attempt = authorize(twin, op)
    userinfo_calls = op.count("userinfo")
    with pytest.raises(IDTokenError) as caught:
        await finish(twin, attempt)
    error = caught.value
    assert error.check == check
    assert error.code == "AUTH_OAUTH_INVALID_ID_TOKEN"
    assert error.status == 400
    assert op.count("userinfo") == userinfo_calls
    # "eyJ" starts every JWT: no token in the error either.
    assert_no_secrets(error, op.client_secret, *attempt.secrets(), "eyJ")
    return error


# Discovery


def test_discovery_url_appends_the_well_known_path_to_the_issuer() -> None:
    assert discovery_url("https://id.example") == (
        "https://id.example/.well-known/openid-configuration"
    )
    assert discovery_url("https://id.example/") == (
        "https://id.example/.well-known/openid-configuration"
    )
    assert discovery_url("https://id.example/tenant/") == (
        "https://id.example/tenant/.well-known/openid-configuration"
    )


@pytest.mark.parametrize("issuer_path", ["", "/", "/tenant", "/tenant/"])
async def test_sec36_discovery_with_the_exact_issuer(
    asynchronous: bool, clock: Clock, issuer_path: str
) -> None:
    with LocalOIDCProvider(clock=clock, issuer_path=issuer_path) as o:
        provider = Twin(make_provider(o, clock), asynchronous)
        metadata = await provider.call("discover")
        assert metadata.issuer == o.issuer
        assert metadata.token_endpoint == o.url("token")
        user = await sign_in_user(provider, o)
        assert user.id == o.user["sub"]
        await provider.provider.aclose()


@pytest.mark.parametrize(
    ("issuer_path", "configured"),
    [("", "{issuer}/"), ("/", "{base}"), ("/tenant", "{issuer}/"), ("/tenant/", "{base}")],
)
async def test_sec36_discovery_trailing_slash_variants_do_not_match(
    asynchronous: bool, clock: Clock, issuer_path: str, configured: str
) -> None:
    with LocalOIDCProvider(clock=clock, issuer_path=issuer_path) as o:
        issuer = configured.format(issuer=o.issuer, base=o.issuer.rstrip("/"))
        assert issuer != o.issuer
        provider = OpenIDConnect(issuer, o.client_id, o.client_secret, REDIRECT_URI)
        with pytest.raises(OIDCDiscoveryError, match="issuer"):
            await Twin(provider, asynchronous).call("discover")
        assert provider.metadata is None
        await provider.aclose()


async def test_discovery_is_fetched_once_and_shared_by_sync_and_async(
    op: LocalOIDCProvider, clock: Clock
) -> None:
    provider = make_provider(op, clock)
    first = provider.discover()
    assert await provider.adiscover() is first
    assert provider.discover() is first
    assert op.count("discovery") == 1
    await provider.aclose()


async def test_discovery_records_the_metadata(twin: Twin, op: LocalOIDCProvider) -> None:
    metadata = await twin.call("discover")
    assert metadata == OIDCMetadata(
        issuer=op.issuer,
        authorization_endpoint=op.url("authorize"),
        token_endpoint=op.url("token"),
        userinfo_endpoint=op.url("userinfo"),
        jwks_uri=op.url("jwks"),
        revocation_endpoint=op.url("revocation"),
        id_token_signing_alg_values_supported=("RS256",),
        token_endpoint_auth_methods_supported=("client_secret_basic", "client_secret_post"),
        code_challenge_methods_supported=("S256",),
        authorization_response_iss_parameter_supported=True,
    )
    assert metadata.raw["subject_types_supported"] == ["public"]


def test_metadata_defaults_when_optional_fields_are_absent() -> None:
    metadata = OIDCMetadata.from_document(
        {
            "issuer": "https://id.example",
            "authorization_endpoint": "https://id.example/a",
            "token_endpoint": "https://id.example/t",
            "jwks_uri": "https://id.example/k",
        },
        issuer="https://id.example",
    )
    assert metadata.userinfo_endpoint is None
    assert metadata.revocation_endpoint is None
    assert metadata.id_token_signing_alg_values_supported == ("RS256",)
    assert metadata.token_endpoint_auth_methods_supported == ("client_secret_basic",)
    assert metadata.authorization_response_iss_parameter_supported is False


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"authorization_endpoint": OMIT}, "authorization_endpoint"),
        ({"token_endpoint": OMIT}, "token_endpoint"),
        ({"jwks_uri": OMIT}, "jwks_uri"),
        ({"token_endpoint": 42}, "token_endpoint"),
        ({"token_endpoint": "ftp://127.0.0.1/token"}, "token_endpoint"),
        ({"jwks_uri": "http://example.com/jwks"}, "jwks_uri"),  # plain http off loopback
        ({"userinfo_endpoint": "/userinfo"}, "userinfo_endpoint"),
        ({"id_token_signing_alg_values_supported": "RS256"}, "not a list"),
        ({"response_types_supported": ["id_token"]}, "authorization code"),
        ({"issuer": OMIT}, "issuer"),
    ],
)
async def test_discovery_document_missing_or_bad_fields(
    twin: Twin, op: LocalOIDCProvider, overrides: dict[str, Any], reason: str
) -> None:
    op.discovery_overrides = overrides
    with pytest.raises(OIDCDiscoveryError, match=reason) as caught:
        await twin.call("discover")
    assert caught.value.status == 502


def mock_clients(answer: Any) -> tuple[httpx.Client, httpx.AsyncClient]:
    """HTTP clients whose every request gets ``answer`` as a 200 JSON response."""

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    transport = httpx.MockTransport(respond)
    return httpx.Client(transport=transport), httpx.AsyncClient(transport=transport)


async def test_discovery_answer_that_is_not_an_object(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    client, async_client = mock_clients(["not", "an", "object"])
    provider = make_provider(op, clock, http_client=client, async_http_client=async_client)
    with pytest.raises(OIDCDiscoveryError, match="not a JSON object"):
        await Twin(provider, asynchronous).call("discover")
    client.close()
    await async_client.aclose()


def test_sync_use_discovers_on_first_need(op: LocalOIDCProvider, clock: Clock) -> None:
    """As docs/oauth.md shows it: no discover() call, the first use discovers (once)."""
    provider = make_provider(op, clock)
    url = provider.create_authorization_url(
        generate_state(), generate_code_verifier(), nonce=generate_nonce()
    )
    assert url.startswith(op.url("authorize"))
    assert provider.requires_iss_parameter is True
    assert make_provider(op, clock).requires_iss_parameter is True  # that alone discovers too
    provider.create_authorization_url(generate_state(), generate_code_verifier())
    assert op.count("discovery") == 2  # one per provider object
    provider.close()


async def test_on_an_event_loop_the_first_use_asks_for_adiscover(
    op: LocalOIDCProvider, clock: Clock
) -> None:
    """Sync discovery would block the loop: a clear error naming the issuer and the fix;
    any a-method (or adiscover) discovers, and then the URL builds."""
    provider = make_provider(op, clock)
    for use in (
        lambda: provider.create_authorization_url(generate_state(), generate_code_verifier()),
        lambda: provider.requires_iss_parameter,
    ):
        with pytest.raises(RuntimeError, match=r"await provider\.adiscover\(\)") as caught:
            use()
        assert op.issuer in str(caught.value)
    assert op.count("discovery") == 0
    await provider.arevoke_token("a-token-nobody-issued")  # an a-method: discovers first
    assert op.count("discovery") == 1
    assert provider.create_authorization_url(generate_state()).startswith(op.url("authorize"))
    await provider.aclose()


async def test_discovery_errors_name_the_discovery_url(asynchronous: bool) -> None:
    issuer = f"http://127.0.0.1:{closed_port()}"
    provider = OpenIDConnect(issuer, "c", "s", REDIRECT_URI)
    with pytest.raises(OAuthTransportError) as caught:
        await Twin(provider, asynchronous).call("discover")
    assert f"{issuer}/.well-known/openid-configuration" in str(caught.value)
    await provider.aclose()


@pytest.mark.parametrize("fault", ["500", "not-json"])
async def test_a_failed_discovery_answer_names_the_discovery_url(
    twin: Twin, op: LocalOIDCProvider, fault: str
) -> None:
    op.faults = {"discovery": fault}
    with pytest.raises(OAuthResponseError) as caught:
        await twin.call("discover")
    assert discovery_url(op.issuer) in str(caught.value)


async def test_an_issuer_mismatch_names_both_issuers_and_the_trailing_slash(
    asynchronous: bool, clock: Clock
) -> None:
    with LocalOIDCProvider(clock=clock) as o:
        configured = o.issuer + "/"
        provider = OpenIDConnect(configured, o.client_id, o.client_secret, REDIRECT_URI)
        with pytest.raises(OIDCDiscoveryError) as caught:
            await Twin(provider, asynchronous).call("discover")
        message = str(caught.value)
        assert repr(o.issuer) in message  # what the provider says
        assert repr(configured) in message  # what was configured
        assert "trailing slash" in message
        assert discovery_url(configured) in message
        await provider.aclose()


async def test_sec25_requires_iss_parameter_follows_the_metadata(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.discovery_overrides = {"authorization_response_iss_parameter_supported": OMIT}
    await twin.call("discover")
    assert twin.provider.requires_iss_parameter is False
    assert twin.provider.issuer == op.issuer


async def test_sec25_requires_iss_parameter_when_advertised(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    await twin.call("discover")
    assert twin.provider.requires_iss_parameter is True


# The happy path


async def test_authorization_url_has_pkce_s256_nonce_state_and_openid(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    await twin.call("discover")
    state, verifier, nonce = generate_state(), generate_code_verifier(), generate_nonce()
    url = twin.provider.create_authorization_url(state, verifier, nonce=nonce)
    assert url.startswith(op.url("authorize") + "?")
    params = parse_qs(urlsplit(url).query)
    assert params == {
        "response_type": ["code"],
        "client_id": [op.client_id],
        "redirect_uri": [REDIRECT_URI],
        "scope": ["openid email profile"],
        "state": [state],
        "code_challenge": [create_code_challenge(verifier)],
        "code_challenge_method": ["S256"],
        "nonce": [nonce],
    }
    # openid is added to any scopes asked for
    other = twin.provider.create_authorization_url(state, verifier, scopes=["email"])
    assert parse_qs(urlsplit(other).query)["scope"] == ["openid email"]


async def test_sign_in_end_to_end(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, attempt = await sign_in(twin, op)
    assert isinstance(tokens, OIDCTokens)
    assert tokens.id_token_claims["sub"] == op.user["sub"]
    assert tokens.id_token_claims["nonce"] == attempt.nonce
    assert tokens.scopes == ("openid", "email", "profile")
    user = await twin.call("get_user", tokens)
    assert user.id == op.user["sub"]
    assert user.email == "alice@example.test"
    assert user.email_verified is True
    assert user.name == "Alice Example"
    assert user.username == "alice"
    assert user.avatar_url == "https://example.test/alice.png"
    assert "nonce" not in user.raw
    assert op.requests == ["discovery", "authorize", "token", "jwks", "userinfo"]


async def test_second_sign_in_uses_the_cached_metadata_and_keys(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    await sign_in_user(twin, op)
    await sign_in_user(twin, op)
    assert op.count("discovery") == 1
    assert op.count("jwks") == 1


async def test_jwks_is_refetched_when_older_than_its_max_age(
    twin: Twin, op: LocalOIDCProvider, clock: Clock
) -> None:
    await sign_in_user(twin, op)
    clock.advance(hours=1, seconds=1)
    await sign_in_user(twin, op)
    assert op.count("jwks") == 2


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # joserfc's nudge towards Ed25519
@pytest.mark.parametrize("alg", ["RS256", "PS384", "ES256", "ES512", "EdDSA", "Ed25519"])
async def test_sign_in_with_each_signature_algorithm(twin: Twin, clock: Clock, alg: str) -> None:
    with LocalOIDCProvider(signing_alg=alg, clock=clock) as o:
        o.include_c_hash = True  # checks token_hash against the provider's own for each alg
        provider = Twin(make_provider(o, clock), twin.asynchronous)
        tokens, _ = await sign_in(provider, o)
        assert tokens.id_token_claims["c_hash"]
        assert tokens.id_token_claims["at_hash"]
        await provider.provider.aclose()


async def test_sec37_identity_is_the_sub_never_the_username_or_email(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    first = await sign_in_user(twin, op)
    op.user.update(preferred_username="renamed", email="new@example.test")
    second = await sign_in_user(twin, op)
    assert first.id == second.id == op.user["sub"]
    assert second.username == "renamed"
    assert twin.provider.name == op.issuer  # keys are (issuer, sub)


def test_name_can_be_chosen(op: LocalOIDCProvider) -> None:
    provider = OpenIDConnect(op.issuer, "c", "s", REDIRECT_URI, name="corp")
    assert provider.name == "corp"
    assert provider.issuer == op.issuer


@pytest.mark.parametrize(
    ("userinfo", "verified"),
    [
        ({}, True),
        ({"email_verified": "true"}, False),
        ({"email_verified": 1}, False),
        ({"email_verified": OMIT}, False),
        ({"email_verified": False}, False),
    ],
)
async def test_sec38_email_verified_only_when_exactly_true(
    twin: Twin, op: LocalOIDCProvider, userinfo: dict[str, Any], verified: bool
) -> None:
    op.userinfo_overrides = userinfo
    user = await sign_in_user(twin, op)
    assert user.email == "alice@example.test"
    assert user.email_verified is verified


async def test_sec38_email_and_its_verification_come_from_the_same_answer(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    # The ID token says alice@ is verified; UserInfo names another, unverified address.
    op.userinfo_overrides = {"email": "other@example.test", "email_verified": OMIT}
    user = await sign_in_user(twin, op)
    assert user.email == "other@example.test"
    assert user.email_verified is False


async def test_without_a_userinfo_endpoint_the_id_token_claims_are_the_user(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.discovery_overrides = {"userinfo_endpoint": OMIT}
    user = await sign_in_user(twin, op)
    assert user.id == op.user["sub"]
    assert user.email_verified is True
    assert op.count("userinfo") == 0


async def test_get_user_needs_validated_tokens(twin: Twin, op: LocalOIDCProvider) -> None:
    await twin.call("discover")
    with pytest.raises(IDTokenError) as caught:
        await twin.call("get_user", OAuth2Tokens(access_token="unvalidated", id_token="x.y.z"))
    assert caught.value.check == "missing"
    assert op.count("userinfo") == 0


async def test_token_response_without_id_token_is_refused(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    op.token_response_overrides = {"id_token": OMIT}
    error = await refused(twin, op, "missing")
    assert error.status == 400


@pytest.mark.parametrize("methods", [["client_secret_post"], ["client_secret_basic"]])
async def test_token_endpoint_auth_follows_the_metadata(
    asynchronous: bool, clock: Clock, methods: list[str]
) -> None:
    with LocalOIDCProvider(token_endpoint_auth_methods=methods, clock=clock) as o:
        provider = Twin(make_provider(o, clock), asynchronous)
        await sign_in_user(provider, o)
        assert provider.provider.client.token_endpoint_auth == methods[0]
        await provider.provider.aclose()


async def test_token_endpoint_auth_can_be_forced(asynchronous: bool, clock: Clock) -> None:
    with LocalOIDCProvider(token_endpoint_auth_methods=["client_secret_basic"], clock=clock) as o:
        provider = make_provider(o, clock, token_endpoint_auth="client_secret_post")
        with pytest.raises(OAuthProviderError) as caught:
            await sign_in_user(Twin(provider, asynchronous), o)
        assert caught.value.error == "invalid_client"
        await provider.aclose()


async def test_a_code_is_redeemed_once(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, attempt = await sign_in(twin, op)
    with pytest.raises(OAuthProviderError) as caught:
        await twin.call(
            "validate_authorization_code", attempt.code, attempt.verifier, nonce=attempt.nonce
        )
    assert caught.value.error == "invalid_grant"
    assert_no_secrets(caught.value, *attempt.secrets(), tokens.access_token)


async def test_refresh_validates_the_new_id_token(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, _ = await sign_in(twin, op)
    assert tokens.refresh_token is not None
    refreshed = await twin.call("refresh_access_token", tokens.refresh_token)
    assert isinstance(refreshed, OIDCTokens)
    assert refreshed.access_token != tokens.access_token
    assert refreshed.id_token_claims["sub"] == op.user["sub"]
    user = await twin.call("get_user", refreshed)
    assert user.id == op.user["sub"]
    op.id_token_claims = {"aud": "someone-else"}
    with pytest.raises(IDTokenError, match=r"\(aud\)"):
        await twin.call("refresh_access_token", tokens.refresh_token)


async def test_refresh_without_id_token_gives_plain_tokens(
    twin: Twin, op: LocalOIDCProvider
) -> None:
    tokens, _ = await sign_in(twin, op)
    assert tokens.refresh_token is not None
    op.token_response_overrides = {"id_token": OMIT}
    refreshed = await twin.call("refresh_access_token", tokens.refresh_token)
    assert type(refreshed) is OAuth2Tokens


async def test_revoke(twin: Twin, op: LocalOIDCProvider) -> None:
    tokens, _ = await sign_in(twin, op)
    await twin.call("revoke_token", tokens.access_token)
    assert op.count("revocation") == 1
    with pytest.raises(OAuthProviderError) as caught:
        await twin.call("get_user", tokens)  # the revoked token no longer opens UserInfo
    assert caught.value.error == "invalid_token"


async def test_revoke_without_an_endpoint(twin: Twin, op: LocalOIDCProvider) -> None:
    op.discovery_overrides = {"revocation_endpoint": OMIT}
    await twin.call("discover")
    with pytest.raises(NotImplementedError):
        await twin.call("revoke_token", "anything")


# Error paths: typed errors, never a crash


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_provider_down_is_a_transport_error(asynchronous: bool) -> None:
    provider = OpenIDConnect(f"http://127.0.0.1:{closed_port()}", "c", "s", REDIRECT_URI)
    with pytest.raises(OAuthTransportError) as caught:
        await Twin(provider, asynchronous).call("discover")
    assert caught.value.status == 502
    await provider.aclose()


@pytest.mark.parametrize("endpoint", ["discovery", "token", "jwks", "userinfo"])
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", OAuthResponseError),
        ("html", OAuthResponseError),
        ("not-json", OAuthResponseError),
        ("close", OAuthTransportError),
    ],
)
async def test_faulty_endpoints_give_typed_errors(
    twin: Twin, op: LocalOIDCProvider, endpoint: str, fault: Any, error: type[OAuthError]
) -> None:
    op.faults = {endpoint: fault}
    if endpoint == "discovery":
        with pytest.raises(error):
            await twin.call("discover")
    else:
        await twin.call("discover")
        attempt = authorize(twin, op)
        with pytest.raises(error) as caught:
            await finish(twin, attempt)
        assert_no_secrets(caught.value, op.client_secret, *attempt.secrets(), "eyJ")
    assert op.count(endpoint) == 1


@pytest.mark.parametrize("endpoint", ["discovery", "token", "jwks", "userinfo"])
async def test_empty_answers_give_typed_errors(
    twin: Twin, op: LocalOIDCProvider, endpoint: str
) -> None:
    op.faults = {endpoint: "empty"}
    with pytest.raises(OAuthResponseError):
        await sign_in_user(twin, op)
    assert op.count(endpoint) == 1


async def test_token_response_missing_the_access_token(twin: Twin, op: LocalOIDCProvider) -> None:
    op.token_response_overrides = {"access_token": OMIT}
    with pytest.raises(OAuthResponseError, match="access_token"):
        await sign_in_user(twin, op)


async def test_userinfo_that_is_not_an_object(
    twin: Twin, op: LocalOIDCProvider, clock: Clock
) -> None:
    tokens, _ = await sign_in(twin, op)
    client, async_client = mock_clients([1, 2])
    provider = make_provider(
        op,
        clock,
        metadata=twin.provider.metadata,
        http_client=client,
        async_http_client=async_client,
    )
    with pytest.raises(OAuthResponseError, match="not a JSON object"):
        await Twin(provider, twin.asynchronous).call("get_user", tokens)
    client.close()
    await async_client.aclose()


@pytest.mark.parametrize("endpoint", ["discovery", "token", "jwks", "userinfo"])
async def test_a_hanging_provider_times_out_within_the_limit(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock, endpoint: str
) -> None:
    op.faults = {endpoint: "hang"}
    timeout = httpx.Timeout(0.3)
    async with httpx.AsyncClient(timeout=timeout) as async_client:
        with httpx.Client(timeout=timeout) as client:
            provider = make_provider(op, clock, http_client=client, async_http_client=async_client)
            started = time.monotonic()
            with pytest.raises(OAuthTransportError, match="did not answer in time"):
                await sign_in_user(Twin(provider, asynchronous), op)
            assert time.monotonic() - started < 5


# The validation functions on their own


def test_sec33_oversized_token_is_refused_before_decoding() -> None:
    # Not even a JWT: only the size check can name it.
    with pytest.raises(IDTokenError) as caught:
        decode_header("!" * (MAX_ID_TOKEN_BYTES + 1), {"RS256"})
    assert caught.value.check == "size"


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d.e", "!!!.e30.sig", "WzFd.e30.sig", ".e30.sig"]
)
def test_malformed_tokens_are_format_errors(token: str) -> None:
    with pytest.raises(IDTokenError) as caught:
        decode_header(token, {"RS256"})
    assert caught.value.check == "format"


def test_a_header_nested_too_deep_to_parse_is_a_format_error() -> None:
    # Under the size limit, yet deeper than json.loads recurses: RecursionError, not
    # ValueError, unless caught.
    header = base64.urlsafe_b64encode(b"[" * 10_000).rstrip(b"=").decode()
    with pytest.raises(IDTokenError) as caught:
        decode_header(f"{header}.e30.sig", {"RS256"})
    assert caught.value.check == "format"


def test_token_hash_uses_the_hash_named_by_alg() -> None:
    import base64
    import hashlib

    def half(name: str, value: str) -> str:
        digest = hashlib.new(name, value.encode()).digest()
        return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()

    assert token_hash("token", "RS256") == half("sha256", "token")
    assert token_hash("token", "ES384") == half("sha384", "token")
    assert token_hash("token", "PS512") == half("sha512", "token")
    assert token_hash("token", "EdDSA") == half("sha512", "token")
    assert token_hash("token", "Ed25519") == half("sha512", "token")
    assert len(token_hash("token", "RS256")) == 22


def signed(claims: dict[str, Any], key: RSAKey, header: dict[str, Any] | None = None) -> str:
    from joserfc import jwt

    return jwt.encode({"alg": "RS256", "kid": "k", **(header or {})}, claims, key)


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k"})


def claims_at(now: float, overrides: dict[str, Any]) -> dict[str, Any]:
    """Valid claims at ``now``; in ``overrides`` an int for exp/iat/nbf is an offset from now."""
    claims: dict[str, Any] = {"iss": "https://id.example", "aud": "client", "sub": "s"}
    claims.update(iat=now, exp=now + 60)
    for name, value in overrides.items():
        if name in ("exp", "iat", "nbf") and type(value) is int:
            value = now + value
        claims[name] = value
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        ({"exp": -61}, "exp"),
        ({"exp": "soon"}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": None}, "exp"),
        ({"iat": 61}, "iat"),
        ({"iat": None}, "iat"),
        ({"nbf": 61}, "nbf"),
        ({"nbf": "now"}, "nbf"),
        ({"sub": ""}, "sub"),
        ({"sub": 42}, "sub"),
        ({"sub": "s" * 256}, "sub"),
        ({"aud": []}, "aud"),
        ({"aud": 7}, "aud"),
        ({"aud": ["client", 7]}, "aud"),
        ({"iss": None}, "iss"),
    ],
)
def test_claim_checks(rsa_key: RSAKey, clock: Clock, overrides: dict[str, Any], check: str) -> None:
    token = signed(claims_at(clock().timestamp(), overrides), rsa_key)
    with pytest.raises(IDTokenError) as caught:
        validate_id_token(
            token, rsa_key, issuer="https://id.example", client_id="client", now=clock()
        )
    assert caught.value.check == check


def test_an_id_token_issuer_mismatch_names_both_issuers(rsa_key: RSAKey, clock: Clock) -> None:
    token = signed(claims_at(clock().timestamp(), {"iss": "https://evil.example"}), rsa_key)
    with pytest.raises(IDTokenError) as caught:
        validate_id_token(
            token, rsa_key, issuer="https://id.example", client_id="client", now=clock()
        )
    assert caught.value.check == "iss"
    assert "'https://evil.example'" in str(caught.value)
    assert "'https://id.example'" in str(caught.value)


@pytest.mark.parametrize(
    ("alg", "expected"),
    [
        ("HS256", ["'HS256'", "RS256", "allowed_algorithms"]),
        ("ES256", ["'ES256'", "allowed_algorithms"]),
        ("none", ["'none'", "never accepted"]),
        ("XS999", ["'XS999'", "not supported"]),
    ],
)
def test_a_refused_algorithm_is_named_with_the_option_that_allows_it(
    alg: str, expected: list[str]
) -> None:
    header = base64url(json.dumps({"alg": alg}).encode())
    token = f"{header}.{base64url(b'{}')}.c2ln"
    with pytest.raises(IDTokenError) as caught:
        decode_header(token, {"RS256"})
    assert caught.value.check == "alg"
    for text in expected:
        assert text in str(caught.value)


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "overrides", [{"exp": -59}, {"iat": 59}, {"nbf": 59}, {"sub": "s" * 255}, {"aud": ["client"]}]
)
def test_claims_within_the_leeway_pass(
    rsa_key: RSAKey, clock: Clock, overrides: dict[str, Any]
) -> None:
    token = signed(claims_at(clock().timestamp(), overrides), rsa_key)
    claims = validate_id_token(
        token, rsa_key, issuer="https://id.example", client_id="client", now=clock()
    )
    assert claims["sub"].startswith("s")


def test_leeway_is_configurable(rsa_key: RSAKey, clock: Clock) -> None:
    token = signed(claims_at(clock().timestamp(), {"exp": -30}), rsa_key)
    with pytest.raises(IDTokenError, match=r"\(exp\)"):
        validate_id_token(
            token,
            rsa_key,
            issuer="https://id.example",
            client_id="client",
            now=clock(),
            leeway=timedelta(seconds=10),
        )


def test_jwks_parsing_skips_unusable_entries(rsa_key: RSAKey) -> None:
    public = rsa_key.as_dict(private=False)
    keys = parse_jwks(
        {
            "keys": [
                public,
                {**public, "kid": "enc", "use": "enc"},
                {**public, "kid": "ops", "key_ops": ["encrypt"]},
                {"kty": "oct", "k": "c2VjcmV0", "kid": "sym"},
                {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
                {"kty": "EC", "kid": "no-curve"},
                "not a key",
                None,
            ]
        }
    )
    assert [k.kid for k in keys] == ["k"]
    with pytest.raises(OAuthResponseError):
        parse_jwks({"keys": "nope"})


async def test_jwks_cache_rate_limit_is_configurable(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    assert JWKSCache().refetch_interval == timedelta(seconds=60)
    provider = make_provider(op, clock, jwks_refetch_interval=timedelta(seconds=5))
    rp = Twin(provider, asynchronous)
    await sign_in_user(rp, op)
    op.signing = "unpublished-key"
    for _ in range(2):
        with pytest.raises(IDTokenError, match=r"\(kid\)"):
            await sign_in_user(rp, op)
    assert op.count("jwks") == 2
    clock.advance(seconds=5)
    with pytest.raises(IDTokenError, match=r"\(kid\)"):
        await sign_in_user(rp, op)
    assert op.count("jwks") == 3
    await provider.aclose()


# Configuration


@pytest.mark.parametrize(
    "issuer",
    [
        "http://id.example.com",  # plain http off loopback
        "https://id.example.com?tenant=1",
        "https://id.example.com#x",
        "id.example.com",
        "ftp://id.example.com",
        # Read one way by urlsplit and another by a browser or httpx.
        "https://evil.example\\.id.example.com",
        "https://id.example.com/a\nb",
        "https://id.example.com/a\tb",
        "https://id.example.com/../other",
        "https://id.example.com/%2E%2E/other",
    ],
)
def test_bad_issuers_are_refused(issuer: str) -> None:
    with pytest.raises(ValueError, match="issuer"):
        OpenIDConnect(issuer, "c", "s", REDIRECT_URI)


@pytest.mark.parametrize("algorithms", [["none"], [], ["RS256", "none"], ["XS256"]])
def test_allowed_algorithms_never_include_none(algorithms: list[str]) -> None:
    with pytest.raises(ValueError, match="allowed_algorithms"):
        OpenIDConnect("https://id.example", "c", "s", REDIRECT_URI, allowed_algorithms=algorithms)


def test_hs256_needs_a_client_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        OpenIDConnect("https://id.example", "c", "", REDIRECT_URI, allowed_algorithms=["HS256"])


def test_static_metadata_must_be_for_the_issuer(op: LocalOIDCProvider) -> None:
    metadata = OIDCMetadata(
        issuer="https://other.example",
        authorization_endpoint="https://other.example/a",
        token_endpoint="https://other.example/t",
        jwks_uri="https://other.example/k",
    )
    with pytest.raises(ValueError, match="issuer"):
        OpenIDConnect(op.issuer, "c", "s", REDIRECT_URI, metadata=metadata)


# Item 42: nothing secret in logs, errors or reprs


async def test_sec42_no_secret_in_debug_logs_errors_or_reprs(
    twin: Twin, op: LocalOIDCProvider, caplog: pytest.LogCaptureFixture
) -> None:
    def browser(attempt_op: LocalOIDCProvider) -> Attempt:
        # The browser's trip to the provider is not lucia's: its (httpcore)
        # records would show the callback URL, so they are left out.
        with caplog.at_level(logging.WARNING):
            return authorize(twin, attempt_op)

    caplog.set_level(logging.DEBUG)
    await twin.call("discover")
    attempt = browser(op)
    tokens = await twin.call(
        "validate_authorization_code", attempt.code, attempt.verifier, nonce=attempt.nonce
    )
    user = await twin.call("get_user", tokens)
    refreshed = await twin.call("refresh_access_token", tokens.refresh_token)
    await twin.call("revoke_token", refreshed.access_token)

    op.id_token_claims = {"nonce": "wrong"}
    second = browser(op)
    with pytest.raises(IDTokenError) as bad_nonce:
        await finish(twin, second)
    op.id_token_claims = {}
    op.faults = {"token": "html"}
    third = browser(op)
    with pytest.raises(OAuthResponseError) as bad_answer:
        await finish(twin, third)

    secrets = [
        op.client_secret,
        tokens.access_token,
        tokens.refresh_token or "",
        tokens.id_token or "",
        refreshed.access_token,
        refreshed.id_token or "",
        *attempt.secrets(),
        *second.secrets(),
        *third.secrets(),
    ]
    texts = [record.getMessage() for record in caplog.records]
    assert any("rejected: nonce" in text for text in texts)  # refusals are logged, by check
    assert any(record.name.startswith("httpcore") for record in caplog.records)
    texts += [repr(tokens), repr(refreshed), repr(user), repr(twin.provider)]
    texts += [repr(twin.provider.client), repr(twin.provider.metadata)]
    for error in (bad_nonce.value, bad_answer.value):
        texts += [str(error), repr(error), *(repr(v) for v in vars(error).values())]
    for secret in filter(None, secrets):
        for text in texts:
            assert secret not in text, f"a secret leaked into {text!r}"


def test_key_selection_by_alg_kty_and_curve() -> None:
    from joserfc.jwk import ECKey, OKPKey

    ed = OKPKey.generate_key("Ed25519", parameters={"kid": "ed"}).as_dict(private=False)
    x = OKPKey.generate_key("X25519", parameters={"kid": "x"}).as_dict(private=False)
    p256 = ECKey.generate_key("P-256", parameters={"kid": "p256"}).as_dict(private=False)
    p384 = ECKey.generate_key("P-384", parameters={"kid": "p384"}).as_dict(private=False)
    keys = parse_jwks({"keys": [ed, x, p256, p384]})
    assert select_key(keys, {"alg": "EdDSA"}) is keys[0].key  # X25519 cannot sign
    assert select_key(keys, {"alg": "ES384"}) is keys[3].key
    assert select_key(keys, {"alg": "ES256", "kid": "p384"}) is None  # wrong curve
    assert select_key(keys, {"alg": "RS256"}) is None
    pinned = parse_jwks({"keys": [{**p256, "alg": "ES256"}]})
    assert select_key(pinned, {"alg": "ES256"}) is pinned[0].key
    assert select_key(pinned, {"alg": "ES384"}) is None


# LocalOIDCProvider itself: the form, and the checks a real provider makes


def test_local_provider_form_escapes_the_parameters(clock: Clock) -> None:
    with LocalOIDCProvider(auto_approve=False, clock=clock) as o:
        provider = make_provider(o, clock)
        provider.discover()
        url = provider.create_authorization_url(
            generate_state(), generate_code_verifier(), nonce='"><script>'
        )
        page = httpx.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<input name="sub"' in page.text
        assert "<script>" not in page.text
        provider.close()


async def test_local_provider_sign_in_form(asynchronous: bool, clock: Clock) -> None:
    with LocalOIDCProvider(auto_approve=False, clock=clock) as o:
        provider = Twin(make_provider(o, clock), asynchronous)
        await provider.call("discover")
        attempt = Attempt(generate_state(), generate_code_verifier(), generate_nonce())
        attempt.url = provider.provider.create_authorization_url(
            attempt.state, attempt.verifier, nonce=attempt.nonce
        )
        params = parse_qs(urlsplit(o.login(attempt.url, sub="bob")).query)
        attempt.code = params["code"][0]
        user = await finish(provider, attempt)
        assert (user.id, user.email, user.username) == ("bob", "bob@example.test", "bob")
        await provider.provider.aclose()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"client_id": "unknown"}, 400),
        ({"redirect_uri": "http://evil.test/cb"}, 400),
        ({"redirect_uri": None}, 400),
    ],
)
def test_local_provider_refuses_unknown_clients_and_redirects(
    op: LocalOIDCProvider, params: dict[str, Any], status: int
) -> None:
    query = {
        "response_type": "code",
        "client_id": op.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": create_code_challenge(generate_code_verifier()),
        "code_challenge_method": "S256",
    }
    query.update(params)
    response = httpx.get(op.url("authorize"), params={k: v for k, v in query.items() if v})
    assert response.status_code == status
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"authorization_error": "access_denied"}, "access_denied"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email"}, "invalid_scope"),
    ],
)
def test_local_provider_authorization_errors_redirect_with_state(
    op: LocalOIDCProvider, change: dict[str, Any], error: str
) -> None:
    query: dict[str, Any] = {
        "response_type": "code",
        "client_id": op.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "s1",
        "code_challenge": create_code_challenge(generate_code_verifier()),
        "code_challenge_method": "S256",
    }
    op.authorization_error = change.pop("authorization_error", None)
    query.update(change)
    response = httpx.get(op.url("authorize"), params={k: v for k, v in query.items() if v})
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["location"]).query)
    assert params["error"] == [error]
    assert params["state"] == ["s1"]
    assert params["iss"] == [op.issuer]


async def test_sec24_wrong_code_verifier_is_refused(twin: Twin, op: LocalOIDCProvider) -> None:
    await twin.call("discover")
    attempt = authorize(twin, op)
    attempt.verifier = generate_code_verifier()
    with pytest.raises(OAuthProviderError) as caught:
        await finish(twin, attempt)
    assert caught.value.error == "invalid_grant"
    assert op.count("jwks") == 0


async def test_sec27_wrong_client_secret_is_invalid_client(
    asynchronous: bool, op: LocalOIDCProvider, clock: Clock
) -> None:
    provider = OpenIDConnect(op.issuer, op.client_id, "wrong-secret", REDIRECT_URI, clock=clock)
    with pytest.raises(OAuthProviderError) as caught:
        await sign_in_user(Twin(provider, asynchronous), op)
    assert caught.value.error == "invalid_client"
    assert_no_secrets(caught.value, "wrong-secret", op.client_secret)
    await provider.aclose()


async def test_expired_code_is_refused(twin: Twin, op: LocalOIDCProvider, clock: Clock) -> None:
    await twin.call("discover")
    attempt = authorize(twin, op)
    clock.advance(seconds=61)
    with pytest.raises(OAuthProviderError, match="invalid_grant"):
        await finish(twin, attempt)


@pytest.mark.parametrize(
    "payload", ["W10", "!!!", "WzFd", base64.urlsafe_b64encode(b"[" * 10_000).decode()]
)
def test_unverified_claims_refuse_a_payload_that_is_no_json_object(payload: str) -> None:
    with pytest.raises(IDTokenError) as caught:
        unverified_claims(f"e30.{payload}.sig")
    assert caught.value.check == "format"


def test_unverified_claims_read_the_payload_only() -> None:
    payload = base64.urlsafe_b64encode(b'{"tid":"t-1"}').rstrip(b"=").decode()
    assert unverified_claims(f"e30.{payload}.not-checked") == {"tid": "t-1"}
