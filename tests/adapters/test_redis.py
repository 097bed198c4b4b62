"""What is particular to Redis: TTLs, key layout and Cluster slots, garbage, outages.

Each test runs on the sync and on the async adapter (``flavour``); ``raw`` is a
plain client for looking at what the adapter wrote.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
import socket
import subprocess
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from lucia import AsyncLucia, DatabaseError, Lucia
from lucia.adapters.base import SessionRecord
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.adapters.redis import AsyncRedisSessionAdapter, RedisSessionAdapter
from lucia.sessions import hash_secret
from tests.conftest import Clock, Harness
from tests.servers import unavailable
from tests.tcpproxy import TCPProxy

LIFE = timedelta(hours=2)
# The tests' fixed clock, far from the real one (see the module docstring of
# lucia.adapters.redis): the adapter must still keep sessions as long as lucia says.
T = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

Adapter = RedisSessionAdapter | AsyncRedisSessionAdapter


def _adapter(flavour: str, url_or_client: Any, prefix: str = "lucia:") -> Adapter:
    cls = RedisSessionAdapter if flavour == "sync" else AsyncRedisSessionAdapter
    return cls(url_or_client, prefix=prefix)


async def _close(adapter: Adapter) -> None:
    if isinstance(adapter, AsyncRedisSessionAdapter):
        await adapter.aclose()
    else:
        adapter.close()


def _auth(adapter: Adapter, clock: Clock | None = None, **options: Any) -> Harness:
    """Lucia (or AsyncLucia) with users in memory and sessions in ``adapter``."""
    if clock is not None:
        options["clock"] = clock
    if isinstance(adapter, AsyncRedisSessionAdapter):
        return Harness(AsyncLucia(AsyncMemoryAdapter(), session_adapter=adapter, **options))
    return Harness(Lucia(MemoryAdapter(), session_adapter=adapter, **options))


def _record(user_id: str, created_at: datetime, life: timedelta = LIFE) -> SessionRecord:
    return SessionRecord(
        secrets.token_urlsafe(15),
        user_id,
        created_at + life,
        created_at,
        attributes={"ua": "test"},
        secret_hash=hash_secret(secrets.token_urlsafe(32)),
    )


def _members(raw: redis.Redis, index: str) -> set[str]:
    return {member.decode() for member in raw.zrange(index, 0, -1)}  # type: ignore[union-attr]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def adapter(flavour: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Adapter]:
    made = _adapter(flavour, redis_url, redis_prefix)
    yield made
    await _close(made)


@pytest.fixture
def store(adapter: Adapter) -> Harness:
    return Harness(adapter)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


# TTL: SECURITY item 10, "Redis TTL <= absolute expiry"


async def test_sec10_ttl_is_the_absolute_expiry_on_the_real_clock(
    adapter: Adapter, raw: redis.Redis
) -> None:
    auth = _auth(adapter, session_expires_in=LIFE)  # lucia's default clock: the real one
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    key = adapter.keys.session(session.id)
    assert raw.pexpiretime(key) == _ms(session.expires_at)
    before = datetime.now(UTC)
    ttl = raw.pttl(key)
    assert 0 < ttl <= _ms(session.expires_at) - _ms(before)


async def test_sec10_renewal_moves_the_ttl_to_the_new_expiry(
    adapter: Adapter, store: Harness, raw: redis.Redis
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    record = _record("u1", now)
    await store.insert_session(record)
    key = adapter.keys.session(record.id)
    for expires_at in (now + LIFE + timedelta(hours=1), now + timedelta(minutes=10)):
        await store.update_session_expiry(record.id, expires_at)
        assert raw.pexpiretime(key) == _ms(expires_at)
        assert (await store.get_session(record.id)).expires_at == expires_at


@pytest.mark.parametrize("start", [T, datetime(2031, 6, 1, tzinfo=UTC)], ids=["past", "future"])
async def test_sec10_ttl_on_a_clock_of_lucias_own_is_the_sessions_life(
    adapter: Adapter, raw: redis.Redis, start: datetime
) -> None:
    # An injected clock far from the real one: an absolute expiry would be long
    # past (or years away) for Redis. The key lives as long as the session has
    # left by lucia's clock, never longer.
    clock = Clock(start)
    auth = _auth(adapter, clock, session_expires_in=LIFE)
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    key = adapter.keys.session(session.id)
    life_ms = _ms(session.expires_at) - _ms(clock.now)
    assert life_ms - 5000 < raw.pttl(key) <= life_ms
    clock.advance(hours=1, minutes=30)
    renewed, _ = await auth.validate_session(session.token)
    assert renewed.fresh
    remaining_ms = _ms(renewed.expires_at) - _ms(clock.now)
    assert remaining_ms - 5000 < raw.pttl(key) <= remaining_ms
    clock.now = renewed.expires_at - timedelta(seconds=1)
    assert await auth.validate_session(session.token) is not None


async def test_renewal_of_a_deleted_session_does_not_recreate_it(
    adapter: Adapter, store: Harness, raw: redis.Redis
) -> None:
    # Real-clock times: a key brought back would live (a 2026-01-01 one would
    # expire at once and hide the bug).
    now = datetime.now(UTC).replace(microsecond=0)
    record = _record("u1", now)
    await store.insert_session(record)
    await store.delete_session(record.id)
    await store.update_session_expiry(record.id, now + timedelta(days=1))
    assert raw.exists(adapter.keys.session(record.id)) == 0
    assert await store.get_session(record.id) is None


async def test_a_session_is_never_written_without_its_index_entry(
    adapter: Adapter, store: Harness, raw: redis.Redis
) -> None:
    # The index is written first: when that fails, there is no session that
    # delete_user_sessions could not find.
    record = _record("u1", T)
    raw.set(adapter.keys.user("u1"), "not a sorted set")
    with pytest.raises(DatabaseError, match="WRONGTYPE"):
        await store.insert_session(record)
    assert raw.exists(adapter.keys.session(record.id)) == 0


class _CountingRedis(redis.Redis):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[Any] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args[0])
        return super().execute_command(*args, **options)


class _AsyncCountingRedis(redis.asyncio.Redis):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[Any] = []

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args[0])
        return await super().execute_command(*args, **options)


async def test_validation_is_one_command_to_redis(
    flavour: str, redis_url: str, redis_prefix: str
) -> None:
    cls = _CountingRedis if flavour == "sync" else _AsyncCountingRedis
    client: Any = cls.from_url(redis_url)
    auth = _auth(_adapter(flavour, client, redis_prefix), Clock(T), session_expires_in=LIFE)
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    client.sent.clear()
    assert await auth.validate_session(session.token) is not None
    assert client.sent == ["HMGET"]
    result = client.close() if flavour == "sync" else client.aclose()
    if asyncio.iscoroutine(result):
        await result


# Key layout and Redis Cluster slots


async def test_keys_carry_the_prefix_and_hash_by_their_id(
    adapter: Adapter, store: Harness, raw: redis.Redis, redis_prefix: str
) -> None:
    records = [_record("ada", T), _record("ada", T), _record("bob", T)]
    for record in records:
        await store.insert_session(record)
    keys = adapter.keys
    written = {key.decode() for key in raw.scan_iter(match=f"{redis_prefix}*")}
    indexes = {keys.user("ada"), keys.user("bob"), keys.expiries}
    assert written == indexes | {keys.session(r.id) for r in records}
    # The user's index hashes by the user id alone, a session's key by the
    # session id alone: no key's slot depends on the prefix.
    assert key_slot(keys.user("ada").encode()) == key_slot(b"ada")
    for record in records:
        assert key_slot(keys.session(record.id).encode()) == key_slot(record.id.encode())
    # Nothing of these sessions was written outside the prefix.
    ids = [r.id for r in records]
    for key in raw.scan_iter(count=10_000):
        if any(i in key.decode(errors="replace") for i in ids):
            assert key.decode().startswith(redis_prefix)


def test_a_prefix_with_braces_is_refused(redis_url: str) -> None:
    # A brace in the prefix would become the hash tag of every key: one slot for all.
    for prefix in ("{lucia}:", "lu}cia:"):
        with pytest.raises(ValueError, match="prefix"):
            RedisSessionAdapter(redis_url, prefix=prefix)


# The index


async def test_insert_prunes_expired_entries_but_keeps_renewed_sessions(
    adapter: Adapter, store: Harness, raw: redis.Redis
) -> None:
    index = adapter.keys.user("u1")
    gone = _record("u1", T, timedelta(hours=1))
    renewed = _record("u1", T, timedelta(hours=2))
    for record in (gone, renewed):
        await store.insert_session(record)
    # The renewal leaves the index score at T+2h, and the key TTL runs out.
    await store.update_session_expiry(renewed.id, T + timedelta(hours=5))
    raw.delete(adapter.keys.session(gone.id))
    later = _record("u1", T + timedelta(hours=3))
    await store.insert_session(later)
    assert _members(raw, index) == {renewed.id, later.id}
    # ...and the renewed session is still found when the user is signed out everywhere.
    await store.delete_user_sessions("u1")
    assert await store.get_user_sessions("u1") == []
    assert await store.get_session(renewed.id) is None


async def test_delete_expired_sessions_counts_the_keys_it_deleted(
    adapter: Adapter, store: Harness, raw: redis.Redis
) -> None:
    keys = adapter.keys
    held = _record("u1", T, timedelta(hours=1))  # expired, its key still in Redis
    dropped = _record("u1", T, timedelta(hours=1))  # expired, Redis already dropped it
    renewed = _record("u1", T, timedelta(hours=2))  # renewed past the purge time
    young = _record("u2", T, timedelta(hours=10))
    for record in (held, dropped, renewed, young):
        await store.insert_session(record)
    await store.update_session_expiry(renewed.id, T + timedelta(hours=5))
    raw.delete(keys.session(dropped.id))
    raw.zadd(keys.user("u2"), {"foreign": 0})
    raw.set(keys.session("foreign"), "not ours")

    assert await store.delete_expired_sessions(T + timedelta(hours=3)) == 1
    assert await store.get_session(held.id) is None
    assert _members(raw, keys.user("u1")) == {renewed.id}
    assert raw.zscore(keys.user("u1"), renewed.id) == (T + timedelta(hours=5)).timestamp()
    assert raw.get(keys.session("foreign")) == b"not ours"  # not ours to delete
    assert _members(raw, keys.user("u2")) == {young.id, "foreign"}
    assert await store.delete_expired_sessions(T + timedelta(hours=3)) == 0


async def test_revocation_racing_sign_ins_leaves_every_live_session_revocable(
    adapter: Adapter,
) -> None:
    # Sessions created while the user is signed out everywhere may survive
    # (they were created after the revocation started), but never outside the
    # user's index: the next revocation gets every one of them.
    auth = _auth(adapter, Clock(T), session_expires_in=LIFE)
    user = await auth.create_user("github", "1")
    count = 30
    if isinstance(adapter, AsyncRedisSessionAdapter):
        calls: list[Any] = [auth.create_session(user.id) for _ in range(count)]
        calls.insert(count // 2, auth.invalidate_user_sessions(user.id))
        created = [s for s in await asyncio.gather(*calls) if s is not None]
    else:
        barrier = threading.Barrier(count + 1)

        def run(call: Any) -> Any:
            barrier.wait()
            return asyncio.run(call())

        with ThreadPoolExecutor(max_workers=count + 1) as pool:
            futures = [pool.submit(run, lambda: auth.create_session(user.id)) for _ in range(count)]
            futures.append(pool.submit(run, lambda: auth.invalidate_user_sessions(user.id)))
            created = [s for s in (f.result() for f in futures) if s is not None]
    listed = {s.id for s in await auth.get_user_sessions(user.id)}
    for session in created:
        if await auth.validate_session(session.token) is not None:
            assert session.id in listed
    await auth.invalidate_user_sessions(user.id)
    for session in created:
        assert await auth.validate_session(session.token) is None


# Garbage under a session key

GARBAGE: dict[str, Any] = {
    "a string": "garbage",
    "a missing field": {"h": None},
    "a secret hash that is not base64": {"h": "not base64!"},
    "a secret hash of the wrong length": {"h": base64.b64encode(b"short").decode()},
    "an expiry that is not a time": {"e": "soon"},
    "attributes that are not JSON": {"a": "{"},
    "attributes that are not an object": {"a": "[1]"},
    "a user id that is not UTF-8": {"u": b"\xff\xfe"},
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_in_a_session_key_is_never_a_session(
    adapter: Adapter, store: Harness, raw: redis.Redis, garbage: Any
) -> None:
    auth = _auth(adapter, Clock(T), session_expires_in=LIFE)
    user = await auth.create_user("github", "1")
    session = await auth.create_session(user.id)
    key = adapter.keys.session(session.id)
    if isinstance(garbage, str):
        raw.delete(key)
        raw.set(key, garbage)
    else:
        for field, value in garbage.items():
            raw.hdel(key, field) if value is None else raw.hset(key, field, value)
    with pytest.raises(DatabaseError, match="Redis") as raised:
        await store.get_session(session.id)
    assert session.id not in str(raised.value)
    with pytest.raises(DatabaseError):
        await auth.validate_session(session.token)
    with pytest.raises(DatabaseError):
        await auth.get_user_sessions(user.id)
    # Maintenance still works around it.
    assert isinstance(await store.delete_expired_sessions(T + timedelta(days=1)), int)
    await auth.invalidate_user_sessions(user.id)
    assert raw.exists(key) == 0


# Failures


def _client(flavour: str, **options: Any) -> Any:
    # No retries: a client passed in keeps its own policy, and redis-py's default
    # (ten retries with backoff) would make each refused call take seconds.
    if flavour == "sync":
        return redis.Redis(host="127.0.0.1", retry=Retry(NoBackoff(), 0), **options)
    return redis.asyncio.Redis(
        host="127.0.0.1", retry=redis.asyncio.retry.Retry(NoBackoff(), 0), **options
    )


async def test_no_password_in_errors_or_repr(flavour: str) -> None:
    password = "s3cret-xyz"
    made = [
        _adapter(flavour, f"redis://:{password}@127.0.0.1:1/0"),
        _adapter(flavour, _client(flavour, port=1, password=password)),
    ]
    for adapter in made:
        store = Harness(adapter)
        assert password not in repr(adapter)
        for call in (
            store.get_session("x" * 20),
            store.insert_session(_record("u1", T)),
            store.delete_expired_sessions(T),
        ):
            with pytest.raises(DatabaseError, match="Redis unreachable") as raised:
                await call
            shown = "".join(traceback.format_exception(raised.value)) + repr(raised.value)
            assert password not in shown
        await _close(adapter)
    with pytest.raises(ValueError, match="invalid Redis URL") as bad:
        _adapter(flavour, f"redis://:{password}@127.0.0.1:notaport/0")
    assert password not in str(bad.value)


async def test_outage_gives_database_error_quickly_and_recovers(
    flavour: str, redis_url: str, redis_prefix: str
) -> None:
    target = urlsplit(redis_url)
    with TCPProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        url = target._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
        adapter = _adapter(flavour, url, redis_prefix)
        auth = _auth(adapter, Clock(T), session_expires_in=LIFE)
        user = await auth.create_user("github", "1")
        session = await auth.create_session(user.id)
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="Redis unreachable"):
            await auth.validate_session(session.token)
        with pytest.raises(DatabaseError, match="Redis unreachable"):
            await auth.create_session(user.id)
        assert time.monotonic() - started < 2
        proxy.restore()
        assert await auth.validate_session(session.token) is not None
        assert await auth.create_session(user.id) is not None
        await _close(adapter)


async def test_a_client_passed_in_stays_open(flavour: str, redis_url: str) -> None:
    if flavour == "sync":
        client: Any = redis.Redis.from_url(redis_url)
    else:
        client = redis.asyncio.Redis.from_url(redis_url)
    adapter = _adapter(flavour, client)
    await _close(adapter)
    result = client.ping()
    assert (await result if asyncio.iscoroutine(result) else result) is True
    if flavour == "sync":
        client.close()
    else:
        await client.aclose()


# Redis Cluster: a one-node cluster enforces the slot rules (CROSSSLOT) like a big one.


def _free_cluster_port() -> int:
    # The cluster bus listens on port + 10000: both must be free.
    for _ in range(100):
        port = secrets.randbelow(30000) + 20000
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


@pytest.fixture(scope="module")
def cluster_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A one-node Redis Cluster of this test module's own (the machine's Redis is untouched)."""
    server = shutil.which("redis-server")
    if server is None:
        unavailable("Redis Cluster", "no redis-server binary to start one")
    directory: Path = tmp_path_factory.mktemp("redis-cluster")
    port = _free_cluster_port()
    process = subprocess.Popen(
        [
            *(server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"),
            *("--cluster-config-file", str(directory / "nodes.conf"), "--dir", str(directory)),
            *("--save", "", "--appendonly", "no", "--logfile", str(directory / "redis.log")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + 15
        slots_added = False
        while True:
            if process.poll() is not None:
                log = (directory / "redis.log").read_text().strip().splitlines()
                unavailable("Redis Cluster", log[-1] if log else "redis-server exited")
            try:
                if not slots_added:
                    client.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
                    slots_added = True
                if b"cluster_state:ok" in client.execute_command("CLUSTER", "INFO"):
                    break
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    unavailable("Redis Cluster", exc)
            if time.monotonic() > deadline:
                unavailable("Redis Cluster", "the cluster did not come up")
            time.sleep(0.05)
        yield port
    finally:
        client.close()
        process.terminate()
        process.wait(10)


async def test_every_operation_works_on_redis_cluster(flavour: str, cluster_port: int) -> None:
    node = redis.Redis(host="127.0.0.1", port=cluster_port)
    with pytest.raises(redis.ResponseError, match="same slot"):
        node.execute_command("MSET", "a", 1, "b", 2)  # the server does enforce slots
    if flavour == "sync":
        client: Any = redis.cluster.RedisCluster(host="127.0.0.1", port=cluster_port)
    else:
        client = redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=cluster_port)
    prefix = f"t{secrets.token_hex(4)}:"
    adapter = _adapter(flavour, client, prefix)
    clock = Clock(T)
    auth = _auth(adapter, clock, session_expires_in=LIFE)
    store = Harness(adapter)
    ada = await auth.create_user("github", "1")
    bob = await auth.create_user("github", "2")
    sessions = [await auth.create_session(ada.id) for _ in range(5)]
    kept = await auth.create_session(bob.id)
    assert len(await auth.get_user_sessions(ada.id)) == 5
    clock.advance(hours=1, minutes=30)
    renewed, _ = await auth.validate_session(sessions[0].token)
    assert renewed.fresh
    await auth.invalidate_session(sessions[1].id)
    assert len(await auth.get_user_sessions(ada.id)) == 4
    clock.advance(hours=1)
    assert (
        await auth.delete_expired_sessions() == 4
    )  # 3 of ada's and bob's: not the renewed one nor the signed-out one
    assert [s.id for s in await auth.get_user_sessions(ada.id)] == [sessions[0].id]
    await auth.invalidate_user_sessions(ada.id)
    assert await auth.validate_session(sessions[0].token) is None
    assert await store.get_user_sessions(ada.id) == []
    await store.delete_session(kept.id)
    assert await store.get_session(kept.id) is None
    if flavour == "sync":
        client.close()
    else:
        await client.aclose()
    node.close()
