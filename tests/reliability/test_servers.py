"""The private servers' fixtures follow tests/servers.py: a missing ``initdb`` or
``redis-server`` skips on a laptop and fails when ``CI=true``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import tests.servers
from tests.reliability import servers


@pytest.fixture
def nothing_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    monkeypatch.setattr(servers.glob, "glob", lambda pattern: [])


@pytest.mark.usefixtures("nothing_installed")
@pytest.mark.parametrize(
    ("require", "named"),
    [(servers.require_postgres_bin, "initdb"), (servers.require_redis_server, "redis-server")],
)
@pytest.mark.parametrize(
    ("in_ci", "outcome"), [(True, pytest.fail.Exception), (False, pytest.skip.Exception)]
)
def test_a_missing_server_program_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
    require: Callable[[], Any],
    named: str,
    in_ci: bool,
    outcome: type[BaseException],
) -> None:
    monkeypatch.setattr(tests.servers, "IN_CI", in_ci)
    with pytest.raises(outcome, match=named):
        require()


def test_the_installed_programs_are_found() -> None:
    # This machine has both (CI installs them too): the lookups find real files.
    assert (servers.require_postgres_bin() / "pg_ctl").exists()
    assert servers.require_redis_server().endswith("redis-server")
