"""Conformance backends on Django's database connections: ``DjangoAdapter`` and
``AsyncDjangoAdapter`` over the test project's SQLite file and over PostgreSQL
(this run's schema, as a second ``DATABASES`` alias), each migrated once, with
lucia's tables emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conformance.model import Backend, Stores
from tests.integrations.django_project import setup

_migrated: set[str] = set()


def fresh_database(using: str = "default") -> None:
    """Migrate ``using`` once per process, then empty lucia's tables."""
    setup()
    from django.core.management import call_command
    from django.db import connections

    if using not in _migrated:
        call_command("migrate", database=using, verbosity=0)
        _migrated.add(using)
    with connections[using].cursor() as cursor:
        for table in ("lucia_token", "lucia_session", "lucia_key", "lucia_user"):
            cursor.execute(f"DELETE FROM {table}")


def postgres_alias(conninfo: str) -> str:
    """A ``DATABASES`` alias for ``conninfo``, added to the configured project once."""
    setup()
    from django.db import connections
    from psycopg.conninfo import conninfo_to_dict

    alias = "lucia_postgres"
    if alias not in connections.settings:
        params = conninfo_to_dict(conninfo)
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": params.get("dbname", ""),
            "USER": params.get("user", ""),
            "PASSWORD": params.get("password", ""),
            "HOST": params.get("host", ""),
            "PORT": str(params.get("port", "")),
            "OPTIONS": {"options": params.get("options", "")},
        }
        # configure_settings fills in Django's defaults for one database.
        connections.settings[alias] = connections.configure_settings({"default": config})["default"]
    return alias


@contextmanager
def _django(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    from lucia.integrations.django.adapter import DjangoAdapter

    fresh_database()
    # The suite's test functions are coroutines that call this sync adapter
    # directly on the event loop's thread, which Django refuses by default.
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield Stores(DjangoAdapter())


@contextmanager
def _async_django(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    from lucia.integrations.django.adapter import AsyncDjangoAdapter

    fresh_database()
    yield Stores(AsyncDjangoAdapter())


@contextmanager
def _async_django_postgres(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Stores]:
    from lucia.integrations.django.adapter import AsyncDjangoAdapter, DjangoAdapter

    alias = postgres_alias(request.getfixturevalue("postgres_conninfo"))
    fresh_database(alias)
    yield Stores(AsyncDjangoAdapter(DjangoAdapter(alias)))


# Only the async flavour on PostgreSQL: Django opens one connection per thread
# and returns it at the end of a request, so the sync suite's 100 racing threads
# (no requests) would need 100 server connections at once.
BACKENDS: list[Backend] = [
    Backend("django-sqlite", False, _django),
    Backend("django-sqlite", True, _async_django),
    Backend("django-postgres", True, _async_django_postgres),
]
