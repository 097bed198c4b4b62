"""The password, re-authentication, linking and session routes, in every framework.

Each test runs against Starlette, FastAPI, Flask and Django apps mounting the
routes under ``/auth`` (``passwords=True`` / ``LUCIA["PASSWORD_ROUTES"]``),
driven like a browser at https://app.example by one synchronous ``httpx``
client: WSGI apps through ``httpx.WSGITransport``, ASGI apps through
``httpx.ASGITransport`` on an event loop in a background thread (so the Django
ORM, which refuses to run on an event loop, and the ASGI apps share one test
body). The lucia side is checked through a sync ``Lucia`` over the same store.
Linking goes through ``LocalOIDCProvider``. Security tests are named after
SECURITY.md items.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis as redis_sync
import redis.asyncio as redis_asyncio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.integrations.django_project import setup

setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import override_settings  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from flask import Flask  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from lucia import AsyncLucia, Lucia  # noqa: E402
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter  # noqa: E402
from lucia.errors import DatabaseError  # noqa: E402
from lucia.integrations.django.conf import get_lucia, lucia_settings  # noqa: E402
from lucia.integrations.fastapi import auth_router  # noqa: E402
from lucia.integrations.flask import LuciaFlask  # noqa: E402
from lucia.integrations.starlette import LuciaMiddleware, auth_routes  # noqa: E402
from lucia.oauth.flow import SignInFlow  # noqa: E402
from lucia.oauth.providers.openid import OpenIDConnect  # noqa: E402
from lucia.passwords import PasswordHasher  # noqa: E402
from lucia.sessions import utc_now  # noqa: E402
from lucia.testing.oidc_provider import LocalOIDCProvider  # noqa: E402
from lucia.throttle import (  # noqa: E402
    Count,
    Limit,
    MemoryThrottleStore,
    RedisThrottleStore,
    Reservation,
    SignInThrottle,
)
from tests.conformance.backends_django import fresh_database  # noqa: E402
from tests.conftest import Clock  # noqa: E402
from tests.integrations.common import PASSWORD, ROUTE  # noqa: E402

BASE = "https://app.example"
SAME_SITE = {"Origin": BASE}
EVIL = {"Origin": "https://evil.example"}
COOKIE = "auth_session"
NEW_PASSWORD = "a brand new passphrase 42"
EMAIL = "ada@example.com"
PEER = "203.0.113.9"  # an ordinary client
PROXY = "10.0.0.7"  # inside the trusted network below
TRUSTED = ["10.0.0.0/8"]
FRAMEWORKS = ["starlette", "fastapi", "flask", "django"]


class SpyHasher(PasswordHasher):
    """The real Argon2id hasher, counting how often a password is checked."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0
        self._lock = threading.Lock()
        self._inner = threading.local()

    def verify(self, hashed: str, password: str) -> bool:
        if not getattr(self._inner, "active", False):  # dummy_verify calls verify
            with self._lock:
                self.checks += 1
        return super().verify(hashed, password)

    def dummy_verify(self, password: str) -> None:
        with self._lock:
            self.checks += 1
        self._inner.active = True
        try:
            super().dummy_verify(password)
        finally:
            self._inner.active = False


class FailingThrottleStore(MemoryThrottleStore):
    """A throttle store whose backend is down, like Redis going away."""

    def peek(self, key: str, now: Any = None) -> Count:
        raise DatabaseError("redis://:hunter2@cache unreachable")

    async def apeek(self, key: str, now: Any = None) -> Count:
        raise DatabaseError("redis://:hunter2@cache unreachable")

    # The routes reserve (hit) rather than peek: down for those too.
    def hit(self, key: str, window: Any, now: Any = None) -> Count:
        raise DatabaseError("redis://:hunter2@cache unreachable")

    async def ahit(self, key: str, window: Any, now: Any = None) -> Count:
        raise DatabaseError("redis://:hunter2@cache unreachable")


class PortalTransport(httpx.BaseTransport):
    """A sync transport into an ASGI app, run on the portal's event loop."""

    def __init__(self, app: Any, portal: BlockingPortal, client: tuple[str, int]) -> None:
        self.inner = httpx.ASGITransport(app=app, client=client)
        self.portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self.portal.call(send)


@dataclass
class Env:
    framework: str
    lucia: Lucia  # sync, over the app's store
    clock: Clock
    hasher: SpyHasher
    op: LocalOIDCProvider
    provider: OpenIDConnect
    transport: Callable[[str], httpx.BaseTransport]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.browser()

    def browser(self, peer: str = PEER) -> httpx.Client:
        return httpx.Client(transport=self.transport(peer), base_url=BASE)

    def url(self, route: str) -> str:
        return f"/auth/{route}" + ("/" if self.framework == "django" else "")

    def post(
        self,
        route: str,
        *,
        data: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        client: httpx.Client | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return (client or self.client).post(
            self.url(route),
            data=data,
            json=json,
            headers=SAME_SITE if headers is None else headers,
            **kwargs,
        )

    def token(self, client: httpx.Client | None = None) -> str | None:
        value = (client or self.client).cookies.get(COOKIE)
        return value or None

    def valid(self, token: str | None) -> bool:
        return token is not None and self.lucia.validate_session(token) is not None

    def sign_up(self, email: str = EMAIL, password: str = PASSWORD) -> str:
        """Sign up through the route; the new user's id."""
        response = self.post("signup", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        user_id: str = response.json()["user_id"]
        return user_id

    def stale(self) -> None:
        """Let the current session grow older than the re-authentication window."""
        self.clock.advance(minutes=11)

    def keys(self, user_id: str) -> set[str]:
        return {key.provider_id for key in self.lucia.get_user_keys(user_id)}


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


EnvFactory = Callable[..., Env]


@pytest.fixture(params=FRAMEWORKS)
def make_env(
    request: pytest.FixtureRequest, op_server: LocalOIDCProvider, portal: BlockingPortal
) -> Iterator[EnvFactory]:
    """Build the app of the test's framework, with the given route options."""
    framework: str = request.param
    with ExitStack() as stack:

        def build(
            *,
            throttle: SignInThrottle | None = None,
            return_tokens: bool = False,
            redis: tuple[str, str] | None = None,
            **limits: Limit,
        ) -> Env:
            """``limits`` (per_account, per_address) build a throttle on the env's clock;
            ``redis`` (URL, key prefix) puts its counters in Redis, with the client
            flavour the framework needs."""
            clock = Clock(utc_now().replace(microsecond=0))
            hasher = SpyHasher()
            store = None
            if redis is not None:
                url, prefix = redis
                if framework in ("starlette", "fastapi"):
                    aclient = redis_asyncio.Redis.from_url(url)
                    stack.callback(portal.call, aclient.aclose)
                    store = RedisThrottleStore(aclient, prefix=prefix)
                else:
                    client = redis_sync.Redis.from_url(url)
                    stack.callback(client.close)
                    store = RedisThrottleStore(client, prefix=prefix)
            throttle = throttle or SignInThrottle(store, clock=clock, **limits)
            callback = f"{BASE}/auth/login/{ROUTE}/callback" + (
                "/" if framework == "django" else ""
            )
            provider = OpenIDConnect(
                op_server.issuer, op_server.client_id, op_server.client_secret, callback
            )
            options = {"throttle": throttle, "return_tokens": return_tokens}
            transport: Callable[[str], httpx.BaseTransport]
            if framework in ("starlette", "fastapi"):
                memory = MemoryAdapter()
                aauth = AsyncLucia(AsyncMemoryAdapter(memory), clock=clock, password_hasher=hasher)
                lucia = Lucia(memory, clock=clock, password_hasher=hasher)
                flow = SignInFlow(aauth, {ROUTE: provider})
                middleware = [Middleware(LuciaMiddleware, auth=aauth, trusted_proxies=TRUSTED)]
                app: Any
                if framework == "starlette":
                    routes = auth_routes(aauth, flow, prefix="/auth", passwords=True, **options)
                    app = Starlette(routes=routes, middleware=middleware)
                else:
                    app = FastAPI(middleware=middleware)
                    app.include_router(
                        auth_router(aauth, flow, prefix="/auth", passwords=True, **options)
                    )
                stack.callback(portal.call, provider.aclose)

                def transport(peer: str) -> httpx.BaseTransport:
                    return PortalTransport(app, portal, (peer, 50000))

            elif framework == "flask":
                lucia = Lucia(MemoryAdapter(), clock=clock, password_hasher=hasher)
                flask_app = Flask(__name__)
                LuciaFlask(
                    flask_app,
                    auth=lucia,
                    flow=SignInFlow(lucia, {ROUTE: provider}),
                    url_prefix="/auth",
                    trusted_proxies=TRUSTED,
                    passwords=True,
                    **options,
                )
                stack.callback(provider.close)

                def transport(peer: str) -> httpx.BaseTransport:
                    return httpx.WSGITransport(app=flask_app, remote_addr=peer)

            else:
                fresh_database()
                stack.enter_context(
                    override_settings(
                        LUCIA={
                            "PROVIDERS": {ROUTE: provider},
                            "LUCIA_OPTIONS": {"clock": clock, "password_hasher": hasher},
                            "TRUSTED_PROXIES": TRUSTED,
                            "PASSWORD_ROUTES": True,
                            "THROTTLE": throttle,
                            "RETURN_TOKENS": return_tokens,
                        }
                    )
                )
                lucia = get_lucia()
                wsgi = get_wsgi_application()
                stack.callback(provider.close)

                def transport(peer: str) -> httpx.BaseTransport:
                    return httpx.WSGITransport(app=wsgi, remote_addr=peer)

            return Env(framework, lucia, clock, hasher, op_server, provider, transport)

        yield build


@pytest.fixture
def env(make_env: EnvFactory) -> Env:
    return make_env()


def set_cookie_names(response: httpx.Response) -> set[str]:
    return {raw.split("=", 1)[0].strip() for raw in response.headers.get_list("set-cookie")}


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store"


# Sign-up and sign-in


def test_signup_form_sets_the_cookie_and_redirects_to_a_safe_next(env: Env) -> None:
    response = env.post("signup", data={"email": EMAIL, "password": PASSWORD, "next": "/welcome"})
    assert response.status_code == 303
    assert response.headers["location"] == "/welcome"
    assert_no_store(response)
    assert COOKIE in set_cookie_names(response)
    user = env.lucia.get_user_by_key("email", EMAIL)
    assert user is not None
    assert env.valid(env.token())
    assert env.lucia.validate_session(env.token() or "")[1].id == user.id  # type: ignore[index]
    # An unsafe `next` lands on the default page.
    other = env.browser()
    response = env.post(
        "signup",
        data={"email": "bob@example.com", "password": PASSWORD, "next": "//evil.example"},
        client=other,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_signup_and_signin_json_answer_the_user_id_and_no_token(env: Env) -> None:
    response = env.post("signup", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200
    assert_no_store(response)
    body = response.json()
    assert set(body) == {"user_id"}
    response = env.post("signin", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json() == body
    assert env.token() is not None
    assert env.token() not in response.text


def test_return_tokens_gives_bearer_clients_the_token(make_env: EnvFactory) -> None:
    env = make_env(return_tokens=True)
    env.sign_up()
    api = env.browser()
    response = env.post("signin", json={"email": EMAIL, "password": PASSWORD}, client=api)
    token = response.json()["token"]
    assert env.valid(token)
    assert token == env.token(api)


def test_signup_failures_have_their_status_and_reason(env: Env) -> None:
    cases = [
        ({"email": "not an address", "password": PASSWORD}, 400, "AUTH_INVALID_EMAIL"),
        ({"email": EMAIL, "password": "short"}, 400, "AUTH_INVALID_PASSWORD"),
        ({"email": EMAIL}, 400, "AUTH_BAD_REQUEST"),
    ]
    for fields, status, code in cases:
        response = env.post("signup", json=fields)
        assert response.status_code == status, fields
        assert response.json()["error"] == code
        assert_no_store(response)
        assert "short" not in response.text.replace("too_short", "")
    assert env.post("signup", json={"email": EMAIL, "password": "short"}).json()["reason"] == (
        "too_short"
    )
    env.sign_up()
    taken = env.post("signup", json={"email": "ADA@example.com", "password": PASSWORD})
    assert taken.status_code == 409
    assert taken.json()["error"] == "AUTH_EMAIL_TAKEN"
    # Form posts get the same statuses, as text.
    form = env.post("signup", data={"email": EMAIL, "password": "short"})
    assert form.status_code == 400
    assert "too_short" in form.text
    assert form.headers["content-type"].startswith("text/plain")


def test_malformed_bodies_are_refused(env: Env) -> None:
    sent = [
        (b"[1, 2]", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"email=a%40b.c&email=c%40d.e&password=x", "application/x-www-form-urlencoded", 400),
        (b"<xml/>", "application/xml", 415),
        (b"password=" + b"x" * 20_000, "application/x-www-form-urlencoded", 413),
    ]
    for body, content_type, status in sent:
        response = env.client.post(
            env.url("signin"),
            content=body,
            headers={**SAME_SITE, "Content-Type": content_type},
        )
        assert response.status_code == status, (body[:20], response.text)
        assert_no_store(response)
    assert env.hasher.checks == 0


@pytest.mark.parametrize("route", ["signup", "signin", "password", "reauthenticate"])
def test_every_route_refuses_get(env: Env, route: str) -> None:
    response = env.client.get(env.url(route))
    assert response.status_code == 405


def test_signed_out_requests_get_401(env: Env) -> None:
    routes = [
        ("password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("reauthenticate", {"password": PASSWORD}),
        (f"link/{ROUTE}", {}),
        (f"unlink/{ROUTE}", {}),
        ("sessions/revoke", {"session_id": "x"}),
        ("sessions/revoke-others", {}),
    ]
    for route, fields in routes:
        response = env.post(route, data=fields)
        assert response.status_code == 401, route
        assert_no_store(response)
    assert env.hasher.checks == 0


def test_sec1_sign_in_replaces_a_planted_session(env: Env) -> None:
    env.sign_up()
    planted = env.token()
    assert env.valid(planted)
    response = env.post("signin", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 303
    assert env.token() != planted
    assert env.valid(env.token())
    assert not env.valid(planted)


def test_sec1_sign_up_from_a_signed_in_browser_drops_the_old_session(env: Env) -> None:
    first_user = env.sign_up()
    old = env.token()
    second_user = env.sign_up("bob@example.com")
    assert second_user != first_user
    assert not env.valid(old)
    found = env.lucia.validate_session(env.token() or "")
    assert found is not None
    assert found[1].id == second_user


def test_sec1_reauthenticate_issues_a_new_session_and_kills_the_old(env: Env) -> None:
    env.sign_up()
    old = env.token()
    wrong = env.post("reauthenticate", data={"password": "not the password"})
    assert wrong.status_code == 401
    assert env.valid(old)
    response = env.post("reauthenticate", data={"password": PASSWORD, "next": "/settings"})
    assert response.status_code == 303
    assert response.headers["location"] == "/settings"
    assert_no_store(response)
    new = env.token()
    assert new != old
    assert env.valid(new)
    assert not env.valid(old)
    # The old cookie is now refused by the routes too.
    stale_browser = env.browser()
    stale_browser.cookies.set(COOKIE, old or "", domain="app.example")
    assert env.post("sessions/revoke-others", data={}, client=stale_browser).status_code == 401


def test_sec20_unknown_email_and_wrong_password_look_the_same(env: Env) -> None:
    env.sign_up()
    before = env.hasher.checks
    answers = []
    for email, password in [("nobody@example.com", PASSWORD), (EMAIL, "wrong password 123")]:
        for as_json in (True, False):
            fields = {"email": email, "password": password}
            response = env.post("signin", **({"json": fields} if as_json else {"data": fields}))
            answers.append((as_json, response.status_code, response.text))
            assert password not in response.text
    assert {a for a in answers if a[0]} == {(True, 401, answers[0][2])}
    assert {a for a in answers if not a[0]} == {(False, 401, answers[1][2])}
    assert json.loads(answers[0][2])["error"] == "AUTH_INVALID_CREDENTIALS"
    # The hasher ran once per attempt on both paths.
    assert env.hasher.checks - before == 4


# Password change and re-authentication (items 7, 19)


def test_sec7_password_change_reauthenticates_with_the_current_password(env: Env) -> None:
    user_id = env.sign_up()
    elsewhere = env.browser()
    env.post("signin", json={"email": EMAIL, "password": PASSWORD}, client=elsewhere)
    env.stale()
    # An old session cannot change the password without presenting the current one ...
    wrong = env.post("password", json={"current_password": "not it", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 401
    assert env.lucia.authenticate("email", EMAIL, PASSWORD).id == user_id
    # ... and presenting it is the re-authentication: no recent sign-in is asked for on top.
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = env.post("password", data=change)
    assert changed.status_code == 303
    assert_no_store(changed)
    assert env.valid(env.token())
    # Every other session went with the old password (item 6).
    assert not env.valid(env.token(elsewhere))
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 401
    assert env.post("signin", json={"email": EMAIL, "password": NEW_PASSWORD}).status_code == 200


def test_sec19_password_change_needs_the_current_password(env: Env) -> None:
    env.sign_up()
    session = env.token()
    wrong = env.post(
        "password", json={"current_password": "not my password", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 401
    weak = env.post("password", json={"current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 400
    assert weak.json()["reason"] == "too_short"
    assert env.valid(session)
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 200


def test_password_routes_refuse_an_account_without_a_password(env: Env) -> None:
    user = env.lucia.create_user(env.provider.name, "sub-1")
    session = env.lucia.create_session(user.id)
    env.client.cookies.set(COOKIE, session.token or "", domain="app.example")
    response = env.post("reauthenticate", json={"password": PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"] == "AUTH_NO_PASSWORD"


# Linking and unlinking (items 7, 15)


def test_sec7_link_needs_a_recent_authentication_then_links(env: Env) -> None:
    user_id = env.sign_up()
    env.stale()
    refused = env.post(f"link/{ROUTE}", data={})
    assert refused.status_code == 403
    assert not any(name.endswith("lucia_oauth") for name in set_cookie_names(refused))
    assert env.post("reauthenticate", data={"password": PASSWORD}).status_code == 303
    started = env.post(f"link/{ROUTE}", data={"next": "/linked"})
    assert started.status_code == 303
    assert started.headers["location"].startswith(env.op.url("authorize"))
    assert "__Host-lucia_oauth" in set_cookie_names(started)
    assert_no_store(started)
    callback = env.client.get(env.op.login(started.headers["location"]))
    assert callback.status_code == 303
    assert callback.headers["location"] == "/linked"
    owner = env.lucia.get_user_by_key(env.provider.name, str(env.op.user["sub"]))
    assert owner is not None
    assert owner.id == user_id


def test_link_json_answers_the_location(env: Env) -> None:
    env.sign_up()
    response = env.post(f"link/{ROUTE}", json={})
    assert response.status_code == 200
    assert response.json()["location"].startswith(env.op.url("authorize"))
    assert "__Host-lucia_oauth" in set_cookie_names(response)
    unknown = env.post("link/nope", json={})
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "headers", [EVIL, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site", **SAME_SITE}]
)
def test_sec15_cross_site_link_links_nothing(env: Env, headers: dict[str, str]) -> None:
    user_id = env.sign_up()
    response = env.post(f"link/{ROUTE}", data={}, headers=headers)
    assert response.status_code == 403
    assert set_cookie_names(response) <= {COOKIE}
    assert env.keys(user_id) == {"email"}


def test_sec15_get_to_link_is_405_and_links_nothing(env: Env) -> None:
    user_id = env.sign_up()
    for route in (f"link/{ROUTE}", f"unlink/{ROUTE}"):
        response = env.client.get(env.url(route))
        assert response.status_code == 405
        assert not any(name.endswith("lucia_oauth") for name in set_cookie_names(response))
    assert env.keys(user_id) == {"email"}


def test_sec7_unlink_needs_a_recent_authentication(env: Env) -> None:
    user_id = env.sign_up()
    env.lucia.add_key(user_id, env.provider.name, "sub-2")
    env.stale()
    refused = env.post(f"unlink/{ROUTE}", json={})
    assert refused.status_code == 403
    assert env.keys(user_id) == {"email", env.provider.name}
    env.post("reauthenticate", data={"password": PASSWORD})
    response = env.post(f"unlink/{ROUTE}", data={"next": "/accounts"})
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts"
    assert env.keys(user_id) == {"email"}
    again = env.post(f"unlink/{ROUTE}", json={})
    assert again.status_code == 404


def test_unlink_refuses_the_last_key(env: Env) -> None:
    user = env.lucia.create_user(env.provider.name, "only-sub")
    session = env.lucia.create_session(user.id)
    env.client.cookies.set(COOKIE, session.token or "", domain="app.example")
    response = env.post(f"unlink/{ROUTE}", json={})
    assert response.status_code == 409
    assert response.json()["error"] == "AUTH_LAST_KEY"
    assert env.keys(user.id) == {env.provider.name}


# Sessions


def test_revoke_one_of_ones_own_sessions_never_another_users(env: Env) -> None:
    user_id = env.sign_up()
    other_device = env.lucia.create_session(user_id)
    stranger = env.lucia.create_user("email", "eve@example.com")
    strangers_session = env.lucia.create_session(stranger.id)
    for session_id in (strangers_session.id, "no-such-session"):
        response = env.post("sessions/revoke", json={"session_id": session_id})
        assert response.status_code == 404
        assert response.json()["error"] == "AUTH_SESSION_NOT_FOUND"
    assert env.valid(strangers_session.token)
    response = env.post("sessions/revoke", data={"session_id": other_device.id})
    assert response.status_code == 303
    assert not env.valid(other_device.token)
    assert env.valid(env.token())
    # Revoking the current session signs this browser out.
    current = env.lucia.validate_session(env.token() or "")
    assert current is not None
    response = env.post("sessions/revoke", json={"session_id": current[0].id})
    assert response.status_code == 200
    assert response.json()["revoked"] == 1
    assert env.token() is None


def test_revoke_others_keeps_only_this_session(env: Env) -> None:
    user_id = env.sign_up()
    others = [env.lucia.create_session(user_id) for _ in range(2)]
    stranger = env.lucia.create_user("email", "eve@example.com")
    strangers_session = env.lucia.create_session(stranger.id)
    response = env.post("sessions/revoke-others", json={})
    assert response.status_code == 200
    assert response.json()["revoked"] == 2
    assert not any(env.valid(other.token) for other in others)
    assert env.valid(env.token())
    assert env.valid(strangers_session.token)


# Throttling (item 21)


def test_sec21_blocked_sign_in_gets_429_with_retry_after(make_env: EnvFactory) -> None:
    env = make_env(per_account=Limit(3, timedelta(minutes=15)))
    env.sign_up()
    for _ in range(3):
        assert (
            env.post("signin", json={"email": EMAIL, "password": "wrong one!"}).status_code == 401
        )
    checks = env.hasher.checks
    blocked = env.post("signin", json={"email": " Ada@Example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "AUTH_RATE_LIMITED"
    assert 1 <= int(blocked.headers["retry-after"]) <= 15 * 60
    assert_no_store(blocked)
    assert env.hasher.checks == checks  # a blocked attempt never runs the hasher
    form = env.post("signin", data={"email": EMAIL, "password": PASSWORD})
    assert form.status_code == 429
    assert "retry-after" in form.headers
    env.clock.advance(minutes=16)
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 200


def test_sec21_success_does_not_reset_the_count(make_env: EnvFactory) -> None:
    env = make_env(per_account=Limit(3, timedelta(minutes=15)))
    env.sign_up()
    wrong = {"email": EMAIL, "password": "wrong one!"}
    for _ in range(2):
        assert env.post("signin", json=wrong).status_code == 401
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 200
    assert env.post("signin", json=wrong).status_code == 401
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 429


def test_sec21_reauthenticate_is_throttled_too(make_env: EnvFactory) -> None:
    env = make_env(per_account=Limit(2, timedelta(minutes=15)))
    env.sign_up()
    for _ in range(2):
        assert env.post("reauthenticate", json={"password": "wrong one!"}).status_code == 401
    blocked = env.post("reauthenticate", json={"password": PASSWORD})
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers
    # The account is one: the sign-in route is blocked for it as well.
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 429


def test_sec21_forwarded_for_counts_only_behind_a_trusted_proxy(make_env: EnvFactory) -> None:
    env = make_env(
        per_account=Limit(100, timedelta(minutes=15)),
        per_address=Limit(3, timedelta(minutes=15)),
    )
    direct = env.browser(PEER)
    # A client that makes up X-Forwarded-For is still counted under its own address.
    for n in range(3):
        response = env.post(
            "signin",
            json={"email": f"user{n}@example.com", "password": "wrong one!"},
            headers={**SAME_SITE, "X-Forwarded-For": f"198.51.100.{n}"},
            client=direct,
        )
        assert response.status_code == 401
    blocked = env.post(
        "signin",
        json={"email": "fresh@example.com", "password": "wrong one!"},
        headers={**SAME_SITE, "X-Forwarded-For": "198.51.100.99"},
        client=direct,
    )
    assert blocked.status_code == 429
    # Behind the trusted proxy, each forwarded client has its own count.
    proxied = env.browser(PROXY)
    for client_ip in ("192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"):
        response = env.post(
            "signin",
            json={"email": "someone@example.com", "password": "wrong one!"},
            headers={**SAME_SITE, "X-Forwarded-For": f"{client_ip}, {PROXY}"},
            client=proxied,
        )
        assert response.status_code == 401
    fourth = env.post(
        "signin",
        json={"email": "someone@example.com", "password": "wrong one!"},
        headers={**SAME_SITE, "X-Forwarded-For": "192.0.2.1"},
        client=proxied,
    )
    assert fourth.status_code == 429


def test_sec21_throttle_counts_in_redis_without_addresses_in_keys(
    make_env: EnvFactory, redis_url: str, redis_prefix: str
) -> None:
    env = make_env(redis=(redis_url, redis_prefix), per_account=Limit(2, timedelta(minutes=15)))
    env.sign_up()
    for _ in range(2):
        assert (
            env.post("signin", json={"email": EMAIL, "password": "wrong one!"}).status_code == 401
        )
    blocked = env.post("signin", json={"email": EMAIL, "password": PASSWORD})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 15 * 60
    with redis_sync.Redis.from_url(redis_url) as client:
        keys = [key.decode() for key in client.scan_iter(match=f"{redis_prefix}*")]
    assert keys
    assert not any("ada" in key or "example" in key for key in keys)


class GatedThrottle(SignInThrottle):
    """A throttle that notes when each attempt has been admitted or refused, so a
    test can hold the admitted ones in the hasher until every attempt is decided."""

    def __init__(self, attempts: int, **options: Any) -> None:
        super().__init__(**options)
        self.attempts = attempts
        self.decided = 0
        self.all_decided = threading.Event()
        self._lock = threading.Lock()

    def _decide(self) -> None:
        with self._lock:
            self.decided += 1
            if self.decided == self.attempts:
                self.all_decided.set()

    def reserve(self, account: str, address: str | None) -> Reservation:
        try:
            return super().reserve(account, address)
        finally:
            self._decide()

    async def areserve(self, account: str, address: str | None) -> Reservation:
        try:
            return await super().areserve(account, address)
        finally:
            self._decide()

    # Were the routes to go back to check-then-record, the test fails on its
    # counts rather than on the gate's hang guard.
    def check(self, account: str, address: str | None) -> None:
        try:
            super().check(account, address)
        finally:
            self._decide()

    async def acheck(self, account: str, address: str | None) -> None:
        try:
            await super().acheck(account, address)
        finally:
            self._decide()


def test_sec21_concurrent_wrong_sign_ins_stop_at_the_limit(
    make_env: EnvFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel guesses through the routes: the throttle counts each one before its
    password is checked, so exactly ``limit`` of them reach the hasher."""
    limit, attempts = 3, 8
    throttle = GatedThrottle(attempts, per_account=Limit(limit, timedelta(minutes=15)))
    env = make_env(throttle=throttle)
    env.sign_up()
    checks = env.hasher.checks
    verify = env.hasher.verify

    def slow_verify(hashed: str, password: str) -> bool:
        # Every admitted guess is still in flight while the others are decided.
        # The timeout only guards against a hang; the counts below are the test.
        throttle.all_decided.wait(60)
        return verify(hashed, password)

    monkeypatch.setattr(env.hasher, "verify", slow_verify)
    statuses: list[int] = []
    start = threading.Barrier(attempts)

    def guess() -> None:
        with env.browser() as browser:
            start.wait()
            response = env.post(
                "signin", json={"email": EMAIL, "password": "wrong one!"}, client=browser
            )
        statuses.append(response.status_code)
        if env.framework == "django":
            from django.db import connections

            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=guess) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert throttle.all_decided.is_set()
    assert sorted(statuses) == [401] * limit + [429] * (attempts - limit)
    assert env.hasher.checks - checks == limit  # the refused guesses never reached it
    # Once the guesses are over, the right password is refused too: the account is full.
    assert env.post("signin", json={"email": EMAIL, "password": PASSWORD}).status_code == 429


def test_sec21_concurrent_right_sign_ins_from_one_address_get_no_429(
    make_env: EnvFactory,
) -> None:
    """An office behind one NAT: many right passwords at once, more than the address's
    limit, are all signed in (the address counts failures, not attempts in flight)."""
    users, limit = 12, 3
    env = make_env(
        per_address=Limit(limit, timedelta(minutes=15)),
        per_address_sign_ups=Limit(users, timedelta(hours=1)),
    )
    emails = [f"user{n}@example.com" for n in range(users)]
    for email in emails:
        env.sign_up(email)
    statuses: list[int] = []
    start = threading.Barrier(users)

    def sign_in(email: str) -> None:
        with env.browser() as browser:
            start.wait()
            response = env.post(
                "signin", json={"email": email, "password": PASSWORD}, client=browser
            )
        statuses.append(response.status_code)
        if env.framework == "django":
            from django.db import connections

            connections.close_all()

    threads = [threading.Thread(target=sign_in, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * users
    # Failures still count: past the limit, even a right password waits out the window.
    for n in range(limit):
        wrong = {"email": emails[n], "password": "wrong one!"}
        assert env.post("signin", json=wrong).status_code == 401
    right = {"email": emails[-1], "password": PASSWORD}
    assert env.post("signin", json=right).status_code == 429


def test_sec47_sign_up_is_throttled_per_client_address(make_env: EnvFactory) -> None:
    env = make_env(per_address_sign_ups=Limit(3, timedelta(hours=1)))
    env.sign_up()
    taken = env.post("signup", json={"email": EMAIL, "password": PASSWORD})
    assert taken.status_code == 409  # tells that the address has an account: counted too
    env.sign_up("grace@example.com")
    blocked = env.post("signup", json={"email": "eve@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "AUTH_RATE_LIMITED"
    assert 3590 <= int(blocked.headers["retry-after"]) <= 3600
    assert_no_store(blocked)
    assert env.lucia.get_user_by_key("email", "eve@example.com") is None
    form = env.post("signup", data={"email": "eve@example.com", "password": PASSWORD})
    assert form.status_code == 429
    # Another client is not affected; the window ends and this one may sign up again.
    with env.browser("198.51.100.20") as other:
        response = env.post(
            "signup", json={"email": "eve@example.com", "password": PASSWORD}, client=other
        )
    assert response.status_code == 200
    env.clock.advance(hours=1, seconds=1)
    env.sign_up("mallory@example.com")


def test_a_sign_up_whose_session_store_fails_is_a_503_and_leaves_nothing(
    make_env: EnvFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14 item 8: the retry after the store is back signs up (it used to be 409)."""
    env = make_env()
    sessions = env.lucia.session_adapter
    insert = sessions.insert_session

    def down(*args: Any) -> None:
        raise DatabaseError("redis://:hunter2@cache unreachable")

    monkeypatch.setattr(sessions, "insert_session", down)
    response = env.post("signup", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 503
    assert "hunter2" not in response.text
    assert env.lucia.get_user_by_key("email", EMAIL) is None
    monkeypatch.setattr(sessions, "insert_session", insert)
    user_id = env.sign_up()
    assert env.valid(env.token())
    assert env.lucia.get_user(user_id) is not None


def test_throttle_backend_failure_is_a_503(make_env: EnvFactory) -> None:
    env = make_env(throttle=SignInThrottle(FailingThrottleStore()))
    response = env.post("signin", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 503
    assert "hunter2" not in response.text
    assert env.hasher.checks == 0


# Logs (item 42)


def test_g42_auth_events_are_logged_without_secrets(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        user_id = env.sign_up()
        env.post("signin", json={"email": EMAIL, "password": "wrong one!"})
        env.post("signin", json={"email": EMAIL, "password": PASSWORD})
        other = env.lucia.create_session(user_id)
        env.post("sessions/revoke", json={"session_id": other.id})
        env.lucia.add_key(user_id, env.provider.name, "sub-3")
        env.post(f"link/{ROUTE}", json={})
        env.post(f"unlink/{ROUTE}", json={})
        token = env.token()
        env.client.post(env.url("logout"), headers=SAME_SITE)
    events = {
        record.getMessage(): record
        for record in caplog.records
        if record.name.startswith("lucia") and record.levelno == logging.INFO
    }
    for message in ("password sign-up", "password sign-in", "sign-in failed"):
        assert events[message].__dict__.get("provider_id") == "email", message
    for message in ("password sign-in", "session revoked", "signed out"):
        assert events[message].__dict__["user_id"] == user_id, message
    for message in ("identity link started", "identity unlinked"):
        assert events[message].__dict__["user_id"] == user_id
        assert events[message].__dict__["provider_id"] == env.provider.name
    text = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    for secret in (PASSWORD, "wrong one!", token, other.token, EMAIL):
        assert secret is not None
        assert secret not in text, secret


def test_link_target_is_a_uri_of_the_provider(env: Env) -> None:
    env.sign_up()
    started = env.post(f"link/{ROUTE}", data={})
    assert urlsplit(started.headers["location"]).netloc == urlsplit(env.op.issuer).netloc


def test_sessions_record_the_forwarded_client_only_behind_a_trusted_proxy(env: Env) -> None:
    proxied = env.browser(PROXY)
    env.post(
        "signup",
        json={"email": EMAIL, "password": PASSWORD},
        headers={**SAME_SITE, "X-Forwarded-For": "192.0.2.44"},
        client=proxied,
    )
    direct = env.browser(PEER)
    env.post(
        "signin",
        json={"email": EMAIL, "password": PASSWORD},
        headers={**SAME_SITE, "X-Forwarded-For": "192.0.2.45"},
        client=direct,
    )
    addresses = []
    for client in (proxied, direct):
        found = env.lucia.validate_session(env.token(client) or "")
        assert found is not None
        addresses.append(found[0].attributes["ip"])
    assert addresses == ["192.0.2.44", PEER]


# Opting in, and options checked at start-up


def test_routes_are_not_mounted_unless_asked(op_server: LocalOIDCProvider) -> None:
    lucia = Lucia(MemoryAdapter())
    flask_app = Flask(__name__)
    LuciaFlask(flask_app, auth=lucia, flow=SignInFlow(lucia, {}))
    with flask_app.test_client() as client:
        assert client.post("/signin", base_url=BASE, headers=SAME_SITE).status_code == 404
    aauth = AsyncLucia(AsyncMemoryAdapter())
    paths = {route.path for route in auth_routes(aauth, SignInFlow(aauth, {}))}  # type: ignore[attr-defined]
    assert paths == {"/login/{provider}", "/login/{provider}/callback", "/logout"}
    fresh_database()
    with override_settings(LUCIA={}):
        wsgi = get_wsgi_application()
        with httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url=BASE) as client:
            response = client.post("/auth/signin/", json={}, headers=SAME_SITE)
            assert response.status_code == 404


def test_flask_without_a_flow_mounts_no_link_routes() -> None:
    lucia = Lucia(MemoryAdapter())
    flask_app = Flask(__name__)
    LuciaFlask(flask_app, auth=lucia, passwords=True)
    rules = {rule.rule for rule in flask_app.url_map.iter_rules()}
    assert "/signin" in rules
    assert "/sessions/revoke-others" in rules
    assert not any("link" in rule or "login" in rule for rule in rules)


def test_options_are_checked_at_start_up() -> None:
    aauth = AsyncLucia(AsyncMemoryAdapter())
    flow = SignInFlow(aauth, {})
    with pytest.raises(ValueError, match="not an IP"):
        LuciaMiddleware(lambda *a: None, aauth, trusted_proxies=["10.0.0.0/33"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LuciaMiddleware(lambda *a: None, aauth, trusted_proxies="10.0.0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SignInThrottle"):
        auth_routes(aauth, flow, passwords=True, throttle=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reauthentication_max_age"):
        auth_routes(aauth, flow, passwords=True, reauthentication_max_age=timedelta(0))
    lucia = Lucia(MemoryAdapter())
    with pytest.raises(ValueError, match="not an IP"):
        LuciaFlask(Flask(__name__), auth=lucia, trusted_proxies=["proxy.internal"])
    with (
        override_settings(LUCIA={"TRUSTED_PROXIES": ["nonsense"]}),
        pytest.raises(ValueError, match="not an IP"),
    ):
        lucia_settings()


def test_last_key_error_keeps_its_old_import_path() -> None:
    from lucia.errors import LastKeyError
    from lucia.integrations._passwords import LastKeyError as RouteLastKeyError

    assert RouteLastKeyError is LastKeyError
