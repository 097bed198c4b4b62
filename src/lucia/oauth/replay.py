"""The OAuth callback's replay cache (SECURITY.md item 22): a state is accepted once."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

__all__ = ["ConsumedStates"]

_CONSUMED_STATES_LIMIT = 50_000


class ConsumedStates:
    """The states this process has seen at a callback, until their transactions expire.

    A replayed callback (same cookie, same code) is refused here before any
    request to the provider. It is per process: across processes or after a
    restart the provider's own rule that a code is redeemed once (RFC 6749
    §4.1.2) is what stops the replay, and the browser's cookie is deleted by the
    first answer anyway. Past ``limit`` entries the oldest are forgotten first.
    """

    def __init__(self, limit: int = _CONSUMED_STATES_LIMIT) -> None:
        self._lock = threading.Lock()
        self._seen: OrderedDict[bytes, int] = OrderedDict()
        self._limit = limit

    def consume(self, state: str, expires_at: int, now: int) -> bool:
        """Mark ``state`` used; False if it already was."""
        # Only a digest is kept, so the states themselves never sit in memory.
        digest = hashlib.sha256(state.encode("ascii")).digest()
        with self._lock:
            # Looked up before anything is forgotten: at the limit, a replay of
            # the oldest state must still be refused.
            expiry = self._seen.get(digest)
            if expiry is not None and expiry >= now:
                return False
            # Expired entries go first; a live one only to make room for this state.
            while self._seen:
                oldest, expiry = next(iter(self._seen.items()))
                if expiry >= now and len(self._seen) < self._limit:
                    break
                del self._seen[oldest]
            self._seen.pop(digest, None)
            self._seen[digest] = expires_at
            return True
