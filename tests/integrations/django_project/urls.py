"""URLs of the test project: lucia's routes under ``/auth/`` plus a few views."""

from __future__ import annotations

from django.urls import include, path

from tests.integrations.django_project import views

urlpatterns = [
    path("auth/", include("lucia.integrations.django.urls")),
    path("", views.home),
    path("me", views.me),
    path("ame", views.ame),
    path("public", views.public),
    path("varies/<str:vary>", views.varies),
    path("change", views.change),
    path("webhooks/github", views.webhook),
    path("webhooks-evil", views.webhook),
    path("password/login", views.password_login),
    path("broken", views.broken),
]
