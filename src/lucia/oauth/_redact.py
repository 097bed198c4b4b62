"""Secrets in a request's URL are kept out of httpx's log line for that request.

httpx logs every request it sends at INFO on the ``httpx`` logger, as
``HTTP Request: GET <full URL> "HTTP/1.1 200 OK"``. Some providers take a secret
in the query of a request: Facebook documents ``appsecret_proof`` (an HMAC of the
access token under the app secret) as a parameter of every Graph API call, so
``GET /me`` and ``DELETE /me/permissions`` carry it in their URLs. The URL sent
must keep it; the logged one must not.

``redact_httpx_request_logs()`` attaches one filter to the ``httpx`` logger. It
rewrites only the URL argument of httpx's ``HTTP Request`` records, replacing the
value of each query (or fragment) parameter named in ``SECRET_PARAMETERS`` and
the password of a URL's user info with ``[redacted]``; every other record, and
every other part of that one, passes untouched. A filter on the logger runs
before any handler, whoever configured them and whenever (``dictConfig`` and
``fileConfig`` keep a logger's filters), so it also covers an app's own clients,
passed to lucia or not.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

__all__ = ["REDACTED", "SECRET_PARAMETERS", "redact_httpx_request_logs", "redact_url"]

REDACTED = "[redacted]"

#: Query parameter names (compared case-insensitively, after percent-decoding)
#: whose values are credentials: OAuth 2.0 and OpenID Connect tokens, codes and
#: client credentials, Facebook's ``appsecret_proof``, signatures of signed URLs.
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "appsecret_proof",
        "client_assertion",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "oauth_token",
        "password",
        "refresh_token",
        "sig",
        "signature",
        "token",
    }
)

# A name=value pair of the query or fragment: the text after a "?", "&" or "#".
_PAIR = re.compile(r"(?<=[?&#])([^=&#]*)=([^&#]*)")
# The password of "scheme://user:password@host".
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#@]+(?=@)")

_HTTPX = "httpx"
_REQUEST_LINE = "HTTP Request:"


def _pair(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if value and unquote_plus(name).lower() in SECRET_PARAMETERS:
        return f"{name}={REDACTED}"
    return match.group(0)


def redact_url(url: str) -> str:
    """``url`` with the values of its secret-named parameters and its user info's
    password replaced by ``[redacted]``; the rest as it was, byte for byte."""
    start = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    # The path may hold "&" and "=": only the query and fragment are pairs.
    head = _PASSWORD.sub(rf"\g<1>{REDACTED}", url[:start])
    return head + _PAIR.sub(_pair, url[start:])


class _RequestLineRedactor(logging.Filter):
    """Redacts the URL of httpx's ``HTTP Request`` records (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            record.name == _HTTPX
            and isinstance(record.msg, str)
            and record.msg.startswith(_REQUEST_LINE)
            and isinstance(args, tuple)
            and len(args) >= 2
        ):
            try:
                url = str(args[1])
            except Exception:  # a filter must never break the logging call
                return True
            redacted = redact_url(url)
            if redacted != url:
                record.args = (args[0], redacted, *args[2:])
        # Always True: the app's logs stay whole, a record is rewritten, never dropped.
        return True


_REDACTOR = _RequestLineRedactor()


def redact_httpx_request_logs() -> None:
    """Attach the redacting filter to the ``httpx`` logger; calling it again does
    nothing (``addFilter`` skips a filter already attached)."""
    logging.getLogger(_HTTPX).addFilter(_REDACTOR)
