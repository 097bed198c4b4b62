"""lucia's Django system check ``lucia.W001``: a ``SECRET_KEY`` too short to seal
OAuth sign-ins, which each process then seals with a key of its own."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lucia.oauth.providers.github import GitHub
from tests.integrations.django_project import setup

setup()

from django.core import checks  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

from lucia.integrations.django.conf import get_flow  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs/django.md"
SHORT = "short-dev-key"
LONG = "long-enough-" + "k" * 20  # 32 bytes


@pytest.fixture
def providers() -> Iterator[dict[str, GitHub]]:
    github = GitHub("id", "secret", "https://testserver/auth/login/github/callback/")
    yield {"github": github}
    github.close()


def lucia_messages(**kwargs: Any) -> list[checks.CheckMessage]:
    """What Django's check framework reports under lucia's ids."""
    return [m for m in checks.run_checks(**kwargs) if str(m.id).startswith("lucia.")]


def test_a_short_secret_key_with_oauth_sign_in_is_a_warning(
    providers: dict[str, GitHub], caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(SECRET_KEY=SHORT, LUCIA={"PROVIDERS": providers}):
        (message,) = lucia_messages()
        assert lucia_messages(tags=[checks.Tags.security]) == [message]
        # What the warning says is what happens: the flow seals with a per-process key.
        with caplog.at_level(logging.WARNING, logger="lucia.integrations"):
            assert get_flow()._sealer.process_key
    assert message.id == "lucia.W001"
    assert message.level == checks.WARNING
    assert message.msg.startswith("settings.SECRET_KEY is shorter than 32 bytes")
    assert "a sign-in whose callback reaches another process fails" in message.msg
    assert message.hint == (
        "Set a SECRET_KEY of at least 32 bytes, or give LUCIA['FLOW_OPTIONS']['secret_keys']: "
        "secrets of at least 32 bytes, the same in every process."
    )
    assert SHORT not in str(message)
    assert "per-process key" in caplog.text
    # docs/django.md shows it as manage.py check prints it.
    assert f"\n{message}\n" in DOCS.read_text()


def test_the_warning_shows_in_manage_py_check_and_stops_nothing(
    providers: dict[str, GitHub],
) -> None:
    out, err = io.StringIO(), io.StringIO()
    with override_settings(SECRET_KEY=SHORT, LUCIA={"PROVIDERS": providers}):
        call_command("check", stdout=out, stderr=err)  # an error would raise SystemCheckError
    assert "(lucia.W001) settings.SECRET_KEY is shorter than 32 bytes" in err.getvalue()
    assert "HINT: Set a SECRET_KEY of at least 32 bytes" in err.getvalue()
    # Silenced the Django way.
    out, err = io.StringIO(), io.StringIO()
    with override_settings(
        SECRET_KEY=SHORT, LUCIA={"PROVIDERS": providers}, SILENCED_SYSTEM_CHECKS=["lucia.W001"]
    ):
        call_command("check", stdout=out, stderr=err)
    assert "lucia.W001" not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    ("secret_key", "lucia"),
    [
        (LONG, {"PROVIDERS": "providers"}),
        ("é" * 16, {"PROVIDERS": "providers"}),  # 16 characters, 32 bytes in UTF-8
        (SHORT, {"PROVIDERS": "providers", "FLOW_OPTIONS": {"secret_keys": [LONG]}}),
        (SHORT, {}),  # password sign-in only: nothing is sealed
        (SHORT, {"PROVIDERS": "providers", "NOT_A_SETTING": 1}),  # refused where it is read
    ],
    ids=["long-key", "long-in-bytes", "secret-keys", "no-oauth", "invalid-settings"],
)
def test_no_warning_when_sign_ins_are_sealed_with_shared_keys_or_not_at_all(
    providers: dict[str, GitHub], secret_key: str, lucia: dict[str, Any]
) -> None:
    lucia = {key: providers if value == "providers" else value for key, value in lucia.items()}
    with override_settings(SECRET_KEY=secret_key, LUCIA=lucia):
        assert lucia_messages() == []
