"""Cookies: building ``Set-Cookie`` values and reading ``Cookie`` / ``Authorization`` headers.

Everything here is strict on purpose. A ``Cookie`` refuses any name, value or
attribute that could change the meaning of the header it ends up in, so no
caller can inject a second attribute or header through a cookie value. The
readers never raise: a malformed request header reads as "no cookie" or "no
token", which is what an attacker-controlled header deserves.

``http.cookies`` is not used: it quietly accepts input that RFC 6265 forbids
and raises ``CookieError`` on other input, and it treats names
case-insensitively in places, which would let ``__HOST-x`` pass for ``__Host-x``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "MAX_COOKIE_AGE",
    "Cookie",
    "CookieAttributes",
    "SameSite",
    "parse_cookie_header",
    "read_bearer_token",
    "read_cookie",
    "read_cookies",
]

MAX_COOKIE_AGE: int = 400 * 24 * 3600
"""RFC 6265bis caps a cookie's lifetime at 400 days; browsers shorten anything longer."""

SameSite = Literal["lax", "strict", "none"]

# Bounds the work an attacker can make us do with one header; real Cookie
# headers stay far below this (browsers cap them around 8-16 KiB).
_MAX_COOKIE_HEADER_LENGTH: Final = 64 * 1024

# RFC 9110 tchar. Explicit ASCII ranges: the classes must not match non-ASCII letters.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon, backslash.
_COOKIE_OCTETS: Final = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
# RFC 6265 path-value: any CHAR except CTLs or ";". It must also start with "/",
# since browsers silently replace any other path with the request's directory.
_PATH: Final = re.compile(r"/[\x20-\x3a\x3c-\x7e]*")
# A host name (optionally with the legacy leading dot); IDNs must come as A-labels.
_DOMAIN: Final = re.compile(r"\.?[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")
# RFC 6750 b64token / RFC 7235 token68.
_BEARER: Final = re.compile(r"([A-Za-z]+) +([A-Za-z0-9\-._~+/]+=*)")

_SAME_SITE_NAMES: Final[dict[str, str]] = {"lax": "Lax", "strict": "Strict", "none": "None"}


@dataclass(frozen=True, slots=True)
class CookieAttributes:
    """The attributes of a ``Set-Cookie`` header. The defaults suit a session cookie.

    ``max_age=None`` makes a browser-session cookie (no ``Max-Age``). Construction
    raises ``ValueError`` for attributes that are unsafe or that a browser would
    silently reject or reinterpret.
    """

    path: str = "/"
    domain: str | None = None
    max_age: int | None = None
    secure: bool = True
    http_only: bool = True
    same_site: SameSite = "lax"

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or _PATH.fullmatch(self.path) is None:
            raise ValueError(
                "cookie path must start with '/' and hold only printable ASCII without ';'"
            )
        if self.domain is not None and (
            not isinstance(self.domain, str) or _DOMAIN.fullmatch(self.domain) is None
        ):
            raise ValueError("cookie domain must be an ASCII host name")
        if self.max_age is not None and (
            not isinstance(self.max_age, int) or isinstance(self.max_age, bool)
        ):
            raise TypeError("cookie max_age must be an int (seconds) or None")
        if self.same_site not in _SAME_SITE_NAMES:
            raise ValueError("cookie same_site must be 'lax', 'strict' or 'none'")
        if self.same_site == "none" and not self.secure:
            # Browsers drop SameSite=None cookies that are not Secure.
            raise ValueError("a SameSite=None cookie must be Secure")


@dataclass(frozen=True, slots=True, repr=False)
class Cookie:
    """A cookie to send with ``Set-Cookie``; ``str(cookie)`` is the header value.

    Construction raises ``ValueError`` when the name is not an RFC 6265 token, the
    value holds a character outside cookie-octet, or the name's ``__Host-`` /
    ``__Secure-`` prefix rules are broken. Validating here rather than only in
    ``serialize()`` also protects integrations that hand ``name`` and ``value`` to a
    framework's own ``set_cookie``. Error messages never include the value.
    """

    name: str
    value: str
    attributes: CookieAttributes = CookieAttributes()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not isinstance(self.value, str):
            raise TypeError("cookie name and value must be str")
        if not isinstance(self.attributes, CookieAttributes):
            raise TypeError("cookie attributes must be a CookieAttributes")
        if _TOKEN.fullmatch(self.name) is None:
            raise ValueError("cookie name is not an RFC 6265 token")
        if _COOKIE_OCTETS.fullmatch(self.value) is None:
            raise ValueError("cookie value holds a character outside RFC 6265 cookie-octet")
        # Browsers match the prefixes case-insensitively when storing (RFC 6265bis
        # §5.7), so "__HOST-x" must meet the rules too or it would be dropped.
        folded = self.name.lower()
        attrs = self.attributes
        if folded.startswith("__host-"):
            if not attrs.secure or attrs.domain is not None or attrs.path != "/":
                raise ValueError(
                    f"cookie {self.name!r} needs Secure, Path=/ and no Domain (__Host- prefix)"
                )
        elif folded.startswith("__secure-") and not attrs.secure:
            raise ValueError(f"cookie {self.name!r} needs Secure (__Secure- prefix)")

    def serialize(self) -> str:
        """Return the ``Set-Cookie`` header value; ``Max-Age`` is clamped to 0..400 days."""
        attrs = self.attributes
        parts = [f"{self.name}={self.value}"]
        if attrs.max_age is not None:
            parts.append(f"Max-Age={min(max(attrs.max_age, 0), MAX_COOKIE_AGE)}")
        parts.append(f"Path={attrs.path}")
        if attrs.domain is not None:
            parts.append(f"Domain={attrs.domain}")
        if attrs.http_only:
            parts.append("HttpOnly")
        if attrs.secure:
            parts.append("Secure")
        parts.append(f"SameSite={_SAME_SITE_NAMES[attrs.same_site]}")
        return "; ".join(parts)

    def __str__(self) -> str:
        """Same as ``serialize()``."""
        return self.serialize()

    def __repr__(self) -> str:
        """Show everything but the value, which is usually a session token."""
        return f"Cookie(name={self.name!r}, value=<masked>, attributes={self.attributes!r})"


def _cookie_value(raw: str) -> str | None:
    """A pair's value without its optional quotes, or None when it is not cookie-octets."""
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        raw = raw[1:-1]
    return raw if _COOKIE_OCTETS.fullmatch(raw) is not None else None


def _raw_pairs(header: object) -> list[str]:
    if not isinstance(header, str) or len(header) > _MAX_COOKIE_HEADER_LENGTH:
        return []
    return header.split(";")


def _iter_cookie_pairs(header: object) -> Iterator[tuple[str, str]]:
    """Yield the well-formed ``(name, value)`` pairs of a Cookie header, in order."""
    for raw_pair in _raw_pairs(header):
        name, sep, raw_value = raw_pair.strip(" \t").partition("=")
        if not sep or _TOKEN.fullmatch(name) is None:
            continue
        value = _cookie_value(raw_value)
        if value is not None:
            yield name, value


def parse_cookie_header(header: str | None) -> dict[str, str]:
    """Parse a request ``Cookie`` header into ``{name: value}``; never raises.

    Malformed pairs are skipped, names are case-sensitive, and the first
    occurrence of a name wins, because browsers send the cookie with the most
    specific path first. Non-str input and headers over 64 KiB give ``{}``.
    """
    cookies: dict[str, str] = {}
    for name, value in _iter_cookie_pairs(header):
        cookies.setdefault(name, value)
    return cookies


def _named_values(header: str, name: str) -> Iterator[str | None]:
    """Each value of cookie ``name`` in ``header``, in order: the value, or None for a
    malformed one. The walk ``read_cookie`` and ``read_cookies`` share.

    Besides RFC 6265's ``"; "``, a comma may separate pairs, as when a server
    joins HTTP/2's several Cookie fields with ``,`` (Django under ASGI, before
    its ticket 36399). Only where that cannot be misread: a comma right after a
    ``;`` (or at the header's start) starts a pair, and a comma ends a value of
    ``name`` (which holds no comma: lucia's values are tokens) and starts the
    next pair. A comma inside another cookie's value (``x=1,name=v``) does not
    count: a browser keeps whatever ``document.cookie`` wrote there, so whoever
    writes that value would choose the session.
    """
    for piece in header.split(";"):
        for crumb in piece.split(","):
            pair_name, sep, raw_value = crumb.strip(" \t").partition("=")
            if not (pair_name or sep):
                continue  # a blank before a comma: the comma starts a pair
            if pair_name != name or not sep:
                break  # another cookie's value may hold commas: not a separator there
            yield _cookie_value(raw_value)


def read_cookie(header: str | None, name: str) -> str | None:
    """Return the value of cookie ``name`` from a ``Cookie`` header, or None if absent or empty.

    The first well-formed occurrence wins, even when empty (a cleared cookie).
    """
    if not isinstance(header, str) or len(header) > _MAX_COOKIE_HEADER_LENGTH:
        return None
    # Every request runs this: a header without the name costs one search.
    if name + "=" not in header:
        return None
    value = next((v for v in _named_values(header, name) if v is not None), None)
    return value or None


def read_cookies(header: str | None, name: str, limit: int) -> list[str]:
    """The distinct non-empty values of cookie ``name`` in a ``Cookie`` header, in the
    order sent, at most ``limit`` of them; never raises.

    A browser sends several cookies of one name when they differ in Domain or
    Path, as when a sibling subdomain "tosses" its own cookie next to the real
    one, so a reader that kept only the first would let the tossed one decide.
    Pairs may be separated by commas too, where unambiguous (see ``_named_values``).
    """
    if not isinstance(header, str) or len(header) > _MAX_COOKIE_HEADER_LENGTH:
        return []
    # Every request runs this, and nearly every one holds the name once: then
    # one C-level split finds it, with no walk over the header's other pairs.
    # An occurrence that starts a pair (after ";", commas and blanks that follow
    # one, or the header's start) is the cookie; one that does not ("xname=",
    # "x=1,name=", inside a value) means no cookie of the name, since each such
    # pair would be an occurrence too.
    parts = header.split(name + "=")
    if len(parts) == 2:
        if parts[0].rpartition(";")[2].strip(" \t,"):
            return []
        value = _cookie_value(parts[1].partition(";")[0].partition(",")[0].rstrip(" \t"))
        return [value] if value else []
    if len(parts) < 2:
        return []
    values: list[str] = []
    for value in _named_values(header, name):
        if value and value not in values:
            values.append(value)
            if len(values) >= limit:
                break
    return values


def read_bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token68>`` header, or None; never raises.

    The scheme is case-insensitive; anything but exactly one token68 after it gives None.
    """
    if not isinstance(authorization, str):
        return None
    # Servers normally trim OWS from field values already; trim again for those that don't.
    match = _BEARER.fullmatch(authorization.strip(" \t"))
    if match is None or match.group(1).lower() != "bearer":
        return None
    return match.group(2)
