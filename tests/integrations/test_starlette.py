"""LuciaMiddleware and auth_routes on a small Starlette app, driven over ASGI with httpx.

Sign-in goes through ``LocalOIDCProvider`` (and once through the real npm
oidc-provider), password sign-in through a test route; the security tests are
named after SECURITY.md items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.errors import DatabaseError, InvalidCredentialsError
from lucia.integrations.starlette import (
    LuciaMiddleware,
    auth_routes,
    current_user,
    sign_in,
)
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.sessions import utc_now
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock
from tests.integrations.common import PASSWORD, ROUTE, FlakyStore

BASE = "https://app.example"
SAME_SITE = {"Origin": BASE}


@dataclass
class AppEnv:
    clock: Clock
    store: FlakyStore
    auth: AsyncLucia
    flow: SignInFlow
    provider: OpenIDConnect
    op: LocalOIDCProvider
    app: Starlette
    client: httpx.AsyncClient

    async def oidc_sign_in(self, next: str | None = None) -> httpx.Response:
        """Sign in through the provider like a browser; the callback's response."""
        params = {"next": next} if next is not None else None
        start = await self.client.get(f"/login/{ROUTE}", params=params)
        assert start.status_code == 302
        callback_url = self.op.login(start.headers["location"])
        assert callback_url.startswith(f"{BASE}/login/{ROUTE}/callback?")
        return await self.client.get(callback_url)

    async def password_user(self, email: str = "ada@example.com") -> str:
        user = await self.auth.create_user("email", email, password=PASSWORD)
        return user.id

    async def with_token(self, path: str, token: str) -> httpx.Response:
        """GET ``path`` from a fresh browser holding only this session cookie."""
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE
        ) as other:
            other.cookies.set(self.auth.session_cookie_name, token, domain="app.example")
            return await other.get(path)

    def session_cookie(self) -> str | None:
        return self.client.cookies.get(self.auth.session_cookie_name)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Raw Set-Cookie headers by cookie name."""
    found: dict[str, str] = {}
    for raw in response.headers.get_list("set-cookie"):
        found[raw.split("=", 1)[0]] = raw
    return found


def attributes(raw: str) -> dict[str, str]:
    parsed = SimpleCookie()
    parsed.load(raw)
    (morsel,) = parsed.values()
    result = {key.lower(): str(value) for key, value in morsel.items() if value}
    for flag in ("Secure", "HttpOnly"):
        if flag.lower() in raw.lower():
            result[flag.lower()] = "yes"
    return result


# The app


async def home(request: Request) -> Response:
    return PlainTextResponse("home")


async def me(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return PlainTextResponse("signed out", status_code=401)
    return JSONResponse({"id": user.id, "session": request.state.session.id})


async def public(request: Request) -> Response:
    return PlainTextResponse("public", headers={"Cache-Control": "public, max-age=600"})


async def change(request: Request) -> Response:
    user = current_user(request)
    return PlainTextResponse("changed" if user is not None else "anonymous change")


async def webhook(request: Request) -> Response:
    # An exempt route never sees a cookie session on an unsafe method.
    return PlainTextResponse(f"hook user={request.state.user is not None}")


def make_password_login(auth: AsyncLucia) -> Route:
    async def password_login(request: Request) -> Response:
        data = await request.json()
        try:
            user = await auth.authenticate("email", data["email"], data["password"])
        except InvalidCredentialsError:
            return PlainTextResponse("wrong email or password", status_code=400)
        response = PlainTextResponse("signed in")
        await sign_in(auth, request, response, user.id)
        return response

    return Route("/password/login", password_login, methods=["POST"])


def make_app(auth: AsyncLucia, flow: SignInFlow) -> Starlette:
    return Starlette(
        routes=[
            *auth_routes(auth, flow),
            make_password_login(auth),
            Route("/", home),
            Route("/me", me),
            Route("/public", public),
            Route("/change", change, methods=["POST"]),
            Route("/webhooks/github", webhook, methods=["POST"]),
            Route("/webhooks-evil", webhook, methods=["POST"]),
        ],
        middleware=[Middleware(LuciaMiddleware, auth=auth, csrf_exempt=["/webhooks"])],
    )


@pytest.fixture
async def env(op_server: LocalOIDCProvider) -> AsyncIterator[AppEnv]:
    clock = Clock(utc_now().replace(microsecond=0))
    store = FlakyStore()
    auth = AsyncLucia(AsyncMemoryAdapter(store), clock=clock)
    provider = OpenIDConnect(
        op_server.issuer,
        op_server.client_id,
        op_server.client_secret,
        f"{BASE}/login/{ROUTE}/callback",
    )
    flow = SignInFlow(auth, {ROUTE: provider})
    app = make_app(auth, flow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield AppEnv(clock, store, auth, flow, provider, op_server, app, client)
    await provider.aclose()


# Sign-in, protected routes, renewal, sign-out


async def test_oidc_sign_in_then_protected_route_works(env: AppEnv) -> None:
    assert (await env.client.get("/me")).status_code == 401
    callback = await env.oidc_sign_in()
    assert callback.status_code == 303
    assert callback.headers["location"] == "/"
    me = await env.client.get("/me")
    assert me.status_code == 200
    user = await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"])
    assert user is not None
    assert me.json()["id"] == user.id


async def test_next_is_honoured_when_safe(env: AppEnv) -> None:
    callback = await env.oidc_sign_in(next="/settings?tab=2")
    assert callback.headers["location"] == "/settings?tab=2"


async def test_password_sign_in_then_protected_route_works(env: AppEnv) -> None:
    user_id = await env.password_user()
    wrong = await env.client.post(
        "/password/login",
        json={"email": "ada@example.com", "password": "not it at all"},
        headers=SAME_SITE,
    )
    assert wrong.status_code == 400
    assert env.session_cookie() is None
    response = await env.client.post(
        "/password/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers=SAME_SITE,
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert (await env.client.get("/me")).json()["id"] == user_id


async def test_sec5_sign_out_deletes_the_session_and_the_old_cookie_gets_401(
    env: AppEnv,
) -> None:
    await env.oidc_sign_in()
    token = env.session_cookie()
    assert token is not None
    session_id = (await env.client.get("/me")).json()["session"]
    response = await env.client.post("/logout", headers=SAME_SITE)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert response.headers["cache-control"] == "no-store"
    cleared = attributes(set_cookies(response)[env.auth.session_cookie_name])
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    assert env.store.get_session(session_id) is None
    replay = await env.with_token("/me", token)
    assert replay.status_code == 401


async def test_sec5_logout_is_post_only(env: AppEnv) -> None:
    await env.oidc_sign_in()
    assert (await env.client.get("/logout")).status_code == 405
    assert (await env.client.get("/me")).status_code == 200


# B. Cookies, caching, CSRF


async def test_sec11_session_cookie_attributes(env: AppEnv) -> None:
    callback = await env.oidc_sign_in()
    raw = set_cookies(callback)[env.auth.session_cookie_name]
    attrs = attributes(raw)
    assert attrs["secure"] == attrs["httponly"] == "yes"
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert "domain" not in attrs


async def test_sec13_transaction_cookie_attributes_and_deletion(env: AppEnv) -> None:
    start = await env.client.get(f"/login/{ROUTE}")
    name = env.flow.transaction_cookie_name
    attrs = attributes(set_cookies(start)[name])
    assert name.startswith("__Host-")
    assert attrs["secure"] == attrs["httponly"] == "yes"
    assert attrs["samesite"].lower() == "lax"
    assert 0 < int(attrs["max-age"]) <= 600
    assert start.headers["cache-control"] == "no-store"
    callback = await env.client.get(env.op.login(start.headers["location"]))
    assert attributes(set_cookies(callback)[name])["max-age"] == "0"


async def test_sec15_logout_and_password_login_are_origin_checked(env: AppEnv) -> None:
    await env.password_user()
    login = await env.client.post(
        "/password/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert login.status_code == 403
    assert env.session_cookie() is None
    await env.oidc_sign_in()
    logout = await env.client.post("/logout", headers={"Origin": "https://evil.example"})
    assert logout.status_code == 403
    assert (await env.client.get("/me")).status_code == 200


# Session fixation, unknown and malformed cookies


async def test_sec1_planted_cookie_is_not_adopted_at_oidc_sign_in(env: AppEnv) -> None:
    victim_id = await env.password_user("victim@example.com")
    planted = await env.auth.create_session(victim_id)
    assert planted.token is not None
    env.client.cookies.set(env.auth.session_cookie_name, planted.token, domain="app.example")
    callback = await env.oidc_sign_in()
    new_token = env.session_cookie()
    assert new_token is not None
    assert new_token != planted.token
    assert env.auth.session_cookie_name in set_cookies(callback)
    # The old session is dead server-side: its cookie now gets 401.
    assert env.store.get_session(planted.id) is None
    replay = await env.with_token("/me", planted.token)
    assert replay.status_code == 401


async def test_sec1_password_sign_in_replaces_the_current_session(env: AppEnv) -> None:
    await env.oidc_sign_in()
    old_token = env.session_cookie()
    old_id = (await env.client.get("/me")).json()["session"]
    await env.password_user()
    response = await env.client.post(
        "/password/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers=SAME_SITE,
    )
    assert response.status_code == 200
    assert env.session_cookie() not in (None, old_token)
    assert env.store.get_session(old_id) is None


async def test_database_error_in_a_route_gives_503(env: AppEnv) -> None:
    async def broken(request: Request) -> Response:
        raise DatabaseError("SQL: SELECT secret")

    app = Starlette(
        routes=[Route("/broken", broken)], middleware=[Middleware(LuciaMiddleware, auth=env.auth)]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        response = await c.get("/broken")
    assert response.status_code == 503
    assert "SELECT" not in response.text


# D. The OAuth callback at the HTTP level


async def test_sec22_forged_state_gets_400_and_creates_nothing(env: AppEnv) -> None:
    start = await env.client.get(f"/login/{ROUTE}")
    callback_url = env.op.login(start.headers["location"])
    token_requests = env.op.count("token")
    parts = urlsplit(callback_url)
    forged = parts.query.replace("state=", "state=forged")
    response = await env.client.get(f"{parts.path}?{forged}")
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert env.store._users == {}
    assert env.store._sessions == {}
    assert env.session_cookie() is None
    assert env.op.count("token") == token_requests


async def test_sec22_replayed_state_gets_400(env: AppEnv) -> None:
    start = await env.client.get(f"/login/{ROUTE}")
    transaction = env.client.cookies.get(env.flow.transaction_cookie_name)
    assert transaction is not None
    callback_url = env.op.login(start.headers["location"])
    assert (await env.client.get(callback_url)).status_code == 303
    user = await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"])
    assert user is not None
    sessions_before = await env.auth.get_user_sessions(user.id)
    env.client.cookies.set(env.flow.transaction_cookie_name, transaction, domain="app.example")
    replay = await env.client.get(callback_url)
    assert replay.status_code == 400
    assert len(await env.auth.get_user_sessions(user.id)) == len(sessions_before)


async def test_sec22_missing_transaction_cookie_gets_400(env: AppEnv) -> None:
    start = await env.client.get(f"/login/{ROUTE}")
    env.client.cookies.clear()
    response = await env.client.get(env.op.login(start.headers["location"]))
    assert response.status_code == 400
    assert await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


async def test_sec23_state_bound_to_the_provider(env: AppEnv) -> None:
    other = OpenIDConnect(
        env.op.issuer, env.op.client_id, env.op.client_secret, f"{BASE}/login/other/callback"
    )
    flow = SignInFlow(env.auth, {ROUTE: env.provider, "other": other})
    app = make_app(env.auth, flow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        start = await c.get(f"/login/{ROUTE}")
        query = urlsplit(env.op.login(start.headers["location"])).query
        response = await c.get(f"/login/other/callback?{query}")
    await other.aclose()
    assert response.status_code == 400
    assert await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


async def test_sec26_access_denied_shows_a_page_and_deletes_the_cookie(env: AppEnv) -> None:
    start = await env.client.get(f"/login/{ROUTE}")
    env.op.authorization_error = "access_denied"
    try:
        callback_url = env.op.login(start.headers["location"])
    finally:
        env.op.authorization_error = None
    response = await env.client.get(callback_url)
    assert 400 <= response.status_code < 500
    assert "<script" not in response.text
    cleared = set_cookies(response)[env.flow.transaction_cookie_name]
    assert attributes(cleared)["max-age"] == "0"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


async def test_unknown_provider_gets_404(env: AppEnv) -> None:
    assert (await env.client.get("/login/nope")).status_code == 404


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
async def test_sec29_unsafe_next_lands_on_the_default_page(env: AppEnv, next_value: str) -> None:
    callback = await env.oidc_sign_in(next=next_value)
    assert callback.status_code == 303
    assert callback.headers["location"] == "/"


async def test_sec30_callback_is_a_303_with_no_referrer_and_no_store(env: AppEnv) -> None:
    callback = await env.oidc_sign_in()
    assert callback.status_code == 303
    assert callback.headers["referrer-policy"] == "no-referrer"
    assert callback.headers["cache-control"] == "no-store"
    assert "?" not in callback.headers["location"]


def test_middleware_rejects_bad_configuration() -> None:
    auth = AsyncLucia(AsyncMemoryAdapter())
    app = Starlette()
    with pytest.raises(TypeError, match="lists of strings"):
        LuciaMiddleware(app, auth, allowed_origins="https://app.example")
    with pytest.raises(ValueError, match="path prefixes"):
        LuciaMiddleware(app, auth, csrf_exempt=["webhooks"])
    with pytest.raises(TypeError, match="AsyncLucia"):
        LuciaMiddleware(app, object())  # type: ignore[arg-type]


async def test_routes_need_the_middleware() -> None:
    auth = AsyncLucia(AsyncMemoryAdapter())
    app = Starlette(routes=auth_routes(auth, SignInFlow(auth, {})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        with pytest.raises(RuntimeError, match="LuciaMiddleware"):
            await c.post("/logout", headers=SAME_SITE)


async def test_session_cookie_found_across_several_cookie_headers(env: AppEnv) -> None:
    user_id = await env.password_user()
    session = await env.auth.create_session(user_id)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=env.app), base_url=BASE
    ) as other:
        response = await other.get(
            "/me",
            headers=[
                ("cookie", "theme=dark"),
                ("cookie", f"{env.auth.session_cookie_name}={session.token}"),
            ],
        )
    assert response.status_code == 200
    assert response.json()["id"] == user_id
