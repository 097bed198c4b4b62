"""The FastAPI dependencies and auth_router, on LuciaMiddleware.

Sign-in through ``LocalOIDCProvider`` and through the real npm oidc-provider
(its login and consent forms driven like a browser).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.middleware import Middleware

from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.integrations.fastapi import (
    CurrentSession,
    CurrentUser,
    OptionalUser,
    auth_router,
    current_user,
)
from lucia.integrations.starlette import LuciaMiddleware, PasswordEndpoints
from lucia.models import User
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.oauth.conftest import REDIRECT_URIS, NodeOIDCProvider
from tests.oauth.conftest import oidc_provider as oidc_provider  # the session fixture
from tests.oauth.test_oidc_provider_e2e import Browser

BASE = "https://app.example"
SAME_SITE = {"Origin": BASE}


def make_app(auth: AsyncLucia, flow: SignInFlow, *, prefix: str = "") -> FastAPI:
    app = FastAPI(middleware=[Middleware(LuciaMiddleware, auth=auth)])
    app.include_router(auth_router(auth, flow, prefix=prefix))

    @app.get("/me")
    async def me(user: CurrentUser, session: CurrentSession) -> dict[str, str]:
        return {"id": user.id, "session": session.id}

    @app.get("/whoami")
    async def whoami(user: OptionalUser) -> dict[str, str | None]:
        return {"id": None if user is None else user.id}

    @app.post("/items")
    async def create_item(user: Annotated[User, Depends(current_user)]) -> dict[str, str]:
        return {"owner": user.id}

    return app


@dataclass
class Env:
    store: MemoryAdapter
    auth: AsyncLucia
    provider: OpenIDConnect
    op: LocalOIDCProvider
    client: httpx.AsyncClient


@pytest.fixture
async def env(op_server: LocalOIDCProvider) -> AsyncIterator[Env]:
    store = MemoryAdapter()
    auth = AsyncLucia(AsyncMemoryAdapter(store))
    provider = OpenIDConnect(
        op_server.issuer,
        op_server.client_id,
        op_server.client_secret,
        f"{BASE}/auth/login/local/callback",
    )
    app = make_app(auth, SignInFlow(auth, {"local": provider}), prefix="/auth")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Env(store, auth, provider, op_server, client)
    await provider.aclose()


async def sign_in(env: Env) -> httpx.Response:
    start = await env.client.get("/auth/login/local", params={"next": "/me"})
    assert start.status_code == 302
    return await env.client.get(env.op.login(start.headers["location"]))


async def test_current_user_is_401_with_www_authenticate_when_signed_out(env: Env) -> None:
    response = await env.client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await env.client.get("/whoami")).json() == {"id": None}


async def test_sign_in_through_the_router_then_dependencies_work(env: Env) -> None:
    callback = await sign_in(env)
    assert callback.status_code == 303
    assert callback.headers["location"] == "/me"
    assert callback.headers["referrer-policy"] == "no-referrer"
    me = await env.client.get("/me")
    assert me.status_code == 200
    user = await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"])
    assert user is not None
    assert me.json()["id"] == user.id
    assert me.headers["cache-control"] == "no-store"
    assert (await env.client.get("/whoami")).json() == {"id": user.id}
    created = await env.client.post("/items", headers=SAME_SITE)
    assert created.json() == {"owner": user.id}


async def test_sec14_cross_site_post_gets_403(env: Env) -> None:
    await sign_in(env)
    response = await env.client.post("/items", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_bearer_token_authenticates_api_calls(env: Env) -> None:
    user = await env.auth.create_user("email", "api@example.com")
    session = await env.auth.create_session(user.id)
    headers = {"Authorization": f"Bearer {session.token}"}
    assert (await env.client.post("/items", headers=headers)).json() == {"owner": user.id}


async def test_sec5_logout_through_the_router(env: Env) -> None:
    await sign_in(env)
    session_id = (await env.client.get("/me")).json()["session"]
    logout = await env.client.post("/auth/logout", headers=SAME_SITE)
    assert logout.status_code == 303
    assert env.store.get_session(session_id) is None
    assert (await env.client.get("/me")).status_code == 401


async def test_sec22_forged_state_gets_400(env: Env) -> None:
    start = await env.client.get("/auth/login/local")
    parts = urlsplit(env.op.login(start.headers["location"]))
    response = await env.client.get(f"{parts.path}?{parts.query.replace('state=', 'state=x')}")
    assert response.status_code == 400
    assert await env.auth.get_user_by_key(env.provider.name, env.op.user["sub"]) is None


# The real OpenID provider (npm oidc-provider@9)


async def test_e2e_sign_in_through_npm_oidc_provider(oidc_provider: NodeOIDCProvider) -> None:
    redirect_uri = REDIRECT_URIS[1]
    assert redirect_uri == f"{BASE}/login/oidc/callback"
    store = MemoryAdapter()
    auth = AsyncLucia(AsyncMemoryAdapter(store))
    provider = OpenIDConnect(
        oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret, redirect_uri
    )
    app = make_app(auth, SignInFlow(auth, {"oidc": provider}))
    browser = Browser(redirect_uri)
    login = f"user-{secrets.token_hex(4)}"
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE
        ) as client:
            start = await client.get("/login/oidc", params={"next": "//evil.example"})
            assert start.status_code == 302
            query = browser.sign_in(start.headers["location"], login)
            callback = await client.get(f"/login/oidc/callback?{query}")
            assert callback.status_code == 303
            assert callback.headers["location"] == "/"
            me = await client.get("/me")
            assert me.status_code == 200
            user = await auth.get_user_by_key(provider.name, login)
            assert user is not None
            assert me.json()["id"] == user.id
            # The same callback again: replayed state, 400, no new session.
            replay = await client.get(f"/login/oidc/callback?{query}")
            assert replay.status_code == 400
            assert len(await auth.get_user_sessions(user.id)) == 1
    finally:
        browser.close()
        await provider.aclose()


async def test_auth_router_has_starlettes_routes_out_of_the_schema(env: Env) -> None:
    auth = env.auth
    flow = SignInFlow(auth, {"local": env.provider})
    router = auth_router(auth, flow, prefix="/auth/", passwords=True)
    got = {(route.path, tuple(sorted(route.methods))) for route in router.routes}  # type: ignore[attr-defined]
    want = {
        ("/auth/login/{provider}", ("GET",)),
        ("/auth/login/{provider}/callback", ("GET", "POST")),
        ("/auth/logout", ("POST",)),
        *(("/auth" + path, ("POST",)) for path, _ in PasswordEndpoints(auth, flow).endpoints()),
    }
    assert got == want
    app = FastAPI()
    app.include_router(router)
    assert not any(path.startswith("/auth") for path in app.openapi()["paths"])
