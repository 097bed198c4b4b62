"""Session tokens and expiry rules: pure functions, no I/O.

A token is ``<id>.<secret>``. The id (120 random bits) is the database key and
may be shown to the user (for example in a list of their sessions); the secret
(256 random bits) is known only to the client. The database keeps SHA-256 of
the secret, so a leaked row cannot sign anyone in, and the comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "DEFAULT_ABSOLUTE_LIFETIME",
    "SessionPolicy",
    "create_token",
    "generate_session_id",
    "generate_session_secret",
    "hash_secret",
    "parse_token",
    "utc_now",
    "verify_secret",
]

SESSION_ID_BYTES = 15  # 120 bits; 20 base64url characters
SESSION_SECRET_BYTES = 32  # 256 bits; 43 base64url characters
_ID_LENGTH = 20
_SECRET_LENGTH = 43
_TOKEN_LENGTH = _ID_LENGTH + 1 + _SECRET_LENGTH


DEFAULT_ABSOLUTE_LIFETIME = timedelta(days=90)
"""How long a session may live at most, however active (``session_absolute_lifetime``).

Three times the default idle limit (30 days): a token stolen and used every
day still dies, and a user signs in again at least once a quarter. ASVS v5
7.3.2 leaves the figure to the application's risk; NIST SP 800-63B asks for
re-authentication every 30 days at AAL1 and every 12-24 hours at AAL2, so
apps guarding more than a "remember me" login set it shorter.
"""


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def generate_session_id() -> str:
    """A new session id: 120 bits from the OS CSPRNG, base64url."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def generate_session_secret() -> str:
    """A new session secret: 256 bits from the OS CSPRNG, base64url."""
    return secrets.token_urlsafe(SESSION_SECRET_BYTES)


def create_token(session_id: str, secret: str) -> str:
    """Join an id and a secret into the token the client keeps."""
    return f"{session_id}.{secret}"


def parse_token(token: object) -> tuple[str, str] | None:
    """Split a token into (id, secret), or None when it does not have a token's shape.

    Only the shape is checked (length, the dot, ASCII, an id without control
    characters): the id is a bound query parameter and the secret is hashed, so
    no other character can do harm, and this runs on every request.
    """
    if (
        type(token) is not str
        or len(token) != _TOKEN_LENGTH
        or token[_ID_LENGTH] != "."
        or not token.isascii()
    ):
        return None
    session_id = token[:_ID_LENGTH]
    # The id is what a store sees: no control character (NUL above all: PostgreSQL
    # refuses it in text, and that error would be a 503, not "no session"). The
    # secret is only hashed, and checking the id alone costs a third as much.
    if not session_id.isprintable():
        return None
    return session_id, token[_ID_LENGTH + 1 :]


def hash_secret(secret: str) -> bytes:
    """SHA-256 of a session secret: what the database stores."""
    return hashlib.sha256(secret.encode("ascii")).digest()


def verify_secret(secret: str, secret_hash: bytes) -> bool:
    """Whether ``secret`` hashes to ``secret_hash``, compared in constant time."""
    return hmac.compare_digest(hashlib.sha256(secret.encode("ascii")).digest(), secret_hash)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """When sessions expire and when validation renews them.

    A session expires ``expires_in`` after its creation or last renewal. When
    less than half of that is left, validation extends it (sliding expiry).
    ``absolute_lifetime`` caps every session at that long after its creation,
    however active it is (``None``: no cap, which lets a session in use live
    forever).
    """

    expires_in: timedelta = timedelta(days=30)
    absolute_lifetime: timedelta | None = DEFAULT_ABSOLUTE_LIFETIME

    renew_below: timedelta = field(init=False, repr=False, compare=False)
    """Validation renews a session when less than this is left: half of ``expires_in``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "renew_below", self.expires_in / 2)
        if self.expires_in <= timedelta(0):
            raise ValueError("session_expires_in must be positive")
        if self.absolute_lifetime is not None and self.absolute_lifetime <= timedelta(0):
            raise ValueError("session_absolute_lifetime must be positive")

    def new_expiry(self, now: datetime) -> datetime:
        """The expiry of a session created at ``now``."""
        expires_at = now + self.expires_in
        if self.absolute_lifetime is not None:
            expires_at = min(expires_at, now + self.absolute_lifetime)
        return _whole_seconds(expires_at)

    def renewed_expiry(
        self, expires_at: datetime, created_at: datetime, now: datetime
    ) -> datetime | None:
        """The extended expiry when the session is due for renewal at ``now``, else None.

        Never beyond the absolute lifetime, and never for an expired session.
        """
        if now >= expires_at or expires_at - now >= self.renew_below:
            return None
        renewed = now + self.expires_in
        if self.absolute_lifetime is not None:
            renewed = min(renewed, created_at + self.absolute_lifetime)
        renewed = _whole_seconds(renewed)
        return renewed if renewed > expires_at else None

    def deadline(self, expires_at: datetime, created_at: datetime) -> datetime:
        """When a session with this expiry and creation time ends: the earlier of
        its expiry and its absolute end."""
        if self.absolute_lifetime is None:
            return expires_at
        return min(expires_at, created_at + self.absolute_lifetime)


def _whole_seconds(moment: datetime) -> datetime:
    # Stores keep whole seconds; rounding here keeps the object and the row equal.
    return moment.replace(microsecond=0)
