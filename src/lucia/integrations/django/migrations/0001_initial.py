"""lucia's tables, made with lucia's own DDL for the connection's database.

The models are unmanaged (Django's schema editor would make different column
types and no ON DELETE CASCADE); this migration creates and drops the tables.
The DDL is idempotent (CREATE ... IF NOT EXISTS), so it adopts tables that
``create_tables()`` made earlier.
"""

from typing import Any, ClassVar

from django.db import migrations, models  # type: ignore[import-untyped]

import lucia.integrations.django.models
from lucia.adapters.sql import ddl
from lucia.integrations.django.adapter import DJANGO_TABLES, dialect_for


def create_tables(apps: Any, schema_editor: Any) -> None:
    """Run lucia's CREATE statements on the migrated database."""
    _, name = dialect_for(schema_editor.connection.vendor)
    for statement in ddl(name, DJANGO_TABLES):
        schema_editor.execute(statement, params=None)


def drop_tables(apps: Any, schema_editor: Any) -> None:
    """Drop lucia's tables (sessions and keys first: they reference users)."""
    for table in (DJANGO_TABLES.session, DJANGO_TABLES.key, DJANGO_TABLES.user):
        schema_editor.execute(f"DROP TABLE IF EXISTS {table}", params=None)


class Migration(migrations.Migration):  # type: ignore[misc]
    initial = True

    dependencies: ClassVar[list[tuple[str, str]]] = []

    operations: ClassVar[list[Any]] = [
        migrations.CreateModel(
            name="LuciaKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "provider_id",
                        "provider_user_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("provider_id", models.CharField(max_length=255)),
                ("provider_user_id", models.CharField(max_length=255)),
                ("hashed_password", models.TextField(null=True)),
            ],
            options={
                "verbose_name": "lucia key",
                "db_table": "lucia_key",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="LuciaSession",
            fields=[
                ("id", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("secret_hash", models.BinaryField()),
                ("expires_at", lucia.integrations.django.models.LuciaTimeField()),
                ("created_at", lucia.integrations.django.models.LuciaTimeField()),
                ("attributes", models.JSONField(default=dict)),
            ],
            options={
                "verbose_name": "lucia session",
                "db_table": "lucia_session",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="LuciaUser",
            fields=[
                ("id", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("attributes", models.JSONField(default=dict)),
                ("created_at", lucia.integrations.django.models.LuciaTimeField()),
            ],
            options={
                "verbose_name": "lucia user",
                "db_table": "lucia_user",
                "managed": False,
            },
        ),
        migrations.RunPython(create_tables, drop_tables),
    ]
