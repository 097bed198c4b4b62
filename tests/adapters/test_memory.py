"""MemoryAdapter's session indexes (issue 14, item 13): by user and by expiry,
kept exact through every write, so listing and revoking a user's sessions
touch only theirs and a purge finds the expired ones without a scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.adapters.memory import MemoryAdapter

T = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _adapter(*users: str) -> MemoryAdapter:
    adapter = MemoryAdapter()
    for user in users:
        adapter.insert_user(UserRecord(user, {}), KeyRecord("github", user, user), T)
    return adapter


def _session(session_id: str, user_id: str, expires_at: datetime) -> SessionRecord:
    return SessionRecord(session_id, user_id, expires_at, T, secret_hash=bytes(32))


def test_every_write_keeps_the_indexes_exact() -> None:
    adapter = _adapter("ada", "bob")
    steps = [
        lambda: adapter.insert_session(_session("a1", "ada", T + timedelta(hours=1))),
        lambda: adapter.insert_session(_session("a2", "ada", T + timedelta(hours=1))),
        lambda: adapter.insert_session(_session("b1", "bob", T + timedelta(hours=2))),
        # Renewal moves a session to another second; a second renewal back again.
        lambda: adapter.update_session_expiry("a1", T + timedelta(hours=3)),
        lambda: adapter.update_session_expiry("a1", T + timedelta(hours=1)),
        lambda: adapter.update_session_expiry("gone", T),
        # The same id inserted again replaces the session (and its index entries).
        lambda: adapter.insert_session(_session("a2", "ada", T + timedelta(hours=5))),
        lambda: adapter.delete_session("a2"),
        lambda: adapter.delete_session("a2"),
        lambda: adapter.insert_session(_session("b2", "bob", T + timedelta(hours=1))),
        lambda: adapter.delete_user_sessions("bob"),
        lambda: adapter.insert_session(_session("b3", "bob", T + timedelta(hours=1))),
        lambda: adapter.delete_user("bob"),
    ]
    for step in steps:
        step()
        adapter.check_indexes()
    assert [s.id for s in adapter.get_user_sessions("ada")] == ["a1"]
    assert adapter.get_user_sessions("bob") == []


def test_a_purge_takes_the_expired_part_of_the_current_second_only() -> None:
    adapter = _adapter("ada")
    now = T.replace(microsecond=500_000)
    adapter.insert_session(_session("before", "ada", now - timedelta(microseconds=1)))
    adapter.insert_session(_session("at", "ada", now))
    adapter.insert_session(_session("after", "ada", now + timedelta(microseconds=1)))
    adapter.insert_session(_session("earlier", "ada", now - timedelta(seconds=5)))
    assert adapter.delete_expired_sessions(now) == 3
    adapter.check_indexes()
    assert [s.id for s in adapter.get_user_sessions("ada")] == ["after"]


def test_a_purge_in_batches_spans_seconds_and_skips_revoked_ones() -> None:
    adapter = _adapter("ada", "bob")
    for index in range(30):
        user = "ada" if index % 2 else "bob"
        expires = T - timedelta(seconds=index % 4)  # four seconds, several per second
        adapter.insert_session(_session(f"s{index}", user, expires))
    adapter.insert_session(_session("live", "ada", T + timedelta(days=1)))
    adapter.delete_user_sessions("bob")  # 15 gone before the purge: their seconds emptied
    adapter.check_indexes()
    batches: list[int] = []
    assert adapter.delete_expired_sessions(T, 4, batches.append) == 15
    assert batches == [4, 4, 4, 3]
    adapter.check_indexes()
    assert [s.id for s in adapter.get_user_sessions("ada")] == ["live"]
    assert adapter.delete_expired_sessions(T) == 0


def test_a_renewed_session_is_not_purged_at_its_old_expiry() -> None:
    adapter = _adapter("ada")
    adapter.insert_session(_session("s", "ada", T - timedelta(hours=1)))
    adapter.update_session_expiry("s", T + timedelta(hours=1))
    assert adapter.delete_expired_sessions(T) == 0
    assert adapter.get_session("s") is not None
    assert adapter.delete_expired_sessions(T + timedelta(hours=1)) == 1
    adapter.check_indexes()
