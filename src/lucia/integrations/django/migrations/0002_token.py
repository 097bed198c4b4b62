"""lucia's one-time token table (email verification, password reset).

Made with lucia's own DDL for the connection's database, like 0001: the whole
DDL runs again, which is idempotent (CREATE ... IF NOT EXISTS), so only the
missing token table and its indexes are created. There is no model for it:
lucia reads and writes it through its own statements.
"""

from typing import Any, ClassVar

from django.db import migrations  # type: ignore[import-untyped]

from lucia.adapters.sql import ddl
from lucia.integrations.django.adapter import DJANGO_TABLES, dialect_for


def create_token_table(apps: Any, schema_editor: Any) -> None:
    """Run lucia's CREATE statements, which add the token table where it is missing."""
    _, name = dialect_for(schema_editor.connection.vendor)
    for statement in ddl(name, DJANGO_TABLES):
        schema_editor.execute(statement, params=None)


def drop_token_table(apps: Any, schema_editor: Any) -> None:
    """Drop the token table (it references users, which 0001's reversal drops)."""
    schema_editor.execute(f"DROP TABLE IF EXISTS {DJANGO_TABLES.token}", params=None)


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies: ClassVar[list[tuple[str, str]]] = [("lucia", "0001_initial")]

    operations: ClassVar[list[Any]] = [
        migrations.RunPython(create_token_table, drop_token_table),
    ]
