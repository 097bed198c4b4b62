"""What does validating a session cost, next to the least any implementation must do?

The floor: SHA-256 of the token's secret plus one raw ``sqlite3`` primary-key
SELECT joining the session to its user, on the same file, connection settings
and tables. Against it: ``Lucia.validate_session`` (SQLiteAdapter) and
``AsyncLucia.validate_session`` (AsyncSQLiteAdapter), over 10,000 users with
one session each, tokens picked at random. Everything is measured in the same
run and interleaved, and the figures printed are medians of several rounds,
so a noisy shared machine moves all of them alike.

Run: ``make bench`` or ``.venv/bin/python benchmarks/validate_session.py [--users N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from lucia import AsyncLucia, Lucia
from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.adapters.sql import SQLITE, Statements
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from lucia.core import generate_user_id
from lucia.sessions import (
    create_token,
    generate_session_id,
    generate_session_secret,
    hash_secret,
    utc_now,
)

ROUNDS = 7
CALLS_PER_ROUND = 5_000


def populate(path: Path, users: int) -> list[str]:
    """Fill the database with ``users`` users, one key and one session each; their tokens."""
    return [token for _, token in populate_pairs(path, users)]


def populate_pairs(path: Path, users: int) -> list[tuple[str, str]]:
    """Fill the database with ``users`` users, one key and one session each;
    their (user id, token)."""
    adapter = SQLiteAdapter(path)
    adapter.create_tables()
    q = Statements(SQLITE)
    now = utc_now().replace(microsecond=0)
    pairs: list[tuple[str, str]] = []
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for n in range(users):
        user = UserRecord(generate_user_id(), {"email": f"user{n}@example.com", "name": "User"})
        conn.execute(q.insert_user, q.user_params(user, now))
        conn.execute(
            q.insert_key, q.key_params(KeyRecord("email", f"user{n}@example.com", user.id))
        )
        session_id, secret = generate_session_id(), generate_session_secret()
        record = SessionRecord(
            session_id, user.id, now + timedelta(days=30), now, secret_hash=hash_secret(secret)
        )
        conn.execute(q.insert_session, q.session_params(record))
        pairs.append((user.id, create_token(session_id, secret)))
    conn.execute("COMMIT")
    conn.close()
    adapter.close()
    return pairs


def floor_validator(path: Path) -> Callable[[str], object]:
    """The least work: hash the secret, one PK join, compare."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    sql = (
        "SELECT s.id, s.user_id, s.secret_hash, s.expires_at, s.created_at, s.attributes,"
        " u.attributes FROM auth_session s JOIN auth_user u ON u.id = s.user_id WHERE s.id = ?"
    )
    execute = conn.execute
    sha256 = hashlib.sha256
    compare = hmac.compare_digest

    def validate(token: str) -> object:
        session_id, _, secret = token.partition(".")
        digest = sha256(secret.encode()).digest()
        row = execute(sql, (session_id,)).fetchone()
        return row if row is not None and compare(digest, row[2]) else None

    return validate


def per_call_us(fn: Callable[[str], object], tokens: list[str]) -> float:
    start = time.perf_counter()
    for token in tokens:
        fn(token)
    return (time.perf_counter() - start) / len(tokens) * 1e6


async def async_per_call_us(auth: AsyncLucia, tokens: list[str]) -> float:
    validate = auth.validate_session
    start = time.perf_counter()
    for token in tokens:
        await validate(token)
    return (time.perf_counter() - start) / len(tokens) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--calls", type=int, default=CALLS_PER_ROUND)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        tokens = populate(path, args.users)
        floor = floor_validator(path)
        sync_auth = Lucia(SQLiteAdapter(path))
        async_adapter = AsyncSQLiteAdapter(path)
        async_auth = AsyncLucia(async_adapter)
        loop = asyncio.new_event_loop()

        # Every path must really validate, or the figures mean nothing.
        sample = random.sample(tokens, 100)
        assert all(floor(t) is not None for t in sample)
        assert all(sync_auth.validate_session(t) is not None for t in sample)
        assert all(loop.run_until_complete(async_auth.validate_session(t)) for t in sample)

        def sync_reading_attributes(token: str) -> object:
            found = sync_auth.validate_session(token)
            return found and found[1].attributes

        results: dict[str, list[float]] = {"floor": [], "sync": [], "async": [], "attrs": []}
        for _ in range(args.rounds):
            batch = random.choices(tokens, k=args.calls)
            results["floor"].append(per_call_us(floor, batch))
            results["sync"].append(per_call_us(sync_auth.validate_session, batch))
            results["attrs"].append(per_call_us(sync_reading_attributes, batch))
            results["async"].append(loop.run_until_complete(async_per_call_us(async_auth, batch)))
        loop.close()
        async_adapter.close()

    median = {name: statistics.median(values) for name, values in results.items()}
    python = sys.version.split()[0]
    print(f"validate_session on SQLite, {args.users:,} users and sessions, Python {python}")
    print(f"{args.rounds} rounds x {args.calls:,} random tokens; medians per call")
    print(f"{'':30}{'µs/call':>10}{'vs floor':>10}{'goal':>8}")
    # Issue 15's bars (the first round's were 1.5x and 3x).
    goals = {"floor": "", "sync": "<=1.3x", "async": "<=1.5x", "attrs": ""}
    labels = {
        "floor": "floor (sha256 + raw join)",
        "sync": "Lucia.validate_session",
        "async": "AsyncLucia.validate_session",
        "attrs": "Lucia + user.attributes read",
    }
    for name in ("floor", "sync", "async", "attrs"):
        ratio = median[name] / median["floor"]
        print(f"{labels[name]:30}{median[name]:>10.2f}{ratio:>9.2f}x{goals[name]:>8}")
    print("(user attributes are JSON, decoded on first access: the last line pays for it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
