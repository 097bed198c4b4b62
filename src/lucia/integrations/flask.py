"""Flask integration: the ``LuciaFlask`` extension, ``current_user`` and ``login_required``.

    auth = Lucia(SQLiteAdapter("app.db"))
    lucia_ext = LuciaFlask(app, auth=auth, flow=SignInFlow(auth, {"github": github}))

    @app.get("/me")
    @login_required
    def me() -> str:
        return g.user.id  # a lucia User; g.session is its Session

Before every request the extension reads the session once, from the session
cookie or else an ``Authorization: Bearer`` token, into ``g.session`` and
``g.user`` (None when signed out). After it, it re-sets the cookie when the
session was just renewed (``fresh``), clears a cookie that did not validate,
and marks every response that read or set a session ``Cache-Control: no-store``
and ``Vary: Cookie``. Unsafe cross-site requests get 403 (the origin check of
``lucia.csrf``), and a ``lucia.errors.DatabaseError`` becomes a plain 503. With
a ``flow``, it registers the blueprint ``lucia`` with ``GET /login/<provider>``,
``GET /login/<provider>/callback`` and ``POST /logout``; with ``passwords=True``
also the password routes of ``lucia.integrations._passwords`` (``POST /signup``,
``/signin``, ``/password``, ``/reauthenticate``, ``/link/<provider>``,
``/unlink/<provider>``, ``/sessions/revoke``, ``/sessions/revoke-others``).
The behaviour is the Starlette integration's, the Flask way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar, cast
from urllib.parse import urlencode

from flask import Blueprint, Flask, Request, Response, current_app, g, redirect, request, url_for
from flask.ctx import _AppCtxGlobals
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.local import LocalProxy
from werkzeug.wrappers import Response as BaseResponse

from lucia.accounts import REAUTHENTICATION_MAX_AGE, SignedIn
from lucia.core import Lucia
from lucia.errors import DatabaseError, LuciaError
from lucia.integrations import _passwords
from lucia.integrations._middleware import (
    WSGI,
    Gate,
    Refusal,
    RequestPlan,
    session_record,
    unavailable,
    upkeep_headers,
    vary_with_cookie,
)
from lucia.integrations._sync.gate import authenticate
from lucia.integrations._sync.sign_in import (
    Page,
    Redirect,
    end_session,
    finish_sign_in,
    start_sign_in,
)
from lucia.models import Session, User
from lucia.redirects import safe_next
from lucia.throttle import SignInThrottle, client_address

if TYPE_CHECKING:
    # The OAuth flow (httpx, joserfc) is imported only where its routes run, so
    # a password-only app never loads the OAuth extra.
    from lucia.oauth.flow import SignInFlow

__all__ = [
    "LuciaFlask",
    "client_ip",
    "current_session",
    "current_user",
    "login_required",
    "session_attributes",
    "sign_in_response",
    "sign_out",
]

P = ParamSpec("P")
R = TypeVar("R")

_EXTENSION: Final = "lucia"
# Where before_request leaves the request's plan for the response's upkeep.
_PLAN: Final = "lucia.plan"

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# The objects behind Flask's context proxies, fetched once per use: every
# attribute read through a proxy repeats the context lookup, and the request
# hooks below run on every request (werkzeug documents _get_current_object).
_get_request: Final[Callable[[], Request]] = cast(Any, request)._get_current_object
_get_g: Final[Callable[[], _AppCtxGlobals]] = cast(Any, g)._get_current_object
_get_app: Final[Callable[[], Flask]] = cast(Any, current_app)._get_current_object
_G_SETATTR: Final = _AppCtxGlobals.__setattr__


class LuciaFlask:
    """The Flask extension: session and user in ``g``, cookie upkeep, CSRF, OAuth routes.

    ``allowed_origins`` lists the origins (``https://app.example``) or hosts
    unsafe requests may come from; empty means the request's own ``Host``
    (``X-Forwarded-Host`` when ``trust_proxy``). ``csrf_exempt`` lists path
    prefixes (``/webhooks``; matched on whole segments) whose unsafe requests
    skip the origin check; on those the cookie session is not loaded, so an
    exempt route never acts on a browser's ambient cookie. ``bearer`` enables
    ``Authorization: Bearer`` tokens; an unsafe request authenticated by a valid
    bearer token and carrying no session cookie skips the origin check, since a
    browser never attaches that header on its own. ``login_view`` (a path or an
    endpoint name) makes ``login_required`` redirect signed-out GET requests
    there with ``?next=``; without it they get 401. ``url_prefix`` prefixes the
    OAuth routes; ``after_logout`` is where ``POST /logout`` redirects. The
    callback of a provider that answers with a cross-site POST (Apple's
    ``form_post``) takes POST too and is exempt from the origin check: the
    flow's state and sealed transaction cookie protect it.
    ``trusted_proxies`` (IPs or networks such as ``10.0.0.0/8``) are the reverse
    proxies whose ``X-Forwarded-For`` names the client (``client_ip``,
    throttling); from any other peer it is ignored.

    ``passwords=True`` adds the password routes. ``throttle`` limits failed
    password checks per account and client address (default: a per-process
    ``SignInThrottle()``; use a Redis store with several workers);
    ``return_tokens`` adds the new session's token to JSON answers for bearer
    clients; linking, unlinking and password changes need a session created
    within ``reauthentication_max_age`` (else 403).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        auth: Lucia,
        flow: SignInFlow | None = None,
        allowed_origins: Iterable[str] = (),
        trust_proxy: bool = False,
        csrf_exempt: Iterable[str] = (),
        bearer: bool = True,
        url_prefix: str = "",
        login_view: str | None = None,
        after_logout: str = "/",
        trusted_proxies: Iterable[str] = (),
        passwords: bool = False,
        throttle: SignInThrottle | None = None,
        return_tokens: bool = False,
        reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE,
    ) -> None:
        if not isinstance(auth, Lucia):
            raise TypeError("LuciaFlask needs a Lucia (Flask views are synchronous)")
        if flow is not None and flow.auth is not auth:
            raise ValueError("the SignInFlow must use the same Lucia")
        if safe_next(after_logout, "") != after_logout:
            raise ValueError("after_logout must be a same-origin path such as '/'")
        if url_prefix and safe_next(url_prefix, "") != url_prefix:
            raise ValueError("url_prefix must be a path such as '/auth'")
        self.url_prefix = url_prefix.rstrip("/")
        if flow is not None:
            # A provider answering with a cross-site POST (Apple's form_post): its
            # callback is protected by the flow's state and sealed cookie instead.
            csrf_exempt = (*csrf_exempt, *flow.form_post_paths(self.url_prefix))
        self.gate = Gate(
            auth,
            allowed_origins=allowed_origins,
            trust_proxy=trust_proxy,
            csrf_exempt=csrf_exempt,
            bearer=bearer,
        )
        self.auth = auth
        self.flow = flow
        self.login_view = login_view
        self.after_logout = after_logout
        self.trusted_proxies = _passwords.check_trusted_proxies(trusted_proxies)
        self.passwords: _passwords.PasswordConfig | None = None
        if passwords:
            self.passwords = _passwords.PasswordConfig.build(
                auth,
                flow,
                throttle=throttle,
                return_tokens=return_tokens,
                reauthentication_max_age=reauthentication_max_age,
            )
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the request hooks, the 503 handler and (with a flow) the blueprint."""
        if _EXTENSION in app.extensions:
            raise RuntimeError("LuciaFlask is already installed on this app")
        app.extensions[_EXTENSION] = self
        app.before_request(_session_loader(self.gate, self.auth))
        # The response's upkeep on the raw WSGI headers, as the Starlette
        # middleware does on ASGI's: cheaper than an after_request hook
        # editing Werkzeug's header object (measured: ~10 us a request).
        app.wsgi_app = _response_upkeep(app.wsgi_app, self.gate)  # type: ignore[method-assign,assignment]
        app.register_error_handler(DatabaseError, _unavailable)
        if self.flow is not None:
            # A flow built without secret_keys seals its OAuth transactions under a
            # key derived from app.secret_key (32 bytes or more), so every worker
            # process finishes the sign-ins any other one started.
            self.flow._adopt_secret(app.secret_key)
        if self.flow is not None or self.passwords is not None:
            app.register_blueprint(self._blueprint(), url_prefix=self.url_prefix or None)

    # The OAuth routes and sign-out

    def _blueprint(self) -> Blueprint:
        blueprint = Blueprint("lucia", __name__)
        if self.flow is not None:
            blueprint.add_url_rule("/login/<provider>", "login", self._login, methods=["GET"])
            blueprint.add_url_rule(
                "/login/<provider>/callback",
                "callback",
                self._callback,
                methods=["GET", "POST"],
            )
        blueprint.add_url_rule("/logout", "logout", self._logout, methods=["POST"])
        if self.passwords is not None:
            for action, path, with_provider in _passwords.ROUTES:
                if with_provider and self.flow is None:
                    continue  # linking needs the OAuth flow
                blueprint.add_url_rule(
                    path + ("/<provider>" if with_provider else ""),
                    action,
                    functools.partial(self._password_route, action),
                    methods=["POST"],
                )
        return blueprint

    def _password_route(self, action: _passwords.Action, provider: str | None = None) -> Any:
        """One password route: the shared logic, run with ``Lucia``, as a Flask response."""
        assert self.passwords is not None
        reply = _passwords.run(
            self.passwords,
            _passwords.PasswordRequest(
                action=action,
                content_type=request.headers.get("Content-Type"),
                accept=request.headers.get("Accept"),
                fields=_read_fields(),
                query_next=request.args.get("next"),
                session=g.session,
                user=g.user,
                address=client_ip(),
                session_attributes=session_attributes(),
                provider=provider,
            ),
        )
        response = Response(reply.body, status=reply.status, content_type=reply.content_type)
        for name, value in reply.headers:
            response.headers[name] = value
        for cookie in reply.cookies:
            response.headers.add("Set-Cookie", cookie.serialize())
        return response

    def _login(self, provider: str) -> BaseResponse:
        """``GET /login/<provider>``: 302 to the provider, with the transaction cookie."""
        assert self.flow is not None
        return _answer(start_sign_in(self.flow, provider, request.args.get("next")))

    def _callback(self, provider: str) -> BaseResponse:
        """``GET /login/<provider>/callback`` (``POST`` for a provider whose callback is a
        form post): finish, then 303 to the stored ``next``."""
        assert self.flow is not None
        query = request.query_string.decode("latin-1")
        if request.method == "POST":
            if not self.flow.accepts_post(provider):
                return Response("Method Not Allowed", status=405, headers={"Allow": "GET"})
            if (request.content_length or 0) > _passwords.MAX_BODY:
                return _refuse(Refusal(413, "Payload Too Large"))
            request.max_content_length = _passwords.MAX_BODY
            query = request.get_data(cache=False).decode("latin-1")
        outcome = finish_sign_in(
            self.flow,
            self.auth,
            provider,
            query,
            request.environ.get("HTTP_COOKIE"),
            session_attributes(),
            g.session,
        )
        return _answer(outcome)

    def _logout(self) -> BaseResponse:
        """``POST /logout``: delete the session server-side, clear the cookie, 303."""
        response = redirect(self.after_logout, code=303)
        sign_out(response)
        return response


def _session_loader(gate: Gate, auth: Lucia) -> Callable[[], BaseResponse | None]:
    """The ``before_request`` hook: the request's plan (the decisions are
    ``lucia.integrations._middleware``'s) into ``g`` and the WSGI environ, or
    the refusal to answer with."""

    # A plain function, not a bound method: Flask asks every hook, on every
    # request, whether it is a coroutine function, and a method costs it an
    # unwrapping more.
    def load_session() -> BaseResponse | None:
        req = _get_request()
        environ = req.environ
        # The raw Cookie header: Werkzeug's own parser would repair malformed cookies.
        plan = authenticate(
            gate,
            auth,
            req.method,
            req.path,
            environ.get("HTTP_COOKIE"),
            environ.get("HTTP_AUTHORIZATION"),
            lambda: cast(Any, req.headers),
        )
        environ[_PLAN] = plan
        flask_g = _get_g()
        if type(flask_g).__setattr__ is _G_SETATTR:
            # Flask's own g, whose __setattr__ is Python code writing the
            # instance's __dict__: written there at once, three calls fewer.
            found = flask_g.__dict__
            found["_lucia"] = plan
            found["session"] = plan.session
            found["user"] = plan.user
        else:
            # An app's own app_ctx_globals_class: through its __setattr__.
            flask_g._lucia = plan
            flask_g.session = plan.session
            flask_g.user = plan.user
        if plan.refusal is not None:
            return _refuse(plan.refusal)
        return None

    return load_session


def _response_upkeep(wsgi_app: WSGIApp, gate: Gate) -> WSGIApp:
    """WSGI middleware around the app: the response's session cookie upkeep,
    no-store and ``Vary``, on the raw headers (``upkeep_headers``)."""

    # A function, not an object with __call__: Flask calls it on every request.
    def upkeep_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            plan: RequestPlan | None = environ.get(_PLAN)
            if plan is not None and plan.refusal is None:
                headers = upkeep_headers(gate, plan, headers, WSGI)
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return upkeep_app


def _installed() -> tuple[LuciaFlask, _AppCtxGlobals]:
    """The app's extension and the request's ``g``; RuntimeError when not installed."""
    flask_g = _get_g()
    extension = _get_app().extensions.get(_EXTENSION)
    if not isinstance(extension, LuciaFlask) or "_lucia" not in flask_g:
        raise RuntimeError("LuciaFlask is not installed on this app")
    return extension, flask_g


def _extension() -> LuciaFlask:
    return _installed()[0]


def _read_fields() -> dict[str, str] | LuciaError:
    """The body's fields, parsed by Werkzeug, or the error it is refused with."""
    req = _get_request()
    try:
        kind = _passwords.body_kind(req.content_type)
        if (req.content_length or 0) > _passwords.MAX_BODY:
            raise _passwords.BodyTooLargeError()
        # A body without Content-Length (chunked) stops there too (Flask 3.1+).
        req.max_content_length = _passwords.MAX_BODY
        if kind == "json":
            return _passwords.json_fields(req.get_json(force=True))
        return _passwords.form_fields(req.form.items(multi=True))
    except LuciaError as error:
        return error
    except RequestEntityTooLarge:
        return _passwords.BodyTooLargeError()
    except BadRequest:
        # get_json's answer to invalid JSON. (Werkzeug parses a broken form as an
        # empty one: then the fields are missing, a 400 as well.)
        return _passwords.malformed_body(kind)


def _no_store(response: BaseResponse) -> None:
    headers = response.headers
    headers["Cache-Control"] = "no-store"
    headers["Vary"] = vary_with_cookie(headers.getlist("Vary"))


def _refuse(refusal: Refusal) -> BaseResponse:
    response = Response(refusal.body, status=refusal.status, mimetype="text/plain")
    if refusal.no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


def _unavailable(exc: DatabaseError) -> BaseResponse:
    return _refuse(unavailable(exc))


def _answer(outcome: Redirect | Page) -> BaseResponse:
    """An OAuth route's answer: its redirect, or the error page."""
    if isinstance(outcome, Redirect):
        response = redirect(outcome.url, code=outcome.status)
    else:
        response = Response(outcome.body, status=outcome.status, mimetype="text/html")
    response.headers.update(outcome.headers)
    for cookie in outcome.cookies:
        response.headers.add("Set-Cookie", cookie.serialize())
    return response


# Request helpers for views


def current_session() -> Session | None:
    """The request's validated session, or None; needs ``LuciaFlask``."""
    session: Session | None = _installed()[1].session
    return session


def _current_user() -> User | None:
    user: User | None = _installed()[1].user
    return user


current_user: User | None = cast(Any, LocalProxy(_current_user))
"""The signed-in user, or a proxy to None: test it with ``if current_user:``
(``current_user is None`` is never true for a proxy) or use ``g.user``."""


def client_ip() -> str | None:
    """The client's address: the peer's, or ``X-Forwarded-For``'s when the peer is one
    of the extension's ``trusted_proxies``; needs ``LuciaFlask``."""
    extension = _extension()
    forwarded = request.headers.getlist("X-Forwarded-For")
    return client_address(
        request.remote_addr,
        ", ".join(forwarded) if forwarded else None,
        extension.trusted_proxies,
    )


def session_attributes() -> dict[str, Any]:
    """What a new session records about the request: user agent and client address."""
    return session_record(request.headers.get("User-Agent"), client_ip())


def login_required(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    """Let only signed-in users through.

    Signed out: 401 (plain text), or, when the extension has a ``login_view``
    and the request is a GET or HEAD, a 302 there with ``?next=`` the current path.
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        extension, flask_g = _installed()
        if flask_g.user is not None:
            return view(*args, **kwargs)
        req = _get_request()
        if extension.login_view is not None and req.method in ("GET", "HEAD"):
            target = extension.login_view
            if not target.startswith("/"):
                target = url_for(target)
            query = req.query_string.decode("latin-1")
            here = safe_next(req.path + ("?" + query if query else ""))
            return redirect(f"{target}?{urlencode({'next': here})}", code=302)
        return Response("Unauthorized", status=401, mimetype="text/plain")

    return wrapper


def sign_in_response(response: BaseResponse, session: Session | SignedIn) -> BaseResponse:
    """Set the cookie of a session just created (``lucia.accounts`` gives one) on ``response``.

    The request's previous session, if any, is invalidated server-side, so a
    sign-in never keeps what the browser held before (fixation). The response
    is marked ``Cache-Control: no-store``.
    """
    extension = _extension()
    new = session.session if isinstance(session, SignedIn) else session
    old: Session | None = g.session
    if old is not None and old.id != new.id:
        extension.auth.invalidate_session(old.id)
        g.session = None
        g.user = None
    response.headers.add("Set-Cookie", extension.auth.create_session_cookie(new).serialize())
    _no_store(response)
    return response


def sign_out(response: BaseResponse) -> BaseResponse:
    """Invalidate the request's session server-side and clear the session cookie."""
    session: Session | None = g.session
    cookie = end_session(_extension().auth, session)
    if session is not None:
        g.session = None
        g.user = None
    response.headers.add("Set-Cookie", cookie.serialize())
    _no_store(response)
    return response
