"""LuciaMiddleware and auth_routes on a small Starlette app, driven over ASGI with httpx.

The sign-in, password sign-in and sign-out routes are tested for every
framework at once in test_routes_suite.py (which builds its Starlette app with
``make_app`` below), the middleware in test_middleware_suite.py; this file
keeps what is Starlette's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

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

    async def password_user(self, email: str = "ada@example.com") -> str:
        user = await self.auth.create_user("email", email, password=PASSWORD)
        return user.id


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


# A store failure in a route


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


# Configuration and cookie parsing


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
