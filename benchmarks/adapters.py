"""Validation throughput per adapter, against the same driver's raw primary-key join.

For every store that answers (SQLite file, PostgreSQL, MariaDB/MySQL, Redis
sessions with SQLite users, SQLAlchemy on SQLite and PostgreSQL), in four
modes (sync and async, 1 and 32 concurrent callers):

- **raw**: the same driver, its own pool of the same size, running the join
  lucia runs (session joined to user by primary key), then SHA-256 of the
  secret and ``hmac.compare_digest``: the least any implementation must do.
  For Redis: HMGET of the session hash, then the user's primary-key select.
- **lucia**: ``Lucia.validate_session`` / ``AsyncLucia.validate_session``.

Each figure is validations per second over a fixed time, raw and lucia
interleaved, the median of the rounds; the ratio lucia/raw is what to read (the
machine is shared and noisy). Goal: >= 80%.

Run: ``make bench`` or ``.venv/bin/python benchmarks/adapters.py [--only postgres,mysql]``.
Each run makes its own schema / database / key prefix and removes it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from lucia import AsyncLucia, Lucia
from lucia.adapters.base import KeyRecord, SessionRecord, UserRecord
from lucia.core import generate_user_id
from lucia.sessions import (
    create_token,
    generate_session_id,
    generate_session_secret,
    hash_secret,
    utc_now,
)

POSTGRES_URL = os.environ.get("LUCIA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("LUCIA_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("LUCIA_TEST_REDIS", "redis://127.0.0.1:6379/0")
RUN = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
JOIN = (
    "SELECT s.id, s.user_id, s.secret_hash, s.expires_at, s.created_at, s.attributes,"
    " u.attributes FROM auth_session s JOIN auth_user u ON u.id = s.user_id WHERE s.id = {p}"
)
CONCURRENCY = 32
# Pools for PostgreSQL: four of them are open at once (sync and async, raw and
# lucia) and the server allows 100 connections.
PG_POOL = 24


@dataclass
class Subject:
    """One store under test: its lucia objects and its raw validators."""

    name: str
    sync_auth: Lucia
    async_auth: AsyncLucia
    raw_sync: Callable[[str], object]
    raw_async: Callable[[str], Awaitable[object]]
    tokens: list[str]


def _check(secret: str, stored: bytes) -> bool:
    return hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), bytes(stored))


def populate(auth: Lucia, count: int) -> list[str]:
    """``count`` users, one session each, written through the adapter; their tokens."""
    adapter: Any = auth.adapter
    sessions: Any = auth.session_adapter
    now = utc_now().replace(microsecond=0)
    tokens = []
    for n in range(count):
        user = UserRecord(generate_user_id(), {"email": f"user{n}@example.com"})
        adapter.insert_user(user, KeyRecord("email", f"user{n}@example.com", user.id), now)
        session_id, secret = generate_session_id(), generate_session_secret()
        record = SessionRecord(
            session_id, user.id, now + timedelta(days=30), now, secret_hash=hash_secret(secret)
        )
        sessions.insert_session(record)
        tokens.append(create_token(session_id, secret))
    return tokens


# Stores


@contextmanager
def sqlite_subject(users: int) -> Iterator[Subject]:
    import sqlite3

    from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        sync = SQLiteAdapter(path)
        sync.create_tables()
        auth = Lucia(sync)
        tokens = populate(auth, users)
        local = threading.local()
        sql = JOIN.format(p="?")

        def raw(token: str) -> object:
            try:
                conn = local.conn
            except AttributeError:
                conn = local.conn = sqlite3.connect(path, check_same_thread=False)
            session_id, _, secret = token.partition(".")
            row = conn.execute(sql, (session_id,)).fetchone()
            return row if row and _check(secret, row[2]) else None

        async def araw(token: str) -> object:
            return raw(token)  # what AsyncSQLiteAdapter does for reads: inline

        async_adapter = AsyncSQLiteAdapter(path)
        yield Subject("sqlite", auth, AsyncLucia(async_adapter), raw, araw, tokens)
        async_adapter.close()
        sync.close()


@contextmanager
def postgres_subject(users: int) -> Iterator[Subject]:
    import psycopg
    import psycopg_pool
    from psycopg.conninfo import make_conninfo

    from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{RUN}"')
    conninfo = make_conninfo(POSTGRES_URL, options=f"-c search_path={RUN}")
    try:
        sync = PostgresAdapter(conninfo, max_size=PG_POOL)
        sync.create_tables()
        auth = Lucia(sync)
        tokens = populate(auth, users)
        pool = psycopg_pool.ConnectionPool(
            conninfo, min_size=1, max_size=PG_POOL, kwargs={"autocommit": True}, open=True
        )
        sql = JOIN.format(p="%s")

        def raw(token: str) -> object:
            session_id, _, secret = token.partition(".")
            with pool.connection() as conn:
                row = conn.execute(sql, (session_id,)).fetchone()
            return row if row and _check(secret, row[2]) else None

        apool = psycopg_pool.AsyncConnectionPool(
            conninfo, min_size=1, max_size=PG_POOL, kwargs={"autocommit": True}, open=False
        )

        async def araw(token: str) -> object:
            if apool.closed:
                await apool.open()
            session_id, _, secret = token.partition(".")
            async with apool.connection() as conn:
                row = await (await conn.execute(sql, (session_id,))).fetchone()
            return row if row and _check(secret, row[2]) else None

        async_adapter = AsyncPostgresAdapter(conninfo, max_size=PG_POOL)
        yield Subject("postgres", auth, AsyncLucia(async_adapter), raw, araw, tokens)
        pool.close()
        _run_async(apool.close())
        _run_async(async_adapter.aclose())
        sync.close()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{RUN}" CASCADE')


@contextmanager
def mysql_subject(users: int) -> Iterator[Subject]:
    from urllib.parse import urlsplit

    import aiomysql
    import pymysql

    from lucia.adapters.mysql import AsyncMySQLAdapter, MySQLAdapter

    parts = urlsplit(MYSQL_URL)
    params = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }
    with pymysql.connect(**params, autocommit=True) as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{RUN}` CHARACTER SET utf8mb4")
    url = parts._replace(path=f"/{RUN}").geturl()
    try:
        sync = MySQLAdapter(url, pool_size=CONCURRENCY)
        sync.create_tables()
        auth = Lucia(sync)
        tokens = populate(auth, users)
        local = threading.local()
        sql = JOIN.format(p="%s")

        def raw(token: str) -> object:
            try:
                conn = local.conn
            except AttributeError:
                conn = local.conn = pymysql.connect(**params, database=RUN, autocommit=True)
            session_id, _, secret = token.partition(".")
            with conn.cursor() as cursor:
                cursor.execute(sql, (session_id,))
                row = cursor.fetchone()
            return row if row and _check(secret, row[2]) else None

        apool: list[Any] = []

        async def araw(token: str) -> object:
            if not apool:
                apool.append(
                    await aiomysql.create_pool(
                        **params, db=RUN, autocommit=True, minsize=1, maxsize=CONCURRENCY
                    )
                )
            session_id, _, secret = token.partition(".")
            async with apool[0].acquire() as conn, conn.cursor() as cursor:
                await cursor.execute(sql, (session_id,))
                row = await cursor.fetchone()
            return row if row and _check(secret, row[2]) else None

        async_adapter = AsyncMySQLAdapter(url, pool_size=CONCURRENCY)
        yield Subject("mysql", auth, AsyncLucia(async_adapter), raw, araw, tokens)

        async def close() -> None:
            if apool:
                apool[0].close()
                await apool[0].wait_closed()
            await async_adapter.aclose()

        _run_async(close())
        sync.close()
    finally:
        with pymysql.connect(**params, autocommit=True) as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{RUN}`")


@contextmanager
def redis_subject(users: int) -> Iterator[Subject]:
    import sqlite3

    import redis
    import redis.asyncio

    from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
    from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter

    prefix = f"lucia-{RUN}:"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.db"
        users_adapter = SQLiteAdapter(path)
        users_adapter.create_tables()
        sessions = RedisSessionAdapter(REDIS_URL, prefix=prefix)
        auth = Lucia(users_adapter, session_adapter=sessions)
        tokens = populate(auth, users)
        client = redis.Redis.from_url(REDIS_URL, max_connections=CONCURRENCY * 2)
        local = threading.local()

        def user_row(user_id: bytes) -> object:
            try:
                conn = local.conn
            except AttributeError:
                conn = local.conn = sqlite3.connect(path, check_same_thread=False)
            return conn.execute(
                "SELECT id, attributes FROM auth_user WHERE id = ?", (user_id.decode(),)
            ).fetchone()

        def raw(token: str) -> object:
            session_id, _, secret = token.partition(".")
            user_id, secret_hash = client.hmget(f"{prefix}session:{{{session_id}}}", "u", "h")
            import base64

            if user_id is None or not _check(secret, base64.b64decode(secret_hash)):
                return None
            return user_row(user_id)

        aclient: list[Any] = []

        async def araw(token: str) -> object:
            if not aclient:
                aclient.append(redis.asyncio.Redis.from_url(REDIS_URL))
            session_id, _, secret = token.partition(".")
            user_id, secret_hash = await aclient[0].hmget(
                f"{prefix}session:{{{session_id}}}", "u", "h"
            )
            import base64

            if user_id is None or not _check(secret, base64.b64decode(secret_hash)):
                return None
            return user_row(user_id)

        async_sessions = AsyncRedisSessionAdapter(REDIS_URL, prefix=prefix)
        async_users = AsyncSQLiteAdapter(path)
        async_auth = AsyncLucia(async_users, session_adapter=async_sessions)
        yield Subject("redis+sqlite", auth, async_auth, raw, araw, tokens)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)

        async def close() -> None:
            if aclient:
                await aclient[0].aclose()
            await async_sessions.aclose()

        _run_async(close())
        async_users.close()
        sessions.close()
        users_adapter.close()
        client.close()


def _run_async(coroutine: Awaitable[Any]) -> Any:
    return _LOOP.run_until_complete(coroutine)


_LOOP = asyncio.new_event_loop()

SUBJECTS: dict[str, Callable[[int], Any]] = {
    "sqlite": sqlite_subject,
    "postgres": postgres_subject,
    "mysql": mysql_subject,
    "redis": redis_subject,
}


# Measurement


def sync_rate(
    fn: Callable[[str], object], tokens: list[str], callers: int, seconds: float
) -> float:
    """Validations per second by ``callers`` threads for ``seconds``."""
    stop = time.perf_counter() + seconds
    counts = [0] * callers

    def work(index: int) -> None:
        n = 0
        local_tokens = tokens[index::callers] or tokens
        size = len(local_tokens)
        while time.perf_counter() < stop:
            fn(local_tokens[n % size])
            n += 1
        counts[index] = n

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - start)


async def async_rate(
    fn: Callable[[str], Awaitable[object]], tokens: list[str], callers: int, seconds: float
) -> float:
    """Validations per second by ``callers`` tasks for ``seconds``."""
    stop = time.perf_counter() + seconds
    counts = [0] * callers

    async def work(index: int) -> None:
        n = 0
        local_tokens = tokens[index::callers] or tokens
        size = len(local_tokens)
        while time.perf_counter() < stop:
            await fn(local_tokens[n % size])
            n += 1
        counts[index] = n

    start = time.perf_counter()
    await asyncio.gather(*(work(i) for i in range(callers)))
    return sum(counts) / (time.perf_counter() - start)


def measure(subject: Subject, rounds: int, seconds: float) -> list[tuple[str, float, float]]:
    rows = []
    # Every path must really validate, or the figures mean nothing.
    sample = subject.tokens[:20]
    assert all(subject.raw_sync(t) for t in sample)
    assert all(subject.sync_auth.validate_session(t) for t in sample)
    assert all(_run_async(subject.raw_async(t)) for t in sample)
    assert all(_run_async(subject.async_auth.validate_session(t)) for t in sample)
    for mode, callers in [("sync", 1), ("sync", CONCURRENCY), ("async", 1), ("async", CONCURRENCY)]:
        raw_rates, lucia_rates = [], []
        for _ in range(rounds):
            if mode == "sync":
                raw_rates.append(sync_rate(subject.raw_sync, subject.tokens, callers, seconds))
                lucia_rates.append(
                    sync_rate(subject.sync_auth.validate_session, subject.tokens, callers, seconds)
                )
            else:
                raw_rates.append(
                    _run_async(async_rate(subject.raw_async, subject.tokens, callers, seconds))
                )
                lucia_rates.append(
                    _run_async(
                        async_rate(
                            subject.async_auth.validate_session, subject.tokens, callers, seconds
                        )
                    )
                )
        rows.append(
            (f"{mode} x{callers}", statistics.median(raw_rates), statistics.median(lucia_rates))
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SUBJECTS), help="comma-separated stores")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    print(f"validation throughput, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{args.users:,} users; {args.rounds} rounds x {args.seconds:g} s per figure (median)")
    print(f"{'store':14}{'mode':10}{'raw/s':>10}{'lucia/s':>10}{'lucia/raw':>11}")
    for name in args.only.split(","):
        with ExitStack() as stack:
            try:
                subject = stack.enter_context(SUBJECTS[name](args.users))
            except Exception as exc:  # a store that is not running: say so, go on
                print(f"{name:14}skipped: {type(exc).__name__}: {exc}")
                continue
            for mode, raw_rate, lucia_rate in measure(subject, args.rounds, args.seconds):
                ratio = lucia_rate / raw_rate
                print(
                    f"{subject.name:14}{mode:10}{raw_rate:>10,.0f}{lucia_rate:>10,.0f}{ratio:>10.0%}"
                )
    _LOOP.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
