"""The adapter interface: what a database must do for lucia.

An adapter stores users, keys and sessions. ``Lucia`` calls a sync adapter,
``AsyncLucia`` an async one with the same methods as coroutines. A store that
keeps only sessions (Redis) implements ``SessionAdapter`` and is combined with
any ``UserAdapter``: ``Lucia(user_adapter, session_adapter=redis_adapter)``.

The protocols (declared once, in ``lucia.adapters._async.protocols``, and
importable from here in both flavours) hold only what lucia's features call:

- ``UserKeyAdapter`` (everything needs it): ``insert_user``, ``get_user``,
  ``get_user_by_key``, ``update_user_attributes``, ``delete_user``,
  ``insert_key``, ``get_user_keys``, ``update_key_password``,
  ``delete_provider_keys``.
- ``TokenAdapter`` (email verification, password resets): ``insert_token``,
  ``consume_token``, ``delete_user_tokens``.
- ``SessionStore`` (sessions): ``insert_session``, ``get_user_sessions``,
  ``update_session_expiry``, ``delete_session``, ``delete_user_sessions``.
- ``SessionAdapter`` (a store of sessions only): ``SessionStore`` and
  ``get_session``.
- ``Adapter`` (a store of everything): ``UserKeyAdapter``, ``TokenAdapter``,
  ``SessionStore`` and ``get_session_and_user``, the session with its user.
- Maintenance, optional: ``CreatesTables`` (``create_tables``, for ``lucia
  migrate``), ``PurgesSessions`` (``delete_expired_sessions``) and
  ``PurgesTokens`` (``delete_expired_tokens``).

``UserAdapter`` is ``UserKeyAdapter`` and ``TokenAdapter`` together. A store
without the maintenance methods works for every request; purging through it
raises ``NotImplementedError`` naming what is missing. Each protocol has an
``Async`` twin with the same methods as coroutines.

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
  providers exactly one succeeds. It is the only way lucia deletes keys.
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
  never holds the lock writers need for longer than one batch. A store gets
  them from ``SessionPurges`` / ``TokenPurges`` by deleting one batch
  (``delete_expired_sessions_batch``, ``delete_expired_tokens_batch``).
- Failures of the store itself surface as ``lucia.errors.DatabaseError``
  naming the cause, never with row contents in the message.
- Every adapter closes the same way: a sync one is a context manager with
  ``close()`` (``Closing``); an async one an async context manager with
  ``aclose()``, and ``close()`` for sync code (``AsyncClosing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from lucia.adapters._async.protocols import (
    AsyncAdapter,
    AsyncCreatesTables,
    AsyncPurgesSessions,
    AsyncPurgesTokens,
    AsyncSessionAdapter,
    AsyncSessionStore,
    AsyncTokenAdapter,
    AsyncUserAdapter,
    AsyncUserKeyAdapter,
)
from lucia.adapters._async.purges import AsyncSessionPurges, AsyncTokenPurges
from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress
from lucia.adapters._sync.protocols import (
    Adapter,
    CreatesTables,
    PurgesSessions,
    PurgesTokens,
    SessionAdapter,
    SessionStore,
    TokenAdapter,
    UserAdapter,
    UserKeyAdapter,
)
from lucia.adapters._sync.purges import SessionPurges, TokenPurges
from lucia.models import Session, User

__all__ = [
    "PURGE_BATCH_SIZE",
    "Adapter",
    "AsyncAdapter",
    "AsyncClosing",
    "AsyncCreatesTables",
    "AsyncPurgesSessions",
    "AsyncPurgesTokens",
    "AsyncSessionAdapter",
    "AsyncSessionPurges",
    "AsyncSessionStore",
    "AsyncTokenAdapter",
    "AsyncTokenPurges",
    "AsyncUserAdapter",
    "AsyncUserKeyAdapter",
    "Closing",
    "ConsumedToken",
    "CreatesTables",
    "KeyRecord",
    "PurgeProgress",
    "PurgesSessions",
    "PurgesTokens",
    "SessionAdapter",
    "SessionPurges",
    "SessionRecord",
    "SessionStore",
    "TokenAdapter",
    "TokenPurges",
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


def _time_from_epoch(slot: Any, epoch: str) -> Any:
    """A property over ``Session``'s ``slot`` (a datetime): made, aware and in UTC,
    from the record's ``epoch`` attribute when first read; assigning a datetime
    makes it the one that counts (the epoch is dropped)."""
    get, put = slot.__get__, slot.__set__

    def read(record: SessionRecord) -> datetime:
        try:
            return get(record, Session)  # type: ignore[no-any-return]
        except AttributeError:
            pass
        moment = datetime.fromtimestamp(getattr(record, epoch), UTC)
        put(record, moment)
        return moment

    def write(record: SessionRecord, moment: datetime) -> None:
        put(record, moment)
        setattr(record, epoch, None)

    return property(read, write)


class _EpochSessionRecord(SessionRecord):
    """What ``SessionRecord.from_epochs`` makes: its datetimes are properties over
    ``Session``'s slots, made from the epochs when first read.

    A subclass, so records built by the constructor keep plain slot access (a
    property on ``SessionRecord`` itself cost every record ~0.4 µs to build and
    ~0.2 µs a read). It shows, compares and pickles as a ``SessionRecord``.
    """

    __slots__ = ()
    __qualname__ = "SessionRecord"  # what repr() shows

    expires_at = _time_from_epoch(Session.__dict__["expires_at"], "expires_epoch")
    created_at = _time_from_epoch(Session.__dict__["created_at"], "created_epoch")

    def _compared(self) -> tuple[Any, ...]:
        """The fields a record's equality compares, in the constructor's order."""
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
        # Pickled and copied as the plain record (the name shown is not this class's),
        # made from the compared fields, then token and secret_hash.
        return (SessionRecord, (*self._compared(), self.token, self.secret_hash))


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


def publish(module: str, *objects: Any) -> None:
    """Make ``module`` the home of ``objects`` (lucia's own adapter modules call it).

    A store's classes are written in a private module (``_async``/``_sync`` twins, a
    ``_*_base``) and imported, both flavours together, by the public module users
    import them from: that one is what ``repr()``, error messages, the docs and
    Alembic's autogenerate name.
    """
    for obj in objects:
        obj.__module__ = module


# The contract is declared once in lucia.adapters._async (the sync twins generated);
# this module is where both flavours are imported from, and what they name.
publish(
    __name__,
    Adapter,
    AsyncAdapter,
    AsyncCreatesTables,
    AsyncPurgesSessions,
    AsyncPurgesTokens,
    AsyncSessionAdapter,
    AsyncSessionPurges,
    AsyncSessionStore,
    AsyncTokenAdapter,
    AsyncTokenPurges,
    AsyncUserAdapter,
    AsyncUserKeyAdapter,
    CreatesTables,
    PurgesSessions,
    PurgesTokens,
    SessionAdapter,
    SessionPurges,
    SessionStore,
    TokenAdapter,
    TokenPurges,
    UserAdapter,
    UserKeyAdapter,
)
