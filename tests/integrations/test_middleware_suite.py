"""The middleware's behaviour at the HTTP level, one suite for every framework.

Each test runs against the same small app built on Flask (``LuciaFlask``),
Starlette (``LuciaMiddleware``) and Django (``LuciaMiddleware``, under WSGI and
under ASGI), driven by an httpx client at ``https://app.example``: the token
choice (cookie, else bearer), the CSRF origin check and its exemptions, the
cookie upkeep (a renewed session re-set, an invalid cookie cleared),
``Cache-Control: no-store`` and ``Vary``, and the 503 on a store failure. The
decisions are ``lucia.integrations._middleware``'s; this suite proves each
integration applies them. Security tests are named after SECURITY.md items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.errors import DatabaseError
from lucia.integrations.starlette import LuciaMiddleware, current_user
from lucia.sessions import utc_now
from tests.conftest import Clock
from tests.integrations.common import FlakyStore, attributes, set_cookies

BASE = "https://app.example"
HOST = "app.example"
SAME_SITE = {"Origin": BASE}
EVIL = {"Origin": "https://evil.example"}
COOKIE = "auth_session"
EXEMPT = ["/webhooks"]


@dataclass
class Site:
    """One framework's app behind an httpx client, and what the tests set up on it."""

    client: httpx.Client
    clock: Clock
    new_session: Callable[[], str]  # a new user's session: its token
    session_count: Callable[[], int]
    failing: Callable[[bool], None]  # the session store fails (or not) from now on
    # A client on the same site rebuilt with other middleware options, at base_url.
    rebuilt: Callable[..., AbstractContextManager[httpx.Client]]

    def sign_in(self) -> str:
        """A session cookie in the client's jar, as a browser holds one; its token."""
        token = self.new_session()
        self.client.cookies.set(COOKIE, token, domain=HOST)
        return token

    def fresh(self) -> httpx.Client:
        """A client on the same app with an empty cookie jar."""
        return httpx.Client(transport=self.client._transport, base_url=BASE)


# The sites


def flask_site() -> Iterator[Site]:
    from tests.integrations.test_flask import make_app

    clock = Clock(utc_now().replace(microsecond=0))
    store = FlakyStore()
    auth = Lucia(store, clock=clock)

    def new_session() -> str:
        session = auth.create_session(auth.create_user("email", f"{len(store._users)}@ex").id)
        assert session.token is not None
        return session.token

    def failing(on: bool) -> None:
        store.failing = on

    @contextmanager
    def rebuilt(base_url: str = BASE, **options: Any) -> Iterator[httpx.Client]:
        app = make_app(auth, None, **options)
        app.config["SERVER_NAME"] = None
        yield httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base_url)

    app = make_app(auth, None)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE) as client:
        yield Site(client, clock, new_session, lambda: len(store._sessions), failing, rebuilt)


async def _home(request: Request) -> Response:
    return PlainTextResponse("home")


async def _me(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return PlainTextResponse("signed out", status_code=401)
    return JSONResponse({"id": user.id, "session": request.state.session.id})


async def _public(request: Request) -> Response:
    return PlainTextResponse("public", headers={"Cache-Control": "public, max-age=600"})


async def _varies(request: Request) -> Response:
    vary = "*" if request.path_params["vary"] == "star" else "Accept-Encoding"
    return PlainTextResponse("varies", headers={"Vary": vary})


async def _change(request: Request) -> Response:
    return PlainTextResponse("changed" if current_user(request) is not None else "anonymous change")


async def _webhook(request: Request) -> Response:
    return PlainTextResponse(f"hook user={request.state.user is not None}")


async def _broken(request: Request) -> Response:
    raise DatabaseError("SQL: SELECT secret")


def starlette_app(auth: AsyncLucia, **options: Any) -> Starlette:
    options.setdefault("csrf_exempt", EXEMPT)
    return Starlette(
        routes=[
            Route("/", _home),
            Route("/me", _me),
            Route("/public", _public),
            Route("/varies/{vary}", _varies),
            Route("/change", _change, methods=["POST"]),
            Route("/webhooks/github", _webhook, methods=["POST"]),
            Route("/webhooks-evil", _webhook, methods=["POST"]),
            Route("/broken", _broken),
        ],
        middleware=[Middleware(LuciaMiddleware, auth=auth, **options)],
    )


def starlette_site() -> Iterator[Site]:
    clock = Clock(utc_now().replace(microsecond=0))
    store = FlakyStore()
    auth = AsyncLucia(AsyncMemoryAdapter(store), clock=clock)

    def failing(on: bool) -> None:
        store.failing = on

    @contextmanager
    def rebuilt(base_url: str = BASE, **options: Any) -> Iterator[httpx.Client]:
        with TestClient(starlette_app(auth, **options), base_url=base_url) as other:
            yield other

    with TestClient(starlette_app(auth), base_url=BASE) as client:

        async def create() -> str:
            user = await auth.create_user("email", f"{len(store._users)}@ex")
            session = await auth.create_session(user.id)
            assert session.token is not None
            return session.token

        def new_session() -> str:
            return client.portal.call(create)  # on the app's own event loop

        yield Site(client, clock, new_session, lambda: len(store._sessions), failing, rebuilt)


def django_site(asgi: bool) -> Iterator[Site]:
    from tests.conformance.backends_django import fresh_database
    from tests.integrations.django_project import setup

    setup()
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from lucia.integrations.django.conf import get_lucia
    from lucia.integrations.django.models import LuciaSession
    from tests.integrations.test_django import FlakyAdapter

    fresh_database()
    clock = Clock(utc_now().replace(microsecond=0))
    adapter = FlakyAdapter()
    settings = {"ADAPTER": adapter, "CSRF_EXEMPT": EXEMPT, "LUCIA_OPTIONS": {"clock": clock}}

    def client_for(base_url: str) -> httpx.Client:
        if asgi:
            return TestClient(ASGIHandler(), base_url=base_url)
        return httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()), base_url=base_url)

    def new_session() -> str:
        auth = get_lucia()
        user = auth.create_user("email", f"{LuciaSession.objects.count()}-{clock()}@ex")
        session = auth.create_session(user.id)
        assert session.token is not None
        return session.token

    def failing(on: bool) -> None:
        adapter.failing = on

    @contextmanager
    def rebuilt(base_url: str = BASE, **options: Any) -> Iterator[httpx.Client]:
        names = {"allowed_origins": "ALLOWED_ORIGINS", "trust_proxy": "TRUST_PROXY"}
        with override_settings(LUCIA={**settings, **{names[k]: v for k, v in options.items()}}):
            yield client_for(base_url)

    with override_settings(LUCIA=settings):
        yield Site(
            client_for(BASE), clock, new_session, LuciaSession.objects.count, failing, rebuilt
        )


@pytest.fixture(params=["flask", "starlette", "django", "django-asgi"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    if request.param == "flask":
        yield from flask_site()
    elif request.param == "starlette":
        yield from starlette_site()
    else:
        yield from django_site(asgi=request.param == "django-asgi")


# Which credential counts, and the cookie upkeep


@pytest.mark.parametrize(
    "value",
    ["garbage", "a.b.c", "", "%ff%fe", "x" * 5000, '"quoted"', "abc.def"],
)
def test_sec2_malformed_or_unknown_cookie_is_anonymous_and_cleared(site: Site, value: str) -> None:
    response = site.fresh().get("/me", headers={"Cookie": f"{COOKIE}={value}"})
    assert response.status_code == 401
    if value:
        cleared = set_cookies(response).get(COOKIE)
        assert cleared is not None
        assert attributes(cleared)["max-age"] == "0"
    assert site.session_count() == 0


def test_sec11_cookie_names_are_case_sensitive(site: Site) -> None:
    token = site.new_session()
    response = site.fresh().get("/me", headers={"Cookie": f"{COOKIE.upper()}={token}"})
    assert response.status_code == 401
    assert site.fresh().get("/me", headers={"Cookie": f"{COOKIE}={token}"}).status_code == 200


def test_sec12_fresh_session_cookie_is_re_set_after_time_passes(site: Site) -> None:
    site.sign_in()
    first = site.client.get("/me")
    assert first.status_code == 200
    assert COOKIE not in set_cookies(first)
    site.clock.advance(days=20)
    renewed = site.client.get("/me")
    assert renewed.status_code == 200
    raw = set_cookies(renewed)[COOKIE]
    assert int(attributes(raw)["max-age"]) == int(timedelta(days=30).total_seconds())
    # Renewal does not change the token: the same cookie keeps working.
    assert site.client.get("/me").status_code == 200


# No caching of anything a session touched


def test_sec8_no_store_when_a_session_is_read_or_set(site: Site) -> None:
    anonymous = site.client.get("/public")
    assert anonymous.headers["cache-control"] == "public, max-age=600"
    site.sign_in()
    signed_in = site.client.get("/public")
    assert signed_in.headers["cache-control"] == "no-store"
    assert "cookie" in signed_in.headers["vary"].lower()


def test_sec8_no_store_for_bearer_requests(site: Site) -> None:
    token = site.new_session()
    response = site.client.get("/public", headers={"Authorization": f"Bearer {token}"})
    assert response.headers["cache-control"] == "no-store"


def test_sec8_vary_cookie_joins_the_views_own_vary(site: Site) -> None:
    bearer = {"Authorization": f"Bearer {site.new_session()}"}
    merged = site.client.get("/varies/encoding", headers=bearer)
    assert merged.headers["cache-control"] == "no-store"
    assert merged.headers.get_list("vary") == ["Accept-Encoding, Cookie"]
    # "*" already varies on everything: nothing is added to it.
    star = site.client.get("/varies/star", headers=bearer)
    assert star.headers.get_list("vary") == ["*"]


# The CSRF origin check


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "https://foo.app.example"},
        {"Origin": "null"},
        {"Origin": BASE, "Sec-Fetch-Site": "cross-site"},
        {},
    ],
    ids=["evil-origin", "sibling-subdomain", "null", "sec-fetch-site", "no-origin"],
)
def test_sec14_cross_site_post_gets_403(site: Site, headers: dict[str, str]) -> None:
    site.sign_in()
    response = site.client.post("/change", headers=headers)
    assert response.status_code == 403
    assert response.text == "Forbidden: cross-site request"
    assert site.client.post("/change", headers=SAME_SITE).text == "changed"


def test_sec14_x_forwarded_host_ignored_without_trusted_proxy(site: Site) -> None:
    headers = {**EVIL, "X-Forwarded-Host": "evil.example"}
    assert site.client.post("/change", headers=headers).status_code == 403


def test_sec14_allowed_origins_and_trusted_proxy(site: Site) -> None:
    with site.rebuilt(allowed_origins=["https://admin.example"]) as client:
        assert client.post("/change", headers={"Origin": "https://admin.example"}).is_success
        assert client.post("/change", headers=SAME_SITE).status_code == 403
    with site.rebuilt("https://internal:8000", trust_proxy=True) as client:
        headers = {"Origin": BASE, "X-Forwarded-Host": HOST}
        assert client.post("/change", headers=headers).is_success


def test_csrf_exempt_path_passes_without_the_cookie_session(site: Site) -> None:
    site.sign_in()
    hook = site.client.post("/webhooks/github", headers=EVIL)
    assert hook.status_code == 200
    assert hook.text == "hook user=False"
    # Prefixes match whole path segments only.
    assert site.client.post("/webhooks-evil", headers=EVIL).status_code == 403


def test_bearer_only_post_skips_the_origin_check(site: Site) -> None:
    token = site.new_session()
    response = site.client.post("/change", headers={"Authorization": f"Bearer {token}", **EVIL})
    assert response.status_code == 200
    assert response.text == "changed"
    assert "set-cookie" not in response.headers


def test_invalid_bearer_token_is_origin_checked(site: Site) -> None:
    response = site.client.post(
        "/change", headers={"Authorization": "Bearer nonsense.token", **EVIL}
    )
    assert response.status_code == 403
    # Without an Origin at all, too.
    bare = site.client.post("/change", headers={"Authorization": "Bearer nope"})
    assert bare.status_code == 403
    # The same invalid token from the site itself is only anonymous.
    same = site.client.post(
        "/change", headers={"Authorization": "Bearer nonsense.token", **SAME_SITE}
    )
    assert same.text == "anonymous change"


def test_bearer_with_session_cookie_is_origin_checked(site: Site) -> None:
    site.sign_in()
    token = site.new_session()
    response = site.client.post("/change", headers={"Authorization": f"Bearer {token}", **EVIL})
    assert response.status_code == 403


# A store that fails


def test_database_error_gives_a_clean_503(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.sign_in()
    site.failing(True)
    with caplog.at_level(logging.DEBUG):
        response = site.client.get("/me")
    assert response.status_code == 503
    assert response.text == "Service unavailable"
    assert response.headers["cache-control"] == "no-store"
    assert "hunter2" not in response.text
    assert "Traceback" not in caplog.text
    assert "hunter2" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
    # The cause is logged (redacted), once.
    ours = [r for r in caplog.records if r.name == "lucia.integrations"]
    assert [r.levelno for r in ours] == [logging.ERROR]
    assert "***" in ours[0].getMessage()


def test_database_error_in_a_view_gives_503(site: Site) -> None:
    response = site.client.get("/broken")
    assert response.status_code == 503
    assert response.text == "Service unavailable"
    assert "SELECT" not in response.text
