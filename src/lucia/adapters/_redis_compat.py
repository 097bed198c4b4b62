"""redis-py's client classes of both flavours under plain names.

The generator (``scripts/generate_sync.py``) renames tokens, not dotted paths:
``redis.asyncio.Redis`` cannot become ``redis.Redis``, but ``AsyncRedis`` can
become ``Redis``. So the async source imports these names from here.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.cluster import RedisCluster
from redis.retry import Retry

__all__ = [
    "AsyncCall",
    "AsyncRedis",
    "AsyncRedisCluster",
    "AsyncRetry",
    "Call",
    "Redis",
    "RedisCluster",
    "Retry",
]

T = TypeVar("T")
AsyncCall = Callable[[], Awaitable[T]]
"""What a retry policy calls: a command, as a coroutine function."""
Call = Callable[[], T]
"""What a retry policy calls: a command."""
