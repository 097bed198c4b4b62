"""Password accounts: sign-up, sign-in and password change, for any framework's views.

    signed = accounts.sign_up(auth, form["email"], form["password"])
    # -> set signed.cookie on the response (or send signed.session.token to an API client)

    signed = accounts.sign_in(auth, email, password, current_session_id=old_session_id)
    signed = accounts.change_password(auth, user.id, email, current, new)
    change = accounts.change_email(auth, user.id, email, password, new_email)
    # -> mail change.previous_email that its account moved (SECURITY.md 46)

    accounts.require_recent_authentication(auth, session)   # before linking, unlinking, ...
    signed = accounts.reauthenticate(auth, session, email, password)  # "confirm your password"

Accounts are keyed ``("email", normalize_email(address))`` — the same key
``lucia.oauth.flow`` uses for ``link_by_verified_email`` — and a new account's
attributes hold that ``email`` with ``email_verified: False`` (an app sets it to
True once it has proved the address, never before).

``sign_up`` answers ``EmailTakenError`` for an address that has an account,
which tells whoever asks that the address is registered; give it a
``SignInThrottle`` (``throttle=``, ``address=``) so one client cannot ask, or
make accounts (each attempt costs an Argon2 hash), without limit.
``lucia.tokens.request_sign_up`` is the verification-first sign-up that
answers the same for a taken and a free address.

A sign-up completes or leaves nothing: when the session cannot be created (a
session store that is down), the user just created is deleted again and the
store's ``DatabaseError`` goes on, so a retry signs up instead of finding the
address taken.

Each operation is written once, as a generator yielding the ``Lucia`` calls it
needs; ``sign_up`` and friends drive it with a ``Lucia``, ``asign_up`` and
friends await the same calls on an ``AsyncLucia``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from lucia._calls import Operation, adrive, auth_call, call, drive
from lucia.cookies import Cookie
from lucia.core import AsyncLucia, Lucia
from lucia.emails import (
    EMAIL_PROVIDER_ID,
    EMAIL_VERIFICATION,
    PASSWORD_RESET,
    normalize_email,
)
from lucia.errors import DuplicateKeyError, InvalidCredentialsError, LuciaError
from lucia.models import Key, Session, User
from lucia.throttle import SignInThrottle

__all__ = [
    "REAUTHENTICATION_MAX_AGE",
    "EmailChange",
    "EmailTakenError",
    "InvalidEmailError",
    "ReauthenticationRequiredError",
    "SignedIn",
    "achange_email",
    "achange_password",
    "areauthenticate",
    "asign_in",
    "asign_up",
    "change_email",
    "change_password",
    "password_key",
    "reauthenticate",
    "require_recent_authentication",
    "sign_in",
    "sign_up",
]

logger = logging.getLogger("lucia.accounts")

# How long after presenting credentials a session may change them (email,
# password, linked identities) without presenting them again (ASVS 7.5.1).
REAUTHENTICATION_MAX_AGE = timedelta(minutes=10)


T = TypeVar("T")


class EmailTakenError(LuciaError):
    """Sign-up with an address that already has an account.

    Telling the visitor so reveals that the address is registered; apps that
    must not reveal it answer as for a success and email the owner instead.
    """

    code = "AUTH_EMAIL_TAKEN"
    default_message = "an account with this email address already exists"


class InvalidEmailError(LuciaError):
    """Sign-up with something ``normalize_email`` does not accept as an address."""

    code = "AUTH_INVALID_EMAIL"
    default_message = "the email address is not valid"


class ReauthenticationRequiredError(LuciaError):
    """A sensitive change asked of a session that did not sign in recently.

    Integrations answer 403; the app asks for the password again
    (``reauthenticate``) or sends the user through a provider's sign-in.
    """

    code = "AUTH_REAUTHENTICATION_REQUIRED"
    default_message = "sign in again to make this change"
    status: ClassVar[int] = 403


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The outcome of a successful sign-up, sign-in or password change.

    ``cookie`` is the session cookie to set; ``session.token`` is the same
    secret for clients that use ``Authorization: Bearer``. Neither ``repr``
    shows the token.
    """

    user: User
    session: Session
    cookie: Cookie


@dataclass(frozen=True, slots=True)
class EmailChange:
    """The outcome of ``change_email``: ``user`` now signs in with ``email``.

    Mail ``previous_email`` that the account's address changed (SECURITY.md
    46: the old address learns of it, so a hijacked session cannot move an
    account away unnoticed), and send ``email`` a verification link
    (``lucia.tokens.create_email_verification_token``): it is unverified.
    """

    user: User
    email: str
    previous_email: str


_Flow = Operation[T]
_call = auth_call


class _UserStore:
    """A lucia object's user store as a ``call`` target (``delete_user`` / ``adelete_user``).

    Undoing a sign-up deletes from the user store only: ``Lucia.delete_user``
    would first ask the session store, which is what just failed.
    """

    def __init__(self, auth: Lucia | AsyncLucia) -> None:
        self.adapter: Any = auth.adapter

    def delete_user(self, user_id: str) -> None:
        self.adapter.delete_user(user_id)

    async def adelete_user(self, user_id: str) -> None:
        await self.adapter.delete_user(user_id)


# The operations, once


def _sign_up(
    auth: Lucia | AsyncLucia,
    email: str,
    password: str,
    attributes: dict[str, Any] | None,
    session_attributes: dict[str, Any] | None,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
) -> _Flow[SignedIn]:
    normalized = normalize_email(email)
    if normalized is None:
        raise InvalidEmailError()
    if throttle is not None:
        # Before the hash and the lookup: both are what a flood of sign-ups is after.
        yield call(throttle, "count_sign_up", address)
    # Ours win over the caller's: a new address is never born verified.
    user_attributes = {**(attributes or {}), "email": normalized, "email_verified": False}
    try:
        user: User = yield _call(
            "create_user",
            EMAIL_PROVIDER_ID,
            normalized,
            password=password,
            attributes=user_attributes,
        )
    except DuplicateKeyError:
        raise EmailTakenError() from None
    logger.info("password sign-up", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    return (yield from _first_session(auth, user, session_attributes))


def _first_session(
    auth: Lucia | AsyncLucia, user: User, session_attributes: dict[str, Any] | None
) -> _Flow[SignedIn]:
    """The first session of ``user``, just created: or, failing that, no ``user`` either."""
    try:
        return (yield from _new_session(auth, user, session_attributes))
    except Exception as error:
        # A sign-up completes or leaves nothing: a kept account would answer
        # the retry with "email taken" (SECURITY.md 40's uniqueness, turned on the user).
        try:
            yield call(_UserStore(auth), "delete_user", user.id)
        except Exception as undo_error:
            logger.error(
                "a sign-up whose session failed could not be undone: its account stays",
                extra={
                    "user_id": user.id,
                    "error_code": getattr(undo_error, "code", type(undo_error).__name__),
                },
            )
        else:
            logger.warning(
                "sign-up undone: its session could not be created",
                extra={"user_id": user.id, "error_code": getattr(error, "code", None)},
            )
        raise error


def _sign_in(
    auth: Lucia | AsyncLucia,
    email: str,
    password: str,
    current_session_id: str | None,
    session_attributes: dict[str, Any] | None,
) -> _Flow[SignedIn]:
    # An address that cannot exist still costs a (dummy) hash inside
    # authenticate: the same time and error as a wrong password.
    normalized = normalize_email(email) or ""
    user: User = yield _call("authenticate", EMAIL_PROVIDER_ID, normalized, password)
    if current_session_id is not None:
        # The session the browser held before is never carried over (fixation).
        yield _call("invalidate_session", current_session_id)
    logger.info("password sign-in", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    return (yield from _new_session(auth, user, session_attributes))


def _change_password(
    auth: Lucia | AsyncLucia,
    user_id: str,
    email: str,
    current_password: str,
    new_password: str,
    session_attributes: dict[str, Any] | None,
) -> _Flow[SignedIn]:
    normalized = normalize_email(email) or ""
    user: User = yield _call("authenticate", EMAIL_PROVIDER_ID, normalized, current_password)
    if user.id != user_id:
        # Someone else's address and password: not this user's key to change.
        raise InvalidCredentialsError()
    # The policy is checked before anything changes; every session, this
    # device's included, is revoked with the old password.
    yield _call(
        "update_key_password",
        EMAIL_PROVIDER_ID,
        normalized,
        new_password,
        invalidate_sessions=True,
    )
    # A reset link mailed before the change must not undo it (SECURITY.md 46).
    yield _call("delete_user_tokens", user.id, PASSWORD_RESET)
    return (yield from _new_session(auth, user, session_attributes))


def _change_email(user_id: str, email: str, password: str, new_email: str) -> _Flow[EmailChange]:
    normalized = normalize_email(email) or ""
    new = normalize_email(new_email)
    if new is None:
        raise InvalidEmailError()
    user: User = yield _call("authenticate", EMAIL_PROVIDER_ID, normalized, password)
    if user.id != user_id:
        raise InvalidCredentialsError()
    if new == normalized:
        return EmailChange(user, new, normalized)
    # The key is the address: a new key with the same password, then the old
    # one goes. The new key fails first when the address has an account.
    try:
        yield _call("add_key", user.id, EMAIL_PROVIDER_ID, new, password=password)
    except DuplicateKeyError:
        owner: User | None = yield _call("get_user_by_key", EMAIL_PROVIDER_ID, new)
        if owner is None or owner.id != user.id:
            raise EmailTakenError() from None
        # Ours already: a retry of a change whose old key could not be deleted.
    yield _call("delete_key", EMAIL_PROVIDER_ID, normalized)
    stored = user.attributes.get("email")
    previous = stored if isinstance(stored, str) and normalize_email(stored) else normalized
    updated: User = yield _call(
        "update_user_attributes", user.id, {"email": new, "email_verified": False}
    )
    # Links mailed to the old address prove nothing about the new one, and a
    # reset link for the old key must not reach the account either.
    yield _call("delete_user_tokens", user.id, EMAIL_VERIFICATION)
    yield _call("delete_user_tokens", user.id, PASSWORD_RESET)
    logger.info("email changed", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    return EmailChange(updated, new, previous)


def _reauthenticate(
    auth: Lucia | AsyncLucia,
    session: Session,
    email: str,
    password: str,
    session_attributes: dict[str, Any] | None,
) -> _Flow[SignedIn]:
    normalized = normalize_email(email) or ""
    user: User = yield _call("authenticate", EMAIL_PROVIDER_ID, normalized, password)
    if user.id != session.user_id:
        # Another account's valid password proves nothing about this session.
        raise InvalidCredentialsError()
    # A re-authentication is a login: a new token, and the old one dies (SECURITY 1).
    yield _call("invalidate_session", session.id)
    logger.info("reauthenticated", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    attributes = session.attributes if session_attributes is None else session_attributes
    return (yield from _new_session(auth, user, attributes))


def _new_session(
    auth: Lucia | AsyncLucia, user: User, session_attributes: dict[str, Any] | None
) -> _Flow[SignedIn]:
    session: Session = yield _call("create_session", user.id, attributes=session_attributes)
    return SignedIn(user, session, auth.create_session_cookie(session))


# Drivers: lucia._calls runs the same operation with a Lucia or an AsyncLucia.


def _run_sync(flow: _Flow[T], auth: Lucia) -> T:
    if not isinstance(auth, Lucia):
        raise TypeError("this function needs a Lucia; use the a-prefixed one with an AsyncLucia")
    return drive(flow, auth)


async def _run_async(flow: _Flow[T], auth: AsyncLucia) -> T:
    if not isinstance(auth, AsyncLucia):
        raise TypeError("this function needs an AsyncLucia; use the plain one with a Lucia")
    return await adrive(flow, auth)


# The public API


def password_key(keys: Iterable[Key]) -> Key | None:
    """The key among ``keys`` (a user's) that signs in with an email and a password."""
    return next((k for k in keys if k.provider_id == EMAIL_PROVIDER_ID and k.has_password), None)


def require_recent_authentication(
    auth: Lucia | AsyncLucia,
    session: Session,
    *,
    max_age: timedelta = REAUTHENTICATION_MAX_AGE,
) -> None:
    """Raise ``ReauthenticationRequiredError`` unless ``session`` began within ``max_age``.

    Every sign-in and re-authentication creates a new session, so a session's
    ``created_at`` is when its user last presented credentials; sliding renewal
    never moves it. Call it before changing an email or password and before
    linking or unlinking an identity.
    """
    if auth.clock() - session.created_at > max_age:
        raise ReauthenticationRequiredError()


def sign_up(
    auth: Lucia,
    email: str,
    password: str,
    *,
    attributes: dict[str, Any] | None = None,
    session_attributes: dict[str, Any] | None = None,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
) -> SignedIn:
    """Create a password account and its first session.

    ``InvalidEmailError`` when the address is not accepted, ``EmailTakenError``
    when it has an account already, ``InvalidPasswordError`` (with its
    ``reason``) when the password policy refuses the password. ``attributes``
    are stored with the user; ``email`` and ``email_verified: False`` override them.
    With a ``throttle``, the attempt counts for the client ``address``
    (``throttle.count_sign_up``) first: ``RateLimitedError`` past its limit.
    When the session cannot be created the user is deleted again and the
    error (a ``DatabaseError``) goes on: the sign-up leaves nothing.
    """
    return _run_sync(
        _sign_up(auth, email, password, attributes, session_attributes, throttle, address), auth
    )


def sign_in(
    auth: Lucia,
    email: str,
    password: str,
    *,
    current_session_id: str | None = None,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """Check the password and start a new session.

    ``InvalidCredentialsError`` for an unknown address and a wrong password
    alike. On success ``current_session_id`` (the request's session, if any) is
    invalidated, so a sign-in never keeps a session the browser held before.
    """
    return _run_sync(_sign_in(auth, email, password, current_session_id, session_attributes), auth)


def change_password(
    auth: Lucia,
    user_id: str,
    email: str,
    current_password: str,
    new_password: str,
    *,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """Change the signed-in user's password, given the current one.

    ``InvalidCredentialsError`` unless ``current_password`` is right for the
    account ``email`` of ``user_id``; ``InvalidPasswordError`` if the new one is
    refused (nothing changes then). On success every session of the user is
    revoked and a new one, for this device, is returned: set its cookie. The
    user's outstanding password-reset tokens stop working.
    """
    return _run_sync(
        _change_password(auth, user_id, email, current_password, new_password, session_attributes),
        auth,
    )


def change_email(
    auth: Lucia, user_id: str, email: str, password: str, new_email: str
) -> EmailChange:
    """Move the password account of ``user_id`` from ``email`` to ``new_email``.

    Needs the current password (``InvalidCredentialsError`` otherwise, or for
    another account's address), like ``change_password``; call
    ``require_recent_authentication`` too if your app asks for it.
    ``InvalidEmailError`` for a refused new address, ``EmailTakenError`` when it
    has an account. The user's ``email`` becomes the new address, unverified,
    and the outstanding verification and reset tokens stop working. Mail
    ``previous_email`` that the address changed; lucia sends no mail.
    """
    return _run_sync(_change_email(user_id, email, password, new_email), auth)


async def achange_email(
    auth: AsyncLucia, user_id: str, email: str, password: str, new_email: str
) -> EmailChange:
    """See ``change_email``; needs an ``AsyncLucia``."""
    return await _run_async(_change_email(user_id, email, password, new_email), auth)


def reauthenticate(
    auth: Lucia,
    session: Session,
    email: str,
    password: str,
    *,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """Confirm the password of ``session``'s user and replace the session with a new one.

    ``InvalidCredentialsError`` for a wrong password or another account's
    address. On success ``session`` is invalidated and the new session (which
    keeps its attributes unless ``session_attributes`` are given) counts as a
    recent authentication: set its cookie.
    """
    return _run_sync(_reauthenticate(auth, session, email, password, session_attributes), auth)


async def asign_up(
    auth: AsyncLucia,
    email: str,
    password: str,
    *,
    attributes: dict[str, Any] | None = None,
    session_attributes: dict[str, Any] | None = None,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
) -> SignedIn:
    """See ``sign_up``; needs an ``AsyncLucia``."""
    return await _run_async(
        _sign_up(auth, email, password, attributes, session_attributes, throttle, address), auth
    )


async def asign_in(
    auth: AsyncLucia,
    email: str,
    password: str,
    *,
    current_session_id: str | None = None,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """See ``sign_in``; needs an ``AsyncLucia``."""
    return await _run_async(
        _sign_in(auth, email, password, current_session_id, session_attributes), auth
    )


async def achange_password(
    auth: AsyncLucia,
    user_id: str,
    email: str,
    current_password: str,
    new_password: str,
    *,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """See ``change_password``; needs an ``AsyncLucia``."""
    return await _run_async(
        _change_password(auth, user_id, email, current_password, new_password, session_attributes),
        auth,
    )


async def areauthenticate(
    auth: AsyncLucia,
    session: Session,
    email: str,
    password: str,
    *,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """See ``reauthenticate``; needs an ``AsyncLucia``."""
    return await _run_async(
        _reauthenticate(auth, session, email, password, session_attributes), auth
    )
