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

from collections.abc import Awaitable, Callable
from typing import Any, Final

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpResponse  # type: ignore[import-untyped]
from django.http.response import ResponseHeaders  # type: ignore[import-untyped]

from lucia.cookies import Cookie
from lucia.errors import DatabaseError
from lucia.integrations._async.gate import authenticate as aauthenticate
from lucia.integrations._middleware import (
    Gate,
    Refusal,
    RequestPlan,
    session_record,
    unavailable,
    vary_with_cookie,
)
from lucia.integrations._sync.gate import authenticate
from lucia.integrations._sync.sign_in import end_session, replace_session
from lucia.integrations.django.conf import (
    built,
    get_async_lucia,
    get_gate,
    get_lucia,
    lucia_settings,
)
from lucia.models import Session, User
from lucia.throttle import client_address

__all__ = [
    "LuciaMiddleware",
    "client_ip",
    "cookie_header",
    "current_session",
    "current_user",
    "session_attributes",
    "set_cookie",
    "sign_in",
    "sign_out",
]

# Set on the request so views and decorators can tell the middleware ran.
_MARK: Final = "_lucia_middleware"


def _headers_store_known() -> bool:
    """Whether this Django's ``ResponseHeaders`` keeps ``{lower-case name: (name,
    value)}`` in ``_store``, as ``_finish`` writes it directly (a private layout:
    checked once against this Django, else the public path is used)."""
    probe = ResponseHeaders({"Vary": "Accept"})
    probe["Cache-Control"] = "no-store"
    return getattr(probe, "_store", None) == {
        "vary": ("Vary", "Accept"),
        "cache-control": ("Cache-Control", "no-store"),
    }


_DIRECT_HEADERS: bool = _headers_store_known()

GetResponse = Callable[[Any], Any]


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


def _refuse(refusal: Refusal) -> HttpResponse:
    response = HttpResponse(refusal.body, status=refusal.status, content_type="text/plain")
    if refusal.no_store:
        response["Cache-Control"] = "no-store"
    return response


def cookie_header(request: Any) -> str | None:
    """The request's ``Cookie`` header as lucia reads it (the session and the OAuth
    transaction cookie).

    HTTP/2 and HTTP/3 clients may send a ``cookie`` field per cookie, to be joined
    with ``"; "`` (RFC 9113 §8.2.3); Django's ``ASGIRequest`` joins repeated fields
    with ``","`` (Django ticket 36399), which makes ``x=1`` and the session's field
    one cookie ``x`` with a comma in its value. So when the header holds a comma
    (a well-formed cookie value never does) and is exactly Django's join of the
    ASGI scope's ``cookie`` fields, those fields are joined as the RFC says: the
    header a browser sends over HTTP/1.1, read by the same rules. Anything else
    (one field, a header a middleware rewrote, WSGI, where the server has already
    joined the fields by its own rules) is returned as it is.
    """
    cookie: str | None = request.META.get("HTTP_COOKIE")
    if cookie is None or "," not in cookie:
        return cookie
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return cookie
    fields = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"cookie"
    ]
    if len(fields) < 2 or ",".join(fields) != cookie:
        return cookie
    return "; ".join(fields)


def _request(request: Any) -> tuple[str, str, str | None, str | None, Callable[[], Any]]:
    """What the gate reads from a Django request."""
    meta = request.META
    return (
        (request.method or "GET").upper(),
        request.path,
        cookie_header(request),
        meta.get("HTTP_AUTHORIZATION"),
        lambda: _origin_headers(request),
    )


def _adopt(request: Any, plan: RequestPlan) -> HttpResponse | None:
    """Put the session on the request, or the refusal to answer with."""
    if plan.refusal is not None:
        return _refuse(plan.refusal)
    request.lucia_session = plan.session
    request.lucia_user = plan.user
    request._lucia_middleware = True  # _MARK, without a setattr() call
    return None


def _finish(response: HttpResponse, plan: RequestPlan, gate: Gate) -> HttpResponse:
    """The response plus the session cookie upkeep, no-store and ``Vary: Cookie``."""
    cookie, no_store = plan.owed(gate.cookie_name in response.cookies)
    if cookie is not None:
        set_cookie(response, cookie)
    if no_store:
        # A page with a user's data is never cached, whatever the view said.
        headers = response.headers
        if _DIRECT_HEADERS and type(headers) is ResponseHeaders:
            store = headers._store
            # Django's ResponseHeaders keeps {lower-case name: (name, value)} of
            # values it has checked. Asking it whether Vary is there raises and
            # catches a KeyError when it is not (Mapping.__contains__), and each
            # write re-checks the value: ~4 us a response, on every response
            # that read a session. The values written here need no check
            # (constants, or a checked value plus ", Cookie"), so they go in as
            # ResponseHeaders.__setitem__ would put them.
            store["cache-control"] = ("Cache-Control", "no-store")
            own = store.get("vary")
            store["vary"] = ("Vary", "Cookie" if own is None else vary_with_cookie((own[1],)))
        else:
            headers["Cache-Control"] = "no-store"
            headers["Vary"] = vary_with_cookie((headers["Vary"],) if "Vary" in headers else ())
    return response


class LuciaMiddleware:
    """Session and user on the request, cookie upkeep, CSRF origin check, 503 on DB errors.

    The decisions are ``lucia.integrations._middleware``'s, shared by every
    integration; under ASGI the request runs with ``AsyncLucia``, under WSGI
    with ``Lucia``.
    """

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
        # Every request runs this: the objects built from settings.LUCIA are
        # read straight from conf's cache (get_gate() and get_lucia() build them
        # when it was dropped).
        gate = built.get("gate") or get_gate()
        plan = authenticate(gate, built.get("lucia") or get_lucia(), *_request(request))
        refused = _adopt(request, plan)
        if refused is not None:
            return refused
        return _finish(self.get_response(request), plan, gate)

    async def _acall(self, request: Any) -> Any:
        gate = built.get("gate") or get_gate()
        auth = built.get("async_lucia") or get_async_lucia()
        plan = await aauthenticate(gate, auth, *_request(request))
        refused = _adopt(request, plan)
        if refused is not None:
            return refused
        get_response: Callable[[Any], Awaitable[Any]] = self.get_response
        return _finish(await get_response(request), plan, gate)

    def process_exception(self, request: Any, exception: Exception) -> HttpResponse | None:
        """A view's ``DatabaseError`` from lucia becomes a plain 503."""
        if isinstance(exception, DatabaseError):
            return _refuse(unavailable(exception))
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
    user_agent = request.headers.get("user-agent")
    return session_record(None if user_agent is None else str(user_agent), client_ip(request))


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
    """Start a session for ``user_id`` (after a password check, say), set its cookie
    on ``response`` and mark it no-store; the request's current session, if any, is
    invalidated first (no session fixation). Sync; from an async view wrap it in
    ``sync_to_async``."""
    session, cookie = replace_session(
        get_lucia(),
        current_session(request),
        user_id,
        session_attributes(request) if attributes is None else attributes,
    )
    set_cookie(response, cookie)
    response["Cache-Control"] = "no-store"
    return session


def sign_out(request: Any, response: HttpResponse) -> None:
    """Invalidate the request's session server-side and clear the session cookie."""
    set_cookie(response, end_session(get_lucia(), current_session(request)))
    response["Cache-Control"] = "no-store"
