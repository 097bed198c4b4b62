"""FastAPI integration: dependencies for the signed-in user and ``auth_router``.

Install ``lucia.integrations.starlette.LuciaMiddleware`` on the app; then

    @app.get("/me")
    async def me(user: User = Depends(current_user)) -> dict[str, str]:
        return {"id": user.id}

``current_user`` and ``current_session`` answer 401 (with
``WWW-Authenticate: Bearer``) when the request is signed out;
``optional_user`` gives None instead. ``auth_router`` mounts the same OAuth,
sign-out and (with ``passwords=True``) password handlers as
``lucia.integrations.starlette.auth_routes``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, HTTPException
from starlette.requests import Request

from lucia.accounts import REAUTHENTICATION_MAX_AGE
from lucia.core import AsyncLucia
from lucia.integrations import starlette as _starlette
from lucia.models import Session, User
from lucia.throttle import SignInThrottle

if TYPE_CHECKING:
    from lucia.oauth.flow import SignInFlow  # the OAuth extra: only where routes are mounted

__all__ = [
    "CurrentSession",
    "CurrentUser",
    "OptionalUser",
    "auth_router",
    "current_session",
    "current_user",
    "optional_user",
]

_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"}


def _unauthorized() -> HTTPException:
    return HTTPException(401, "Not signed in", headers=_UNAUTHORIZED_HEADERS)


async def optional_user(request: Request) -> User | None:
    """The signed-in user, or None."""
    return _starlette.current_user(request)


async def current_user(request: Request) -> User:
    """The signed-in user; 401 with ``WWW-Authenticate: Bearer`` when signed out."""
    user = _starlette.current_user(request)
    if user is None:
        raise _unauthorized()
    return user


async def current_session(request: Request) -> Session:
    """The request's session; 401 with ``WWW-Authenticate: Bearer`` when signed out."""
    session = _starlette.current_session(request)
    if session is None:
        raise _unauthorized()
    return session


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentSession = Annotated[Session, Depends(current_session)]


def auth_router(
    auth: AsyncLucia,
    flow: SignInFlow,
    *,
    prefix: str = "",
    after_logout: str = "/",
    passwords: bool = False,
    throttle: SignInThrottle | None = None,
    return_tokens: bool = False,
    reauthentication_max_age: timedelta = REAUTHENTICATION_MAX_AGE,
) -> APIRouter:
    """An ``APIRouter`` with ``GET {prefix}/login/{provider}``,
    ``GET {prefix}/login/{provider}/callback`` (``POST`` too, for a provider whose
    callback is a form post) and ``POST {prefix}/logout``, and
    with ``passwords=True`` the password routes: the Starlette handlers,
    unchanged (see ``lucia.integrations.starlette.auth_routes``)."""
    router = APIRouter(prefix=prefix.rstrip("/"))
    # The same routes as Starlette's auth_routes (one table of paths and
    # handlers), kept out of the OpenAPI schema.
    routes = _starlette.auth_routes(
        auth,
        flow,
        after_logout=after_logout,
        passwords=passwords,
        throttle=throttle,
        return_tokens=return_tokens,
        reauthentication_max_age=reauthentication_max_age,
    )
    for route in routes:
        methods = sorted((route.methods or set()) - {"HEAD"})  # HEAD: Starlette's own addition
        router.add_api_route(route.path, route.endpoint, methods=methods, include_in_schema=False)
    return router
