"""What the framework integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lucia.adapters.base import SessionRecord, UserRecord
from lucia.adapters.memory import MemoryAdapter
from lucia.errors import DatabaseError
from lucia.testing.oidc_provider import LocalOIDCProvider

ROUTE = "local"
PASSWORD = "correct horse battery staple"


class FlakyStore(MemoryAdapter):
    """A memory store whose session reads fail on demand, like a database going away."""

    failing = False

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        if self.failing:
            raise DatabaseError("connection to postgres://admin:hunter2@db failed")
        return super().get_session_and_user(session_id)


@pytest.fixture(scope="module")
def op_server() -> Iterator[LocalOIDCProvider]:
    """A local OpenID provider for the module's sign-ins."""
    with LocalOIDCProvider() as op:
        yield op
