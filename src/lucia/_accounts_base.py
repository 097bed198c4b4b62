"""What ``lucia.accounts`` and ``lucia.tokens`` return and raise: no I/O, both flavours.

The public modules document and re-export these. The operations themselves are
written once, as async code, in ``lucia/_async/accounts.py`` and
``lucia/_async/tokens.py``; the sync ones are generated into ``lucia/_sync/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from lucia.cookies import Cookie
from lucia.core import AsyncLucia, Lucia
from lucia.emails import EMAIL_PROVIDER_ID, normalize_email
from lucia.errors import LuciaError
from lucia.models import Key, Session, User

# How long after presenting credentials a session may change them (email,
# password, linked identities) without presenting them again (ASVS 7.5.1).
REAUTHENTICATION_MAX_AGE = timedelta(minutes=10)

EMAIL_VERIFICATION_EXPIRES_IN = timedelta(hours=48)
# Short: a reset link is a password for whoever reads the mail (OWASP's forgot
# password cheat sheet).
PASSWORD_RESET_EXPIRES_IN = timedelta(hours=1)
SIGN_UP_EXPIRES_IN = timedelta(hours=48)


AnyLucia = TypeVar("AnyLucia", Lucia, AsyncLucia)


class EmailTakenError(LuciaError):
    """Sign-up with an address that already has an account.

    Telling the visitor so reveals that the address is registered; apps that
    must not reveal it answer as for a success and email the owner instead.
    """

    code = "AUTH_EMAIL_TAKEN"
    default_message = "an account with this email address already exists"
    status = 409


class InvalidEmailError(LuciaError):
    """Sign-up with something ``normalize_email`` does not accept as an address."""

    code = "AUTH_INVALID_EMAIL"
    default_message = "the email address is not valid"


class ReauthenticationRequiredError(LuciaError):
    """A sensitive change asked of a session that did not sign in recently.

    Integrations answer 403; the app asks for the password again
    (``reauthenticate``) or sends the user through a provider's sign-in.
    """

    code = "AUTH_REAUTHENTICATION_REQUIRED"
    default_message = "sign in again to make this change"
    status = 403


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The outcome of a successful sign-up, sign-in or password change.

    ``cookie`` is the session cookie to set; ``session.token`` is the same
    secret for clients that use ``Authorization: Bearer``. Neither ``repr``
    shows the token.
    """

    user: User
    session: Session
    cookie: Cookie


@dataclass(frozen=True, slots=True)
class EmailChange:
    """The outcome of ``change_email``: ``user`` now signs in with ``email``.

    Mail ``previous_email`` that the account's address changed (SECURITY.md
    46: the old address learns of it, so a hijacked session cannot move an
    account away unnoticed), and send ``email`` a verification link
    (``lucia.tokens.create_email_verification_token``): it is unverified.
    """

    user: User
    email: str
    previous_email: str


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A password reset to mail: ``token`` goes to ``email``, the address stored on
    ``user``'s account (never the one typed into the form). ``repr()`` hides the token."""

    user: User
    email: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignUpMail:
    """The mail a verification-first sign-up sends: ``token`` in a link to ``email``.

    ``account_exists`` False: a new sign-up, and the link completes it
    (``complete_sign_up``). True: the address has an account already; mail a
    "you already have an account" note, and ``token`` is a password-reset token
    (``reset_password``) for that account's owner. Tell the visitor the same in
    both cases ("check your mail"). ``repr()`` hides the token.
    """

    email: str
    token: str = field(repr=False)
    account_exists: bool


def password_key(keys: Iterable[Key]) -> Key | None:
    """The key among ``keys`` (a user's) that signs in with an email and a password."""
    return next((k for k in keys if k.provider_id == EMAIL_PROVIDER_ID and k.has_password), None)


def mail_address(user: User, key: str) -> str:
    """Where mail about ``user``'s password account goes: its stored ``email`` when that
    is a usable address, else ``key``, the account's email key (itself normalised)."""
    stored = user.attributes.get("email")
    return stored if isinstance(stored, str) and normalize_email(stored) else key


def require_recent_authentication(
    auth: Lucia | AsyncLucia,
    session: Session,
    *,
    max_age: timedelta = REAUTHENTICATION_MAX_AGE,
) -> None:
    """Raise ``ReauthenticationRequiredError`` unless ``session`` began within ``max_age``.

    Every sign-in and re-authentication creates a new session, so a session's
    ``created_at`` is when its user last presented credentials; sliding renewal
    never moves it. Call it before changing an email or password and before
    linking or unlinking an identity.
    """
    if auth.clock() - session.created_at > max_age:
        raise ReauthenticationRequiredError()


def is_pending_sign_up(keys: list[Key], address: str) -> bool:
    """Whether the user is a sign-up not completed yet: its only key is the address's,
    without a password."""
    return (
        len(keys) == 1
        and keys[0].provider_id == EMAIL_PROVIDER_ID
        and keys[0].provider_user_id == address
        and not keys[0].has_password
    )


def require_flavour(auth: object, flavour: type[AnyLucia]) -> AnyLucia:
    """``auth`` if it is a ``flavour``; else the ``TypeError`` that names the right function.

    The plain functions take a ``Lucia``, the a-prefixed ones an ``AsyncLucia``:
    checked before any store is called, so a mixed-up call changes nothing.
    """
    if isinstance(auth, flavour):
        return auth
    if flavour is Lucia:
        raise TypeError("this function needs a Lucia; use the a-prefixed one with an AsyncLucia")
    raise TypeError("this function needs an AsyncLucia; use the plain one with a Lucia")
