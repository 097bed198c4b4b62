# Generated from src/lucia/_async/accounts.py by scripts/generate_sync.py: do not edit.
"""Password accounts' operations, once for both flavours (documented in ``lucia.accounts``).

Written as async code over an ``Lucia``; ``lucia/_sync/accounts.py`` is
generated from it (``scripts/generate_sync.py``). Every store call is a typed
method call, so a misspelt method or a wrong argument fails ``mypy --strict``.
"""

from __future__ import annotations

import logging
from typing import Any

from lucia import emails
from lucia._accounts_base import (
    EmailChange,
    EmailTakenError,
    InvalidEmailError,
    SignedIn,
    is_pending_sign_up,
    mail_address,
    require_flavour,
)
from lucia.core import Lucia
from lucia.emails import EMAIL_PROVIDER_ID, normalize_email
from lucia.errors import DuplicateKeyError, InvalidCredentialsError
from lucia.models import Session, User
from lucia.throttle import SignInThrottle

logger = logging.getLogger("lucia.accounts")


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
    An account-to-be of ``request_sign_up`` (never completed, never verified)
    does not make the address taken: it is deleted, its links with it, and
    the new account replaces it.
    With a ``throttle``, the attempt counts for the client ``address``
    (``throttle.count_sign_up``) first: ``RateLimitedError`` past its limit.
    When the session cannot be created the user is deleted again and the
    error (a ``DatabaseError``) goes on: the sign-up leaves nothing.
    """
    require_flavour(auth, Lucia)
    normalized = admit_sign_up(email, throttle, address)
    # Ours win over the caller's: a new address is never born verified.
    user_attributes = {**(attributes or {}), "email": normalized, "email_verified": False}
    # Created first, looked at only when the address is in use: a free address,
    # the usual case, costs no extra round trip.
    for last_try in (False, True):
        try:
            user = auth.create_user(
                EMAIL_PROVIDER_ID, normalized, password=password, attributes=user_attributes
            )
            break
        except DuplicateKeyError:
            if last_try or not _reclaim_pending_sign_up(auth, normalized):
                raise EmailTakenError() from None
    logger.info("password sign-up", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    return _first_session(auth, user, session_attributes)


def admit_sign_up(email: str, throttle: SignInThrottle | None, address: str | None) -> str:
    """``email`` normalised, for a sign-up of either kind: ``InvalidEmailError`` when it
    is not accepted; with a ``throttle``, counted for the client ``address`` first
    (``RateLimitedError`` past its limit)."""
    normalized = normalize_email(email)
    if normalized is None:
        raise InvalidEmailError()
    if throttle is not None:
        # Before the hash and the lookups: both are what a flood of sign-ups is after.
        throttle.count_sign_up(address)
    return normalized


def _reclaim_pending_sign_up(auth: Lucia, address: str) -> bool:
    """Delete the address's account-to-be (a ``request_sign_up`` never completed and
    never verified), its links first; False when the address has a real account."""
    user = auth.get_user_by_key(EMAIL_PROVIDER_ID, address)
    if user is None:
        return True  # deleted meanwhile: the address is free
    if user.attributes.get("email_verified") is True or not is_pending_sign_up(
        auth.get_user_keys(user.id), address
    ):
        return False
    # Its links go first, so no completion can begin after this; one that began
    # before and has set the password by now shows in the keys read again.
    auth.delete_user_tokens(user.id, emails.SIGN_UP)
    if not is_pending_sign_up(auth.get_user_keys(user.id), address):
        return False
    auth.delete_user(user.id)
    logger.info("unfinished sign-up replaced", extra={"user_id": user.id})
    return True


def _first_session(auth: Lucia, user: User, session_attributes: dict[str, Any] | None) -> SignedIn:
    """The first session of ``user``, just created: or, failing that, no ``user`` either."""
    try:
        return start_session(auth, user, session_attributes)
    except Exception as error:
        # A sign-up completes or leaves nothing: a kept account would answer
        # the retry with "email taken" (SECURITY.md 40's uniqueness, turned on the user).
        try:
            # From the user store only: deleting through the lucia object would
            # first ask the session store, which is what just failed.
            auth.adapter.delete_user(user.id)
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
    require_flavour(auth, Lucia)
    # An address that cannot exist still costs a (dummy) hash inside
    # authenticate: the same time and error as a wrong password.
    normalized = normalize_email(email) or ""
    user = auth.authenticate(EMAIL_PROVIDER_ID, normalized, password)
    if current_session_id is not None:
        # The session the browser held before is never carried over (fixation).
        auth.invalidate_session(current_session_id)
    logger.info("password sign-in", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    return start_session(auth, user, session_attributes)


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
    require_flavour(auth, Lucia)
    user, normalized = _confirm_password(auth, user_id, email, current_password)
    # The policy is checked before anything changes; every session, this
    # device's included, is revoked with the old password.
    auth.update_key_password(EMAIL_PROVIDER_ID, normalized, new_password, invalidate_sessions=True)
    # A reset link mailed before the change must not undo it (SECURITY.md 46).
    auth.delete_user_tokens(user.id, emails.PASSWORD_RESET)
    return start_session(auth, user, session_attributes)


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
    require_flavour(auth, Lucia)
    new = normalize_email(new_email)
    if new is None:
        raise InvalidEmailError()
    user, normalized = _confirm_password(auth, user_id, email, password)
    if new == normalized:
        return EmailChange(user, new, normalized)
    # The key is the address: a new key with the same password, then the old
    # one goes. The new key fails first when the address has an account.
    try:
        auth.add_key(user.id, EMAIL_PROVIDER_ID, new, password=password)
    except DuplicateKeyError:
        owner = auth.get_user_by_key(EMAIL_PROVIDER_ID, new)
        if owner is None or owner.id != user.id:
            raise EmailTakenError() from None
        # Ours already: a retry of a change whose old key could not be deleted.
    auth.delete_key(EMAIL_PROVIDER_ID, normalized)
    previous = mail_address(user, normalized)
    updated = auth.update_user_attributes(user.id, {"email": new, "email_verified": False})
    # Links mailed to the old address prove nothing about the new one, and a
    # reset link for the old key must not reach the account either.
    auth.delete_user_tokens(user.id, emails.EMAIL_VERIFICATION)
    auth.delete_user_tokens(user.id, emails.PASSWORD_RESET)
    logger.info("email changed", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    return EmailChange(updated, new, previous)


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
    require_flavour(auth, Lucia)
    user, _ = _confirm_password(auth, session.user_id, email, password)
    # A re-authentication is a login: a new token, and the old one dies (SECURITY 1).
    auth.invalidate_session(session.id)
    logger.info("reauthenticated", extra={"user_id": user.id, "provider_id": EMAIL_PROVIDER_ID})
    attributes = session.attributes if session_attributes is None else session_attributes
    return start_session(auth, user, attributes)


def _confirm_password(auth: Lucia, user_id: str, email: str, password: str) -> tuple[User, str]:
    """The user ``user_id`` and its address ``email`` normalised, when ``password`` is
    that account's; ``InvalidCredentialsError`` otherwise."""
    normalized = normalize_email(email) or ""
    user = auth.authenticate(EMAIL_PROVIDER_ID, normalized, password)
    if user.id != user_id:
        # Another account's valid address and password: not this user's to use.
        raise InvalidCredentialsError()
    return user, normalized


def start_session(auth: Lucia, user: User, session_attributes: dict[str, Any] | None) -> SignedIn:
    """A new session of ``user``, with its cookie: what every sign-in returns."""
    session = auth.create_session(user.id, attributes=session_attributes)
    return SignedIn(user, session, auth.create_session_cookie(session))
