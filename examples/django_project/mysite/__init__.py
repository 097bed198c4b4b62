"""A Django project with lucia: "Sign in with GitHub" and email + password accounts."""
