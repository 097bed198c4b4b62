"""The Django app config: add ``"lucia.integrations.django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]


class LuciaConfig(AppConfig):  # type: ignore[misc]
    """lucia's tables (``lucia_user``, ``lucia_key``, ``lucia_session``, ``lucia_token``),
    their migrations, and the ``lucia_purge`` management command."""

    name = "lucia.integrations.django"
    label = "lucia"
    verbose_name = "lucia authentication"
    default_auto_field = "django.db.models.AutoField"
