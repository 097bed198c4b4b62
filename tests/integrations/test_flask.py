"""LuciaFlask on a small Flask app, driven by Flask's test client at https://app.example.

Sign-in goes through ``LocalOIDCProvider`` (and once through the real npm
oidc-provider), password sign-up, sign-in and change through test views built
on ``lucia.accounts``; the security tests are named after SECURITY.md items.
What Flask shares with the other frameworks is tested once for all of them:
the middleware in test_middleware_suite.py, the sign-in, password sign-in and
sign-out routes in test_routes_suite.py (both build their Flask app with
``make_app`` below); this file keeps what is Flask's own.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, g, jsonify, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response as BaseResponse

from lucia import Lucia, accounts
from lucia.adapters.memory import MemoryAdapter
from lucia.errors import DatabaseError, InvalidCredentialsError, InvalidPasswordError
from lucia.integrations.flask import (
    LuciaFlask,
    current_user,
    login_required,
    session_attributes,
    sign_in_response,
)
from lucia.oauth.flow import SignInFlow
from lucia.oauth.providers.openid import OpenIDConnect
from lucia.sessions import utc_now
from lucia.testing.oidc_provider import LocalOIDCProvider
from tests.conftest import Clock
from tests.integrations.common import PASSWORD, ROUTE, FlakyStore
from tests.oauth.conftest import REDIRECT_URIS, NodeOIDCProvider
from tests.oauth.conftest import oidc_provider as oidc_provider  # the session fixture
from tests.oauth.test_oidc_provider_e2e import Browser

BASE = "https://app.example"
HOST = "app.example"
SAME_SITE = {"Origin": BASE}
EVIL = {"Origin": "https://evil.example"}
NEW_PASSWORD = "a brand new passphrase 42"


# The app


def make_app(auth: Lucia, flow: SignInFlow | None, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SERVER_NAME=HOST, PREFERRED_URL_SCHEME="https")
    LuciaFlask(app, auth=auth, flow=flow, csrf_exempt=["/webhooks"], **options)

    @app.get("/")
    def home() -> str:
        return "home"

    @app.get("/me")
    @login_required
    def me() -> Any:
        return jsonify(id=g.user.id, session=g.session.id, proxy=bool(current_user))

    @app.get("/public")
    def public() -> BaseResponse:
        response = app.make_response("public")
        response.headers["Cache-Control"] = "public, max-age=600"
        return response

    @app.get("/varies/<vary>")
    def varies(vary: str) -> BaseResponse:
        response = app.make_response("varies")
        response.headers["Vary"] = "*" if vary == "star" else "Accept-Encoding"
        return response

    @app.post("/change")
    def change() -> str:
        return "changed" if g.user is not None else "anonymous change"

    @app.post("/webhooks/github")
    @app.post("/webhooks-evil", endpoint="webhook_evil")
    def webhook() -> str:
        return f"hook user={g.user is not None}"

    @app.get("/broken")
    def broken() -> str:
        raise DatabaseError("SQL: SELECT secret")

    @app.post("/password/signup")
    def signup() -> Any:
        data = request.get_json()
        try:
            signed = accounts.sign_up(
                auth, data["email"], data["password"], session_attributes=session_attributes()
            )
        except accounts.EmailTakenError as error:
            return error.code, 409
        except InvalidPasswordError as error:
            return error.reason, 400
        return sign_in_response(jsonify(id=signed.user.id), signed)

    @app.post("/password/login")
    def password_login() -> Any:
        data = request.get_json()
        try:
            signed = accounts.sign_in(
                auth,
                data["email"],
                data["password"],
                current_session_id=None if g.session is None else g.session.id,
                session_attributes=session_attributes(),
            )
        except InvalidCredentialsError:
            return "wrong email or password", 400
        return sign_in_response(app.make_response("signed in"), signed)

    @app.post("/password/change")
    @login_required
    def password_change() -> Any:
        data = request.get_json()
        try:
            signed = accounts.change_password(
                auth,
                g.user.id,
                g.user.attributes["email"],
                data["current"],
                data["new"],
                session_attributes=session_attributes(),
            )
        except InvalidCredentialsError:
            return "wrong password", 400
        return sign_in_response(app.make_response("changed"), signed)

    return app


@dataclass
class Env:
    clock: Clock
    store: FlakyStore
    auth: Lucia
    flow: SignInFlow
    provider: OpenIDConnect
    op: LocalOIDCProvider
    app: Flask
    client: FlaskClient

    def oidc_sign_in(self, next: str | None = None) -> TestResponse:
        """Sign in through the provider like a browser; the callback's response."""
        start = self.client.get(
            f"/login/{ROUTE}", query_string={} if next is None else {"next": next}
        )
        assert start.status_code == 302
        callback_url = self.op.login(start.headers["Location"])
        assert callback_url.startswith(f"{BASE}/login/{ROUTE}/callback?")
        return self.client.get(callback_url)

    def password_user(self, email: str = "ada@example.com") -> str:
        return accounts.sign_up(self.auth, email, PASSWORD).user.id

    def with_token(self, path: str, token: str) -> TestResponse:
        """GET ``path`` from a fresh browser holding only this session cookie."""
        other = self.app.test_client()
        other.set_cookie(self.auth.session_cookie_name, token, domain=HOST)
        return other.get(path)

    def session_cookie(self) -> str | None:
        cookie = self.client.get_cookie(self.auth.session_cookie_name, domain=HOST)
        return None if cookie is None else cookie.value

    def me(self) -> dict[str, Any]:
        response = self.client.get("/me")
        assert response.status_code == 200
        body: dict[str, Any] = response.get_json()
        return body

    def post_json(self, path: str, data: dict[str, str], **headers: str) -> TestResponse:
        return self.client.post(path, json=data, headers=headers or SAME_SITE)


@pytest.fixture
def env(op_server: LocalOIDCProvider) -> Iterator[Env]:
    clock = Clock(utc_now().replace(microsecond=0))
    store = FlakyStore()
    auth = Lucia(store, clock=clock)
    provider = OpenIDConnect(
        op_server.issuer,
        op_server.client_id,
        op_server.client_secret,
        f"{BASE}/login/{ROUTE}/callback",
    )
    flow = SignInFlow(auth, {ROUTE: provider})
    app = make_app(auth, flow)
    yield Env(clock, store, auth, flow, provider, op_server, app, app.test_client())
    provider.close()


# Password sign-up and change, login views


def test_password_sign_up_then_protected_route_works(env: Env) -> None:
    response = env.post_json("/password/signup", {"email": "Ada@Example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    user_id = response.get_json()["id"]
    assert env.me()["id"] == user_id
    user = env.auth.get_user(user_id)
    assert user is not None
    assert user.attributes == {"email": "ada@example.com", "email_verified": False}
    taken = env.post_json("/password/signup", {"email": "ada@example.com", "password": PASSWORD})
    assert taken.status_code == 409
    assert taken.text == "AUTH_EMAIL_TAKEN"
    weak = env.post_json("/password/signup", {"email": "bob@example.com", "password": "short"})
    assert weak.status_code == 400
    assert weak.text == "too_short"


def test_sec19_password_change_needs_the_current_password(env: Env) -> None:
    env.password_user()
    env.post_json("/password/login", {"email": "ada@example.com", "password": PASSWORD})
    wrong = env.post_json("/password/change", {"current": "a wrong guess", "new": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert env.client.get("/me").status_code == 200
    assert env.client.post("/password/change", json={}, headers=EVIL).status_code == 403


def test_sec6_password_change_revokes_every_session_but_the_new_one(env: Env) -> None:
    user_id = env.password_user()
    other_device = env.auth.create_session(user_id)
    env.post_json("/password/login", {"email": "ada@example.com", "password": PASSWORD})
    old_token = env.session_cookie()
    assert old_token is not None
    response = env.post_json("/password/change", {"current": PASSWORD, "new": NEW_PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new_token = env.session_cookie()
    assert new_token not in (None, old_token)
    assert env.me()["id"] == user_id
    assert other_device.token is not None
    assert env.with_token("/me", other_device.token).status_code == 401
    assert env.with_token("/me", old_token).status_code == 401
    assert len(env.auth.get_user_sessions(user_id)) == 1


def test_login_required_redirects_to_login_view_when_configured(env: Env) -> None:
    app = make_app(env.auth, env.flow, login_view="/signin")
    client = app.test_client()
    response = client.get("/me", query_string={"tab": "2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fme%3Ftab%3D2"
    # Unsafe methods are not redirected (a redirect would lose the body).
    assert client.post("/password/change", json={}, headers=SAME_SITE).status_code == 401


def test_login_view_may_be_an_endpoint_name(env: Env) -> None:
    app = make_app(env.auth, env.flow, login_view="home")
    response = app.test_client().get("/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/?next=%2Fme"


def test_g42_no_token_or_password_in_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        env.oidc_sign_in()
        oidc_token = env.session_cookie()
        env.post_json("/password/signup", {"email": "ada@example.com", "password": PASSWORD})
        env.post_json("/password/change", {"current": PASSWORD, "new": NEW_PASSWORD})
        password_token = env.session_cookie()
        env.client.post("/logout", headers=SAME_SITE)
    text = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    for secret in (oidc_token, password_token, PASSWORD, NEW_PASSWORD):
        assert secret is not None
        assert secret not in text


# Session fixation


def test_sec1_sign_in_response_kills_the_previous_session_on_sign_up(env: Env) -> None:
    # sign_up knows nothing of the request: sign_in_response invalidates it.
    env.oidc_sign_in()
    old_token = env.session_cookie()
    old_id = env.me()["session"]
    response = env.post_json("/password/signup", {"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert env.session_cookie() not in (None, old_token)
    assert env.store.get_session(old_id) is None
    assert env.me()["id"] == response.get_json()["id"]


# The routes' placement


def test_url_prefix_moves_the_routes(env: Env) -> None:
    client = make_app(env.auth, env.flow, url_prefix="/auth").test_client()
    assert client.get(f"/auth/login/{ROUTE}").status_code == 302
    assert client.get(f"/login/{ROUTE}").status_code == 404


def test_g_is_written_through_the_apps_own_globals_class() -> None:
    # An app may give Flask its own app_ctx_globals_class: lucia sets g.user and
    # g.session through it, never around its __setattr__.
    from flask.ctx import _AppCtxGlobals

    written: list[str] = []

    class RecordingGlobals(_AppCtxGlobals):
        def __setattr__(self, name: str, value: Any) -> None:
            written.append(name)
            super().__setattr__(name, value)

    app = Flask(__name__)
    app.app_ctx_globals_class = RecordingGlobals
    LuciaFlask(app, auth=Lucia(MemoryAdapter()))
    app.add_url_rule("/", "index", lambda: jsonify(user=g.user is None))
    assert app.test_client().get("/").get_json() == {"user": True}
    assert {"user", "session"} <= set(written)


# Configuration


def test_extension_rejects_bad_configuration() -> None:
    auth = Lucia(MemoryAdapter())
    with pytest.raises(TypeError, match="lists of strings"):
        LuciaFlask(auth=auth, allowed_origins="https://app.example")
    with pytest.raises(ValueError, match="path prefixes"):
        LuciaFlask(auth=auth, csrf_exempt=["webhooks"])
    with pytest.raises(TypeError, match="Lucia"):
        LuciaFlask(auth=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same Lucia"):
        LuciaFlask(auth=auth, flow=SignInFlow(Lucia(MemoryAdapter()), {}))
    with pytest.raises(ValueError, match="after_logout"):
        LuciaFlask(auth=auth, after_logout="//evil.example")
    app = Flask(__name__)
    extension = LuciaFlask(auth=auth)
    extension.init_app(app)
    with pytest.raises(RuntimeError, match="already installed"):
        extension.init_app(app)


def test_helpers_need_the_extension() -> None:
    app = Flask(__name__)

    @app.get("/")
    @login_required
    def home() -> str:
        return "home"

    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="LuciaFlask"):
        app.test_client().get("/")


# The real OpenID provider (npm oidc-provider@9)


def test_e2e_sign_in_through_npm_oidc_provider(oidc_provider: NodeOIDCProvider) -> None:
    redirect_uri = REDIRECT_URIS[1]
    assert redirect_uri == f"{BASE}/login/oidc/callback"
    store = MemoryAdapter()
    auth = Lucia(store)
    provider = OpenIDConnect(
        oidc_provider.issuer, oidc_provider.client_id, oidc_provider.client_secret, redirect_uri
    )
    client = make_app(auth, SignInFlow(auth, {"oidc": provider})).test_client()
    browser = Browser(redirect_uri)
    login = f"user-{secrets.token_hex(4)}"
    try:
        start = client.get("/login/oidc", query_string={"next": "//evil.example"})
        assert start.status_code == 302
        query = browser.sign_in(start.headers["Location"], login)
        callback = client.get(f"/login/oidc/callback?{query}")
        assert callback.status_code == 303
        assert callback.headers["Location"] == "/"
        me = client.get("/me")
        assert me.status_code == 200
        user = auth.get_user_by_key(provider.name, login)
        assert user is not None
        assert me.get_json()["id"] == user.id
        replay = client.get(f"/login/oidc/callback?{query}")
        assert replay.status_code == 400
        assert len(auth.get_user_sessions(user.id)) == 1
    finally:
        browser.close()
        provider.close()
