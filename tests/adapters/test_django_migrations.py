"""The Django app's migrations: 0002 adds the one-time token table to an install
made by 0001 before tokens existed, and reverses cleanly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lucia.core import Lucia
from lucia.errors import InvalidTokenError
from tests.integrations.django_project import setup


def _tables() -> set[str]:
    from django.db import connection

    return set(connection.introspection.table_names())


def test_migration_0002_adds_the_token_table() -> None:
    setup()
    from django.core.management import call_command

    from lucia.integrations.django.adapter import DjangoAdapter

    call_command("migrate", "lucia", verbosity=0)
    assert {"lucia_user", "lucia_key", "lucia_session", "lucia_token"} <= _tables()
    # Back to 0001: the state of an install from before one-time tokens.
    call_command("migrate", "lucia", "0001", verbosity=0)
    assert "lucia_token" not in _tables()
    assert "lucia_user" in _tables()
    call_command("migrate", "lucia", verbosity=0)
    assert "lucia_token" in _tables()

    auth = Lucia(DjangoAdapter())
    user = auth.create_user("github", "migration-test")
    try:
        token = auth.create_token(user.id, "reset", expires_in=timedelta(hours=1))
        assert auth.consume_token(token, "reset").user_id == user.id
        token = auth.create_token(user.id, "reset", expires_in=timedelta(hours=1))
        auth.delete_user(user.id)  # ON DELETE CASCADE from lucia's DDL
        with pytest.raises(InvalidTokenError):
            auth.consume_token(token, "reset")
    finally:
        auth.delete_user(user.id)
