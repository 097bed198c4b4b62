"""The Django app config: add ``"lucia.integrations.django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]


class LuciaConfig(AppConfig):  # type: ignore[misc]
    """lucia's tables (``lucia_user``, ``lucia_key``, ``lucia_session``, ``lucia_token``),
    their migrations, the ``lucia_purge`` management command, and the system check
    ``lucia.W001`` (``lucia.integrations.django.checks``)."""

    name = "lucia.integrations.django"
    label = "lucia"
    verbose_name = "lucia authentication"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.core import checks  # type: ignore[import-untyped]

        from lucia.integrations.django.checks import check_secret_key

        checks.register(check_secret_key, checks.Tags.security)
