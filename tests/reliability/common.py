"""What the load and fault tests share: a Starlette app signing in with GitHub
(``LocalGitHub``, a real HTTP server on loopback), and a browser that signs in
as a chosen account and keeps its cookies by hand.

Each sign-in runs the whole flow: ``GET /login/github`` on the app (302 and the
transaction cookie), the approval at LocalGitHub as ``account`` (a real HTTP
request to its authorization endpoint, which redirects back with a code), then
the callback on the app, which redeems the code, fetches the user and their
emails from LocalGitHub, finds or creates the lucia user and answers 303 with
the session cookie.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lucia import AsyncLucia
from lucia.integrations.starlette import LuciaMiddleware, auth_routes, current_user
from lucia.oauth import GitHub
from lucia.oauth.flow import SignInFlow
from lucia.testing.github import GitHubAccount, GitHubEmail, LocalGitHub

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]

BASE = "https://app.example"
CALLBACK = f"{BASE}/login/github/callback"
FIRST_ACCOUNT = 1000


def accounts(count: int) -> list[GitHubAccount]:
    """``count`` distinct GitHub accounts, ids FIRST_ACCOUNT and up."""
    return [
        GitHubAccount(
            id=FIRST_ACCOUNT + n,
            login=f"user{n}",
            name=f"User {n}",
            emails=[GitHubEmail(f"user{n}@example.com", primary=True, verified=True)],
        )
        for n in range(count)
    ]


async def me(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return JSONResponse({"user": None}, status_code=401)
    return JSONResponse({"user": user.id})


def make_app(auth: AsyncLucia, github: GitHub) -> Starlette:
    """The app under test: the sign-in routes and ``/me``, behind ``LuciaMiddleware``."""
    flow = SignInFlow(auth, [github])
    return Starlette(
        routes=[*auth_routes(auth, flow), Route("/me", me)],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
    )


@dataclass
class Answer:
    """An app's answer to one request."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


async def call_app(app: ASGIApp, target: str, cookie: str | None = None) -> Answer:
    """``GET target`` (a path and query of BASE) from the app, in process.

    The bare ASGI exchange, as a server makes it: the load tests spend their CPU
    on the app and the provider rather than on an HTTP client's machinery.
    """
    path, _, query = target.partition("?")
    headers = [(b"host", urlsplit(BASE).netloc.encode())]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": (urlsplit(BASE).netloc, 443),
    }
    responded = asyncio.Event()
    requested = False
    status = 0
    response_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await responded.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.extend(
                (key.decode("latin-1").lower(), value.decode("latin-1"))
                for key, value in message.get("headers", [])
            )
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                responded.set()

    await app(scope, receive, send)
    return Answer(status, response_headers, b"".join(chunks))


def cookie_values(response: Answer) -> dict[str, str]:
    """The values of the cookies a response sets (an empty value: a deletion)."""
    jar = SimpleCookie()
    for name, raw in response.headers:
        if name == "set-cookie":
            jar.load(raw)
    return {name: morsel.value for name, morsel in jar.items()}


@dataclass
class Outcome:
    """One sign-in: the account, the callback's status (or the first failing step's),
    the session token it set, its body when it failed, and when it ran."""

    account: int
    status: int
    token: str | None
    body: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class Browser:
    """Signs in through ``app`` as any LocalGitHub account, one cookie jar per sign-in.

    The app is called in process (``call_app``); the approval at ``github`` is a
    real HTTP request to it over loopback, as are the app's own calls to it.
    """

    def __init__(self, app: ASGIApp, github: LocalGitHub, session_cookie_name: str) -> None:
        self.app = app
        self.github = github
        self.session_cookie_name = session_cookie_name

    async def sign_in(self, account: int) -> Outcome:
        started = time.perf_counter()

        def done(status: int, token: str | None = None, body: str = "") -> Outcome:
            return Outcome(account, status, token, body, started, time.perf_counter())

        start = await call_app(self.app, "/login/github")
        location = start.header("location")
        if start.status_code != 302 or location is None:
            return done(start.status_code, body=start.text)
        transaction = cookie_values(start)
        # The user approves at the provider: LocalGitHub's own browser step, as
        # this account. Blocking the loop makes sign_in + authorize one step no
        # other sign-in can interleave with (and costs a fraction of a millisecond).
        self.github.sign_in(account)
        answer = self.github.authorize(location)
        callback = await call_app(
            self.app,
            f"{CALLBACK.removeprefix(BASE)}?{urlencode(answer)}",
            "; ".join(f"{name}={value}" for name, value in transaction.items()),
        )
        token = cookie_values(callback).get(self.session_cookie_name) or None
        return done(
            callback.status_code, token, "" if callback.status_code == 303 else callback.text
        )

    async def whoami(self, token: str) -> Answer:
        """``GET /me`` holding only this session cookie."""
        return await call_app(self.app, "/me", f"{self.session_cookie_name}={token}")


def provider_for(github: LocalGitHub, **options: object) -> GitHub:
    """The app's GitHub provider, pointed at ``github``."""
    return GitHub(
        github.client_id,
        github.client_secret,
        CALLBACK,
        enterprise_url=github.url,
        **options,  # type: ignore[arg-type]
    )


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]
