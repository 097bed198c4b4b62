"""The password, re-authentication, linking and session routes, once for every framework.

A framework shell (``starlette.py``, ``flask.py``, ``django/views.py``) mounts
one POST route per entry of ``ROUTES``, reads each request into a
``PasswordRequest`` (the body's fields, the request's session and client
address) and answers it with ``run`` (``Lucia``) or ``arun``
(``AsyncLucia``). The answer is a ``Reply``: status, body, headers and
cookies, which the shell copies into its own response class.

The shell parses the body with its framework's own parsers (urlencoded and
``multipart/form-data`` forms, JSON), as ``body_kind`` says, within
``MAX_BODY``, and hands the result to ``form_fields`` or ``json_fields``; a
body that cannot be read becomes the ``LuciaError`` it passes instead of the
fields. Everything else is done here, for every shell: what counts as a field, the
``lucia.accounts`` calls, re-authentication, throttling, and the mapping of
every ``LuciaError`` to a status, so no shell ever lets one escape.

This module is what the shells import. The actions are written once, as async
code, in ``lucia/integrations/_async/routes.py`` (``arun``); ``run`` is
generated from it (``lucia/integrations/_sync/routes.py``). Requests,
replies, bodies and errors are in ``lucia/integrations/_passwords_base.py``.
"""

from __future__ import annotations

from lucia.errors import LastKeyError as LastKeyError  # re-exported: it used to live here
from lucia.integrations._async.routes import arun
from lucia.integrations._passwords_base import (
    MAX_BODY,
    MAX_FIELDS,
    ROUTES,
    Action,
    BadRequestError,
    BodyKind,
    BodyTooLargeError,
    NoPasswordError,
    NotSignedInError,
    PasswordConfig,
    PasswordRequest,
    Reply,
    SessionNotFoundError,
    UnsupportedBodyError,
    body_kind,
    check_trusted_proxies,
    form_fields,
    json_fields,
    malformed_body,
)
from lucia.integrations._sync.routes import run

__all__ = [
    "MAX_BODY",
    "MAX_FIELDS",
    "ROUTES",
    "Action",
    "BadRequestError",
    "BodyKind",
    "BodyTooLargeError",
    "NoPasswordError",
    "NotSignedInError",
    "PasswordConfig",
    "PasswordRequest",
    "Reply",
    "SessionNotFoundError",
    "UnsupportedBodyError",
    "arun",
    "body_kind",
    "check_trusted_proxies",
    "form_fields",
    "json_fields",
    "malformed_body",
    "run",
]
