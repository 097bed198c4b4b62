"""``Lucia`` and ``AsyncLucia``: users, keys, sessions and cookies.

The operations are written once, as async code, in ``lucia/_async/core.py``
(``AsyncLucia``); the sync ``Lucia`` in ``lucia/_sync/core.py`` is generated
from it (``scripts/generate_sync.py``). This module keeps what has no I/O and
so is the same for both: configuration, cookies and request headers, the pure
session verdict, the checks of untrusted text and of the adapter's flavour; and
it is where both classes are imported from.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import inspect
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Generic, Literal, TypeVar, cast

from lucia._concurrency import HASH_WORKERS, default_hash_executor
from lucia.adapters.base import KeyRecord, SessionRecord
from lucia.cookies import (
    MAX_COOKIE_AGE,
    Cookie,
    CookieAttributes,
    read_bearer_token,
    read_cookie,
    read_cookies,
)
from lucia.errors import InvalidKeyError
from lucia.models import Key, Session
from lucia.passwords import PasswordHasher, PasswordPolicy
from lucia.sessions import DEFAULT_ABSOLUTE_LIFETIME, SessionPolicy, utc_now, verify_secret

__all__ = [
    "HASH_WORKERS",
    "MAX_SESSION_COOKIES",
    "AsyncLucia",
    "Lucia",
    "default_hash_executor",
    "generate_user_id",
    "hash_one_time_token",
]

UA = TypeVar("UA")
SA = TypeVar("SA")
SS = TypeVar("SS")
JA = TypeVar("JA")


class _Outcome(enum.Enum):
    """What a session row read at validation calls for (``_session_verdict``)."""

    REFUSE = "refuse"  # the secret does not match: refuse, and leave the row alone
    EXPIRED = "expired"  # refuse, and delete the row
    VALID = "valid"  # accept the session as read


# Module-level names: this runs on every request, and a global is one lookup.
_REFUSE: Final = _Outcome.REFUSE
_EXPIRED: Final = _Outcome.EXPIRED
_VALID: Final = _Outcome.VALID
# A datetime verdict: valid, and due for renewal to that expiry.
_Verdict = _Outcome | datetime
_NOTHING_LEFT: Final = timedelta(0)
# The default clock, and what the verdict reads instead of it for epoch records.
_utc_now: Final = utc_now
_time: Final = time.time

_MAX_KEY_PART = 255
# Session cookies of one request that are tried: a browser holds one per
# (domain, path) of the name, so a few cover every honest case, and the bound
# keeps what one request can cost in session reads small.
MAX_SESSION_COOKIES: Final = 4
_GET_OR_CREATE_ATTEMPTS = 3


def generate_user_id() -> str:
    """A new user id: 120 random bits, lowercase base32 (24 characters)."""
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()


# C0 and C1 controls (NUL among them: PostgreSQL text cannot hold it) and lone
# surrogates (no encoding can carry them to a database).
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _storable(text: object) -> bool:
    """Whether ``text`` may be a key part or an id lucia looks up: a str of 1 to 255
    characters without control characters or lone surrogates.

    Every read and write of a key (and of the user id it is unlinked from) asks
    this before any store sees the value, so text from a visitor that no store
    could hold answers "not found" (reads) or ``InvalidKeyError`` (writes) the
    same way on every adapter, instead of a database error.
    """
    return (
        isinstance(text, str)
        and 0 < len(text) <= _MAX_KEY_PART
        and _UNSTORABLE.search(text) is None
    )


def _check_key(provider_id: object, provider_user_id: object) -> None:
    if not (_storable(provider_id) and _storable(provider_user_id)):
        raise InvalidKeyError()


def _purge_of(store: object, method: str) -> Any:
    """The store's purge ``method`` (optional maintenance), or ``NotImplementedError``
    naming it. Looked up, not ``isinstance(store, PurgesSessions)``: on Python 3.12+
    that check cannot see a method a proxy store makes in ``__getattr__``
    (``AsyncDjangoAdapter``)."""
    purge = getattr(store, method, None)
    if purge is None:
        raise NotImplementedError(
            f"{type(store).__name__} cannot purge: it has no {method}() (an optional"
            " maintenance method; see lucia.adapters.base)"
        )
    return purge


def _flavour_error(owner: str, store: object, role: str, want_async: bool) -> TypeError | None:
    """A ``TypeError`` naming the class to use when ``store`` is of the other
    flavour than ``owner`` (``Lucia``: sync, ``AsyncLucia``: async), else None.

    The flavour is read from the store's methods (coroutine functions or not),
    which every adapter has: ``get_user`` for a user store, ``get_session`` for
    a session store. An object with neither is left alone.
    """
    method = getattr(store, "get_user", None) or getattr(store, "get_session", None)
    if method is None or inspect.iscoroutinefunction(method) == want_async:
        return None
    name = type(store).__name__
    counterpart = name[len("Async") :] if name.startswith("Async") else "Async" + name
    module = sys.modules.get(type(store).__module__)
    instead = f" (or {counterpart})" if hasattr(module, counterpart) else ""
    wanted, found, other = (
        ("an async", "sync", "Lucia") if want_async else ("a sync", "async", "AsyncLucia")
    )
    return TypeError(f"{owner} needs {wanted} {role}, and {name} is {found}: use {other}{instead}")


def _attributes(attributes: dict[str, Any] | None) -> dict[str, Any]:
    # A JSON round trip both validates (JSON object, string keys) and copies, so
    # every store keeps exactly what the others would.
    if attributes is None:
        return {}
    if not isinstance(attributes, dict) or not all(isinstance(k, str) for k in attributes):
        raise TypeError("attributes must be a dict with string keys")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(attributes))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"attributes must be JSON-serialisable: {exc}") from None
    return copied


# One-time tokens: 32 bytes from ``secrets``, base64url without padding.
_ONE_TIME_TOKEN_BYTES = 32
_ONE_TIME_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_PURPOSE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _check_purpose(purpose: object) -> str:
    # Chosen by the application, never by a visitor: a bad one is a bug.
    if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
        raise ValueError("a token purpose is 1 to 64 of A-Z a-z 0-9 _ . : -")
    return purpose


def hash_one_time_token(token: object) -> bytes | None:
    """The SHA-256 that stores keep of a one-time token, or None when ``token`` does
    not have a token's shape (43 base64url characters). Never raises."""
    if not isinstance(token, str) or not _ONE_TIME_TOKEN.fullmatch(token):
        return None
    return _sha256(token)


def _sha256(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def _key(record: KeyRecord) -> Key:
    return Key(
        record.provider_id,
        record.provider_user_id,
        record.user_id,
        record.hashed_password is not None,
    )


class _LuciaBase(Generic[UA, SA, SS, JA]):
    """What ``Lucia`` and ``AsyncLucia`` share: configuration, cookies and request
    headers, and the session verdict; none of it does I/O.

    ``UA`` is the user store's type, ``SA`` a separate session store's (which
    reads a session alone), ``SS`` what every store of sessions does (the type of
    ``session_adapter``), ``JA`` the type of a store that keeps both (read in one
    round trip).
    """

    # Whether the operations are coroutines: read from the class itself, so the
    # generated sync class needs no line of its own.
    _is_async: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._is_async = inspect.iscoroutinefunction(getattr(cls, "validate_session", None))

    def __init__(
        self,
        adapter: UA,
        *,
        session_adapter: SA | None = None,
        session_expires_in: timedelta = timedelta(days=30),
        session_absolute_lifetime: timedelta | None = DEFAULT_ABSOLUTE_LIFETIME,
        session_cookie_name: str = "auth_session",
        secure_cookies: bool = True,
        cookie_host_prefix: bool = False,
        cookie_same_site: Literal["lax", "strict", "none"] = "lax",
        cookie_domain: str | None = None,
        persistent_cookies: bool = True,
        password_hasher: PasswordHasher | None = None,
        password_policy: PasswordPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        hash_executor: Executor | None = None,
    ) -> None:
        for store, role in ((adapter, "adapter"), (session_adapter, "session_adapter")):
            # Caught here: the other flavour's methods would "work" (a sync
            # Lucia never awaits an async store's coroutines) and store nothing.
            mismatch = _flavour_error(type(self).__name__, store, role, self._is_async)
            if mismatch is not None:
                raise mismatch
        self.adapter = adapter
        # Without a separate session store the adapter keeps sessions too, and a
        # session is read with its user in one round trip.
        self.session_adapter: SS = cast(SS, session_adapter or adapter)
        self._joined = session_adapter is None
        self._joined_adapter: JA | None = cast(JA, adapter) if self._joined else None
        # Read only without a joined store, where it is the separate session store.
        self._lone_sessions: SA = cast(SA, self.session_adapter)
        self.session_policy = SessionPolicy(session_expires_in, session_absolute_lifetime)
        absolute = self._absolute_lifetime = self.session_policy.absolute_lifetime
        self._renew_below = self.session_policy.renew_below  # one lookup on the hot path
        # The same bounds in seconds, for records that carry epoch seconds.
        self._renew_below_seconds = self._renew_below.total_seconds()
        self._absolute_seconds = None if absolute is None else absolute.total_seconds()
        if absolute is not None and absolute < session_expires_in:
            # Refused rather than capped: the idle limit asked for would never hold.
            raise ValueError(
                f"session_absolute_lifetime ({absolute}; {DEFAULT_ABSOLUTE_LIFETIME.days} days "
                f"unless given) must be at least session_expires_in ({session_expires_in})"
            )
        if cookie_host_prefix:
            if not secure_cookies or cookie_domain is not None:
                raise ValueError(
                    "the __Host- prefix needs secure_cookies=True and no cookie_domain"
                )
            session_cookie_name = "__Host-" + session_cookie_name
        self.session_cookie_name = session_cookie_name
        self._cookie_attributes = CookieAttributes(
            path="/",
            domain=cookie_domain,
            secure=secure_cookies,
            http_only=True,
            same_site=cookie_same_site,
        )
        # Checked now, so a bad name or attribute fails at start-up, not at sign-in.
        Cookie(session_cookie_name, "", self._cookie_attributes).serialize()
        self.persistent_cookies = persistent_cookies
        self.password_hasher = password_hasher or PasswordHasher()
        self.password_policy = password_policy or PasswordPolicy()
        self.clock = clock
        # Where password hashing runs: see ``Lucia`` and ``AsyncLucia``.
        self.hash_executor = hash_executor

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.adapter!r})"

    # Cookies and request headers: no I/O, the same for both flavours.

    def create_session_cookie(self, session: Session) -> Cookie:
        """The cookie that carries ``session``; Max-Age is the session's remaining life."""
        if session.token is None:
            raise ValueError(
                "only a session just created or renewed (fresh) carries its token for a cookie"
            )
        max_age: int | None = None
        if self.persistent_cookies:
            # Never past the absolute end, even for a row whose expiry is later.
            end = self.session_policy.deadline(session.expires_at, session.created_at)
            remaining = end - self.clock()
            max_age = min(MAX_COOKIE_AGE, max(0, int(remaining.total_seconds())))
        attributes = CookieAttributes(
            path=self._cookie_attributes.path,
            domain=self._cookie_attributes.domain,
            max_age=max_age,
            secure=self._cookie_attributes.secure,
            http_only=True,
            same_site=self._cookie_attributes.same_site,
        )
        return Cookie(self.session_cookie_name, session.token, attributes)

    def create_blank_session_cookie(self) -> Cookie:
        """A cookie that clears the session cookie: same name, path and domain, Max-Age=0."""
        attributes = CookieAttributes(
            path=self._cookie_attributes.path,
            domain=self._cookie_attributes.domain,
            max_age=0,
            secure=self._cookie_attributes.secure,
            http_only=True,
            same_site=self._cookie_attributes.same_site,
        )
        return Cookie(self.session_cookie_name, "", attributes)

    def read_session_cookie(self, cookie_header: str | None) -> str | None:
        """The session token from a ``Cookie`` request header, or None. Never raises."""
        return read_cookie(cookie_header, self.session_cookie_name)

    def read_session_cookies(self, cookie_header: str | None) -> list[str]:
        """The session tokens of a ``Cookie`` request header, distinct and in the
        order sent; never raises.

        Several come when a sibling subdomain plants a cookie of the same name
        beside the real one (cookie tossing). Give them to
        ``validate_session_tokens``, which tries the first ``MAX_SESSION_COOKIES``
        and uses the first valid one, then to ``session_cookie_upkeep``. At most
        one more than are tried is returned: enough to tell that some went untried.
        """
        return read_cookies(cookie_header, self.session_cookie_name, MAX_SESSION_COOKIES + 1)

    def session_cookie_upkeep(
        self, cookie_tokens: Sequence[str], session: Session | None
    ) -> Cookie | None:
        """The session cookie a response owes the request, or None.

        ``cookie_tokens`` are the request's session cookies (``read_session_cookies``)
        and ``session`` what ``validate_session_tokens`` made of them. A renewed
        (fresh) session gets its cookie again. A clearing cookie goes only when
        every cookie sent was tried and none was valid: never while a valid one
        is present, nor while one went untried, since a tossed cookie must not
        get the real one cleared.
        """
        if not cookie_tokens:
            return None
        if session is None:
            if len(cookie_tokens) > MAX_SESSION_COOKIES:
                return None
            return self.create_blank_session_cookie()
        return self.create_session_cookie(session) if session.fresh else None

    def read_bearer_token(self, authorization_header: str | None) -> str | None:
        """The token from an ``Authorization: Bearer`` header, or None. Never raises."""
        return read_bearer_token(authorization_header)

    def _session_verdict(self, record: SessionRecord, secret: str) -> _Verdict:
        """What a session row read for ``secret`` calls for now (the clock read
        once); no I/O.

        ``_REFUSE``: the secret does not match (the row stays: it is not the
        caller's to delete). ``_EXPIRED``: refuse and delete the row. ``_VALID``:
        accept as read. A datetime: accept and renew the expiry to it.
        """
        if not verify_secret(secret, record.secret_hash):
            return _REFUSE
        expires_epoch = record.expires_epoch
        created_epoch = record.created_epoch
        if expires_epoch is not None and created_epoch is not None and self.clock is _utc_now:
            # A record read as epoch seconds, and the default clock: compared as
            # numbers, without making a datetime (the common case makes none).
            now_epoch = _time()
            left_seconds = expires_epoch - now_epoch
            if left_seconds <= 0:
                return _EXPIRED  # expired rows never validate, purged or not
            absolute_seconds = self._absolute_seconds
            if absolute_seconds is not None and now_epoch - created_epoch >= absolute_seconds:
                return _EXPIRED  # past its absolute end (see below)
            if left_seconds >= self._renew_below_seconds:
                return _VALID
            now = datetime.fromtimestamp(now_epoch, UTC)
        else:
            now = self.clock()
            # One subtraction answers both "expired?" and "due for renewal?";
            # every request asks them.
            left = record.expires_at - now
            if left <= _NOTHING_LEFT:
                # Expired rows never validate, purged or not.
                return _EXPIRED
            absolute = self._absolute_lifetime
            if absolute is not None and now - record.created_at >= absolute:
                # Past its absolute end, whatever its expiry says: a row renewed
                # under a longer cap (or none) before this one was configured.
                return _EXPIRED
            if left >= self._renew_below:
                return _VALID  # the common case: more than half of its life left
        renewed = self.session_policy.renewed_expiry(record.expires_at, record.created_at, now)
        return _VALID if renewed is None else renewed


# Both classes are defined from this module's helpers, so they are imported last.
from lucia._async.core import AsyncLucia  # noqa: E402
from lucia._sync.core import Lucia  # noqa: E402
