"""Where a response may send the browser, and the headers of a redirect that carries secrets.

``safe_next`` keeps a ``next`` target only if it stays on this site;
``RESPONSE_HEADERS`` go on login, callback and form-post redirects. Plain
standard library: password-only apps use these without the OAuth extra
(httpx, joserfc).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast
from urllib.parse import unquote

__all__ = ["RESPONSE_HEADERS", "safe_next"]

RESPONSE_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
"""Headers for the login and callback responses: never cached, and the callback
URL (which holds the code and state) never leaks through ``Referer``."""

_MAX_NEXT_LENGTH = 2048


def safe_next(value: object, default: str = "/") -> str:
    """``value`` if it is a same-origin relative path, else ``default`` (else "/").

    Accepted: printable ASCII without spaces, starting with exactly one "/",
    without backslash; percent-decoded (up to three rounds) it must still start
    with one "/" and hold no backslash or control character, so ``/%2F/evil.com``
    and ``/%09/evil.com`` are refused too. Refused: schemes (``https:``,
    ``javascript:``), scheme-relative ``//host`` and ``/\\host``, control
    characters and whitespace (browsers strip tabs and newlines, turning
    ``/<tab>/evil.com`` into ``//evil.com``), "//" anywhere in the path (``/..//evil.com``
    normalises to ``//evil.com``), and anything over 2048 characters.
    The result always starts with a single "/" followed by neither "/" nor "\\".
    """
    if _is_safe_path(value):
        return cast(str, value)
    return default if _is_safe_path(default) else "/"


def _is_safe_path(value: object) -> bool:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_NEXT_LENGTH:
        return False
    # As sent: printable ASCII only, so no control character, space or Unicode
    # look-alike reaches a Location header.
    if not all("\x21" <= char <= "\x7e" for char in value):
        return False
    candidate = value
    for _ in range(4):
        if not _is_plain_path(candidate):
            return False
        try:
            decoded = unquote(candidate, errors="strict")
        except UnicodeDecodeError:
            return False
        if decoded == candidate:
            return True
        candidate = decoded
    # Still changing after three decodings: nobody needs that, refuse it.
    return False


def _is_plain_path(value: str) -> bool:
    """One "/" first, no backslash, no control character: also checked after decoding,
    for servers and frameworks that decode a redirect target before using it."""
    if not value.startswith("/") or value[1:2] == "/" or "\\" in value:
        return False
    # "//" anywhere in the path: dot-segment removal (RFC 3986) turns "/..//evil.com"
    # into "//evil.com", which an app or proxy redirecting to a cleaned path would
    # send as a scheme-relative Location.
    if "//" in re.split(r"[?#]", value, maxsplit=1)[0]:
        return False
    return not any(char < "\x20" or "\x7f" <= char <= "\x9f" for char in value)
