"""Fixtures of the framework integration tests."""

from tests.integrations.common import op_server

__all__ = ["op_server"]
