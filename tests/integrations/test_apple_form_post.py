"""A provider that answers with a cross-site form POST (Apple's ``response_mode=form_post``)
signs in through every framework's callback route.

The providers here are ``FormPost``, test_flow's fake provider with
``uses_form_post``, and the real ``Apple`` provider with its endpoints mocked in
Apple's shapes (tests/oauth/providers/test_apple.py): the callback arrives as a
POST from another site (``Origin: https://appleid.apple.com``), carrying
``code``, ``state`` and the browser-relayed ``user`` field. Each framework's
app (Flask's ``LuciaFlask``, Starlette's ``auth_routes`` behind
``LuciaMiddleware``, Django's urls under ``/auth/``, WSGI and ASGI) must: set
the transaction cookie ``SameSite=None; Secure`` for it (the session cookie
stays Lax), take the POST past the origin check for that route only, sign in
with a valid state and refuse anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.testclient import TestClient

from lucia import AsyncLucia, Lucia
from lucia.adapters.memory import AsyncMemoryAdapter
from lucia.integrations.starlette import LuciaMiddleware, auth_routes
from lucia.oauth.flow import ProviderFailedError, SignInFlow
from lucia.oauth.providers.base import OAuthProvider, ProviderUser
from lucia.sessions import utc_now
from tests.conftest import Clock
from tests.integrations.common import FlakyStore
from tests.integrations.test_routes_suite import attributes, set_cookies
from tests.oauth.providers.harness import authorization_params
from tests.oauth.providers.test_apple import CLAIMS, answering, apple
from tests.oauth.test_flow import FakeIdP, FakeProvider

BASE = "https://app.example"
HOST = "app.example"
APPLE_ORIGIN = {"Origin": "https://appleid.apple.com"}
SAME_SITE = {"Origin": BASE}
USER_FIELD = json.dumps({"name": {"firstName": "Ada", "lastName": "Lovelace"}})


class IdPs(FakeIdP):
    """The fake authorization server, and Apple's endpoints mocked in Apple's shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.apple_mock = answering()


class FormPost(FakeProvider):
    """The fake provider, answering its callbacks with a form POST; ``user`` adds the name."""

    uses_form_post = True
    callback_fields = ("user",)

    def callback_user(self, user: ProviderUser, fields: Any) -> ProviderUser:
        name = json.loads(fields["user"])["name"]
        return replace(user, name=f"{name['firstName']} {name['lastName']}")


@dataclass
class Site:
    """One framework's app behind an httpx client."""

    client: httpx.Client
    idp: IdPs
    route: Callable[[str], str]
    transaction_cookie_name: str
    session_cookie_name: str
    user_name: Callable[[str], str | None]  # the stored user's "name" attribute
    user_count: Callable[[], int]
    user_id_by_key: Callable[[str, str], str | None]

    def start(self, provider: str = "formpost") -> httpx.Response:
        response = self.client.get(self.route(f"/login/{provider}"))
        assert response.status_code == 302
        return response

    def form(self, start: httpx.Response, **extra: str) -> dict[str, str]:
        """What the provider posts back: code and state (and ``extra``)."""
        query = self.idp.authorize(start.headers["location"], "apple-sub", iss=None, **extra)
        return dict(parse_qsl(query))

    def post_callback(
        self,
        form: dict[str, str],
        headers: dict[str, str] = APPLE_ORIGIN,
        provider: str = "formpost",
    ) -> httpx.Response:
        return self.client.post(
            self.route(f"/login/{provider}/callback"),
            content=urlencode(form),
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )


def at_root(path: str) -> str:
    return path


def providers(idp: IdPs) -> dict[str, OAuthProvider]:
    idp.account("apple-sub", email="ada@example.com")
    return {
        "formpost": FormPost(idp, name="formpost"),
        "other": FakeProvider(idp, name="other"),
        "apple": apple(idp.apple_mock),
    }


def flask_site() -> Iterator[Site]:
    from tests.integrations.test_flask import make_app

    idp = IdPs()
    store = FlakyStore()
    auth = Lucia(store, clock=Clock(utc_now().replace(microsecond=0)))
    flow = SignInFlow(auth, providers(idp))
    app = make_app(auth, flow)

    def user_name(user_id: str) -> str | None:
        user = auth.get_user(user_id)
        return None if user is None else user.attributes.get("name")

    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE) as client:
        yield Site(
            client,
            idp,
            at_root,
            flow.transaction_cookie_name,
            auth.session_cookie_name,
            user_name,
            lambda: len(store._users),
            lambda provider, sub: getattr(auth.get_user_by_key(provider, sub), "id", None),
        )


def starlette_site() -> Iterator[Site]:
    from tests.integrations.test_starlette import me

    idp = IdPs()
    store = FlakyStore()
    auth = AsyncLucia(AsyncMemoryAdapter(store), clock=Clock(utc_now().replace(microsecond=0)))
    flow = SignInFlow(auth, providers(idp))
    app = Starlette(
        routes=[*auth_routes(auth, flow), Route("/me", me)],
        middleware=[Middleware(LuciaMiddleware, auth=auth, csrf_exempt=flow.form_post_paths())],
    )
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert client.portal is not None
        call = client.portal.call

        def user_name(user_id: str) -> str | None:
            user = call(auth.get_user, user_id)
            return None if user is None else user.attributes.get("name")

        yield Site(
            client,
            idp,
            at_root,
            flow.transaction_cookie_name,
            auth.session_cookie_name,
            user_name,
            lambda: len(store._users),
            lambda provider, sub: getattr(call(auth.get_user_by_key, provider, sub), "id", None),
        )


def django_site(asgi: bool) -> Iterator[Site]:
    from tests.conformance.backends_django import fresh_database
    from tests.integrations.django_project import setup

    setup()
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from lucia.integrations.django.conf import get_flow, get_lucia
    from lucia.integrations.django.models import LuciaUser

    fresh_database()
    idp = IdPs()
    settings = {
        "PROVIDERS": providers(idp),
        "LUCIA_OPTIONS": {"clock": Clock(utc_now().replace(microsecond=0))},
    }

    def user_name(user_id: str) -> str | None:
        user = get_lucia().get_user(user_id)
        return None if user is None else user.attributes.get("name")

    @contextmanager
    def client_for() -> Iterator[httpx.Client]:
        client: httpx.Client
        if asgi:
            client = TestClient(ASGIHandler(), base_url=BASE, follow_redirects=False)
        else:
            client = httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()), base_url=BASE)
        try:
            yield client
        finally:
            client.close()

    with override_settings(LUCIA=settings), client_for() as client:
        yield Site(
            client,
            idp,
            lambda path: f"/auth{path}/",
            get_flow().transaction_cookie_name,
            get_lucia().session_cookie_name,
            user_name,
            LuciaUser.objects.count,
            lambda provider, sub: getattr(get_lucia().get_user_by_key(provider, sub), "id", None),
        )


@pytest.fixture(params=["flask", "starlette", "django", "django-asgi"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    if request.param == "flask":
        yield from flask_site()
    elif request.param == "starlette":
        yield from starlette_site()
    else:
        yield from django_site(asgi=request.param == "django-asgi")


def test_sec13_the_cross_site_form_post_callback_signs_in(site: Site) -> None:
    start = site.start()
    transaction = attributes(set_cookies(start)[site.transaction_cookie_name])
    # Sent with the provider's cross-site POST only if SameSite=None (hence Secure).
    assert transaction["samesite"].lower() == "none"
    assert transaction["secure"] == transaction["httponly"] == "yes"
    callback = site.post_callback(site.form(start, user=USER_FIELD))
    assert callback.status_code == 303
    assert callback.headers["location"] == "/"
    cookies = set_cookies(callback)
    session = attributes(cookies[site.session_cookie_name])
    assert session["samesite"].lower() == "lax"  # the session cookie keeps its own
    assert attributes(cookies[site.transaction_cookie_name])["max-age"] == "0"
    me = site.client.get("/me")
    assert me.status_code == 200
    # The name came from the browser-relayed user field, on the first sign-in.
    assert site.user_name(me.json()["id"]) == "Ada Lovelace"


def test_sign_in_with_apple_through_its_form_post_callback(site: Site) -> None:
    """The real ``Apple`` provider, its endpoints mocked in Apple's shapes."""
    start = site.start("apple")
    transaction = attributes(set_cookies(start)[site.transaction_cookie_name])
    assert transaction["samesite"].lower() == "none"
    params = authorization_params(start.headers["location"])
    assert params["response_mode"] == "form_post"
    site.idp.apple_mock.authorization = params  # the identity token echoes the nonce
    form = {"code": "apple-code", "state": params["state"], "user": USER_FIELD}
    callback = site.post_callback(form, provider="apple")
    assert callback.status_code == 303
    me = site.client.get("/me")
    assert me.status_code == 200
    assert site.user_name(me.json()["id"]) == "Ada Lovelace"
    assert site.user_id_by_key("apple", CLAIMS["sub"]) == me.json()["id"]


def test_other_providers_keep_a_lax_transaction_cookie(site: Site) -> None:
    start = site.start("other")
    transaction = attributes(set_cookies(start)[site.transaction_cookie_name])
    assert transaction["samesite"].lower() == "lax"


def test_sec22_a_form_post_callback_with_a_wrong_state_signs_nobody_in(site: Site) -> None:
    start = site.start()
    form = site.form(start)
    form["state"] = "x" * 43
    callback = site.post_callback(form)
    assert callback.status_code == 400
    assert site.session_cookie_name not in set_cookies(callback)
    assert site.user_count() == 0
    assert site.client.get("/me").status_code == 401


def test_sec22_a_form_post_callback_without_the_transaction_cookie_is_refused(
    site: Site,
) -> None:
    form = site.form(site.start())
    site.client.cookies.clear()  # a forged POST from another browser
    callback = site.post_callback(form)
    assert callback.status_code == 400
    assert site.user_count() == 0


def test_sec14_only_form_post_providers_take_a_post_callback(site: Site) -> None:
    start = site.start("other")
    form = site.form(start)
    # Cross-site: the origin check refuses it before the route.
    assert site.post_callback(form, provider="other").status_code == 403
    # Same-site: the route itself takes only GET for this provider.
    assert site.post_callback(form, SAME_SITE, provider="other").status_code == 405
    assert site.user_count() == 0


# The flow's side, framework-free


def sync_flow(secure: bool = True) -> tuple[SignInFlow, IdPs]:
    idp = IdPs()
    auth = Lucia(FlakyStore(), secure_cookies=secure)
    return SignInFlow(auth, providers(idp)), idp


def test_form_post_paths_name_only_the_form_post_callbacks() -> None:
    flow, _ = sync_flow()
    assert flow.form_post_paths() == ("/login/formpost/callback", "/login/apple/callback")
    assert flow.form_post_paths("/auth/") == (
        "/auth/login/formpost/callback",
        "/auth/login/apple/callback",
    )
    assert flow.accepts_post("formpost")
    assert flow.accepts_post("apple")
    assert not flow.accepts_post("other")
    assert not flow.accepts_post("unknown")


def test_over_plain_http_the_form_post_transaction_cookie_stays_lax() -> None:
    # Browsers drop SameSite=None cookies that are not Secure.
    flow, _ = sync_flow(secure=False)
    cookie = flow.start("formpost").cookie
    assert cookie.attributes.same_site == "lax"
    assert not cookie.attributes.secure


def test_a_callback_field_can_never_change_the_identity_or_the_email() -> None:
    class Lying(FormPost):
        def callback_user(self, user: ProviderUser, fields: Any) -> ProviderUser:
            return replace(user, email="victim@example.com", email_verified=True)

    flow, idp = sync_flow()
    flow.providers["formpost"] = Lying(idp, name="formpost")
    start = flow.start("formpost")
    query = idp.authorize(start.url, "apple-sub", iss=None, user=USER_FIELD)
    with pytest.raises(ProviderFailedError):
        flow.callback("formpost", query, f"{start.cookie.name}={start.cookie.value}")
    assert flow.auth.get_user_by_key("formpost", "apple-sub") is None


def test_callback_fields_are_read_only_when_sent() -> None:
    flow, idp = sync_flow()
    start = flow.start("formpost")
    query = idp.authorize(start.url, "apple-sub", iss=None)  # a later sign-in: no user field
    result = flow.callback("formpost", query, f"{start.cookie.name}={start.cookie.value}")
    assert result.provider_user.name is None
    assert "name" not in result.user.attributes
