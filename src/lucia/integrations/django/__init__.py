"""Django integration: settings from ``settings.LUCIA``, ``LuciaMiddleware``,
``login_required``, the OAuth sign-in URL patterns and a Django-database adapter.

    INSTALLED_APPS = [..., "lucia.integrations.django"]
    MIDDLEWARE = [..., "lucia.integrations.django.middleware.LuciaMiddleware"]
    urlpatterns = [path("auth/", include("lucia.integrations.django.urls")), ...]

Views read ``request.lucia_user`` and ``request.lucia_session`` (None when signed
out). This package imports no Django module itself, so importing it never needs
configured settings; import the submodules you use.
"""

from __future__ import annotations
