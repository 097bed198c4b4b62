"""Email verification, password reset and verification-first sign-up, once for both
flavours (documented in ``lucia.tokens``).

Written as async code over an ``AsyncLucia``; ``lucia/_sync/tokens.py`` is
generated from it (``scripts/generate_sync.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lucia import emails
from lucia._accounts_base import (
    EMAIL_VERIFICATION_EXPIRES_IN,
    PASSWORD_RESET_EXPIRES_IN,
    SIGN_UP_EXPIRES_IN,
    InvalidEmailError,
    PasswordReset,
    SignedIn,
    SignUpMail,
    is_pending_sign_up,
    mail_address,
    require_flavour,
)
from lucia._async.accounts import admit_sign_up, start_session
from lucia.core import AsyncLucia
from lucia.emails import EMAIL_PROVIDER_ID, normalize_email
from lucia.errors import DuplicateKeyError, InvalidTokenError, KeyNotFoundError, UserNotFoundError
from lucia.models import User
from lucia.throttle import SignInThrottle


async def acreate_email_verification_token(
    auth: AsyncLucia, user_id: str, *, expires_in: timedelta = EMAIL_VERIFICATION_EXPIRES_IN
) -> tuple[str, str]:
    """A verification token for the user's stored ``email``: ``(token, address)``.

    Mail a link with ``token`` to ``address``. The user's older verification
    tokens stop working. ``UserNotFoundError`` for an unknown user,
    ``InvalidEmailError`` when the user has no valid address.
    """
    require_flavour(auth, AsyncLucia)
    user = await auth.get_user(user_id)
    if user is None:
        raise UserNotFoundError()
    address = user.attributes.get("email")
    if not isinstance(address, str) or normalize_email(address) is None:
        raise InvalidEmailError("the user has no valid email address to verify")
    # One live link per user: a newer mail makes the older links useless.
    await auth.delete_user_tokens(user_id, emails.EMAIL_VERIFICATION)
    token = await auth.create_token(
        user_id, emails.EMAIL_VERIFICATION, expires_in=expires_in, data={"email": address}
    )
    return token, address


async def averify_email(auth: AsyncLucia, token: str) -> User:
    """Use a verification token: the user, with ``email_verified`` now True.

    ``InvalidTokenError`` for a bad, used or expired token, and when the user's
    ``email`` is no longer the address the token was sent to.
    """
    require_flavour(auth, AsyncLucia)
    consumed = await auth.consume_token(token, emails.EMAIL_VERIFICATION)
    user = await auth.get_user(consumed.user_id)
    address = consumed.data.get("email")
    # The link proves the address it was sent to: if the account's address has
    # changed since, it proves nothing about the new one.
    if user is None or not isinstance(address, str) or user.attributes.get("email") != address:
        raise InvalidTokenError()
    return await auth.update_user_attributes(user.id, {"email_verified": True})


async def acreate_password_reset_token(
    auth: AsyncLucia, email: str, *, expires_in: timedelta = PASSWORD_RESET_EXPIRES_IN
) -> PasswordReset | None:
    """A reset token for the password account of ``email``, or None when there is none.

    Answer the visitor the same way in both cases. Mail ``reset.token`` to
    ``reset.email``, the stored address. The account's older reset tokens stop
    working.
    """
    require_flavour(auth, AsyncLucia)
    normalized = normalize_email(email)
    if normalized is None:
        return None
    user = await auth.get_user_by_key(EMAIL_PROVIDER_ID, normalized)
    if user is None:
        return None
    address = mail_address(user, normalized)
    await auth.delete_user_tokens(user.id, emails.PASSWORD_RESET)
    token = await auth.create_token(
        user.id, emails.PASSWORD_RESET, expires_in=expires_in, data={"key": normalized}
    )
    return PasswordReset(user, address, token)


async def areset_password(auth: AsyncLucia, token: str, new_password: str) -> User:
    """Set a new password with a reset token; the user whose password changed.

    ``InvalidPasswordError`` (checked first: the token stays usable) when the
    policy refuses the password, ``InvalidTokenError`` for a bad, used or
    expired token. On success every session of the user is revoked and the
    user's other reset tokens are deleted; sign the user in afresh if wanted.
    """
    require_flavour(auth, AsyncLucia)
    # Before the token is used: a refused password leaves the link working.
    auth.password_policy.check(new_password)
    consumed = await auth.consume_token(token, emails.PASSWORD_RESET)
    key = consumed.data.get("key")
    if not isinstance(key, str):
        raise InvalidTokenError()
    owner = await auth.get_user_by_key(EMAIL_PROVIDER_ID, key)
    if owner is None or owner.id != consumed.user_id:
        raise InvalidTokenError()  # the address was unlinked or moved to another account
    try:
        # Also deletes every session of the user (SECURITY.md 6).
        await auth.update_key_password(
            EMAIL_PROVIDER_ID, key, new_password, invalidate_sessions=True
        )
    except KeyNotFoundError:
        raise InvalidTokenError() from None
    await auth.delete_user_tokens(owner.id, emails.PASSWORD_RESET)
    return owner


async def arequest_sign_up(
    auth: AsyncLucia,
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
    require_flavour(auth, AsyncLucia)
    normalized = await admit_sign_up(email, throttle, address)
    user = await auth.get_user_by_key(EMAIL_PROVIDER_ID, normalized)
    pending = user is None
    if user is None:
        # A user with a password-less key: the account-to-be, which only the
        # link completes. Made now, so the address is claimed once, atomically.
        try:
            user = await auth.create_user(
                EMAIL_PROVIDER_ID,
                normalized,
                attributes={"email": normalized, "email_verified": False},
            )
        except DuplicateKeyError:  # a concurrent request for the same address
            user = await auth.get_user_by_key(EMAIL_PROVIDER_ID, normalized)
            if user is None:
                raise InvalidTokenError() from None  # made and deleted meanwhile: ask again
            pending = False
    if not pending:
        pending = is_pending_sign_up(await auth.get_user_keys(user.id), normalized)
    if pending:
        await auth.delete_user_tokens(user.id, emails.SIGN_UP)
        token = await auth.create_token(
            user.id, emails.SIGN_UP, expires_in=expires_in, data={"email": normalized}
        )
        return SignUpMail(normalized, token, account_exists=False)
    # Taken: the same writes as a new sign-up (the time tells as little as the
    # answer), and the note to the owner carries a way back in.
    reset = await acreate_password_reset_token(auth, normalized)
    if reset is None:  # deleted meanwhile
        raise InvalidTokenError()
    return SignUpMail(reset.email, reset.token, account_exists=True)


async def acomplete_sign_up(
    auth: AsyncLucia,
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
    require_flavour(auth, AsyncLucia)
    # Before the token is used: a refused password leaves the link working.
    auth.password_policy.check(password)
    consumed = await auth.consume_token(token, emails.SIGN_UP)
    address = consumed.data.get("email")
    user = await auth.get_user(consumed.user_id)
    keys = [] if user is None else await auth.get_user_keys(consumed.user_id)
    if user is None or not isinstance(address, str) or not is_pending_sign_up(keys, address):
        raise InvalidTokenError()  # completed, linked or deleted since the mail went out
    try:
        await auth.update_key_password(
            EMAIL_PROVIDER_ID, address, password, invalidate_sessions=True
        )
    except KeyNotFoundError:
        raise InvalidTokenError() from None  # replaced by a plain sign-up meanwhile
    owner = await auth.get_user_by_key(EMAIL_PROVIDER_ID, address)
    if owner is None or owner.id != user.id:
        # A plain sign-up replaced the account-to-be while this link was in use,
        # and the password may have landed on its account: an unverified claim on
        # the address this link proves. It keeps neither the password nor a session.
        if owner is not None:
            await auth.update_key_password(
                EMAIL_PROVIDER_ID, address, None, invalidate_sessions=True
            )
        raise InvalidTokenError()
    # The link proved the address. Ours win over the caller's attributes.
    user = await auth.update_user_attributes(
        user.id, {**(attributes or {}), "email": address, "email_verified": True}
    )
    return await start_session(auth, user, session_attributes)
