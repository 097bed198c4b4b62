"""``include("lucia.integrations.django.urls")``: ``login/<provider>/``,
``login/<provider>/callback/`` (GET) and ``logout/`` (POST).

The views are exempt from Django's ``CsrfViewMiddleware`` token check: the two
GET views change nothing a cross-site page could abuse (the callback is
protected by the OAuth state), and ``logout/`` is guarded by
``LuciaMiddleware``'s origin check, which also lets bearer-token clients sign out.
"""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from lucia.integrations.django import views

app_name = "lucia"

urlpatterns = [
    path("login/<str:provider>/", csrf_exempt(views.login), name="login"),
    path("login/<str:provider>/callback/", csrf_exempt(views.callback), name="callback"),
    path("logout/", csrf_exempt(views.logout), name="logout"),
]
