"""A minimal Django project for lucia's tests; ``setup()`` configures it once per process."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import django
from django.conf import settings as django_settings

from tests.integrations.django_project import settings as project_settings


def setup() -> Path:
    """Configure Django with ``settings.py`` (a fresh SQLite file) unless already done.

    Returns the SQLite file. Other test modules never see Django unless they
    import it, and configuring is idempotent, so this is safe in one pytest run.
    """
    if not django_settings.configured:
        tmp = Path(tempfile.mkdtemp(prefix="lucia-django-"))
        atexit.register(shutil.rmtree, tmp, True)
        values = {
            name: getattr(project_settings, name)
            for name in dir(project_settings)
            if name.isupper()
        }
        values["DATABASES"] = {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp / "db.sqlite3"),
                # IMMEDIATE: two writers queue on the lock instead of deadlocking.
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
            }
        }
        django_settings.configure(**values)
        django.setup()
    return Path(django_settings.DATABASES["default"]["NAME"])
