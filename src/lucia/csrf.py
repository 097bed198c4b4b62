"""CSRF protection by origin checking, after Lucia's ``verifyRequestOrigin``.

A browser attaches ``Origin`` to every cross-origin request and to same-origin
requests with an unsafe method, and modern browsers add ``Sec-Fetch-Site``.
Requiring a matching ``Origin`` on unsafe methods therefore stops cross-site
form posts and fetches without any token in the page. The parsing here is
strict and hand-written: ``urllib.parse`` silently repairs malformed URLs
(stripping whitespace and control characters), which is the wrong instinct for
a security check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple

__all__ = ["verify_request_origin"]

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS: Final[dict[str, int]] = {"http": 80, "https": 443}

# A registered name (ASCII only: browsers send IDNs as A-labels) or an IP literal.
_HOST: Final = r"(?P<host>[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])"
# No leading zeros: a browser never serialises a port that way.
_PORT: Final = r"(?::(?P<port>0|[1-9][0-9]{0,4}))?"
_ORIGIN: Final = re.compile(r"(?P<scheme>[A-Za-z]+)://" + _HOST + _PORT)
_HOST_AND_PORT: Final = re.compile(_HOST + _PORT)


class _Endpoint(NamedTuple):
    scheme: str | None  # None for a bare host, which matches either scheme
    host: str  # lower-cased
    port: int | None  # None when absent; for an origin, the effective port


def _parse_origin(value: str) -> _Endpoint | None:
    """Parse ``scheme://host[:port]`` (http or https only), filling in the default port."""
    match = _ORIGIN.fullmatch(value)
    if match is None:
        return None
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    port = _DEFAULT_PORTS[scheme] if match["port"] is None else int(match["port"])
    if port > 65535:
        return None
    return _Endpoint(scheme, match["host"].lower(), port)


def _parse_host(value: str) -> _Endpoint | None:
    """Parse ``host[:port]`` as found in ``Host`` or a bare allowed-origins entry."""
    match = _HOST_AND_PORT.fullmatch(value)
    if match is None:
        return None
    port = None if match["port"] is None else int(match["port"])
    if port is not None and port > 65535:
        return None
    return _Endpoint(None, match["host"].lower(), port)


@functools.lru_cache(maxsize=256)
def _parse_allowed(entry: str) -> _Endpoint | None:
    """Parse one configured entry; cached because the same few entries come with every request."""
    entry = entry.strip()
    return _parse_origin(entry) if "://" in entry else _parse_host(entry)


def _matches(origin: _Endpoint, allowed: _Endpoint) -> bool:
    """Tell whether a request's origin is the allowed origin or host, exactly."""
    if origin.host != allowed.host:
        return False
    if allowed.scheme is not None:
        return origin.scheme == allowed.scheme and origin.port == allowed.port
    if allowed.port is None:
        # A bare host without a port means that host on its scheme's default port.
        return origin.scheme is not None and origin.port == _DEFAULT_PORTS[origin.scheme]
    return origin.port == allowed.port


def _header(headers: Mapping[str, str], exact: tuple[str, str]) -> object | None:
    """Return a header's value, looking its name up case-insensitively.

    The usual spellings are tried first because case-insensitive mappings
    (Starlette, Django, Werkzeug) answer them directly; a plain dict with any
    other spelling falls through to the scan.
    """
    for name in exact:
        value = headers.get(name)
        if value is not None:
            return value
    wanted = exact[1]
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def _verify(
    method: str,
    headers: Mapping[str, str],
    allowed_origins: Iterable[str],
    trust_proxy: bool,
) -> bool:
    if not isinstance(method, str):
        return False
    if method.upper() in _SAFE_METHODS:
        return True

    fetch_site = _header(headers, ("Sec-Fetch-Site", "sec-fetch-site"))
    if fetch_site is not None and (
        not isinstance(fetch_site, str) or fetch_site.strip(" \t").lower() == "cross-site"
    ):
        return False

    raw_origin = _header(headers, ("Origin", "origin"))
    if not isinstance(raw_origin, str):
        return False
    raw_origin = raw_origin.strip(" \t")
    # Browsers send "null" for sandboxed frames, file: pages and some redirects,
    # none of which may act on the user's behalf.
    if raw_origin == "null":
        return False
    origin = _parse_origin(raw_origin)
    if origin is None:
        return False

    # A lone string would otherwise be iterated character by character, and the
    # one-letter "hosts" it yields could match an attacker's single-letter domain.
    entries = (allowed_origins,) if isinstance(allowed_origins, str) else tuple(allowed_origins)
    if entries:
        for entry in entries:
            if isinstance(entry, str):
                allowed = _parse_allowed(entry)
                if allowed is not None and _matches(origin, allowed):
                    return True
        return False

    raw_host: object | None = None
    if trust_proxy:
        # Only a proxy we trust may say which host the client asked for; from
        # anyone else this header is attacker-controlled.
        forwarded = _header(headers, ("X-Forwarded-Host", "x-forwarded-host"))
        if forwarded is not None:
            if not isinstance(forwarded, str):
                return False
            # The first value is the one the client sent to the outermost proxy.
            raw_host = forwarded.split(",", 1)[0]
    if raw_host is None:
        raw_host = _header(headers, ("Host", "host"))
    if not isinstance(raw_host, str):
        return False
    host = _parse_host(raw_host.strip(" \t"))
    return host is not None and _matches(origin, host)


def verify_request_origin(
    method: str,
    headers: Mapping[str, str],
    allowed_origins: Iterable[str] = (),
    *,
    trust_proxy: bool = False,
) -> bool:
    """Tell whether a request may proceed under the CSRF origin check; never raises.

    Safe methods (GET, HEAD, OPTIONS, TRACE) always pass. Any other method needs
    an ``Origin`` that is a well-formed http(s) origin, not ``null``, not marked
    ``Sec-Fetch-Site: cross-site``, and that matches an entry of
    ``allowed_origins`` exactly: a full origin (``https://example.com``) matches
    scheme, host and port; a bare host (``example.com``, ``localhost:8000``)
    matches host and port. With no entries, the request's ``Host`` is the one
    allowed host (``X-Forwarded-Host`` replaces it when ``trust_proxy`` is True).
    Header names are looked up case-insensitively in any mapping.
    """
    try:
        return _verify(method, headers, allowed_origins, trust_proxy)
    except Exception:
        # Fail closed: an odd headers object or entry must neither let the
        # request through nor turn it into a server error.
        return False
