"""An in-memory store for tests and experiments; everything is lost with the process.

It keeps the same promises as the SQL adapters (atomic user creation, unique
keys, case-sensitive lookups, cascading deletes) under one lock, and hands out
copies so callers cannot change what is stored behind its back.

Sessions are indexed as a database would index them: by user (listing and
revoking a user's sessions touch only theirs, not every session) and by expiry
(buckets per second in a heap, so a purge finds the expired ones without a scan
and deletes them in batches, releasing the lock between batches).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from lucia.adapters._async.memory import AsyncMemoryAdapter as _AsyncMemoryAdapter
from lucia.adapters._sync.memory import MemoryAdapter
from lucia.adapters.base import publish

__all__ = ["AsyncMemoryAdapter", "MemoryAdapter"]

publish(__name__, MemoryAdapter)


class AsyncMemoryAdapter(_AsyncMemoryAdapter):
    """``AsyncAdapter`` keeping users, keys and sessions in dicts (nothing ever waits).

    Given a ``MemoryAdapter``, it is that store, called from async code: each
    call runs the store's method as the store has it at that moment (a subclass's
    override, or one patched in by a test, fails here too), on the same data.
    """

    def __init__(self, sync: MemoryAdapter | None = None) -> None:
        super().__init__()
        self._sync = sync
        if sync is None:
            return
        # The same dicts and lock (neither class ever rebinds them).
        vars(self).update(vars(sync))
        for name in _METHODS:
            setattr(self, name, _forward(sync, name))

    @property
    def sync(self) -> MemoryAdapter:
        """The ``MemoryAdapter`` given, or one on the same data, for sync code."""
        if self._sync is None:
            store = MemoryAdapter.__new__(MemoryAdapter)
            vars(store).update({k: v for k, v in vars(self).items() if k != "_sync"})
            self._sync = store
        return self._sync


_METHODS = [
    name
    for name, value in vars(_AsyncMemoryAdapter).items()
    if inspect.iscoroutinefunction(value) and not name.startswith("_")
]


def _forward(store: MemoryAdapter, name: str) -> Callable[..., Awaitable[Any]]:
    """``store.<name>`` as a coroutine function, looked up at each call (it runs
    inline: nothing waits)."""

    @functools.wraps(getattr(MemoryAdapter, name))
    async def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(store, name)(*args, **kwargs)

    return call
