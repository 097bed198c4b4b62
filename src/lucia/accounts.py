"""Password accounts: sign-up, sign-in and password change, for any framework's views.

    signed = accounts.sign_up(auth, form["email"], form["password"])
    # -> set signed.cookie on the response (or send signed.session.token to an API client)

    signed = accounts.sign_in(auth, email, password, current_session_id=old_session_id)
    signed = accounts.change_password(auth, user.id, email, current, new)
    change = accounts.change_email(auth, user.id, email, password, new_email)
    # -> mail change.previous_email that its account moved (SECURITY.md 46)

    accounts.require_recent_authentication(auth, session)   # before linking, unlinking, ...
    signed = accounts.reauthenticate(auth, session, email, password)  # "confirm your password"

Accounts are keyed ``("email", normalize_email(address))`` — the same key
``lucia.oauth.flow`` uses for ``link_by_verified_email`` — and a new account's
attributes hold that ``email`` with ``email_verified: False`` (an app sets it to
True once it has proved the address, never before).

``sign_up`` answers ``EmailTakenError`` for an address that has an account,
which tells whoever asks that the address is registered; give it a
``SignInThrottle`` (``throttle=``, ``address=``) so one client cannot ask, or
make accounts (each attempt costs an Argon2 hash), without limit.
``lucia.tokens.request_sign_up`` is the verification-first sign-up that
answers the same for a taken and a free address; an account-to-be it made
whose link was never used does not take the address: ``sign_up`` replaces it.

A sign-up completes or leaves nothing: when the session cannot be created (a
session store that is down), the user just created is deleted again and the
store's ``DatabaseError`` goes on, so a retry signs up instead of finding the
address taken.

``sign_up`` and friends take a ``Lucia``; ``asign_up`` and friends, the same
operations as coroutines, an ``AsyncLucia``. Each is written once, as async
code in ``lucia/_async/accounts.py``; the sync functions are generated from it
(``lucia/_sync/accounts.py``).
"""

from __future__ import annotations

from lucia._accounts_base import (
    REAUTHENTICATION_MAX_AGE,
    EmailChange,
    EmailTakenError,
    InvalidEmailError,
    ReauthenticationRequiredError,
    SignedIn,
    password_key,
    require_recent_authentication,
)
from lucia._async.accounts import (
    achange_email,
    achange_password,
    areauthenticate,
    asign_in,
    asign_up,
)
from lucia._sync.accounts import change_email, change_password, reauthenticate, sign_in, sign_up

__all__ = [
    "REAUTHENTICATION_MAX_AGE",
    "EmailChange",
    "EmailTakenError",
    "InvalidEmailError",
    "ReauthenticationRequiredError",
    "SignedIn",
    "achange_email",
    "achange_password",
    "areauthenticate",
    "asign_in",
    "asign_up",
    "change_email",
    "change_password",
    "password_key",
    "reauthenticate",
    "require_recent_authentication",
    "sign_in",
    "sign_up",
]
