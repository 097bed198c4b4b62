"""``include("lucia.integrations.django.urls")``: ``login/<provider>/``,
``login/<provider>/callback/`` (GET) and ``logout/`` (POST), and the password
routes (POST; 404 unless ``LUCIA["PASSWORD_ROUTES"]``): ``signup/``, ``signin/``,
``password/``, ``reauthenticate/``, ``link/<provider>/``, ``unlink/<provider>/``,
``sessions/revoke/`` and ``sessions/revoke-others/``.

The views are exempt from Django's ``CsrfViewMiddleware`` token check: the two
GET views change nothing a cross-site page could abuse (the callback is
protected by the OAuth state, also when a form-post provider such as Apple
POSTs it, cross-site: ``LuciaMiddleware`` exempts only that callback from its
origin check), and ``logout/`` is guarded by
``LuciaMiddleware``'s origin check, which also lets bearer-token clients sign out;
the password routes are guarded the same way.
"""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from lucia.integrations import _passwords
from lucia.integrations.django import views

app_name = "lucia"

urlpatterns = [
    path("login/<str:provider>/", csrf_exempt(views.login), name="login"),
    path("login/<str:provider>/callback/", csrf_exempt(views.callback), name="callback"),
    path("logout/", csrf_exempt(views.logout), name="logout"),
    *(
        path(
            route.lstrip("/") + ("/<str:provider>/" if with_provider else "/"),
            csrf_exempt(views.password_route),
            {"action": action},
            name=action.replace("_", "-"),
        )
        for action, route, with_provider in _passwords.ROUTES
    ),
]
