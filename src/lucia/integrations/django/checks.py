"""lucia's Django system checks, registered by the app (``LuciaConfig.ready``).

``lucia.W001``: OAuth sign-in is configured, ``settings.SECRET_KEY`` is shorter
than 32 bytes and ``LUCIA["FLOW_OPTIONS"]`` gives no ``secret_keys``, so each
process seals the sign-ins it starts with a key of its own. With several
processes a sign-in whose callback reaches another one fails (400), now and
then, with one log line to explain it; ``manage.py check``, ``runserver`` and
``migrate`` show this warning instead.

A warning, not an error: one process (``runserver``, tests) signs in fine,
and an error would stop every command of a project whose developers use a
short key; Django's own short-``SECRET_KEY`` check (``security.W009``) is a
warning too. Silence it with ``SILENCED_SYSTEM_CHECKS = ["lucia.W001"]``.
"""

from __future__ import annotations

from typing import Any

from django.core import checks  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]

from lucia.integrations.django.conf import seals_with_process_key

__all__ = ["check_secret_key"]


def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``lucia.W001`` when OAuth sign-ins would be sealed with a per-process key."""
    try:
        per_process = seals_with_process_key()
    except (ValueError, ImproperlyConfigured):
        # An invalid settings.LUCIA, or an empty SECRET_KEY: each is refused, with
        # its own message, where it is used; a check must not crash the command.
        return []
    if not per_process:
        return []
    from lucia.oauth._sealed import MIN_SECRET_BYTES

    return [
        checks.Warning(
            f"settings.SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes, so lucia seals "
            "each OAuth sign-in with a random key of the process that starts it: with "
            "several processes (workers, machines), a sign-in whose callback reaches "
            "another process fails.",
            hint=(
                f"Set a SECRET_KEY of at least {MIN_SECRET_BYTES} bytes, or give "
                "LUCIA['FLOW_OPTIONS']['secret_keys']: secrets of at least "
                f"{MIN_SECRET_BYTES} bytes, the same in every process."
            ),
            id="lucia.W001",
        )
    ]
