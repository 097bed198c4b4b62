"""Settings of the test project (``DATABASES`` is filled in by ``setup()``)."""

from __future__ import annotations

SECRET_KEY = "lucia-tests-not-a-secret-but-32-bytes-or-more"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "app.example"]
USE_TZ = True
INSTALLED_APPS = ["lucia.integrations.django"]
MIDDLEWARE = ["lucia.integrations.django.middleware.LuciaMiddleware"]
ROOT_URLCONF = "tests.integrations.django_project.urls"
LUCIA: dict[str, object] = {}
