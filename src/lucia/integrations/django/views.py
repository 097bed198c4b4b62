"""The OAuth sign-in views, sign-out and the password routes (mounted by ``urls.py``).

They are sync views: the flow runs with ``Lucia`` and each provider's sync
``httpx`` client, which works under WSGI and (in Django's sync thread) under
ASGI alike, with no event loop bound to a provider's client. The password
views (``password_route``) answer 404 unless ``LUCIA["PASSWORD_ROUTES"]`` is on.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import SuspiciousOperation  # type: ignore[import-untyped]
from django.http import (  # type: ignore[import-untyped]
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.http.multipartparser import MultiPartParserError  # type: ignore[import-untyped]

from lucia.errors import LuciaError
from lucia.integrations import _passwords
from lucia.integrations._sync.sign_in import Page, Redirect, finish_sign_in, start_sign_in
from lucia.integrations.django.conf import (
    get_flow,
    get_lucia,
    get_password_config,
    lucia_settings,
)
from lucia.integrations.django.middleware import (
    client_ip,
    cookie_header,
    current_session,
    current_user,
    session_attributes,
    set_cookie,
    sign_out,
)
from lucia.redirects import safe_next

__all__ = ["callback", "login", "logout", "password_route"]


class _SeeOther(HttpResponseRedirect):  # type: ignore[misc]
    status_code = 303


def _answer(outcome: Redirect | Page) -> HttpResponse:
    """An OAuth route's answer: its redirect, or the error page."""
    if isinstance(outcome, Redirect):
        response = (_SeeOther if outcome.status == 303 else HttpResponseRedirect)(outcome.url)
    else:
        response = HttpResponse(
            outcome.body, status=outcome.status, content_type="text/html; charset=utf-8"
        )
    for name, value in outcome.headers.items():
        response[name] = value
    for cookie in outcome.cookies:
        set_cookie(response, cookie)
    return response


def login(request: Any, provider: str) -> HttpResponse:
    """``GET login/<provider>/``: 302 to the provider, with the transaction cookie."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    return _answer(start_sign_in(get_flow(), provider, request.GET.get("next")))


def callback(request: Any, provider: str) -> HttpResponse:
    """``GET login/<provider>/callback/`` (``POST`` for a provider whose callback is a
    form post): finish, then 303 to the stored ``next``."""
    flow = get_flow()
    query = request.META.get("QUERY_STRING", "")
    if request.method == "POST" and flow.accepts_post(provider):
        # Exempt from LuciaMiddleware's origin check (conf.py): the flow's state and
        # sealed transaction cookie protect it. Django caps the body it reads
        # (DATA_UPLOAD_MAX_MEMORY_SIZE), and the flow refuses one over 16 KiB.
        query = request.body.decode("latin-1")
    elif request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    outcome = finish_sign_in(
        flow,
        get_lucia(),
        provider,
        query,
        cookie_header(request),
        session_attributes(request),
        current_session(request),
    )
    return _answer(outcome)


def logout(request: Any) -> HttpResponse:
    """``POST logout/``: delete the session server-side, clear the cookie, 303 to
    ``LUCIA["AFTER_LOGOUT"]`` (origin-checked by ``LuciaMiddleware``)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    response = _SeeOther(safe_next(lucia_settings().after_logout))
    sign_out(request, response)
    return response


def _read_fields(request: Any) -> dict[str, str] | LuciaError:
    """The body's fields, parsed by Django (``request.POST``, or ``json.loads`` of a
    JSON body), or the error it is refused with. Past ``MAX_BODY`` it is never read."""
    try:
        kind = _passwords.body_kind(request.META.get("CONTENT_TYPE"))
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > _passwords.MAX_BODY:
            raise _passwords.BodyTooLargeError()
        if kind == "json":
            return _passwords.json_fields(json.loads(request.body))
        return _passwords.form_fields(
            (name, value) for name, values in request.POST.lists() for value in values
        )
    except LuciaError as error:
        return error
    except (ValueError, MultiPartParserError, SuspiciousOperation):
        # Invalid JSON or UTF-8, a broken multipart body, too many fields.
        return _passwords.malformed_body(kind)


def password_route(request: Any, action: _passwords.Action, provider: str | None = None) -> Any:
    """``POST signup/``, ``signin/``, ``password/``, ``reauthenticate/``,
    ``link/<provider>/``, ``unlink/<provider>/``, ``sessions/revoke/`` and
    ``sessions/revoke-others/`` (``urls.py`` passes ``action``)."""
    if not lucia_settings().password_routes:
        raise Http404()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    reply = _passwords.run(
        get_password_config(),
        _passwords.PasswordRequest(
            action=action,
            content_type=request.META.get("CONTENT_TYPE"),
            accept=request.META.get("HTTP_ACCEPT"),
            fields=_read_fields(request),
            query_next=request.GET.get("next"),
            session=current_session(request),
            user=current_user(request),
            address=client_ip(request),
            session_attributes=session_attributes(request),
            provider=provider,
        ),
    )
    response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers:
        response[name] = value
    for cookie in reply.cookies:
        set_cookie(response, cookie)
    return response
