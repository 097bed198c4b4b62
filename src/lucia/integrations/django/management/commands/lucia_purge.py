"""``python manage.py lucia_purge``: delete expired sessions and one-time tokens.

What ``lucia sessions purge DATABASE_URL`` does, for a Django project: it
purges the store that ``settings.LUCIA`` configures (by default lucia's
``lucia_session`` and ``lucia_token`` tables on the ``default`` database,
through ``get_lucia()``), so a project with ``LUCIA["ADAPTER"]`` set purges
that store instead. Run it from cron, as Django's own ``clearsessions``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]

from lucia.errors import DatabaseError, LuciaError
from lucia.integrations.django.conf import get_lucia


def _counted(count: int, noun: str) -> str:
    return f"deleted {count} expired {noun}{'' if count == 1 else 's'}"


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Delete expired lucia sessions and expired one-time tokens (email verification,"
        " password reset) from the store of settings.LUCIA (by default the lucia_session"
        " and lucia_token tables). Run it regularly, from cron, like clearsessions."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        auth = get_lucia()
        try:
            sessions = auth.delete_expired_sessions()
            # One line each, as `lucia sessions purge` prints them.
            self._say(options, _counted(sessions, "session"))
            tokens = auth.delete_expired_tokens()
            self._say(options, _counted(tokens, "one-time token"))
        except DatabaseError as exc:
            raise CommandError(
                f"lucia: {exc.message} (have lucia's migrations run? python manage.py migrate)"
            ) from None
        except LuciaError as exc:
            raise CommandError(f"lucia: {exc.message}") from None

    def _say(self, options: dict[str, Any], line: str) -> None:
        if options["verbosity"] >= 1:
            self.stdout.write(line)
