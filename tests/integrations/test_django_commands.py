"""lucia's Django management commands, run with ``call_command`` on the test project.

``lucia_purge`` is ``lucia sessions purge`` for a Django project: it deletes
expired sessions and one-time tokens from the store ``settings.LUCIA``
configures (the ``lucia_*`` tables by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest

from tests.integrations.django_project import setup

setup()

from django.core.management import (  # noqa: E402
    CommandError,
    ManagementUtility,
    call_command,
    get_commands,
)
from django.db import connections  # noqa: E402
from django.test import override_settings  # noqa: E402

from lucia import Lucia  # noqa: E402
from lucia.adapters.sql import Tables  # noqa: E402
from lucia.integrations.django.adapter import DjangoAdapter  # noqa: E402
from lucia.integrations.django.conf import get_lucia  # noqa: E402
from lucia.sessions import utc_now  # noqa: E402
from tests.conformance.backends_django import fresh_database, postgres_alias  # noqa: E402
from tests.conftest import Clock  # noqa: E402

LONG_AGO = datetime(2020, 1, 1, 12, tzinfo=UTC)


def rows(table: str, using: str = "default") -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        count: int = cursor.fetchone()[0]
        return count


def populate(auth: Lucia, clock: Clock) -> None:
    """Two expired sessions and an expired token (made in 2020), then one live of each."""
    user = auth.create_user("email", "ada@example.com")
    clock.now = LONG_AGO
    auth.create_session(user.id)
    auth.create_session(user.id)
    auth.create_token(user.id, "reset", expires_in=timedelta(hours=1))
    clock.now = utc_now()
    auth.create_session(user.id)
    auth.create_token(user.id, "reset", expires_in=timedelta(hours=1))


@pytest.fixture
def project() -> Iterator[Clock]:
    """The project's default database, migrated and empty, with an injectable clock."""
    fresh_database()
    clock = Clock(utc_now())
    with override_settings(LUCIA={"LUCIA_OPTIONS": {"clock": clock}}):
        yield clock


def test_lucia_purge_deletes_expired_sessions_and_tokens(project: Clock) -> None:
    populate(get_lucia(), project)
    assert (rows("lucia_session"), rows("lucia_token")) == (3, 2)
    out = StringIO()
    call_command("lucia_purge", stdout=out)
    assert out.getvalue().splitlines() == [
        "deleted 2 expired sessions",
        "deleted 1 expired one-time token",
    ]
    assert (rows("lucia_session"), rows("lucia_token")) == (1, 1)
    out = StringIO()
    call_command("lucia_purge", stdout=out)
    assert "deleted 0 expired sessions" in out.getvalue()


def test_lucia_purge_is_quiet_at_verbosity_0(project: Clock) -> None:
    populate(get_lucia(), project)
    out = StringIO()
    call_command("lucia_purge", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    assert rows("lucia_session") == 1


def test_lucia_purge_deletes_in_batches_with_progress_at_verbosity_2(project: Clock) -> None:
    auth = get_lucia()
    user = auth.create_user("email", "ada@example.com")
    project.now = LONG_AGO
    for _ in range(5):
        auth.create_session(user.id)
    project.now = utc_now()
    out = StringIO()
    call_command("lucia_purge", batch_size=2, verbosity=2, stdout=out)
    assert out.getvalue().splitlines() == [
        "expired sessions: deleted 2 (total 2)",
        "expired sessions: deleted 2 (total 4)",
        "expired sessions: deleted 1 (total 5)",
        "deleted 5 expired sessions",
        "deleted 0 expired one-time tokens",
    ]
    assert rows("lucia_session") == 0


@pytest.mark.parametrize("size", ["0", "-3", "many"])
def test_lucia_purge_refuses_a_bad_batch_size(project: Clock, size: str) -> None:
    with pytest.raises(CommandError, match="positive whole number"):
        call_command("lucia_purge", "--batch-size", size, stdout=StringIO())


def test_lucia_purge_purges_the_configured_store(postgres_conninfo: str) -> None:
    # LUCIA["ADAPTER"] on another database: that store is purged, not "default".
    alias = postgres_alias(postgres_conninfo)
    fresh_database(alias)
    fresh_database()
    clock = Clock(utc_now())
    adapter = DjangoAdapter(alias)
    with override_settings(LUCIA={"ADAPTER": adapter, "LUCIA_OPTIONS": {"clock": clock}}):
        populate(get_lucia(), clock)
        call_command("lucia_purge", stdout=StringIO())
    assert (rows("lucia_session", alias), rows("lucia_token", alias)) == (1, 1)


def test_lucia_purge_reports_a_database_failure_as_a_command_error() -> None:
    fresh_database()
    missing = DjangoAdapter(tables=Tables("no_user", "no_key", "no_session"))
    with override_settings(LUCIA={"ADAPTER": missing}), pytest.raises(CommandError) as caught:
        call_command("lucia_purge", stdout=StringIO())
    assert "manage.py migrate" in str(caught.value)


def test_lucia_purge_is_a_command_of_the_app_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert get_commands()["lucia_purge"] == "lucia.integrations.django"
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "lucia_purge", "--help"]).execute()
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: manage.py lucia_purge" in out
    assert "expired lucia sessions" in out
    assert "one-time tokens" in out
    assert "--batch-size N" in out
