"""Errors raised by lucia.

Every error carries a stable ``code`` that applications may match on; the
message is for humans and never contains a token, a secret hash or a password.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar, Literal

__all__ = [
    "DatabaseError",
    "DuplicateKeyError",
    "InvalidCredentialsError",
    "InvalidKeyError",
    "InvalidPasswordError",
    "InvalidTokenError",
    "KeyNotFoundError",
    "LastKeyError",
    "LuciaError",
    "OAuthError",
    "UserNotFoundError",
]


class LuciaError(Exception):
    """Base class of every error lucia raises on purpose.

    ``code`` is stable, ``default_message`` the message when none is given, and
    ``status`` the HTTP status an integration answers with (400 unless the
    error's class says otherwise).
    """

    code: ClassVar[str] = "AUTH_ERROR"
    default_message: ClassVar[str] = "authentication error"
    status: ClassVar[int] = 400

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
    status = 404


class InvalidKeyError(LuciaError, ValueError):
    """A new key's provider id or provider user id cannot be stored: not a str of 1
    to 255 characters, or holding a control character (NUL among them) or a lone
    surrogate. A ``ValueError`` too; the value itself is never part of the error.
    """

    code = "AUTH_INVALID_KEY"
    default_message = (
        "provider_id and provider_user_id must be 1 to 255 characters without control characters"
    )


class LastKeyError(LuciaError):
    """Unlinking these keys would leave the user no way to sign in; nothing was deleted (409)."""

    code = "AUTH_LAST_KEY"
    default_message = "this is the only way to sign in to the account; add another first"
    status = 409


class InvalidCredentialsError(LuciaError):
    """Sign-in failed. Deliberately the same for an unknown key and a wrong password."""

    code = "AUTH_INVALID_CREDENTIALS"
    default_message = "invalid credentials"
    status = 401


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


# ``scheme://user:password@host`` -> ``scheme://***@host``.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]*@")
# ``password=...`` (libpq conninfo, DSNs, query strings, "password: ..."),
# quoted or not; the names of other secrets too.
_SECRET_SETTING = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|auth)(\s*[=:]\s*)"
    r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,)]+)"
)
_SUMMARY_LIMIT = 300


def redact(text: str) -> str:
    """``text`` with the user info of URLs and the values of ``password=``-like
    settings replaced by ``***``: safe to log."""
    text = _URL_USERINFO.sub(r"\1***@", text)
    return _SECRET_SETTING.sub(r"\1\2***", text)


def _summarize(cause: BaseException) -> str:
    # The first line only: drivers put the offending row's values in later lines
    # (PostgreSQL's "DETAIL:  Failing row contains (...)").
    kind = type(cause)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    lines = str(cause).strip().splitlines()
    text = redact(lines[0].strip()) if lines else ""
    if len(text) > _SUMMARY_LIMIT:
        text = text[:_SUMMARY_LIMIT] + "..."
    return f"{name}: {text}" if text else name


class DatabaseError(LuciaError):
    """The database could not be reached or failed; the message names the cause, not the data.

    ``cause_summary`` is for the operator's log: the driver's error class and
    the first line of its message (``psycopg.errors.UndefinedTable: relation
    "auth_session" does not exist``), with URL credentials and ``password=``
    values redacted; without a driver error, the (redacted) message.
    """

    code = "AUTH_DATABASE_ERROR"
    default_message = "the authentication database is unavailable"
    status = 503

    def __init__(self, message: str | None = None, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause_summary = ""
        self._logged = False
        self.set_cause(cause)

    def set_cause(self, cause: BaseException | None) -> None:
        """Record the driver error behind this one (only its summary is kept)."""
        self.cause_summary = redact(self.message) if cause is None else _summarize(cause)

    def log(self, logger: logging.Logger) -> None:
        """Log this failure at ERROR with its code and ``cause_summary``; once per
        error, however many handlers it passes through (one per failing request)."""
        if self._logged:
            return
        self._logged = True
        message = redact(self.message)
        logger.error(
            "authentication database unavailable (%s): %s",
            self.code,
            message if message == self.cause_summary else f"{message}; cause: {self.cause_summary}",
            extra={"error_code": self.code, "error_cause": self.cause_summary},
        )


class OAuthError(LuciaError):
    """Base class of the errors of the OAuth 2.0 / OpenID Connect flow.

    ``status`` is 4xx when the request was bad (a forged state, a denied
    consent), 502 when the provider failed.
    """

    code = "AUTH_OAUTH_ERROR"
    default_message = "the OAuth sign-in failed"
