"""LuciaMiddleware's rewrite of the response headers, on raw ASGI apps.

The apps here send their headers as a list, a tuple or a one-shot generator
(ASGI allows any iterable), with and without their own ``Cache-Control`` and
``Vary``, so the middleware's single pass over them is checked header by header
and in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest

from lucia import AsyncLucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.integrations.starlette import LuciaMiddleware

Headers = list[tuple[bytes, bytes]]


def app_sending(
    headers: Headers, shape: Callable[[Headers], Iterable[tuple[bytes, bytes]]]
) -> Callable[..., Any]:
    """A raw ASGI app answering 200 with ``headers`` passed through ``shape``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": shape(headers)})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def one_shot(headers: Headers) -> Iterator[tuple[bytes, bytes]]:
    yield from headers


SHAPES = [pytest.param(list, id="list"), pytest.param(tuple, id="tuple"), one_shot]


async def answer(headers: Headers, shape: Any, cookie: str | None) -> Headers:
    """The raw response headers through ``LuciaMiddleware``, as (lowercased name, value)."""
    auth = AsyncLucia(AsyncMemoryAdapter(), secure_cookies=False)
    request_headers = {}
    if cookie == "valid":
        user = await auth.create_user("email", "a@example.com")
        session = await auth.create_session(user.id)
        assert session.token is not None
        request_headers["cookie"] = f"{auth.session_cookie_name}={session.token}"
    elif cookie == "unknown":
        request_headers["cookie"] = f"{auth.session_cookie_name}=nosuchid.nosuchsecret"
    app = LuciaMiddleware(app_sending(headers, shape), auth=auth)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        response = await client.get("/", headers=request_headers)
    assert response.status_code == 200
    return [(name.lower(), value) for name, value in response.headers.raw]


APP_HEADERS: Headers = [
    (b"content-type", b"text/plain"),
    (b"Cache-Control", b"public, max-age=600"),
    (b"x-one", b"1"),
    (b"Vary", b"Accept-Encoding"),
    (b"x-two", b"2"),
]


@pytest.mark.parametrize("shape", SHAPES)
async def test_no_session_leaves_the_headers_as_sent(shape: Any) -> None:
    headers = await answer(APP_HEADERS, shape, cookie=None)
    sent = [(name.lower(), value) for name, value in APP_HEADERS]
    assert [h for h in headers if h[0] in {n for n, _ in sent}] == sent


@pytest.mark.parametrize("shape", SHAPES)
async def test_valid_session_replaces_cache_control_and_adds_cookie_to_vary(shape: Any) -> None:
    headers = await answer(APP_HEADERS, shape, cookie="valid")
    names = [name for name, _ in headers]
    # The app's other headers keep their order; no-store and one merged Vary come last.
    assert [h for h in headers if h[0] in {b"content-type", b"x-one", b"x-two"}] == [
        (b"content-type", b"text/plain"),
        (b"x-one", b"1"),
        (b"x-two", b"2"),
    ]
    assert names.count(b"cache-control") == 1
    assert names.count(b"vary") == 1
    assert names.index(b"cache-control") > names.index(b"x-two")
    assert dict(headers)[b"cache-control"] == b"no-store"
    assert dict(headers)[b"vary"] == b"Accept-Encoding, Cookie"
    assert b"set-cookie" not in names  # not renewed: nothing to re-set


@pytest.mark.parametrize("shape", SHAPES)
async def test_unknown_session_is_cleared_after_the_apps_headers(shape: Any) -> None:
    headers = await answer(APP_HEADERS, shape, cookie="unknown")
    names = [name for name, _ in headers]
    cleared = dict(headers)[b"set-cookie"]
    assert cleared.startswith(b"auth_session=;")
    assert b"Max-Age=0" in cleared
    assert names.index(b"set-cookie") > names.index(b"x-two")
    assert names.index(b"set-cookie") < names.index(b"cache-control")
    assert dict(headers)[b"cache-control"] == b"no-store"


@pytest.mark.parametrize("vary", [b"Cookie, Accept", b"*"])
async def test_vary_that_covers_cookie_is_kept_as_is(vary: bytes) -> None:
    headers = await answer([(b"vary", vary)], list, cookie="valid")
    assert [value for name, value in headers if name == b"vary"] == [vary]


async def test_route_that_set_the_session_cookie_has_the_last_word() -> None:
    own = (b"set-cookie", b"auth_session=; Max-Age=0; Path=/")
    headers = await answer([own], one_shot, cookie="unknown")
    assert [value for name, value in headers if name == b"set-cookie"] == [own[1]]
    assert dict(headers)[b"cache-control"] == b"no-store"
