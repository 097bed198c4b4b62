"""A frozen PostgreSQL (issue 14, item 9): with every server process stopped
(SIGSTOP), neither ``statement_timeout`` (the server enforces it) nor TCP
keepalives (the kernel still answers) end a call; lucia cuts the connection
itself after ``statement_timeout`` plus CUT_GRACE, the call fails with
``DatabaseError``, and once the server runs again the pool serves calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from lucia.adapters.base import KeyRecord, UserRecord
from lucia.adapters.postgres import CUT_GRACE, AsyncPostgresAdapter, PostgresAdapter
from lucia.errors import DatabaseError
from tests.reliability.servers import PrivatePostgres

T = datetime(2026, 1, 1, tzinfo=UTC)
STATEMENT_TIMEOUT = 0.5
LIMIT = STATEMENT_TIMEOUT + CUT_GRACE
THAW = 8.0


@contextmanager
def frozen(server: PrivatePostgres) -> Iterator[None]:
    """Every process of the cluster stopped, and continued afterwards."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
    ).stdout.split()
    pids = [postmaster, *map(int, children)]

    def resume() -> None:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    # Should the call not be cut, the server thaws after THAW s: the test then
    # fails on its timing instead of hanging.
    thaw = threading.Timer(THAW, resume)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    thaw.start()
    try:
        yield
    finally:
        thaw.cancel()
        resume()


@pytest.fixture
def server(private_postgres: PrivatePostgres) -> PrivatePostgres:
    adapter = PostgresAdapter(private_postgres.conninfo, max_size=1)
    adapter.create_tables()
    adapter.insert_user(UserRecord("ada", {}), KeyRecord("github", "1", "ada"), T)
    adapter.close()
    return private_postgres


def test_a_call_to_a_frozen_server_is_cut(server: PrivatePostgres) -> None:
    adapter = PostgresAdapter(server.conninfo, max_size=1, statement_timeout=STATEMENT_TIMEOUT)
    try:
        assert adapter.get_user("ada") is not None  # the pooled connection exists
        with frozen(server):
            started = time.monotonic()
            with pytest.raises(DatabaseError, match="did not answer"):
                adapter.get_user("ada")
            elapsed = time.monotonic() - started
        assert LIMIT - 0.2 <= elapsed < LIMIT + 1.5
        assert adapter.get_user("ada") is not None
    finally:
        adapter.close()


async def test_an_async_call_to_a_frozen_server_is_cut(server: PrivatePostgres) -> None:
    adapter = AsyncPostgresAdapter(server.conninfo, max_size=1, statement_timeout=STATEMENT_TIMEOUT)
    try:
        assert await adapter.get_user("ada") is not None
        with frozen(server):
            started = time.monotonic()
            with pytest.raises(DatabaseError, match="did not answer"):
                await adapter.get_user("ada")
            elapsed = time.monotonic() - started
        assert LIMIT - 0.2 <= elapsed < LIMIT + 1.5
        assert await adapter.get_user("ada") is not None
    finally:
        await adapter.aclose()
