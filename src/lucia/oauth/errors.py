"""Errors of the OAuth 2.0 / OpenID Connect sign-in.

Every one is an ``OAuthError`` (a ``LuciaError``) with a stable ``code`` and the
HTTP ``status`` an integration should answer with. No message holds a code, a
token, a client secret or a code verifier.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import ClassVar

from lucia.accounts import ReauthenticationRequiredError
from lucia.cookies import Cookie
from lucia.errors import OAuthError
from lucia.redirects import RESPONSE_HEADERS

__all__ = [
    "IdentityInUseError",
    "InvalidCallbackError",
    "InvalidStateError",
    "IssuerMismatchError",
    "LinkMismatchError",
    "LinkReauthenticationRequiredError",
    "OAuthError",
    "OAuthProviderError",
    "OAuthResponseError",
    "OAuthTransportError",
    "OAuthUnsupportedError",
    "ProviderDeniedError",
    "ProviderFailedError",
    "SignInError",
    "UnknownProviderError",
]

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")
_EXCERPT_LENGTH = 200


def safe_excerpt(text: str, limit: int = _EXCERPT_LENGTH) -> str:
    """``text`` cut to ``limit`` characters with control and non-ASCII runs replaced by ``?``.

    For putting a piece of an unexpected response into a message or a log line.
    """
    flat = _UNPRINTABLE.sub("?", text[: limit * 2])
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _provider_words(
    error: str, description: str | None, uri: str | None
) -> tuple[str, str | None, str | None]:
    """A provider's error code, description and URI (RFC 6749 §4.1.2.1, §5.2) cut and
    stripped of control characters (``safe_excerpt``), to keep on an error: still
    untrusted, not escaped."""
    return (
        safe_excerpt(error, 100),
        None if description is None else safe_excerpt(description, 500),
        None if uri is None else safe_excerpt(uri, 500),
    )


class OAuthProviderError(OAuthError):
    """The provider answered with an OAuth error (RFC 6749 §5.2 / §4.1.2.1).

    ``error`` is the provider's code (``invalid_grant``, ``access_denied``, ...);
    ``error_description`` and ``error_uri`` are its own words, untrusted: escape
    them before showing them.
    """

    code = "AUTH_OAUTH_PROVIDER_ERROR"
    default_message = "the provider refused the request"
    status: ClassVar[int] = 400

    def __init__(
        self,
        error: str,
        error_description: str | None = None,
        error_uri: str | None = None,
        *,
        http_status: int | None = None,
    ) -> None:
        self.error, self.error_description, self.error_uri = _provider_words(
            error, error_description, error_uri
        )
        self.http_status = http_status
        super().__init__(f"the provider answered {self.error!r}")

    def __repr__(self) -> str:
        return f"OAuthProviderError(error={self.error!r}, http_status={self.http_status!r})"


class OAuthResponseError(OAuthError):
    """The provider answered something that is not a valid response.

    ``http_status`` is the HTTP status and ``body`` a short, printable excerpt.
    """

    code = "AUTH_OAUTH_UNEXPECTED_RESPONSE"
    default_message = "the provider sent an unexpected response"
    status: ClassVar[int] = 502

    def __init__(self, reason: str, *, http_status: int | None = None, body: str = "") -> None:
        self.http_status = http_status
        self.body = safe_excerpt(body)
        status = f" (HTTP {http_status})" if http_status is not None else ""
        super().__init__(f"unexpected response from the provider{status}: {reason}")


class OAuthTransportError(OAuthError):
    """The provider could not be reached, or did not answer in time."""

    code = "AUTH_OAUTH_TRANSPORT_ERROR"
    default_message = "the provider could not be reached"
    status: ClassVar[int] = 502


class OAuthUnsupportedError(OAuthError, NotImplementedError):
    """The provider does not offer this operation (revocation without an endpoint, ...).

    Also a ``NotImplementedError``: asking for it is a mistake in the calling code.
    """

    code = "AUTH_OAUTH_UNSUPPORTED"
    default_message = "the provider does not support this operation"
    status: ClassVar[int] = 501


# The sign-in flow's errors (``lucia.oauth.flow.SignInFlow``): each carries the
# answer to give, so an integration renders any of them the same way.

# What may be quoted of a provider's error code in a message (the rest is "?").
_ERROR_CODE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class SignInError(OAuthError):
    """A failed sign-in: answer with ``status``, ``render_html()``, ``cookies``, ``headers``.

    ``cookies`` deletes the transaction cookie (set by the flow on every error it
    raises); ``public_message`` is fixed text, safe to show.
    """

    code = "AUTH_OAUTH_SIGN_IN_FAILED"
    default_message = "the sign-in failed"
    public_message: ClassVar[str] = "Signing in failed. Please try again."
    status: ClassVar[int] = 400

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.cookies: tuple[Cookie, ...] = ()
        self.headers: Mapping[str, str] = RESPONSE_HEADERS
        self.provider: str | None = None

    def render_html(self) -> str:
        """A minimal HTML page for the error; everything in it is escaped."""
        title = html.escape(self.public_message)
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{title}</title></head>\n<body><h1>{title}</h1>{self._details_html()}"
            '<p><a href="/">Back</a></p></body></html>\n'
        )

    def _details_html(self) -> str:
        return ""


class UnknownProviderError(SignInError):
    """No provider of that name is configured."""

    code = "AUTH_OAUTH_UNKNOWN_PROVIDER"
    default_message = "unknown sign-in provider"
    public_message = "This sign-in provider does not exist."
    status = 404


class InvalidStateError(SignInError):
    """The callback does not belong to a transaction this browser started.

    ``reason`` says which check failed: ``missing_cookie``, ``malformed_cookie``,
    ``expired``, ``wrong_provider``, ``missing_state``, ``state_mismatch`` or
    ``replayed``.
    """

    code = "AUTH_OAUTH_INVALID_STATE"
    default_message = "the sign-in request is invalid or expired"
    public_message = "This sign-in link is invalid or has expired. Please start again."

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid OAuth state: {reason}")
        self.reason = reason


class IssuerMismatchError(SignInError):
    """RFC 9207: the response's ``iss`` is not the issuer the transaction was started with,
    or is missing where the provider promises it."""

    code = "AUTH_OAUTH_ISSUER_MISMATCH"
    default_message = "the authorization response came from the wrong issuer"


class InvalidCallbackError(SignInError):
    """The callback's parameters are malformed (no code, a repeated parameter, ...)."""

    code = "AUTH_OAUTH_INVALID_CALLBACK"
    default_message = "the authorization response is malformed"


class ProviderDeniedError(SignInError):
    """The provider answered the authorization request with an error (RFC 6749 §4.1.2.1),
    typically ``access_denied`` when the user declined.

    ``error``, ``error_description`` and ``error_uri`` are the provider's words,
    untrusted (cut and stripped of control characters, but not escaped):
    ``render_html()`` escapes them; escape them yourself anywhere else.
    """

    code = "AUTH_OAUTH_PROVIDER_DENIED"
    default_message = "the provider refused the sign-in"
    public_message = "The sign-in was cancelled or refused by the provider."

    def __init__(
        self, error: str, error_description: str | None = None, error_uri: str | None = None
    ) -> None:
        self.error, self.error_description, self.error_uri = _provider_words(
            error, error_description, error_uri
        )
        # The message (logged, maybe shown by a careless page) holds only a
        # sanitised code; the provider's own text stays in the attributes.
        super().__init__(f"the provider answered {_ERROR_CODE_UNSAFE.sub('?', self.error)!r}")

    def _details_html(self) -> str:
        parts = [f"<p>The provider said: <code>{html.escape(self.error)}</code></p>"]
        if self.error_description:
            parts.append(f"<p>{html.escape(self.error_description)}</p>")
        return "".join(parts)


class LinkMismatchError(SignInError):
    """A link flow finished without the signed-in user that started it."""

    code = "AUTH_OAUTH_LINK_MISMATCH"
    default_message = "the account link was started by another user"
    public_message = "Sign in with the account you started linking from, then try again."
    status = 403


class LinkReauthenticationRequiredError(SignInError, ReauthenticationRequiredError):
    """A link flow reached the callback in a session that is no longer recent enough
    (or started from one that was not): linking needs a recent sign-in, at the
    start and again at the callback. Also an ``accounts.ReauthenticationRequiredError``."""

    code = "AUTH_OAUTH_REAUTHENTICATION_REQUIRED"
    default_message = "linking needs a recent sign-in"
    public_message = "Confirm it is you (sign in again), then start linking again."
    status = 403


class IdentityInUseError(SignInError):
    """The provider identity to link already belongs to another user."""

    code = "AUTH_OAUTH_IDENTITY_IN_USE"
    default_message = "this provider account is linked to another user"
    public_message = "This account is already linked to another user."
    status = 409


class ProviderFailedError(SignInError):
    """The code exchange or the user request failed: ``cause`` is the provider's
    ``OAuthError`` (``OAuthProviderError``, ``OAuthResponseError``, ``OAuthTransportError``
    or an id_token error), whose ``status`` this error takes (400 for a refused
    code, 502 when the provider failed)."""

    code = "AUTH_OAUTH_PROVIDER_FAILED"
    default_message = "the provider could not complete the sign-in"
    public_message = "The provider could not complete the sign-in. Please try again."

    def __init__(self, cause: OAuthError) -> None:
        super().__init__(f"the provider could not complete the sign-in: {cause.message}")
        self.cause = cause
        self.status = cause.status  # type: ignore[misc]  # per instance: the cause's
