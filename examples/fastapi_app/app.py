"""A FastAPI app with lucia: "Sign in with GitHub", email + password accounts, SQLite.

Run it (an OAuth app on GitHub whose callback URL is
https://localhost:8000/login/github/callback):

    pip install "lucia-auth[fastapi]" uvicorn
    GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... python app.py

Serve it over HTTPS (lucia's cookies are ``Secure``), or set
``LUCIA_INSECURE_COOKIES=1`` for plain-http development on localhost only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.middleware import Middleware

from lucia import AsyncLucia, InvalidCredentialsError, InvalidPasswordError, accounts
from lucia.adapters.sqlite import AsyncSQLiteAdapter
from lucia.integrations.fastapi import CurrentUser, OptionalUser, auth_router
from lucia.integrations.starlette import LuciaMiddleware, current_session, session_attributes
from lucia.oauth import GitHub, SignInFlow


def create_app(
    database: str = "app.sqlite3",
    *,
    base_url: str = "https://localhost:8000",
    github: GitHub | None = None,
    secure_cookies: bool = True,
) -> FastAPI:
    """The app, on the SQLite file ``database``, served at ``base_url``."""
    adapter = AsyncSQLiteAdapter(database)
    auth = AsyncLucia(adapter, secure_cookies=secure_cookies)
    if github is None:
        github = GitHub(
            os.environ.get("GITHUB_CLIENT_ID", ""),
            os.environ.get("GITHUB_CLIENT_SECRET", ""),
            f"{base_url}/login/github/callback",
        )
    # Seals the OAuth transaction cookie (docs/oauth.md): every worker needs the same
    # key, at least 32 bytes. Without one, a per-process key and a warning.
    key = os.environ.get("LUCIA_SECRET_KEY")
    flow = SignInFlow(auth, [github], secret_keys=[key] if key else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await adapter.create_tables()  # idempotent
        yield
        await github.aclose()
        adapter.sync.close()

    # LuciaMiddleware reads the session on every request and refuses
    # cross-site POSTs, so the forms below need no CSRF token.
    app = FastAPI(lifespan=lifespan, middleware=[Middleware(LuciaMiddleware, auth=auth)])
    app.include_router(auth_router(auth, flow))  # /login/github, its callback, POST /logout

    @app.get("/", response_class=HTMLResponse)
    async def home(user: OptionalUser) -> str:
        if user is None:
            return (
                '<a href="/login/github?next=/">Sign in with GitHub</a>'
                '<form method="post" action="/signin"><input name="email">'
                '<input name="password" type="password"><button>Sign in</button></form>'
            )
        name = user.attributes.get("username") or user.attributes.get("email") or user.id
        return (
            f"<p>Signed in as {name}</p>"
            '<form method="post" action="/logout"><button>Sign out</button></form>'
        )

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, object]:
        return {"id": user.id, "attributes": user.attributes}

    @app.post("/signup")
    async def signup(
        request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> Response:
        try:
            signed = await accounts.asign_up(
                auth, email, password, session_attributes=session_attributes(request)
            )
        except accounts.InvalidEmailError:
            raise HTTPException(400, "not an email address") from None
        except accounts.EmailTakenError:
            raise HTTPException(409, "this address already has an account") from None
        except InvalidPasswordError as error:
            raise HTTPException(400, f"password refused: {error.reason}") from None
        return await signed_in(request, signed)

    @app.post("/signin")
    async def signin(
        request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> Response:
        try:
            signed = await accounts.asign_in(
                auth, email, password, session_attributes=session_attributes(request)
            )
        except InvalidCredentialsError:
            # The same answer for an unknown address and a wrong password.
            raise HTTPException(400, "wrong email or password") from None
        return await signed_in(request, signed)

    async def signed_in(request: Request, signed: accounts.SignedIn) -> Response:
        """Replace the browser's session (no fixation) and set the new cookie."""
        old = current_session(request)
        if old is not None:
            await auth.invalidate_session(old.id)
        response = RedirectResponse("/", status_code=303)
        response.headers.append("Set-Cookie", str(signed.cookie))
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


if __name__ == "__main__":
    import uvicorn

    insecure = os.environ.get("LUCIA_INSECURE_COOKIES") == "1"
    base = "http://localhost:8000" if insecure else "https://localhost:8000"
    uvicorn.run(create_app(base_url=base, secure_cookies=not insecure), port=8000)
