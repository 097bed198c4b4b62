"""The Redis adapter's retry policy (issue 14, item 10): a Redis that accepts
but never answers fails a call after one socket timeout (a timeout is never
retried: the command may have run); a connection the server closes at once is
retried once, on a new connection, and fails at once.

The servers are small socket servers in the test, so no Redis is needed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.errors import DatabaseError

TIMEOUT = 1.0


class FakeServer:
    """Accepts connections on a loopback port; ``hang`` keeps them open and
    silent, otherwise each is closed at once. Counts the connections."""

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.hang:
                self._held.append(conn)
            else:
                conn.close()

    def url(self) -> str:
        return (
            f"redis://127.0.0.1:{self.port}/0"
            f"?socket_timeout={TIMEOUT}&socket_connect_timeout={TIMEOUT}"
        )

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()


@pytest.fixture
def hung() -> Iterator[FakeServer]:
    server = FakeServer(hang=True)
    yield server
    server.close()


@pytest.fixture
def closing() -> Iterator[FakeServer]:
    server = FakeServer(hang=False)
    yield server
    server.close()


def test_a_hung_redis_fails_a_call_after_one_timeout(hung: FakeServer) -> None:
    adapter = RedisSessionAdapter(hung.url())
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="Redis unreachable"):
        adapter.get_session("abc")
    elapsed = time.monotonic() - started
    adapter.close()
    # Before: retried after the timeout, 2 x TIMEOUT on two connections.
    assert hung.accepted == 1
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT * 1.5


async def test_a_hung_redis_fails_an_async_call_after_one_timeout(hung: FakeServer) -> None:
    adapter = AsyncRedisSessionAdapter(hung.url())
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="Redis unreachable"):
        await adapter.get_session("abc")
    elapsed = time.monotonic() - started
    await adapter.aclose()
    assert hung.accepted == 1
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT * 1.5


def test_a_closed_connection_is_retried_once_at_once(closing: FakeServer) -> None:
    adapter = RedisSessionAdapter(closing.url())
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="Redis unreachable"):
        adapter.get_session("abc")
    elapsed = time.monotonic() - started
    adapter.close()
    assert closing.accepted == 2
    assert elapsed < TIMEOUT / 2


async def test_a_closed_async_connection_is_retried_once_at_once(closing: FakeServer) -> None:
    adapter = AsyncRedisSessionAdapter(closing.url())
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="Redis unreachable"):
        await adapter.get_session("abc")
    elapsed = time.monotonic() - started
    await adapter.aclose()
    assert closing.accepted == 2
    assert elapsed < TIMEOUT / 2
