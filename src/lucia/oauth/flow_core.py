"""The sign-in flow without its I/O: configuration, the transaction cookie, and every
check of the eight steps that needs no network or store.

``SignInFlow`` (``lucia.oauth.flow``) adds the steps that call the provider and
lucia, sync and async, written once in ``lucia.oauth._async.flow`` (the sync
code generated from it).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast
from urllib.parse import parse_qsl

from lucia.accounts import ReauthenticationRequiredError, require_recent_authentication
from lucia.cookies import Cookie, CookieAttributes, read_cookie
from lucia.core import AsyncLucia, Lucia
from lucia.emails import normalize_email
from lucia.errors import OAuthError
from lucia.models import Session, User
from lucia.oauth._sealed import Sealer, secret_bytes
from lucia.oauth.client import OAuth2Tokens, generate_code_verifier, generate_nonce, generate_state
from lucia.oauth.errors import (
    InvalidCallbackError,
    InvalidStateError,
    IssuerMismatchError,
    LinkMismatchError,
    LinkReauthenticationRequiredError,
    OAuthResponseError,
    ProviderDeniedError,
    ProviderFailedError,
    SignInError,
    UnknownProviderError,
)
from lucia.oauth.providers.base import OAuthProvider, ProviderCore, ProviderUser
from lucia.oauth.replay import ConsumedStates
from lucia.oauth.transaction import (
    MAX_COOKIE_VALUE,
    MAX_LINK_AGE,
    MAX_TRANSACTION_AGE,
    Transaction,
    is_key_part,
)
from lucia.redirects import RESPONSE_HEADERS, safe_next

__all__ = ["FlowResult", "FlowStart", "SignInFlowCore", "default_user_attributes"]

logger = logging.getLogger("lucia.oauth")

_MAX_PARAMETER = 4096
_MAX_QUERY_LENGTH = 16 * 1024

# A provider's route name is a URL path segment: unreserved characters only.
_ROUTE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# C0 and C1 controls (NUL included): never part of a provider's user id.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207): each may
# appear once (§3.1); a repeated one is an attack or a broken provider.
_RESPONSE_PARAMETERS = ("code", "state", "iss", "error", "error_description", "error_uri")


def default_user_attributes(provider: OAuthProvider, user: ProviderUser) -> dict[str, Any]:
    """The attributes a new user gets by default: the provider's profile fields that are set.

    ``email_verified`` is the provider's word at creation time; an app that
    changes the ``email`` attribute later must reset it.
    """
    attributes: dict[str, Any] = {
        "email": user.email,
        "email_verified": bool(user.email and user.email_verified),
        "name": user.name,
        "username": user.username,
        "avatar_url": user.avatar_url,
    }
    return {key: value for key, value in attributes.items() if value is not None}


# Results


@dataclass(frozen=True, slots=True)
class FlowStart:
    """Where to send the user (``url``, a 302) and the transaction ``cookie`` to set.

    ``repr()`` hides the URL: it carries the state, nonce and PKCE challenge.
    """

    url: str = field(repr=False)
    cookie: Cookie
    provider: str

    @property
    def cookies(self) -> tuple[Cookie, ...]:
        """The cookies to set: the transaction cookie."""
        return (self.cookie,)

    @property
    def headers(self) -> Mapping[str, str]:
        """Headers for the redirect response (no caching, no Referer)."""
        return RESPONSE_HEADERS


@dataclass(frozen=True, slots=True)
class FlowResult:
    """A finished callback: answer with a 303 to ``redirect_to``, setting ``cookies``.

    ``session`` is the new session (None after a link flow, which keeps the
    current one); ``created`` is True when the user was created now, ``linked``
    when the provider identity was attached to an existing user now.
    ``cookies`` holds the session cookie (if any) and the transaction cookie's
    deletion; ``tokens`` are the provider's tokens, for calling its API.
    """

    user: User
    session: Session | None
    created: bool
    linked: bool
    redirect_to: str
    provider: str
    provider_user: ProviderUser
    tokens: OAuth2Tokens = field(repr=False)
    cookies: tuple[Cookie, ...]
    headers: Mapping[str, str] = field(default_factory=lambda: RESPONSE_HEADERS, repr=False)


@dataclass(frozen=True, slots=True)
class OpenedCallback:
    """A callback that passed step 1: its provider, its transaction and its parameters."""

    provider: OAuthProvider
    transaction: Transaction = field(repr=False)
    params: Mapping[str, str] = field(repr=False)


class SignInFlowCore:
    """``SignInFlow``'s configuration and checks (see ``SignInFlow``)."""

    def __init__(
        self,
        auth: Lucia | AsyncLucia,
        providers: Mapping[str, OAuthProvider] | Iterable[OAuthProvider],
        *,
        default_redirect: str = "/",
        transaction_cookie_name: str = "lucia_oauth",
        transaction_max_age: int = MAX_TRANSACTION_AGE,
        secure_cookies: bool | None = None,
        secret_keys: Sequence[str | bytes] | None = None,
        link_by_verified_email: bool = False,
        user_attributes: Callable[[OAuthProvider, ProviderUser], dict[str, Any]] | None = None,
    ) -> None:
        if not isinstance(auth, Lucia | AsyncLucia):
            raise TypeError("auth must be a Lucia or an AsyncLucia")
        self.auth = auth
        named = (
            list(providers.items())
            if isinstance(providers, Mapping)
            else [(getattr(provider, "name", None), provider) for provider in providers]
        )
        self.providers: dict[str, OAuthProvider] = {}
        for route_name, provider in named:
            if not isinstance(provider, OAuthProvider):
                raise TypeError("providers must be OAuthProvider instances")
            if not isinstance(route_name, str) or not _ROUTE_NAME.fullmatch(route_name):
                raise ValueError(
                    f"provider route name {route_name!r}: use 1 to 64 of A-Z a-z 0-9 . _ - "
                    "(pass a mapping such as {'corp': OpenIDConnect(...)} to name a provider "
                    "whose name is a URL)"
                )
            if not is_key_part(provider.name):
                raise ValueError("a provider's name must be 1 to 255 characters")
            if route_name in self.providers:
                raise ValueError(f"two providers are named {route_name!r}")
            self.providers[route_name] = provider
        if safe_next(default_redirect, "") != default_redirect:
            raise ValueError("default_redirect must be a same-origin path such as '/'")
        self.default_redirect = default_redirect
        if (
            not isinstance(transaction_max_age, int)
            or not 0 < transaction_max_age <= MAX_TRANSACTION_AGE
        ):
            raise ValueError("transaction_max_age must be 1 to 600 seconds")
        self.transaction_max_age = transaction_max_age
        if secure_cookies is None:
            secure_cookies = auth.create_blank_session_cookie().attributes.secure
        if secure_cookies and not transaction_cookie_name.startswith("__Host-"):
            # __Host-: only this exact host can set it, over HTTPS, for Path=/ —
            # a sibling subdomain cannot plant a transaction in the user's browser.
            transaction_cookie_name = "__Host-" + transaction_cookie_name
        self._cookie_attributes = CookieAttributes(
            path="/", max_age=transaction_max_age, secure=secure_cookies, same_site="lax"
        )
        # A provider answering with a cross-site POST (response_mode=form_post, as
        # Apple does) gets the cookie only if it is SameSite=None, which browsers
        # accept only when Secure: over plain HTTP it stays Lax.
        self._form_post_attributes = (
            CookieAttributes(path="/", max_age=transaction_max_age, secure=True, same_site="none")
            if secure_cookies
            else self._cookie_attributes
        )
        # Built now so a bad name fails at start-up, not at the first sign-in.
        self.transaction_cookie_name = Cookie(
            transaction_cookie_name, "", self._cookie_attributes
        ).name
        self._sealer = Sealer(
            self.transaction_cookie_name, _secrets(secret_keys), max_length=MAX_COOKIE_VALUE
        )
        self._warned_process_key = False
        self.link_by_verified_email = link_by_verified_email
        self.user_attributes = user_attributes or default_user_attributes
        self._consumed = ConsumedStates()

    def __repr__(self) -> str:
        return f"SignInFlow(providers={list(self.providers)!r})"

    def accepts_post(self, provider: str) -> bool:
        """Whether the callback of the provider routed as ``provider`` arrives as a POST
        (``response_mode=form_post``): only those callback routes answer a POST."""
        found = self._provider(provider)
        return found is not None and found.uses_form_post

    def form_post_paths(self, prefix: str = "") -> tuple[str, ...]:
        """The callback paths (``{prefix}/login/{name}/callback``) of the providers whose
        callback is a cross-site POST: the ``csrf_exempt`` entries a middleware needs for
        them. The flow's own checks (the sealed transaction cookie and its ``state``)
        protect those routes instead of the origin check."""
        prefix = prefix.rstrip("/")
        return tuple(
            f"{prefix}/login/{name}/callback"
            for name, provider in self.providers.items()
            if provider.uses_form_post
        )

    def _adopt_secret(self, secret: object) -> bool:
        """Seal with ``secret`` (a framework's own secret, such as Flask's ``secret_key``)
        if this flow was built without ``secret_keys`` and ``secret`` is a str or bytes of
        at least 32 bytes; True if it did. For integrations, at set-up, before any sign-in."""
        if not self._sealer.process_key:
            return False
        try:
            key = secret_bytes(secret)
        except (TypeError, ValueError):
            return False
        self._sealer = Sealer(self.transaction_cookie_name, [key], max_length=MAX_COOKIE_VALUE)
        return True

    # Cookies

    def clear_transaction_cookie(self) -> Cookie:
        """The cookie that deletes the transaction cookie (Max-Age=0)."""
        attributes = CookieAttributes(
            path="/", max_age=0, secure=self._cookie_attributes.secure, same_site="lax"
        )
        return Cookie(self.transaction_cookie_name, "", attributes)

    def _seal(self, transaction: Transaction) -> str:
        return self._sealer.seal(transaction.to_json())

    def _open(self, value: str) -> Transaction | None:
        raw = self._sealer.open(value)
        return None if raw is None else Transaction.from_json(raw)

    def _provider(self, name: object) -> OAuthProvider | None:
        return self.providers.get(name) if isinstance(name, str) else None

    def _now(self) -> int:
        return int(self.auth.clock().timestamp())

    # Start: the checks before the provider is prepared, then the transaction.

    def _begin(
        self, provider_name: str, link_session: Session | None, link_max_age: timedelta
    ) -> tuple[OAuthProvider, int | None]:
        """The provider to start with and, for a link, its window in seconds."""
        provider = self._provider(provider_name)
        if provider is None:
            raise UnknownProviderError()
        link_age: int | None = None
        if link_session is not None:
            if not isinstance(link_session, Session) or not (
                is_key_part(link_session.user_id) and is_key_part(link_session.id)
            ):
                raise TypeError("link_session must be the signed-in user's current Session")
            link_age = _link_age(link_max_age)
            self._check_recent(link_session, link_age)
        if self._sealer.process_key and not self._warned_process_key:
            self._warned_process_key = True
            logger.warning(
                "SignInFlow has no secret_keys: OAuth transactions are sealed with a random "
                "key of this process and only finish in the process that started them; "
                "pass secret_keys= when several processes serve the app"
            )
        return provider, link_age

    def _started(
        self,
        provider_name: str,
        provider: OAuthProvider,
        next: str | None,
        link_session: Session | None,
        link_age: int | None,
        scopes: tuple[str, ...],
    ) -> FlowStart:
        """The authorization URL and the sealed transaction of a prepared provider."""
        # Fresh for every start, so nothing from an earlier failed attempt is reused.
        state = generate_state()
        code_verifier = generate_code_verifier() if provider.uses_pkce else None
        nonce = generate_nonce() if provider.uses_nonce else None
        url = provider.create_authorization_url(state, code_verifier, scopes=scopes, nonce=nonce)
        transaction = Transaction(
            provider=provider_name,
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
            issuer=provider.issuer,
            issuer_required=bool(provider.requires_iss_parameter),
            next=safe_next(next, self.default_redirect),
            link_user_id=None if link_session is None else link_session.user_id,
            expires_at=self._now() + self.transaction_max_age,
            link_session_id=None if link_session is None else link_session.id,
            link_max_age=link_age,
        )
        attributes = (
            self._form_post_attributes if provider.uses_form_post else self._cookie_attributes
        )
        cookie = Cookie(self.transaction_cookie_name, self._seal(transaction), attributes)
        logger.debug(
            "oauth sign-in started",
            extra={"provider_id": provider.name, "link": link_session is not None},
        )
        return FlowStart(url, cookie, provider_name)

    def _check_recent(self, session: Session, max_age: int) -> None:
        """``LinkReauthenticationRequiredError`` unless ``session`` began within ``max_age``
        seconds (``accounts.require_recent_authentication``'s rule)."""
        try:
            require_recent_authentication(self.auth, session, max_age=timedelta(seconds=max_age))
        except ReauthenticationRequiredError:
            raise LinkReauthenticationRequiredError() from None

    # Callback

    # Callback: the checks around the calls.

    def _lucia(self) -> Lucia:
        if not isinstance(self.auth, Lucia):
            raise TypeError("callback() needs a Lucia; use acallback() with an AsyncLucia")
        return self.auth

    def _alucia(self) -> AsyncLucia:
        if not isinstance(self.auth, AsyncLucia):
            raise TypeError("acallback() needs an AsyncLucia; use callback() with a Lucia")
        return self.auth

    @staticmethod
    def _current(session: Session | None, user_id: str | None) -> Session | None:
        if session is not None and user_id is not None and session.user_id != user_id:
            raise ValueError("current_user_id is not the user of current_session")
        return session

    def _opened(
        self, provider_name: str, query: Mapping[str, str] | str, cookie_header: str | None
    ) -> OpenedCallback:
        """Step 1: which provider, and is this the browser that started it (state, cookie)?"""
        provider = self._provider(provider_name)
        if provider is None:
            raise UnknownProviderError()
        params = _callback_parameters(query, provider.callback_fields)
        value = read_cookie(cookie_header, self.transaction_cookie_name)
        if value is None:
            raise InvalidStateError("missing_cookie")
        transaction = self._open(value)
        if transaction is None:
            raise InvalidStateError("malformed_cookie")
        now = self._now()
        if now >= transaction.expires_at:
            raise InvalidStateError("expired")
        if transaction.provider != provider_name:
            raise InvalidStateError("wrong_provider")
        state = params.get("state")
        if state is None:
            raise InvalidStateError("missing_state")
        if not hmac.compare_digest(state.encode(), transaction.state.encode()):
            raise InvalidStateError("state_mismatch")
        if not self._consumed.consume(transaction.state, transaction.expires_at, now):
            raise InvalidStateError("replayed")
        return OpenedCallback(provider, transaction, params)

    def _authorization_code(self, opened: OpenedCallback, current: Session | None) -> str:
        """Steps 2 and 3, once the provider is prepared: the answer comes from the issuer the
        transaction went to (RFC 9207), and is a code, not the provider's error."""
        provider, transaction, params = opened.provider, opened.transaction, opened.params
        iss = params.get("iss")
        if transaction.issuer is not None:
            if iss is None:
                if transaction.issuer_required or provider.requires_iss_parameter:
                    raise IssuerMismatchError("the authorization response has no iss")
            elif iss != transaction.issuer:
                raise IssuerMismatchError()
        error = params.get("error")
        if error is not None:
            raise ProviderDeniedError(
                error, params.get("error_description"), params.get("error_uri")
            )
        code = params.get("code")
        if not code:
            raise InvalidCallbackError("the authorization response has no code")
        if transaction.link_user_id is not None:
            # Checked before the code is redeemed: a link finished in another
            # session, or in one that is no longer recent, must not even fetch
            # the identity.
            self._check_link(transaction, current)
        return code

    def _check_link(self, transaction: Transaction, current: Session | None) -> None:
        """A link finishes only in the session that started it, while it is recent."""
        if (
            current is None
            or current.user_id != transaction.link_user_id
            or not hmac.compare_digest(
                current.id.encode(), (transaction.link_session_id or "").encode()
            )
        ):
            raise LinkMismatchError()
        assert transaction.link_max_age is not None  # set with link_user_id (from_json)
        self._check_recent(current, transaction.link_max_age)

    @staticmethod
    @contextlib.contextmanager
    def _provider_failures(provider: OAuthProvider) -> Iterator[None]:
        """The provider's failures inside become ``ProviderFailedError``."""
        try:
            yield
        except OAuthError as exc:
            raise ProviderFailedError(exc) from exc
        except Exception as exc:
            # A provider bug or an answer it did not foresee: still a failed login,
            # not a crash. Only the type is logged: a message could quote a token.
            logger.warning(
                "oauth provider failed unexpectedly",
                extra={"provider_id": provider.name, "exception": type(exc).__name__},
            )
            cause = OAuthResponseError("the provider's answer could not be processed")
            raise ProviderFailedError(cause) from exc

    @staticmethod
    def _checked_provider_user(provider_user: object) -> ProviderUser:
        if not isinstance(provider_user, ProviderUser) or not _is_provider_user_id(
            provider_user.id
        ):
            raise ProviderFailedError(OAuthResponseError("the provider's user has no usable id"))
        return provider_user

    @staticmethod
    def _callback_fields(opened: OpenedCallback) -> dict[str, str]:
        """The callback's own parameters its provider's ``callback_fields`` name (those it had)."""
        names = opened.provider.callback_fields
        return {key: opened.params[key] for key in names if key in opened.params}

    @classmethod
    def _code_fields(cls, opened: OpenedCallback) -> dict[str, Mapping[str, str]]:
        """The keyword arguments of step 4's ``validate_authorization_code`` besides the
        nonce: ``callback_fields`` for a provider whose token request reads them (one with
        a ``callback_code_request`` of its own, as VK ID's), nothing for any other. A
        provider that overrides ``validate_authorization_code(code, verifier, *, nonce)``
        without that keyword (one written before it, or a test's fake) is thus called as
        before: only a provider written for the keyword is ever given it."""
        method = type(opened.provider).callback_code_request
        if method is ProviderCore.callback_code_request:
            return {}
        return {"callback_fields": cls._callback_fields(opened)}

    def _completed_user(self, opened: OpenedCallback, provider_user: ProviderUser) -> ProviderUser:
        """The user with what the callback's own fields add (``callback_user``: Apple's
        name, sent by the browser). Such fields are the user's word, not the provider's:
        they may never change the identity or the email."""
        provider = opened.provider
        fields = self._callback_fields(opened)
        if not fields:
            return provider_user
        with self._provider_failures(provider):
            completed = provider.callback_user(provider_user, fields)
        if not isinstance(completed, ProviderUser) or (
            completed.id,
            completed.email,
            completed.email_verified,
        ) != (provider_user.id, provider_user.email, provider_user.email_verified):
            raise ProviderFailedError(
                OAuthResponseError("a callback field changed the provider's user id or email")
            )
        return completed

    def _linking_email(self, provider_user: ProviderUser) -> str | None:
        """The address a first sign-in may link by (``link_by_verified_email``), or None."""
        if not self.link_by_verified_email or not provider_user.email_verified:
            return None
        return normalize_email(provider_user.email)

    @staticmethod
    def _email_verified_on_lucia(user: User, email: str) -> bool:
        attributes = user.attributes
        return attributes.get("email_verified") is True and (
            normalize_email(attributes.get("email")) == email
        )

    def _finished(
        self,
        opened: OpenedCallback,
        provider_name: str,
        provider_user: ProviderUser,
        tokens: OAuth2Tokens,
        user: User,
        *,
        linked: bool,
        created: bool = False,
        session: Session | None = None,
    ) -> FlowResult:
        """The result of a finished callback, logged: a sign-in sets its new ``session``'s
        cookie; a link (``session`` None) keeps the current session."""
        cookies: tuple[Cookie, ...] = (self.clear_transaction_cookie(),)
        if session is not None:
            cookies = (self.auth.create_session_cookie(session), *cookies)
            logger.info(
                "oauth sign-in",
                extra={
                    "provider_id": opened.provider.name,
                    "user_id": user.id,
                    "user_created": created,
                    "identity_linked": linked,
                },
            )
        elif linked:
            logger.info(
                "oauth identity linked",
                extra={"provider_id": opened.provider.name, "user_id": user.id},
            )
        return FlowResult(
            user=user,
            session=session,
            created=created,
            linked=linked,
            redirect_to=opened.transaction.next,
            provider=provider_name,
            provider_user=provider_user,
            tokens=tokens,
            cookies=cookies,
        )

    def _failed(self, error: SignInError, provider_name: str) -> None:
        """Ready ``error`` to answer with (the transaction cookie's deletion), and log it."""
        error.cookies = (self.clear_transaction_cookie(),)
        provider = self._provider(provider_name)
        error.provider = None if provider is None else provider_name
        extra: dict[str, Any] = {
            "provider_id": None if provider is None else provider.name,
            "error_code": error.code,
        }
        if isinstance(error, InvalidStateError):
            extra["reason"] = error.reason
        elif isinstance(error, ProviderDeniedError):
            extra["provider_error"] = error.error
        elif isinstance(error, ProviderFailedError):
            extra["cause"] = error.cause.code
        logger.info("oauth sign-in failed", extra=extra)


def _is_provider_user_id(value: object) -> bool:
    """A usable provider user id: 1 to 255 characters of storable text, no control
    character (a NUL would reach the database, which PostgreSQL refuses)."""
    if not is_key_part(value) or _CONTROL.search(cast(str, value)):
        return False
    try:
        cast(str, value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from JSON's \ud800
        return False
    return True


def _secrets(secret_keys: Sequence[str | bytes] | None) -> list[bytes] | None:
    """The raw secrets of ``secret_keys`` (None: none given), checked."""
    if secret_keys is None:
        return None
    if isinstance(secret_keys, str | bytes | bytearray):
        raise TypeError("secret_keys must be a list of secrets, such as [os.environ['SECRET']]")
    keys = [secret_bytes(secret) for secret in secret_keys]
    if not keys:
        raise ValueError("secret_keys must hold at least one secret")
    return keys


def _link_age(max_age: timedelta) -> int:
    """``max_age`` in whole seconds, 1 second to a day; ``ValueError`` otherwise."""
    if not isinstance(max_age, timedelta):
        raise TypeError("link_max_age must be a timedelta")
    seconds = int(max_age.total_seconds())
    if not 0 < seconds <= MAX_LINK_AGE:
        raise ValueError("link_max_age must be 1 second to 1 day")
    return seconds


def _callback_parameters(
    query: Mapping[str, str] | str, extra: Sequence[str] = ()
) -> dict[str, str]:
    """The authorization response's parameters, and the provider's own ``extra`` ones
    (``callback_fields``); ``InvalidCallbackError`` if malformed."""
    names = (*_RESPONSE_PARAMETERS, *extra)
    params: dict[str, str] = {}
    if isinstance(query, str):
        if len(query) > _MAX_QUERY_LENGTH:
            raise InvalidCallbackError("the callback's query string is too long")
        try:
            pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=64)
        except ValueError:
            raise InvalidCallbackError("the callback's query string is malformed") from None
        for key, value in pairs:
            if key in names:
                if key in params:
                    raise InvalidCallbackError(f"the parameter {key!r} is repeated")
                params[key] = value
    elif isinstance(query, Mapping):
        for key in names:
            given = query.get(key)
            if given is None:
                continue
            if not isinstance(given, str):
                raise InvalidCallbackError(f"the parameter {key!r} is not a string")
            params[key] = given
    else:
        raise TypeError("query must be the query string or a mapping of its parameters")
    for key, value in params.items():
        if len(value) > _MAX_PARAMETER:
            raise InvalidCallbackError(f"the parameter {key!r} is too long")
    return params
