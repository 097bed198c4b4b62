# Generated from src/lucia/integrations/_async/sign_in.py by scripts/generate_sync.py: do not edit.
"""The OAuth routes and the sign-in and sign-out helpers, once for every framework.

What ``GET /login/<provider>``, its callback, ``sign_in`` and ``sign_out`` do
with lucia, with no framework in it: each integration reads the request, calls
one of these and turns the answer into its own response (a ``Redirect`` with its
own redirect class, a ``Page`` as its own HTML response, a ``Cookie`` with its
own header API). Written once as async source in
``lucia/integrations/_async/``; ``lucia/integrations/_sync/sign_in.py`` is
generated from it by ``scripts/generate_sync.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lucia.cookies import Cookie
from lucia.core import Lucia
from lucia.models import Session
from lucia.redirects import RESPONSE_HEADERS

if TYPE_CHECKING:
    # The OAuth flow (httpx, joserfc) is imported only where its routes run, so
    # a password-only app never loads the OAuth extra.
    from lucia.oauth.errors import SignInError
    from lucia.oauth.flow import SignInFlow

__all__ = ["Page", "Redirect", "end_session", "finish_sign_in", "replace_session", "start_sign_in"]

logger = logging.getLogger("lucia.integrations")


class Redirect(NamedTuple):
    """A redirect an OAuth route answers with: where (``url``), its ``status``
    (302 or 303), its headers and the cookies it sets."""

    url: str
    status: int
    headers: Mapping[str, str]
    cookies: tuple[Cookie, ...]


class Page(NamedTuple):
    """The error page an OAuth route answers with (a failed sign-in): its HTML
    ``body``, ``status``, headers (``no-store`` and the page's own) and the
    cookies it sets (the transaction cookie's deletion)."""

    body: str
    status: int
    headers: Mapping[str, str]
    cookies: tuple[Cookie, ...]


def _page(error: SignInError) -> Page:
    return Page(
        error.render_html(), error.status, {**RESPONSE_HEADERS, **error.headers}, error.cookies
    )


def start_sign_in(flow: SignInFlow, provider: str, next: str | None) -> Redirect | Page:
    """``GET /login/<provider>``: a 302 to the provider with the transaction
    cookie, or the error page to show (an unknown provider, say)."""
    from lucia.oauth.errors import SignInError

    try:
        start = flow.start(provider, next=next)
    except SignInError as error:
        return _page(error)
    return Redirect(start.url, 302, start.headers, start.cookies)


def finish_sign_in(
    flow: SignInFlow,
    auth: Lucia,
    provider: str,
    query: str,
    cookie_header: str | None,
    session_attributes: dict[str, Any],
    old: Session | None,
) -> Redirect | Page:
    """The callback: a 303 to the stored ``next`` with the session cookie, or the
    error page to show. ``query`` is the raw query string (or a form post's
    body), ``old`` the request's session: a link finishes only in the session
    that started it, and a sign-in replaces it."""
    from lucia.oauth.errors import SignInError

    try:
        result = flow.callback(
            provider,
            query,
            cookie_header,
            session_attributes=session_attributes,
            current_session=old,
        )
    except SignInError as error:
        return _page(error)
    if result.session is not None and old is not None:
        # A sign-in replaces whatever session the browser held (fixation).
        auth.invalidate_session(old.id)
    return Redirect(result.redirect_to, 303, {**RESPONSE_HEADERS, **result.headers}, result.cookies)


def replace_session(
    auth: Lucia, old: Session | None, user_id: str, attributes: dict[str, Any]
) -> tuple[Session, Cookie]:
    """A new session for ``user_id`` and its cookie; the request's ``old`` session,
    if any, is invalidated first, so a sign-in always issues a new token (no
    session fixation)."""
    if old is not None:
        auth.invalidate_session(old.id)
    session = auth.create_session(user_id, attributes=attributes)
    return session, auth.create_session_cookie(session)


def end_session(auth: Lucia, session: Session | None) -> Cookie:
    """Invalidate the request's ``session`` server-side (when there is one); the
    cookie that clears the session cookie."""
    if session is not None:
        auth.invalidate_session(session.id)
        logger.info("signed out", extra={"user_id": session.user_id})
    return auth.create_blank_session_cookie()
