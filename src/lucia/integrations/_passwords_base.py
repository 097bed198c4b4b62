"""The password routes' requests, replies, bodies and errors: everything but the actions.

``lucia.integrations._passwords`` is what the framework shells import; it
re-exports these with ``run`` / ``arun``. The actions (sign-up, sign-in,
password change, ...) are written once, as async code, in
``lucia/integrations/_async/routes.py``; the sync ones are generated into
``lucia/integrations/_sync/routes.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from lucia.accounts import REAUTHENTICATION_MAX_AGE, SignedIn
from lucia.cookies import Cookie
from lucia.core import AsyncLucia, Lucia
from lucia.errors import DatabaseError, LuciaError
from lucia.models import Session, User
from lucia.redirects import safe_next
from lucia.throttle import SignInThrottle, client_address

if TYPE_CHECKING:
    # Only a type here: a password-only app never loads the OAuth extra (httpx, joserfc).
    from lucia.oauth.flow import SignInFlow

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


class UnknownLinkProviderError(_RouteError):
    """A link or unlink route for a provider the app has not configured (404).

    The same answer as ``lucia.oauth.flow.UnknownProviderError``, raised here
    so that the routes need nothing of the OAuth extra without a flow.
    """

    code = "AUTH_OAUTH_UNKNOWN_PROVIDER"
    default_message = "unknown sign-in provider"
    status = 404


class SessionNotFoundError(_RouteError):
    """Not one of the user's sessions: unknown, expired or someone else's (404)."""

    code = "AUTH_SESSION_NOT_FOUND"
    default_message = "no such session"
    status = 404


@dataclass(frozen=True, slots=True)
class PasswordConfig:
    """What the routes need: the lucia object, the flow (for linking), the throttle."""

    auth: Lucia | AsyncLucia
    flow: SignInFlow | None
    throttle: SignInThrottle
    return_tokens: bool = False
    reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE
    default_redirect: str = "/"

    @classmethod
    def build(
        cls,
        auth: Lucia | AsyncLucia,
        flow: SignInFlow | None,
        *,
        throttle: SignInThrottle | None = None,
        return_tokens: bool = False,
        reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE,
        default_redirect: str | None = None,
    ) -> PasswordConfig:
        """Check the options; a missing throttle is a per-process ``SignInThrottle()``.

        ``default_redirect`` (where a form lands without a safe ``next``) is the
        flow's when not given, ``"/"`` without a flow.
        """
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
            default_redirect or ("/" if flow is None else flow.default_redirect),
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


def required(fields: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise BadRequestError("missing field: " + ", ".join(missing))
    return [fields[name] for name in names]


def signed_in(request: PasswordRequest) -> tuple[Session, User]:
    if request.session is None or request.user is None:
        raise NotSignedInError()
    return request.session, request.user


# Replies


def json_reply(status: int, payload: Mapping[str, Any], *extra: tuple[str, str]) -> Reply:
    return Reply(
        status,
        json.dumps(payload, separators=(",", ":")),
        "application/json",
        (("Cache-Control", "no-store"), *extra),
    )


def error_reply(error: LuciaError, wants_json: bool) -> Reply:
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
        return json_reply(error.status, payload, *extra)
    text = message + (f" ({reason})" if isinstance(reason, str) else "")
    return Reply(
        error.status, text, "text/plain; charset=utf-8", (("Cache-Control", "no-store"), *extra)
    )


def done(
    config: PasswordConfig,
    request: PasswordRequest,
    fields: Mapping[str, str],
    payload: dict[str, Any],
    cookies: tuple[Cookie, ...] = (),
) -> Reply:
    """Success: JSON for JSON clients, else a 303 to the safe ``next``."""
    if request.wants_json:
        reply = json_reply(200, payload)
        return Reply(reply.status, reply.body, reply.content_type, reply.headers, cookies)
    target = safe_next(fields.get("next") or request.query_next, config.default_redirect)
    headers = (("Cache-Control", "no-store"), ("Location", target))
    return Reply(303, "", "text/plain; charset=utf-8", headers, cookies)


def signed_reply(
    config: PasswordConfig,
    request: PasswordRequest,
    fields: Mapping[str, str],
    signed: SignedIn,
) -> Reply:
    payload: dict[str, Any] = {"user_id": signed.user.id}
    if config.return_tokens:
        # Opt-in: an API client with no cookie jar needs the new bearer token.
        payload["token"] = signed.session.token
    return done(config, request, fields, payload, (signed.cookie,))
