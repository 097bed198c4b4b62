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
from lucia.integrations._middleware import Gate, Headers, RequestPlan, unavailable

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
    plan = gate.begin(method, path, cookie_header, authorization, headers)
    if plan.refusal is None and (plan.cookie_tokens or plan.bearer_token is not None):
        try:
            found = auth.validate_session_tokens(plan.tokens)
        except DatabaseError as exc:
            plan.refusal = unavailable(exc)
            return plan
        gate.adopt(plan, found, method, headers)
    return plan
