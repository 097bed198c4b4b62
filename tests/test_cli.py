"""The ``lucia`` command line: migrate, sessions purge, demo, errors."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lucia import Lucia
from lucia.adapters.sqlite import SQLiteAdapter
from lucia.cli import main
from tests.conftest import Clock
from tests.namespaces import mysql_database, pg_schema, pg_schema_url

__all__ = ["mysql_database", "pg_schema", "pg_schema_url"]  # fixtures


def test_migrate_creates_tables_idempotently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    assert main(["migrate", url]) == 0
    assert main(["migrate", url]) == 0
    assert "tables ready" in capsys.readouterr().out
    names = {row[0] for row in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert {"auth_user", "auth_key", "auth_session"} <= names


def test_migrate_with_custom_table_names(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    assert main(["migrate", f"sqlite:///{db}", "--tables", "people,logins,visits"]) == 0
    names = {row[0] for row in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert {"people", "logins", "visits"} <= names


# Django's auth_user, reduced to what makes it Django's.
DJANGO_AUTH_USER = (
    "CREATE TABLE auth_user (id INTEGER PRIMARY KEY, username VARCHAR(150) NOT NULL,"
    " password VARCHAR(128) NOT NULL, is_superuser BOOLEAN NOT NULL)"
)
LUCIA_NAMES = "lucia_user,lucia_key,lucia_session"


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Any]:
    """(URL, run(sql) -> rows) of an empty database of this test only, on each server."""
    if request.param == "sqlite":
        db = tmp_path / "app.db"

        def run_sqlite(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(db) as conn:
                return conn.execute(sql).fetchall()

        return f"sqlite:///{db}", run_sqlite
    if request.param == "postgres":
        import psycopg

        conninfo = request.getfixturevalue("pg_schema")

        def run_postgres(sql: str) -> list[tuple[Any, ...]]:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                cursor = conn.execute(sql)  # type: ignore[arg-type]
                return cursor.fetchall() if cursor.description else []

        return request.getfixturevalue("pg_schema_url"), run_postgres
    import pymysql

    url = request.getfixturevalue("mysql_database")
    parts = urlsplit(url)

    def run_mysql(sql: str) -> list[tuple[Any, ...]]:
        connection = pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=parts.path.lstrip("/"),
            autocommit=True,
        )
        with connection as conn, conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    return url, run_mysql


def table_names(run: Any, url: str) -> set[str]:
    if url.startswith("sqlite"):
        return {row[0] for row in run("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if url.startswith("postgresql"):
        sql = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in run(sql)}
    return {row[0] for row in run("SHOW TABLES")}


def test_migrate_refuses_a_django_database_and_creates_nothing(
    fresh_db: tuple[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url, run = fresh_db
    run(DJANGO_AUTH_USER)
    assert main(["migrate", url]) == 1
    captured = capsys.readouterr()
    assert "tables ready" not in captured.out
    assert "'auth_user'" in captured.err
    assert "attributes, created_at" in captured.err
    assert "--tables" in captured.err
    assert "manage.py migrate" in captured.err  # Django's columns: the Django hint
    assert table_names(run, url) == {"auth_user"}


def test_migrate_beside_a_django_database_with_other_names(
    fresh_db: tuple[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url, run = fresh_db
    run(DJANGO_AUTH_USER)
    assert main(["migrate", url, "--tables", LUCIA_NAMES]) == 0
    assert main(["migrate", url, "--tables", LUCIA_NAMES]) == 0
    assert capsys.readouterr().out.count("tables ready") == 2
    assert table_names(run, url) == {
        "auth_user",
        "lucia_user",
        "lucia_key",
        "lucia_session",
        "lucia_token",
    }


def test_migrate_on_its_own_tables_is_idempotent_on_every_server(
    fresh_db: tuple[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url, run = fresh_db
    assert main(["migrate", url]) == 0
    assert main(["migrate", url]) == 0
    assert capsys.readouterr().err == ""
    assert table_names(run, url) == {"auth_user", "auth_key", "auth_session", "auth_token"}


def test_migrate_refusal_of_a_foreign_table_without_django_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people_token (token TEXT PRIMARY KEY, email TEXT)")
    assert main(["migrate", f"sqlite:///{db}", "--tables", "people,logins,visits"]) == 1
    err = capsys.readouterr().err
    assert "'people_token'" in err
    assert "--tables" in err
    assert "manage.py" not in err
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"people_token", "sqlite_autoindex_people_token_1"}


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_migrate_print(dialect: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--print", "--dialect", dialect]) == 0
    out = capsys.readouterr().out
    for table in ("auth_user", "auth_key", "auth_session"):
        assert f"CREATE TABLE IF NOT EXISTS {table}" in out
    assert out.count(";") >= 3


def test_migrate_print_sqlite_ddl_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--print", "--dialect", "sqlite"]) == 0
    conn = sqlite3.connect(":memory:")
    conn.executescript(capsys.readouterr().out)
    assert conn.execute("SELECT count(*) FROM auth_session").fetchone() == (0,)


def test_sessions_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "app.db"
    adapter = SQLiteAdapter(db)
    adapter.create_tables()
    clock = Clock()
    clock.now = clock.now.replace(year=2020)  # long expired by the real clock
    auth = Lucia(adapter, clock=clock, session_expires_in=timedelta(hours=1))
    user = auth.create_user("github", "1")
    auth.create_session(user.id)
    auth.create_session(user.id)
    adapter.close()
    assert main(["sessions", "purge", f"sqlite:///{db}"]) == 0
    assert "deleted 2 expired sessions" in capsys.readouterr().out
    assert main(["sessions", "purge", f"sqlite:///{db}"]) == 0
    assert "deleted 0 expired sessions" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate", "ftp://example.com/db"],
        ["migrate", "not a url"],
        ["migrate", "sqlite://"],
        ["migrate"],
        ["migrate", "--print"],
        ["migrate", "sqlite:///x.db", "--tables", "a,b"],
        ["migrate", "sqlite:///x.db", "--tables", "a,b;drop,c"],
        ["sessions", "purge"],
        ["nonsense"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: lucia" in capsys.readouterr().err


def test_bad_url_message_hides_password(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["migrate", "ftp://admin:s3cret-xyz@example.com/db"])
    err = capsys.readouterr().err
    assert "unsupported database URL" in err
    assert "s3cret-xyz" not in err


def test_database_failure_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "app.db"
    assert main(["migrate", f"sqlite:///{missing_dir}"]) == 1
    assert "SQLite error" in capsys.readouterr().err


def test_console_script_help() -> None:
    lucia = Path(sys.executable).parent / "lucia"
    result = subprocess.run(
        [str(lucia), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert "migrate" in result.stdout
    assert "sessions" in result.stdout


def test_migrate_and_purge_on_mysql(mysql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", mysql_url, "--tables", "cli_user,cli_key,cli_session"]) == 0
    assert main(["migrate", mysql_url, "--tables", "cli_user,cli_key,cli_session"]) == 0
    purge = ["sessions", "purge", mysql_url, "--tables", "cli_user,cli_key,cli_session"]
    assert main(purge) == 0
    out = capsys.readouterr().out
    assert "tables ready" in out
    assert "deleted 0 expired sessions" in out


def test_unreachable_server_exits_1_without_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://app:s3cret-xyz@127.0.0.1:1/app"
    assert main(["migrate", url]) == 1
    err = capsys.readouterr().err
    assert "PostgreSQL" in err
    assert "s3cret-xyz" not in err


# lucia demo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--database", "--no-dev-provider"):
        assert option in out
    assert "GITHUB_CLIENT_ID" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--database", "postgresql://app:s3cret-xyz@db/app"], "stores its data in SQLite"),
        (["demo", "--database", "mysql://root@db/app"], "stores its data in SQLite"),
        (["demo", "--database", "ftp://example.com/x"], "unsupported database URL"),
        (["demo", "--database", "sqlite://"], "a SQLite URL is"),
        (["demo", "--database", ":memory:"], "needs a SQLite file path"),
        (["demo", "--port", "0"], "a port is 1 to 65535"),
        (["demo", "--port", "http"], "not a port number"),
    ],
)
def test_demo_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "usage: lucia demo" in err
    assert message in err
    assert "s3cret-xyz" not in err


@pytest.mark.parametrize("form", ["path", "url"])
def test_demo_unusable_database_exits_1(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "demo.sqlite3"
    database = str(missing) if form == "path" else f"sqlite:///{missing}"
    assert main(["demo", "--database", database]) == 1
    err = capsys.readouterr().err
    assert "cannot use the database" in err
    assert "SQLite error" in err
    assert not missing.exists()


def test_demo_without_its_extra_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "lucia.demo.app", None)  # import fails
    assert main(["demo", "--database", str(tmp_path / "demo.sqlite3")]) == 2
    assert "pip install 'lucia-auth[demo]'" in capsys.readouterr().err


@pytest.mark.parametrize("dev", [True, False])
def test_demo_serves_until_stopped(dev: bool, tmp_path: Path) -> None:
    """The console script really serves the app; Ctrl-C (SIGINT) stops it with status 0."""
    lucia = Path(sys.executable).parent / "lucia"
    port = _free_port()
    database = tmp_path / "demo.sqlite3"
    argv = [str(lucia), "demo", "--port", str(port), "--database", f"sqlite:///{database}"]
    if not dev:
        argv.append("--no-dev-provider")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        page = None
        deadline = time.monotonic() + 30
        while page is None and time.monotonic() < deadline and process.poll() is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/signin", timeout=2)
            except httpx.TransportError:
                time.sleep(0.05)
        assert page is not None, "the demo did not answer"
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert ("Development mode." in page.text) is dev
        assert ("Sign in with Local development provider" in page.text) is dev
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"lucia demo: http://127.0.0.1:{port}" in out
    assert ("development mode" in out) is dev
    assert database.exists()
