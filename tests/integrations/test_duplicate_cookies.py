"""Cookie tossing (SECURITY.md item 48) at the HTTP level, in Starlette, Flask and
Django (sync and async): with several session cookies in the Cookie header, each
is tried, the first valid one is used, and no clearing cookie is sent while a
valid one is present (nor while one went untried); with only invalid ones, the
cookie is cleared as before.

A sibling subdomain (``evil.app.example``) can set a cookie of lucia's name for
the parent domain or a longer path; the browser then sends it next to the real
one, often first. Before, the first one decided, and an invalid tossed cookie
made the middleware clear the victim's real cookie on every request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from flask import Flask, g
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter
from lucia.core import MAX_SESSION_COOKIES
from lucia.integrations.flask import LuciaFlask
from lucia.integrations.starlette import LuciaMiddleware, current_user
from lucia.sessions import utc_now
from tests.conftest import Clock
from tests.integrations.django_project import setup

setup()

from django.test import AsyncClient, Client, override_settings  # noqa: E402

from lucia.integrations.django.conf import get_lucia  # noqa: E402
from tests.conformance.backends_django import fresh_database  # noqa: E402

NAME = "auth_session"
LIFE = timedelta(hours=2)
# Token-shaped, so each costs a store read like a real one, but no such session.
TOSSED = ["A" * 20 + "." + "B" * 43, "C" * 20 + "." + "D" * 43, "junk", "E" * 20 + "." + "F" * 43]


@dataclass
class Reply:
    status: int
    body: str
    set_cookies: list[str]  # the raw Set-Cookie values for lucia's session cookie


@dataclass
class Site:
    """One framework's app: ``get(cookie_header)`` GETs /me with exactly that header."""

    name: str
    clock: Clock
    new_session: Callable[[], Any]  # a (token, user id) of a fresh user's session
    get: Callable[[str], Reply]


def _session_cookies(headers: list[str]) -> list[str]:
    return [raw for raw in headers if raw.startswith(NAME + "=")]


def _starlette(clock: Clock) -> Iterator[Site]:
    auth = AsyncLucia(AsyncMemoryAdapter(), clock=clock, session_expires_in=LIFE)

    async def me(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return PlainTextResponse("signed out", status_code=401)
        return JSONResponse({"id": user.id})

    app = Starlette(routes=[Route("/me", me)], middleware=[Middleware(LuciaMiddleware, auth=auth)])
    transport = httpx.ASGITransport(app=app)

    with asyncio.Runner() as runner:

        async def fetch(header: str) -> Reply:
            async with httpx.AsyncClient(transport=transport, base_url="https://app.example") as c:
                response = await c.get("/me", headers={"Cookie": header})
            return Reply(
                response.status_code,
                response.text,
                _session_cookies(response.headers.get_list("set-cookie")),
            )

        count = iter(range(1000))

        async def new_session() -> tuple[str, str]:
            user = await auth.create_user("github", str(next(count)))
            session = await auth.create_session(user.id)
            return session.token, user.id

        yield Site(
            "starlette",
            clock,
            lambda: runner.run(new_session()),
            lambda header: runner.run(fetch(header)),
        )


def _flask(clock: Clock) -> Iterator[Site]:
    auth = Lucia(MemoryAdapter(), clock=clock, session_expires_in=LIFE)
    app = Flask(__name__)
    LuciaFlask(app, auth=auth)

    @app.get("/me")
    def me() -> Any:
        if g.user is None:
            return "signed out", 401
        return {"id": g.user.id}

    client = app.test_client(use_cookies=False)  # exactly the Cookie header given
    count = iter(range(1000))

    def new_session() -> tuple[str, str]:
        user = auth.create_user("github", str(next(count)))
        session = auth.create_session(user.id)
        return session.token, user.id

    def fetch(header: str) -> Reply:
        response = client.get("/me", headers={"Cookie": header})
        return Reply(
            response.status_code,
            response.get_data(as_text=True),
            _session_cookies(response.headers.getlist("Set-Cookie")),
        )

    yield Site("flask", clock, new_session, fetch)


def _django(clock: Clock, *, use_async: bool) -> Iterator[Site]:
    fresh_database()
    settings = {"LUCIA_OPTIONS": {"clock": clock, "session_expires_in": LIFE}}
    count = iter(range(1000))

    def new_session() -> tuple[str, str]:
        auth = get_lucia()
        user = auth.create_user("github", str(next(count)))
        session = auth.create_session(user.id)
        return session.token, user.id

    def reply(response: Any) -> Reply:
        morsel = response.cookies.get(NAME)
        return Reply(
            response.status_code,
            response.content.decode(),
            [] if morsel is None else [morsel.OutputString()],
        )

    with override_settings(LUCIA=settings):
        if use_async:
            with asyncio.Runner() as runner:

                def afetch(header: str) -> Reply:
                    # Django's test client adds a Cookie header of its own (empty) after
                    # ours, and Django joins the two with ",": a last cookie of no
                    # interest takes the comma.
                    headers = {"Cookie": header + "; other=1"}
                    response = runner.run(AsyncClient().get("/ame", secure=True, headers=headers))
                    return reply(response)

                yield Site("django-async", clock, new_session, afetch)
            return

        def fetch(header: str) -> Reply:
            return reply(Client().get("/me", secure=True, HTTP_COOKIE=header))

        yield Site("django", clock, new_session, fetch)


@pytest.fixture(params=["starlette", "flask", "django", "django-async"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    clock = Clock(utc_now().replace(microsecond=0))
    if request.param == "starlette":
        yield from _starlette(clock)
    elif request.param == "flask":
        yield from _flask(clock)
    else:
        yield from _django(clock, use_async=request.param == "django-async")


def _header(*tokens: str) -> str:
    return "; ".join(f"{NAME}={token}" for token in tokens)


def _is_clearing(raw: str) -> bool:
    return raw.startswith(NAME + "=;") or raw.startswith(f'{NAME}="";') or "Max-Age=0" in raw


def test_sec48_a_tossed_cookie_sent_first_neither_hides_nor_clears_the_real_one(
    site: Site,
) -> None:
    token, user_id = site.new_session()
    for tossed in TOSSED:
        reply = site.get(_header(tossed, token))
        assert reply.status == 200, tossed
        assert user_id in reply.body
        assert reply.set_cookies == []  # nothing cleared, nothing to renew


def test_sec48_the_real_cookie_first_and_tossed_ones_after(site: Site) -> None:
    token, user_id = site.new_session()
    reply = site.get(_header(token, *TOSSED[:MAX_SESSION_COOKIES]))
    assert reply.status == 200
    assert user_id in reply.body
    assert reply.set_cookies == []


def test_sec48_the_real_cookie_anywhere_within_the_bound(site: Site) -> None:
    token, user_id = site.new_session()
    tossed = [t for t in TOSSED if t != "junk"]
    header = _header(*tossed[: MAX_SESSION_COOKIES - 1], token)
    reply = site.get(header)
    assert reply.status == 200
    assert user_id in reply.body
    assert reply.set_cookies == []


def test_sec48_only_invalid_cookies_are_cleared_as_before(site: Site) -> None:
    reply = site.get(_header(TOSSED[0], TOSSED[1]))
    assert reply.status == 401
    assert len(reply.set_cookies) == 1
    assert _is_clearing(reply.set_cookies[0])


def test_sec48_a_cookie_past_the_bound_goes_untried_and_is_never_cleared(site: Site) -> None:
    token, _ = site.new_session()
    shaped = [f"{c * 20}.{c * 43}" for c in "GHIJKLMN"][:MAX_SESSION_COOKIES]
    reply = site.get(_header(*shaped, token))
    # The real one is past the bound: anonymous this time, but not cleared.
    assert reply.status == 401
    assert reply.set_cookies == []


def test_sec48_a_renewed_session_gets_its_own_cookie_back(site: Site) -> None:
    token, user_id = site.new_session()
    site.clock.advance(minutes=61)  # less than half of its two hours left: renewed
    reply = site.get(_header(TOSSED[0], token))
    assert reply.status == 200
    assert user_id in reply.body
    assert len(reply.set_cookies) == 1
    assert reply.set_cookies[0].startswith(f"{NAME}={token};")
    assert not _is_clearing(reply.set_cookies[0])


def test_sec48_of_two_valid_cookies_the_first_is_used(site: Site) -> None:
    first, first_user = site.new_session()
    second, second_user = site.new_session()
    assert first_user in site.get(_header(first, second)).body
    assert second_user in site.get(_header(second, first)).body


@pytest.fixture
def django_asgi() -> Iterator[Site]:
    yield from _django(Clock(utc_now().replace(microsecond=0)), use_async=True)


def test_sec48_django_asgi_reads_the_session_cookie_from_each_cookie_field(
    django_asgi: Site,
) -> None:
    # HTTP/2 may send a Cookie field per cookie; Django's ASGI handler joins the
    # fields with "," (RFC 9113 says "; "), and lucia joins them again as the RFC
    # says (tests/integrations/test_django_asgi_cookies.py). Sent straight to its
    # handler, field by field.
    from django.core.handlers.asgi import ASGIHandler

    transport = httpx.ASGITransport(app=ASGIHandler())

    async def fetch(fields: list[str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="https://app.example") as c:
            return await c.get("/ame", headers=[("cookie", field) for field in fields])

    token, user_id = django_asgi.new_session()
    real, tossed = f"{NAME}={token}", f"{NAME}={TOSSED[0]}"
    for fields in (
        [real, "x=1"],
        ["x=1;", real],
        ["x=1", real],
        [tossed, real],
        [tossed + ";", "x=1;", real],
        [tossed, "x=1", real],
    ):
        response = asyncio.run(fetch(fields))
        assert response.status_code == 200, fields
        assert user_id in response.text
        assert _session_cookies(response.headers.get_list("set-cookie")) == []
