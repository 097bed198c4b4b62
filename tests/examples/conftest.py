"""Fixtures for the tests of the apps in examples/: load them by path, run a local GitHub."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from lucia.testing.github import LocalGitHub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE = "https://testserver"
SAME_ORIGIN = {"Origin": BASE}
PASSWORD = "correct horse battery staple"


def load_example(relative: str) -> ModuleType:
    """Import ``examples/<relative>`` under a unique name (each example has an ``app.py``)."""
    path = EXAMPLES / relative
    name = "lucia_example_" + relative.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def local_github() -> Iterator[LocalGitHub]:
    """GitHub's sign-in endpoints on loopback, accepting the examples' callback URL."""
    with LocalGitHub(redirect_uris=[f"{BASE}/login/github/callback"]) as github:
        yield github
