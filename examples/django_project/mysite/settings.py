"""Settings of the example project. Configure it with environment variables:

``GITHUB_CLIENT_ID`` / ``GITHUB_CLIENT_SECRET`` (an OAuth app on GitHub whose
callback URL is ``$BASE_URL/auth/login/github/callback/``), ``BASE_URL``
(default ``https://localhost:8000``), ``DJANGO_SECRET_KEY``, and
``LUCIA_INSECURE_COOKIES=1`` for plain-http development on localhost only.
"""

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
BASE_URL = os.environ.get("BASE_URL", "https://localhost:8000")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
USE_TZ = True

INSTALLED_APPS = ["lucia.integrations.django"]  # its migration creates lucia's tables
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Reads the session into request.lucia_user and refuses cross-site POSTs
    # (an Origin check), so the forms of this project need no CSRF token.
    "lucia.integrations.django.middleware.LuciaMiddleware",
]
ROOT_URLCONF = "mysite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}


def lucia_providers() -> dict[str, Any]:
    """The sign-in providers, built when first needed (not at import)."""
    from lucia.oauth import GitHub

    return {
        "github": GitHub(
            os.environ.get("GITHUB_CLIENT_ID", ""),
            os.environ.get("GITHUB_CLIENT_SECRET", ""),
            f"{BASE_URL}/auth/login/github/callback/",
        )
    }


LUCIA = {
    "PROVIDERS": lucia_providers,
    "SECURE_COOKIES": os.environ.get("LUCIA_INSECURE_COOKIES") != "1",
}
