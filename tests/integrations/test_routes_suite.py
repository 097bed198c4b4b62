"""lucia's sign-in and sign-out routes at the HTTP level, one suite for every framework.

Each test runs against the same small app built on Flask (``LuciaFlask``'s
routes, ``make_app`` in test_flask.py), Starlette (``auth_routes``, ``make_app``
in test_starlette.py) and Django (``lucia.integrations.django.urls`` in the test
project, under ``/auth/`` with trailing slashes; under WSGI and under ASGI),
driven by an httpx client at ``https://app.example``: OpenID sign-in through
``LocalOIDCProvider``, the password sign-in route each app defines, sign-out, the
session and transaction cookies, and the OAuth callback's refusals. The
middleware's own behaviour is test_middleware_suite.py's. Security tests are
named after SECURITY.md items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from lucia import AsyncLucia, Lucia, accounts
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.sessions import utc_now
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock
from tests.integrations.common import PASSWORD, ROUTE, FlakyStore, attributes, set_cookies

BASE = "https://app.example"
HOST = "app.example"
SAME_SITE = {"Origin": BASE}
EVIL = {"Origin": "https://evil.example"}


@dataclass
class Site:
    """One framework's app with lucia's routes behind an httpx client, and its store."""

    client: httpx.Client
    op: LocalOIDCProvider
    provider: OpenIDConnect
    session_cookie_name: str
    transaction_cookie_name: str
    route: Callable[[str], str]  # where the site serves a lucia route ("/logout", ...)
    password_user: Callable[[str], str]  # a password user with this email: its id
    new_session: Callable[[str], tuple[str, str]]  # a session of this user: (id, token)
    user_id_by_key: Callable[[], str | None]  # the provider's test user, once signed in
    session_count: Callable[[str], int]  # the sessions of this user
    get_session: Callable[[str], object | None]  # the stored session with this id
    totals: Callable[[], tuple[int, int]]  # how many users and sessions the store holds
    # A client on an app whose flow also knows an "other" provider (route and callback).
    with_other_provider: Callable[[], AbstractContextManager[httpx.Client]]
    # What the framework's /me adds to {"id", "session"}, checked at sign-in.
    me_extras: dict[str, Any] = field(default_factory=dict)

    def oidc_sign_in(self, next: str | None = None) -> httpx.Response:
        """Sign in through the provider like a browser; the callback's response."""
        params = {} if next is None else {"next": next}
        start = self.client.get(self.route(f"/login/{ROUTE}"), params=params)
        assert start.status_code == 302
        callback_url = self.op.login(start.headers["location"])
        assert callback_url.startswith(f"{BASE}{self.route(f'/login/{ROUTE}/callback')}?")
        return self.client.get(callback_url)

    def session_cookie(self) -> str | None:
        return self.client.cookies.get(self.session_cookie_name)

    def with_token(self, path: str, token: str) -> httpx.Response:
        """GET ``path`` from a fresh browser holding only this session cookie."""
        with httpx.Client(transport=self.client._transport, base_url=BASE) as other:
            other.cookies.set(self.session_cookie_name, token, domain=HOST)
            return other.get(path)

    def me(self) -> dict[str, Any]:
        response = self.client.get("/me")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    def password_login(self, password: str, headers: dict[str, str]) -> httpx.Response:
        data = {"email": "ada@example.com", "password": password}
        return self.client.post("/password/login", json=data, headers=headers)


def oidc(op: LocalOIDCProvider, route: Callable[[str], str], name: str) -> OpenIDConnect:
    """A client of ``op`` whose callback is the site's for the provider route ``name``."""
    redirect_uri = f"{BASE}{route(f'/login/{name}/callback')}"
    return OpenIDConnect(op.issuer, op.client_id, op.client_secret, redirect_uri)


def at_root(path: str) -> str:
    return path


def memory_totals(store: FlakyStore) -> Callable[[], tuple[int, int]]:
    return lambda: (len(store._users), len(store._sessions))


# The sites


def flask_site(op: LocalOIDCProvider) -> Iterator[Site]:
    from tests.integrations.test_flask import make_app

    store = FlakyStore()
    auth = Lucia(store, clock=Clock(utc_now().replace(microsecond=0)))
    provider = oidc(op, at_root, ROUTE)

    def password_user(email: str) -> str:
        return accounts.sign_up(auth, email, PASSWORD).user.id

    def new_session(user_id: str) -> tuple[str, str]:
        session = auth.create_session(user_id)
        assert session.token is not None
        return session.id, session.token

    def user_id_by_key() -> str | None:
        user = auth.get_user_by_key(provider.name, op.user["sub"])
        return None if user is None else user.id

    @contextmanager
    def with_other_provider() -> Iterator[httpx.Client]:
        other = oidc(op, at_root, "other")
        app = make_app(auth, SignInFlow(auth, {ROUTE: provider, "other": other}))
        try:
            with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE) as client:
                yield client
        finally:
            other.close()

    flow = SignInFlow(auth, {ROUTE: provider})
    app = make_app(auth, flow)
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE) as client:
            yield Site(
                client,
                op,
                provider,
                auth.session_cookie_name,
                flow.transaction_cookie_name,
                at_root,
                password_user,
                new_session,
                user_id_by_key,
                lambda user_id: len(auth.get_user_sessions(user_id)),
                store.get_session,
                memory_totals(store),
                with_other_provider,
                me_extras={"proxy": True},  # current_user, the proxy, is truthy
            )
    finally:
        provider.close()


def starlette_site(op: LocalOIDCProvider) -> Iterator[Site]:
    from tests.integrations.test_starlette import make_app

    store = FlakyStore()
    auth = AsyncLucia(AsyncMemoryAdapter(store), clock=Clock(utc_now().replace(microsecond=0)))
    provider = oidc(op, at_root, ROUTE)
    flow = SignInFlow(auth, {ROUTE: provider})

    @contextmanager
    def with_other_provider() -> Iterator[httpx.Client]:
        other = oidc(op, at_root, "other")
        app = make_app(auth, SignInFlow(auth, {ROUTE: provider, "other": other}))
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            assert client.portal is not None  # the client is open
            try:
                yield client
            finally:
                client.portal.call(other.aclose)  # on the loop its async client was made on

    with TestClient(make_app(auth, flow), base_url=BASE, follow_redirects=False) as client:
        # The store is async: its calls run on the app's own event loop.
        assert client.portal is not None
        call = client.portal.call

        def password_user(email: str) -> str:
            return call(partial(auth.create_user, "email", email, password=PASSWORD)).id

        def new_session(user_id: str) -> tuple[str, str]:
            session = call(auth.create_session, user_id)
            assert session.token is not None
            return session.id, session.token

        def user_id_by_key() -> str | None:
            user = call(auth.get_user_by_key, provider.name, op.user["sub"])
            return None if user is None else user.id

        def session_count(user_id: str) -> int:
            return len(call(auth.get_user_sessions, user_id))

        try:
            yield Site(
                client,
                op,
                provider,
                auth.session_cookie_name,
                flow.transaction_cookie_name,
                at_root,
                password_user,
                new_session,
                user_id_by_key,
                session_count,
                store.get_session,
                memory_totals(store),
                with_other_provider,
            )
        finally:
            call(provider.aclose)


def django_site(op: LocalOIDCProvider, asgi: bool) -> Iterator[Site]:
    from tests.conformance.backends_django import fresh_database
    from tests.integrations.django_project import setup

    setup()
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from lucia.integrations.django.conf import get_flow, get_lucia
    from lucia.integrations.django.models import LuciaSession, LuciaUser
    from tests.integrations.test_django import FlakyAdapter

    def route(path: str) -> str:
        return f"/auth{path}/"  # the test project includes lucia's urls under auth/

    fresh_database()
    adapter = FlakyAdapter()
    provider = oidc(op, route, ROUTE)
    settings = {
        "ADAPTER": adapter,
        "PROVIDERS": {ROUTE: provider},
        "LUCIA_OPTIONS": {"clock": Clock(utc_now().replace(microsecond=0))},
    }

    @contextmanager
    def client_for() -> Iterator[httpx.Client]:
        client: httpx.Client
        if asgi:
            client = TestClient(ASGIHandler(), base_url=BASE, follow_redirects=False)
        else:
            client = httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()), base_url=BASE)
        try:
            yield client
        finally:
            client.close()  # not `with`: entering a TestClient runs the lifespan Django refuses

    def password_user(email: str) -> str:
        return get_lucia().create_user("email", email, password=PASSWORD).id

    def new_session(user_id: str) -> tuple[str, str]:
        session = get_lucia().create_session(user_id)
        assert session.token is not None
        return session.id, session.token

    def user_id_by_key() -> str | None:
        user = get_lucia().get_user_by_key(provider.name, op.user["sub"])
        return None if user is None else user.id

    @contextmanager
    def with_other_provider() -> Iterator[httpx.Client]:
        other = oidc(op, route, "other")
        providers = {ROUTE: provider, "other": other}
        try:
            with override_settings(LUCIA={**settings, "PROVIDERS": providers}), client_for() as c:
                yield c
        finally:
            other.close()

    try:
        with override_settings(LUCIA=settings), client_for() as client:
            yield Site(
                client,
                op,
                provider,
                get_lucia().session_cookie_name,
                get_flow().transaction_cookie_name,
                route,
                password_user,
                new_session,
                user_id_by_key,
                lambda user_id: len(get_lucia().get_user_sessions(user_id)),
                adapter.get_session,
                lambda: (LuciaUser.objects.count(), LuciaSession.objects.count()),
                with_other_provider,
            )
    finally:
        provider.close()


@pytest.fixture(params=["flask", "starlette", "django", "django-asgi"])
def site(request: pytest.FixtureRequest, op_server: LocalOIDCProvider) -> Iterator[Site]:
    if request.param == "flask":
        yield from flask_site(op_server)
    elif request.param == "starlette":
        yield from starlette_site(op_server)
    else:
        yield from django_site(op_server, asgi=request.param == "django-asgi")


# Sign-in, protected routes, sign-out


def test_oidc_sign_in_then_protected_route_works(site: Site) -> None:
    assert site.client.get("/me").status_code == 401
    callback = site.oidc_sign_in()
    assert callback.status_code == 303
    assert callback.headers["location"] == "/"
    body = site.me()
    user_id = site.user_id_by_key()
    assert user_id is not None
    assert body["id"] == user_id
    assert site.session_count(user_id) == 1
    assert {key: body[key] for key in site.me_extras} == site.me_extras


def test_next_is_honoured_when_safe(site: Site) -> None:
    callback = site.oidc_sign_in(next="/settings?tab=2")
    assert callback.headers["location"] == "/settings?tab=2"


def test_password_sign_in_then_protected_route_works(site: Site) -> None:
    user_id = site.password_user("ada@example.com")
    wrong = site.password_login("not it at all", SAME_SITE)
    assert wrong.status_code == 400
    assert site.session_cookie() is None
    response = site.password_login(PASSWORD, SAME_SITE)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert site.me()["id"] == user_id


def test_a_new_session_records_the_user_agent_cut_at_512_characters(site: Site) -> None:
    agent = "Agent/1.0 " + "x" * 600
    site.client.headers["User-Agent"] = agent
    site.oidc_sign_in()
    record: Any = site.get_session(site.me()["session"])
    assert record.attributes["user_agent"] == agent[:512]
    assert "ip" in record.attributes


def test_sec5_sign_out_deletes_the_session_and_the_old_cookie_gets_401(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.oidc_sign_in()
    token = site.session_cookie()
    assert token is not None
    me = site.me()
    session_id = me["session"]
    with caplog.at_level(logging.INFO, logger="lucia.integrations"):
        response = site.client.post(site.route("/logout"), headers=SAME_SITE)
    # The auth event, with the user's id (SECURITY.md: sign-outs are logged).
    signed_out = [r for r in caplog.records if r.getMessage() == "signed out"]
    assert [getattr(r, "user_id", None) for r in signed_out] == [me["id"]]
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert response.headers["cache-control"] == "no-store"
    cleared = attributes(set_cookies(response)[site.session_cookie_name])
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    assert site.get_session(session_id) is None
    assert site.client.get("/me").status_code == 401
    assert site.with_token("/me", token).status_code == 401


def test_sec5_logout_is_post_only(site: Site) -> None:
    site.oidc_sign_in()
    assert site.client.get(site.route("/logout")).status_code == 405
    assert site.client.get("/me").status_code == 200


# Cookies and CSRF


def test_sec11_session_cookie_attributes(site: Site) -> None:
    callback = site.oidc_sign_in()
    attrs = attributes(set_cookies(callback)[site.session_cookie_name])
    assert attrs["secure"] == attrs["httponly"] == "yes"
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert "domain" not in attrs


def test_sec13_transaction_cookie_attributes_and_deletion(site: Site) -> None:
    start = site.client.get(site.route(f"/login/{ROUTE}"))
    name = site.transaction_cookie_name
    attrs = attributes(set_cookies(start)[name])
    assert name.startswith("__Host-")
    assert attrs["secure"] == attrs["httponly"] == "yes"
    assert attrs["samesite"].lower() == "lax"
    assert 0 < int(attrs["max-age"]) <= 600
    assert start.headers["cache-control"] == "no-store"
    callback = site.client.get(site.op.login(start.headers["location"]))
    assert attributes(set_cookies(callback)[name])["max-age"] == "0"


def test_sec15_logout_and_password_login_are_origin_checked(site: Site) -> None:
    site.password_user("ada@example.com")
    login = site.password_login(PASSWORD, EVIL)
    assert login.status_code == 403
    assert site.session_cookie() is None
    site.oidc_sign_in()
    assert site.client.post(site.route("/logout"), headers=EVIL).status_code == 403
    assert site.client.get("/me").status_code == 200


# Session fixation


def test_sec1_planted_cookie_is_not_adopted_at_oidc_sign_in(site: Site) -> None:
    planted_id, planted_token = site.new_session(site.password_user("victim@example.com"))
    site.client.cookies.set(site.session_cookie_name, planted_token, domain=HOST)
    callback = site.oidc_sign_in()
    assert site.session_cookie_name in set_cookies(callback)
    assert site.session_cookie() not in (None, planted_token)
    # The old session is dead server-side: its cookie now gets 401.
    assert site.get_session(planted_id) is None
    assert site.with_token("/me", planted_token).status_code == 401


def test_sec1_password_sign_in_replaces_the_current_session(site: Site) -> None:
    site.oidc_sign_in()
    old_token = site.session_cookie()
    old_id = site.me()["session"]
    site.password_user("ada@example.com")
    response = site.password_login(PASSWORD, SAME_SITE)
    assert response.status_code == 200
    assert site.session_cookie() not in (None, old_token)
    assert site.get_session(old_id) is None


# The OAuth callback


def test_sec22_forged_state_gets_400_and_creates_nothing(site: Site) -> None:
    start = site.client.get(site.route(f"/login/{ROUTE}"))
    callback_url = site.op.login(start.headers["location"])
    token_requests = site.op.count("token")
    parts = urlsplit(callback_url)
    forged = parts.query.replace("state=", "state=forged")
    response = site.client.get(f"{parts.path}?{forged}")
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0].strip() == "text/html"
    users, sessions = site.totals()
    assert users == 0
    assert sessions == 0
    assert site.session_cookie() is None
    assert site.op.count("token") == token_requests


def test_sec22_replayed_state_gets_400(site: Site) -> None:
    start = site.client.get(site.route(f"/login/{ROUTE}"))
    transaction = site.client.cookies.get(site.transaction_cookie_name)
    assert transaction is not None
    callback_url = site.op.login(start.headers["location"])
    assert site.client.get(callback_url).status_code == 303
    user_id = site.user_id_by_key()
    assert user_id is not None
    assert site.session_count(user_id) == 1
    totals = site.totals()
    site.client.cookies.set(site.transaction_cookie_name, transaction, domain=HOST)
    replay = site.client.get(callback_url)
    assert replay.status_code == 400
    assert site.session_count(user_id) == 1
    assert site.totals() == totals


def test_sec22_missing_transaction_cookie_gets_400(site: Site) -> None:
    start = site.client.get(site.route(f"/login/{ROUTE}"))
    assert site.client.cookies.get(site.transaction_cookie_name) is not None
    site.client.cookies.delete(site.transaction_cookie_name)
    response = site.client.get(site.op.login(start.headers["location"]))
    assert response.status_code == 400
    assert site.user_id_by_key() is None


def test_sec23_state_bound_to_the_provider(site: Site) -> None:
    with site.with_other_provider() as client:
        start = client.get(site.route(f"/login/{ROUTE}"))
        query = urlsplit(site.op.login(start.headers["location"])).query
        response = client.get(f"{site.route('/login/other/callback')}?{query}")
    assert response.status_code == 400
    assert site.user_id_by_key() is None
    assert site.totals() == (0, 0)


def test_sec26_access_denied_shows_a_page_and_deletes_the_cookie(site: Site) -> None:
    start = site.client.get(site.route(f"/login/{ROUTE}"))
    site.op.authorization_error = "access_denied"
    try:
        callback_url = site.op.login(start.headers["location"])
    finally:
        site.op.authorization_error = None
    response = site.client.get(callback_url)
    assert 400 <= response.status_code < 500
    assert "<script" not in response.text
    cleared = set_cookies(response)[site.transaction_cookie_name]
    assert attributes(cleared)["max-age"] == "0"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert site.user_id_by_key() is None


def test_unknown_provider_gets_404(site: Site) -> None:
    assert site.client.get(site.route("/login/nope")).status_code == 404


def test_sec30_the_error_page_is_html_never_cached_and_sends_no_referrer(site: Site) -> None:
    # Each framework builds the page from the same answer (its own _answer):
    # the page's headers must reach the browser on all of them.
    for response in (
        site.client.get(site.route("/login/nope")),
        site.client.get(site.route(f"/login/{ROUTE}/callback"), params={"code": "c", "state": "s"}),
    ):
        assert response.status_code in (400, 404)
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_sec30_login_is_a_302_never_cached_with_no_referrer(site: Site) -> None:
    start = site.client.get(site.route(f"/login/{ROUTE}"))
    assert start.status_code == 302
    assert start.headers["location"].startswith(site.op.issuer)
    assert start.headers["cache-control"] == "no-store"
    assert start.headers["referrer-policy"] == "no-referrer"
    assert site.transaction_cookie_name in set_cookies(start)


@pytest.mark.parametrize(
    "next_value",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "https://app@evil.example",
        "/\t/evil.example",
    ],
)
def test_sec29_unsafe_next_lands_on_the_default_page(site: Site, next_value: str) -> None:
    callback = site.oidc_sign_in(next=next_value)
    assert callback.status_code == 303
    assert callback.headers["location"] == "/"


def test_sec30_callback_is_a_303_with_no_referrer_and_no_store(site: Site) -> None:
    callback = site.oidc_sign_in()
    assert callback.status_code == 303
    assert callback.headers["referrer-policy"] == "no-referrer"
    assert callback.headers["cache-control"] == "no-store"
    assert "?" not in callback.headers["location"]
