"""``Lucia`` and ``AsyncLucia``: users, keys, sessions and cookies.

Each operation is written once, as a generator that yields the I/O it needs
(an adapter call, or a CPU-heavy password hash) and receives the result. The
sync ``Lucia`` runs those steps inline; ``AsyncLucia`` awaits the adapter's
coroutines and runs password hashing on a bounded pool of worker threads so
the event loop never blocks nor starves. Neither class holds logic of its own
beyond that driving. One exception, for speed only: ``validate_session`` (sync
and async) runs the read and the pure ``_session_verdict`` itself in the common
case (no write due), the same steps the flow takes.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import enum
import functools
import hashlib
import inspect
import json
import logging
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable, Coroutine, Generator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final, Generic, Literal, TypeVar, cast

from lucia import sessions as _tokens
from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress
from lucia.adapters.base import (
    Adapter,
    AsyncAdapter,
    AsyncSessionAdapter,
    AsyncUserAdapter,
    KeyRecord,
    SessionAdapter,
    SessionRecord,
    TokenRecord,
    UserAdapter,
    UserRecord,
)
from lucia.cookies import (
    MAX_COOKIE_AGE,
    Cookie,
    CookieAttributes,
    read_bearer_token,
    read_cookie,
    read_cookies,
)
from lucia.errors import (
    DuplicateKeyError,
    InvalidCredentialsError,
    InvalidKeyError,
    InvalidTokenError,
    KeyNotFoundError,
    LastKeyError,
    LuciaError,
    UserNotFoundError,
)
from lucia.models import Key, Session, Token, User
from lucia.passwords import PasswordHasher, PasswordPolicy
from lucia.sessions import DEFAULT_ABSOLUTE_LIFETIME, SessionPolicy, utc_now

__all__ = ["AsyncLucia", "Lucia"]

logger = logging.getLogger("lucia")

T = TypeVar("T")
UA = TypeVar("UA")
SA = TypeVar("SA")

# What a flow yields: (target, what, args). For USERS and SESSIONS ``what`` is
# the adapter method's name; for CPU it is the function to run off the loop.
_USERS, _SESSIONS, _CPU = 0, 1, 2
_Op = tuple[int, Any, tuple[Any, ...]]
_Flow = Generator[_Op, Any, T]


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

_MAX_KEY_PART = 255
# Session cookies of one request that are tried: a browser holds one per
# (domain, path) of the name, so a few cover every honest case, and the bound
# keeps what one request can cost in session reads small.
MAX_SESSION_COOKIES: Final = 4
_GET_OR_CREATE_ATTEMPTS = 3

# Password hashing (Argon2id, ~tens of ms of CPU each) for AsyncLucia runs on
# this pool unless the application passes its own ``hash_executor``. asyncio's
# default executor has min(32, CPUs + 4) threads: a storm of sign-ins then
# takes every core and the event loop (cheap requests) starves. One thread
# fewer than the CPUs leaves a core to the loop. The pool is module-wide, not
# per AsyncLucia, so the bound holds however many instances an application
# builds; its threads start on first use and concurrent.futures joins them at
# interpreter exit, so there is nothing for an application to close.
HASH_WORKERS = max(1, (os.cpu_count() or 2) - 1)
_hash_pool: ThreadPoolExecutor | None = None
_hash_pool_lock = threading.Lock()


def default_hash_executor() -> Executor:
    """lucia's shared pool for password hashing (``HASH_WORKERS`` threads), made on first use."""
    global _hash_pool
    with _hash_pool_lock:
        if _hash_pool is None:
            _hash_pool = ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="lucia-hash")
        return _hash_pool


def _forget_hash_pool() -> None:
    # A forked child has none of the parent's threads; a pool that believes it
    # has them would never run a task, so the child makes its own.
    global _hash_pool, _hash_pool_lock
    _hash_pool = None
    _hash_pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_hash_pool)


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


class _LuciaBase(Generic[UA, SA]):
    """Configuration, the operations as flows, and the cookie helpers both flavours share."""

    _is_async: ClassVar[bool] = False

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
        self.session_adapter: SA = session_adapter or cast(SA, adapter)
        self._joined = session_adapter is None
        self._targets: tuple[Any, Any] = (adapter, self.session_adapter)
        self.session_policy = SessionPolicy(session_expires_in, session_absolute_lifetime)
        absolute = self._absolute_lifetime = self.session_policy.absolute_lifetime
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

    # Users and keys

    def _create_user(
        self,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        attributes: dict[str, Any] | None,
        user_id: str | None,
    ) -> _Flow[User]:
        _check_key(provider_id, provider_user_id)
        attrs = _attributes(attributes)
        hashed = None
        if password is not None:
            self.password_policy.check(password)
            hashed = yield (_CPU, self.password_hasher.hash, (password,))
        user = UserRecord(user_id or generate_user_id(), attrs)
        key = KeyRecord(provider_id, provider_user_id, user.id, hashed)
        yield (_USERS, "insert_user", (user, key, self.clock()))
        logger.info("user created", extra={"user_id": user.id, "provider_id": provider_id})
        return User(user.id, attrs)

    def _get_user(self, user_id: str) -> _Flow[User | None]:
        record: UserRecord | None = yield (_USERS, "get_user", (user_id,))
        return record

    def _get_user_by_key(self, provider_id: str, provider_user_id: str) -> _Flow[User | None]:
        if not (_storable(provider_id) and _storable(provider_user_id)):
            return None  # no store holds such a key
        found = yield (_USERS, "get_user_by_key", (provider_id, provider_user_id))
        return None if found is None else found[0]

    def _get_or_create_user(
        self, provider_id: str, provider_user_id: str, attributes: dict[str, Any] | None
    ) -> _Flow[tuple[User, bool]]:
        _check_key(provider_id, provider_user_id)
        attrs = _attributes(attributes)
        # The store's unique key decides the race: every loser of the insert
        # reads the winner's user. The loop only matters if the key is deleted
        # between the failed insert and the read.
        for _ in range(_GET_OR_CREATE_ATTEMPTS):
            found = yield (_USERS, "get_user_by_key", (provider_id, provider_user_id))
            if found is not None:
                return found[0], False
            user = UserRecord(generate_user_id(), attrs)
            key = KeyRecord(provider_id, provider_user_id, user.id, None)
            try:
                yield (_USERS, "insert_user", (user, key, self.clock()))
            except DuplicateKeyError:
                continue
            logger.info("user created", extra={"user_id": user.id, "provider_id": provider_id})
            return User(user.id, attrs), True
        raise LuciaError("the key kept changing while signing in; try again")

    def _authenticate(self, provider_id: str, provider_user_id: str, password: str) -> _Flow[User]:
        hasher = self.password_hasher
        if not isinstance(password, str) or len(password) > self.password_policy.max_length:
            # Refused before any hashing: an oversized password must not buy CPU time.
            raise InvalidCredentialsError()
        found: tuple[User, KeyRecord] | None = None
        if _storable(provider_id) and _storable(provider_user_id):
            found = yield (_USERS, "get_user_by_key", (provider_id, provider_user_id))
        hashed = None if found is None else found[1].hashed_password
        if found is None or hashed is None:
            # Same work and same error as a wrong password: no account enumeration.
            yield (_CPU, hasher.dummy_verify, (password,))
            logger.info("sign-in failed", extra={"provider_id": provider_id})
            raise InvalidCredentialsError()
        user = found[0]
        if not (yield (_CPU, hasher.verify, (hashed, password))):
            logger.info("sign-in failed", extra={"provider_id": provider_id, "user_id": user.id})
            raise InvalidCredentialsError()
        if hasher.needs_rehash(hashed):
            rehashed = yield (_CPU, hasher.hash, (password,))
            yield (_USERS, "update_key_password", (provider_id, provider_user_id, rehashed))
            logger.info("password rehashed", extra={"user_id": user.id})
        return user

    def _add_key(
        self, user_id: str, provider_id: str, provider_user_id: str, password: str | None
    ) -> _Flow[Key]:
        _check_key(provider_id, provider_user_id)
        hashed = None
        if password is not None:
            self.password_policy.check(password)
            hashed = yield (_CPU, self.password_hasher.hash, (password,))
        record = KeyRecord(provider_id, provider_user_id, user_id, hashed)
        yield (_USERS, "insert_key", (record,))
        logger.info("key added", extra={"user_id": user_id, "provider_id": provider_id})
        return _key(record)

    def _get_user_keys(self, user_id: str) -> _Flow[list[Key]]:
        records: list[KeyRecord] = yield (_USERS, "get_user_keys", (user_id,))
        return [_key(record) for record in records]

    def _delete_key(self, provider_id: str, provider_user_id: str) -> _Flow[None]:
        if not (_storable(provider_id) and _storable(provider_user_id)):
            return
        if (yield (_USERS, "delete_key", (provider_id, provider_user_id))):
            logger.info("key deleted", extra={"provider_id": provider_id})

    def _unlink_provider(
        self, user_id: str, provider_id: str, provider_user_id: str | None
    ) -> _Flow[int]:
        if not (
            _storable(user_id)
            and _storable(provider_id)
            and (provider_user_id is None or _storable(provider_user_id))
        ):
            raise KeyNotFoundError()  # no store holds such a key
        # One store operation decides and deletes: a check here followed by
        # deletes would let two concurrent unlinks both pass and lock the user out.
        count: int | None = yield (
            _USERS,
            "delete_provider_keys",
            (user_id, provider_id, provider_user_id),
        )
        if count is None:
            raise LastKeyError()
        if count == 0:
            raise KeyNotFoundError()
        logger.info("keys unlinked", extra={"user_id": user_id, "provider_id": provider_id})
        return count

    def _update_key_password(
        self,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        invalidate_sessions: bool,
    ) -> _Flow[None]:
        if not (_storable(provider_id) and _storable(provider_user_id)):
            raise KeyNotFoundError()
        found = yield (_USERS, "get_user_by_key", (provider_id, provider_user_id))
        if found is None:
            raise KeyNotFoundError()
        hashed = None
        if password is not None:
            self.password_policy.check(password)
            hashed = yield (_CPU, self.password_hasher.hash, (password,))
        if not (yield (_USERS, "update_key_password", (provider_id, provider_user_id, hashed))):
            raise KeyNotFoundError()
        user_id = found[0].id
        logger.info("password changed", extra={"user_id": user_id, "provider_id": provider_id})
        if invalidate_sessions:
            yield (_SESSIONS, "delete_user_sessions", (user_id,))
            logger.info("sessions revoked", extra={"user_id": user_id})

    def _update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> _Flow[User]:
        attrs = _attributes(attributes)
        record: UserRecord | None = yield (_USERS, "update_user_attributes", (user_id, attrs))
        if record is None:
            raise UserNotFoundError()
        return record

    def _delete_user(self, user_id: str) -> _Flow[None]:
        if not self._joined:
            yield (_SESSIONS, "delete_user_sessions", (user_id,))
        yield (_USERS, "delete_user", (user_id,))
        logger.info("user deleted", extra={"user_id": user_id})

    # Sessions

    def _create_session(self, user_id: str, attributes: dict[str, Any] | None) -> _Flow[Session]:
        attrs = _attributes(attributes)
        if not self._joined and (yield (_USERS, "get_user", (user_id,))) is None:
            raise UserNotFoundError()
        now = self.clock().replace(microsecond=0)
        session_id = _tokens.generate_session_id()
        secret = _tokens.generate_session_secret()
        expires_at = self.session_policy.new_expiry(now)
        record = SessionRecord(
            session_id,
            user_id,
            expires_at,
            now,
            attributes=attrs,
            secret_hash=_tokens.hash_secret(secret),
        )
        yield (_SESSIONS, "insert_session", (record,))
        logger.info("session created", extra={"user_id": user_id})
        # Set only now, so no store ever sees the token.
        record.fresh = True
        record.token = _tokens.create_token(session_id, secret)
        return record

    def _validate_session(self, token: str) -> _Flow[tuple[Session, User] | None]:
        parsed = _tokens.parse_token(token)
        if parsed is None:
            return None
        session_id, secret = parsed
        user: UserRecord | None = None
        if self._joined:
            found = yield (_SESSIONS, "get_session_and_user", (session_id,))
            if found is None:
                return None
            record, user = found
        else:
            record = yield (_SESSIONS, "get_session", (session_id,))
            if record is None:
                return None
        verdict = self._session_verdict(record, secret, self.clock())
        if verdict is _VALID and user is not None:
            return record, user  # the common case, without a second generator
        return (yield from self._settle_session(token, record, user, verdict))

    def _validate_session_tokens(self, tokens: Sequence[str]) -> _Flow[tuple[Session, User] | None]:
        for token in tokens[:MAX_SESSION_COOKIES]:
            found = yield from self._validate_session(token)
            if found is not None:
                return found
        return None

    def _session_verdict(self, record: SessionRecord, secret: str, now: datetime) -> _Verdict:
        """What a session row read for ``secret`` at ``now`` calls for; pure, no I/O.

        ``_REFUSE``: the secret does not match (the row stays: it is not the
        caller's to delete). ``_EXPIRED``: refuse and delete the row. ``_VALID``:
        accept as read. A datetime: accept and renew the expiry to it.
        """
        if not _tokens.verify_secret(secret, record.secret_hash):
            return _REFUSE
        expires_at = record.expires_at
        if now >= expires_at:
            # Expired rows never validate, purged or not.
            return _EXPIRED
        absolute = self._absolute_lifetime
        if absolute is not None and now - record.created_at >= absolute:
            # Past its absolute end, whatever its expiry says: a row renewed
            # under a longer cap (or none) before this one was configured.
            return _EXPIRED
        renewed = self.session_policy.renewed_expiry(expires_at, record.created_at, now)
        return _VALID if renewed is None else renewed

    def _settle_session(
        self, token: str, record: SessionRecord, user: UserRecord | None, verdict: _Verdict
    ) -> _Flow[tuple[Session, User] | None]:
        """Carry out ``verdict`` on a session read for ``token``: the writes it calls
        for, and (with a separate session store, ``user`` None) the user's lookup."""
        if verdict is _REFUSE:
            return None
        if verdict is _EXPIRED:
            yield (_SESSIONS, "delete_session", (record.id,))
            return None
        if user is None:
            user = yield (_USERS, "get_user", (record.user_id,))
            if user is None:
                yield (_SESSIONS, "delete_session", (record.id,))
                return None
        if isinstance(verdict, datetime):
            yield (_SESSIONS, "update_session_expiry", (record.id, verdict))
            record.expires_at = verdict
            record.fresh = True
            record.token = token
        return record, user

    def _get_user_sessions(self, user_id: str) -> _Flow[list[Session]]:
        records: list[SessionRecord] = yield (_SESSIONS, "get_user_sessions", (user_id,))
        now = self.clock()
        return [record for record in records if record.expires_at > now]

    def _invalidate_session(self, session_id: str) -> _Flow[None]:
        yield (_SESSIONS, "delete_session", (session_id,))
        # The id only: it names the session, and cannot sign anyone in without its secret.
        logger.info("session invalidated", extra={"session_id": session_id})

    def _invalidate_user_sessions(self, user_id: str) -> _Flow[None]:
        yield (_SESSIONS, "delete_user_sessions", (user_id,))
        logger.info("sessions revoked", extra={"user_id": user_id})

    def _invalidate_other_sessions(self, user_id: str, keep_session_id: str) -> _Flow[int]:
        sessions = yield from self._get_user_sessions(user_id)
        others = [session.id for session in sessions if session.id != keep_session_id]
        for session_id in others:
            yield (_SESSIONS, "delete_session", (session_id,))
        logger.info("sessions revoked", extra={"user_id": user_id, "count": len(others)})
        return len(others)

    def _delete_expired_sessions(
        self, batch_size: int | None, progress: PurgeProgress | None
    ) -> _Flow[int]:
        # The batching arguments go to the store only when asked for, so a store
        # written against the one-argument form keeps working.
        args: tuple[Any, ...] = (self.clock(),)
        if batch_size is not None or progress is not None:
            args += (PURGE_BATCH_SIZE if batch_size is None else batch_size, progress)
        count: int = yield (_SESSIONS, "delete_expired_sessions", args)
        return count

    # One-time tokens (kept by the user store, next to the users they belong to)

    def _create_token(
        self,
        user_id: str,
        purpose: str,
        expires_in: timedelta,
        data: dict[str, Any] | None,
    ) -> _Flow[str]:
        _check_purpose(purpose)
        if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
            raise ValueError("expires_in must be a positive timedelta")
        attrs = _attributes(data)
        now = self.clock().replace(microsecond=0)
        token = secrets.token_urlsafe(_ONE_TIME_TOKEN_BYTES)
        record = TokenRecord(_sha256(token), user_id, purpose, now + expires_in, now, attrs)
        yield (_USERS, "insert_token", (record,))
        logger.info("token created", extra={"user_id": user_id, "purpose": purpose})
        return token

    def _consume_token(self, token: str, purpose: str) -> _Flow[Token]:
        _check_purpose(purpose)
        id_hash = hash_one_time_token(token)
        found = None
        if id_hash is not None:
            found = yield (_USERS, "consume_token", (id_hash, purpose, self.clock()))
        if found is None:
            # One error for malformed, unknown, used, expired and wrong purpose.
            logger.info("token refused", extra={"purpose": purpose})
            raise InvalidTokenError()
        user_id, expires_at, token_data = found
        logger.info("token used", extra={"user_id": user_id, "purpose": purpose})
        return Token(user_id, purpose, expires_at, token_data)

    def _delete_user_tokens(self, user_id: str, purpose: str) -> _Flow[None]:
        _check_purpose(purpose)
        yield (_USERS, "delete_user_tokens", (user_id, purpose))

    def _delete_expired_tokens(self) -> _Flow[int]:
        count: int = yield (_USERS, "delete_expired_tokens", (self.clock(),))
        return count


class Lucia(_LuciaBase[Adapter | UserAdapter, SessionAdapter]):
    """The synchronous API (Flask, Django, scripts) over a sync adapter.

    ``adapter`` stores users and keys, and sessions too unless a separate
    ``session_adapter`` (for example Redis) is given. Password hashing runs on
    the calling thread, or, given a ``hash_executor``, on it (the caller waits):
    a threaded server can so bound how many Argon2id hashes run at once.
    """

    def _run(self, flow: _Flow[T]) -> T:
        targets = self._targets
        send = flow.send
        try:
            op = send(None)
            while True:
                target, what, args = op
                try:
                    if target != _CPU:
                        result = getattr(targets[target], what)(*args)
                    elif self.hash_executor is None:
                        result = what(*args)
                    else:
                        result = self.hash_executor.submit(what, *args).result()
                except Exception as exc:  # handed to the flow, which may handle it
                    op = flow.throw(exc)
                    continue
                op = send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    def create_user(
        self,
        provider_id: str,
        provider_user_id: str,
        *,
        password: str | None = None,
        attributes: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> User:
        """Create a user with its first key; ``DuplicateKeyError`` if the key exists.

        A password is checked against the password policy (``InvalidPasswordError``)
        and stored as an Argon2id hash.
        """
        return self._run(
            self._create_user(provider_id, provider_user_id, password, attributes, user_id)
        )

    def get_user(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        return self._run(self._get_user(user_id))

    def get_user_by_key(self, provider_id: str, provider_user_id: str) -> User | None:
        """The user who owns this key (exact, case-sensitive), or None."""
        return self._run(self._get_user_by_key(provider_id, provider_user_id))

    def get_or_create_user(
        self, provider_id: str, provider_user_id: str, *, attributes: dict[str, Any] | None = None
    ) -> tuple[User, bool]:
        """The key's user, created with ``attributes`` if new; race-safe. The bool is "created"."""
        return self._run(self._get_or_create_user(provider_id, provider_user_id, attributes))

    def authenticate(self, provider_id: str, provider_user_id: str, password: str) -> User:
        """The key's user if the password matches; ``InvalidCredentialsError`` otherwise.

        An unknown key, a key without password and a wrong password cost the same
        hashing work and raise the same error. A weaker hash is upgraded on success.
        """
        return self._run(self._authenticate(provider_id, provider_user_id, password))

    def add_key(
        self,
        user_id: str,
        provider_id: str,
        provider_user_id: str,
        *,
        password: str | None = None,
    ) -> Key:
        """Link another way to sign in (``DuplicateKeyError``, ``UserNotFoundError``)."""
        return self._run(self._add_key(user_id, provider_id, provider_user_id, password))

    def get_user_keys(self, user_id: str) -> list[Key]:
        """The user's keys."""
        return self._run(self._get_user_keys(user_id))

    def delete_key(self, provider_id: str, provider_user_id: str) -> None:
        """Unlink a key; nothing happens if it does not exist."""
        return self._run(self._delete_key(provider_id, provider_user_id))

    def unlink_provider(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int:
        """Delete the user's keys of ``provider_id`` (with ``provider_user_id``, only
        that one); how many went.

        Never leaves the user without a way to sign in: ``LastKeyError`` (nothing
        deleted) when those are all of the user's keys, decided atomically by the
        store, so of concurrent unlinks of a user's last two keys exactly one
        succeeds. ``KeyNotFoundError`` when the user has no such key (someone
        else's key counts as none).
        """
        return self._run(self._unlink_provider(user_id, provider_id, provider_user_id))

    def update_key_password(
        self,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        *,
        invalidate_sessions: bool = True,
    ) -> None:
        """Set (None: remove) the key's password and sign the user out everywhere.

        Create a new session for the current device afterwards. ``KeyNotFoundError``
        when there is no such key.
        """
        return self._run(
            self._update_key_password(provider_id, provider_user_id, password, invalidate_sessions)
        )

    def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> User:
        """Merge ``attributes`` into the user's (top-level keys replaced), atomically."""
        return self._run(self._update_user_attributes(user_id, attributes))

    def delete_user(self, user_id: str) -> None:
        """Delete the user with its keys and sessions."""
        return self._run(self._delete_user(user_id))

    def create_session(self, user_id: str, *, attributes: dict[str, Any] | None = None) -> Session:
        """A new session for the user; its ``token`` exists only on this object."""
        return self._run(self._create_session(user_id, attributes))

    def validate_session(self, token: str) -> tuple[Session, User] | None:
        """The session and user for a token; None for unknown, malformed or expired tokens.

        When less than half of the session's life is left it is extended and
        ``fresh`` (set its cookie again).
        """
        # Every request runs this. With one store (session joined to its user)
        # the common case is one read and a pure decision, so it runs them
        # directly instead of driving the ``_validate_session`` flow: the same
        # steps and the same ``_session_verdict``, without a generator round
        # trip. The flow takes over only when a write is due.
        if not self._joined:
            return self._run(self._validate_session(token))
        parsed = _tokens.parse_token(token)
        if parsed is None:
            return None
        store: Adapter = self.session_adapter  # type: ignore[assignment]  # joined: an Adapter
        found = store.get_session_and_user(parsed[0])
        if found is None:
            return None
        record, user = found
        verdict = self._session_verdict(record, parsed[1], self.clock())
        if verdict is _VALID:
            return record, user
        if verdict is _REFUSE:
            return None
        return self._run(self._settle_session(token, record, user, verdict))

    def validate_session_tokens(self, tokens: Sequence[str]) -> tuple[Session, User] | None:
        """The session and user of the first of ``tokens`` that validates (see
        ``validate_session``; at most ``MAX_SESSION_COOKIES`` are tried), or None.

        For the tokens of ``read_session_cookies``: a cookie tossed beside the
        real one neither hides it nor, being invalid, gets it cleared.
        """
        if len(tokens) == 1:
            return self.validate_session(tokens[0])  # the usual request: the direct path
        return self._run(self._validate_session_tokens(tokens))

    def get_user_sessions(self, user_id: str) -> list[Session]:
        """The user's unexpired sessions, oldest first (without tokens)."""
        return self._run(self._get_user_sessions(user_id))

    def invalidate_session(self, session_id: str) -> None:
        """Delete a session (sign-out)."""
        return self._run(self._invalidate_session(session_id))

    def invalidate_user_sessions(self, user_id: str) -> None:
        """Delete all of the user's sessions (sign out everywhere)."""
        return self._run(self._invalidate_user_sessions(user_id))

    def invalidate_other_sessions(self, user_id: str, keep_session_id: str) -> int:
        """Delete the user's unexpired sessions but ``keep_session_id`` ("sign out
        everywhere else"); how many went."""
        return self._run(self._invalidate_other_sessions(user_id, keep_session_id))

    def delete_expired_sessions(
        self, *, batch_size: int | None = None, progress: PurgeProgress | None = None
    ) -> int:
        """Purge expired sessions; how many went.

        The store deletes them in batches (``PURGE_BATCH_SIZE``, or ``batch_size``),
        each committed on its own, so writers never wait behind the whole purge;
        ``progress`` is called with each batch's count.
        """
        return self._run(self._delete_expired_sessions(batch_size, progress))

    def create_token(
        self,
        user_id: str,
        purpose: str,
        *,
        expires_in: timedelta,
        data: dict[str, Any] | None = None,
    ) -> str:
        """A new single-use token for ``user_id``, valid for ``expires_in``.

        The token (32 random bytes, base64url) exists only in the returned
        string: the store keeps its SHA-256. Send it to the user once (an email
        link) and never log it. ``data`` (a JSON object) comes back from
        ``consume_token``. ``UserNotFoundError`` when there is no such user.
        """
        return self._run(self._create_token(user_id, purpose, expires_in, data))

    def consume_token(self, token: str, purpose: str) -> Token:
        """Use up ``token`` for ``purpose``: its ``Token`` (user, purpose, expiry, data).

        Atomic: of concurrent calls with one token, exactly one succeeds.
        ``InvalidTokenError`` (the same for every case) when the token is
        malformed, unknown, used, expired or was made for another purpose.
        """
        return self._run(self._consume_token(token, purpose))

    def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        """Delete the user's unused tokens of ``purpose`` (older links stop working)."""
        return self._run(self._delete_user_tokens(user_id, purpose))

    def delete_expired_tokens(self) -> int:
        """Purge expired one-time tokens; how many went."""
        return self._run(self._delete_expired_tokens())


class AsyncLucia(_LuciaBase[AsyncAdapter | AsyncUserAdapter, AsyncSessionAdapter]):
    """The asyncio API (Starlette, FastAPI) over an async adapter; the same methods as
    ``Lucia``, as coroutines.

    Password hashing runs off the event loop, on ``hash_executor`` when given,
    else on lucia's shared pool of ``HASH_WORKERS`` (CPUs - 1, at least 1)
    threads: even a storm of sign-ins leaves a core to the loop. An executor
    you pass is yours to shut down.
    """

    _is_async = True

    async def _run(self, flow: _Flow[T]) -> T:
        targets = self._targets
        send = flow.send
        try:
            op = send(None)
            while True:
                target, what, args = op
                try:
                    if target == _CPU:
                        # Like asyncio.to_thread (context variables go along), but
                        # on the bounded pool rather than the loop's default one.
                        call = functools.partial(contextvars.copy_context().run, what, *args)
                        executor = self.hash_executor or default_hash_executor()
                        result = await asyncio.get_running_loop().run_in_executor(executor, call)
                    else:
                        result = await getattr(targets[target], what)(*args)
                except Exception as exc:  # handed to the flow, which may handle it
                    op = flow.throw(exc)
                    continue
                op = send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    async def create_user(
        self,
        provider_id: str,
        provider_user_id: str,
        *,
        password: str | None = None,
        attributes: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> User:
        """See ``Lucia.create_user``."""
        return await self._run(
            self._create_user(provider_id, provider_user_id, password, attributes, user_id)
        )

    async def get_user(self, user_id: str) -> User | None:
        """See ``Lucia.get_user``."""
        return await self._run(self._get_user(user_id))

    async def get_user_by_key(self, provider_id: str, provider_user_id: str) -> User | None:
        """See ``Lucia.get_user_by_key``."""
        return await self._run(self._get_user_by_key(provider_id, provider_user_id))

    async def get_or_create_user(
        self, provider_id: str, provider_user_id: str, *, attributes: dict[str, Any] | None = None
    ) -> tuple[User, bool]:
        """See ``Lucia.get_or_create_user``."""
        return await self._run(self._get_or_create_user(provider_id, provider_user_id, attributes))

    async def authenticate(self, provider_id: str, provider_user_id: str, password: str) -> User:
        """See ``Lucia.authenticate``."""
        return await self._run(self._authenticate(provider_id, provider_user_id, password))

    async def add_key(
        self,
        user_id: str,
        provider_id: str,
        provider_user_id: str,
        *,
        password: str | None = None,
    ) -> Key:
        """See ``Lucia.add_key``."""
        return await self._run(self._add_key(user_id, provider_id, provider_user_id, password))

    async def get_user_keys(self, user_id: str) -> list[Key]:
        """See ``Lucia.get_user_keys``."""
        return await self._run(self._get_user_keys(user_id))

    async def delete_key(self, provider_id: str, provider_user_id: str) -> None:
        """See ``Lucia.delete_key``."""
        return await self._run(self._delete_key(provider_id, provider_user_id))

    async def unlink_provider(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int:
        """See ``Lucia.unlink_provider``."""
        return await self._run(self._unlink_provider(user_id, provider_id, provider_user_id))

    async def update_key_password(
        self,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        *,
        invalidate_sessions: bool = True,
    ) -> None:
        """See ``Lucia.update_key_password``."""
        return await self._run(
            self._update_key_password(provider_id, provider_user_id, password, invalidate_sessions)
        )

    async def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> User:
        """See ``Lucia.update_user_attributes``."""
        return await self._run(self._update_user_attributes(user_id, attributes))

    async def delete_user(self, user_id: str) -> None:
        """See ``Lucia.delete_user``."""
        return await self._run(self._delete_user(user_id))

    async def create_session(
        self, user_id: str, *, attributes: dict[str, Any] | None = None
    ) -> Session:
        """See ``Lucia.create_session``."""
        return await self._run(self._create_session(user_id, attributes))

    async def validate_session(self, token: str) -> tuple[Session, User] | None:
        """See ``Lucia.validate_session``."""
        # The same direct path as Lucia.validate_session, for the same reason:
        # every request awaits this, and driving the flow costs a generator and
        # its sends around the one read.
        if not self._joined:
            return await self._run(self._validate_session(token))
        parsed = _tokens.parse_token(token)
        if parsed is None:
            return None
        store: AsyncAdapter = self.session_adapter  # type: ignore[assignment]  # joined
        found = await store.get_session_and_user(parsed[0])
        if found is None:
            return None
        record, user = found
        verdict = self._session_verdict(record, parsed[1], self.clock())
        if verdict is _VALID:
            return record, user
        if verdict is _REFUSE:
            return None
        return await self._run(self._settle_session(token, record, user, verdict))

    def validate_session_tokens(
        self, tokens: Sequence[str]
    ) -> Coroutine[Any, Any, tuple[Session, User] | None]:
        """See ``Lucia.validate_session_tokens``; await what it returns."""
        # A plain method handing back the coroutine to await, not a coroutine
        # function of its own: the one-cookie request every middleware makes then
        # awaits validate_session directly, without a second coroutine around it
        # (measured: that wrapper cost as much as the rest of this change).
        if len(tokens) == 1:
            return self.validate_session(tokens[0])
        return self._run(self._validate_session_tokens(tokens))

    async def get_user_sessions(self, user_id: str) -> list[Session]:
        """See ``Lucia.get_user_sessions``."""
        return await self._run(self._get_user_sessions(user_id))

    async def invalidate_session(self, session_id: str) -> None:
        """See ``Lucia.invalidate_session``."""
        return await self._run(self._invalidate_session(session_id))

    async def invalidate_user_sessions(self, user_id: str) -> None:
        """See ``Lucia.invalidate_user_sessions``."""
        return await self._run(self._invalidate_user_sessions(user_id))

    async def invalidate_other_sessions(self, user_id: str, keep_session_id: str) -> int:
        """See ``Lucia.invalidate_other_sessions``."""
        return await self._run(self._invalidate_other_sessions(user_id, keep_session_id))

    async def delete_expired_sessions(
        self, *, batch_size: int | None = None, progress: PurgeProgress | None = None
    ) -> int:
        """See ``Lucia.delete_expired_sessions``."""
        return await self._run(self._delete_expired_sessions(batch_size, progress))

    async def create_token(
        self,
        user_id: str,
        purpose: str,
        *,
        expires_in: timedelta,
        data: dict[str, Any] | None = None,
    ) -> str:
        """See ``Lucia.create_token``."""
        return await self._run(self._create_token(user_id, purpose, expires_in, data))

    async def consume_token(self, token: str, purpose: str) -> Token:
        """See ``Lucia.consume_token``."""
        return await self._run(self._consume_token(token, purpose))

    async def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        """See ``Lucia.delete_user_tokens``."""
        return await self._run(self._delete_user_tokens(user_id, purpose))

    async def delete_expired_tokens(self) -> int:
        """See ``Lucia.delete_expired_tokens``."""
        return await self._run(self._delete_expired_tokens())
