"""The demo web app: password accounts, OAuth sign-in, linking, sessions, on SQLite.

    app = create_app("demo.sqlite3", providers=providers_from_env("http://127.0.0.1:8000"))

Built only from lucia's public pieces: ``AsyncSQLiteAdapter`` and ``AsyncLucia``,
``lucia.integrations.starlette`` (``LuciaMiddleware`` for the session, the cookie
upkeep and the origin check of every POST; ``auth_routes`` for the OAuth
callback and sign-out) and ``lucia.accounts`` (sign-up, sign-in, recent
authentication); the OAuth providers are every registered provider configured by
``LUCIA_<SLUG>_...`` variables (``lucia.demo.providers``). ``run()`` serves it
with uvicorn, next to the local development provider when asked; ``lucia demo``
calls it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, Final, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import accounts
from lucia.adapters.sqlite import AsyncSQLiteAdapter
from lucia.core import AsyncLucia
from lucia.errors import (
    InvalidCredentialsError,
    InvalidPasswordError,
    KeyNotFoundError,
    LastKeyError,
)
from lucia.integrations.starlette import (
    LuciaMiddleware,
    auth_routes,
    current_session,
    current_user,
    session_attributes,
)
from lucia.models import Key, Session, User
from lucia.oauth.flow import (
    EMAIL_PROVIDER_ID,
    RESPONSE_HEADERS,
    SignInError,
    SignInFlow,
)
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.sessions import utc_now
from lucia.testing.oidc_provider import LocalOIDCProvider
from lucia.throttle import RateLimitedError, SignInThrottle, client_address, sign_in_account

from . import pages
from .pages import AccountView, Identity, ProviderButton
from .providers import DemoProvider, providers_from_env
from .useragent import describe_user_agent

__all__ = ["DemoProvider", "DemoState", "create_app", "providers_from_env", "run"]

logger = logging.getLogger("lucia.demo")

T = TypeVar("T")

#: The route name of the local development provider.
DEV_PROVIDER_ROUTE: Final = "local"
#: The name its identities are stored under: fixed, so that the keys made in one
#: run still sign in after a restart, when the provider has another port.
DEV_PROVIDER_NAME: Final = "lucia-demo-local"

# Sent with every page: nothing from elsewhere may load, nothing may frame it.
# No form-action: the sign-in buttons' POSTs redirect to the provider's origin.
_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

# What ?notice=... may say after a redirect: fixed texts, never the query's own.
_NOTICES: Final = {
    "welcome": "Your account is ready.",
    "linked": "The sign-in method is linked to your account.",
    "unlinked": "The sign-in method is unlinked.",
    "revoked": "The session is revoked: that browser is signed out.",
    "revoked-others": "All your other sessions are revoked.",
    "confirmed": "Password confirmed. You can link and unlink sign-in methods now.",
}

_WRONG_CREDENTIALS: Final = "Wrong email or password."


class DemoState:
    """The app's parts, in ``app.state.demo``: ``auth``, ``flow``, ``throttle``, providers."""

    def __init__(
        self,
        auth: AsyncLucia,
        adapter: AsyncSQLiteAdapter,
        flow: SignInFlow,
        throttle: SignInThrottle,
        providers: Sequence[DemoProvider],
        dev_provider_url: str | None,
    ) -> None:
        self.auth = auth
        self.adapter = adapter
        self.flow = flow
        self.throttle = throttle
        self.providers = list(providers)
        self.dev_provider_url = dev_provider_url
        # Provider name (as stored in keys) -> label, for the identities list.
        self.labels = {p.provider.name: p.label for p in providers}


def create_app(
    database: str | os.PathLike[str] | sqlite3.Connection,
    *,
    providers: Sequence[DemoProvider] = (),
    dev_provider_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    throttle: SignInThrottle | None = None,
) -> Starlette:
    """The demo as a Starlette app over the SQLite ``database`` (tables made at start-up).

    ``providers`` are offered as "Sign in with ..." and "Link ..." buttons; their
    redirect URIs must be ``<base URL>/login/<route>/callback``.
    ``dev_provider_url``, when set, is shown on every page as the local
    development provider's address (development mode). ``throttle`` counts
    failed password checks (default: ``SignInThrottle``'s limits, in memory).
    """
    adapter = AsyncSQLiteAdapter(database)
    # Local development only: the demo is served over plain http://127.0.0.1, where a
    # browser would drop a Secure cookie. A deployment over HTTPS keeps the default
    # (secure_cookies=True).
    auth = AsyncLucia(adapter, secure_cookies=False, clock=clock)
    # The demo is one process: a key of its own, made here, seals its OAuth transactions
    # (a deployment with several workers gives them all the same secret_keys).
    flow = SignInFlow(
        auth,
        {p.route: p.provider for p in providers},
        default_redirect="/account",
        secret_keys=[secrets.token_bytes(32)],
    )
    if throttle is None:
        throttle = SignInThrottle(clock=clock)
    state = DemoState(auth, adapter, flow, throttle, providers, dev_provider_url)
    stylesheet = resources.files("lucia.demo").joinpath("static/demo.css").read_bytes()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await adapter.create_tables()
        # ua-parser compiles its rules on first use (a fraction of a second): do it
        # now, off the event loop, not during the first account page.
        await asyncio.to_thread(describe_user_agent, "Mozilla/5.0")
        try:
            yield
        finally:
            for entry in providers:
                await entry.provider.aclose()
            adapter.close()

    async def css(request: Request) -> Response:
        return Response(
            stylesheet,
            media_type="text/css",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    views = _Views(state)
    routes = [
        *auth_routes(auth, flow, after_logout="/"),
        Route("/", views.home, methods=["GET"]),
        Route("/signup", views.sign_up, methods=["GET", "POST"]),
        Route("/signin", views.sign_in, methods=["GET", "POST"]),
        Route("/signin/{provider}", views.sign_in_with, methods=["POST"]),
        Route("/account", views.account, methods=["GET"]),
        Route("/account/link/{provider}", views.link, methods=["POST"]),
        Route("/account/unlink", views.unlink, methods=["POST"]),
        Route("/account/confirm", views.confirm, methods=["POST"]),
        Route("/account/sessions/revoke", views.revoke, methods=["POST"]),
        Route("/account/sessions/revoke-others", views.revoke_others, methods=["POST"]),
        Route("/static/demo.css", css, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        # A form-post provider's callback (Apple) is a cross-site POST: the flow's
        # state and sealed transaction cookie protect it instead of the origin check.
        middleware=[Middleware(LuciaMiddleware, auth=auth, csrf_exempt=flow.form_post_paths())],
        lifespan=lifespan,
    )
    app.state.demo = state
    return app


class _Views:
    """The demo's request handlers."""

    def __init__(self, state: DemoState) -> None:
        self.state = state
        self.auth = state.auth

    # Helpers

    def _page(self, request: Request, title: str, body: str, *, status: int = 200) -> HTMLResponse:
        html = pages.layout(
            title,
            body,
            user=current_user(request),
            dev_provider_url=self.state.dev_provider_url,
        )
        return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)

    def _buttons(self) -> list[ProviderButton]:
        return [ProviderButton(p.route, p.label) for p in self.state.providers]

    @staticmethod
    async def _form(request: Request) -> dict[str, str]:
        form = await request.form()
        return {name: value for name, value in form.items() if isinstance(value, str)}

    @staticmethod
    def _redirect(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})

    async def _throttled(
        self, request: Request, email: str, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """Run the password check ``attempt`` under the sign-in throttle (SECURITY 21).

        The attempt is reserved before the password is checked, so concurrent
        attempts cannot all slip under the limit; a blocked account or address
        never reaches the hasher: ``RateLimitedError``. A wrong password keeps its
        count (the recorded failure) and re-raises; anything else gives it back.
        """
        account = sign_in_account(email)
        async with self.state.throttle.aattempt(account, self._address(request)):
            return await attempt()

    @staticmethod
    def _address(request: Request) -> str | None:
        """The client address the throttle counts."""
        client = request.client
        # No trusted proxies: the demo is reached directly, so X-Forwarded-For is ignored.
        return client_address(
            client.host if client is not None else None, request.headers.get("x-forwarded-for")
        )

    def _rate_limited(self, request: Request, error: RateLimitedError) -> Response:
        body = pages.rate_limited_page(error.retry_after)
        response = self._page(request, "Too many attempts", body, status=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    def _signed_in(self, path: str, signed: accounts.SignedIn) -> RedirectResponse:
        response = self._redirect(path)
        response.headers.append("set-cookie", signed.cookie.serialize())
        return response

    # Pages

    async def home(self, request: Request) -> Response:
        """``GET /``: who is signed in, or the ways in."""
        return self._page(request, "Home", pages.home_page(current_user(request)))

    async def sign_up(self, request: Request) -> Response:
        """``GET/POST /signup``: create a password account and sign it in."""
        min_length = self.auth.password_policy.min_length
        if request.method == "GET":
            return self._page(request, "Sign up", pages.sign_up_page(min_length=min_length))
        form = await self._form(request)
        email, password = form.get("email", ""), form.get("password", "")
        try:
            # Throttled per client address (SECURITY.md 47): each attempt costs a
            # hash, and "already exists" tells whether an address has an account.
            signed = await accounts.asign_up(
                self.auth,
                email,
                password,
                session_attributes=session_attributes(request),
                throttle=self.state.throttle,
                address=self._address(request),
            )
        except RateLimitedError as exc:
            return self._rate_limited(request, exc)
        except accounts.InvalidEmailError:
            error, status = "Enter a valid email address.", 400
        except accounts.EmailTakenError:
            error, status = "An account with this email already exists. Sign in instead.", 409
        except InvalidPasswordError as exc:
            error, status = _password_problem(exc, self.auth), 400
        else:
            old = current_session(request)
            if old is not None:
                # A new account means a new session; the old one dies (no fixation).
                await self.auth.invalidate_session(old.id)
            return self._signed_in("/account?notice=welcome", signed)
        body = pages.sign_up_page(email, error, min_length=min_length)
        return self._page(request, "Sign up", body, status=status)

    async def sign_in(self, request: Request) -> Response:
        """``GET/POST /signin``: the password sign-in, and the providers' buttons."""
        buttons = self._buttons()
        if request.method == "GET":
            return self._page(request, "Sign in", pages.sign_in_page(buttons))
        form = await self._form(request)
        email, password = form.get("email", ""), form.get("password", "")
        old = current_session(request)
        try:
            signed = await self._throttled(
                request,
                email,
                lambda: accounts.asign_in(
                    self.auth,
                    email,
                    password,
                    current_session_id=None if old is None else old.id,
                    session_attributes=session_attributes(request),
                ),
            )
        except RateLimitedError as error:
            return self._rate_limited(request, error)
        except InvalidCredentialsError:
            # One message for an unknown address and a wrong password.
            body = pages.sign_in_page(buttons, email, _WRONG_CREDENTIALS)
            return self._page(request, "Sign in", body, status=400)
        return self._signed_in("/account", signed)

    async def sign_in_with(self, request: Request) -> Response:
        """``POST /signin/{provider}``: start the provider's sign-in (303 to it)."""
        return await self._start(request, next="/account")

    async def _start(
        self, request: Request, *, next: str, link_session: Session | None = None
    ) -> Response:
        """A 303 to the provider of the path, with the transaction cookie; or the error page."""
        try:
            start = await self.state.flow.astart(
                request.path_params["provider"], next=next, link_session=link_session
            )
        except SignInError as error:
            return self._sign_in_error(request, error)
        response = RedirectResponse(start.url, status_code=303, headers=dict(start.headers))
        for cookie in start.cookies:
            response.headers.append("set-cookie", cookie.serialize())
        return response

    def _sign_in_error(self, request: Request, error: SignInError) -> Response:
        body = pages.error_page("Sign-in failed", error.message)
        response = self._page(request, "Sign-in failed", body, status=error.status)
        response.headers.update(RESPONSE_HEADERS)
        return response

    # The account page and its actions

    async def _account_view(
        self,
        request: Request,
        user: User,
        session: Session,
        *,
        notice: str | None = None,
        error: str | None = None,
        reauthenticate: bool = False,
    ) -> AccountView:
        keys = await self.auth.get_user_keys(user.id)
        sessions = await self.auth.get_user_sessions(user.id)
        sessions.sort(key=lambda s: (s.id != session.id, -s.created_at.timestamp()))
        linked = {key.provider_id for key in keys}
        linkable = [
            ProviderButton(p.route, p.label)
            for p in self.state.providers
            if p.provider.name not in linked
        ]
        kind: pages.Reauthentication | None = None
        if reauthenticate:
            kind = "password" if accounts.password_key(keys) is not None else "sign-in"
        return AccountView(
            user=user,
            identities=[Identity(key, self._label(key)) for key in keys],
            linkable=linkable,
            sessions=sessions,
            current_session_id=session.id,
            notice=notice,
            error=error,
            reauthenticate=kind,
        )

    def _label(self, key: Key) -> str:
        if key.provider_id == EMAIL_PROVIDER_ID:
            return "Email and password" if key.has_password else "Email"
        return self.state.labels.get(key.provider_id, key.provider_id)

    async def _account_response(
        self,
        request: Request,
        user: User,
        session: Session,
        *,
        status: int = 200,
        **view: Any,
    ) -> Response:
        account = await self._account_view(request, user, session, **view)
        return self._page(request, "Your account", pages.account_page(account), status=status)

    async def account(self, request: Request) -> Response:
        """``GET /account``: profile, sign-in methods, sessions."""
        user, session = current_user(request), current_session(request)
        if user is None or session is None:
            return self._redirect("/signin")
        notice = _NOTICES.get(request.query_params.get("notice", ""))
        return await self._account_response(request, user, session, notice=notice)

    async def _recent(self, request: Request, user: User, session: Session) -> Response | None:
        """None if ``session`` may link and unlink now, else the "confirm" page (403)."""
        try:
            accounts.require_recent_authentication(self.auth, session)
        except accounts.ReauthenticationRequiredError:
            return await self._account_response(
                request, user, session, status=403, reauthenticate=True
            )
        return None

    async def link(self, request: Request) -> Response:
        """``POST /account/link/{provider}``: start linking another sign-in method."""
        user, session = current_user(request), current_session(request)
        if user is None or session is None:
            return self._redirect("/signin")
        refused = await self._recent(request, user, session)
        if refused is not None:
            return refused
        # The session is checked again at the callback.
        return await self._start(request, next="/account?notice=linked", link_session=session)

    async def unlink(self, request: Request) -> Response:
        """``POST /account/unlink``: remove one sign-in method, never the last one."""
        user, session = current_user(request), current_session(request)
        if user is None or session is None:
            return self._redirect("/signin")
        form = await self._form(request)
        refused = await self._recent(request, user, session)
        if refused is not None:
            return refused
        provider_id = form.get("provider_id", "")
        provider_user_id = form.get("provider_user_id", "")
        # The form names one of the user's keys: that key alone goes, in one atomic
        # store operation that never takes a user's last key, even against another
        # unlink sent at the same time. Someone else's key is as unknown as a
        # made-up one (404).
        try:
            await self.auth.unlink_provider(user.id, provider_id, provider_user_id)
        except KeyNotFoundError:
            return await self._account_response(
                request, user, session, status=404, error="No such sign-in method."
            )
        except LastKeyError:
            return await self._account_response(
                request,
                user,
                session,
                status=409,
                error="This is your only sign-in method: link another one first.",
            )
        logger.info("demo: key unlinked", extra={"user_id": user.id, "provider_id": provider_id})
        return self._redirect("/account?notice=unlinked")

    async def confirm(self, request: Request) -> Response:
        """``POST /account/confirm``: re-enter the password; a new, recent session."""
        user, session = current_user(request), current_session(request)
        if user is None or session is None:
            return self._redirect("/signin")
        form = await self._form(request)
        keys = await self.auth.get_user_keys(user.id)
        key = accounts.password_key(keys)
        if key is None:
            return await self._account_response(
                request, user, session, status=400, reauthenticate=True
            )
        try:
            signed = await self._throttled(
                request,
                key.provider_user_id,
                lambda: accounts.areauthenticate(
                    self.auth, session, key.provider_user_id, form.get("password", "")
                ),
            )
        except RateLimitedError as error:
            return self._rate_limited(request, error)
        except InvalidCredentialsError:
            return await self._account_response(
                request,
                user,
                session,
                status=400,
                error="Wrong password.",
                reauthenticate=True,
            )
        return self._signed_in("/account?notice=confirmed", signed)

    async def revoke(self, request: Request) -> Response:
        """``POST /account/sessions/revoke``: sign out one of the user's other sessions."""
        user, session = current_user(request), current_session(request)
        if user is None or session is None:
            return self._redirect("/signin")
        target = (await self._form(request)).get("session_id", "")
        sessions = await self.auth.get_user_sessions(user.id)
        # Only the user's own sessions, and not this one ("Sign out" is for that).
        if target == session.id or not any(s.id == target for s in sessions):
            return await self._account_response(
                request, user, session, status=404, error="No such session."
            )
        await self.auth.invalidate_session(target)
        return self._redirect("/account?notice=revoked")

    async def revoke_others(self, request: Request) -> Response:
        """``POST /account/sessions/revoke-others``: sign out every other browser."""
        user, session = current_user(request), current_session(request)
        if user is None or session is None:
            return self._redirect("/signin")
        await self.auth.invalidate_other_sessions(user.id, session.id)
        return self._redirect("/account?notice=revoked-others")


def _password_problem(error: InvalidPasswordError, auth: AsyncLucia) -> str:
    policy = auth.password_policy
    if error.reason == "too_short":
        return f"The password is too short: use at least {policy.min_length} characters."
    if error.reason == "too_long":
        return f"The password is too long: use at most {policy.max_length} characters."
    if error.reason == "too_common":
        return "This password is too common: choose one that is harder to guess."
    if error.reason == "breached":
        return "This password appears in known data breaches: choose another one."
    return "Choose another password."


# Providers and serving


def dev_provider(base_url: str) -> tuple[LocalOIDCProvider, DemoProvider]:
    """Start ``lucia.testing``'s local OpenID provider on a free loopback port.

    Returns the running provider (``stop()`` it) and its ``DemoProvider``. Its
    sign-in form accepts any subject: development only.
    """
    redirect_uri = f"{base_url.rstrip('/')}/login/{DEV_PROVIDER_ROUTE}/callback"
    op = LocalOIDCProvider(
        client_id="lucia-demo", redirect_uris=[redirect_uri], auto_approve=False
    ).start()
    provider = OpenIDConnect(
        op.issuer, op.client_id, op.client_secret, redirect_uri, name=DEV_PROVIDER_NAME
    )
    return op, DemoProvider(DEV_PROVIDER_ROUTE, "Local development provider", provider)


def base_url_for(host: str, port: int) -> str:
    """The URL browsers use for a server on ``host``:``port``."""
    if host in ("", "0.0.0.0"):  # noqa: S104  # a wildcard bind is reached on loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def run(
    *,
    database: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    dev: bool = True,
    environ: Mapping[str, str] | None = None,
    announce: Callable[[str], None] = print,
    warn: Callable[[str], None] = _print_to_stderr,
) -> None:
    """Serve the demo with uvicorn until interrupted (``lucia demo``).

    The providers come from ``environ`` (``providers_from_env``); what keeps one
    from being offered goes to ``warn`` before serving, and the demo starts with
    the others.
    """
    import uvicorn

    base_url = base_url_for(host, port)
    providers = providers_from_env(
        base_url, environ, report=lambda problem: warn(f"lucia demo: {problem}")
    )
    configured = ", ".join(entry.label for entry in providers)
    op = None
    if dev:
        op, local = dev_provider(base_url)
        providers.append(local)
    try:
        app = create_app(
            database, providers=providers, dev_provider_url=None if op is None else op.issuer
        )
        announce(f"lucia demo: {base_url}  (database: {os.fspath(database)})")
        if configured:
            announce(f"lucia demo: sign in with {configured} (from the environment)")
        if op is not None:
            announce(
                f"lucia demo: development mode, local sign-in provider at {op.issuer}"
                " (--no-dev-provider turns it off)"
            )
        # No access log: callback URLs carry the authorization code and state.
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        if op is not None:
            op.stop()
