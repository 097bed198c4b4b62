"""A Flask app with lucia: "Sign in with GitHub", email + password accounts, SQLite.

Run it (an OAuth app on GitHub whose callback URL is
https://localhost:5000/login/github/callback):

    pip install "lucia-auth[flask]" pyopenssl
    GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... flask --app app run --cert adhoc

lucia's cookies are ``Secure``: serve HTTPS, or set ``LUCIA_INSECURE_COOKIES=1``
for plain-http development on localhost only.
"""

from __future__ import annotations

import html
import os

from flask import Flask, g, redirect, request
from werkzeug.wrappers import Response

from lucia import InvalidCredentialsError, InvalidPasswordError, Lucia, accounts
from lucia.adapters.sqlite import SQLiteAdapter
from lucia.integrations.flask import (
    LuciaFlask,
    current_session,
    login_required,
    session_attributes,
    sign_in_response,
)
from lucia.oauth import GitHub, SignInFlow


def create_app(
    database: str = "app.sqlite3",
    *,
    base_url: str = "https://localhost:5000",
    github: GitHub | None = None,
    secure_cookies: bool = True,
) -> Flask:
    """The app, on the SQLite file ``database``, served at ``base_url``."""
    adapter = SQLiteAdapter(database)
    adapter.create_tables()  # idempotent
    auth = Lucia(adapter, secure_cookies=secure_cookies)
    if github is None:
        github = GitHub(
            os.environ.get("GITHUB_CLIENT_ID", ""),
            os.environ.get("GITHUB_CLIENT_SECRET", ""),
            f"{base_url}/login/github/callback",
        )

    app = Flask(__name__)
    # Reads the session into g.user / g.session on every request, refuses
    # cross-site POSTs (so the forms need no CSRF token) and mounts
    # /login/github, its callback and POST /logout.
    # Seals the OAuth transaction cookie (docs/oauth.md): every worker needs the same
    # key, at least 32 bytes. Without one, a per-process key and a warning.
    app.secret_key = os.environ.get("LUCIA_SECRET_KEY")
    LuciaFlask(app, auth=auth, flow=SignInFlow(auth, [github]))

    @app.get("/")
    def home() -> str:
        if g.user is None:
            return (
                '<a href="/login/github?next=/">Sign in with GitHub</a>'
                '<form method="post" action="/signin"><input name="email">'
                '<input name="password" type="password"><button>Sign in</button></form>'
            )
        name = g.user.attributes.get("username") or g.user.attributes.get("email") or g.user.id
        return (
            f"<p>Signed in as {html.escape(name)}</p>"
            '<form method="post" action="/logout"><button>Sign out</button></form>'
        )

    @app.get("/me")
    @login_required
    def me() -> dict[str, object]:
        return {"id": g.user.id, "attributes": g.user.attributes}

    @app.post("/signup")
    def signup() -> Response | tuple[str, int]:
        try:
            signed = accounts.sign_up(
                auth,
                request.form["email"],
                request.form["password"],
                session_attributes=session_attributes(),
            )
        except accounts.InvalidEmailError:
            return "not an email address", 400
        except accounts.EmailTakenError:
            return "this address already has an account", 409
        except InvalidPasswordError as error:
            return f"password refused: {error.reason}", 400
        return sign_in_response(redirect("/", 303), signed)

    @app.post("/signin")
    def signin() -> Response | tuple[str, int]:
        session = current_session()
        try:
            signed = accounts.sign_in(
                auth,
                request.form["email"],
                request.form["password"],
                current_session_id=None if session is None else session.id,
                session_attributes=session_attributes(),
            )
        except InvalidCredentialsError:
            # The same answer for an unknown address and a wrong password.
            return "wrong email or password", 400
        return sign_in_response(redirect("/", 303), signed)

    return app


if os.environ.get("FLASK_RUN_FROM_CLI") == "true":  # `flask --app app run`
    _insecure = os.environ.get("LUCIA_INSECURE_COOKIES") == "1"
    app = create_app(
        base_url="http://localhost:5000" if _insecure else "https://localhost:5000",
        secure_cookies=not _insecure,
    )
