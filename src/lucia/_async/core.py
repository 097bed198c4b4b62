"""``AsyncLucia``: users, keys, sessions and one-time tokens, every operation once.

This is the source: each operation is plain code calling the typed adapter
protocol, and ``scripts/generate_sync.py`` writes ``lucia/_sync/core.py`` from
it (edit only ``lucia/_async/core.py``). What has no I/O (configuration,
cookies, the session verdict, checks of untrusted text) lives in ``lucia.core``,
shared by both classes and the place to import them from.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from lucia import sessions
from lucia._concurrency import Deferred, arun_cpu
from lucia.adapters._purge import PURGE_BATCH_SIZE, PurgeProgress
from lucia.adapters.base import (
    AsyncAdapter,
    AsyncSessionAdapter,
    AsyncSessionStore,
    AsyncUserAdapter,
    KeyRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)
from lucia.core import (
    _EXPIRED,
    _GET_OR_CREATE_ATTEMPTS,
    _ONE_TIME_TOKEN_BYTES,
    _REFUSE,
    _VALID,
    MAX_SESSION_COOKIES,
    _attributes,
    _check_key,
    _check_purpose,
    _key,
    _LuciaBase,
    _purge_of,
    _sha256,
    _storable,
    generate_user_id,
    hash_one_time_token,
)
from lucia.errors import (
    DuplicateKeyError,
    InvalidCredentialsError,
    InvalidTokenError,
    KeyNotFoundError,
    LastKeyError,
    LuciaError,
    UserNotFoundError,
)
from lucia.models import Key, Session, Token, User
from lucia.sessions import parse_token

__all__ = ["AsyncLucia"]

logger = logging.getLogger("lucia")


class AsyncLucia(
    _LuciaBase[
        AsyncAdapter | AsyncUserAdapter, AsyncSessionAdapter, AsyncSessionStore, AsyncAdapter
    ]
):
    """Users, keys, sessions and one-time tokens over a store of the same flavour.

    ``adapter`` stores users and keys, and sessions too unless a separate
    ``session_adapter`` (for example Redis) is given. The async class (its
    methods are coroutines: Starlette, FastAPI) hashes passwords off the event
    loop, on ``hash_executor`` when given, else on lucia's shared pool of
    ``HASH_WORKERS`` (CPUs - 1, at least 1) threads, so even a storm of sign-ins
    leaves a core to the loop. The sync class (Flask, Django, scripts) hashes on
    the calling thread or, given a ``hash_executor``, on it (the caller waits),
    so a threaded server can bound how many Argon2id hashes run at once. An
    executor you pass is yours to shut down.
    """

    # Users and keys

    async def create_user(
        self,
        provider_id: str,
        provider_user_id: str,
        *,
        password: str | None = None,
        attributes: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> User:
        """Create a user with its first key; ``DuplicateKeyError`` if the key exists.

        A password is checked against the password policy (``InvalidPasswordError``)
        and stored as an Argon2id hash.
        """
        _check_key(provider_id, provider_user_id)
        attrs = _attributes(attributes)
        hashed = None
        if password is not None:
            self.password_policy.check(password)
            hashed = await arun_cpu(self.hash_executor, self.password_hasher.hash, password)
        user = UserRecord(user_id or generate_user_id(), attrs)
        key = KeyRecord(provider_id, provider_user_id, user.id, hashed)
        await self.adapter.insert_user(user, key, self.clock())
        logger.info("user created", extra={"user_id": user.id, "provider_id": provider_id})
        return User(user.id, attrs)

    async def get_user(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        return await self.adapter.get_user(user_id)

    async def get_user_by_key(self, provider_id: str, provider_user_id: str) -> User | None:
        """The user who owns this key (exact, case-sensitive), or None."""
        if not (_storable(provider_id) and _storable(provider_user_id)):
            return None  # no store holds such a key
        found = await self.adapter.get_user_by_key(provider_id, provider_user_id)
        return None if found is None else found[0]

    async def get_or_create_user(
        self, provider_id: str, provider_user_id: str, *, attributes: dict[str, Any] | None = None
    ) -> tuple[User, bool]:
        """The key's user, created with ``attributes`` if new; race-safe. The bool is "created"."""
        _check_key(provider_id, provider_user_id)
        attrs = _attributes(attributes)
        # The store's unique key decides the race: every loser of the insert
        # reads the winner's user. The loop only matters if the key is deleted
        # between the failed insert and the read.
        for _ in range(_GET_OR_CREATE_ATTEMPTS):
            found = await self.adapter.get_user_by_key(provider_id, provider_user_id)
            if found is not None:
                return found[0], False
            user = UserRecord(generate_user_id(), attrs)
            key = KeyRecord(provider_id, provider_user_id, user.id, None)
            try:
                await self.adapter.insert_user(user, key, self.clock())
            except DuplicateKeyError:
                continue
            logger.info("user created", extra={"user_id": user.id, "provider_id": provider_id})
            return User(user.id, attrs), True
        raise LuciaError("the key kept changing while signing in; try again")

    async def authenticate(self, provider_id: str, provider_user_id: str, password: str) -> User:
        """The key's user if the password matches; ``InvalidCredentialsError`` otherwise.

        An unknown key, a key without password and a wrong password cost the same
        hashing work and raise the same error. A weaker hash is upgraded on success.
        """
        hasher = self.password_hasher
        if not isinstance(password, str) or len(password) > self.password_policy.max_length:
            # Refused before any hashing: an oversized password must not buy CPU time.
            raise InvalidCredentialsError()
        found: tuple[User, KeyRecord] | None = None
        if _storable(provider_id) and _storable(provider_user_id):
            found = await self.adapter.get_user_by_key(provider_id, provider_user_id)
        hashed = None if found is None else found[1].hashed_password
        if found is None or hashed is None:
            # Same work and same error as a wrong password: no account enumeration.
            await arun_cpu(self.hash_executor, hasher.dummy_verify, password)
            logger.info("sign-in failed", extra={"provider_id": provider_id})
            raise InvalidCredentialsError()
        user = found[0]
        if not await arun_cpu(self.hash_executor, hasher.verify, hashed, password):
            logger.info("sign-in failed", extra={"provider_id": provider_id, "user_id": user.id})
            raise InvalidCredentialsError()
        if hasher.needs_rehash(hashed):
            rehashed = await arun_cpu(self.hash_executor, hasher.hash, password)
            await self.adapter.update_key_password(provider_id, provider_user_id, rehashed)
            logger.info("password rehashed", extra={"user_id": user.id})
        return user

    async def add_key(
        self,
        user_id: str,
        provider_id: str,
        provider_user_id: str,
        *,
        password: str | None = None,
    ) -> Key:
        """Link another way to sign in (``DuplicateKeyError``, ``UserNotFoundError``)."""
        _check_key(provider_id, provider_user_id)
        hashed = None
        if password is not None:
            self.password_policy.check(password)
            hashed = await arun_cpu(self.hash_executor, self.password_hasher.hash, password)
        record = KeyRecord(provider_id, provider_user_id, user_id, hashed)
        await self.adapter.insert_key(record)
        logger.info("key added", extra={"user_id": user_id, "provider_id": provider_id})
        return _key(record)

    async def get_user_keys(self, user_id: str) -> list[Key]:
        """The user's keys."""
        return [_key(record) for record in await self.adapter.get_user_keys(user_id)]

    async def delete_key(self, provider_id: str, provider_user_id: str) -> None:
        """Unlink a key; nothing happens if it does not exist.

        Never leaves a user without a way to sign in, as ``unlink_provider``:
        ``LastKeyError`` (nothing deleted) when it is its user's only key.
        """
        if not (_storable(provider_id) and _storable(provider_user_id)):
            return
        found = await self.adapter.get_user_by_key(provider_id, provider_user_id)
        if found is None:
            return
        # The store counts and deletes atomically (unlink_provider's operation),
        # so concurrent deletes of a user's last two keys cannot both succeed.
        # A key deleted, or moved to another user, since the read counts as gone.
        user_id = found[0].id
        count = await self.adapter.delete_provider_keys(user_id, provider_id, provider_user_id)
        if count is None:
            raise LastKeyError()
        if count:
            logger.info("key deleted", extra={"user_id": user_id, "provider_id": provider_id})

    async def unlink_provider(
        self, user_id: str, provider_id: str, provider_user_id: str | None = None
    ) -> int:
        """Delete the user's keys of ``provider_id`` (with ``provider_user_id``, only
        that one); how many went.

        Never leaves the user without a way to sign in: ``LastKeyError`` (nothing
        deleted) when those are all of the user's keys, decided atomically by the
        store, so of concurrent unlinks of a user's last two keys exactly one
        succeeds. ``KeyNotFoundError`` when the user has no such key (someone
        else's key counts as none).
        """
        if not (
            _storable(user_id)
            and _storable(provider_id)
            and (provider_user_id is None or _storable(provider_user_id))
        ):
            raise KeyNotFoundError()  # no store holds such a key
        # One store operation decides and deletes: a check here followed by
        # deletes would let two concurrent unlinks both pass and lock the user out.
        count = await self.adapter.delete_provider_keys(user_id, provider_id, provider_user_id)
        if count is None:
            raise LastKeyError()
        if count == 0:
            raise KeyNotFoundError()
        logger.info("keys unlinked", extra={"user_id": user_id, "provider_id": provider_id})
        return count

    async def update_key_password(
        self,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        *,
        invalidate_sessions: bool = True,
    ) -> None:
        """Set (None: remove) the key's password and sign the user out everywhere.

        Create a new session for the current device afterwards. ``KeyNotFoundError``
        when there is no such key.
        """
        if not (_storable(provider_id) and _storable(provider_user_id)):
            raise KeyNotFoundError()
        found = await self.adapter.get_user_by_key(provider_id, provider_user_id)
        if found is None:
            raise KeyNotFoundError()
        hashed = None
        if password is not None:
            self.password_policy.check(password)
            hashed = await arun_cpu(self.hash_executor, self.password_hasher.hash, password)
        if not await self.adapter.update_key_password(provider_id, provider_user_id, hashed):
            raise KeyNotFoundError()
        user_id = found[0].id
        logger.info("password changed", extra={"user_id": user_id, "provider_id": provider_id})
        if invalidate_sessions:
            await self.session_adapter.delete_user_sessions(user_id)
            logger.info("sessions revoked", extra={"user_id": user_id})

    async def update_user_attributes(self, user_id: str, attributes: dict[str, Any]) -> User:
        """Merge ``attributes`` into the user's (top-level keys replaced), atomically."""
        record = await self.adapter.update_user_attributes(user_id, _attributes(attributes))
        if record is None:
            raise UserNotFoundError()
        return record

    async def delete_user(self, user_id: str) -> None:
        """Delete the user with its keys and sessions."""
        if not self._joined:
            await self.session_adapter.delete_user_sessions(user_id)
        await self.adapter.delete_user(user_id)
        logger.info("user deleted", extra={"user_id": user_id})

    # Sessions

    async def create_session(
        self, user_id: str, *, attributes: dict[str, Any] | None = None
    ) -> Session:
        """A new session for the user; its ``token`` exists only on this object."""
        attrs = _attributes(attributes)
        if not self._joined and await self.adapter.get_user(user_id) is None:
            raise UserNotFoundError()
        now = self.clock().replace(microsecond=0)
        session_id = sessions.generate_session_id()
        secret = sessions.generate_session_secret()
        record = SessionRecord(
            session_id,
            user_id,
            self.session_policy.new_expiry(now),
            now,
            attributes=attrs,
            secret_hash=sessions.hash_secret(secret),
        )
        await self.session_adapter.insert_session(record)
        logger.info("session created", extra={"user_id": user_id})
        # Set only now, so no store ever sees the token.
        record.fresh = True
        record.token = sessions.create_token(session_id, secret)
        return record

    async def validate_session(self, token: str) -> tuple[Session, User] | None:
        """The session and user for a token; None for unknown, malformed or expired tokens.

        When less than half of the session's life is left it is extended and
        ``fresh`` (set its cookie again).
        """
        # Every request runs this: the common case (one store, nothing to write)
        # is one read and the pure verdict, with nothing else in its way.
        parsed = parse_token(token)
        if parsed is None:
            return None
        joined = self._joined_adapter
        found: tuple[SessionRecord, UserRecord] | None = None
        if joined is not None:
            found = await joined.get_session_and_user(parsed[0])
            if found is None:
                return None
            record = found[0]
        else:
            read = await self._lone_sessions.get_session(parsed[0])
            if read is None:
                return None
            record = read
        verdict = self._session_verdict(record, parsed[1])
        if verdict is _VALID and found is not None:
            # The store's (session, user) pair as it came: a new tuple of the
            # same two would cost every request its packing and unpacking.
            return found
        if verdict is _REFUSE:
            return None  # not the caller's row to delete
        if verdict is _EXPIRED:
            await self.session_adapter.delete_session(record.id)
            return None
        user = None if found is None else found[1]
        if user is None:
            user = await self.adapter.get_user(record.user_id)
            if user is None:
                await self.session_adapter.delete_session(record.id)
                return None
        if isinstance(verdict, datetime):
            await self.session_adapter.update_session_expiry(record.id, verdict)
            record.expires_at = verdict
            record.fresh = True
            record.token = token
        return record, user

    def validate_session_tokens(
        self, tokens: Sequence[str]
    ) -> Deferred[tuple[Session, User] | None]:
        """The session and user of the first of ``tokens`` that validates (see
        ``validate_session``; at most ``MAX_SESSION_COOKIES`` are tried), or None.

        For the tokens of ``read_session_cookies``: a cookie tossed beside the
        real one neither hides it nor, being invalid, gets it cleared.
        """
        # Not a coroutine function of its own: the one-cookie request every
        # middleware makes goes straight to validate_session, without a second
        # coroutine around it (measured: ~0.3-0.5 us a request).
        if len(tokens) == 1:
            return self.validate_session(tokens[0])
        return self._first_valid(tokens)

    async def _first_valid(self, tokens: Sequence[str]) -> tuple[Session, User] | None:
        for token in tokens[:MAX_SESSION_COOKIES]:
            found = await self.validate_session(token)
            if found is not None:
                return found
        return None

    async def get_user_sessions(self, user_id: str) -> list[Session]:
        """The user's unexpired sessions, oldest first (without tokens)."""
        records = await self.session_adapter.get_user_sessions(user_id)
        now = self.clock()
        return [record for record in records if record.expires_at > now]

    async def invalidate_session(self, session_id: str) -> None:
        """Delete a session (sign-out)."""
        await self.session_adapter.delete_session(session_id)
        # The id only: it names the session, and cannot sign anyone in without its secret.
        logger.info("session invalidated", extra={"session_id": session_id})

    async def invalidate_user_sessions(self, user_id: str) -> None:
        """Delete all of the user's sessions (sign out everywhere)."""
        await self.session_adapter.delete_user_sessions(user_id)
        logger.info("sessions revoked", extra={"user_id": user_id})

    async def invalidate_other_sessions(self, user_id: str, keep_session_id: str) -> int:
        """Delete the user's unexpired sessions but ``keep_session_id`` ("sign out
        everywhere else"); how many went."""
        others = [s.id for s in await self.get_user_sessions(user_id) if s.id != keep_session_id]
        for session_id in others:
            await self.session_adapter.delete_session(session_id)
        logger.info("sessions revoked", extra={"user_id": user_id, "count": len(others)})
        return len(others)

    async def delete_expired_sessions(
        self, *, batch_size: int | None = None, progress: PurgeProgress | None = None
    ) -> int:
        """Purge expired sessions; how many went.

        The store deletes them in batches (``PURGE_BATCH_SIZE``, or ``batch_size``),
        each committed on its own, so writers never wait behind the whole purge;
        ``progress`` is called with each batch's count. ``NotImplementedError``
        when the session store has no purge (``PurgesSessions``).
        """
        purge = _purge_of(self.session_adapter, "delete_expired_sessions")
        if batch_size is None and progress is None:
            # The one-argument form, so a store written before batches keeps working.
            count: int = await purge(self.clock())
        else:
            size = PURGE_BATCH_SIZE if batch_size is None else batch_size
            count = await purge(self.clock(), size, progress)
        return count

    # One-time tokens (kept by the user store, next to the users they belong to)

    async def create_token(
        self,
        user_id: str,
        purpose: str,
        *,
        expires_in: timedelta,
        data: dict[str, Any] | None = None,
    ) -> str:
        """A new single-use token for ``user_id``, valid for ``expires_in``.

        The token (32 random bytes, base64url) exists only in the returned
        string: the store keeps its SHA-256. Send it to the user once (an email
        link) and never log it. ``data`` (a JSON object) comes back from
        ``consume_token``. ``UserNotFoundError`` when there is no such user.
        """
        _check_purpose(purpose)
        if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
            raise ValueError("expires_in must be a positive timedelta")
        attrs = _attributes(data)
        now = self.clock().replace(microsecond=0)
        token = secrets.token_urlsafe(_ONE_TIME_TOKEN_BYTES)
        record = TokenRecord(_sha256(token), user_id, purpose, now + expires_in, now, attrs)
        await self.adapter.insert_token(record)
        logger.info("token created", extra={"user_id": user_id, "purpose": purpose})
        return token

    async def consume_token(self, token: str, purpose: str) -> Token:
        """Use up ``token`` for ``purpose``: its ``Token`` (user, purpose, expiry, data).

        Atomic: of concurrent calls with one token, exactly one succeeds.
        ``InvalidTokenError`` (the same for every case) when the token is
        malformed, unknown, used, expired or was made for another purpose.
        """
        _check_purpose(purpose)
        id_hash = hash_one_time_token(token)
        found = None
        if id_hash is not None:
            found = await self.adapter.consume_token(id_hash, purpose, self.clock())
        if found is None:
            # One error for malformed, unknown, used, expired and wrong purpose.
            logger.info("token refused", extra={"purpose": purpose})
            raise InvalidTokenError()
        user_id, expires_at, token_data = found
        logger.info("token used", extra={"user_id": user_id, "purpose": purpose})
        return Token(user_id, purpose, expires_at, token_data)

    async def delete_user_tokens(self, user_id: str, purpose: str) -> None:
        """Delete the user's unused tokens of ``purpose`` (older links stop working)."""
        _check_purpose(purpose)
        await self.adapter.delete_user_tokens(user_id, purpose)

    async def delete_expired_tokens(self) -> int:
        """Purge expired one-time tokens; how many went (``NotImplementedError`` when
        the store has no purge: ``PurgesTokens``)."""
        purge = _purge_of(self.adapter, "delete_expired_tokens")
        count: int = await purge(self.clock())
        return count
