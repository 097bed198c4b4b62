"""What a conformance backend is. Kept apart from ``backends.py`` (the registry,
which imports every backend module) so a backend module can be imported first."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Stores:
    adapter: Any
    session_adapter: Any = None


@dataclass(frozen=True)
class Backend:
    name: str
    is_async: bool
    # A context manager factory yielding fresh, empty Stores. It receives the
    # pytest request (for server fixtures such as postgres_conninfo) and a tmp dir.
    open: Callable[[pytest.FixtureRequest, Path], AbstractContextManager[Stores]]

    @property
    def id(self) -> str:
        return f"{self.name}-{'async' if self.is_async else 'sync'}"
