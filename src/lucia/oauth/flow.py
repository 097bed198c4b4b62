"""The eight-step "Sign in with <provider>" flow as one reusable, framework-agnostic handler.

    flow = SignInFlow(auth, [github, google], secret_keys=[os.environ["LUCIA_OAUTH_SECRET"]])

    # GET /login/{provider}   (a link: POST, with link_session=the recent current session)
    start = flow.start(provider, next=request.query.get("next"))
    # -> 302 to start.url, Set-Cookie: start.cookie

    # GET /login/{provider}/callback
    try:
        result = flow.callback(
            provider, request.query_string, request.headers.get("cookie"),
            current_session=session,  # the request's session, or None
        )
    except SignInError as error:
        # -> error.status, error.render_html(), Set-Cookie: error.cookies, error.headers
    # -> 303 to result.redirect_to, Set-Cookie: result.cookies, result.headers

``start`` mints a transaction (state, PKCE verifier, OpenID nonce, the provider's
name and issuer, a safe ``next``, and for a link flow the signed-in user's id,
session id and the re-authentication window), keeps it in a short-lived cookie
in the browser, and returns the provider's authorization URL. ``callback``
checks the provider's answer against that cookie, exchanges the code, fetches
the provider's user, finds or creates the lucia user keyed on
``(provider.name, provider_user.id)`` and creates a session.
Every failure is a ``SignInError`` (an ``OAuthError``) with the HTTP ``status``
to answer, the ``cookies`` to set (the transaction cookie's deletion) and a
``render_html()`` that escapes everything the provider said.

The flow is written once: its checks in ``lucia.oauth.flow_core``, its calls
(the provider, then lucia) as async code in ``lucia.oauth._async.flow``, from
which the sync ``start``/``callback`` are generated; ``callback`` needs a
``Lucia``, ``acallback`` an ``AsyncLucia``. The transaction is
``lucia.oauth.transaction``, the replay cache ``lucia.oauth.replay``.

Why the transaction cookie is sealed (AES-256-GCM, ``lucia.oauth._sealed``):
the callback acts on what the cookie says (which provider, which user a link
attaches the identity to, where to go next, the PKCE verifier and nonce), and a
browser can write anything into its own cookie. An unsealed cookie let a thief
of a stale session rewrite an ordinary sign-in into a link to the victim's
account, skipping the re-authentication that linking demands. Sealed, the
browser can neither read the verifier and nonce nor change a byte without the
cookie being refused (``InvalidStateError("malformed_cookie")``), and a link
still re-checks at the callback that the current session is the one that
started it and is recent. Keeping the transaction in the browser (not in a
server-side store) keeps the flow free of any store to configure or clean up.
"""

from __future__ import annotations

from lucia.emails import EMAIL_PROVIDER_ID, normalize_email
from lucia.oauth import errors
from lucia.oauth._async.flow import _AsyncSignInSteps
from lucia.oauth._sync.flow import _SignInSteps
from lucia.oauth.errors import *  # noqa: F403  # its errors, importable from here too: errors.__all__
from lucia.oauth.flow_core import FlowResult, FlowStart, default_user_attributes
from lucia.redirects import RESPONSE_HEADERS, safe_next

__all__ = [
    "EMAIL_PROVIDER_ID",
    "RESPONSE_HEADERS",
    "FlowResult",
    "FlowStart",
    "SignInFlow",
    "default_user_attributes",
    "normalize_email",
    "safe_next",
]
__all__ += errors.__all__


class SignInFlow(_SignInSteps, _AsyncSignInSteps):
    """Sign-in (and account linking) with OAuth 2.0 / OpenID Connect providers.

    ``providers`` maps the name each provider has in the routes
    (``/login/{name}``) to the provider; a plain list uses each provider's own
    ``name``. Users are keyed on ``(provider.name, provider_user.id)`` either
    way, so an ``OpenIDConnect`` provider, whose ``name`` is its issuer URL, is
    given a route name with a mapping: ``{"corp": OpenIDConnect(...)}``.

    The transaction cookie is ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, lives
    ``transaction_max_age`` seconds (at most 600), and is ``Secure`` and named
    ``__Host-<transaction_cookie_name>`` unless ``secure_cookies`` is False
    (default: what ``auth`` uses for its session cookie). Its value is sealed
    (AES-256-GCM) under ``secret_keys``: secrets (str or bytes) of at least 32
    bytes each; the first seals, every one opens, so rotating is putting a new
    secret first and dropping the old one once the transactions it sealed have
    expired (10 minutes). Without ``secret_keys``, a random key made once per
    process seals them: sign-ins then finish only in the process that started
    them, so an app served by several processes must pass ``secret_keys``.
    ``default_redirect`` is where users land when ``next`` is absent or unsafe.

    ``link_by_verified_email`` (off by default) lets a first sign-in with a new
    identity attach it to an existing user instead of creating one, only when the
    provider says the email is verified *and* lucia's side says so too: a key
    ``("email", normalize_email(address))`` owned by a user whose attributes hold
    that ``email`` and ``email_verified: True``. With it on, users created here
    with a provider-verified email get that email key too, so a second provider
    can find them. ``user_attributes`` makes a new user's attributes (default:
    ``default_user_attributes``).
    """
