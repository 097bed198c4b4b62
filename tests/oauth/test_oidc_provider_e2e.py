"""The whole sign-in against a real, OpenID-certified provider: npm oidc-provider@9.

``SignInFlow.start`` -> the provider's authorization endpoint -> its login and
consent forms (driven with httpx as a browser would: follow the redirects,
parse each form's action and fields, post it) -> the redirect back with
``code``, ``state`` and RFC 9207 ``iss`` -> ``SignInFlow.callback``: the code
exchanged with PKCE, the RS256 id_token validated (nonce included), UserInfo
checked, the user created once, and a fresh session at every sign-in. Sync
(``Lucia``) and async (``AsyncLucia``) alike.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.oauth.flow import (
    FlowResult,
    FlowStart,
    InvalidStateError,
    IssuerMismatchError,
    ProviderDeniedError,
    ProviderFailedError,
    SignInError,
    SignInFlow,
)
from lucia.oauth.providers.openid import OpenIDConnect
from tests.oauth.conftest import NodeOIDCProvider

# The flow's route name for the provider; its key provider_id is the issuer URL.
ROUTE = "oidc"


# A browser, as far as the provider's dev interactions need one


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """The forms of a page: action, method, and every input's name and value."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            )
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")
            self.forms[-1].inputs.append(attributes["name"])
        elif tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])


def parse_page(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


class Browser:
    """Follows the provider's redirects and fills in its dev login and consent forms."""

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.client = httpx.Client(follow_redirects=False, timeout=10)
        self.pages: list[str] = []

    def close(self) -> None:
        self.client.close()

    def sign_in(self, authorization_url: str, login: str, *, cancel: bool = False) -> str:
        """Go through login and consent; return the query string of the app's callback."""
        response = self.client.get(authorization_url)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(self.redirect_uri):
                    return urlsplit(location).query
                response = self.client.get(location)
                continue
            assert response.status_code == 200, response.text[:500]
            self.pages.append(response.text)
            page = parse_page(response.text)
            if cancel:
                abort = next(link for link in page.links if link.endswith("/abort"))
                response = self.client.get(urljoin(str(response.url), abort))
                continue
            (form,) = page.forms
            assert form.method == "post"
            data = dict(form.fields)
            if data.get("prompt") == "login":
                data.update(login=login, password=secrets.token_urlsafe(8))
            else:
                assert data.get("prompt") == "consent", data
            response = self.client.post(urljoin(str(response.url), form.action), data=data)
        raise AssertionError("the provider never redirected back to the app")


# Fixtures


@dataclass
class E2E:
    mode: str
    node: NodeOIDCProvider
    store: MemoryAdapter
    auth: Lucia | AsyncLucia
    provider: OpenIDConnect
    flow: SignInFlow
    browser: Browser

    def make_flow(self) -> SignInFlow:
        return SignInFlow(self.auth, {ROUTE: self.provider})

    async def start(self, flow: SignInFlow | None = None) -> FlowStart:
        flow = flow or self.flow
        if self.mode == "async":
            return await flow.astart(ROUTE)
        return flow.start(ROUTE)

    async def callback(
        self, query: str, start: FlowStart, flow: SignInFlow | None = None
    ) -> FlowResult:
        flow = flow or self.flow
        cookie = f"{start.cookie.name}={start.cookie.value}"
        if self.mode == "async":
            return await flow.acallback(ROUTE, query, cookie)
        return flow.callback(ROUTE, query, cookie)

    async def sign_in(self, login: str) -> tuple[FlowStart, str, FlowResult]:
        start = await self.start()
        query = self.browser.sign_in(start.url, login)
        return start, query, await self.callback(query, start)

    async def lucia(self, method: str, *args: Any) -> Any:
        result = getattr(self.auth, method)(*args)
        if self.mode == "async":
            result = await result
        return result


@pytest.fixture(params=["sync", "async"])
async def e2e(
    request: pytest.FixtureRequest, oidc_provider: NodeOIDCProvider
) -> AsyncIterator[E2E]:
    mode = request.param
    store = MemoryAdapter()
    auth: Lucia | AsyncLucia = (
        AsyncLucia(AsyncMemoryAdapter(store)) if mode == "async" else Lucia(store)
    )
    http = httpx.Client(timeout=10)
    ahttp = httpx.AsyncClient(timeout=10)
    provider = OpenIDConnect(
        oidc_provider.issuer,
        oidc_provider.client_id,
        oidc_provider.client_secret,
        oidc_provider.redirect_uri,
        http_client=http,
        async_http_client=ahttp,
    )
    browser = Browser(oidc_provider.redirect_uri)
    flow = SignInFlow(auth, {ROUTE: provider})
    e2e = E2E(mode, oidc_provider, store, auth, provider, flow, browser)
    yield e2e
    e2e.browser.close()
    close_sync(http)
    await ahttp.aclose()


def close_sync(client: httpx.Client) -> None:
    """Close a sync client (no I/O with a finished test's connections)."""
    client.close()


# The tests


async def test_e2e_sign_in_creates_the_user_once(e2e: E2E) -> None:
    login = f"user-{secrets.token_hex(4)}"
    start, query, first = await e2e.sign_in(login)
    authorization = dict(parse_qsl(urlsplit(start.url).query))
    assert authorization["code_challenge_method"] == "S256"
    assert authorization["nonce"]
    assert authorization["redirect_uri"] == e2e.node.redirect_uri
    params = dict(parse_qsl(query))
    assert set(params) == {"code", "state", "iss"}
    assert params["iss"] == e2e.node.issuer  # RFC 9207, from the provider itself
    assert e2e.provider.requires_iss_parameter

    assert first.created
    assert first.provider_user.id == login
    assert first.provider_user.email == f"{login}@example.test"
    assert first.provider_user.email_verified
    assert first.provider_user.username == login
    assert first.tokens.id_token is not None
    assert first.user.attributes["email"] == f"{login}@example.test"
    assert first.redirect_to == "/"
    assert first.session is not None
    user = await e2e.lucia("get_user_by_key", e2e.node.issuer, login)
    assert user.id == first.user.id

    _, _, second = await e2e.sign_in(login)
    assert not second.created
    assert second.user.id == first.user.id
    assert second.session is not None
    assert second.session.id != first.session.id
    assert first.session.token != second.session.token
    for result in (first, second):
        assert result.session is not None
        assert result.session.token is not None
        validated = await e2e.lucia("validate_session", result.session.token)
        assert validated is not None
        assert validated[1].id == first.user.id
    assert len(e2e.store._users) == 1
    assert len(e2e.store._sessions) == 2


async def test_sec37_e2e_two_accounts_are_two_users(e2e: E2E) -> None:
    _, _, one = await e2e.sign_in(f"one-{secrets.token_hex(4)}")
    e2e.browser.close()
    e2e.browser = Browser(e2e.node.redirect_uri)  # a second person: no provider session
    _, _, two = await e2e.sign_in(f"two-{secrets.token_hex(4)}")
    assert one.created
    assert two.created
    assert one.user.id != two.user.id


async def test_sec26_e2e_cancelled_consent_is_provider_denied(e2e: E2E) -> None:
    start = await e2e.start()
    query = e2e.browser.sign_in(start.url, "nobody", cancel=True)
    assert dict(parse_qsl(query))["error"] == "access_denied"
    with pytest.raises(ProviderDeniedError) as info:
        await e2e.callback(query, start)
    assert info.value.error == "access_denied"
    assert info.value.error_description == "End-User aborted interaction"
    assert "End-User aborted interaction" in info.value.render_html()
    assert len(e2e.store._users) == 0


async def test_sec40_e2e_replayed_callback_makes_one_session(e2e: E2E) -> None:
    start, query, result = await e2e.sign_in(f"replay-{secrets.token_hex(4)}")
    assert result.created
    # The same process: the consumed state stops it before the provider.
    with pytest.raises(InvalidStateError):
        await e2e.callback(query, start)
    # Another process (its own flow object): the provider refuses the used code.
    with pytest.raises(ProviderFailedError) as info:
        await e2e.callback(query, start, e2e.make_flow())
    assert info.value.status == 400
    assert len(e2e.store._sessions) == 1


async def test_sec25_e2e_tampered_or_missing_iss_is_rejected(e2e: E2E) -> None:
    start = await e2e.start()
    query = e2e.browser.sign_in(start.url, f"mixup-{secrets.token_hex(4)}")
    params = dict(parse_qsl(query))
    params["iss"] = e2e.node.issuer + "/evil"
    with pytest.raises(IssuerMismatchError):
        await e2e.callback("&".join(f"{k}={v}" for k, v in params.items()), start)
    params.pop("iss")
    # Discovery says this provider always sends iss: leaving it out fails too.
    start = await e2e.start()
    query = e2e.browser.sign_in(start.url, f"mixup-{secrets.token_hex(4)}")
    stripped = "&".join(part for part in query.split("&") if not part.startswith("iss="))
    with pytest.raises(SignInError) as info:
        await e2e.callback(stripped, start)
    assert isinstance(info.value, IssuerMismatchError)
    assert len(e2e.store._users) == 0
