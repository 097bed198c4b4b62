"""Errors of the OAuth 2.0 / OpenID Connect sign-in.

Every one is an ``OAuthError`` (a ``LuciaError``) with a stable ``code`` and the
HTTP ``status`` an integration should answer with. No message holds a code, a
token, a client secret or a code verifier.
"""

from __future__ import annotations

import re
from typing import ClassVar

from lucia.errors import OAuthError

__all__ = [
    "OAuthError",
    "OAuthProviderError",
    "OAuthResponseError",
    "OAuthTransportError",
    "OAuthUnsupportedError",
    "safe_excerpt",
]

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")
_EXCERPT_LENGTH = 200


def safe_excerpt(text: str, limit: int = _EXCERPT_LENGTH) -> str:
    """``text`` cut to ``limit`` characters with control and non-ASCII runs replaced by ``?``.

    For putting a piece of an unexpected response into a message or a log line.
    """
    flat = _UNPRINTABLE.sub("?", text[: limit * 2])
    return flat if len(flat) <= limit else flat[:limit] + "..."


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
        self.error = safe_excerpt(error, 100)
        self.error_description = (
            None if error_description is None else safe_excerpt(error_description, 500)
        )
        self.error_uri = None if error_uri is None else safe_excerpt(error_uri, 500)
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
