"""Where CPU-heavy work (password hashing) runs, for each flavour.

The one piece of core written once per flavour on purpose (as httpcore's
``_synchronization``): code in ``_async/`` awaits ``arun_cpu``, and the
generated ``_sync/`` twin calls ``run_cpu`` in its place.

Password hashing (Argon2id, ~tens of ms of CPU each) for async callers runs on
lucia's own pool unless the application passes its own ``hash_executor``.
asyncio's default executor has min(32, CPUs + 4) threads: a storm of sign-ins
then takes every core and the event loop (cheap requests) starves. One thread
fewer than the CPUs leaves a core to the loop. The pool is module-wide, not per
``AsyncLucia``, so the bound holds however many instances an application builds;
its threads start on first use and concurrent.futures joins them at interpreter
exit, so there is nothing for an application to close.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias, TypeVar, Union

__all__ = [
    "HASH_WORKERS",
    "Deferred",
    "Immediate",
    "arun_cpu",
    "default_hash_executor",
    "run_cpu",
]

P = ParamSpec("P")
R = TypeVar("R")

HASH_WORKERS = max(1, (os.cpu_count() or 2) - 1)
_hash_pool: ThreadPoolExecutor | None = None
_hash_pool_lock = threading.Lock()


def default_hash_executor() -> Executor:
    """lucia's shared pool for password hashing (``HASH_WORKERS`` threads), made on first use."""
    global _hash_pool
    with _hash_pool_lock:
        if _hash_pool is None:
            _hash_pool = ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="lucia-hash")
        return _hash_pool


def _forget_hash_pool() -> None:
    # A forked child has none of the parent's threads; a pool that believes it
    # has them would never run a task, so the child makes its own.
    global _hash_pool, _hash_pool_lock
    _hash_pool = None
    _hash_pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_hash_pool)


def run_cpu(executor: Executor | None, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args)`` on the calling thread, or on ``executor`` when given (the caller
    waits): a threaded server can so bound how many hashes run at once."""
    if executor is None:
        return fn(*args, **kwargs)
    return executor.submit(fn, *args, **kwargs).result()


async def arun_cpu(
    executor: Executor | None, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """``fn(*args)`` off the event loop, on ``executor`` or else lucia's bounded hash
    pool; context variables go along (as with ``asyncio.to_thread``)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(
        executor or default_hash_executor(), call
    )


# The return type of a method that hands back its result, for sync callers, or
# a coroutine to await, for async ones, without being a coroutine function of
# its own (one coroutine fewer on a hot path). The async source writes
# ``Deferred[T]``; the generated sync code reads ``Immediate[T]``, which is T.
T = TypeVar("T")
Deferred: TypeAlias = Coroutine[Any, Any, T]
if TYPE_CHECKING:
    Immediate: TypeAlias = Union[T]  # noqa: UP007  # a generic alias of T itself
else:

    class Immediate:
        def __class_getitem__(cls, item: object) -> object:
            return item
