"""The password, re-authentication, linking and session routes, once for every framework.

A framework shell (``starlette.py``, ``flask.py``, ``django/views.py``) mounts
one POST route per entry of ``ROUTES``, reads each request into a
``PasswordRequest`` (the body's fields, the request's session and client
address) and drives ``handle`` with ``run`` (``Lucia``) or ``arun``
(``AsyncLucia``). The answer is a ``Reply``: status, body, headers and
cookies, which the shell copies into its own response class.

The shell parses the body with its framework's own parsers (urlencoded and
``multipart/form-data`` forms, JSON), as ``body_kind`` says, within
``MAX_BODY``, and hands the result to ``form_fields`` or ``json_fields``; a
body that cannot be read becomes the ``LuciaError`` it passes instead of the
fields. Everything else lives here: what counts as a field, the
``lucia.accounts`` calls, re-authentication, throttling, and the mapping of
every ``LuciaError`` to a status, so no shell ever lets one escape.

``handle`` is a generator, like ``lucia.accounts`` and ``lucia.oauth.flow``: it
yields the lucia, throttle and flow calls it needs (``lucia._calls``), and
``run`` / ``arun`` make them synchronously or await their async twins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Final, Literal

from lucia import accounts
from lucia._calls import Operation, adrive, auth_call, call, drive
from lucia.cookies import Cookie
from lucia.core import AsyncLucia, Lucia
from lucia.errors import (
    DatabaseError,
    InvalidCredentialsError,
    InvalidPasswordError,
    KeyNotFoundError,
    LuciaError,
)
from lucia.errors import LastKeyError as LastKeyError  # re-exported: it used to live here
from lucia.models import Key, Session, User
from lucia.oauth.flow import (
    RESPONSE_HEADERS,
    FlowStart,
    SignInFlow,
    UnknownProviderError,
    safe_next,
)
from lucia.throttle import Reservation, SignInThrottle, client_address, sign_in_account

__all__ = [
    "MAX_BODY",
    "ROUTES",
    "PasswordConfig",
    "PasswordRequest",
    "Reply",
    "arun",
    "body_kind",
    "check_trusted_proxies",
    "form_fields",
    "handle",
    "json_fields",
    "malformed_body",
    "run",
]

logger = logging.getLogger("lucia.integrations")

# Credentials and a `next` fit in far less; a bigger body is refused unread.
MAX_BODY: Final = 16 * 1024
MAX_FIELDS: Final = 16

BodyKind = Literal["form", "json"]

Action = Literal[
    "signup",
    "signin",
    "password",
    "reauthenticate",
    "link",
    "unlink",
    "revoke",
    "revoke_others",
]

ROUTES: Final[tuple[tuple[Action, str, bool], ...]] = (
    ("signup", "/signup", False),
    ("signin", "/signin", False),
    ("password", "/password", False),
    ("reauthenticate", "/reauthenticate", False),
    ("link", "/link", True),
    ("unlink", "/unlink", True),
    ("revoke", "/sessions/revoke", False),
    ("revoke_others", "/sessions/revoke-others", False),
)
"""(action, path under the prefix, whether ``/{provider}`` follows): every route is POST."""


# Errors the routes raise besides lucia's own; each carries its HTTP status.


class _RouteError(LuciaError):
    """A refusal of the routes themselves; ``status`` is the HTTP status."""

    status: ClassVar[int] = 400


class BadRequestError(_RouteError):
    """A missing field or a malformed body (400)."""

    code = "AUTH_BAD_REQUEST"
    default_message = "the request is malformed"


class UnsupportedBodyError(_RouteError):
    """A body neither a form (urlencoded or multipart) nor JSON (415)."""

    code = "AUTH_UNSUPPORTED_BODY"
    default_message = "send the fields as a form (urlencoded or multipart) or a JSON object"
    status = 415


class BodyTooLargeError(_RouteError):
    """A body over ``MAX_BODY`` (413), refused without reading it all."""

    code = "AUTH_BODY_TOO_LARGE"
    default_message = "the request body is too large"
    status = 413


class NotSignedInError(_RouteError):
    """A route for signed-in users called without a session (401)."""

    code = "AUTH_NOT_SIGNED_IN"
    default_message = "sign in first"
    status = 401


class NoPasswordError(_RouteError):
    """A password route for an account that signs in only through providers (400)."""

    code = "AUTH_NO_PASSWORD"
    default_message = "this account has no password"


class SessionNotFoundError(_RouteError):
    """Not one of the user's sessions: unknown, expired or someone else's (404)."""

    code = "AUTH_SESSION_NOT_FOUND"
    default_message = "no such session"
    status = 404


# Statuses of lucia's errors that carry none themselves.
_STATUS: Final[tuple[tuple[type[LuciaError], int], ...]] = (
    (InvalidCredentialsError, 401),
    (InvalidPasswordError, 400),
    (accounts.InvalidEmailError, 400),
    (accounts.EmailTakenError, 409),
    (KeyNotFoundError, 404),
    (DatabaseError, 503),
)


@dataclass(frozen=True, slots=True)
class PasswordConfig:
    """What the routes need: the lucia object, the flow (for linking), the throttle."""

    auth: Lucia | AsyncLucia
    flow: SignInFlow | None
    throttle: SignInThrottle
    return_tokens: bool = False
    reauthentication_max_age: timedelta = accounts.REAUTHENTICATION_MAX_AGE
    default_redirect: str = "/"

    @classmethod
    def build(
        cls,
        auth: Lucia | AsyncLucia,
        flow: SignInFlow | None,
        *,
        throttle: SignInThrottle | None = None,
        return_tokens: bool = False,
        reauthentication_max_age: timedelta = accounts.REAUTHENTICATION_MAX_AGE,
    ) -> PasswordConfig:
        """Check the options; a missing throttle is a per-process ``SignInThrottle()``."""
        if flow is not None and flow.auth is not auth:
            raise ValueError("the SignInFlow must use the same lucia object")
        if throttle is not None and not isinstance(throttle, SignInThrottle):
            raise TypeError("throttle must be a lucia.throttle.SignInThrottle")
        if not isinstance(reauthentication_max_age, timedelta) or reauthentication_max_age <= (
            timedelta(0)
        ):
            raise ValueError("reauthentication_max_age must be a positive timedelta")
        return cls(
            auth,
            flow,
            SignInThrottle() if throttle is None else throttle,
            bool(return_tokens),
            reauthentication_max_age,
            "/" if flow is None else flow.default_redirect,
        )


@dataclass(frozen=True, slots=True)
class PasswordRequest:
    """One request to a password route, as the shell read it.

    ``fields`` are the body's string fields (from ``form_fields`` or
    ``json_fields``), or the ``LuciaError`` its body was refused with (413,
    415, 400), answered as any other. ``address`` is the client address from
    ``lucia.throttle.client_address`` (trusted proxies applied).
    """

    action: Action
    content_type: str | None
    accept: str | None
    fields: Mapping[str, str] | LuciaError = field(repr=False)  # passwords
    query_next: str | None
    session: Session | None
    user: User | None
    address: str | None
    session_attributes: dict[str, Any]
    provider: str | None = None

    @property
    def wants_json(self) -> bool:
        """A JSON body, or an ``Accept`` asking for JSON rather than a page."""
        if _media_type(self.content_type).endswith(("/json", "+json")):
            return True
        accept = (self.accept or "").lower()
        return "application/json" in accept and "text/html" not in accept


@dataclass(frozen=True, slots=True)
class Reply:
    """The response a shell sends: never cached, never quoting a password or token."""

    status: int
    body: str = field(repr=False)
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[Cookie, ...] = ()


_Gen = Operation[Reply]
_auth = auth_call


# Parsing


def check_trusted_proxies(trusted_proxies: Iterable[str]) -> tuple[str, ...]:
    """The ``trusted_proxies`` option, checked at start-up: IPs or CIDR networks."""
    if isinstance(trusted_proxies, str):
        raise TypeError("trusted_proxies must be a list of strings")
    proxies = tuple(trusted_proxies)
    if not all(isinstance(entry, str) for entry in proxies):
        raise TypeError("trusted_proxies must be a list of strings")
    client_address(None, None, proxies)  # parses every entry: ValueError if one is invalid
    return proxies


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def body_kind(content_type: str | None) -> BodyKind:
    """How a shell parses a body of ``content_type``: ``"json"`` (``application/json``,
    any ``+json``) or ``"form"`` (urlencoded, ``multipart/form-data``, or no type:
    no body); ``UnsupportedBodyError`` (415) for anything else."""
    media = _media_type(content_type)
    if media.endswith(("/json", "+json")):
        return "json"
    if media in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        return "form"
    raise UnsupportedBodyError()


def form_fields(items: Iterable[tuple[str, object]]) -> dict[str, str]:
    """The fields of a form its framework parsed, as (name, value) pairs with repeats.

    Only strings are fields: a file part is ignored. ``BadRequestError`` for a
    repeated name (which value would count?) or more than ``MAX_FIELDS`` pairs.
    """
    fields: dict[str, str] = {}
    for count, (name, value) in enumerate(items, 1):
        if count > MAX_FIELDS:
            raise BadRequestError("the form has too many fields")
        if not isinstance(value, str):
            continue
        if name in fields:
            raise BadRequestError(f"the field {name!r} is repeated")
        fields[name] = value
    return fields


def json_fields(value: object) -> dict[str, str]:
    """The members of a JSON body its framework parsed; ``BadRequestError`` unless an
    object. Only strings count: a number or list where a password goes is missing."""
    if not isinstance(value, dict):
        raise BadRequestError("the body must be a JSON object")
    return {name: member for name, member in value.items() if isinstance(member, str)}


def malformed_body(kind: BodyKind) -> BadRequestError:
    """The error for a body its framework's parser of ``kind`` refused (400)."""
    return BadRequestError(
        "the body is not valid JSON" if kind == "json" else "the form is malformed"
    )


def _required(fields: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise BadRequestError("missing field: " + ", ".join(missing))
    return [fields[name] for name in names]


def _signed_in(request: PasswordRequest) -> tuple[Session, User]:
    if request.session is None or request.user is None:
        raise NotSignedInError()
    return request.session, request.user


# Replies


def _json(status: int, payload: Mapping[str, Any], *extra: tuple[str, str]) -> Reply:
    return Reply(
        status,
        json.dumps(payload, separators=(",", ":")),
        "application/json",
        (("Cache-Control", "no-store"), *extra),
    )


def _error_reply(error: LuciaError, wants_json: bool) -> Reply:
    status: int | None = getattr(error, "status", None)
    if status is None:
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 400)
    # Fixed texts only: they never quote what the user sent, and a database
    # error's own message (which may name a server) is not the client's business.
    message = error.message if isinstance(error, _RouteError) else type(error).default_message
    payload: dict[str, Any] = {"error": error.code, "message": message}
    extra: list[tuple[str, str]] = []
    reason = getattr(error, "reason", None)
    if isinstance(reason, str):
        payload["reason"] = reason
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        extra.append(("Retry-After", str(max(1, retry_after))))
    if isinstance(error, DatabaseError):
        error.log(logger)
    if wants_json:
        return _json(status, payload, *extra)
    text = message + (f" ({reason})" if isinstance(reason, str) else "")
    return Reply(status, text, "text/plain; charset=utf-8", (("Cache-Control", "no-store"), *extra))


def _done(
    config: PasswordConfig,
    request: PasswordRequest,
    fields: Mapping[str, str],
    payload: dict[str, Any],
    cookies: tuple[Cookie, ...] = (),
) -> Reply:
    """Success: JSON for JSON clients, else a 303 to the safe ``next``."""
    if request.wants_json:
        reply = _json(200, payload)
        return Reply(reply.status, reply.body, reply.content_type, reply.headers, cookies)
    target = safe_next(fields.get("next") or request.query_next, config.default_redirect)
    headers = (("Cache-Control", "no-store"), ("Location", target))
    return Reply(303, "", "text/plain; charset=utf-8", headers, cookies)


def _signed_reply(
    config: PasswordConfig,
    request: PasswordRequest,
    fields: Mapping[str, str],
    signed: accounts.SignedIn,
) -> Reply:
    payload: dict[str, Any] = {"user_id": signed.user.id}
    if config.return_tokens:
        # Opt-in: an API client with no cookie jar needs the new bearer token.
        payload["token"] = signed.session.token
    return _done(config, request, fields, payload, (signed.cookie,))


# The routes


def handle(config: PasswordConfig, request: PasswordRequest) -> _Gen:
    """Answer one request to a password route; every ``LuciaError`` becomes a ``Reply``."""
    try:
        fields = request.fields
        if isinstance(fields, LuciaError):
            raise fields
        return (yield from _ACTIONS[request.action](config, request, fields))
    except LuciaError as error:
        return _error_reply(error, request.wants_json)


def _sign_up(config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]) -> _Gen:
    email, password = _required(fields, "email", "password")
    # Counted per client address before the hash (SECURITY.md 47): each attempt
    # costs an Argon2 hash, and a 409 tells whether an address has an account.
    signed = yield from accounts._sign_up(
        config.auth,
        email,
        password,
        None,
        request.session_attributes,
        config.throttle,
        request.address,
    )
    if request.session is not None:
        # The session the browser held before is never carried over (fixation).
        yield _auth("invalidate_session", request.session.id)
    return _signed_reply(config, request, fields, signed)


def _check_password(
    config: PasswordConfig,
    request: PasswordRequest,
    account: str,
    flow: Operation[accounts.SignedIn],
) -> Operation[accounts.SignedIn]:
    """Run a password-checking ``accounts`` flow under the throttle, race-free.

    The attempt is reserved (counted for the account, and as in flight for the
    address) before the flow runs, so concurrent attempts cannot all pass under
    the limits; a blocked attempt never reaches the hasher. A wrong password is
    the recorded failure (``fail``: the account keeps its count, the address
    counts a failure). A success, or any other error, gives the counts back (a
    success resets nothing else). A request whose generator is closed mid-flow
    (a cancelled ASGI task) can make no more calls: its counts stay, the safe side.
    """
    reservation: Reservation = yield call(config.throttle, "reserve", account, request.address)
    try:
        signed = yield from flow
    except InvalidCredentialsError:
        # lucia.core logs the failure itself (with the user's id when known);
        # fail never raises for the store, so the 401 goes on.
        yield call(config.throttle, "fail", reservation)
        raise
    except Exception:
        # Not a verdict on the password (a store error, a refused new password...).
        # release never raises for the store, so the flow's own error goes on.
        yield call(config.throttle, "release", reservation)
        raise
    yield call(config.throttle, "release", reservation)
    return signed


def _sign_in(config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]) -> _Gen:
    email, password = _required(fields, "email", "password")
    current = None if request.session is None else request.session.id
    signed = yield from _check_password(
        config,
        request,
        sign_in_account(email),
        accounts._sign_in(config.auth, email, password, current, request.session_attributes),
    )
    return _signed_reply(config, request, fields, signed)


def _password_key(user: User) -> Operation[str]:
    """The address of ``user``'s password key; ``NoPasswordError`` without one."""
    keys: list[Key] = yield _auth("get_user_keys", user.id)
    key = accounts.password_key(keys)
    if key is None:
        raise NoPasswordError()
    return key.provider_user_id


def _change_password(
    config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]
) -> _Gen:
    _, user = _signed_in(request)
    current, new = _required(fields, "current_password", "new_password")
    # The current password, checked here under the throttle, is the
    # re-authentication (item 7): a recent sign-in is not asked for on top of it.
    email = yield from _password_key(user)
    signed = yield from _check_password(
        config,
        request,
        email,
        accounts._change_password(
            config.auth, user.id, email, current, new, request.session_attributes
        ),
    )
    return _signed_reply(config, request, fields, signed)


def _reauthenticate(
    config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]
) -> _Gen:
    session, user = _signed_in(request)
    (password,) = _required(fields, "password")
    email = yield from _password_key(user)
    signed = yield from _check_password(
        config,
        request,
        email,
        accounts._reauthenticate(config.auth, session, email, password, None),
    )
    return _signed_reply(config, request, fields, signed)


def _provider_id(config: PasswordConfig, request: PasswordRequest) -> str:
    """The ``provider_id`` of the keys of the route's provider; 404 when unknown."""
    flow = config.flow
    provider = None if flow is None else flow.providers.get(request.provider or "")
    if provider is None:
        raise UnknownProviderError()
    return provider.name


def _link(config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]) -> _Gen:
    session, user = _signed_in(request)
    provider_id = _provider_id(config, request)
    accounts.require_recent_authentication(
        config.auth, session, max_age=config.reauthentication_max_age
    )
    # The flow seals this session and the window into the transaction and checks
    # both again at the callback (SECURITY.md item 43).
    start: FlowStart = yield call(
        config.flow,
        "start",
        request.provider,
        next=fields.get("next") or request.query_next,
        link_session=session,
        link_max_age=config.reauthentication_max_age,
    )
    logger.info("identity link started", extra={"user_id": user.id, "provider_id": provider_id})
    if request.wants_json:
        reply = _json(200, {"location": start.url}, ("Referrer-Policy", "no-referrer"))
        return Reply(reply.status, reply.body, reply.content_type, reply.headers, start.cookies)
    headers = (*RESPONSE_HEADERS.items(), ("Location", start.url))
    return Reply(303, "", "text/plain; charset=utf-8", headers, start.cookies)


def _unlink(config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]) -> _Gen:
    session, user = _signed_in(request)
    provider_id = _provider_id(config, request)
    accounts.require_recent_authentication(
        config.auth, session, max_age=config.reauthentication_max_age
    )
    # One atomic store operation: KeyNotFoundError (404) without such a key,
    # LastKeyError (409) when it would leave the account no way to sign in,
    # even against a concurrent unlink of the user's other provider.
    yield _auth("unlink_provider", user.id, provider_id)
    logger.info("identity unlinked", extra={"user_id": user.id, "provider_id": provider_id})
    return _done(config, request, fields, {"user_id": user.id, "unlinked": request.provider})


def _revoke(config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]) -> _Gen:
    session, user = _signed_in(request)
    (session_id,) = _required(fields, "session_id")
    sessions: list[Session] = yield _auth("get_user_sessions", user.id)
    # Only among the user's own: another user's id is as unknown as a made-up one.
    if session_id not in {own.id for own in sessions}:
        raise SessionNotFoundError()
    yield _auth("invalidate_session", session_id)
    logger.info("session revoked", extra={"user_id": user.id})
    cookies: tuple[Cookie, ...] = ()
    if session_id == session.id:
        cookies = (config.auth.create_blank_session_cookie(),)
    return _done(config, request, fields, {"user_id": user.id, "revoked": 1}, cookies)


def _revoke_others(
    config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]
) -> _Gen:
    session, user = _signed_in(request)
    revoked: int = yield _auth("invalidate_other_sessions", user.id, session.id)
    return _done(config, request, fields, {"user_id": user.id, "revoked": revoked})


_ACTIONS: Final[dict[str, Callable[[PasswordConfig, PasswordRequest, Mapping[str, str]], _Gen]]] = {
    "signup": _sign_up,
    "signin": _sign_in,
    "password": _change_password,
    "reauthenticate": _reauthenticate,
    "link": _link,
    "unlink": _unlink,
    "revoke": _revoke,
    "revoke_others": _revoke_others,
}


# Drivers: the only code that differs between sync and async.


def run(config: PasswordConfig, request: PasswordRequest) -> Reply:
    """``handle`` with a ``Lucia``: the throttle's and flow's sync methods."""
    if not isinstance(config.auth, Lucia):
        raise TypeError("run needs a Lucia; use arun with an AsyncLucia")
    return drive(handle(config, request), config.auth)


async def arun(config: PasswordConfig, request: PasswordRequest) -> Reply:
    """``handle`` with an ``AsyncLucia``: the throttle's and flow's ``a`` methods."""
    if not isinstance(config.auth, AsyncLucia):
        raise TypeError("arun needs an AsyncLucia; use run with a Lucia")
    return await adrive(handle(config, request), config.auth)
