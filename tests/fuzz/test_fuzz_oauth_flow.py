"""Fuzzing the OAuth callback (SECURITY.md items 13, 22-26, 29): random query strings,
random Cookie headers, and mutated copies of a real transaction cookie, against
``SignInFlow`` with a GitHub provider talking to ``LocalGitHub`` on loopback.

The property: every failure is a ``SignInError`` that deletes the transaction
cookie, and no input but the real cookie with the real code signs anyone in.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.oauth._sealed import Sealer
from lucia.oauth.flow import SignInError, SignInFlow
from lucia.oauth.providers.github import GitHub
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.testing.github import LocalGitHub
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.fuzz.common import ATTACK_TEXT, fuzz, json_values

REDIRECT_URI = "https://app.example/login/github/callback"


@pytest.fixture(scope="module")
def github() -> Iterator[LocalGitHub]:
    with LocalGitHub() as server:
        yield server


@pytest.fixture(scope="module")
def setup(github: LocalGitHub) -> Iterator[tuple[Lucia, MemoryAdapter, SignInFlow]]:
    adapter = MemoryAdapter()
    auth = Lucia(adapter)
    provider = GitHub(
        github.client_id, github.client_secret, REDIRECT_URI, enterprise_url=github.url
    )
    yield auth, adapter, SignInFlow(auth, [provider])
    provider.close()


def sessions_in(adapter: MemoryAdapter) -> int:
    return len(adapter._sessions)


def expect_refusal(flow: SignInFlow, provider: str, query: str, cookie: str | None) -> SignInError:
    try:
        flow.callback(provider, query, cookie)
    except SignInError as error:
        assert error.cookies == (flow.clear_transaction_cookie(),)  # noqa: PT017 (either outcome is valid)
        assert 400 <= error.status < 600  # noqa: PT017 (either outcome is valid)
        return error
    raise AssertionError("the callback signed someone in")


param_names = st.sampled_from(["code", "state", "iss", "error", "error_description", "x", "Code"])
query_strings = st.one_of(
    ATTACK_TEXT,
    st.text(max_size=200),
    st.lists(st.tuples(param_names, ATTACK_TEXT), max_size=6).map(urlencode),
)
cookie_headers = st.one_of(
    st.none(),
    ATTACK_TEXT,
    st.tuples(
        st.sampled_from(["__Host-lucia_oauth", "lucia_oauth", "__HOST-lucia_oauth"]), ATTACK_TEXT
    ).map(lambda pair: f"{pair[0]}={pair[1]}"),
    json_values.map(
        lambda value: (
            "__Host-lucia_oauth="
            + base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
        )
    ),
)


@fuzz(300)
@given(
    st.one_of(st.just("github"), ATTACK_TEXT),
    query_strings,
    cookie_headers,
)
def test_fuzz_sec22_callback_random_query_and_cookie(
    setup: tuple[Lucia, MemoryAdapter, SignInFlow],
    github: LocalGitHub,
    provider: str,
    query: str,
    cookie: str | None,
) -> None:
    _, adapter, flow = setup
    before_sessions, before_requests = sessions_in(adapter), len(github.requests)
    expect_refusal(flow, provider, query, cookie)
    assert sessions_in(adapter) == before_sessions
    # Nothing reached the provider: no state matched any transaction.
    assert len(github.requests) == before_requests


# The flows here have no secret_keys: they seal with this process's key, which the
# JSON-level mutations use to reseal, as only a holder of the key could.
SEALER = Sealer("__Host-lucia_oauth", None, max_length=4096)


def decode(value: str) -> dict[str, Any]:
    raw = SEALER.open(value)
    assert raw is not None
    data: dict[str, Any] = json.loads(raw)
    return data


def encode(data: Any) -> str:
    return SEALER.seal(json.dumps(data, separators=(",", ":")).encode())


@st.composite
def cookie_mutations(draw: st.DrawFn, value: str) -> str:
    """A real transaction cookie value, edited at the byte level (what a browser can do)
    or at the JSON level and resealed (what only a holder of the key could)."""
    how = draw(st.sampled_from(["byte", "truncate", "field", "drop", "add", "same"]))
    if how == "same":
        return value
    if how == "byte":
        i = draw(st.integers(0, len(value) - 1))
        char = draw(st.sampled_from("AZaz09-_=.+/%~ "))
        return value[:i] + char + value[i + 1 :]
    if how == "truncate":
        return value[: draw(st.integers(0, len(value) - 1))]
    data = decode(value)
    key = draw(st.sampled_from(sorted(data)))
    if how == "drop":
        del data[key]
    elif how == "add":
        data[draw(st.text(max_size=3))] = draw(json_values)
    else:
        data[key] = draw(
            st.one_of(
                json_values,
                st.sampled_from(
                    ["//evil.com", "/\\evil.com", "https://evil.com", "github", "google", 2**63]
                ),
            )
        )
    return encode(data)


@fuzz(120)
@given(data=st.data())
def test_fuzz_sec22_callback_mutated_real_transaction_cookie(
    setup: tuple[Lucia, MemoryAdapter, SignInFlow],
    github: LocalGitHub,
    data: st.DataObject,
) -> None:
    """A real start and a real code from LocalGitHub; only the cookie is mutated.

    Only a cookie that still decodes to the started transaction's provider, state and
    verifier may sign in, and then it lands on a safe path.
    """
    auth, adapter, flow = setup
    start = flow.start("github", next="/after")
    answer = github.authorize(start.url)
    original = flow._open(start.cookie.value)
    assert original is not None
    value = data.draw(cookie_mutations(start.cookie.value))
    query = data.draw(
        st.sampled_from([urlencode(answer), urlencode({**answer, "state": answer["state"] + "x"})])
    )
    before = sessions_in(adapter)
    mutated = flow._open(value)
    same = (
        mutated is not None
        and (mutated.provider, mutated.state, mutated.code_verifier)
        == (original.provider, original.state, original.code_verifier)
        and mutated.expires_at > flow._now()
        and mutated.link_user_id is None
        and query == urlencode(answer)
    )
    try:
        result = flow.callback("github", query, f"__Host-lucia_oauth={value}")
    except SignInError as error:
        assert error.cookies == (flow.clear_transaction_cookie(),)  # noqa: PT017 (either outcome is valid)
        assert sessions_in(adapter) == before
        return
    assert same, "a mutated transaction cookie signed someone in"
    assert result.session is not None
    assert result.session.token is not None
    assert auth.validate_session(result.session.token) is not None
    assert result.redirect_to.startswith("/")
    assert not result.redirect_to.startswith("//")
    assert sessions_in(adapter) == before + 1


def test_sec22_the_unmutated_cookie_signs_in(
    setup: tuple[Lucia, MemoryAdapter, SignInFlow], github: LocalGitHub
) -> None:
    """The harness itself works: the real cookie and the real code do sign in, so the
    refusals above are the checks' doing, not a broken set-up."""
    auth, adapter, flow = setup
    start = flow.start("github", next="/after")
    query = urlencode(github.authorize(start.url))
    before = sessions_in(adapter)
    result = flow.callback("github", query, f"__Host-lucia_oauth={start.cookie.value}")
    assert result.redirect_to == "/after"
    assert result.session is not None
    assert result.session.token is not None
    assert auth.validate_session(result.session.token) is not None
    assert sessions_in(adapter) == before + 1


@pytest.fixture(scope="module")
def oidc_setup() -> Iterator[tuple[Lucia, MemoryAdapter, SignInFlow, LocalOIDCProvider]]:
    with LocalOIDCProvider() as op:
        adapter = MemoryAdapter()
        auth = Lucia(adapter)
        provider = OpenIDConnect(
            op.issuer, op.client_id, op.client_secret, "https://app.example/login/corp/callback"
        )
        yield auth, adapter, SignInFlow(auth, {"corp": provider}), op
        provider.close()


@fuzz(30)
@given(data=st.data())
def test_fuzz_sec25_oidc_callback_mutated_real_transaction_cookie(
    oidc_setup: tuple[Lucia, MemoryAdapter, SignInFlow, LocalOIDCProvider],
    data: st.DataObject,
) -> None:
    """The same against an OpenID provider, whose transaction also holds the nonce and
    the issuer (RFC 9207). A user may weaken their *own* transaction (drop the nonce or
    the issuer: nobody else's cookie can be written), but a changed state, verifier,
    nonce or issuer never signs in."""
    _, adapter, flow, op = oidc_setup
    start = flow.start("corp")
    query = urlsplit(op.login(start.url)).query
    original = flow._open(start.cookie.value)
    assert original is not None
    value = data.draw(cookie_mutations(start.cookie.value))
    mutated = flow._open(value)
    before = sessions_in(adapter)
    same = (
        mutated is not None
        and (mutated.provider, mutated.state, mutated.code_verifier)
        == (original.provider, original.state, original.code_verifier)
        and mutated.nonce in (None, original.nonce)
        and mutated.issuer in (None, original.issuer)
        and mutated.expires_at > flow._now()
        and mutated.link_user_id is None
    )
    try:
        result = flow.callback("corp", query, f"__Host-lucia_oauth={value}")
    except SignInError as error:
        assert error.cookies == (flow.clear_transaction_cookie(),)  # noqa: PT017 (either outcome is valid)
        assert sessions_in(adapter) == before
        return
    assert same, "a mutated transaction cookie signed someone in"
    assert result.session is not None
    assert sessions_in(adapter) == before + 1
