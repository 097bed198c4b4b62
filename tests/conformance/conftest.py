from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import MemoryAdapter
from tests.conformance.backends import BACKENDS, Backend, Stores
from tests.conftest import Clock, Harness

SESSION_LIFE = timedelta(hours=2)


@pytest.fixture(params=BACKENDS, ids=[b.id for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def stores(backend: Backend, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with backend.open(request, tmp_path) as opened:
        yield opened
        # After every test of the suite, the memory store's indexes (by user, by
        # expiry) still match its sessions, whatever the test created, renewed,
        # revoked, purged or deleted.
        memory = getattr(opened.adapter, "sync", opened.adapter)
        if isinstance(memory, MemoryAdapter):
            memory.check_indexes()


@pytest.fixture
def lucia(backend: Backend, stores: Stores, clock: Clock) -> Lucia | AsyncLucia:
    cls: Any = AsyncLucia if backend.is_async else Lucia
    return cls(  # type: ignore[no-any-return]
        stores.adapter,
        session_adapter=stores.session_adapter,
        clock=clock,
        session_expires_in=SESSION_LIFE,
    )


@pytest.fixture
def auth(lucia: Lucia | AsyncLucia) -> Harness:
    """The lucia under test, called as ``await auth.method(...)`` whatever its flavour."""
    return Harness(lucia)


@pytest.fixture
def store(stores: Stores) -> Harness:
    """The session store, called as ``await store.method(...)``."""
    return Harness(stores.session_adapter or stores.adapter)


@pytest.fixture
def user_store(stores: Stores) -> Harness:
    """The user store, called as ``await user_store.method(...)``."""
    return Harness(stores.adapter)
