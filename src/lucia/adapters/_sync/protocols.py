# Generated from src/lucia/adapters/_async/protocols.py by scripts/generate_sync.py: do not edit.
"""The store contract as protocols, declared once (the sync protocols are generated
from this file into ``lucia/adapters/_sync/protocols.py``); ``lucia.adapters.base``
states the rules every adapter follows and is where both flavours are imported from.

What a store must implement is what lucia's features call:

- ``UserKeyAdapter`` (users and keys) and ``TokenAdapter`` (one-time tokens);
  ``UserAdapter`` is both, the store ``Lucia`` is given.
- ``SessionStore``, the session methods every store of sessions has, and one
  way to read a session: ``SessionAdapter`` (a store of sessions only, such as
  Redis) reads it alone with ``get_session``; ``Adapter`` (users, keys, tokens
  and sessions together, every SQL database) reads it with its user in one
  round trip with ``get_session_and_user``.
- Maintenance, optional (a store without it still serves every request):
  ``CreatesTables``, ``PurgesSessions``, ``PurgesTokens``. ``lucia migrate``,
  ``lucia sessions purge`` and ``Lucia.delete_expired_sessions`` /
  ``delete_expired_tokens`` need them, and say so when a store has none.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress

if TYPE_CHECKING:  # base imports this module: its names are for the annotations only
    from lucia.adapters.base import (
        ConsumedToken,
        KeyRecord,
        SessionRecord,
        TokenRecord,
        UserRecord,
    )

__all__ = [
    "Adapter",
    "CreatesTables",
    "PurgesSessions",
    "PurgesTokens",
    "SessionAdapter",
    "SessionStore",
    "TokenAdapter",
    "UserAdapter",
    "UserKeyAdapter",
]


@runtime_checkable
class UserKeyAdapter(Protocol):
    """Users and keys: what every feature needs."""

    def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None:
        """Store a user and its first key atomically; ``DuplicateKeyError`` when the key exists."""

    def get_user(self, user_id: str) -> UserRecord | None:
        """The user with this id, or None."""

    def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None:
        """The key (exact, case-sensitive match) and its user, in one round trip, or None."""

    def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> UserRecord | None:
        """Merge ``attributes`` into the user's (top-level keys replaced) atomically.

        Returns the updated user, or None when there is no such user.
        """

    def delete_user(self, user_id: str) -> None:
        """Delete the user with its keys (and its sessions, when this store keeps them)."""

    def insert_key(self, key: KeyRecord) -> None:
        """Store a key; ``DuplicateKeyError`` when it exists, ``UserNotFoundError`` without user."""

    def get_user_keys(self, user_id: str) -> list[KeyRecord]:
        """The user's keys, ordered by provider id then provider user id."""

    def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool:
        """Set (or clear) the key's password hash; False when there is no such key."""

    def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        """Delete the user's keys of ``provider_id`` (only the one of
        ``provider_user_id`` when given) unless none would be left.

        Atomic: one transaction under a lock on the user's row, so concurrent
        calls for one user run one after the other. Returns how many keys went
        (0 when the user, or no such user, has no such key: nothing changed),
        or None when refused because those are all of the user's keys (nothing
        deleted). Every key deletion lucia makes goes through here
        (``Lucia.delete_key`` and ``unlink_provider`` alike).
        """


@runtime_checkable
class TokenAdapter(Protocol):
    """One-time tokens (email verification, password reset): needed only by the
    features that send them."""

    def insert_token(self, token: TokenRecord) -> None:
        """Store a one-time token (``UserNotFoundError`` when its user does not exist)."""

    def consume_token(self, id_hash: bytes, purpose: str, now: datetime) -> ConsumedToken | None:
        """Delete the token with this hash and purpose; (user_id, expires_at, data) for
        the one caller whose delete removed it, None for everyone else.

        None too when the token expired (at or before ``now``; it is deleted all
        the same) and when it has another purpose (it is left as it is).
        """

    def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        """Delete the user's tokens of this purpose."""


@runtime_checkable
class UserAdapter(UserKeyAdapter, TokenAdapter, Protocol):
    """Users, keys and one-time tokens (what ``Lucia`` is given)."""


@runtime_checkable
class SessionStore(Protocol):
    """What every store of sessions does, whichever way it reads one."""

    def insert_session(self, session: SessionRecord) -> None:
        """Store a new session (``UserNotFoundError`` when the store can tell there is no user)."""

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        """The user's sessions, expired or not, oldest first."""

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        """Move the session's expiry; does nothing when the session no longer exists."""

    def delete_session(self, session_id: str) -> None:
        """Delete the session if it exists."""

    def delete_user_sessions(self, user_id: str) -> None:
        """Delete all of the user's sessions."""


@runtime_checkable
class SessionAdapter(SessionStore, Protocol):
    """A store of sessions only, combined with a ``UserAdapter`` (Redis)."""

    def get_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id, expired or not, or None."""


@runtime_checkable
class Adapter(UserAdapter, SessionStore, Protocol):
    """A store for users, keys, one-time tokens and sessions together (every SQL
    database)."""

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        """The session, expired or not, and its user in one round trip (a join), or None."""


@runtime_checkable
class CreatesTables(Protocol):
    """Maintenance (optional): a store that creates its own tables (``lucia migrate``)."""

    def create_tables(self) -> None:
        """Create the tables (or their equivalent) when missing; safe to call again."""


@runtime_checkable
class PurgesSessions(Protocol):
    """Maintenance (optional): a store that purges expired sessions itself (Redis,
    which expires them on its own too, and every SQL database)."""

    def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the sessions whose expiry is at or before ``now``, in batches of at
        most ``batch_size`` (``progress`` gets each one's count); how many went."""


@runtime_checkable
class PurgesTokens(Protocol):
    """Maintenance (optional): a store that purges expired one-time tokens."""

    def delete_expired_tokens(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the tokens whose expiry is at or before ``now``, in batches of at
        most ``batch_size`` (``progress`` gets each one's count); how many went."""
