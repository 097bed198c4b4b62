"""The sign-in flow's steps that call the provider and lucia: ``start`` and ``callback``.

Written once, as async code; the sync code (``lucia.oauth._sync.flow``) is
generated from it by ``scripts/generate_sync.py``. Every check between the
calls is in ``lucia.oauth.flow_core``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from lucia.accounts import REAUTHENTICATION_MAX_AGE
from lucia.core import AsyncLucia
from lucia.emails import EMAIL_PROVIDER_ID
from lucia.errors import DuplicateKeyError, UserNotFoundError
from lucia.models import Session, User
from lucia.oauth.errors import IdentityInUseError, LinkMismatchError, SignInError
from lucia.oauth.flow_core import FlowResult, FlowStart, SignInFlowCore
from lucia.oauth.providers.base import OAuthProvider, ProviderUser

logger = logging.getLogger("lucia.oauth")


class _AsyncSignInSteps(SignInFlowCore):
    """``start`` and ``callback``, the flow's steps with I/O."""

    async def astart(
        self,
        provider: str,
        *,
        next: str | None = None,
        link_session: Session | None = None,
        link_max_age: timedelta = REAUTHENTICATION_MAX_AGE,
        scopes: Iterable[str] = (),
    ) -> FlowStart:
        """Begin a sign-in (or, with the signed-in user's current ``link_session``, a
        link) with ``provider``: the authorization URL to redirect to and the
        transaction cookie.

        ``next`` is where to land afterwards if ``safe_next`` accepts it. A link
        needs ``link_session`` created within ``link_max_age`` (10 minutes by
        default), now and again at the callback, which must be finished in that
        same session; else ``LinkReauthenticationRequiredError`` (403). No I/O,
        except what a provider needs first (OpenID Connect discovery, once).
        ``UnknownProviderError`` (404) for an unknown provider,
        ``ProviderFailedError`` (502) when discovery fails.
        """
        found, link_age = self._begin(provider, link_session, link_max_age)
        await self._aprepare_provider(found)
        return self._started(provider, found, next, link_session, link_age, tuple(scopes))

    async def acallback(
        self,
        provider: str,
        query: Mapping[str, str] | str,
        cookie_header: str | None,
        *,
        session_attributes: dict[str, Any] | None = None,
        current_session: Session | None = None,
        current_user_id: str | None = None,
    ) -> FlowResult:
        """Finish the sign-in the provider redirected back from.

        ``query`` is the callback's query string (raw, preferably: a repeated
        parameter is then refused) or its parameters (the form body of a POST
        callback, for a provider whose ``accepts_post`` is True); ``cookie_header`` the
        request's ``Cookie`` header; ``current_session`` the request's signed-in
        session, needed to finish a link flow: it must be the session that started
        the link and still be recent (else ``LinkMismatchError`` or
        ``LinkReauthenticationRequiredError``, both 403, before the code is
        redeemed). ``current_user_id``, when given too, must be that session's
        user. Returns the ``FlowResult`` or raises a ``SignInError``. Needs
        ``auth`` to be ``AsyncLucia`` (``TypeError`` otherwise).
        """
        auth = self._alucia()
        current = self._current(current_session, current_user_id)
        try:
            return await self._acallback_steps(
                auth, provider, query, cookie_header, session_attributes, current
            )
        except SignInError as error:
            self._failed(error, provider)
            raise

    async def _acallback_steps(
        self,
        auth: AsyncLucia,
        provider_name: str,
        query: Mapping[str, str] | str,
        cookie_header: str | None,
        session_attributes: dict[str, Any] | None,
        current: Session | None,
    ) -> FlowResult:
        # 1. Which provider, and is this the browser that started it (state, cookie)?
        opened = self._opened(provider_name, query, cookie_header)
        provider, transaction = opened.provider, opened.transaction
        # 2-3. The metadata (discovery) says whether the provider always sends iss;
        # then the answer's issuer, the provider's own error, the code.
        await self._aprepare_provider(provider)
        code = self._authorization_code(opened, current)
        # 4. Redeem the code (PKCE verifier, nonce) and fetch the provider's user.
        with self._provider_failures(provider):
            tokens = await provider.avalidate_authorization_code(
                code,
                transaction.code_verifier,
                nonce=transaction.nonce,
                **self._code_fields(opened),
            )
            fetched = await provider.aget_user(tokens)
        provider_user = self._completed_user(opened, self._checked_provider_user(fetched))
        # 5-8. The lucia side.
        if transaction.link_user_id is not None:
            user, linked = await self._alink(
                auth, provider, provider_user, transaction.link_user_id
            )
            return self._finished(opened, provider_name, provider_user, tokens, user, linked=linked)
        user, created, linked = await self._afind_or_create(auth, provider, provider_user)
        session = await auth.create_session(user.id, attributes=session_attributes)
        return self._finished(
            opened,
            provider_name,
            provider_user,
            tokens,
            user,
            linked=linked,
            created=created,
            session=session,
        )

    async def _aprepare_provider(self, provider: OAuthProvider) -> None:
        """What the provider needs first (an OpenID provider's discovery, a no-op once its
        metadata is cached); its failure is ``ProviderFailedError``."""
        with self._provider_failures(provider):
            await provider.aprepare()

    async def _afind_or_create(
        self, auth: AsyncLucia, provider: OAuthProvider, provider_user: ProviderUser
    ) -> tuple[User, bool, bool]:
        """The identity's user, (user, created, linked): the key's owner, else (opt-in) a
        verified-email match, else a new user. Keyed on the immutable id only."""
        name, subject = provider.name, provider_user.id
        found = await auth.get_user_by_key(name, subject)
        if found is not None:
            return found, False, False
        email = self._linking_email(provider_user)
        if email is not None:
            owner = await auth.get_user_by_key(EMAIL_PROVIDER_ID, email)
            if owner is not None and self._email_verified_on_lucia(owner, email):
                try:
                    await auth.add_key(owner.id, name, subject)
                except (DuplicateKeyError, UserNotFoundError):
                    # A concurrent first sign-in linked or created it already,
                    # or the owner is gone: fall through to the key's owner.
                    pass
                else:
                    logger.info(
                        "oauth identity linked by verified email",
                        extra={"provider_id": name, "user_id": owner.id},
                    )
                    return owner, False, True
        attributes = self.user_attributes(provider, provider_user)
        user, created = await auth.get_or_create_user(name, subject, attributes=attributes)
        if created:
            logger.info("oauth user created", extra={"provider_id": name, "user_id": user.id})
            if email is not None:
                # If someone else holds that address's key (maybe an unverified
                # sign-up), it stays theirs and is never merged with this user.
                with contextlib.suppress(DuplicateKeyError):
                    await auth.add_key(user.id, EMAIL_PROVIDER_ID, email)
        return user, created, False

    async def _alink(
        self, auth: AsyncLucia, provider: OAuthProvider, provider_user: ProviderUser, user_id: str
    ) -> tuple[User, bool]:
        """Attach the identity to ``user_id``: (user, newly linked). ``IdentityInUseError``
        if another user owns it; linking one's own identity again changes nothing."""
        name, subject = provider.name, provider_user.id
        owner = await auth.get_user_by_key(name, subject)
        linked = False
        if owner is None:
            try:
                await auth.add_key(user_id, name, subject)
                linked = True
            except UserNotFoundError:
                raise LinkMismatchError("the user who started the link no longer exists") from None
            except DuplicateKeyError:
                owner = await auth.get_user_by_key(name, subject)
        if owner is not None and owner.id != user_id:
            raise IdentityInUseError()
        user = await auth.get_user(user_id)
        if user is None:
            raise LinkMismatchError("the user who started the link no longer exists")
        return user, linked
