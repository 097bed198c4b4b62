"""Email verification and password reset, on lucia's one-time tokens.

    token, address = tokens.create_email_verification_token(auth, user.id)
    # email https://app.example/verify-email?token=<token> to `address`
    user = tokens.verify_email(auth, token)                    # email_verified: True

    reset = tokens.create_password_reset_token(auth, form["email"])
    if reset is not None:                                      # answer the same either way
        # email https://app.example/reset-password?token=<reset.token> to reset.email,
        # from a task queue or background task: the response time must not tell either
    user = tokens.reset_password(auth, token, form["password"])  # signs out everywhere

    mail = tokens.request_sign_up(auth, form["email"], throttle=throttle, address=ip)
    # answer "check your mail" either way; mail.account_exists picks the mail
    signed = tokens.complete_sign_up(auth, token, form["password"])  # verified, signed in

A token is 32 random bytes (base64url) that exists only in the mail: the
store keeps its SHA-256, so a leaked table cannot verify an address or reset a
password. Each token works once; making a new one replaces the user's older
ones of the same kind. Every refusal (malformed, unknown, used, expired, made
for the other purpose, or for an address the account no longer has) is the
same ``InvalidTokenError``.

Mail goes only to the address stored on the account, never to the one typed
into a form (SECURITY.md 41): ``create_password_reset_token`` finds the
account by the normalised typed address and returns the stored one.

Each operation is written once, as a generator of ``Lucia`` calls; the plain
functions drive it with a ``Lucia`` and the a-prefixed ones await it with an
``AsyncLucia``, as in ``lucia.accounts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from lucia._calls import Operation, auth_call, call
from lucia.accounts import InvalidEmailError, SignedIn, _new_session, _run_async, _run_sync
from lucia.core import AsyncLucia, Lucia
from lucia.emails import (
    EMAIL_PROVIDER_ID,
    EMAIL_VERIFICATION,
    PASSWORD_RESET,
    SIGN_UP,
    normalize_email,
)
from lucia.errors import DuplicateKeyError, InvalidTokenError, KeyNotFoundError, UserNotFoundError
from lucia.models import Key, Token, User
from lucia.throttle import SignInThrottle

__all__ = [
    "EMAIL_VERIFICATION",
    "EMAIL_VERIFICATION_EXPIRES_IN",
    "PASSWORD_RESET",
    "PASSWORD_RESET_EXPIRES_IN",
    "SIGN_UP",
    "SIGN_UP_EXPIRES_IN",
    "PasswordReset",
    "SignUpMail",
    "acomplete_sign_up",
    "acreate_email_verification_token",
    "acreate_password_reset_token",
    "arequest_sign_up",
    "areset_password",
    "averify_email",
    "complete_sign_up",
    "create_email_verification_token",
    "create_password_reset_token",
    "request_sign_up",
    "reset_password",
    "verify_email",
]

EMAIL_VERIFICATION_EXPIRES_IN = timedelta(hours=48)
# Short: a reset link is a password for whoever reads the mail (OWASP's forgot
# password cheat sheet).
PASSWORD_RESET_EXPIRES_IN = timedelta(hours=1)
SIGN_UP_EXPIRES_IN = timedelta(hours=48)

T = TypeVar("T")
_Flow = Operation[T]
_call = auth_call


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A password reset to mail: ``token`` goes to ``email``, the address stored on
    ``user``'s account (never the one typed into the form). ``repr()`` hides the token."""

    user: User
    email: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignUpMail:
    """The mail a verification-first sign-up sends: ``token`` in a link to ``email``.

    ``account_exists`` False: a new sign-up, and the link completes it
    (``complete_sign_up``). True: the address has an account already; mail a
    "you already have an account" note, and ``token`` is a password-reset token
    (``reset_password``) for that account's owner. Tell the visitor the same in
    both cases ("check your mail"). ``repr()`` hides the token.
    """

    email: str
    token: str = field(repr=False)
    account_exists: bool


# The operations, once


def _create_email_verification_token(user_id: str, expires_in: timedelta) -> _Flow[tuple[str, str]]:
    user: User | None = yield _call("get_user", user_id)
    if user is None:
        raise UserNotFoundError()
    address = user.attributes.get("email")
    if not isinstance(address, str) or normalize_email(address) is None:
        raise InvalidEmailError("the user has no valid email address to verify")
    # One live link per user: a newer mail makes the older links useless.
    yield _call("delete_user_tokens", user_id, EMAIL_VERIFICATION)
    token: str = yield _call(
        "create_token",
        user_id,
        EMAIL_VERIFICATION,
        expires_in=expires_in,
        data={"email": address},
    )
    return token, address


def _verify_email(token: str) -> _Flow[User]:
    consumed: Token = yield _call("consume_token", token, EMAIL_VERIFICATION)
    user: User | None = yield _call("get_user", consumed.user_id)
    address = consumed.data.get("email")
    # The link proves the address it was sent to: if the account's address has
    # changed since, it proves nothing about the new one.
    if user is None or not isinstance(address, str) or user.attributes.get("email") != address:
        raise InvalidTokenError()
    updated: User = yield _call("update_user_attributes", user.id, {"email_verified": True})
    return updated


def _create_password_reset_token(email: str, expires_in: timedelta) -> _Flow[PasswordReset | None]:
    normalized = normalize_email(email)
    if normalized is None:
        return None
    user: User | None = yield _call("get_user_by_key", EMAIL_PROVIDER_ID, normalized)
    if user is None:
        return None
    stored = user.attributes.get("email")
    # The address on the account; the key (itself stored, and equal to the
    # normalised input) only when the account holds no usable address.
    address = stored if isinstance(stored, str) and normalize_email(stored) else normalized
    yield _call("delete_user_tokens", user.id, PASSWORD_RESET)
    token: str = yield _call(
        "create_token", user.id, PASSWORD_RESET, expires_in=expires_in, data={"key": normalized}
    )
    return PasswordReset(user, address, token)


def _reset_password(auth: Lucia | AsyncLucia, token: str, new_password: str) -> _Flow[User]:
    # Before the token is used: a refused password leaves the link working.
    auth.password_policy.check(new_password)
    consumed: Token = yield _call("consume_token", token, PASSWORD_RESET)
    key = consumed.data.get("key")
    owner: User | None = None
    if isinstance(key, str):
        owner = yield _call("get_user_by_key", EMAIL_PROVIDER_ID, key)
    if owner is None or owner.id != consumed.user_id:
        raise InvalidTokenError()  # the address was unlinked or moved to another account
    try:
        # Also deletes every session of the user (SECURITY.md 6).
        yield _call(
            "update_key_password", EMAIL_PROVIDER_ID, key, new_password, invalidate_sessions=True
        )
    except KeyNotFoundError:
        raise InvalidTokenError() from None
    yield _call("delete_user_tokens", owner.id, PASSWORD_RESET)
    return owner


def _request_sign_up(
    email: str,
    expires_in: timedelta,
    throttle: SignInThrottle | None,
    address: str | None,
) -> _Flow[SignUpMail]:
    normalized = normalize_email(email)
    if normalized is None:
        raise InvalidEmailError()
    if throttle is not None:
        yield call(throttle, "count_sign_up", address)
    user: User | None = yield _call("get_user_by_key", EMAIL_PROVIDER_ID, normalized)
    pending = user is None
    if user is None:
        # A user with a password-less key: the account-to-be, which only the
        # link completes. Made now, so the address is claimed once, atomically.
        try:
            user = yield _call(
                "create_user",
                EMAIL_PROVIDER_ID,
                normalized,
                attributes={"email": normalized, "email_verified": False},
            )
        except DuplicateKeyError:  # a concurrent request for the same address
            user = yield _call("get_user_by_key", EMAIL_PROVIDER_ID, normalized)
            if user is None:
                raise InvalidTokenError() from None  # made and deleted meanwhile: ask again
            pending = False
    if not pending:
        keys: list[Key] = yield _call("get_user_keys", user.id)
        pending = _is_pending(keys, normalized)
    if pending:
        yield _call("delete_user_tokens", user.id, SIGN_UP)
        token: str = yield _call(
            "create_token", user.id, SIGN_UP, expires_in=expires_in, data={"email": normalized}
        )
        return SignUpMail(normalized, token, account_exists=False)
    # Taken: the same writes as a new sign-up (the time tells as little as the
    # answer), and the note to the owner carries a way back in.
    reset = yield from _create_password_reset_token(normalized, PASSWORD_RESET_EXPIRES_IN)
    if reset is None:  # deleted meanwhile
        raise InvalidTokenError()
    return SignUpMail(reset.email, reset.token, account_exists=True)


def _is_pending(keys: list[Key], address: str) -> bool:
    """Whether the user is a sign-up not completed yet: its only key is the address's,
    without a password."""
    return (
        len(keys) == 1
        and keys[0].provider_id == EMAIL_PROVIDER_ID
        and keys[0].provider_user_id == address
        and not keys[0].has_password
    )


def _complete_sign_up(
    auth: Lucia | AsyncLucia,
    token: str,
    password: str,
    attributes: dict[str, Any] | None,
    session_attributes: dict[str, Any] | None,
) -> _Flow[SignedIn]:
    # Before the token is used: a refused password leaves the link working.
    auth.password_policy.check(password)
    consumed: Token = yield _call("consume_token", token, SIGN_UP)
    address = consumed.data.get("email")
    user: User | None = yield _call("get_user", consumed.user_id)
    keys: list[Key] = [] if user is None else (yield _call("get_user_keys", consumed.user_id))
    if user is None or not isinstance(address, str) or not _is_pending(keys, address):
        raise InvalidTokenError()  # completed, linked or deleted since the mail went out
    yield _call(
        "update_key_password", EMAIL_PROVIDER_ID, address, password, invalidate_sessions=True
    )
    # The link proved the address. Ours win over the caller's attributes.
    user = yield _call(
        "update_user_attributes",
        user.id,
        {**(attributes or {}), "email": address, "email_verified": True},
    )
    return (yield from _new_session(auth, user, session_attributes))


# The public API


def create_email_verification_token(
    auth: Lucia, user_id: str, *, expires_in: timedelta = EMAIL_VERIFICATION_EXPIRES_IN
) -> tuple[str, str]:
    """A verification token for the user's stored ``email``: ``(token, address)``.

    Mail a link with ``token`` to ``address``. The user's older verification
    tokens stop working. ``UserNotFoundError`` for an unknown user,
    ``InvalidEmailError`` when the user has no valid address.
    """
    return _run_sync(_create_email_verification_token(user_id, expires_in), auth)


def verify_email(auth: Lucia, token: str) -> User:
    """Use a verification token: the user, with ``email_verified`` now True.

    ``InvalidTokenError`` for a bad, used or expired token, and when the user's
    ``email`` is no longer the address the token was sent to.
    """
    return _run_sync(_verify_email(token), auth)


def create_password_reset_token(
    auth: Lucia, email: str, *, expires_in: timedelta = PASSWORD_RESET_EXPIRES_IN
) -> PasswordReset | None:
    """A reset token for the password account of ``email``, or None when there is none.

    Answer the visitor the same way in both cases. Mail ``reset.token`` to
    ``reset.email``, the stored address. The account's older reset tokens stop
    working.
    """
    return _run_sync(_create_password_reset_token(email, expires_in), auth)


def reset_password(auth: Lucia, token: str, new_password: str) -> User:
    """Set a new password with a reset token; the user whose password changed.

    ``InvalidPasswordError`` (checked first: the token stays usable) when the
    policy refuses the password, ``InvalidTokenError`` for a bad, used or
    expired token. On success every session of the user is revoked and the
    user's other reset tokens are deleted; sign the user in afresh if wanted.
    """
    return _run_sync(_reset_password(auth, token, new_password), auth)


async def acreate_email_verification_token(
    auth: AsyncLucia, user_id: str, *, expires_in: timedelta = EMAIL_VERIFICATION_EXPIRES_IN
) -> tuple[str, str]:
    """See ``create_email_verification_token``; needs an ``AsyncLucia``."""
    return await _run_async(_create_email_verification_token(user_id, expires_in), auth)


async def averify_email(auth: AsyncLucia, token: str) -> User:
    """See ``verify_email``; needs an ``AsyncLucia``."""
    return await _run_async(_verify_email(token), auth)


async def acreate_password_reset_token(
    auth: AsyncLucia, email: str, *, expires_in: timedelta = PASSWORD_RESET_EXPIRES_IN
) -> PasswordReset | None:
    """See ``create_password_reset_token``; needs an ``AsyncLucia``."""
    return await _run_async(_create_password_reset_token(email, expires_in), auth)


async def areset_password(auth: AsyncLucia, token: str, new_password: str) -> User:
    """See ``reset_password``; needs an ``AsyncLucia``."""
    return await _run_async(_reset_password(auth, token, new_password), auth)


def request_sign_up(
    auth: Lucia,
    email: str,
    *,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
    expires_in: timedelta = SIGN_UP_EXPIRES_IN,
) -> SignUpMail:
    """Start a verification-first sign-up: the mail to send, whether ``email`` is taken or not.

    The visitor gets the same answer either way; only the mail differs
    (``SignUpMail.account_exists``). A free address gets an account-to-be
    without a password that nobody can sign in to until ``complete_sign_up``;
    asking again replaces the older link. ``InvalidEmailError`` for a refused
    address; with a ``throttle``, ``RateLimitedError`` past its per-address
    sign-up limit (``count_sign_up``), counted before anything is looked up.
    """
    return _run_sync(_request_sign_up(email, expires_in, throttle, address), auth)


def complete_sign_up(
    auth: Lucia,
    token: str,
    password: str,
    *,
    attributes: dict[str, Any] | None = None,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """Finish a verification-first sign-up with the link's ``token``: a session, as ``sign_up``.

    ``InvalidPasswordError`` (checked first: the link stays usable) when the
    policy refuses the password; ``InvalidTokenError`` for a bad, used or
    expired token, or an account completed or changed since. The address is
    verified (the link proved it). If the session then cannot be created, the
    account stays complete: the user signs in with the new password.
    """
    return _run_sync(_complete_sign_up(auth, token, password, attributes, session_attributes), auth)


async def arequest_sign_up(
    auth: AsyncLucia,
    email: str,
    *,
    throttle: SignInThrottle | None = None,
    address: str | None = None,
    expires_in: timedelta = SIGN_UP_EXPIRES_IN,
) -> SignUpMail:
    """See ``request_sign_up``; needs an ``AsyncLucia``."""
    return await _run_async(_request_sign_up(email, expires_in, throttle, address), auth)


async def acomplete_sign_up(
    auth: AsyncLucia,
    token: str,
    password: str,
    *,
    attributes: dict[str, Any] | None = None,
    session_attributes: dict[str, Any] | None = None,
) -> SignedIn:
    """See ``complete_sign_up``; needs an ``AsyncLucia``."""
    return await _run_async(
        _complete_sign_up(auth, token, password, attributes, session_attributes), auth
    )
