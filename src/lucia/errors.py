"""Errors raised by lucia.

Every error carries a stable ``code`` that applications may match on; the
message is for humans and never contains a token, a secret hash or a password.
"""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "DatabaseError",
    "DuplicateKeyError",
    "InvalidCredentialsError",
    "InvalidPasswordError",
    "InvalidTokenError",
    "KeyNotFoundError",
    "LastKeyError",
    "LuciaError",
    "OAuthError",
    "UserNotFoundError",
]


class LuciaError(Exception):
    """Base class of every error lucia raises on purpose."""

    code: ClassVar[str] = "AUTH_ERROR"
    default_message: ClassVar[str] = "authentication error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class DuplicateKeyError(LuciaError):
    """A key with this provider id and provider user id already exists."""

    code = "AUTH_DUPLICATE_KEY_ID"
    default_message = "a key with this provider id and provider user id already exists"


class UserNotFoundError(LuciaError):
    """No user has this id."""

    code = "AUTH_INVALID_USER_ID"
    default_message = "no user has this id"


class KeyNotFoundError(LuciaError):
    """No key has this provider id and provider user id."""

    code = "AUTH_INVALID_KEY_ID"
    default_message = "no key has this provider id and provider user id"


class LastKeyError(LuciaError):
    """Unlinking these keys would leave the user no way to sign in; nothing was deleted.

    ``status`` is the HTTP status the integrations answer with (409 Conflict).
    """

    code = "AUTH_LAST_KEY"
    default_message = "this is the only way to sign in to the account; add another first"
    status: ClassVar[int] = 409


class InvalidCredentialsError(LuciaError):
    """Sign-in failed. Deliberately the same for an unknown key and a wrong password."""

    code = "AUTH_INVALID_CREDENTIALS"
    default_message = "invalid credentials"


PasswordProblem = Literal["too_short", "too_long", "too_common", "breached", "not_a_string"]


class InvalidPasswordError(LuciaError):
    """A new password was refused by the password policy.

    ``reason`` says why: ``too_short``, ``too_long``, ``too_common``, ``breached``
    or ``not_a_string``. The password itself is never part of the error.
    """

    code = "AUTH_INVALID_PASSWORD"
    default_message = "the password does not meet the password policy"

    def __init__(self, reason: PasswordProblem, message: str | None = None) -> None:
        self.reason: PasswordProblem = reason
        super().__init__(message)

    def __repr__(self) -> str:
        return f"InvalidPasswordError(code={self.code!r}, reason={self.reason!r})"


class InvalidTokenError(LuciaError):
    """A one-time token was refused.

    Deliberately the same error, message and code for a malformed, unknown,
    already used, expired or wrong-purpose token: the caller learns nothing
    about which tokens exist. The token itself is never part of the error.
    """

    code = "AUTH_INVALID_TOKEN"
    default_message = "the link or code is invalid or has expired"


class DatabaseError(LuciaError):
    """The database could not be reached or failed; the message names the cause, not the data."""

    code = "AUTH_DATABASE_ERROR"
    default_message = "the authentication database is unavailable"


class OAuthError(LuciaError):
    """Base class of the errors of the OAuth 2.0 / OpenID Connect flow.

    ``status`` is the HTTP status an integration answers with: 4xx when the
    request was bad (a forged state, a denied consent), 502 when the provider failed.
    """

    code = "AUTH_OAUTH_ERROR"
    default_message = "the OAuth sign-in failed"
    status: ClassVar[int] = 400
