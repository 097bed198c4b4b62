"""The ``lucia`` command line: migrate, sessions purge, errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from lucia import Lucia
from lucia.adapters.sqlite import SQLiteAdapter
from lucia.cli import main
from tests.conftest import Clock


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
