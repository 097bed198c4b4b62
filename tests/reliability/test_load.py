"""Load: 2,000 concurrent sign-ins of 500 GitHub identities through the Starlette
app, on PostgreSQL (SECURITY.md 40, uniqueness under concurrency, at scale).

In process: the app is called over ASGI directly (``common.call_app``), as a
server would call it, so the two cores go to the app, lucia, psycopg's pool,
LocalGitHub and PostgreSQL rather than to an HTTP server's or client's parsing,
and no port or child process can leak. The provider is ``LocalGitHub``, a real
HTTP server on loopback: every sign-in makes four real HTTP requests to it (the
approval, and the app's code exchange, user and emails requests).

All 2,000 sign-ins are launched at once; CONCURRENCY of them run at a time (a
load generator's connections), the four of each identity side by side so their
first sign-ins race to create the user. Timings are printed (``-s``), never
asserted.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from lucia import AsyncLucia
from lucia.adapters.postgres import AsyncPostgresAdapter, PostgresAdapter
from lucia.errors import DuplicateKeyError
from lucia.testing.github import LocalGitHub
from tests.reliability.common import (
    FIRST_ACCOUNT,
    Browser,
    Outcome,
    accounts,
    make_app,
    percentile,
    provider_for,
)

IDENTITIES = 500
SIGN_INS_EACH = 4
# Sign-ins in flight at once, like a load generator's connections: all 2,000 are
# launched together and each waits for one of these slots. 100 is httpx's default
# connection pool; with 500 in flight here every provider call waits behind the
# rest for LocalGitHub, which shares the two cores, beyond the providers' 10 s
# timeout, so every sign-in ends in a (clean) 502: the stand-in provider's limit.
CONCURRENCY = int(os.environ.get("LUCIA_LOAD_CONCURRENCY", "100"))


@pytest.fixture
def load_conninfo(postgres_conninfo: str) -> Iterator[str]:
    """A schema of its own for this test (dropped afterwards), with lucia's tables."""
    schema = f"lucia_load_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    conninfo = make_conninfo(postgres_conninfo, options=f"-c search_path={schema}")
    try:
        setup = PostgresAdapter(conninfo, max_size=1)
        try:
            setup.create_tables()
        finally:
            setup.close()
        yield conninfo
    finally:
        with psycopg.connect(postgres_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def key_owners(conninfo: str) -> dict[str, str]:
    """GitHub id -> user id, after checking the tables hold exactly one user and
    one key per identity, and one session per sign-in."""
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        keys = await (
            await conn.execute("SELECT provider_id, provider_user_id, user_id FROM auth_key")
        ).fetchall()
        users = await (await conn.execute("SELECT id FROM auth_user")).fetchall()
        sessions = await (
            await conn.execute("SELECT user_id, count(*) FROM auth_session GROUP BY user_id")
        ).fetchall()
    assert len(users) == IDENTITIES
    assert len(keys) == IDENTITIES
    assert {provider for provider, _, _ in keys} == {"github"}
    owners = {subject: user_id for _, subject, user_id in keys}
    assert set(owners) == {str(FIRST_ACCOUNT + n) for n in range(IDENTITIES)}
    # One key per user: 500 keys owned by 500 distinct users, and no user without one.
    assert set(owners.values()) == {user_id for (user_id,) in users}
    assert dict(sessions) == {user_id: SIGN_INS_EACH for user_id in owners.values()}
    return owners


@pytest.mark.slow
async def test_sec40_2000_concurrent_sign_ins_of_500_identities(load_conninfo: str) -> None:
    adapter = AsyncPostgresAdapter(load_conninfo)
    auth = AsyncLucia(adapter)
    # Counts the first sign-ins that lost the race to create their user (and then
    # signed in as the winner's): proof the races happened, for the report.
    lost_races = 0
    insert_user = adapter.insert_user

    async def counting_insert_user(*args: Any, **kwargs: Any) -> None:
        nonlocal lost_races
        try:
            await insert_user(*args, **kwargs)
        except DuplicateKeyError:
            lost_races += 1
            raise

    adapter.insert_user = counting_insert_user  # type: ignore[method-assign]
    with LocalGitHub(accounts=accounts(IDENTITIES)) as github:
        provider = provider_for(github)
        app = make_app(auth, provider)
        # The four sign-ins of an identity are launched side by side, so they race.
        plan = [FIRST_ACCOUNT + n for n in range(IDENTITIES) for _ in range(SIGN_INS_EACH)]
        try:
            browser = Browser(app, github, auth.session_cookie_name)
            slots = asyncio.Semaphore(CONCURRENCY)

            async def sign_in(account: int) -> Outcome:
                async with slots:
                    return await browser.sign_in(account)

            cpu_before = os.times()
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(sign_in(account) for account in plan))
            elapsed = time.perf_counter() - started
            cpu_after = os.times()
            # This process's CPU (app, lucia, LocalGitHub, the load itself): the
            # machine may be shared, so wall-clock figures alone can mislead.
            cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)

            statuses = Counter(outcome.status for outcome in outcomes)
            seconds = [outcome.seconds for outcome in outcomes]
            print(
                f"\nload: {len(plan)} sign-ins of {IDENTITIES} identities, {CONCURRENCY} at a "
                f"time, in {elapsed:.1f} s: {len(plan) / elapsed:.0f} sign-ins/s; "
                f"latency p50 {percentile(seconds, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(seconds, 0.99) * 1000:.0f} ms; {cpu:.1f} s CPU here; "
                f"{lost_races} user creations lost a race; statuses {dict(statuses)}"
            )
            errors = [o for o in outcomes if o.status >= 500]
            assert not errors, f"{len(errors)} 5xx, e.g. {errors[0].status}: {errors[0].body}"
            assert statuses == {303: len(plan)}

            # Every session cookie signs in its own account's user, through the app.
            owners = await key_owners(load_conninfo)
            answers = await asyncio.gather(*(browser.whoami(o.token or "") for o in outcomes))
            for outcome, answer in zip(outcomes, answers, strict=True):
                assert answer.status_code == 200
                assert answer.json() == {"user": owners[str(outcome.account)]}
            assert len({outcome.token for outcome in outcomes}) == len(plan)
        finally:
            await provider.aclose()
            await adapter.aclose()
