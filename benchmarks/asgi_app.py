"""The apps ``load.py`` serves through uvicorn (``--factory asgi_app:create_app``).

``LUCIA_BENCH_MODE`` picks one, ``LUCIA_BENCH_DB`` is the SQLite file:

- ``open``: ``GET /me`` answers without looking at the request's credential;
- ``work``: ``open`` plus ``LUCIA_BENCH_WORK_US`` µs of pure-Python work per
  request (calibrated with the thread's CPU clock when the server starts): the
  exchange rate between work done in a handler and the req/s it costs through
  uvicorn on this machine, with no database and no cache-hungry code in play;
- ``lucia``: the same endpoint behind ``LuciaMiddleware`` (``AsyncSQLiteAdapter``),
  answering with the signed-in user's id, 401 when signed out;
- ``floor``: the same endpoint behind the least a server-side session can do
  (a pure ASGI middleware: the cookie's token split, SHA-256 of its secret, one
  raw ``sqlite3`` primary-key join, ``hmac.compare_digest``), so lucia's share
  of the server can be told from the share any session lookup takes;
- ``storm``: ``GET /ping`` (cheap) and ``POST /login`` (a JSON email and
  password: ``AsyncLucia.authenticate``, Argon2id in a worker thread, then a new
  session and its cookie). Argon2id runs on lucia's own pool (CPUs - 1
  threads); with ``LUCIA_BENCH_HASH_WORKERS=N`` it runs on a pool of N threads
  passed as ``hash_executor`` instead (``load.py`` passes asyncio's default
  size, min(32, CPUs + 4), to show what lucia's bound is for).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lucia import AsyncLucia
from lucia.adapters.sqlite import AsyncSQLiteAdapter
from lucia.errors import InvalidCredentialsError
from lucia.integrations.starlette import LuciaMiddleware


async def open_me(request: Request) -> Response:
    return PlainTextResponse("anonymous")


async def protected_me(request: Request) -> Response:
    user = request.state.user
    if user is None:
        return PlainTextResponse("signed out", status_code=401)
    return PlainTextResponse(user.id)


def calibrated_work(micros: float) -> Callable[[], int]:
    """A function that burns about ``micros`` µs of this thread's CPU (pure Python)."""
    size = 1_000
    while True:  # grow the sample until one call is long enough to time well
        best = min(_cpu_ns(sum, range(size)) for _ in range(20))
        if best >= 20_000:
            break
        size *= 2
    count = max(1, round(size * micros * 1_000 / best))
    return lambda: sum(range(count))


def _cpu_ns(fn: Callable[[range], int], arg: range) -> int:
    start = time.thread_time_ns()
    fn(arg)
    return time.thread_time_ns() - start


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


class FloorMiddleware:
    """The floor as ASGI middleware: ``state.user`` is the row's user id, or None."""

    SQL = (
        "SELECT s.id, s.user_id, s.secret_hash, s.expires_at, s.created_at, s.attributes,"
        " u.attributes FROM auth_session s JOIN auth_user u ON u.id = s.user_id WHERE s.id = ?"
    )

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.execute = conn.execute

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        user = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                for pair in value.decode("latin-1").split(";"):
                    key, _, token = pair.strip().partition("=")
                    if key == "auth_session":
                        session_id, _, secret = token.partition(".")
                        digest = hashlib.sha256(secret.encode()).digest()
                        row = self.execute(self.SQL, (session_id,)).fetchone()
                        if row is not None and hmac.compare_digest(digest, row[2]):
                            user = row
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


async def floor_me(request: Request) -> Response:
    row = request.state.user
    if row is None:
        return PlainTextResponse("signed out", status_code=401)
    return PlainTextResponse(row[1])


def create_app() -> Starlette:
    """The app of ``LUCIA_BENCH_MODE`` on the SQLite file ``LUCIA_BENCH_DB``."""
    mode = os.environ["LUCIA_BENCH_MODE"]
    if mode == "open":
        return Starlette(routes=[Route("/me", open_me)])
    if mode == "work":
        work = calibrated_work(float(os.environ["LUCIA_BENCH_WORK_US"]))

        async def work_me(request: Request) -> Response:
            work()
            return PlainTextResponse("anonymous")

        return Starlette(routes=[Route("/me", work_me)])
    if mode == "floor":
        return Starlette(
            routes=[Route("/me", floor_me)],
            middleware=[Middleware(FloorMiddleware, path=os.environ["LUCIA_BENCH_DB"])],
        )
    workers = os.environ.get("LUCIA_BENCH_HASH_WORKERS")
    hash_executor = ThreadPoolExecutor(max_workers=int(workers)) if workers else None
    auth = AsyncLucia(AsyncSQLiteAdapter(os.environ["LUCIA_BENCH_DB"]), hash_executor=hash_executor)
    if mode == "lucia":
        return Starlette(
            routes=[Route("/me", protected_me)],
            middleware=[Middleware(LuciaMiddleware, auth=auth)],
        )

    async def login(request: Request) -> Response:
        form = json.loads(await request.body())
        try:
            user = await auth.authenticate("email", form["email"], form["password"])
        except InvalidCredentialsError:
            return PlainTextResponse("invalid", status_code=401)
        session = await auth.create_session(user.id)
        response = PlainTextResponse("signed in")
        response.headers["set-cookie"] = auth.create_session_cookie(session).serialize()
        return response

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if hash_executor is not None:
            hash_executor.shutdown(wait=False)  # ours to shut down, not lucia's

    return Starlette(
        routes=[Route("/ping", ping), Route("/login", login, methods=["POST"])],
        lifespan=lifespan,
    )
