# Generated from src/lucia/adapters/_async/purges.py by scripts/generate_sync.py: do not edit.
"""Purges of expired sessions and one-time tokens, written once for every store
(the sync ``SessionPurges`` and ``TokenPurges`` are generated from this file into
``lucia/adapters/_sync/purges.py``).

A store deletes one batch (``delete_expired_sessions_batch``,
``delete_expired_tokens_batch``: at most ``limit`` rows expired at ``now``) and
inherits the purge, which repeats that batch as ``lucia.adapters._purge``
describes and rests ``purge_rest`` between batches.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Protocol

from lucia.adapters._purge import PURGE_BATCH_SIZE, BatchOutcome, PurgeProgress, purge_in_batches

__all__ = ["SessionPurges", "TokenPurges"]


class _Rests:
    """The rest between purge batches a store has unless it says otherwise."""

    @property
    def purge_rest(self) -> float:
        """How long a purge rests after each batch, per second the batch took
        (servers lock rows, not the table: none)."""
        return 0.0


class _SessionBatches(Protocol):
    @property
    def purge_rest(self) -> float: ...
    def delete_expired_sessions_batch(self, now: datetime, limit: int) -> BatchOutcome: ...


class _TokenBatches(Protocol):
    @property
    def purge_rest(self) -> float: ...
    def delete_expired_tokens_batch(self, now: datetime, limit: int) -> BatchOutcome: ...


class SessionPurges(_Rests):
    """``delete_expired_sessions`` for a store that deletes one batch of them."""

    def delete_expired_sessions(
        self: _SessionBatches,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the sessions expired at ``now`` in batches of ``batch_size``, each
        committed on its own; ``progress`` gets each batch's count. How many went."""
        delete_batch = functools.partial(self.delete_expired_sessions_batch, now)
        return purge_in_batches(delete_batch, batch_size, progress, self.purge_rest)


class TokenPurges(_Rests):
    """``delete_expired_tokens`` for a store that deletes one batch of them."""

    def delete_expired_tokens(
        self: _TokenBatches,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the tokens expired at ``now`` in batches (as ``delete_expired_sessions``)."""
        delete_batch = functools.partial(self.delete_expired_tokens_batch, now)
        return purge_in_batches(delete_batch, batch_size, progress, self.purge_rest)
