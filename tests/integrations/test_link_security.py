"""SECURITY.md item 43 over HTTP, in every framework: the OAuth transaction cookie is
sealed, and a link finishes only in the recent session that started it.

The apps are those of test_password_routes.py (Starlette, FastAPI, Flask and
Django, routes under ``/auth``, a ``LocalOIDCProvider``), driven like browsers.
The first test is the attack an outside review carried out against the unsealed
base64-JSON cookie: a stolen session too old to link, an ordinary sign-in whose
cookie is edited to name the victim as the link target, the attacker's own
identity at the provider.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from anyio.from_thread import BlockingPortal

from tests.integrations.django_project import setup

setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import override_settings  # noqa: E402
from flask import Flask  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from lucia import AsyncLucia, Lucia  # noqa: E402
from lucia.adapters.memory import AsyncMemoryAdapter, MemoryAdapter  # noqa: E402
from lucia.integrations.django.conf import get_flow  # noqa: E402
from lucia.integrations.flask import LuciaFlask  # noqa: E402
from lucia.integrations.starlette import LuciaMiddleware, auth_routes  # noqa: E402
from lucia.oauth.flow import SignInFlow  # noqa: E402
from lucia.oauth.providers.openid import OpenIDConnect  # noqa: E402
from lucia.testing.oidc_provider import LocalOIDCProvider  # noqa: E402
from tests.conformance.backends_django import fresh_database  # noqa: E402
from tests.integrations.common import PASSWORD, ROUTE  # noqa: E402
from tests.integrations.test_password_routes import (  # noqa: E402  (the apps, their fixtures)
    BASE,
    COOKIE,
    EMAIL,
    Env,
    EnvFactory,
    PortalTransport,
    make_env,
    portal,
    set_cookie_names,
)

__all__ = ["make_env", "portal"]  # fixtures, imported to be used here

TRANSACTION = "__Host-lucia_oauth"
ATTACKER = "198.51.100.66"
OLD_SECRET = "the-secret-before-rotation-" + "o" * 40
NEW_SECRET = "the-secret-after-rotation-" + "n" * 40


@pytest.fixture
def env(make_env: EnvFactory) -> Env:
    return make_env()


def transaction_cookie(response: httpx.Response) -> str:
    for raw in response.headers.get_list("set-cookie"):
        name, _, rest = raw.partition("=")
        if name.strip() == TRANSACTION:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no transaction cookie in {response.headers.get_list('set-cookie')}")


def b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def edited_to_link(cookie: str, authorization_url: str, victim_id: str) -> str:
    """The attacker's edit: the transaction as base64 JSON, with the victim as link target.

    Against the old cookie it decodes and only ``l`` changes (the verifier stays right).
    A sealed cookie decodes to no JSON, so the attacker writes the transaction from what
    the authorization URL shows (state, nonce) in the old and the current field layout.
    """
    try:
        data: dict[str, Any] = json.loads(b64decode(cookie))
    except ValueError:
        params = dict(parse_qsl(urlsplit(authorization_url).query))
        data = {
            "v": 2,
            "p": ROUTE,
            "s": params["state"],
            "cv": secrets.token_urlsafe(32),
            "n": params["nonce"],
            "i": None,
            "ir": False,
            "r": "/",
            "ls": "any-session",
            "la": 86_400,
            "e": int(time.time()) + 600,
        }
    data["l"] = victim_id
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def finish(env: Env, callback_url: str, *, session: str | None, transaction: str) -> httpx.Response:
    """GET the callback from a fresh browser holding exactly these cookies."""
    cookies = [f"{TRANSACTION}={transaction}"]
    if session is not None:
        cookies.insert(0, f"{COOKIE}={session}")
    with env.browser(ATTACKER) as client:
        return client.get(callback_url, headers={"Cookie": "; ".join(cookies)})


def assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert TRANSACTION in set_cookie_names(response)  # the transaction is deleted
    assert COOKIE not in set_cookie_names(response)  # no session set, none cleared


def test_sec43_stale_stolen_session_and_an_edited_sign_in_cookie_link_nothing(env: Env) -> None:
    victim_id = env.sign_up()
    stolen = env.token()
    env.stale()  # older than the 10 minutes linking demands
    assert env.post(f"link/{ROUTE}", data={}).status_code == 403  # the front door is shut
    with env.browser(ATTACKER) as attacker:
        attacker.cookies.set(COOKIE, stolen or "", domain="app.example")
        login = attacker.get(env.url(f"login/{ROUTE}"))
    assert login.status_code == 302
    location = login.headers["location"]
    forged = edited_to_link(transaction_cookie(login), location, victim_id)
    callback_url = env.op.login(location)  # the attacker's own identity
    tokens_before = env.op.count("token")
    response = finish(env, callback_url, session=stolen, transaction=forged)
    assert_refused(response, 400)
    assert env.op.count("token") == tokens_before  # the code was not even redeemed
    assert env.keys(victim_id) == {"email"}
    assert env.lucia.get_user_by_key(env.provider.name, str(env.op.user["sub"])) is None
    assert env.valid(stolen)  # refusing the link does not sign the victim out


def start_link(env: Env) -> tuple[str, str]:
    """POST link/ from the env's signed-in browser: (callback URL, transaction cookie)."""
    started = env.post(f"link/{ROUTE}", data={})
    assert started.status_code == 303, started.text
    return env.op.login(started.headers["location"]), transaction_cookie(started)


def test_sec43_a_fresh_link_finished_after_the_session_went_stale_is_refused(env: Env) -> None:
    user_id = env.sign_up()
    env.clock.advance(minutes=8)  # still recent enough to start a link
    callback_url, _ = start_link(env)
    env.clock.advance(minutes=3)  # the transaction is 3 minutes old, the session 11
    tokens_before = env.op.count("token")
    response = env.client.get(callback_url)
    assert_refused(response, 403)
    assert env.op.count("token") == tokens_before
    assert env.keys(user_id) == {"email"}
    assert env.valid(env.token())


def test_sec43_a_link_finished_in_another_users_session_is_refused(env: Env) -> None:
    ada_id = env.sign_up()
    callback_url, transaction = start_link(env)
    eve = env.browser()
    signed_up = env.post(
        "signup", json={"email": "eve@example.com", "password": PASSWORD}, client=eve
    )
    assert signed_up.status_code == 200, signed_up.text
    eve_id = signed_up.json()["user_id"]
    response = finish(env, callback_url, session=env.token(eve), transaction=transaction)
    assert_refused(response, 403)
    assert env.keys(ada_id) == {"email"}
    assert env.keys(eve_id) == {"email"}


def test_sec43_a_link_finished_in_another_session_of_the_same_user_is_refused(env: Env) -> None:
    user_id = env.sign_up()
    callback_url, transaction = start_link(env)
    other = env.browser()
    signed_in = env.post("signin", json={"email": EMAIL, "password": PASSWORD}, client=other)
    assert signed_in.status_code == 200, signed_in.text
    response = finish(env, callback_url, session=env.token(other), transaction=transaction)
    assert_refused(response, 403)
    assert env.keys(user_id) == {"email"}


def test_sec43_a_recent_link_still_links(env: Env) -> None:
    user_id = env.sign_up()
    callback_url, _ = start_link(env)
    response = env.client.get(callback_url)
    assert response.status_code == 303, response.text
    assert env.keys(user_id) == {"email", env.provider.name}


def test_sec43_tampered_transaction_cookies_are_400(env: Env) -> None:
    env.sign_up()
    callback_url, transaction = start_link(env)
    middle = len(transaction) // 2
    for tampered in (
        ("B" if transaction[0] == "A" else "A") + transaction[1:],
        transaction[:middle]
        + ("B" if transaction[middle] == "A" else "A")
        + transaction[middle + 1 :],
        transaction[:-1] + ("B" if transaction[-1] == "A" else "A"),
        transaction[:-4],
    ):
        response = finish(env, callback_url, session=env.token(), transaction=tampered)
        assert_refused(response, 400)
    # The untouched cookie still links: the refusals above were the tampering's doing.
    assert (
        finish(env, callback_url, session=env.token(), transaction=transaction).status_code == 303
    )


def test_sec43_the_cookie_holds_no_readable_state_nonce_or_next(env: Env) -> None:
    with env.browser() as client:
        login = client.get(env.url(f"login/{ROUTE}"), params={"next": "/somewhere-private"})
    value = transaction_cookie(login)
    params = dict(parse_qsl(urlsplit(login.headers["location"]).query))
    raw = b64decode(value)
    for secret in (params["state"], params["nonce"], "/somewhere-private", ROUTE):
        assert secret.encode() not in raw
    with pytest.raises((UnicodeDecodeError, json.JSONDecodeError)):  # no JSON to edit
        json.loads(raw)


# Keys: the same secret in every worker, and rotation


def provider_for(op: LocalOIDCProvider, callback: str) -> OpenIDConnect:
    return OpenIDConnect(op.issuer, op.client_id, op.client_secret, callback)


def sign_in_across(
    start: httpx.Client, finish_with: httpx.Client, login_path: str, op: LocalOIDCProvider
) -> httpx.Response:
    """Start a sign-in on one worker and finish it on another, as a browser would."""
    login = start.get(login_path)
    assert login.status_code == 302, login.text
    callback = op.login(login.headers["location"])
    return finish_with.get(
        callback, headers={"Cookie": f"{TRANSACTION}={transaction_cookie(login)}"}
    )


def test_sec43_starlette_workers_sharing_secret_keys_finish_each_others_sign_ins(
    op_server: LocalOIDCProvider, portal: BlockingPortal
) -> None:
    """Rotation: the new key first and the old one kept, old cookies still finish and new
    ones are sealed under the new key; once the old key is dropped its cookies are 400."""
    store = MemoryAdapter()
    callback = f"{BASE}/login/{ROUTE}/callback"
    providers: list[OpenIDConnect] = []

    def worker(keys: list[str]) -> httpx.Client:
        auth = AsyncLucia(AsyncMemoryAdapter(store))
        provider = provider_for(op_server, callback)
        providers.append(provider)
        flow = SignInFlow(auth, {ROUTE: provider}, secret_keys=keys)
        app = Starlette(
            routes=auth_routes(auth, flow), middleware=[Middleware(LuciaMiddleware, auth=auth)]
        )
        return httpx.Client(transport=PortalTransport(app, portal, (ATTACKER, 1)), base_url=BASE)

    before, during, after = (
        worker([OLD_SECRET]),
        worker([NEW_SECRET, OLD_SECRET]),
        worker([NEW_SECRET]),
    )
    try:
        login = f"/login/{ROUTE}"
        assert sign_in_across(before, during, login, op_server).status_code == 303
        assert sign_in_across(during, after, login, op_server).status_code == 303
        assert sign_in_across(before, after, login, op_server).status_code == 400
    finally:
        for provider in providers:
            portal.call(provider.aclose)


def test_sec43_flask_seals_under_app_secret_key(op_server: LocalOIDCProvider) -> None:
    store = MemoryAdapter()
    callback = f"{BASE}/login/{ROUTE}/callback"
    providers: list[OpenIDConnect] = []

    def worker(secret_key: str | None) -> tuple[httpx.Client, SignInFlow]:
        auth = Lucia(store)
        provider = provider_for(op_server, callback)
        providers.append(provider)
        flow = SignInFlow(auth, {ROUTE: provider})
        app = Flask(__name__)
        app.secret_key = secret_key
        LuciaFlask(app, auth=auth, flow=flow)
        return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE), flow

    try:
        (one, one_flow), (two, _) = worker(OLD_SECRET), worker(OLD_SECRET)
        (other, _), (_, short_flow) = worker(NEW_SECRET), worker("short")
        assert not one_flow._sealer.process_key
        assert short_flow._sealer.process_key  # too short to seal with: not adopted
        assert sign_in_across(one, two, f"/login/{ROUTE}", op_server).status_code == 303
        refused = sign_in_across(one, other, f"/login/{ROUTE}", op_server)
        assert refused.status_code == 400
        assert "invalid or has expired" in refused.text
    finally:
        for provider in providers:
            provider.close()


def test_sec43_django_seals_under_secret_key_and_rotates_with_its_fallbacks(
    op_server: LocalOIDCProvider,
) -> None:
    fresh_database()
    provider = provider_for(op_server, f"{BASE}/auth/login/{ROUTE}/callback/")
    lucia = {"PROVIDERS": {ROUTE: provider}}
    login_path = f"/auth/login/{ROUTE}/"

    def browser() -> httpx.Client:
        return httpx.Client(
            transport=httpx.WSGITransport(app=get_wsgi_application()), base_url=BASE
        )

    def start() -> tuple[str, str]:
        with browser() as client:
            login = client.get(login_path)
        assert login.status_code == 302, login.text
        return op_server.login(login.headers["location"]), transaction_cookie(login)

    def finish_sign_in(started: tuple[str, str]) -> int:
        callback_url, cookie = started
        with browser() as client:
            return client.get(
                callback_url, headers={"Cookie": f"{TRANSACTION}={cookie}"}
            ).status_code

    try:
        with override_settings(SECRET_KEY=OLD_SECRET, LUCIA=lucia):
            assert not get_flow()._sealer.process_key
            old_one, old_two = start(), start()
        # Rotated as Django rotates: the new SECRET_KEY seals, the old one still opens.
        with override_settings(
            SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET], LUCIA=lucia
        ):
            assert finish_sign_in(old_one) == 303
            new = start()
        # The fallback dropped: what it sealed is refused; the new key's cookies finish.
        with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[], LUCIA=lucia):
            assert finish_sign_in(old_two) == 400
            assert finish_sign_in(new) == 303
        # A SECRET_KEY under 32 bytes is not used: a per-process key (and a warning).
        with override_settings(SECRET_KEY="short", LUCIA=lucia):
            assert get_flow()._sealer.process_key
        # LUCIA["FLOW_OPTIONS"]["secret_keys"] chooses the secrets instead.
        options = {**lucia, "FLOW_OPTIONS": {"secret_keys": [NEW_SECRET]}}
        with override_settings(SECRET_KEY=OLD_SECRET, LUCIA=options):
            assert finish_sign_in(start()) == 303
    finally:
        provider.close()
