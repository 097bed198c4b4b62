"""A failing database answers 503 and logs its cause once, at ERROR: the driver
error's class and message, with credentials redacted (issue 14, item 16).

The failure is the one a new user meets first: lucia's tables were never
created, so SQLite answers "no such table". Each integration (Starlette, Flask,
Django, the password routes) is driven with a request that reads the store.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lucia import AsyncLucia, Lucia
from lucia.adapters.base import SessionRecord, UserRecord
from lucia.adapters.memory import MemoryAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from lucia.errors import DatabaseError, redact
from lucia.integrations.flask import LuciaFlask
from lucia.integrations.starlette import LuciaMiddleware
from lucia.sessions import create_token, generate_session_id, generate_session_secret
from tests.integrations.django_project import setup

setup()
from django.test import Client, override_settings  # noqa: E402

COOKIE_TOKEN = create_token(generate_session_id(), generate_session_secret())
MISSING_TABLE = "sqlite3.OperationalError: no such table: auth_session"


def unavailable_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("authentication database")]


def assert_logged_once(caplog: pytest.LogCaptureFixture, cause: str) -> logging.LogRecord:
    records = unavailable_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.levelno == logging.ERROR
    assert record.error_code == "AUTH_DATABASE_ERROR"  # type: ignore[attr-defined]
    assert record.error_cause == cause  # type: ignore[attr-defined]
    assert cause in record.getMessage()
    assert record.exc_info is None
    return record


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    # A database whose tables were never created (no create_tables(), no migrate).
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    return path


async def test_starlette_logs_the_missing_table(
    empty_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = AsyncSQLiteAdapter(empty_db)
    auth = AsyncLucia(adapter, secure_cookies=False)

    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/me", me)], middleware=[Middleware(LuciaMiddleware, auth=auth)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with caplog.at_level(logging.DEBUG):
            response = await client.get(
                "/me", headers={"Cookie": f"{auth.session_cookie_name}={COOKIE_TOKEN}"}
            )
    adapter.sync.close()
    assert response.status_code == 503
    assert response.text == "Service unavailable"
    assert_logged_once(caplog, MISSING_TABLE)


def _flask_app(auth: Lucia) -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    LuciaFlask(app, auth=auth, passwords=True)

    @app.get("/me")
    def me() -> str:
        return "ok"

    return app


def test_flask_logs_the_missing_table(empty_db: Path, caplog: pytest.LogCaptureFixture) -> None:
    adapter = SQLiteAdapter(empty_db)
    auth = Lucia(adapter, secure_cookies=False)
    client = _flask_app(auth).test_client()
    client.set_cookie(auth.session_cookie_name, COOKIE_TOKEN)
    with caplog.at_level(logging.DEBUG):
        response = client.get("/me")
    adapter.close()
    assert response.status_code == 503
    assert_logged_once(caplog, MISSING_TABLE)


def test_password_route_logs_the_missing_table(
    empty_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = SQLiteAdapter(empty_db)
    auth = Lucia(adapter, secure_cookies=False)
    client = _flask_app(auth).test_client()
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/signin",
            json={"email": "ada@example.com", "password": "correct horse battery staple"},
            headers={"Origin": "http://localhost"},
        )
    adapter.close()
    assert response.status_code == 503
    assert "no such table" not in response.get_data(as_text=True)
    record = assert_logged_once(caplog, "sqlite3.OperationalError: no such table: auth_key")
    assert "correct horse" not in record.getMessage()


def test_django_logs_the_missing_table(empty_db: Path, caplog: pytest.LogCaptureFixture) -> None:
    adapter = SQLiteAdapter(empty_db)
    with override_settings(LUCIA={"ADAPTER": adapter}):
        client = Client()
        client.cookies["auth_session"] = COOKIE_TOKEN
        with caplog.at_level(logging.DEBUG):
            response = client.get("/me", secure=True)
    adapter.close()
    assert response.status_code == 503
    assert_logged_once(caplog, MISSING_TABLE)


class LeakyDriverStore(MemoryAdapter):
    """A store failing like a driver whose message quotes its connection string."""

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        cause = ConnectionRefusedError(
            "connection to postgres://admin:hunter2@db:5432/app failed (password=hunter2)\n"
            "DETAIL: Failing row contains (hunter2)"
        )
        raise DatabaseError("PostgreSQL unreachable at db:5432", cause=cause)


def test_the_cause_is_logged_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    auth = Lucia(LeakyDriverStore(), secure_cookies=False)
    client = _flask_app(auth).test_client()
    client.set_cookie(auth.session_cookie_name, COOKIE_TOKEN)
    with caplog.at_level(logging.DEBUG):
        response = client.get("/me")
    assert response.status_code == 503
    record = assert_logged_once(
        caplog,
        "ConnectionRefusedError: connection to postgres://***@db:5432/app failed (password=***)",
    )
    assert "PostgreSQL unreachable at db:5432" in record.getMessage()
    assert "hunter2" not in caplog.text
    assert "admin" not in caplog.text


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("mysql://root:s3cret@h/db", "mysql://***@h/db"),
        ("host=db password='a b c' user=x", "host=db password=*** user=x"),
        ('dsn "PWD=abc;UID=sa"', 'dsn "PWD=***;UID=sa"'),
        ("redis://:pw@cache:6379/0?x=1&password=pw", "redis://***@cache:6379/0?x=1&password=***"),
        ("no such table: auth_session", "no such table: auth_session"),
    ],
)
def test_redact_removes_credentials(text: str, safe: str) -> None:
    assert redact(text) == safe
