"""``lucia sessions purge`` in batches (issue 14, item 12): each batch's count on
stderr as it goes, the totals on stdout, ``--batch-size`` honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lucia.adapters.base import KeyRecord, SessionRecord, TokenRecord, UserRecord
from lucia.adapters.sqlite import SQLiteAdapter
from lucia.cli import main

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _database(path: Path, sessions: int, tokens: int, live: int) -> None:
    adapter = SQLiteAdapter(path)
    adapter.create_tables()
    adapter.insert_user(UserRecord("u1", {}), KeyRecord("github", "1", "u1"), LONG_AGO)
    for index in range(sessions + live):
        expires = LONG_AGO if index < sessions else datetime.now(UTC) + timedelta(days=1)
        adapter.insert_session(
            SessionRecord(f"s{index}", "u1", expires, LONG_AGO, secret_hash=bytes(32))
        )
    for index in range(tokens):
        adapter.insert_token(
            TokenRecord(index.to_bytes(32, "big"), "u1", "reset", LONG_AGO, LONG_AGO)
        )
    adapter.close()


def test_purge_reports_each_batch_and_the_totals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    _database(db, sessions=25, tokens=7, live=3)
    assert main(["sessions", "purge", f"sqlite:///{db}", "--batch-size", "10"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "lucia: expired sessions: deleted 10 (total 10)",
        "lucia: expired sessions: deleted 10 (total 20)",
        "lucia: expired sessions: deleted 5 (total 25)",
        "lucia: expired one-time tokens: deleted 7 (total 7)",
    ]
    assert captured.out.splitlines() == [
        "lucia: deleted 25 expired sessions",
        "lucia: deleted 7 expired one-time tokens",
    ]
    adapter = SQLiteAdapter(db)
    assert [s.id for s in adapter.get_user_sessions("u1")] == ["s25", "s26", "s27"]
    adapter.close()


def test_purge_with_nothing_to_delete_prints_no_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    _database(db, sessions=0, tokens=0, live=1)
    assert main(["sessions", "purge", f"sqlite:///{db}"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "deleted 0 expired sessions" in captured.out


@pytest.mark.parametrize("size", ["0", "-5", "ten"])
def test_purge_refuses_a_bad_batch_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sessions", "purge", f"sqlite:///{tmp_path / 'app.db'}", "--batch-size", size])
    assert exited.value.code == 2
    assert "--batch-size" in capsys.readouterr().err
