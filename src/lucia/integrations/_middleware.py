"""The request logic every integration shares, with no framework in it.

Each integration (Starlette, Flask, Django) builds one ``Gate`` from its
settings and, per request, hands ``authenticate`` (``lucia.integrations._async.gate``
for ``AsyncLucia``, its generated twin ``lucia.integrations._sync.gate`` for
``Lucia``) the few things it reads from the request: the method, the path, the
``Cookie`` and ``Authorization`` headers, and a way to get all the headers for
the origin check. ``authenticate`` decides, with the gate's settings, and makes
the request's one store call:

- which credential counts: the session cookies (every one sent, so a tossed
  cookie cannot hide the real one), else an ``Authorization: Bearer`` token;
- whether an unsafe request may proceed (the CSRF origin check of
  ``lucia.csrf``; exempt path prefixes skip it but never use the ambient cookie;
  a valid bearer token with no cookie needs no check, since a browser never
  attaches that header on its own);
- what the response owes (``RequestPlan.owed``): the session cookie re-set
  (renewed) or cleared (invalid), unless the view set it itself, and
  ``Cache-Control: no-store`` with ``Vary: Cookie`` whenever a session was read
  or set.

An integration turns a ``Refusal`` into its own 403 or 503 response and applies
what the response owes with its own header API (``upkeep_headers`` on raw WSGI
or ASGI headers): a few lines each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Generic, TypeVar

from lucia.cookies import Cookie
from lucia.core import AsyncLucia, Lucia
from lucia.csrf import verify_request_origin
from lucia.errors import DatabaseError
from lucia.models import Session, User

__all__ = [
    "ASGI",
    "FORBIDDEN",
    "UNAVAILABLE",
    "UNSAFE_METHODS",
    "WSGI",
    "Gate",
    "Refusal",
    "RequestPlan",
    "Spelling",
    "session_record",
    "unavailable",
    "upkeep_headers",
    "vary_with_cookie",
]

logger = logging.getLogger("lucia.integrations")

UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The longest User-Agent a session records: a client picks the header, the store keeps it.
MAX_USER_AGENT: Final = 512

Headers = Mapping[str, str]
# The lengths of the response header names upkeep_headers acts on: Set-Cookie,
# Cache-Control, Vary.
_SPECIAL_LENGTHS: Final = frozenset((10, 13, 4))
S = TypeVar("S", str, bytes)


class Spelling(Generic[S]):
    """How a server interface spells raw response headers: WSGI's ``str``
    (latin-1 text) or ASGI's ``bytes``, names in lower case."""

    __slots__ = (
        "binary",
        "cache_control",
        "cookie",
        "decode",
        "encode",
        "no_store",
        "set_cookie",
        "vary",
    )

    def __init__(self, encode: Callable[[str], S], decode: Callable[[S], str]) -> None:
        self.encode: Callable[[str], S] = encode
        self.decode: Callable[[S], str] = decode
        self.binary = isinstance(encode(""), bytes)
        self.set_cookie: S = encode("set-cookie")
        self.cache_control: S = encode("cache-control")
        self.vary: S = encode("vary")
        self.no_store: S = encode("no-store")
        self.cookie: S = encode("Cookie")


WSGI: Final = Spelling[str](str, str)
ASGI: Final = Spelling[bytes](
    lambda text: text.encode("latin-1"), lambda raw: raw.decode("latin-1")
)


class Refusal:
    """An answer given instead of the view's: its status, plain-text body, and
    whether it carries ``Cache-Control: no-store``."""

    __slots__ = ("body", "no_store", "status")

    def __init__(self, status: int, body: str, *, no_store: bool = False) -> None:
        self.status = status
        self.body = body
        self.no_store = no_store

    def __repr__(self) -> str:
        return f"Refusal({self.status})"


FORBIDDEN: Final = Refusal(403, "Forbidden: cross-site request")
"""An unsafe cross-site request."""

UNAVAILABLE: Final = Refusal(503, "Service unavailable", no_store=True)
"""A ``DatabaseError`` from the session store: the answer names nothing."""


def session_record(user_agent: str | None, ip: str | None) -> dict[str, Any]:
    """What a new session records about the request that made it (every
    integration's ``session_attributes``): its ``User-Agent``, cut at
    ``MAX_USER_AGENT`` characters, and the client's address."""
    return {"user_agent": (user_agent or "")[:MAX_USER_AGENT], "ip": ip}


def unavailable(exc: DatabaseError) -> Refusal:
    """The 503 for a store failure, logged (driver error class and message,
    credentials redacted; never a traceback)."""
    exc.log(logger)
    return UNAVAILABLE


class RequestPlan:
    """What the gate made of one request: the credentials read, then the session
    and user found, the cookie the response owes, or a refusal."""

    __slots__ = (
        "bearer_token",
        "cookie_tokens",
        "refusal",
        "session",
        "set_cookie",
        "unsafe_checked",
        "user",
    )

    def __init__(
        self, cookie_tokens: list[str], bearer_token: str | None, unsafe_checked: bool = False
    ) -> None:
        self.cookie_tokens = cookie_tokens
        self.bearer_token = bearer_token
        # An unsafe, non-exempt request: an invalid bearer token sends it back
        # to the origin check.
        self.unsafe_checked = unsafe_checked
        self.session: Session | None = None
        self.user: User | None = None
        self.set_cookie: Cookie | None = None
        self.refusal: Refusal | None = None

    def owed(self, route_set: bool) -> tuple[Cookie | None, bool]:
        """What the response owes: the session cookie to add (None when the view set
        it or none is due) and whether to mark it no-store with ``Vary: Cookie``
        (whenever the request carried a credential or a session cookie is set).

        ``route_set`` tells whether the response already sets the session cookie.
        """
        cookie = None if route_set else self.set_cookie
        no_store = (
            route_set
            or cookie is not None
            or bool(self.cookie_tokens)
            or self.bearer_token is not None
        )
        return cookie, no_store


class Gate:
    """One app's session and CSRF settings, and the decisions made with them.

    ``allowed_origins`` lists the origins (``https://app.example``) or hosts
    unsafe requests may come from; empty means the request's own ``Host``
    (``X-Forwarded-Host`` when ``trust_proxy``). ``csrf_exempt`` lists path
    prefixes (matched on whole segments) whose unsafe requests skip the origin
    check and never load the cookie session. ``bearer`` enables
    ``Authorization: Bearer`` tokens.
    """

    __slots__ = (
        "allowed_origins",
        "auth",
        "bearer",
        "cookie_name",
        "cookie_prefix",
        "cookie_prefix_bytes",
        "csrf_exempt",
        "trust_proxy",
    )

    def __init__(
        self,
        auth: Lucia | AsyncLucia,
        *,
        allowed_origins: Iterable[str] = (),
        trust_proxy: bool = False,
        csrf_exempt: Iterable[str] = (),
        bearer: bool = True,
    ) -> None:
        if isinstance(allowed_origins, str) or isinstance(csrf_exempt, str):
            raise TypeError("allowed_origins and csrf_exempt must be lists of strings")
        exempt = tuple(csrf_exempt)
        for prefix in exempt:
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                raise ValueError("csrf_exempt entries are path prefixes starting with '/'")
        self.auth = auth
        self.allowed_origins = tuple(allowed_origins)
        self.trust_proxy = trust_proxy
        self.csrf_exempt = tuple(prefix.rstrip("/") for prefix in exempt)
        self.bearer = bearer
        # How a Set-Cookie header of the session cookie starts: a view that set
        # or cleared it itself (sign-in, sign-out) has the last word.
        self.cookie_name = auth.session_cookie_name
        self.cookie_prefix = auth.session_cookie_name + "="
        self.cookie_prefix_bytes = self.cookie_prefix.encode("latin-1")

    def is_exempt(self, path: str) -> bool:
        """Whether ``path`` is under one of the ``csrf_exempt`` prefixes."""
        for prefix in self.csrf_exempt:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return True
        return False

    def origin_ok(self, method: str, headers: Headers) -> bool:
        """The CSRF origin check of ``lucia.csrf`` with this gate's settings."""
        return verify_request_origin(
            method, headers, self.allowed_origins, trust_proxy=self.trust_proxy
        )


def upkeep_headers(
    gate: Gate, plan: RequestPlan, raw: list[tuple[S, S]], spelling: Spelling[S]
) -> list[tuple[S, S]]:
    """A response's raw headers with what it owes: the session cookie (unless the
    view set it), then ``Cache-Control: no-store`` and one ``Vary`` naming
    ``Cookie`` in place of the view's own, when a session was read or set. The
    headers as they were when none was; the others keep their order."""
    # Every response that read a session runs this: a header whose name is not
    # as long as one of the three it acts on costs one length test, no lower().
    out: list[tuple[S, S]] = []
    vary: list[str] | None = None
    route_set = False
    for header in raw:
        name = header[0]
        if len(name) in _SPECIAL_LENGTHS:
            name = name.lower()
            if name == spelling.set_cookie:
                prefix = gate.cookie_prefix_bytes if spelling.binary else gate.cookie_prefix
                if header[1].startswith(prefix):  # type: ignore[arg-type]
                    route_set = True
            elif name == spelling.cache_control:
                continue
            elif name == spelling.vary:
                if vary is None:
                    vary = []
                vary.append(spelling.decode(header[1]))
                continue
        out.append(header)
    cookie, no_store = plan.owed(route_set)
    if not no_store:
        return raw
    if cookie is not None:
        out.append((spelling.set_cookie, spelling.encode(cookie.serialize())))
    out.append((spelling.cache_control, spelling.no_store))
    # The usual response has no Vary of its own: "Cookie" as it is, no join.
    vary_value = spelling.cookie if vary is None else spelling.encode(vary_with_cookie(vary))
    out.append((spelling.vary, vary_value))
    return out


def vary_with_cookie(values: Sequence[str]) -> str:
    """The one ``Vary`` value for a response that read or set a session: the
    response's own values, plus ``Cookie`` unless they already name it or ``*``."""
    if not values:
        return "Cookie"
    joined = ", ".join(values)
    for token in joined.split(","):
        name = token.strip().lower()
        if name in ("cookie", "*"):
            return joined
    return joined + ", Cookie"
