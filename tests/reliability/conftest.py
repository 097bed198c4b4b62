"""Fixtures of the load and fault tests."""

from tests.reliability.servers import private_postgres, private_redis

__all__ = ["private_postgres", "private_redis"]
