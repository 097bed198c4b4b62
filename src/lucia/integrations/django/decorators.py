"""``login_required``: a view only signed-in users reach (sync or async views)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import (  # type: ignore[import-untyped]
    HttpResponse,
    HttpResponseRedirect,
)

from lucia.integrations.django.conf import lucia_settings
from lucia.integrations.django.middleware import current_user

__all__ = ["login_required"]

V = TypeVar("V", bound=Callable[..., Any])


def _refusal(request: Any) -> HttpResponse | None:
    """None when the request is signed in; else 401, or a redirect to ``LOGIN_URL``."""
    if current_user(request) is not None:
        return None
    login_url = lucia_settings().login_url
    if login_url is None:
        response = HttpResponse("Unauthorized", status=401, content_type="text/plain")
    else:
        # Only a GET can be replayed by a redirect; the path is checked again by
        # safe_next when the sign-in route reads it.
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        response = HttpResponseRedirect(f"{login_url}?{query}" if query else login_url)
    response["Cache-Control"] = "no-store"
    return response


def login_required(view: V) -> V:
    """Wrap a view (function, sync or async) so signed-out requests get 401, or a
    redirect to ``LUCIA["LOGIN_URL"]?next=<path>`` when that is set."""
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
            return await view(request, *args, **kwargs)

        markcoroutinefunction(async_wrapper)
        return cast(V, async_wrapper)

    @functools.wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        return view(request, *args, **kwargs)

    return cast(V, wrapper)
