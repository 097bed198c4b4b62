"""The OAuth flow's replay cache (``lucia.oauth.replay.ConsumedStates``, SECURITY.md
item 22): what it remembers, for how long, and its bound on memory."""

from __future__ import annotations

import hashlib

from lucia.oauth import replay
from lucia.oauth.replay import ConsumedStates as _ConsumedStates


def test_sec22_a_state_is_consumed_once() -> None:
    cache = _ConsumedStates()
    assert cache.consume("state-a", expires_at=100, now=0) is True
    assert cache.consume("state-a", expires_at=100, now=1) is False
    assert cache.consume("state-b", expires_at=100, now=1) is True
    assert cache.consume("state-b", expires_at=100, now=2) is False


def test_sec22_remembered_until_its_transaction_expires() -> None:
    cache = _ConsumedStates()
    assert cache.consume("state-a", expires_at=10, now=0) is True
    # At its expiry instant the transaction is still valid, so is the memory of it.
    assert cache.consume("state-a", expires_at=10, now=10) is False
    # Once expired, the transaction itself is refused; the cache may forget it.
    assert cache.consume("state-b", expires_at=30, now=11) is True
    assert cache.consume("state-a", expires_at=10, now=11) is True


def test_sec22_other_states_do_not_sweep_a_state_at_its_expiry_instant() -> None:
    cache = _ConsumedStates()
    assert cache.consume("state-a", expires_at=10, now=0) is True
    assert cache.consume("state-b", expires_at=30, now=10) is True
    assert cache.consume("state-a", expires_at=10, now=10) is False


def test_sec22_a_state_consumed_again_counts_as_the_newest() -> None:
    # Its first transaction expired; consumed again, it is the last to be forgotten.
    cache = _ConsumedStates(limit=4)
    assert cache.consume("b", expires_at=100, now=0) is True
    assert cache.consume("a", expires_at=10, now=0) is True
    assert cache.consume("c", expires_at=100, now=0) is True
    assert cache.consume("a", expires_at=200, now=11) is True
    assert cache.consume("d", expires_at=100, now=11) is True
    assert cache.consume("e", expires_at=100, now=11) is True  # forgets b
    assert cache.consume("f", expires_at=100, now=11) is True  # forgets c, not a
    assert cache.consume("a", expires_at=200, now=11) is False
    assert cache.consume("c", expires_at=100, now=11) is True


def test_sec22_size_limit_forgets_the_oldest_first() -> None:
    cache = _ConsumedStates(limit=3)
    for number in range(6):
        assert cache.consume(f"s{number}", expires_at=100, now=0) is True
        assert len(cache._seen) <= 3
    assert cache.consume("s5", expires_at=100, now=0) is False
    assert cache.consume("s4", expires_at=100, now=0) is False
    assert cache.consume("s0", expires_at=100, now=0) is True  # forgotten, the oldest


def test_sec22_a_full_cache_still_refuses_every_replay() -> None:
    cache = _ConsumedStates(limit=3)
    for state in ("s0", "s1", "s2"):
        assert cache.consume(state, expires_at=100, now=0) is True
    assert [cache.consume(s, expires_at=100, now=0) for s in ("s0", "s1", "s2")] == [False] * 3
    # The lookups forgot nothing; a new state makes room by forgetting the oldest.
    assert cache.consume("s3", expires_at=100, now=0) is True
    assert [cache.consume(s, expires_at=100, now=0) for s in ("s1", "s2", "s3")] == [False] * 3


def test_sec22_default_limit_bounds_memory() -> None:
    assert replay._CONSUMED_STATES_LIMIT == 50_000
    cache = _ConsumedStates()
    for number in range(50_000):
        cache.consume(f"state-{number}", expires_at=100, now=0)
    assert len(cache._seen) == 50_000
    assert cache.consume("state-49999", expires_at=100, now=0) is False
    assert cache.consume("one-more", expires_at=100, now=0) is True
    assert len(cache._seen) == 50_000
    assert cache.consume("state-0", expires_at=100, now=0) is True


def test_sec22_only_digests_are_kept() -> None:
    cache = _ConsumedStates()
    cache.consume("a-state-value", expires_at=100, now=0)
    assert list(cache._seen) == [hashlib.sha256(b"a-state-value").digest()]
