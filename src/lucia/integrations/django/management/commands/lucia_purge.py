"""``python manage.py lucia_purge``: delete expired sessions and one-time tokens.

What ``lucia sessions purge DATABASE_URL`` does, for a Django project: it
purges the store that ``settings.LUCIA`` configures (by default lucia's
``lucia_session`` and ``lucia_token`` tables on the ``default`` database,
through ``get_lucia()``), so a project with ``LUCIA["ADAPTER"]`` set purges
that store instead. The store deletes in batches, each its own short
transaction, so sign-ins are not held up. Run it from cron, as Django's own
``clearsessions``.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]

from lucia.adapters.base import PURGE_BATCH_SIZE, PurgeProgress
from lucia.errors import DatabaseError, LuciaError
from lucia.integrations.django.conf import get_lucia


def _counted(count: int, noun: str) -> str:
    return f"deleted {count} expired {noun}{'' if count == 1 else 's'}"


def _batch_size(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a positive whole number")
    return int(text)


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Delete expired lucia sessions and expired one-time tokens (email verification,"
        " password reset) from the store of settings.LUCIA (by default the lucia_session"
        " and lucia_token tables), in batches. Run it regularly, from cron, like"
        " clearsessions."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=_batch_size,
            default=PURGE_BATCH_SIZE,
            metavar="N",
            help="sessions deleted per batch, each its own transaction"
            f" (default {PURGE_BATCH_SIZE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        auth = get_lucia()
        verbosity: int = options["verbosity"]
        try:
            sessions = auth.delete_expired_sessions(
                batch_size=options["batch_size"],
                progress=self._progress("expired sessions") if verbosity >= 2 else None,
            )
            # One line each, as `lucia sessions purge` prints them.
            self._say(verbosity, _counted(sessions, "session"))
            tokens = auth.delete_expired_tokens()
            self._say(verbosity, _counted(tokens, "one-time token"))
        except DatabaseError as exc:
            raise CommandError(
                f"lucia: {exc.message} (have lucia's migrations run? python manage.py migrate)"
            ) from None
        except LuciaError as exc:
            raise CommandError(f"lucia: {exc.message}") from None

    def _say(self, verbosity: int, line: str) -> None:
        if verbosity >= 1:
            self.stdout.write(line)

    def _progress(self, what: str) -> PurgeProgress:
        """Each batch's count and the running total (``--verbosity 2``)."""
        done = 0

        def report(count: int) -> None:
            nonlocal done
            done += count
            self.stdout.write(f"{what}: deleted {count} (total {done})")

        return report
