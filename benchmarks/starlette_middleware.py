"""What does LuciaMiddleware cost per request, next to no middleware and to signed cookies?

Three Starlette apps serve the same endpoint (it answers with the signed-in
user's id, or "anonymous"), called in-process over ASGI with hand-built
scope/receive/send (no network, no HTTP client):

- **bare**: no middleware at all (the request still carries a cookie);
- **lucia**: ``LuciaMiddleware`` with ``AsyncLucia(AsyncSQLiteAdapter)``: a
  server-side session looked up in SQLite on every request;
- **signed**: Starlette's own ``SessionMiddleware`` (an itsdangerous-signed
  cookie holding the user id, no server-side state) plus a tiny ASGI middleware
  that loads the user by primary key from the same SQLite file, so both sides
  end with the user in ``request.state.user``.

The database holds 10,000 users with one session each; each request picks one
at random. Rounds interleave the three apps, and the figures are medians of
the rounds, all measured in one run.

Run: ``.venv/bin/python benchmarks/starlette_middleware.py [--users N --rounds R --calls C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _shared  # benchmarks/ is the script's folder
import itsdangerous
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from validate_session import populate_pairs  # benchmarks/ is the script's folder

from lucia import AsyncLucia
from lucia.adapters.sqlite import AsyncSQLiteAdapter
from lucia.integrations.starlette import LuciaMiddleware

ROUNDS = 7
CALLS_PER_ROUND = 3_000
SECRET_KEY = "benchmark-only-secret-key"
HOST = b"app.example"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


async def endpoint(request: Request) -> Response:
    user = getattr(request.state, "user", None)
    return PlainTextResponse("anonymous" if user is None else user.id)


ROUTES = [Route("/", endpoint)]


@dataclass(frozen=True, slots=True)
class LoadedUser:
    id: str
    attributes: str


class UserLookup:
    """After SessionMiddleware: load ``session["user_id"]`` by primary key into state."""

    def __init__(self, app: ASGIApp, path: Path) -> None:
        self.app = app
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        self.execute = conn.execute

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        user = None
        user_id = scope.get("session", {}).get("user_id")
        if user_id is not None:
            row = self.execute(
                "SELECT id, attributes FROM auth_user WHERE id = ?", (user_id,)
            ).fetchone()
            if row is not None:
                user = LoadedUser(row[0], row[1])
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def signed_cookie(user_id: str) -> str:
    """The cookie Starlette's SessionMiddleware would have set for this session."""
    data = base64.b64encode(json.dumps({"user_id": user_id}).encode("utf-8"))
    return itsdangerous.TimestampSigner(SECRET_KEY).sign(data).decode("utf-8")


async def request(app: ASGIApp, cookie: bytes) -> tuple[int, bytes]:
    """One GET / through ``app``: its status and body."""
    return await _shared.asgi_get(app, cookie, HOST.decode())


async def per_request_us(app: ASGIApp, cookies: list[bytes]) -> float:
    start = time.perf_counter()
    for cookie in cookies:
        await request(app, cookie)
    return (time.perf_counter() - start) / len(cookies) * 1e6


async def run(args: argparse.Namespace, path: Path) -> dict[str, float]:
    users = populate_pairs(path, args.users)
    adapter = AsyncSQLiteAdapter(path)
    auth = AsyncLucia(adapter)
    apps: dict[str, ASGIApp] = {
        "bare": Starlette(routes=ROUTES),
        "lucia": Starlette(routes=ROUTES, middleware=[Middleware(LuciaMiddleware, auth=auth)]),
        "signed": Starlette(
            routes=ROUTES,
            middleware=[
                Middleware(SessionMiddleware, secret_key=SECRET_KEY, https_only=True),
                Middleware(UserLookup, path=path),
            ],
        ),
    }
    name = auth.session_cookie_name
    cookies = {
        "bare": [f"{name}={token}".encode() for _, token in users],
        "lucia": [f"{name}={token}".encode() for _, token in users],
        "signed": [f"session={signed_cookie(user_id)}".encode() for user_id, _ in users],
    }

    # Every app must really answer with the user (or, bare, anonymously).
    for index in random.sample(range(len(users)), 50):
        user_id = users[index][0].encode()
        assert await request(apps["bare"], cookies["bare"][index]) == (200, b"anonymous")
        assert await request(apps["lucia"], cookies["lucia"][index]) == (200, user_id)
        assert await request(apps["signed"], cookies["signed"][index]) == (200, user_id)

    results: dict[str, list[float]] = {key: [] for key in apps}
    for _ in range(args.rounds):
        picks = random.choices(range(len(users)), k=args.calls)
        for key, app in apps.items():
            batch = [cookies[key][i] for i in picks]
            results[key].append(await per_request_us(app, batch))
    adapter.close()
    return {key: statistics.median(values) for key, values in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--calls", type=int, default=CALLS_PER_ROUND)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        median = asyncio.run(run(args, Path(tmp) / "bench.sqlite3"))

    python = sys.version.split()[0]
    print(f"GET / with a valid session, {args.users:,} users on SQLite, Python {python}")
    print(f"{args.rounds} rounds x {args.calls:,} in-process ASGI requests; medians")
    print(f"{'':44}{'µs/req':>9}{'vs bare':>9}{'vs signed':>11}")
    labels = {
        "bare": "no middleware",
        "signed": "SessionMiddleware + user by primary key",
        "lucia": "LuciaMiddleware (AsyncSQLiteAdapter)",
    }
    for key in ("bare", "signed", "lucia"):
        value = median[key]
        print(
            f"{labels[key]:44}{value:>9.1f}{value / median['bare']:>8.2f}x"
            f"{value / median['signed']:>10.2f}x"
        )
    extra = {key: median[key] - median["bare"] for key in ("signed", "lucia")}
    print(
        f"added per request: signed {extra['signed']:.1f} µs, lucia {extra['lucia']:.1f} µs "
        f"({extra['lucia'] / extra['signed']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
