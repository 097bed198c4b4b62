"""What the framework integration tests share."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest

from lucia.adapters.base import SessionRecord, UserRecord
from lucia.adapters.memory import MemoryAdapter
from lucia.errors import DatabaseError
from lucia.testing.oidc_provider import LocalOIDCProvider

ROUTE = "local"
PASSWORD = "correct horse battery staple"


class FailingReads:
    """Mixed into a store: its session reads fail while ``failing``, like a database
    going away (the error's message carries a password the logs must not show)."""

    failing = False

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        if self.failing:
            raise DatabaseError("connection to postgres://admin:hunter2@db failed")
        found: tuple[SessionRecord, UserRecord] | None
        found = super().get_session_and_user(session_id)  # type: ignore[misc]  # the store's
        return found


class FlakyStore(FailingReads, MemoryAdapter):
    """A memory store whose session reads fail on demand."""


@pytest.fixture(scope="module")
def op_server() -> Iterator[LocalOIDCProvider]:
    """A local OpenID provider for the module's sign-ins."""
    with LocalOIDCProvider() as op:
        yield op


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Raw Set-Cookie headers by cookie name (Django's WSGI handler starts them with a space)."""
    values = [raw.strip() for raw in response.headers.get_list("set-cookie")]
    return {raw.split("=", 1)[0]: raw for raw in values}


def attributes(raw: str) -> dict[str, str]:
    """A Set-Cookie header's attributes by lower-case name; ``secure`` and
    ``httponly`` are "yes" when present."""
    parsed = SimpleCookie()
    parsed.load(raw)
    (morsel,) = parsed.values()
    result = {key.lower(): str(value) for key, value in morsel.items() if value}
    for flag in ("Secure", "HttpOnly"):
        if flag.lower() in raw.lower():
            result[flag.lower()] = "yes"
    return result
