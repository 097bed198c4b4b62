"""Session records read as epoch seconds (issue 15's speed bar): the SQL stores
build ``SessionRecord.from_epochs``, whose datetimes are made only when read,
and the verdict compares the epochs themselves under the default clock, with
exactly the outcomes of the datetime comparison. An injected clock still rules.
"""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lucia import AsyncLucia, Lucia, sessions
from lucia.adapters.base import SessionRecord
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from lucia.models import Session

Resolve = Callable[[Any], Any]

EXPIRES = 1_800_000_000
CREATED = 1_790_000_000


def _made(record: SessionRecord, name: str) -> bool:
    """Whether the record's ``name`` datetime has been made (its slot is set)."""
    try:
        Session.__dict__[name].__get__(record, Session)
    except AttributeError:
        return False
    return True


def _epoch_record() -> SessionRecord:
    return SessionRecord.from_epochs("sid", "uid", EXPIRES, CREATED, {"a": 1}, b"hash")


def _datetime_record() -> SessionRecord:
    return SessionRecord(
        "sid",
        "uid",
        datetime.fromtimestamp(EXPIRES, UTC),
        datetime.fromtimestamp(CREATED, UTC),
        attributes={"a": 1},
        secret_hash=b"hash",
    )


def test_a_record_from_epochs_equals_and_shows_as_the_constructed_one() -> None:
    record = _epoch_record()
    assert record == _datetime_record()
    assert _datetime_record() == record
    assert record != SessionRecord("other", "uid", record.expires_at, record.created_at)
    assert isinstance(record, SessionRecord)
    assert repr(record) == repr(_datetime_record())
    for twin in (copy.copy(record), pickle.loads(pickle.dumps(record))):
        assert twin == _datetime_record()
        assert twin.secret_hash == b"hash"
    assert "hash" not in repr(record)
    assert (record.fresh, record.token, record.secret_hash) == (False, None, b"hash")


def test_a_record_from_epochs_makes_its_datetimes_only_when_read() -> None:
    record = _epoch_record()
    assert not _made(record, "expires_at")
    assert not _made(record, "created_at")
    expires_at = record.expires_at
    assert expires_at == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert expires_at.tzinfo is UTC
    assert record.expires_at is expires_at  # made once
    assert _made(record, "expires_at")
    assert not _made(record, "created_at")
    assert record.created_at == datetime.fromtimestamp(CREATED, UTC)
    # Still consistent with the datetimes: the epochs stay usable.
    assert (record.expires_epoch, record.created_epoch) == (EXPIRES, CREATED)


def test_assigning_a_datetime_drops_the_epoch() -> None:
    record = _epoch_record()
    later = datetime(2030, 1, 1, 0, 0, 0, 500, tzinfo=UTC)
    record.expires_at = later
    assert record.expires_at == later
    assert record.expires_epoch is None
    assert record.created_epoch == CREATED
    # A constructed record carries no epochs.
    assert _datetime_record().expires_epoch is None
    assert _datetime_record().created_epoch is None


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> Iterator[tuple[str, Resolve]]:
    if request.param == "sync":
        yield "sync", lambda value: value
        return
    # A bare loop, not asyncio.Runner: Python 3.11's Runner.run reprs its task
    # (so its result, and the datetimes) while checking the SIGINT handler.
    loop = asyncio.new_event_loop()
    try:
        yield "async", loop.run_until_complete
    finally:
        loop.close()


def _lucia(flavour: tuple[str, Resolve], path: Path, **options: Any) -> Lucia | AsyncLucia:
    if flavour[0] == "sync":
        adapter: Any = SQLiteAdapter(path)
        auth: Lucia | AsyncLucia = Lucia(adapter, **options)
    else:
        adapter = AsyncSQLiteAdapter(path)
        auth = AsyncLucia(adapter, **options)
    flavour[1](adapter.create_tables())
    return auth


def _signed_in(flavour: tuple[str, Resolve], auth: Lucia | AsyncLucia) -> tuple[Session, str]:
    resolve = flavour[1]
    user = resolve(auth.create_user("email", "ada@example.com"))
    session = resolve(auth.create_session(user.id))
    assert session.token is not None
    return session, session.token


def test_sqlite_reads_sessions_as_epochs(flavour: tuple[str, Resolve], tmp_path: Path) -> None:
    resolve = flavour[1]
    auth = _lucia(flavour, tmp_path / "db.sqlite")
    session, _ = _signed_in(flavour, auth)
    read = resolve(auth.adapter.get_session(session.id))
    assert read.expires_epoch == int(session.expires_at.timestamp())
    assert read.created_epoch == int(session.created_at.timestamp())
    assert read == resolve(auth.adapter.get_session_and_user(session.id))[0]
    assert (read.expires_at, read.created_at) == (session.expires_at, session.created_at)


def test_a_valid_session_validates_without_making_a_datetime(
    flavour: tuple[str, Resolve], tmp_path: Path
) -> None:
    resolve = flavour[1]
    auth = _lucia(flavour, tmp_path / "db.sqlite")
    session, token = _signed_in(flavour, auth)
    found = resolve(auth.validate_session(token))
    assert found is not None
    validated = found[0]
    assert not validated.fresh
    assert not _made(validated, "expires_at")
    assert not _made(validated, "created_at")
    assert validated.id == session.id
    assert (validated.expires_at, validated.created_at) == (session.expires_at, session.created_at)


def test_an_expired_epoch_row_is_refused_and_deleted(
    flavour: tuple[str, Resolve], tmp_path: Path
) -> None:
    resolve = flavour[1]
    auth = _lucia(flavour, tmp_path / "db.sqlite")
    session, token = _signed_in(flavour, auth)
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    resolve(auth.adapter.update_session_expiry(session.id, past))
    assert resolve(auth.validate_session(token)) is None
    assert resolve(auth.adapter.get_session(session.id)) is None


def test_an_epoch_row_past_its_absolute_end_is_refused_and_deleted(
    flavour: tuple[str, Resolve], tmp_path: Path
) -> None:
    resolve = flavour[1]
    auth = _lucia(
        flavour,
        tmp_path / "db.sqlite",
        session_expires_in=timedelta(hours=1),
        session_absolute_lifetime=timedelta(hours=2),
    )
    user = resolve(auth.create_user("email", "ada@example.com"))
    now = datetime.now(UTC).replace(microsecond=0)
    record = SessionRecord(
        sessions.generate_session_id(),
        user.id,
        now + timedelta(minutes=50),  # far from expiry: only the absolute end refuses
        now - timedelta(hours=2, seconds=1),
        secret_hash=b"",
    )
    secret = sessions.generate_session_secret()
    record.secret_hash = sessions.hash_secret(secret)
    resolve(auth.adapter.insert_session(record))
    token = sessions.create_token(record.id, secret)
    assert resolve(auth.validate_session(token)) is None
    assert resolve(auth.adapter.get_session(record.id)) is None


def test_an_epoch_row_due_for_renewal_is_renewed_from_now(
    flavour: tuple[str, Resolve], tmp_path: Path
) -> None:
    resolve = flavour[1]
    auth = _lucia(flavour, tmp_path / "db.sqlite", session_expires_in=timedelta(hours=2))
    session, token = _signed_in(flavour, auth)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    resolve(auth.adapter.update_session_expiry(session.id, soon))
    before = datetime.now(UTC)
    found = resolve(auth.validate_session(token))
    after = datetime.now(UTC)
    assert found is not None
    renewed = found[0]
    assert renewed.fresh
    assert renewed.token == token
    assert before + timedelta(hours=2) - timedelta(seconds=1) <= renewed.expires_at
    assert renewed.expires_at <= after + timedelta(hours=2)
    assert renewed.expires_epoch is None  # the datetime assigned is what counts
    stored = resolve(auth.adapter.get_session(session.id))
    assert stored.expires_epoch == int(renewed.expires_at.timestamp())


def test_an_injected_clock_rules_epoch_rows(flavour: tuple[str, Resolve], tmp_path: Path) -> None:
    resolve = flavour[1]
    now = [datetime.now(UTC)]
    auth = _lucia(flavour, tmp_path / "db.sqlite", clock=lambda: now[0])
    session, token = _signed_in(flavour, auth)
    assert resolve(auth.validate_session(token)) is not None
    # Past its expiry by the injected clock only: the real time would accept it.
    now[0] = session.expires_at + timedelta(seconds=1)
    assert resolve(auth.validate_session(token)) is None
    assert resolve(auth.adapter.get_session(session.id)) is None
