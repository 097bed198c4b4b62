"""The adapter interface: what a database must do for lucia.

An adapter stores users, keys and sessions. ``Lucia`` calls a sync adapter,
``AsyncLucia`` an async one with the same methods as coroutines. A store that
keeps only sessions (Redis) implements ``SessionAdapter`` and is combined with
any ``UserAdapter``: ``Lucia(user_adapter, session_adapter=redis_adapter)``.

The rules every adapter follows (the conformance suite in
``tests/conformance`` checks them all):

- ``insert_user`` writes a user and its first key atomically: when the key
  exists it raises ``DuplicateKeyError`` and nothing is left behind. The
  uniqueness of (provider_id, provider_user_id) is enforced by the store itself
  (a primary key or unique index), never by a read-then-write in Python, so
  concurrent sign-ins of one new identity make exactly one user.
- Key lookups are exact and case-sensitive.
- ``get_session_and_user`` fetches a session with its user in one round trip.
- Writes on a session that no longer exists change nothing (in particular
  ``update_session_expiry`` never resurrects a deleted session).
- Deleting a user deletes its keys, its one-time tokens and (for a combined
  adapter) its sessions.
- ``delete_provider_keys`` never leaves a user without a key: it counts the
  user's keys and deletes in one transaction under a lock on the user's row
  (SQLite: its write lock), so of two concurrent unlinks of a user's last two
  providers exactly one succeeds.
- A one-time token is stored only as the SHA-256 of its value (``id_hash``).
  ``consume_token`` is atomic single use: it reads the row, deletes it, and
  only the caller whose DELETE removed the row gets it back, so of two
  concurrent consumers exactly one wins (portable: MySQL has no
  ``DELETE ... RETURNING``). An expired token is deleted and refused; a token
  asked for with another purpose is refused and left alone.
- Purges (``delete_expired_sessions``, ``delete_expired_tokens``) delete in
  batches of at most ``batch_size`` (default ``PURGE_BATCH_SIZE``), each
  committed on its own (or, without transactions, each under the lock once),
  and call ``progress`` with each batch's count: a purge of millions of rows
  never holds the lock writers need for longer than one batch.
- Failures of the store itself surface as ``lucia.errors.DatabaseError``
  naming the cause, never with row contents in the message.
- Every adapter closes the same way: a sync one is a context manager with
  ``close()`` (``Closing``); an async one an async context manager with
  ``aclose()``, and ``close()`` for sync code (``AsyncClosing``).

The protocols group the methods by feature: ``UserKeyAdapter`` (users and keys,
needed by everything), ``SessionAdapter`` (sessions), ``TokenAdapter`` (one-time
tokens, needed only for email verification and password resets);
``UserAdapter`` is users, keys and tokens, ``Adapter`` all of them plus the
session-and-user join.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, Self, runtime_checkable

from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress
from lucia.models import Session, User

__all__ = [
    "PURGE_BATCH_SIZE",
    "Adapter",
    "AsyncAdapter",
    "AsyncClosing",
    "AsyncSessionAdapter",
    "AsyncTokenAdapter",
    "AsyncUserAdapter",
    "AsyncUserKeyAdapter",
    "Closing",
    "ConsumedToken",
    "KeyRecord",
    "PurgeProgress",
    "SessionAdapter",
    "SessionRecord",
    "TokenAdapter",
    "TokenRecord",
    "UserAdapter",
    "UserKeyAdapter",
    "UserRecord",
]


# A user row is exactly what applications get; stores build ``User`` directly
# (``User.from_json`` when the attributes are still JSON text).
UserRecord = User


@dataclass(slots=True)
class KeyRecord:
    """A row of the key table. ``hashed_password`` is never shown by ``repr()``."""

    provider_id: str
    provider_user_id: str
    user_id: str
    hashed_password: str | None = field(default=None, repr=False)


@dataclass(slots=True)
class SessionRecord(Session):
    """A session as stored: a ``Session`` plus the SHA-256 of its secret.

    Stores return these and lucia hands them on as the ``Session`` itself (one
    object per validation, not two). ``secret_hash`` is never shown by ``repr()``
    and is useless to an attacker: it cannot be turned back into the secret.
    It may be passed by keyword or (stores' hot path, where a keyword argument
    measurably costs more) as the eighth positional argument, after ``token``.
    """

    secret_hash: bytes = field(default=b"", repr=False, compare=False)
    # Set by ``from_epochs`` (stores that keep times as epoch seconds): the
    # stored expiry and creation, from which ``expires_at`` and ``created_at``
    # are made only when first read. None otherwise, and once a datetime is
    # assigned.
    expires_epoch: float | None = field(default=None, init=False, repr=False, compare=False)
    created_epoch: float | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_epochs(
        cls,
        id: str,
        user_id: str,
        expires_epoch: float,
        created_epoch: float,
        attributes: dict[str, Any],
        secret_hash: bytes,
    ) -> SessionRecord:
        """A record read from a store that keeps its times as epoch seconds.

        ``expires_at`` and ``created_at`` are made (aware, UTC) only when read:
        validation compares the epochs themselves, and most requests never read
        the datetimes. The record is otherwise the one the constructor makes
        (equal to it, the same ``repr()``), not fresh and without a token.
        """
        record = _new_record(_EpochSessionRecord)
        record.id = id
        record.user_id = user_id
        record.fresh = False
        record.attributes = attributes
        record.token = None
        record.secret_hash = secret_hash
        record.expires_epoch = expires_epoch
        record.created_epoch = created_epoch
        return record


_new_record = object.__new__
_EXPIRES_SLOT: Any = Session.__dict__["expires_at"]
_CREATED_SLOT: Any = Session.__dict__["created_at"]
_get_expires, _set_expires = _EXPIRES_SLOT.__get__, _EXPIRES_SLOT.__set__
_get_created, _set_created = _CREATED_SLOT.__get__, _CREATED_SLOT.__set__


class _EpochSessionRecord(SessionRecord):
    """What ``SessionRecord.from_epochs`` makes: its datetimes are properties over
    ``Session``'s slots, made from the epochs when first read.

    A subclass, so records built by the constructor keep plain slot access (a
    property on ``SessionRecord`` itself cost every record ~0.4 µs to build and
    ~0.2 µs a read). It shows, compares and pickles as a ``SessionRecord``.
    """

    __slots__ = ()
    __qualname__ = "SessionRecord"  # what repr() shows

    @property
    def expires_at(self) -> datetime:
        try:
            return _get_expires(self, Session)  # type: ignore[no-any-return]
        except AttributeError:
            pass
        moment = datetime.fromtimestamp(self.expires_epoch, UTC)  # type: ignore[arg-type]
        _set_expires(self, moment)
        return moment

    @expires_at.setter
    def expires_at(self, moment: datetime) -> None:
        _set_expires(self, moment)
        self.expires_epoch = None  # the datetime is what counts now

    @property
    def created_at(self) -> datetime:
        try:
            return _get_created(self, Session)  # type: ignore[no-any-return]
        except AttributeError:
            pass
        moment = datetime.fromtimestamp(self.created_epoch, UTC)  # type: ignore[arg-type]
        _set_created(self, moment)
        return moment

    @created_at.setter
    def created_at(self, moment: datetime) -> None:
        _set_created(self, moment)
        self.created_epoch = None

    def _compared(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.user_id,
            self.expires_at,
            self.created_at,
            self.fresh,
            self.attributes,
        )

    def __eq__(self, other: object) -> bool:
        # Preferred by Python over SessionRecord's (a subclass's reflected
        # method goes first), so a record equals one the constructor made.
        if type(other) is SessionRecord or type(other) is _EpochSessionRecord:
            return self._compared() == _EpochSessionRecord._compared(other)  # type: ignore[arg-type]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like SessionRecord

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled and copied as the plain record (the name shown is not this class's).
        return (
            SessionRecord,
            (
                self.id,
                self.user_id,
                self.expires_at,
                self.created_at,
                self.fresh,
                self.attributes,
                self.token,
                self.secret_hash,
            ),
        )


@dataclass(slots=True)
class TokenRecord:
    """A row of the one-time token table.

    ``id_hash`` is the SHA-256 of the token the user was sent; the token itself
    is never stored. ``data`` is a JSON object the token carries (for example
    the address an email verification was sent to).
    """

    id_hash: bytes = field(repr=False)
    user_id: str
    purpose: str
    expires_at: datetime
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


# What ``consume_token`` hands back for the winner: (user_id, expires_at, data).
ConsumedToken = tuple[str, datetime, dict[str, Any]]


@runtime_checkable
class UserKeyAdapter(Protocol):
    """Users and keys, synchronously: what every feature needs."""

    def create_tables(self) -> None:
        """Create the tables (or their equivalent) when missing; safe to call again."""

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

    def delete_key(self, provider_id: str, provider_user_id: str) -> bool:
        """Delete the key; False when there was none."""

    def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None:
        """Delete the user's keys of ``provider_id`` (only the one of
        ``provider_user_id`` when given) unless none would be left.

        Atomic: one transaction under a lock on the user's row, so concurrent
        calls for one user run one after the other. Returns how many keys went
        (0 when the user, or no such user, has no such key: nothing changed),
        or None when refused because those are all of the user's keys (nothing
        deleted).
        """


@runtime_checkable
class TokenAdapter(Protocol):
    """One-time tokens (email verification, password reset), synchronously: needed
    only by the features that send them."""

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

    def delete_expired_tokens(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the tokens whose expiry is at or before ``now``, in batches of at
        most ``batch_size`` (``progress`` gets each one's count); how many went."""


@runtime_checkable
class UserAdapter(UserKeyAdapter, TokenAdapter, Protocol):
    """Users, keys and one-time tokens, synchronously (what ``Lucia`` is given)."""


@runtime_checkable
class SessionAdapter(Protocol):
    """Sessions, synchronously."""

    def create_tables(self) -> None:
        """Create the tables (or their equivalent) when missing; safe to call again."""

    def insert_session(self, session: SessionRecord) -> None:
        """Store a new session (``UserNotFoundError`` when the store can tell there is no user)."""

    def get_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id, expired or not, or None."""

    def get_user_sessions(self, user_id: str) -> list[SessionRecord]:
        """The user's sessions, expired or not, oldest first."""

    def update_session_expiry(self, session_id: str, expires_at: datetime) -> None:
        """Move the session's expiry; does nothing when the session no longer exists."""

    def delete_session(self, session_id: str) -> None:
        """Delete the session if it exists."""

    def delete_user_sessions(self, user_id: str) -> None:
        """Delete all of the user's sessions."""

    def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int:
        """Delete the sessions whose expiry is at or before ``now``, in batches of at
        most ``batch_size`` (``progress`` gets each one's count); how many went."""


@runtime_checkable
class Adapter(UserAdapter, SessionAdapter, Protocol):
    """A store for users, keys and sessions together (every SQL database)."""

    def get_session_and_user(self, session_id: str) -> tuple[SessionRecord, UserRecord] | None:
        """The session and its user in one round trip (a join), or None."""


@runtime_checkable
class AsyncUserKeyAdapter(Protocol):
    """``UserKeyAdapter`` with coroutines; the same promises."""

    async def create_tables(self) -> None: ...
    async def insert_user(self, user: UserRecord, key: KeyRecord, created_at: datetime) -> None: ...
    async def get_user(self, user_id: str) -> UserRecord | None: ...
    async def get_user_by_key(
        self, provider_id: str, provider_user_id: str
    ) -> tuple[UserRecord, KeyRecord] | None: ...
    async def update_user_attributes(
        self, user_id: str, attributes: dict[str, Any]
    ) -> UserRecord | None: ...
    async def delete_user(self, user_id: str) -> None: ...
    async def insert_key(self, key: KeyRecord) -> None: ...
    async def get_user_keys(self, user_id: str) -> list[KeyRecord]: ...
    async def update_key_password(
        self, provider_id: str, provider_user_id: str, hashed_password: str | None
    ) -> bool: ...
    async def delete_key(self, provider_id: str, provider_user_id: str) -> bool: ...
    async def delete_provider_keys(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int | None: ...


@runtime_checkable
class AsyncTokenAdapter(Protocol):
    """``TokenAdapter`` with coroutines; the same promises."""

    async def insert_token(self, token: TokenRecord) -> None: ...
    async def consume_token(
        self, id_hash: bytes, purpose: str, now: datetime
    ) -> ConsumedToken | None: ...
    async def delete_user_tokens(self, user_id: str, purpose: str) -> None: ...
    async def delete_expired_tokens(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int: ...


@runtime_checkable
class AsyncUserAdapter(AsyncUserKeyAdapter, AsyncTokenAdapter, Protocol):
    """``UserAdapter`` with coroutines; the same promises."""


@runtime_checkable
class AsyncSessionAdapter(Protocol):
    """``SessionAdapter`` with coroutines; the same promises."""

    async def create_tables(self) -> None: ...
    async def insert_session(self, session: SessionRecord) -> None: ...
    async def get_session(self, session_id: str) -> SessionRecord | None: ...
    async def get_user_sessions(self, user_id: str) -> list[SessionRecord]: ...
    async def update_session_expiry(self, session_id: str, expires_at: datetime) -> None: ...
    async def delete_session(self, session_id: str) -> None: ...
    async def delete_user_sessions(self, user_id: str) -> None: ...
    async def delete_expired_sessions(
        self,
        now: datetime,
        batch_size: int = PURGE_BATCH_SIZE,
        progress: PurgeProgress | None = None,
    ) -> int: ...


@runtime_checkable
class AsyncAdapter(AsyncUserAdapter, AsyncSessionAdapter, Protocol):
    """``Adapter`` with coroutines; the same promises."""

    async def get_session_and_user(
        self, session_id: str
    ) -> tuple[SessionRecord, UserRecord] | None: ...


class Closing:
    """Closing, the same for every sync adapter: ``with adapter:`` closes it when
    the block ends, and ``close()`` releases what it holds (nothing, here)."""

    def close(self) -> None:
        """Release what the adapter holds (connections, a pool, a client)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClosing:
    """Closing, the same for every async adapter: ``async with adapter:`` closes it
    when the block ends (``aclose()``), and ``close()`` does it from sync code (a
    shutdown hook, a test teardown); by default ``aclose()`` is ``close()``."""

    def close(self) -> None:
        """Release what the adapter holds, from sync code."""

    async def aclose(self) -> None:
        """Release what the adapter holds."""
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
