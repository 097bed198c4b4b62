"""``LuciaMiddleware``: the session once per request, cookie upkeep, CSRF, and
the ``sign_in`` / ``sign_out`` helpers for views.

    MIDDLEWARE = [..., "lucia.integrations.django.middleware.LuciaMiddleware"]

The middleware reads the session cookie (or else an ``Authorization: Bearer``
token), validates it and sets ``request.lucia_session`` and
``request.lucia_user`` (None when signed out). It re-sets the cookie when the
session was just renewed, clears a cookie that did not validate, marks every
response that read or set a session ``Cache-Control: no-store`` and
``Vary: Cookie``, and answers unsafe cross-site requests with 403 (the origin
check of ``lucia.csrf``; ``LUCIA["ALLOWED_ORIGINS"]``, ``["CSRF_EXEMPT"]``).
A ``lucia.errors.DatabaseError`` becomes a plain 503. It is sync and async
capable: under ASGI it runs async with ``AsyncLucia``, under WSGI sync with
``Lucia``; the decisions around the one I/O call are shared.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import (  # type: ignore[import-untyped]
    HttpResponse,
    HttpResponseForbidden,
)
from django.utils.cache import patch_vary_headers  # type: ignore[import-untyped]

from lucia.cookies import Cookie
from lucia.core import AsyncLucia, Lucia
from lucia.csrf import verify_request_origin
from lucia.errors import DatabaseError
from lucia.integrations.django.conf import get_async_lucia, get_lucia, lucia_settings
from lucia.models import Session, User
from lucia.throttle import client_address

__all__ = [
    "LuciaMiddleware",
    "client_ip",
    "current_session",
    "current_user",
    "session_attributes",
    "set_cookie",
    "sign_in",
    "sign_out",
]

logger = logging.getLogger("lucia.integrations")

_UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Set on the request so views and decorators can tell the middleware ran.
_MARK: Final = "_lucia_middleware"
# Whether a view set or cleared the session cookie itself (then it has the last word).
_MAX_USER_AGENT: Final = 512

GetResponse = Callable[[Any], Any]


@dataclass
class _Plan:
    """What the middleware decided before the I/O: the token and which kind it is."""

    unsafe: bool
    exempt: bool
    cookie_tokens: list[str]
    bearer_token: str | None

    @property
    def tokens(self) -> list[str]:
        return self.cookie_tokens if self.bearer_token is None else [self.bearer_token]


def _exempt(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(not p or path == p or path.startswith(p + "/") for p in prefixes)


def _origin_headers(request: Any) -> dict[str, str]:
    """The request's headers, with a ``Host`` even when the server passed none
    (WSGI allows that: the host is then ``SERVER_NAME`` and ``SERVER_PORT``)."""
    headers = dict(request.headers)
    if "Host" not in headers:
        meta = request.META
        host, port = str(meta.get("SERVER_NAME", "")), str(meta.get("SERVER_PORT", ""))
        default = "443" if request.is_secure() else "80"
        headers["Host"] = host if port in ("", default) else f"{host}:{port}"
    return headers


def _origin_ok(request: Any) -> bool:
    conf = lucia_settings()
    return verify_request_origin(
        request.method or "GET",
        _origin_headers(request),
        conf.allowed_origins,
        trust_proxy=conf.trust_proxy,
    )


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden("Forbidden: cross-site request", content_type="text/plain")


def _unavailable(exc: DatabaseError) -> HttpResponse:
    # The answer names nothing; the log names the cause (driver error class and
    # message, credentials redacted), never a traceback.
    exc.log(logger)
    response = HttpResponse("Service unavailable", status=503, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


def _plan(request: Any, auth: Lucia | AsyncLucia) -> _Plan | HttpResponse:
    """Read the credentials and run the first origin check (a 403 response if it fails)."""
    conf = lucia_settings()
    method = (request.method or "GET").upper()
    unsafe = method in _UNSAFE_METHODS
    exempt = unsafe and bool(conf.csrf_exempt) and _exempt(request.path, conf.csrf_exempt)
    cookie_tokens: list[str] = []
    cookie_header = request.META.get("HTTP_COOKIE")
    if cookie_header and not exempt:
        # On an exempt unsafe route the browser's ambient cookie is never used.
        # Every session cookie sent: a tossed one must not hide the real one.
        cookie_tokens = auth.read_session_cookies(cookie_header)
    bearer_token = None
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if not cookie_tokens and conf.bearer and authorization is not None:
        bearer_token = auth.read_bearer_token(authorization)
    # A valid bearer token with no cookie skips the origin check: a browser
    # never attaches that header by itself, so there is nothing ambient to forge.
    if unsafe and not exempt and bearer_token is None and not _origin_ok(request):
        return _forbidden()
    return _Plan(unsafe, exempt, cookie_tokens, bearer_token)


def _adopt(
    request: Any, plan: _Plan, found: tuple[Session, User] | None
) -> HttpResponse | Cookie | None:
    """Put the session on the request; a 403 response, or the cookie to set afterwards."""
    # An invalid bearer token is no credential at all: check as usual.
    bearer_failed = plan.bearer_token is not None and found is None
    if bearer_failed and plan.unsafe and not plan.exempt and not _origin_ok(request):
        return _forbidden()
    session, user = found if found is not None else (None, None)
    request.lucia_session = session
    request.lucia_user = user
    setattr(request, _MARK, True)
    if not plan.cookie_tokens:
        return None
    return get_lucia().session_cookie_upkeep(plan.cookie_tokens, session)


def _finish(
    response: HttpResponse, plan: _Plan, upkeep: Cookie | None, cookie_name: str
) -> HttpResponse:
    """The response plus the session cookie upkeep, no-store and ``Vary: Cookie``."""
    route_set = cookie_name in response.cookies
    if upkeep is not None and not route_set:
        set_cookie(response, upkeep)
        route_set = True
    if plan.tokens or route_set:
        # A page with a user's data is never cached, whatever the view said.
        response["Cache-Control"] = "no-store"
        if response.has_header("Vary"):
            patch_vary_headers(response, ("Cookie",))
        else:
            # The usual case, without patch_vary_headers' parse and rebuild (~1 µs).
            response["Vary"] = "Cookie"
    return response


class LuciaMiddleware:
    """Session and user on the request, cookie upkeep, CSRF origin check, 503 on DB errors."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self._acall(request)
        auth = get_lucia()
        plan = _plan(request, auth)
        if isinstance(plan, HttpResponse):
            return plan
        found = None
        if plan.tokens:
            try:
                found = auth.validate_session_tokens(plan.tokens)
            except DatabaseError as exc:
                return _unavailable(exc)
        upkeep = _adopt(request, plan, found)
        if isinstance(upkeep, HttpResponse):
            return upkeep
        response = self.get_response(request)
        return _finish(response, plan, upkeep, auth.session_cookie_name)

    async def _acall(self, request: Any) -> Any:
        auth = get_async_lucia()
        plan = _plan(request, auth)
        if isinstance(plan, HttpResponse):
            return plan
        found = None
        if plan.tokens:
            try:
                found = await auth.validate_session_tokens(plan.tokens)
            except DatabaseError as exc:
                return _unavailable(exc)
        upkeep = _adopt(request, plan, found)
        if isinstance(upkeep, HttpResponse):
            return upkeep
        get_response: Callable[[Any], Awaitable[Any]] = self.get_response
        response = await get_response(request)
        return _finish(response, plan, upkeep, auth.session_cookie_name)

    def process_exception(self, request: Any, exception: Exception) -> HttpResponse | None:
        """A view's ``DatabaseError`` from lucia becomes a plain 503."""
        if isinstance(exception, DatabaseError):
            return _unavailable(exception)
        return None


# Request helpers for views


def _require(request: Any) -> None:
    if not getattr(request, _MARK, False):
        raise RuntimeError("LuciaMiddleware is not in settings.MIDDLEWARE")


def current_session(request: Any) -> Session | None:
    """The request's validated session, or None; needs ``LuciaMiddleware``."""
    _require(request)
    session: Session | None = request.lucia_session
    return session


def current_user(request: Any) -> User | None:
    """The request's signed-in user, or None; needs ``LuciaMiddleware``."""
    _require(request)
    user: User | None = request.lucia_user
    return user


def client_ip(request: Any) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or ``X-Forwarded-For``'s when the peer is
    one of ``LUCIA["TRUSTED_PROXIES"]`` (from any other peer the header is ignored)."""
    return client_address(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        lucia_settings().trusted_proxies,
    )


def session_attributes(request: Any) -> dict[str, Any]:
    """What a new session records about the request: user agent and client address."""
    user_agent = str(request.headers.get("user-agent", ""))[:_MAX_USER_AGENT]
    return {"user_agent": user_agent, "ip": client_ip(request)}


def set_cookie(response: HttpResponse, cookie: Cookie) -> None:
    """Set a lucia ``Cookie`` on a Django response, with all its attributes."""
    attributes = cookie.attributes
    response.set_cookie(
        cookie.name,
        cookie.value,
        max_age=attributes.max_age,
        path=attributes.path,
        domain=attributes.domain,
        secure=attributes.secure,
        httponly=attributes.http_only,
        samesite=attributes.same_site.capitalize(),
    )


def sign_in(
    request: Any,
    response: HttpResponse,
    user_id: str,
    *,
    attributes: dict[str, Any] | None = None,
) -> Session:
    """Start a session for ``user_id`` (after a password check, say) and set its cookie.

    The request's current session, if any, is invalidated first, so a login
    always issues a new token and kills the old one (no session fixation).
    Sync; from an async view wrap it in ``sync_to_async``.
    """
    auth = get_lucia()
    old = current_session(request)
    if old is not None:
        auth.invalidate_session(old.id)
    session = auth.create_session(
        user_id, attributes=session_attributes(request) if attributes is None else attributes
    )
    set_cookie(response, auth.create_session_cookie(session))
    response["Cache-Control"] = "no-store"
    return session


def sign_out(request: Any, response: HttpResponse) -> None:
    """Invalidate the request's session server-side and clear the session cookie."""
    auth = get_lucia()
    session = current_session(request)
    if session is not None:
        auth.invalidate_session(session.id)
        logger.info("signed out", extra={"user_id": session.user_id})
    set_cookie(response, auth.create_blank_session_cookie())
    response["Cache-Control"] = "no-store"
