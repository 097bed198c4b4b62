"""Django under ASGI with the Cookie header split into several fields.

HTTP/2 and HTTP/3 clients may send a ``cookie`` field per cookie (RFC 9113
§8.2.3), which must be joined with ``"; "``. Django's ``ASGIRequest`` joins
repeated fields with ``","`` (Django ticket 36399), so ``x=1`` and then
``auth_session=...`` reached lucia as ``x=1,auth_session=...``: one cookie ``x``
whose value holds a comma, and a signed-in user looked signed out. These tests
send the fields separately in the raw ASGI scope to Django's own ``ASGIHandler``
and check that lucia reads what the fields make when joined as the RFC says, by
the same rules as a single Cookie header (SECURITY.md item 48 included).
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from lucia.oauth.providers.openid import OpenIDConnect
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conformance.backends_django import fresh_database
from tests.integrations.common import ROUTE, set_cookies
from tests.integrations.django_project import setup

setup()

from django.core.handlers.asgi import ASGIHandler, ASGIRequest  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402

from lucia.integrations.django.conf import get_lucia  # noqa: E402
from lucia.integrations.django.middleware import cookie_header  # noqa: E402

BASE = "https://testserver"
NAME = "auth_session"
TRANSACTION = "__Host-lucia_oauth"
# Token-shaped, so it costs a store read like a real one, but no such session.
TOSSED = f"{NAME}={'A' * 20}.{'B' * 43}"
_users = itertools.count()


@dataclass
class Reply:
    status: int
    body: str
    session_cookies: list[str]  # raw Set-Cookie values of the session cookie
    location: str | None
    cookies: dict[str, str]  # raw Set-Cookie values by name


def fetch(path: str, fields: list[str]) -> Reply:
    """GET ``path`` from Django's ASGI handler with one ``cookie`` field per item of
    ``fields``; checks that the scope carried them as separate fields."""
    seen: list[list[bytes]] = []
    handler = ASGIHandler()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append([value for name, value in scope["headers"] if name == b"cookie"])
        await handler(scope, receive, send)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.get(path, headers=[("cookie", field) for field in fields])

    response = asyncio.run(get())
    assert seen == [[field.encode("latin-1") for field in fields]]
    cookies = set_cookies(response)
    return Reply(
        response.status_code,
        response.text,
        [raw for name, raw in cookies.items() if name == NAME],
        response.headers.get("location"),
        cookies,
    )


def new_session() -> tuple[str, str]:
    """A fresh user's session: its cookie pair and the user's id."""
    auth = get_lucia()
    user = auth.create_user("github", f"asgi-{next(_users)}")
    return f"{NAME}={auth.create_session(user.id).token}", user.id


@pytest.fixture
def lucia() -> Iterator[None]:
    fresh_database()
    with override_settings(LUCIA={}):
        yield


@pytest.mark.parametrize(
    "before",
    [["x=1"], ["x=1", "y=2"], ["x=1; y=2"], ["x=1;"], []],
    ids=["one", "two", "two-in-one", "with-semicolon", "alone"],
)
def test_the_session_cookie_in_a_field_of_its_own_is_read(lucia: None, before: list[str]) -> None:
    real, user_id = new_session()
    for path in ("/ame", "/me"):  # an async view, and a sync one under ASGI
        reply = fetch(path, [*before, real, "z=3"])
        assert reply.status == 200, (path, before)
        assert user_id in reply.body
        assert reply.session_cookies == []


def test_sec48_a_tossed_cookie_in_its_own_field_neither_hides_nor_clears_the_real_one(
    lucia: None,
) -> None:
    real, user_id = new_session()
    for fields in ([TOSSED, "x=1", real], ["x=1", TOSSED, real], ["x=1", real, TOSSED]):
        reply = fetch("/ame", fields)
        assert reply.status == 200, fields
        assert user_id in reply.body
        assert reply.session_cookies == [], fields
    # Only the tossed one: anonymous, and that cookie is cleared, as in one header.
    reply = fetch("/ame", ["x=1", TOSSED])
    assert reply.status == 401
    assert len(reply.session_cookies) == 1
    assert "Max-Age=0" in reply.session_cookies[0]


def test_a_comma_inside_another_cookies_value_still_separates_nothing(lucia: None) -> None:
    # Script on the site (or a sibling) can write a cookie whose value holds a comma and
    # lucia's cookie name; the browser keeps it as one crumb. The session it carries (the
    # attacker's own, valid) must not sign the victim in, split into fields or not.
    attacker, attacker_id = new_session()
    victim, victim_id = new_session()
    planted = f"q=x,{attacker}"
    reply = fetch("/ame", ["x=1", planted, victim])
    assert reply.status == 200
    assert victim_id in reply.body
    assert attacker_id not in reply.body
    reply = fetch("/ame", ["x=1", planted])
    assert reply.status == 401
    assert reply.session_cookies == []


@pytest.mark.parametrize(
    "fields",
    [
        ["x=1", "real"],
        ["tossed", "x=1", "real"],
        ["x=1", "tossed"],
        ["q=x,real", "x=1"],
        ["q=x,tossed", "real"],
        ["real,x=1", "y=2"],
        ["x=1;", "tossed;", "real"],
    ],
)
def test_sec48_split_fields_read_as_the_one_header_they_make(
    lucia: None, fields: list[str]
) -> None:
    real, _ = new_session()
    fields = [field.replace("real", real).replace("tossed", TOSSED) for field in fields]
    split = fetch("/ame", fields)
    whole = fetch("/ame", ["; ".join(fields)])
    assert (split.status, split.body, split.session_cookies) == (
        whole.status,
        whole.body,
        whole.session_cookies,
    )


@pytest.fixture
def oauth(op_server: LocalOIDCProvider) -> Iterator[LocalOIDCProvider]:
    fresh_database()
    provider = OpenIDConnect(
        op_server.issuer,
        op_server.client_id,
        op_server.client_secret,
        f"{BASE}/auth/login/{ROUTE}/callback/",
    )
    with override_settings(LUCIA={"PROVIDERS": {ROUTE: provider}}):
        yield op_server
    provider.close()


def test_the_oauth_callback_reads_the_transaction_cookie_from_its_own_field(
    oauth: LocalOIDCProvider,
) -> None:
    start = fetch(f"/auth/login/{ROUTE}/", [])
    assert start.status == 302
    assert start.location is not None
    transaction = start.cookies[TRANSACTION].split(";", 1)[0]
    callback = oauth.login(start.location).removeprefix(BASE)
    reply = fetch(callback, ["x=1", transaction])
    assert reply.status == 303, reply.body
    assert len(reply.session_cookies) == 1
    assert "Max-Age=0" not in reply.session_cookies[0]


def _asgi_request(*fields: bytes) -> Any:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b""}
    scope["headers"] = [(b"cookie", field) for field in fields]
    return ASGIRequest(scope, io.BytesIO())


def test_cookie_header_rebuilds_only_what_django_joined_with_commas() -> None:
    # Django's join of several fields: rebuilt as RFC 9113 joins them.
    assert cookie_header(_asgi_request(b"a=1", b"b=2")) == "a=1; b=2"
    # One field: nothing was joined, a comma in it stays.
    assert cookie_header(_asgi_request(b"q=x,b=2")) == "q=x,b=2"
    assert cookie_header(_asgi_request(b"a=1; b=2")) == "a=1; b=2"
    assert cookie_header(_asgi_request()) is None
    # META changed after Django built it (by a middleware, say): that is what counts.
    request = _asgi_request(b"a=1", b"b=2")
    request.META["HTTP_COOKIE"] = "c=3,d=4"
    assert cookie_header(request) == "c=3,d=4"
    # WSGI: the server joined any fields by its own rules, and only META is left.
    wsgi = RequestFactory().get("/", HTTP_COOKIE="a=1,b=2")
    assert cookie_header(wsgi) == "a=1,b=2"
