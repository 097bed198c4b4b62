"""Turning a request's credential into a user: lucia next to Django, FastAPI-Users,
Flask-Login and Starlette's signed cookies, on one database.

One process measures one database (``--db sqlite``: a file in a temporary
folder; ``--db postgres``: a schema of its own on the local server, dropped on
the way out). The same 10,000 users are written for every stack, each in its
own tables of that one file or schema, and every subject is timed on the same
random picks of users, round after round, interleaved, each call timed alone:

function calls (what the goal names):
- floor: SHA-256 of the token's secret plus one raw primary-key join of session
  and user (sqlite3; psycopg from a pool), ``hmac.compare_digest``; and the same
  from a coroutine (SQLite inline, as lucia's async adapter reads; psycopg's
  async pool);
- ``Lucia.validate_session`` and ``AsyncLucia.validate_session``;
- FastAPI-Users ``DatabaseStrategy.read_token`` with its SQLAlchemy async
  tables (aiosqlite; psycopg 3 async), built per call the way its documented
  dependencies build them per request (session, user db, token db, manager).

in-process requests (a GET through the framework's WSGI/ASGI callable, no network):
- Django: SessionMiddleware + AuthenticationMiddleware, database sessions,
  ``login_required`` reading ``request.user`` (persistent connections);
- Flask-Login: ``login_required`` with a ``user_loader`` selecting the user by
  primary key (the cookie made by ``login_user``, its default session protection);
- Starlette: SessionMiddleware (itsdangerous-signed cookie) plus a user
  primary-key lookup;
- lucia's own integration in each of these three frameworks;
- each framework bare (no middleware), so the cost of authentication is the
  difference ("net").

Writes a JSON summary (``--json``); ``run_all.py`` turns it into the table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import io
import json
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _shared

from lucia import AsyncLucia, Lucia
from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.adapters.sql import SQLITE, Statements, Tables
from lucia.core import generate_user_id
from lucia.sessions import create_token, generate_session_id, generate_session_secret, hash_secret

# lucia's tables get their own names: Django's auth app owns "auth_user".
TABLES = Tables(user="lucia_user", key="lucia_key", session="lucia_session", token="lucia_token")
JOIN = (
    "SELECT s.id, s.user_id, s.secret_hash, s.expires_at, s.created_at, s.attributes,"
    " u.attributes FROM lucia_session s JOIN lucia_user u ON u.id = s.user_id WHERE s.id = {p}"
)
USER_BY_PK = "SELECT id, attributes FROM lucia_user WHERE id = {p}"
SECRET_KEY = "benchmark-only-secret-key-" + "x" * 32
HOST = "app.example"
USER_AGENT = "lucia-bench/1.0"
# Many short rounds rather than a few long ones: the ratios are taken per round
# (subjects measured within a second of each other), and a burst of other work on
# this shared machine then spoils one round of fifteen, not a fifth of the run.
ROUNDS = 15
ROUND_BUDGET = 0.05  # seconds per subject per round; fast subjects are capped by MAX_CALLS
MIN_CALLS, MAX_CALLS = 30, 1500
PICKED = 2000  # users the requests are spread over (each stack's credential made for them)


@dataclass
class Subject:
    """One thing timed: ``fn(credential)`` (a coroutine function when ``is_async``)."""

    name: str
    fn: Callable[[Any], Any]
    creds: list[Any]
    is_async: bool
    check: Callable[[Any], str | None]
    samples: list[int] = field(default_factory=list)
    round_medians: list[float] = field(default_factory=list)  # µs, one per round


@dataclass
class Database:
    kind: str
    path: Path | None = None
    conninfo: str = ""
    schema: str = ""


# The data: the same users for every stack.


def populate_lucia(db: Database, sync_auth: Lucia, users: int) -> list[tuple[str, str]]:
    """``users`` lucia users, a key and a session each, in one transaction; (user id, token)."""
    sync_auth.adapter.create_tables()
    now = datetime.now(UTC).replace(microsecond=0)
    pairs, user_rows, key_rows, session_rows = [], [], [], []
    if db.kind == "sqlite":
        q = Statements(SQLITE, TABLES)
    else:
        from lucia.adapters.postgres import POSTGRES

        q = Statements(POSTGRES, TABLES)
    for n in range(users):
        user = UserRecord(generate_user_id(), {"email": f"user{n}@example.com", "name": "User"})
        user_rows.append(q.user_params(user, now))
        key_rows.append(q.key_params(KeyRecord("email", f"user{n}@example.com", user.id)))
        session_id, secret = generate_session_id(), generate_session_secret()
        record = SessionRecord(
            session_id, user.id, now + timedelta(days=30), now, secret_hash=hash_secret(secret)
        )
        session_rows.append(q.session_params(record))
        pairs.append((user.id, create_token(session_id, secret)))
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.path, isolation_level=None)  # type: ignore[arg-type]
        conn.execute("BEGIN")
        conn.executemany(q.insert_user, user_rows)
        conn.executemany(q.insert_key, key_rows)
        conn.executemany(q.insert_session, session_rows)
        conn.execute("COMMIT")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db.conninfo) as pg, pg.cursor() as cursor:
            cursor.executemany(q.insert_user, user_rows)
            cursor.executemany(q.insert_key, key_rows)
            cursor.executemany(q.insert_session, session_rows)
    return pairs


# Raw access: the floor, and the user lookups of Flask-Login and Starlette.


@contextmanager
def raw_access(
    db: Database,
) -> Iterator[tuple[Callable[[str], Any], Callable[[str], Awaitable[Any]], Any, Any]]:
    """(sync join, async join, sync user-by-pk, async user-by-pk), each on its own connection(s)."""
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)  # type: ignore[arg-type]
        conn.execute("PRAGMA journal_mode = WAL")
        execute = conn.execute
        join, by_pk = JOIN.format(p="?"), USER_BY_PK.format(p="?")

        def floor(token: str) -> Any:
            session_id, _, secret = token.partition(".")
            digest = hashlib.sha256(secret.encode()).digest()
            row = execute(join, (session_id,)).fetchone()
            return row if row is not None and hmac.compare_digest(digest, row[2]) else None

        async def afloor(token: str) -> Any:
            return floor(token)  # what lucia's async SQLite adapter does for reads: inline

        def user(user_id: str) -> Any:
            return execute(by_pk, (user_id,)).fetchone()

        async def auser(user_id: str) -> Any:
            return user(user_id)

        yield floor, afloor, user, auser
        conn.close()
        return

    import psycopg_pool

    join, by_pk = JOIN.format(p="%s"), USER_BY_PK.format(p="%s")
    pool = psycopg_pool.ConnectionPool(
        db.conninfo, min_size=1, max_size=4, kwargs={"autocommit": True}, open=True
    )
    apool = psycopg_pool.AsyncConnectionPool(
        db.conninfo, min_size=1, max_size=4, kwargs={"autocommit": True}, open=False
    )
    LOOP.run_until_complete(apool.open())  # an async pool opens inside the loop that uses it

    def pg_floor(token: str) -> Any:
        session_id, _, secret = token.partition(".")
        digest = hashlib.sha256(secret.encode()).digest()
        with pool.connection() as conn:
            row = conn.execute(join, (session_id,)).fetchone()
        return row if row is not None and hmac.compare_digest(digest, row[2]) else None

    async def pg_afloor(token: str) -> Any:
        session_id, _, secret = token.partition(".")
        digest = hashlib.sha256(secret.encode()).digest()
        async with apool.connection() as conn:
            row = await (await conn.execute(join, (session_id,))).fetchone()
        return row if row is not None and hmac.compare_digest(digest, row[2]) else None

    def pg_user(user_id: str) -> Any:
        with pool.connection() as conn:
            return conn.execute(by_pk, (user_id,)).fetchone()

    async def pg_auser(user_id: str) -> Any:
        async with apool.connection() as conn:
            return await (await conn.execute(by_pk, (user_id,))).fetchone()

    try:
        yield pg_floor, pg_afloor, pg_user, pg_auser
    finally:
        pool.close()
        LOOP.run_until_complete(apool.close())


# WSGI and ASGI calls, built by hand so no test client's own work is timed.

BASE_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "SERVER_NAME": HOST,
    "SERVER_PORT": "443",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": HOST,
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_USER_AGENT": USER_AGENT,
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "https",
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def wsgi_get(app: Any, path: str, cookie: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """GET ``path`` with ``cookie`` through the WSGI ``app``: status, headers, body."""
    environ = {**BASE_ENVIRON, "PATH_INFO": path, "HTTP_COOKIE": cookie}
    environ["wsgi.input"] = io.BytesIO(b"")
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # Django's request_finished (connection upkeep) runs here
    return started[0][0], started[0][1], body


async def asgi_get(app: Any, cookie: bytes) -> tuple[int, bytes]:
    """GET / with ``cookie`` through the ASGI ``app``: status and body."""
    return await _shared.asgi_get(app, cookie, HOST)


def wsgi_check(result: tuple[str, Any, bytes]) -> str | None:
    return result[2].decode() if result[0].startswith("200") else None


def asgi_check(result: tuple[int, bytes]) -> str | None:
    return result[1].decode() if result[0] == 200 else None


# Django


def django_subjects(
    db: Database, lucia_pairs: list[tuple[str, str]], sync_auth: Lucia, picks: list[int]
) -> tuple[list[Subject], dict[str, list[str]]]:
    """Django bare, with its session + auth middleware, and with lucia's middleware."""
    import django
    from django.conf import settings

    if db.kind == "sqlite":
        database: dict[str, Any] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(db.path),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL"},
        }
    else:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(db.conninfo)
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": params.get("dbname", "test"),
            "USER": params.get("user", "postgres"),
            "PASSWORD": params.get("password", ""),
            "HOST": params.get("host", "127.0.0.1"),
            "PORT": params.get("port", "5432"),
            # Production: persistent connections, not one connection per request.
            "CONN_MAX_AGE": None,
            "OPTIONS": {"options": params["options"], "application_name": db.schema},
        }
    urls = types.ModuleType("bench_urls")
    sys.modules["bench_urls"] = urls
    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=[HOST],
        USE_TZ=True,
        ROOT_URLCONF="bench_urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
        ],
        MIDDLEWARE=[],
        DATABASES={"default": database},
        SESSION_COOKIE_SECURE=True,
        LUCIA={"ADAPTER": lambda: sync_auth.adapter, "SECURE_COOKIES": True},
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.decorators import login_required
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.http import HttpResponse
    from django.test.utils import override_settings
    from django.urls import path
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from lucia.integrations.django.decorators import login_required as lucia_login_required

    call_command("migrate", verbosity=0, interactive=False)

    def bare(request: Any) -> HttpResponse:
        return HttpResponse("anonymous")

    @login_required
    def with_django(request: Any) -> HttpResponse:
        return HttpResponse(str(request.user.pk))

    @lucia_login_required
    def with_lucia(request: Any) -> HttpResponse:
        return HttpResponse(request.lucia_user.id)

    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bare", bare),
        path("django", with_django),
        path("lucia", with_lucia),
    ]

    # Django's own users and database sessions, what django.contrib.auth.login writes.
    people = [User(username=f"user{n}") for n in range(len(lucia_pairs))]
    for person in people:
        person.set_unusable_password()
    people = User.objects.bulk_create(people, batch_size=1000)
    store = SessionStore()
    expire = timezone.now() + timedelta(days=14)
    backend = "django.contrib.auth.backends.ModelBackend"
    keys = [get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789") for _ in people]
    Session.objects.bulk_create(
        [
            Session(
                session_key=key,
                session_data=store.encode(
                    {
                        SESSION_KEY: str(person.pk),
                        BACKEND_SESSION_KEY: backend,
                        HASH_SESSION_KEY: person.get_session_auth_hash(),
                    }
                ),
                expire_date=expire,
            )
            for key, person in zip(keys, people, strict=True)
        ],
        batch_size=1000,
    )

    handlers = {}
    for name, middleware in {
        "bare": [],
        "django": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        "lucia": ["lucia.integrations.django.middleware.LuciaMiddleware"],
    }.items():
        with override_settings(MIDDLEWARE=middleware):
            handlers[name] = WSGIHandler()

    def get(name: str) -> Callable[[str], Any]:
        app, where = handlers[name], f"/{name}"
        return lambda cookie: wsgi_get(app, where, cookie)

    lucia_cookies = [f"auth_session={lucia_pairs[i][1]}" for i in picks]
    django_cookies = [f"sessionid={keys[i]}" for i in picks]
    subjects = [
        Subject("django bare", get("bare"), django_cookies, False, wsgi_check),
        Subject("django auth", get("django"), django_cookies, False, wsgi_check),
        Subject("django + lucia", get("lucia"), lucia_cookies, False, wsgi_check),
    ]
    expected = {
        "django bare": ["anonymous"] * len(picks),
        "django auth": [str(people[i].pk) for i in picks],
        "django + lucia": [lucia_pairs[i][0] for i in picks],
    }
    return subjects, expected


# Flask


def flask_subjects(
    lucia_pairs: list[tuple[str, str]],
    sync_auth: Lucia,
    user_by_pk: Callable[[str], Any],
    picks: list[int],
) -> tuple[list[Subject], dict[str, list[str]]]:
    """Flask bare, with Flask-Login (user_loader by primary key), and with lucia's extension."""
    import flask_login
    from flask import Flask, g

    from lucia.integrations.flask import LuciaFlask
    from lucia.integrations.flask import login_required as lucia_login_required

    bare = Flask("bare")
    bare.add_url_rule("/", "index", lambda: "anonymous")

    with_login = Flask("flask_login")
    with_login.secret_key = SECRET_KEY
    with_login.config["SESSION_COOKIE_SECURE"] = True
    manager = flask_login.LoginManager(with_login)

    class BenchUser(flask_login.UserMixin):
        def __init__(self, user_id: str, attributes: str) -> None:
            self.id = user_id
            self.attributes = attributes

    @manager.user_loader
    def load_user(user_id: str) -> BenchUser | None:
        row = user_by_pk(user_id)
        return None if row is None else BenchUser(row[0], row[1])

    @with_login.get("/")
    @flask_login.login_required
    def me() -> str:
        return str(flask_login.current_user.id)

    @with_login.get("/login/<user_id>")
    def login(user_id: str) -> str:
        flask_login.login_user(load_user(user_id))
        return "ok"

    with_lucia = Flask("lucia")
    LuciaFlask(with_lucia, auth=sync_auth)

    @with_lucia.get("/")
    @lucia_login_required
    def lucia_me() -> str:
        return str(g.user.id)

    # Flask-Login's cookie, made by its own login_user for each picked user.
    flask_cookie = {}
    for i in set(picks):
        _, headers, _ = wsgi_get(with_login.wsgi_app, f"/login/{lucia_pairs[i][0]}", "")
        value = next(v for k, v in headers if k.lower() == "set-cookie").split(";", 1)[0]
        flask_cookie[i] = value
    lucia_cookies = [f"auth_session={lucia_pairs[i][1]}" for i in picks]
    cookies = [flask_cookie[i] for i in picks]
    subjects = [
        Subject(
            "flask bare", lambda c: wsgi_get(bare.wsgi_app, "/", c), cookies, False, wsgi_check
        ),
        Subject(
            "flask-login",
            lambda c: wsgi_get(with_login.wsgi_app, "/", c),
            cookies,
            False,
            wsgi_check,
        ),
        Subject(
            "flask + lucia",
            lambda c: wsgi_get(with_lucia.wsgi_app, "/", c),
            lucia_cookies,
            False,
            wsgi_check,
        ),
    ]
    ids = [lucia_pairs[i][0] for i in picks]
    return subjects, {
        "flask bare": ["anonymous"] * len(picks),
        "flask-login": ids,
        "flask + lucia": ids,
    }


# Starlette


def starlette_subjects(
    lucia_pairs: list[tuple[str, str]],
    async_auth: AsyncLucia,
    auser_by_pk: Callable[[str], Awaitable[Any]],
    picks: list[int],
) -> tuple[list[Subject], dict[str, list[str]]]:
    """Starlette bare, SessionMiddleware + user by primary key, and LuciaMiddleware."""
    import itsdangerous
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from lucia.integrations.starlette import LuciaMiddleware

    async def endpoint(request: Request) -> Response:
        user = getattr(request.state, "user", None)
        if user is None:
            return PlainTextResponse("anonymous", status_code=401)
        return PlainTextResponse(user.id if hasattr(user, "id") else user[0])

    async def open_endpoint(request: Request) -> Response:
        return PlainTextResponse("anonymous")

    class UserLookup:
        """After SessionMiddleware: the user of ``session["user_id"]``, by primary key."""

        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            user_id = scope.get("session", {}).get("user_id")
            user = None if user_id is None else await auser_by_pk(user_id)
            scope.setdefault("state", {})["user"] = user
            await self.app(scope, receive, send)

    routes = [Route("/", endpoint)]
    apps = {
        "starlette bare": Starlette(routes=[Route("/", open_endpoint)]),
        "starlette signed cookie": Starlette(
            routes=routes,
            middleware=[
                Middleware(SessionMiddleware, secret_key=SECRET_KEY, https_only=True),
                Middleware(UserLookup),
            ],
        ),
        "starlette + lucia": Starlette(
            routes=routes, middleware=[Middleware(LuciaMiddleware, auth=async_auth)]
        ),
    }
    signer = itsdangerous.TimestampSigner(SECRET_KEY)

    def signed(user_id: str) -> bytes:
        # The cookie SessionMiddleware sets for {"user_id": ...}.
        data = base64.b64encode(json.dumps({"user_id": user_id}).encode())
        return b"session=" + signer.sign(data)

    signed_cookies = [signed(lucia_pairs[i][0]) for i in picks]
    lucia_cookies = [f"auth_session={lucia_pairs[i][1]}".encode() for i in picks]
    subjects = []
    for name, app in apps.items():
        cookies = lucia_cookies if name == "starlette + lucia" else signed_cookies

        def call(cookie: bytes, app: Any = app) -> Awaitable[tuple[int, bytes]]:
            return asgi_get(app, cookie)

        subjects.append(Subject(name, call, cookies, True, asgi_check))
    ids = [lucia_pairs[i][0] for i in picks]
    expected = {
        "starlette bare": ["anonymous"] * len(picks),
        "starlette signed cookie": ids,
        "starlette + lucia": ids,
    }
    return subjects, expected


# FastAPI-Users


@contextmanager
def fastapi_users_subject(db: Database, users: int, picks: list[int]) -> Iterator[Subject]:
    """``DatabaseStrategy.read_token`` on its SQLAlchemy async tables ("user", "accesstoken")."""
    from fastapi_users import BaseUserManager, UUIDIDMixin
    from fastapi_users.authentication.strategy.db import DatabaseStrategy
    from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
    from fastapi_users_db_sqlalchemy.access_token import (
        SQLAlchemyAccessTokenDatabase,
        SQLAlchemyBaseAccessTokenTableUUID,
    )
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class FUser(SQLAlchemyBaseUserTableUUID, Base):
        pass

    class FToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
        pass

    class UserManager(UUIDIDMixin, BaseUserManager[FUser, uuid.UUID]):
        reset_password_token_secret = SECRET_KEY
        verification_token_secret = SECRET_KEY

    if db.kind == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{db.path}")
    else:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(db.conninfo)
        engine = create_async_engine(
            "postgresql+psycopg://",
            connect_args={k: v for k, v in params.items() if v is not None},
        )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    lifetime = 30 * 24 * 3600

    now = datetime.now(UTC)
    user_ids = [uuid.uuid4() for _ in range(users)]
    tokens = [secrets.token_urlsafe() for _ in range(users)]

    async def setup() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(
                insert(FUser.__table__),  # type: ignore[arg-type]
                [
                    {
                        "id": uid,
                        "email": f"user{n}@example.com",
                        "hashed_password": "unused",
                        "is_active": True,
                        "is_superuser": False,
                        "is_verified": True,
                    }
                    for n, uid in enumerate(user_ids)
                ],
            )
            await conn.execute(
                insert(FToken.__table__),  # type: ignore[arg-type]
                [
                    {"token": t, "user_id": uid, "created_at": now}
                    for t, uid in zip(tokens, user_ids, strict=True)
                ],
            )

    LOOP.run_until_complete(setup())

    async def read_token(token: str) -> Any:
        # get_async_session -> get_user_db / get_access_token_db -> get_user_manager
        # -> get_database_strategy: what FastAPI builds for each request.
        async with sessions() as session:
            manager = UserManager(SQLAlchemyUserDatabase(session, FUser))
            strategy: DatabaseStrategy[Any, Any, Any] = DatabaseStrategy(
                SQLAlchemyAccessTokenDatabase(session, FToken), lifetime_seconds=lifetime
            )
            return await strategy.read_token(token, manager)

    subject = Subject(
        "fastapi-users read_token",
        read_token,
        [tokens[i] for i in picks],
        True,
        lambda user: None if user is None else str(user.id),
    )
    subject.expected = [str(user_ids[i]) for i in picks]  # type: ignore[attr-defined]
    try:
        yield subject
    finally:
        LOOP.run_until_complete(engine.dispose())


# Measurement

LOOP = asyncio.new_event_loop()


def run_calls(subject: Subject, creds: list[Any]) -> list[int]:
    """Each call timed alone, in nanoseconds."""
    clock = time.perf_counter_ns
    fn = subject.fn
    out = []
    if subject.is_async:

        async def go() -> None:
            for cred in creds:
                start = clock()
                await fn(cred)
                out.append(clock() - start)

        LOOP.run_until_complete(go())
    else:
        for cred in creds:
            start = clock()
            fn(cred)
            out.append(clock() - start)
    return out


def call_once(subject: Subject, cred: Any) -> Any:
    if subject.is_async:
        return LOOP.run_until_complete(subject.fn(cred))
    return subject.fn(cred)


def measure(subjects: list[Subject], expected: dict[str, list[str]], rounds: int) -> None:
    """Check every subject really signs its users in, then time them interleaved."""
    n = len(subjects[0].creds)
    for subject in subjects:
        for j in random.sample(range(n), 40):
            got = subject.check(call_once(subject, subject.creds[j]))
            want = expected[subject.name][j]
            if got != want:
                raise AssertionError(f"{subject.name}: got {got!r}, expected {want!r}")
    # Warm up, and size each subject's share of a round to its cost.
    calls = {}
    for subject in subjects:
        cost = sorted(run_calls(subject, subject.creds[:30]))[15] / 1e9
        calls[subject.name] = max(MIN_CALLS, min(MAX_CALLS, int(ROUND_BUDGET / cost)))
    for _ in range(rounds):
        order = subjects[:]
        random.shuffle(order)
        for subject in order:
            picks = random.choices(range(n), k=calls[subject.name])
            timed = run_calls(subject, [subject.creds[j] for j in picks])
            subject.samples.extend(timed)
            subject.round_medians.append(statistics.median(timed) / 1000)


def run(kind: str, users: int, rounds: int) -> dict[str, Any]:
    with ExitStack() as stack:
        if kind == "sqlite":
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            db = Database("sqlite", path=Path(tmp) / "bench.sqlite3")
            from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

            sync_adapter: Any = SQLiteAdapter(db.path, tables=TABLES)  # type: ignore[arg-type]
            async_adapter: Any = AsyncSQLiteAdapter(db.path, tables=TABLES)  # type: ignore[arg-type]
            driver = f"sqlite3 (SQLite {sqlite3.sqlite_version})"
        else:
            schema, conninfo = stack.enter_context(_shared.postgres_schema())
            db = Database("postgres", conninfo=conninfo, schema=schema)
            from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter

            sync_adapter = PostgresAdapter(conninfo, tables=TABLES, max_size=4)
            async_adapter = AsyncPostgresAdapter(conninfo, tables=TABLES, max_size=4)
            driver = "psycopg 3 (pools of 4)"
        sync_auth = Lucia(sync_adapter)
        async_auth = AsyncLucia(async_adapter)
        started = time.perf_counter()
        pairs = populate_lucia(db, sync_auth, users)
        picks = random.sample(range(users), min(PICKED, users))
        floor, afloor, user_by_pk, auser_by_pk = stack.enter_context(raw_access(db))
        tokens = [pairs[i][1] for i in picks]
        ids = [pairs[i][0] for i in picks]

        def row_id(row: Any) -> str | None:
            return None if row is None else str(row[1])

        def lucia_id(found: Any) -> str | None:
            return None if found is None else str(found[1].id)

        subjects = [
            Subject("floor", floor, tokens, False, row_id),
            Subject("floor async", afloor, tokens, True, row_id),
            Subject("lucia sync", sync_auth.validate_session, tokens, False, lucia_id),
            Subject("lucia async", async_auth.validate_session, tokens, True, lucia_id),
        ]
        expected = {s.name: ids for s in subjects}
        fapi = stack.enter_context(fastapi_users_subject(db, users, picks))
        subjects.append(fapi)
        expected[fapi.name] = fapi.expected  # type: ignore[attr-defined]
        for more, more_expected in (
            django_subjects(db, pairs, sync_auth, picks),
            flask_subjects(pairs, sync_auth, user_by_pk, picks),
            starlette_subjects(pairs, async_auth, auser_by_pk, picks),
        ):
            subjects.extend(more)
            expected.update(more_expected)
        setup_seconds = time.perf_counter() - started
        started = time.perf_counter()
        measure(subjects, expected, rounds)
        measure_seconds = time.perf_counter() - started

        from django.db import connections

        connections.close_all()
        if kind == "postgres":
            sync_adapter.close()
            LOOP.run_until_complete(async_adapter.aclose())
        else:
            async_adapter.close()
            sync_adapter.close()
    return {
        "db": kind,
        "driver": driver,
        "users": users,
        "rounds": rounds,
        "setup_seconds": round(setup_seconds, 1),
        "measure_seconds": round(measure_seconds, 1),
        "subjects": {
            s.name: {
                **_shared.stats(s.samples).as_dict(),
                "round_medians": [round(m, 2) for m in s.round_medians],
            }
            for s in subjects
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--json", type=Path, help="write the summary here")
    args = parser.parse_args()
    _shared.terminate_as_exit()
    result = run(args.db, args.users, args.rounds)
    LOOP.close()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    subjects = result["subjects"]
    print(f"{args.db}: {args.users:,} users, {result['driver']}; µs per call, median / p99")
    for name, figure in subjects.items():
        print(f"  {name:28}{figure['median']:>10.1f}{figure['p99']:>10.1f}  n={figure['n']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
