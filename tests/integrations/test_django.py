"""The Django integration on a small test project, driven by Django's test clients.

Sign-in goes through ``LocalOIDCProvider`` with ``OpenIDConnect``; the sync
stack (WSGI ``Client``) and the async one (``AsyncClient``: async middleware,
``AsyncDjangoAdapter``) are both exercised. Security tests are named after
SECURITY.md items.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import Morsel
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async

from tests.conformance.backends_django import fresh_database
from tests.integrations.django_project import setup

setup()

from django.core.management import call_command  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402

from lucia.integrations.django.adapter import DjangoAdapter  # noqa: E402
from lucia.integrations.django.conf import get_flow, get_lucia  # noqa: E402
from lucia.integrations.django.models import LuciaSession, LuciaUser  # noqa: E402
from lucia.oauth.providers.openid import OpenIDConnect  # noqa: E402
from lucia.sessions import utc_now  # noqa: E402
from lucia.testing.oidc_provider import LocalOIDCProvider  # noqa: E402
from tests.conftest import Clock  # noqa: E402
from tests.integrations.common import FailingReads  # noqa: E402
from tests.oauth.conftest import NodeOIDCProvider  # noqa: E402
from tests.oauth.conftest import oidc_provider as oidc_provider  # noqa: E402  (the fixture)
from tests.oauth.test_oidc_provider_e2e import Browser  # noqa: E402

BASE = "https://testserver"
SAME_SITE = {"HTTP_ORIGIN": BASE}
ROUTE = "local"
COOKIE = "auth_session"
TRANSACTION = "__Host-lucia_oauth"
PASSWORD = "correct horse battery staple"


class FlakyAdapter(FailingReads, DjangoAdapter):
    """A Django adapter whose session reads fail on demand (``op_server`` comes from
    conftest.py)."""


@dataclass
class Env:
    clock: Clock
    adapter: FlakyAdapter
    provider: OpenIDConnect
    op: LocalOIDCProvider
    client: Client

    def get(self, path: str, **extra: Any) -> Any:
        return self.client.get(path, secure=True, **extra)

    def post(self, path: str, **extra: Any) -> Any:
        return self.client.post(path, secure=True, **extra)

    def oidc_sign_in(self, next: str | None = None) -> Any:
        """Sign in through the provider like a browser; the callback's response."""
        data = {"next": next} if next is not None else {}
        start = self.get(f"/auth/login/{ROUTE}/", data=data)
        assert start.status_code == 302
        callback_url = self.op.login(start["Location"])
        assert callback_url.startswith(f"{BASE}/auth/login/{ROUTE}/callback/?")
        return self.get(callback_url)

    def token(self) -> str | None:
        morsel = self.client.cookies.get(COOKIE)
        return morsel.value if morsel is not None and morsel.value else None

    def with_token(self, path: str, token: str) -> Any:
        """GET ``path`` from a fresh browser holding only this session cookie."""
        other = Client()
        other.cookies[COOKIE] = token
        return other.get(path, secure=True)


@pytest.fixture
def env(op_server: LocalOIDCProvider) -> Iterator[Env]:
    fresh_database()
    clock = Clock(utc_now().replace(microsecond=0))
    adapter = FlakyAdapter()
    provider = OpenIDConnect(
        op_server.issuer,
        op_server.client_id,
        op_server.client_secret,
        f"{BASE}/auth/login/{ROUTE}/callback/",
    )
    lucia_settings = {
        "ADAPTER": adapter,
        "PROVIDERS": {ROUTE: provider},
        "CSRF_EXEMPT": ["/webhooks"],
        "LUCIA_OPTIONS": {"clock": clock},
    }
    with override_settings(LUCIA=lucia_settings):
        yield Env(clock, adapter, provider, op_server, Client())
    provider.close()


def cookie(response: Any, name: str) -> Morsel[str]:
    morsel: Morsel[str] = response.cookies[name]
    return morsel


# Sign-in, protected views, renewal, sign-out


def test_oidc_sign_in_then_protected_view_works(env: Env) -> None:
    assert env.get("/me").status_code == 401
    callback = env.oidc_sign_in()
    assert callback.status_code == 303
    assert callback["Location"] == "/"
    me = env.get("/me")
    assert me.status_code == 200
    user = get_lucia().get_user_by_key(env.provider.name, env.op.user["sub"])
    assert user is not None
    assert me.json()["id"] == user.id
    # The rows are visible through the (read-only) models too.
    assert LuciaUser.objects.get(id=user.id).created_at is not None
    assert LuciaSession.objects.filter(user_id=user.id).count() == 1


async def test_async_stack_signs_in_and_serves_async_views(env: Env) -> None:
    client = AsyncClient()
    start = await client.get(f"/auth/login/{ROUTE}/", secure=True)
    assert start.status_code == 302
    callback = await client.get(env.op.login(start["Location"]), secure=True)
    assert callback.status_code == 303
    assert callback["Referrer-Policy"] == "no-referrer"
    me = await client.get("/ame", secure=True)
    assert me.status_code == 200
    assert me.json()["async"] is True
    assert me["Cache-Control"] == "no-store"
    assert (await client.post("/change", secure=True)).status_code == 403
    logout = await client.post("/auth/logout/", secure=True, headers={"Origin": BASE})
    assert logout.status_code == 303
    signed_out = await client.get("/ame", secure=True)
    assert signed_out.status_code == 401
    stranger = AsyncClient()
    stranger.cookies[COOKIE] = "unknown.value"
    cleared = await stranger.get("/ame", secure=True)
    assert cleared.status_code == 401
    assert str(cookie(cleared, COOKIE)["max-age"]) == "0"


def test_sec11_host_prefix_option(env: Env) -> None:
    options = {"clock": env.clock, "cookie_host_prefix": True}
    conf = {"ADAPTER": env.adapter, "PROVIDERS": {ROUTE: env.provider}, "LUCIA_OPTIONS": options}
    with override_settings(LUCIA=conf):
        callback = env.oidc_sign_in()
        morsel = cookie(callback, "__Host-auth_session")
        assert morsel["secure"] is True
        assert morsel["path"] == "/"
        assert not morsel["domain"]
        assert env.get("/me").status_code == 200


def test_sec42_no_secret_in_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        start = env.get(f"/auth/login/{ROUTE}/")
        transaction = env.client.cookies[TRANSACTION].value
        callback_url = env.op.login(start["Location"])
        env.get(callback_url)
        env.get("/me")
    token = env.token()
    assert token is not None
    code = dict(part.split("=", 1) for part in urlsplit(callback_url).query.split("&"))["code"]
    # lucia's and Django's records (httpx's come from the test's simulated browser).
    ours = [r for r in caplog.records if r.name.startswith(("lucia", "django"))]
    assert any(r.name.startswith("lucia") for r in ours)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    for secret in (token, transaction, code, env.op.client_secret):
        assert secret not in text


@pytest.mark.parametrize("direct", [True, False], ids=["headers-store", "public-headers"])
@pytest.mark.parametrize(
    ("view_vary", "expected"),
    [(None, "Cookie"), ("Accept-Language", "Accept-Language, Cookie"), ("cookie", "cookie")],
)
def test_sec8_vary_cookie_added_to_what_the_view_set(
    view_vary: str | None, expected: str, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.http import HttpResponse

    from lucia.integrations._middleware import RequestPlan
    from lucia.integrations.django import middleware
    from lucia.integrations.django.conf import get_gate
    from lucia.integrations.django.middleware import _finish

    # The direct write into Django's header store (known layout) and the public
    # path (another Django's layout) give the same headers.
    assert middleware._DIRECT_HEADERS
    monkeypatch.setattr(middleware, "_DIRECT_HEADERS", direct)
    response = HttpResponse("page")
    if view_vary is not None:
        response["Vary"] = view_vary
    plan = RequestPlan(cookie_tokens=["token"], bearer_token=None, unsafe_checked=False)
    finished = _finish(response, plan, get_gate())
    assert finished["Vary"] == expected
    assert finished["Cache-Control"] == "no-store"
    assert finished.has_header("vary")
    assert finished.has_header("cache-control")
    assert dict(finished.items())["Cache-Control"] == "no-store"
    assert [name for name in finished.headers if name.lower() == "vary"] == ["Vary"]


async def test_async_middleware_gives_503_on_database_error(env: Env) -> None:
    auth = get_lucia()
    user = await sync_to_async(auth.create_user)("email", "c@example.com")
    session = await sync_to_async(auth.create_session)(user.id)
    env.adapter.failing = True
    client = AsyncClient()
    client.cookies[COOKIE] = session.token
    response = await client.get("/ame", secure=True)
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"


def test_login_required_redirects_to_login_url_when_set(env: Env) -> None:
    with override_settings(LUCIA={"LOGIN_URL": "/auth/login/local/"}):
        response = Client().get("/me?x=1", secure=True)
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/local/?next=%2Fme%3Fx%3D1"


# Configuration and migrations


def test_flow_is_cached_and_rebuilt_when_settings_change(env: Env) -> None:
    flow = get_flow()
    assert get_flow() is flow
    with override_settings(LUCIA={"ADAPTER": env.adapter, "PROVIDERS": {"x": env.provider}}):
        assert get_flow() is not flow


def test_unknown_setting_is_refused() -> None:
    with override_settings(LUCIA={"COOKIE": "x"}), pytest.raises(ValueError, match="COOKIE"):
        get_lucia()


def test_migrations_apply_and_nothing_is_missing() -> None:
    fresh_database()
    call_command("migrate", "lucia", "zero", verbosity=0)
    call_command("migrate", "lucia", verbosity=0)
    out = io.StringIO()
    call_command("makemigrations", "lucia", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
    assert LuciaUser.objects.count() == 0


# The real OpenID provider (npm oidc-provider@9)


def test_e2e_sign_in_through_npm_oidc_provider(oidc_provider: NodeOIDCProvider) -> None:
    fresh_database()
    redirect_uri = f"{BASE}/auth/login/oidc/callback/"
    provider = OpenIDConnect(
        oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret, redirect_uri
    )
    browser = Browser(redirect_uri)
    login = "django-user"
    client = Client()
    try:
        with override_settings(LUCIA={"ADAPTER": DjangoAdapter(), "PROVIDERS": {"oidc": provider}}):
            start = client.get("/auth/login/oidc/", {"next": "//evil.example"}, secure=True)
            assert start.status_code == 302
            query = browser.sign_in(start["Location"], login)
            callback = client.get(f"/auth/login/oidc/callback/?{query}", secure=True)
            assert callback.status_code == 303
            assert callback["Location"] == "/"  # next=//evil.example refused
            assert callback["Referrer-Policy"] == "no-referrer"
            me = client.get("/me", secure=True)
            assert me.status_code == 200
            user = get_lucia().get_user_by_key(provider.name, login)
            assert user is not None
            assert me.json()["id"] == user.id
            replay = client.get(f"/auth/login/oidc/callback/?{query}", secure=True)
            assert replay.status_code == 400
            assert len(get_lucia().get_user_sessions(user.id)) == 1
    finally:
        browser.close()
        provider.close()
