"""The sign-in transaction: what ``SignInFlow.start`` hands to its callback through the
browser, in a cookie sealed with AES-256-GCM (``lucia.oauth._sealed``).

Sealed, the browser can neither read the PKCE verifier and nonce nor change a
byte (which provider, which user a link attaches the identity to, where to land
next) without the cookie being refused; ``from_json`` still checks every field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lucia.redirects import safe_next

__all__ = [
    "MAX_COOKIE_VALUE",
    "MAX_LINK_AGE",
    "MAX_TRANSACTION_AGE",
    "Transaction",
    "is_key_part",
]

MAX_TRANSACTION_AGE = 600
# A real transaction cookie is about 1 KiB, and browsers keep none over 4 KiB;
# anything larger is not ours and is refused before any decoding.
MAX_COOKIE_VALUE = 4096
_MAX_KEY_PART = 255
_TRANSACTION_VERSION = 2
# A link's re-authentication window: up to a day (the default is 10 minutes).
MAX_LINK_AGE = 86_400

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
# RFC 7636 §4.1 code_verifier: 43-128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_TRANSACTION_KEYS = frozenset({"v", "p", "s", "cv", "n", "i", "ir", "r", "l", "ls", "la", "e"})


@dataclass(frozen=True, slots=True)
class Transaction:
    """What ``start`` hands to ``callback`` through the browser, sealed.

    A link flow sets ``link_user_id``, ``link_session_id`` (the session that
    started it) and ``link_max_age`` (seconds of the re-authentication window)
    together; a sign-in sets none of them.
    """

    provider: str
    state: str = field(repr=False)
    code_verifier: str | None = field(repr=False)
    nonce: str | None = field(repr=False)
    issuer: str | None
    issuer_required: bool
    next: str
    link_user_id: str | None
    expires_at: int
    link_session_id: str | None = field(default=None, repr=False)
    link_max_age: int | None = None

    def to_json(self) -> bytes:
        data = {
            "v": _TRANSACTION_VERSION,
            "p": self.provider,
            "s": self.state,
            "cv": self.code_verifier,
            "n": self.nonce,
            "i": self.issuer,
            "ir": self.issuer_required,
            "r": self.next,
            "l": self.link_user_id,
            "ls": self.link_session_id,
            "la": self.link_max_age,
            "e": self.expires_at,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    @classmethod
    def from_json(cls, raw: bytes) -> Transaction | None:
        """The transaction in ``raw``, or None if it is not exactly one of ours.

        Only this server can have sealed it, so a failure here means a bug or a
        leaked key; every field is checked all the same.
        """
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.keys() != _TRANSACTION_KEYS:
            return None
        if data["v"] != _TRANSACTION_VERSION:
            return None
        provider, state, verifier, nonce = data["p"], data["s"], data["cv"], data["n"]
        issuer, required, next_ = data["i"], data["ir"], data["r"]
        link, link_session, link_age, expires = data["l"], data["ls"], data["la"], data["e"]
        link_valid = (link is None and link_session is None and link_age is None) or (
            is_key_part(link)
            and is_key_part(link_session)
            and type(link_age) is int
            and 0 < link_age <= MAX_LINK_AGE
        )
        valid = (
            is_key_part(provider)
            and isinstance(state, str)
            and 22 <= len(state) <= 128
            and _B64URL.fullmatch(state) is not None
            and (verifier is None or (isinstance(verifier, str) and _VERIFIER.fullmatch(verifier)))
            and (nonce is None or (isinstance(nonce, str) and 0 < len(nonce) <= 255))
            and (issuer is None or (isinstance(issuer, str) and 0 < len(issuer) <= 2048))
            and isinstance(required, bool)
            and isinstance(next_, str)
            and safe_next(next_, "") == next_
            and link_valid
            and type(expires) is int
        )
        if not valid:
            return None
        return cls(
            provider,
            state,
            verifier,
            nonce,
            issuer,
            required,
            next_,
            link,
            expires,
            link_session,
            link_age,
        )


def is_key_part(value: object) -> bool:
    """A non-empty string that fits a key's provider id or provider user id (255 characters)."""
    return isinstance(value, str) and 0 < len(value) <= _MAX_KEY_PART
