"""Faults: the session database stops in the middle of a run of requests and
comes back; the provider hangs.

PostgreSQL and Redis are private servers these tests own (tests/reliability/
servers.py): a real ``pg_ctl stop -m immediate`` and a real SIGKILL of
``redis-server``, then a restart on the same port, while workers keep signing
in and calling a page through the Starlette app. Requests that run entirely
inside the outage must get a bare 503, requests that start after the restart
must succeed on the same adapter (its pool reconnects), and nothing may be
left half-written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis

from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter
from lucia.adapters.redis import AsyncRedisSessionAdapter
from lucia.adapters.sqlite import AsyncSQLiteAdapter, SQLiteAdapter
from lucia.oauth.flow import ProviderFailedError, SignInFlow
from lucia.testing.github import LocalGitHub
from tests.reliability.common import (
    FIRST_ACCOUNT,
    Browser,
    accounts,
    make_app,
    provider_for,
)
from tests.reliability.servers import PrivatePostgres, PrivateRedis

WORKERS = 6
ACCOUNTS = 60
OUTAGE_SECONDS = 1.0  # at least; see run_with_outage
WARM_UP = 20  # successful requests before the stop
AFTER = 30  # requests that must succeed after the restart
# A pool may be sitting out a reconnect back-off when the server returns: it
# reconnects within one connect_timeout (1 s below), so requests that start
# that long after the restart must all succeed (earlier ones may still get 503).
RECOVERY = 1.0


@dataclass
class Call:
    """One request of the run: what, when (monotonic), and the answer."""

    kind: str  # "sign-in" or "me"
    account: int
    started: float
    ended: float
    status: int
    body: str
    token: str | None = None


@dataclass
class Timeline:
    """When the server went down and came back (monotonic seconds)."""

    down_begin: float = 0.0
    down_end: float = 0.0
    up_begin: float = 0.0
    up_end: float = 0.0
    calls: list[Call] = field(default_factory=list)

    def before(self) -> list[Call]:
        return [c for c in self.calls if c.ended < self.down_begin]

    def during(self) -> list[Call]:
        return [c for c in self.calls if c.started > self.down_end and c.ended < self.up_begin]

    def after(self) -> list[Call]:
        return [c for c in self.calls if c.started > self.up_end + RECOVERY]


async def run_with_outage(
    browser: Browser, stop: Callable[[], None], start: Callable[[], None]
) -> Timeline:
    """Workers sign in (cycling through ACCOUNTS identities, so both first and
    repeat sign-ins happen) and call ``/me`` with the tokens they got, while the
    server is stopped for OUTAGE_SECONDS and started again."""
    timeline = Timeline()
    finished = asyncio.Event()
    counter = iter(range(10**6))
    tokens: dict[int, str] = {}

    async def worker() -> None:
        while not finished.is_set():
            n = next(counter)
            account = FIRST_ACCOUNT + n % ACCOUNTS
            started = time.monotonic()
            if n % 2 and account in tokens:
                response = await browser.whoami(tokens[account])
                call = Call("me", account, started, time.monotonic(), response.status_code,
                            response.text)  # fmt: skip
            else:
                outcome = await browser.sign_in(account)
                call = Call("sign-in", account, started, time.monotonic(), outcome.status,
                            outcome.body, outcome.token)  # fmt: skip
                if outcome.token is not None:
                    tokens[account] = outcome.token
            timeline.calls.append(call)
            await asyncio.sleep(0)  # let the controller in between requests

    async def until(condition: Callable[[], bool], limit: float) -> None:
        deadline = time.monotonic() + limit
        while not condition():
            assert time.monotonic() < deadline, "the run did not get that far in time"
            await asyncio.sleep(0.01)

    workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    try:
        await until(lambda: sum(c.status < 400 for c in timeline.calls) >= WARM_UP, 30)
        timeline.down_begin = time.monotonic()
        await asyncio.to_thread(stop)
        timeline.down_end = time.monotonic()
        # Down for OUTAGE_SECONDS, and until some requests began and ended inside.
        await asyncio.sleep(OUTAGE_SECONDS)
        await until(lambda: sum(c.started > timeline.down_end for c in timeline.calls) >= 6, 30)
        timeline.up_begin = time.monotonic()
        await asyncio.to_thread(start)
        timeline.up_end = time.monotonic()
        await until(lambda: len(timeline.after()) >= AFTER, 30)
    finally:
        finished.set()
        results = await asyncio.gather(*workers, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result  # a worker's own failure, not an answer of the app
    return timeline


def report(name: str, timeline: Timeline) -> None:
    statuses = Counter(c.status for c in timeline.calls)
    print(
        f"\n{name}: {len(timeline.calls)} requests, statuses {dict(statuses)}; "
        f"before {len(timeline.before())}, during {len(timeline.during())} "
        f"(503: {sum(c.status == 503 for c in timeline.during())}), "
        f"after {len(timeline.after())} "
        f"(ok: {sum(c.status < 400 for c in timeline.after())})"
    )


def assert_outage_handled(timeline: Timeline, secrets: tuple[str, ...]) -> None:
    """Before: success; during: bare 503s; after: success; never another 5xx."""
    for call in timeline.calls:
        assert call.status < 500 or call.status == 503, (call.status, call.body[:300])
        if call.status == 503:
            assert call.body == "Service unavailable"
    for call in timeline.calls:
        for secret in secrets:
            assert secret not in call.body
        assert "Traceback" not in call.body
    assert all(c.status in (200, 303) for c in timeline.before())
    during = timeline.during()
    assert during, "no request ran inside the outage"
    assert all(c.status == 503 for c in during), Counter(c.status for c in during)
    after = timeline.after()
    assert all(c.status in (200, 303) for c in after), [(c.status, c.body[:200]) for c in after]


def assert_logs_clean(caplog: pytest.LogCaptureFixture, secrets: tuple[str, ...]) -> None:
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        for secret in secrets:
            assert secret not in text


async def assert_sessions_sign_in_their_users(
    browser: Browser, timeline: Timeline, owner: Callable[[int], Awaitable[str | None]]
) -> None:
    """Every 303 sign-in's session (still stored) signs in the account's own user."""
    for call in timeline.calls:
        if call.kind == "sign-in" and call.status == 303:
            assert call.token is not None
            answer = await browser.whoami(call.token)
            assert answer.status_code == 200, (answer.status_code, answer.text)
            assert answer.json() == {"user": await owner(call.account)}


# (a) PostgreSQL


@pytest.mark.slow
async def test_postgres_stopped_and_started_mid_run(
    private_postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lucia")
    conninfo = private_postgres.conninfo
    setup = PostgresAdapter(conninfo, max_size=1)
    try:
        setup.create_tables()
    finally:
        setup.close()
    # A call waits at most 1 s for a connection: an outage answers 503 that fast.
    adapter = AsyncPostgresAdapter(conninfo, connect_timeout=1)
    auth = AsyncLucia(adapter)
    with LocalGitHub(accounts=accounts(ACCOUNTS)) as github:
        provider = provider_for(github)
        try:
            browser = Browser(make_app(auth, provider), github, auth.session_cookie_name)
            timeline = await run_with_outage(browser, private_postgres.stop, private_postgres.start)
            report("postgres outage", timeline)
            assert_outage_handled(timeline, (private_postgres.password,))

            async def owner(account: int) -> str | None:
                user = await auth.get_user_by_key("github", str(account))
                return None if user is None else user.id

            await assert_sessions_sign_in_their_users(browser, timeline, owner)
        finally:
            await provider.aclose()
            await adapter.aclose()
    assert_logs_clean(caplog, (private_postgres.password,))

    # Nothing half-written: every user has its one key, every key and session a user.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        orphans = conn.execute(
            """SELECT
                 (SELECT count(*) FROM auth_user u
                   WHERE NOT EXISTS (SELECT 1 FROM auth_key k WHERE k.user_id = u.id)),
                 (SELECT count(*) FROM auth_key k
                   WHERE NOT EXISTS (SELECT 1 FROM auth_user u WHERE u.id = k.user_id)),
                 (SELECT count(*) FROM auth_session s
                   WHERE NOT EXISTS (SELECT 1 FROM auth_user u WHERE u.id = s.user_id)),
                 (SELECT count(*) FROM auth_user),
                 (SELECT count(*) FROM auth_key)"""
        ).fetchone()
    assert orphans is not None
    users_without_key, keys_without_user, sessions_without_user, users, keys = orphans
    assert (users_without_key, keys_without_user, sessions_without_user) == (0, 0, 0)
    assert users == keys <= ACCOUNTS


# (b) Redis as the session store


@pytest.mark.slow
async def test_redis_session_store_killed_and_restarted_mid_run(
    private_redis: PrivateRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lucia")
    database = tmp_path / "users.sqlite3"
    SQLiteAdapter(database).create_tables()
    users = AsyncSQLiteAdapter(database)
    sessions = AsyncRedisSessionAdapter(private_redis.url, prefix="lucia-faults:")
    auth = AsyncLucia(users, session_adapter=sessions)

    with LocalGitHub(accounts=accounts(ACCOUNTS)) as github:
        provider = provider_for(github)
        try:
            browser = Browser(make_app(auth, provider), github, auth.session_cookie_name)
            timeline = await run_with_outage(browser, private_redis.kill, private_redis.start)
            report("redis outage", timeline)
            # Redis came back empty (no persistence): sessions issued before the
            # kill are gone, so their /me calls are anonymous (401), never 5xx.
            lost = [c for c in timeline.after() if c.kind == "me" and c.status == 401]
            timeline.calls = [c for c in timeline.calls if c not in lost]
            assert_outage_handled(timeline, ())

            async def owner(account: int) -> str | None:
                user = await auth.get_user_by_key("github", str(account))
                return None if user is None else user.id

            # Only the sessions made after the restart still exist.
            timeline.calls = timeline.after()
            await assert_sessions_sign_in_their_users(browser, timeline, owner)
        finally:
            await provider.aclose()
            await sessions.aclose()
            users.close()

    # Nothing half-written: each session in Redis is complete, expiring, and of a user.
    check = redis.Redis.from_url(private_redis.url)
    try:
        stored = list(check.scan_iter(match="lucia-faults:session:*"))
        assert stored
        user_ids = set()
        for key in stored:
            fields = check.hgetall(key)
            assert {b"u", b"h", b"e", b"c"} <= set(fields), fields.keys()
            assert check.pttl(key) > 0
            user_ids.add(fields[b"u"].decode())
    finally:
        check.close()
    sync_users = SQLiteAdapter(database)
    try:
        for user_id in user_ids:
            assert sync_users.get_user(user_id) is not None
    finally:
        sync_users.close()


# (c) A provider that hangs


async def test_a_hanging_provider_fails_the_callback_within_its_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="lucia")
    auth = AsyncLucia(AsyncMemoryAdapter())
    limit = 0.5
    with LocalGitHub(accounts=accounts(1), hang_seconds=30) as github:
        provider = provider_for(github, timeout=limit)
        github.fail("token", "hang")  # accepts the token request, never answers
        try:
            browser = Browser(make_app(auth, provider), github, auth.session_cookie_name)
            outcome = await browser.sign_in(FIRST_ACCOUNT)
        finally:
            await provider.aclose()
            github.stop()  # releases the hanging handler
    print(f"\nhanging provider: {outcome.status} after {outcome.seconds:.2f} s (limit {limit} s)")
    assert outcome.status == 502
    assert outcome.token is None
    assert "Traceback" not in outcome.body
    # A generous bound, not a measurement: only the configured limit meets it.
    assert outcome.seconds < limit + 4
    assert await auth.get_user_by_key("github", str(FIRST_ACCOUNT)) is None
    failures = [r for r in caplog.records if r.getMessage() == "oauth sign-in failed"]
    assert [getattr(r, "cause", None) for r in failures] == ["AUTH_OAUTH_TRANSPORT_ERROR"]


async def test_a_hanging_provider_is_a_provider_failed_error_saying_it_timed_out() -> None:
    auth = AsyncLucia(AsyncMemoryAdapter())
    with LocalGitHub(accounts=accounts(1), hang_seconds=30) as github:
        provider = provider_for(github, timeout=0.5)
        flow = SignInFlow(auth, [provider], secure_cookies=False)
        try:
            start = await flow.astart("github")
            github.sign_in(FIRST_ACCOUNT)
            answer = github.authorize(start.url)
            github.fail("token", "hang")
            cookie = f"{start.cookie.name}={start.cookie.value}"
            with pytest.raises(ProviderFailedError) as caught:
                await flow.acallback("github", answer, cookie)
        finally:
            await provider.aclose()
            github.stop()
    assert caught.value.status == 502
    assert "did not answer in time" in str(caught.value)
    assert caught.value.cause.code == "AUTH_OAUTH_TRANSPORT_ERROR"
