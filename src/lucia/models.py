"""The objects lucia hands to applications: users, sessions and keys.

None of their ``repr()``s shows a token or a hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lucia._json import decode_json

__all__ = ["Key", "Session", "Token", "User"]

# ``cls.__new__`` looked up on the class costs every user read from a store a
# type attribute lookup; this is the same function, found once.
_new_object = object.__new__


class User:
    """A user: an id and the application's attributes (a JSON object).

    A user read from a store decodes its attributes on first access, so a
    request that only needs ``user.id`` never pays for JSON it does not read.
    """

    __slots__ = ("_attributes", "_json", "id")

    def __init__(self, id: str, attributes: dict[str, Any] | None = None) -> None:
        self.id = id
        self._attributes: dict[str, Any] | None = {} if attributes is None else attributes
        self._json: Any = None

    @classmethod
    def from_json(cls, id: str, attributes_json: Any) -> User:
        """A user whose attributes are still JSON (text, bytes or a decoded dict)."""
        user = _new_object(cls)
        user.id = id
        user._attributes = None
        user._json = attributes_json
        return user

    @property
    def attributes(self) -> dict[str, Any]:
        if self._attributes is None:
            self._attributes = decode_json(self._json)
            self._json = None
        return self._attributes

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        self._attributes = value
        self._json = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return self.id == other.id and self.attributes == other.attributes

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, attributes={self.attributes!r})"


@dataclass(slots=True)
class Session:
    """A server-side session.

    ``token`` (the secret the client keeps) is set only on the object returned by
    ``create_session`` and on a session ``validate_session`` just renewed
    (``fresh``); it is never shown by ``repr()``.
    """

    id: str
    user_id: str
    expires_at: datetime
    created_at: datetime
    fresh: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    token: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Key:
    """One way to sign in: a provider and the user's id there, optionally with a password."""

    provider_id: str
    provider_user_id: str
    user_id: str
    has_password: bool = False


@dataclass(frozen=True, slots=True)
class Token:
    """A one-time token that was just consumed: whose it was, what for, and its data.

    It holds no secret (the token string was the secret, and it is spent), so
    its ``repr()`` may show every field.
    """

    user_id: str
    purpose: str
    expires_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
