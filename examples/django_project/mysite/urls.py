"""lucia's sign-in routes under /auth/, and the project's own views."""

from django.urls import include, path

from mysite import views

urlpatterns = [
    path("auth/", include("lucia.integrations.django.urls")),  # login/github/, logout/
    path("", views.home),
    path("me", views.me),
    path("signup", views.signup),
    path("signin", views.signin),
]
