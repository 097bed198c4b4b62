"""A Starlette app signing in with GitHub (a ``LocalGitHub``), as the end-to-end
request tests use it: ``auth_routes`` + ``LuciaMiddleware`` and a home page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.integrations.starlette import LuciaMiddleware, auth_routes
from lucia.models import User
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.github import GitHub
from lucia.testing.github import LocalGitHub


def github_app(server: LocalGitHub, signed_in: Callable[[User], str]) -> Starlette:
    """The app for ``http://testserver``; ``GET /`` answers "anonymous" or ``signed_in(user)``."""
    auth = AsyncLucia(AsyncMemoryAdapter(), secure_cookies=False)
    github = GitHub(
        server.client_id,
        server.client_secret,
        "http://testserver/login/github/callback",
        enterprise_url=server.url,
    )
    flow = SignInFlow(auth, [github])

    async def home(request: Request) -> Response:
        user = request.state.user
        return PlainTextResponse("anonymous" if user is None else signed_in(user))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await github.aclose()  # its AsyncClient lives on the TestClient's event loop

    return Starlette(
        routes=[*auth_routes(auth, flow), Route("/", home)],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
        lifespan=lifespan,
    )
