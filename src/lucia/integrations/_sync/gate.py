# Generated from src/lucia/integrations/_async/gate.py by scripts/generate_sync.py: do not edit.
"""``authenticate``: one request through the gate, with its one store call.

Written once as async source in ``lucia/integrations/_async/`` and generated
for the other flavour by ``scripts/generate_sync.py``: each integration calls
the one for the flavour of lucia it holds.
"""

from __future__ import annotations

from collections.abc import Callable

from lucia.core import Lucia
from lucia.errors import DatabaseError
from lucia.integrations._middleware import (
    FORBIDDEN,
    UNSAFE_METHODS,
    Gate,
    Headers,
    RequestPlan,
    unavailable,
)

__all__ = ["authenticate"]


def authenticate(
    gate: Gate,
    auth: Lucia,
    method: str,
    path: str,
    cookie_header: str | None,
    authorization: str | None,
    headers: Callable[[], Headers],
) -> RequestPlan:
    """The request's plan: the session and user to expose and the cookie upkeep
    owed, or a ``refusal`` to answer with instead (403 cross-site, 503 when the
    store failed). ``method`` is upper case; ``headers()`` is called only for the
    origin check of an unsafe request."""
    # Every request runs this: the decisions are inline, one call deep, and the
    # usual request (a safe method, one session cookie, a session not due for
    # renewal) allocates nothing but its plan.
    if method in UNSAFE_METHODS:
        exempt = bool(gate.csrf_exempt) and gate.is_exempt(path)
        checked = not exempt
    else:
        exempt = checked = False
    # Every session cookie sent: a tossed one must not hide the real one.
    cookie_tokens = auth.read_session_cookies(cookie_header) if cookie_header and not exempt else []
    bearer_token = None
    if not cookie_tokens and gate.bearer and authorization is not None:
        bearer_token = auth.read_bearer_token(authorization)
    plan = RequestPlan(cookie_tokens, bearer_token, checked)
    if checked and bearer_token is None and not gate.origin_ok(method, headers()):
        # A bearer token with no cookie skips the check until it proves invalid:
        # there is no ambient credential to forge a request with.
        plan.refusal = FORBIDDEN
        return plan
    if cookie_tokens:
        tokens = cookie_tokens
    elif bearer_token is not None:
        tokens = [bearer_token]
    else:
        return plan
    try:
        found = auth.validate_session_tokens(tokens)
    except DatabaseError as exc:
        plan.refusal = unavailable(exc)
        return plan
    if found is not None:
        plan.session, plan.user = found
    elif bearer_token is not None and checked and not gate.origin_ok(method, headers()):
        # An invalid bearer token is no credential at all: checked as usual.
        plan.refusal = FORBIDDEN
        return plan
    if cookie_tokens:
        plan.set_cookie = auth.session_cookie_upkeep(cookie_tokens, plan.session)
    return plan
