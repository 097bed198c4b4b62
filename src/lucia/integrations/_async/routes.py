"""The password routes' actions, once for both flavours: ``arun`` answers one request.

Written as async code over an ``AsyncLucia``; ``lucia/integrations/_sync/routes.py``
(``run``, over a ``Lucia``) is generated from it by ``scripts/generate_sync.py``.
Requests, replies, bodies and errors live in ``lucia.integrations._passwords_base``;
the shells import both from ``lucia.integrations._passwords``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lucia import accounts
from lucia._accounts_base import require_flavour
from lucia.cookies import Cookie
from lucia.core import AsyncLucia
from lucia.errors import LuciaError
from lucia.integrations._passwords_base import (
    NoPasswordError,
    PasswordConfig,
    PasswordRequest,
    Reply,
    SessionNotFoundError,
    UnknownLinkProviderError,
    done,
    error_reply,
    json_reply,
    required,
    signed_in,
    signed_reply,
)
from lucia.models import User
from lucia.redirects import RESPONSE_HEADERS
from lucia.throttle import sign_in_account

if TYPE_CHECKING:
    from lucia.oauth.flow import SignInFlow

logger = logging.getLogger("lucia.integrations")


async def arun(config: PasswordConfig, request: PasswordRequest) -> Reply:
    """Answer one request to a password route; every ``LuciaError`` becomes a ``Reply``.

    ``config.auth`` must be of this function's flavour (``TypeError`` otherwise).
    """
    auth = require_flavour(config.auth, AsyncLucia)
    try:
        fields = request.fields
        if isinstance(fields, LuciaError):
            raise fields
        action = request.action
        if action == "signup":
            return await _sign_up(config, auth, request, fields)
        if action == "signin":
            return await _sign_in(config, auth, request, fields)
        if action == "password":
            return await _change_password(config, auth, request, fields)
        if action == "reauthenticate":
            return await _reauthenticate(config, auth, request, fields)
        if action == "link":
            return await _link(config, request, fields)
        if action == "unlink":
            return await _unlink(config, auth, request, fields)
        if action == "revoke":
            return await _revoke(config, auth, request, fields)
        return await _revoke_others(config, auth, request, fields)
    except LuciaError as error:
        return error_reply(error, request.wants_json)


async def _sign_up(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    email, password = required(fields, "email", "password")
    # Counted per client address before the hash (SECURITY.md 47): each attempt
    # costs an Argon2 hash, and a 409 tells whether an address has an account.
    signed = await accounts.asign_up(
        auth,
        email,
        password,
        session_attributes=request.session_attributes,
        throttle=config.throttle,
        address=request.address,
    )
    if request.session is not None:
        # The session the browser held before is never carried over (fixation).
        await auth.invalidate_session(request.session.id)
    return signed_reply(config, request, fields, signed)


# Each password check runs as one throttled attempt (``SignInThrottle.attempt``):
# reserved (counted for the account, and as in flight for the address) before
# the hash, so concurrent attempts cannot all pass under the limits and a
# blocked attempt never reaches the hasher. A wrong password is the recorded
# failure; a success, or any other error, gives the counts back (a success
# resets nothing else). The throttle never raises for the store on the way
# out, so the action's own error goes on.


async def _sign_in(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    email, password = required(fields, "email", "password")
    current = None if request.session is None else request.session.id
    async with config.throttle.aattempt(sign_in_account(email), request.address):
        signed = await accounts.asign_in(
            auth,
            email,
            password,
            current_session_id=current,
            session_attributes=request.session_attributes,
        )
    return signed_reply(config, request, fields, signed)


async def _password_key(auth: AsyncLucia, user: User) -> str:
    """The address of ``user``'s password key; ``NoPasswordError`` without one."""
    key = accounts.password_key(await auth.get_user_keys(user.id))
    if key is None:
        raise NoPasswordError()
    return key.provider_user_id


async def _change_password(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    _, user = signed_in(request)
    current, new = required(fields, "current_password", "new_password")
    # The current password, checked here under the throttle, is the
    # re-authentication (item 7): a recent sign-in is not asked for on top of it.
    email = await _password_key(auth, user)
    async with config.throttle.aattempt(email, request.address):
        signed = await accounts.achange_password(
            auth, user.id, email, current, new, session_attributes=request.session_attributes
        )
    return signed_reply(config, request, fields, signed)


async def _reauthenticate(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    session, user = signed_in(request)
    (password,) = required(fields, "password")
    email = await _password_key(auth, user)
    async with config.throttle.aattempt(email, request.address):
        signed = await accounts.areauthenticate(auth, session, email, password)
    return signed_reply(config, request, fields, signed)


def _provider(config: PasswordConfig, request: PasswordRequest) -> tuple[SignInFlow, str]:
    """The flow and the ``provider_id`` of the route's provider's keys; 404 when unknown."""
    flow = config.flow
    provider = None if flow is None else flow.providers.get(request.provider or "")
    if flow is None or provider is None:
        raise UnknownLinkProviderError()
    return flow, provider.name


async def _link(
    config: PasswordConfig, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    session, user = signed_in(request)
    flow, provider_id = _provider(config, request)
    accounts.require_recent_authentication(
        config.auth, session, max_age=config.reauthentication_max_age
    )
    # The flow seals this session and the window into the transaction and checks
    # both again at the callback (SECURITY.md item 43).
    start = await flow.astart(
        request.provider or "",
        next=fields.get("next") or request.query_next,
        link_session=session,
        link_max_age=config.reauthentication_max_age,
    )
    logger.info("identity link started", extra={"user_id": user.id, "provider_id": provider_id})
    if request.wants_json:
        reply = json_reply(200, {"location": start.url}, ("Referrer-Policy", "no-referrer"))
        return Reply(reply.status, reply.body, reply.content_type, reply.headers, start.cookies)
    headers = (*RESPONSE_HEADERS.items(), ("Location", start.url))
    return Reply(303, "", "text/plain; charset=utf-8", headers, start.cookies)


async def _unlink(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    session, user = signed_in(request)
    _, provider_id = _provider(config, request)
    accounts.require_recent_authentication(auth, session, max_age=config.reauthentication_max_age)
    # One atomic store operation: KeyNotFoundError (404) without such a key,
    # LastKeyError (409) when it would leave the account no way to sign in,
    # even against a concurrent unlink of the user's other provider.
    await auth.unlink_provider(user.id, provider_id)
    logger.info("identity unlinked", extra={"user_id": user.id, "provider_id": provider_id})
    return done(config, request, fields, {"user_id": user.id, "unlinked": request.provider})


async def _revoke(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    session, user = signed_in(request)
    (session_id,) = required(fields, "session_id")
    # Only among the user's own: another user's id is as unknown as a made-up one.
    if session_id not in {own.id for own in await auth.get_user_sessions(user.id)}:
        raise SessionNotFoundError()
    await auth.invalidate_session(session_id)
    logger.info("session revoked", extra={"user_id": user.id})
    cookies: tuple[Cookie, ...] = ()
    if session_id == session.id:
        cookies = (auth.create_blank_session_cookie(),)
    return done(config, request, fields, {"user_id": user.id, "revoked": 1}, cookies)


async def _revoke_others(
    config: PasswordConfig, auth: AsyncLucia, request: PasswordRequest, fields: Mapping[str, str]
) -> Reply:
    session, user = signed_in(request)
    revoked = await auth.invalidate_other_sessions(user.id, session.id)
    payload: dict[str, Any] = {"user_id": user.id, "revoked": revoked}
    return done(config, request, fields, payload)
