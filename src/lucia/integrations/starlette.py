"""Starlette integration: ``LuciaMiddleware`` (pure ASGI) and ``auth_routes``.

    app = Starlette(
        routes=[*auth_routes(auth, flow, passwords=True), Route("/", home)],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
    )

    async def home(request: Request) -> Response:
        user = request.state.user  # a lucia User, or None when signed out

The middleware reads the session once per HTTP request, from the session
cookie or else an ``Authorization: Bearer`` token, and puts ``session`` and
``user`` in ``request.state``. It re-sets the cookie when the session was just
renewed (``fresh``), clears a cookie that did not validate, marks every
response that read or set a session ``Cache-Control: no-store`` and
``Vary: Cookie``, and refuses unsafe cross-site requests with 403 (the origin
check of ``lucia.csrf``). A ``lucia.errors.DatabaseError`` becomes a plain 503.

``auth_routes`` mounts the OAuth routes and ``POST /logout``; with
``passwords=True`` also the password, re-authentication, linking and session
routes of ``lucia.integrations._passwords`` (sign-up, sign-in, password change,
re-authentication, link and unlink a provider, revoke sessions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from datetime import timedelta
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Final

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia.accounts import REAUTHENTICATION_MAX_AGE
from lucia.cookies import Cookie
from lucia.core import AsyncLucia
from lucia.errors import DatabaseError, LuciaError
from lucia.integrations import _passwords
from lucia.integrations._async.gate import authenticate
from lucia.integrations._async.sign_in import (
    Page,
    Redirect,
    end_session,
    finish_sign_in,
    replace_session,
    start_sign_in,
)
from lucia.integrations._middleware import (
    ASGI,
    Gate,
    Refusal,
    session_record,
    unavailable,
    upkeep_headers,
)
from lucia.models import Session, User
from lucia.redirects import safe_next
from lucia.throttle import SignInThrottle, client_address

if TYPE_CHECKING:
    # The OAuth flow (httpx, joserfc) is imported only where its routes run, so
    # a password-only app never loads the OAuth extra.
    from lucia.oauth.flow import SignInFlow

__all__ = [
    "AuthEndpoints",
    "LuciaMiddleware",
    "PasswordEndpoints",
    "auth_routes",
    "client_ip",
    "current_session",
    "current_user",
    "session_attributes",
    "sign_in",
    "sign_out",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Where the middleware leaves its marker in scope["state"], so routes can tell
# it ran (and refuse to guess the session when it did not).
_MARK: Final = "lucia_middleware"
_PROXIES: Final = "lucia_trusted_proxies"


class LuciaMiddleware:
    """Pure ASGI middleware: session and user in ``request.state``, cookie upkeep, CSRF.

    ``allowed_origins`` lists the origins (``https://app.example``) or hosts
    unsafe requests may come from; empty means the request's own ``Host``
    (``X-Forwarded-Host`` when ``trust_proxy``). ``csrf_exempt`` lists path
    prefixes (``/webhooks``; matched on whole segments) whose unsafe requests
    skip the origin check; on those, the cookie session is not loaded for
    unsafe methods, so an exempt route can never act on a browser's ambient
    cookie. ``bearer`` enables ``Authorization: Bearer`` tokens; an unsafe
    request authenticated by a valid bearer token and carrying no session
    cookie skips the origin check, because a browser never attaches that header
    on its own: there is no ambient credential to forge a request with.
    ``trusted_proxies`` (IPs or networks such as ``10.0.0.0/8``) are the
    reverse proxies whose ``X-Forwarded-For`` names the client (``client_ip``,
    throttling, ``session_attributes``); from any other peer it is ignored.
    The decisions are ``lucia.integrations._middleware``'s, shared by every
    integration; this class reads the ASGI scope and writes the raw headers.
    """

    def __init__(
        self,
        app: ASGIApp,
        auth: AsyncLucia,
        *,
        allowed_origins: Iterable[str] = (),
        trust_proxy: bool = False,
        csrf_exempt: Iterable[str] = (),
        bearer: bool = True,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        if not isinstance(auth, AsyncLucia):
            raise TypeError("LuciaMiddleware needs an AsyncLucia")
        self.trusted_proxies = _passwords.check_trusted_proxies(trusted_proxies)
        self.gate = Gate(
            auth,
            allowed_origins=allowed_origins,
            trust_proxy=trust_proxy,
            csrf_exempt=csrf_exempt,
            bearer=bearer,
        )
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the raw headers; several Cookie headers (HTTP/2) are joined.
        cookie: str | None = None
        authorization: str | None = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                text = value.decode("latin-1")
                cookie = text if cookie is None else cookie + "; " + text
            elif name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
        plan = await authenticate(
            self.gate,
            self.auth,
            str(scope.get("method", "GET")).upper(),
            str(scope.get("path", "")),
            cookie,
            authorization,
            lambda: Headers(scope=scope),
        )
        if plan.refusal is not None:
            await _refuse(plan.refusal, scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["session"] = plan.session
        state["user"] = plan.user
        state[_MARK] = True
        state[_PROXIES] = self.trusted_proxies
        started = False
        gate = self.gate

        # A plain function handing back send's own awaitable: the app awaits it at
        # once, as ASGI has it, and each message costs no coroutine of its own.
        def wrapped_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = message.get("headers", ())
                if not isinstance(raw, list):
                    raw = list(raw)  # an ASGI app may send any iterable, even a one-shot one
                message["headers"] = upkeep_headers(gate, plan, raw, ASGI)
            return send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except DatabaseError as exc:
            if started:
                raise
            await _refuse(unavailable(exc), scope, receive, send)


async def _refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    headers = {"Cache-Control": "no-store"} if refusal.no_store else None
    response = PlainTextResponse(refusal.body, status_code=refusal.status, headers=headers)
    await response(scope, receive, send)


# Request helpers for views


def _state(request: Request) -> dict[str, Any]:
    state: dict[str, Any] = request.scope.get("state", {})
    if not state.get(_MARK):
        raise RuntimeError("LuciaMiddleware is not installed on this app")
    return state


def current_session(request: Request) -> Session | None:
    """The request's validated session, or None; needs ``LuciaMiddleware``."""
    session: Session | None = _state(request).get("session")
    return session


def current_user(request: Request) -> User | None:
    """The request's signed-in user, or None; needs ``LuciaMiddleware``."""
    user: User | None = _state(request).get("user")
    return user


def client_ip(request: Request) -> str | None:
    """The client's address: the peer's, or ``X-Forwarded-For``'s when the peer is a
    trusted proxy (``LuciaMiddleware(trusted_proxies=...)``); needs the middleware."""
    proxies: tuple[str, ...] = _state(request).get(_PROXIES, ())
    client = request.client
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(
        client.host if client is not None else None,
        ", ".join(forwarded) if forwarded else None,
        proxies,
    )


def session_attributes(request: Request) -> dict[str, Any]:
    """What a new session records about the request: user agent and client address."""
    return session_record(request.headers.get("user-agent"), client_ip(request))


def _set_cookie(response: Response, cookie: Cookie) -> None:
    response.raw_headers.append((b"set-cookie", cookie.serialize().encode("latin-1")))


async def sign_in(
    auth: AsyncLucia,
    request: Request,
    response: Response,
    user_id: str,
    *,
    attributes: dict[str, Any] | None = None,
) -> Session:
    """Start a session for ``user_id`` (after a password check, say), set its cookie
    on ``response`` and mark it no-store; the request's current session, if any, is
    invalidated first (no session fixation). ``attributes`` default to
    ``session_attributes(request)``."""
    session, cookie = await replace_session(
        auth,
        current_session(request),
        user_id,
        session_attributes(request) if attributes is None else attributes,
    )
    _set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return session


async def sign_out(auth: AsyncLucia, request: Request, response: Response) -> None:
    """Invalidate the request's session server-side and clear the session cookie."""
    _set_cookie(response, await end_session(auth, current_session(request)))
    response.headers["Cache-Control"] = "no-store"


# The OAuth sign-in routes and sign-out


class AuthEndpoints:
    """The route handlers, shared by ``auth_routes`` and the FastAPI router."""

    def __init__(self, auth: AsyncLucia, flow: SignInFlow, *, after_logout: str = "/") -> None:
        if flow.auth is not auth:
            raise ValueError("the SignInFlow must use the same AsyncLucia")
        if safe_next(after_logout, "") != after_logout:
            raise ValueError("after_logout must be a same-origin path such as '/'")
        self.auth = auth
        self.flow = flow
        self.after_logout = after_logout

    async def login(self, request: Request) -> Response:
        """``GET /login/{provider}``: 302 to the provider, with the transaction cookie."""
        provider = request.path_params["provider"]
        next_url = request.query_params.get("next")
        return _answer(await start_sign_in(self.flow, provider, next_url))

    async def callback(self, request: Request) -> Response:
        """``GET /login/{provider}/callback`` (``POST`` for a provider whose callback is a
        form post): finish, then 303 to the stored ``next``."""
        provider = request.path_params["provider"]
        old = current_session(request)
        query = request.scope.get("query_string", b"").decode("latin-1")
        if request.method == "POST":
            if not self.flow.accepts_post(provider):
                return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET"})
            body = await _read_body(request)
            if body is None:
                return PlainTextResponse("Payload Too Large", 413)
            query = body.decode("latin-1")
        outcome = await finish_sign_in(
            self.flow,
            self.auth,
            provider,
            query,
            request.headers.get("cookie"),
            session_attributes(request),
            old,
        )
        return _answer(outcome)

    async def logout(self, request: Request) -> Response:
        """``POST /logout``: delete the session server-side, clear the cookie, 303 to ``/``."""
        response = RedirectResponse(self.after_logout, status_code=303)
        await sign_out(self.auth, request, response)
        return response


def _answer(outcome: Redirect | Page) -> Response:
    """An OAuth route's answer: its redirect, or the error page."""
    headers = dict(outcome.headers)
    if isinstance(outcome, Redirect):
        response: Response = RedirectResponse(outcome.url, outcome.status, headers)
    else:
        response = HTMLResponse(outcome.body, outcome.status, headers)
    for cookie in outcome.cookies:
        _set_cookie(response, cookie)
    return response


# The password, re-authentication, linking and session routes


async def _read_body(request: Request) -> bytes | None:
    """The body, or None past ``_passwords.MAX_BODY`` (the rest is never read)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > _passwords.MAX_BODY):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _passwords.MAX_BODY:
            return None
    return bytes(body)


async def _read_fields(request: Request) -> dict[str, str] | LuciaError:
    """The body's fields, parsed by Starlette (forms need python-multipart), or the
    error it is refused with."""
    try:
        kind = _passwords.body_kind(request.headers.get("content-type"))
        body = await _read_body(request)
        if body is None:
            raise _passwords.BodyTooLargeError()
    except LuciaError as error:
        return error

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    # Starlette's own parsers, on the body read within MAX_BODY.
    read = Request(request.scope, replay)
    try:
        if kind == "json":
            return _passwords.json_fields(await read.json())
        async with read.form(max_files=_passwords.MAX_FIELDS) as form:
            return _passwords.form_fields(form.multi_items())
    except LuciaError as error:
        return error
    except (ValueError, HTTPException, MultiPartException):
        # Invalid JSON or UTF-8 (ValueError); a broken multipart body (HTTPException
        # 400 inside an app, MultiPartException outside one).
        return _passwords.malformed_body(kind)


def _reply_response(reply: _passwords.Reply) -> Response:
    response = Response(reply.body, status_code=reply.status, media_type=reply.content_type)
    for name, value in reply.headers:
        response.headers.append(name, value)
    for cookie in reply.cookies:
        _set_cookie(response, cookie)
    return response


class PasswordEndpoints:
    """The password routes' handlers, shared by ``auth_routes`` and the FastAPI router.

    ``throttle`` limits failed password checks per account and per client
    address (default: a per-process ``SignInThrottle()``; use a Redis store
    with several workers). ``return_tokens`` adds the new session's token to
    JSON answers, for API clients that send ``Authorization: Bearer``.
    Linking, unlinking and password changes need a session created within
    ``reauthentication_max_age`` (else 403; ``/reauthenticate`` renews it).
    """

    def __init__(
        self,
        auth: AsyncLucia,
        flow: SignInFlow | None,
        *,
        throttle: SignInThrottle | None = None,
        return_tokens: bool = False,
        reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE,
    ) -> None:
        if not isinstance(auth, AsyncLucia):
            raise TypeError("PasswordEndpoints needs an AsyncLucia")
        # Without it, Starlette's request.form() fails each form post with a 500.
        if find_spec("python_multipart") is None and find_spec("multipart") is None:
            raise RuntimeError(
                "the password routes read forms with python-multipart:"
                " pip install 'lucia-auth[starlette]' (or python-multipart)"
            )
        self.config = _passwords.PasswordConfig.build(
            auth,
            flow,
            throttle=throttle,
            return_tokens=return_tokens,
            reauthentication_max_age=reauthentication_max_age,
        )

    def endpoints(self) -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
        """(path under the prefix, handler) of every password route; all are POST."""
        return [
            (path + ("/{provider}" if with_provider else ""), self._endpoint(action))
            for action, path, with_provider in _passwords.ROUTES
        ]

    def _endpoint(self, action: _passwords.Action) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.handle(action, request)

        endpoint.__name__ = f"lucia_{action}"
        return endpoint

    async def handle(self, action: _passwords.Action, request: Request) -> Response:
        """Answer ``action`` for ``request`` (never raises a ``LuciaError``)."""
        reply = await _passwords.arun(
            self.config,
            _passwords.PasswordRequest(
                action=action,
                content_type=request.headers.get("content-type"),
                accept=request.headers.get("accept"),
                fields=await _read_fields(request),
                query_next=request.query_params.get("next"),
                session=current_session(request),
                user=current_user(request),
                address=client_ip(request),
                session_attributes=session_attributes(request),
                provider=request.path_params.get("provider"),
            ),
        )
        return _reply_response(reply)


def auth_routes(
    auth: AsyncLucia,
    flow: SignInFlow,
    *,
    prefix: str = "",
    after_logout: str = "/",
    passwords: bool = False,
    throttle: SignInThrottle | None = None,
    return_tokens: bool = False,
    reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE,
) -> list[Route]:
    """Routes ``{prefix}/login/{provider}``, ``{prefix}/login/{provider}/callback``
    (GET) and ``{prefix}/logout`` (POST; origin-checked by ``LuciaMiddleware``).
    The callback of a provider that answers with a cross-site POST (Apple's
    ``form_post``) takes POST too: give ``LuciaMiddleware``
    ``csrf_exempt=flow.form_post_paths(prefix)``, since the flow's state and
    sealed transaction cookie protect it instead of the origin check.

    With ``passwords=True`` also, all POST: ``/signup``, ``/signin``,
    ``/password``, ``/reauthenticate``, ``/link/{provider}``,
    ``/unlink/{provider}``, ``/sessions/revoke`` and ``/sessions/revoke-others``
    (see ``PasswordEndpoints`` for the other options).
    """
    endpoints = AuthEndpoints(auth, flow, after_logout=after_logout)
    prefix = prefix.rstrip("/")
    routes = [
        Route(f"{prefix}/login/{{provider}}", endpoints.login, methods=["GET"]),
        Route(f"{prefix}/login/{{provider}}/callback", endpoints.callback, methods=["GET", "POST"]),
        Route(f"{prefix}/logout", endpoints.logout, methods=["POST"]),
    ]
    if passwords:
        password_endpoints = PasswordEndpoints(
            auth,
            flow,
            throttle=throttle,
            return_tokens=return_tokens,
            reauthentication_max_age=reauthentication_max_age,
        )
        routes += [
            Route(prefix + path, handler, methods=["POST"])
            for path, handler in password_endpoints.endpoints()
        ]
    return routes
