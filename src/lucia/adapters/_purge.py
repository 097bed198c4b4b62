"""Purging in bounded batches, the same way on every store.

A purge of expired sessions or tokens deletes at most ``batch_size`` rows per
statement (or per lock, or per Redis round), each batch committed on its own,
so no purge holds a lock that writers wait on for longer than one batch takes
(SQLite has one write lock for the whole file: an unbounded DELETE of ten
million rows held it for 24 s). ``progress`` is told each batch's count.

Each store supplies one thing: how to delete one batch. ``purge_in_batches``
(or ``apurge_in_batches``) repeats it until a batch comes back short.

``rest`` lets writers in between batches: after each batch the purge sleeps
``rest`` times as long as the batch took. SQLite needs it (1.0): a writer that
finds the file locked polls (SQLite's busy handler sleeps 1, 2, 5, ... up to 100
ms between tries), and batches run back to back would leave it almost no
moment to get in. Measured on a purge of 10^6 expired sessions, batches of
1000, with a writer inserting every 20 ms on its own connection: with no rest
it waited up to 2.7 s; with rest 1.0 at most 82 ms (the purge took 12.8 s
instead of 6.4 s; one unbatched DELETE held the lock for 5.4 s). Servers lock
rows, not the table: no rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = [
    "PURGE_BATCH_SIZE",
    "BatchOutcome",
    "PurgeBatches",
    "PurgeProgress",
    "apurge_in_batches",
    "check_batch_size",
    "purge_in_batches",
]

PURGE_BATCH_SIZE = 1000
"""Rows a purge deletes per batch by default: on SQLite a few ms of the write
lock per batch (2.5 ms median, 34 ms at most over 10^6 rows), on servers less."""

PurgeProgress = Callable[[int], None]
"""Called after each batch that deleted something, with how many it deleted."""


def check_batch_size(batch_size: int) -> int:
    """``batch_size`` if it is a positive int, else ValueError."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("batch_size must be a positive integer")
    return batch_size


class PurgeBatches:
    """A purge's bookkeeping: the running total, the progress calls, when to stop."""

    def __init__(self, batch_size: int, progress: PurgeProgress | None, rest: float) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.progress = progress
        self.rest = rest
        self.total = 0
        self.started = time.monotonic()

    def pause(self) -> float:
        """How long to sleep before the next batch (and the clock restarts for it)."""
        now = time.monotonic()
        pause = (now - self.started) * self.rest
        self.started = now + pause  # the next batch starts after the pause
        return pause

    def done(self, outcome: BatchOutcome) -> bool:
        """Count one batch; True when it was the last (it came back short)."""
        count, examined = (outcome, outcome) if isinstance(outcome, int) else outcome
        if count > 0:
            self.total += count
            if self.progress is not None:
                self.progress(count)
        return examined < self.batch_size


BatchOutcome = int | tuple[int, int]
"""What one batch did: the rows it deleted, or (deleted, examined) for a store
whose batch looks at entries that may be gone already (Redis's index)."""


def purge_in_batches(
    delete_batch: Callable[[int], BatchOutcome],
    batch_size: int,
    progress: PurgeProgress | None,
    rest: float = 0.0,
) -> int:
    """Call ``delete_batch(batch_size)`` until a batch comes back short; the total."""
    batches = PurgeBatches(batch_size, progress, rest)
    while not batches.done(delete_batch(batches.batch_size)):
        if rest:
            time.sleep(batches.pause())
    return batches.total


async def apurge_in_batches(
    delete_batch: Callable[[int], Awaitable[BatchOutcome]],
    batch_size: int,
    progress: PurgeProgress | None,
    rest: float = 0.0,
) -> int:
    """``purge_in_batches`` for a coroutine ``delete_batch``."""
    batches = PurgeBatches(batch_size, progress, rest)
    while not batches.done(await delete_batch(batches.batch_size)):
        if rest:
            await asyncio.sleep(batches.pause())
    return batches.total
