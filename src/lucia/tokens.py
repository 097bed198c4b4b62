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

The plain functions take a ``Lucia`` and the a-prefixed ones, the same
operations as coroutines, an ``AsyncLucia``, as in ``lucia.accounts``: each is
written once, in ``lucia/_async/tokens.py``, and the sync functions are
generated from it (``lucia/_sync/tokens.py``).
"""

from __future__ import annotations

from lucia._accounts_base import (
    EMAIL_VERIFICATION_EXPIRES_IN,
    PASSWORD_RESET_EXPIRES_IN,
    SIGN_UP_EXPIRES_IN,
    PasswordReset,
    SignUpMail,
)
from lucia._async.tokens import (
    acomplete_sign_up,
    acreate_email_verification_token,
    acreate_password_reset_token,
    arequest_sign_up,
    areset_password,
    averify_email,
)
from lucia._sync.tokens import (
    complete_sign_up,
    create_email_verification_token,
    create_password_reset_token,
    request_sign_up,
    reset_password,
    verify_email,
)
from lucia.emails import EMAIL_VERIFICATION, PASSWORD_RESET, SIGN_UP

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
